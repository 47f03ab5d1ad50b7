//! Names as the config writes them (`#tq-alerts`, `general`, `analyst1`, an e-mail, an id)
//! resolved to the channel a message goes to, exactly as PRODUCT.md §6.4 says: listings paged
//! to the end, archived and ambiguous matches refused with the candidates named, public
//! channels joined, users reached through their `D…` conversation, and every resolution cached
//! in the state file per workspace.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::api::{self, ApiError, Conversation, ErrorClass, HintContext, Identity, SlackApi, User};
use crate::notifier::Reason;
use crate::store::Store;
use crate::store::slack_cache::CachedSlackTarget;

/// A listing read for one name serves the other names resolved shortly after it.
const LISTING_TTL: Duration = Duration::from_secs(60);
/// A name that could not be resolved is not looked up again for this long (a lane of rows to
/// a missing channel would otherwise list the workspace once per row).
const NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Cached resolutions older than this are resolved again (a renamed user, a moved channel).
const CACHE_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Candidates listed in an error at most.
const MAX_CANDIDATES: usize = 10;

/// Slackbot's fixed user id: not a bot by its flags, but no one to alert.
const SLACKBOT: &str = "USLACKBOT";

/// Which list of the config a target comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Channel,
    User,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::User => "user",
        }
    }
}

/// A target as the config writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetName {
    pub kind: TargetKind,
    pub written: String,
}

impl TargetName {
    pub fn channel(written: impl Into<String>) -> Self {
        Self {
            kind: TargetKind::Channel,
            written: written.into(),
        }
    }

    pub fn user(written: impl Into<String>) -> Self {
        Self {
            kind: TargetKind::User,
            written: written.into(),
        }
    }

    /// What is matched: no `#` or `@`, trimmed, lower case (Slack compares names that way);
    /// ids keep their case.
    pub fn key(&self) -> String {
        match self.spec() {
            Spec::ChannelId(id) | Spec::UserId(id) => id,
            Spec::ChannelName(n) | Spec::UserName(n) | Spec::Email(n) => n,
        }
    }

    fn spec(&self) -> Spec {
        let trimmed = self.written.trim();
        match self.kind {
            TargetKind::Channel => {
                let name = trimmed.trim_start_matches('#').trim();
                if is_id(name, &['C', 'G']) {
                    Spec::ChannelId(name.to_string())
                } else {
                    Spec::ChannelName(name.to_lowercase())
                }
            }
            TargetKind::User => {
                let name = trimmed.strip_prefix('@').unwrap_or(trimmed).trim();
                if name.contains('@') {
                    Spec::Email(name.to_lowercase())
                } else if is_id(name, &['U', 'W']) {
                    Spec::UserId(name.to_string())
                } else {
                    Spec::UserName(name.to_lowercase())
                }
            }
        }
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

enum Spec {
    ChannelId(String),
    ChannelName(String),
    UserId(String),
    Email(String),
    UserName(String),
}

/// `C0TQALERT1`: a prefix letter, then upper-case letters and digits (Slack's ids; channel names
/// are always lower case, so they never look like one).
fn is_id(s: &str, prefixes: &[char]) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if prefixes.contains(&c))
        && s.len() >= 9
        && s.len() <= 21
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `U0ANALYST1`, `W0ENTERPRS1`: a user id rather than a name.
pub fn is_user_id(s: &str) -> bool {
    is_id(s, &['U', 'W'])
}

/// Whether a resolution may change the workspace (join a channel, open a conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// For sending: join public channels the bot is not in, open users' conversations.
    Send,
    /// For `check --online`: look only; say what sending would do.
    Check,
}

/// Where messages to a target go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub target: TargetName,
    /// The channel or user id.
    pub id: String,
    /// The conversation to post in (`C…`, `G…`, or a user's `D…`; in `Check` mode, a user's id).
    pub post_to: String,
    /// `#tq-alerts`, `@msantos (Maria Santos, U0ANALYST1)`.
    pub label: String,
    /// What `Check` mode noticed that sending would change (a channel to join).
    pub note: Option<String>,
    /// Taken from the state file rather than looked up now.
    pub from_cache: bool,
}

/// Why a target could not be resolved, in the words the delivery log shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub word: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub class: ErrorClass,
    pub retry_after: Option<Duration>,
    pub status: Option<u16>,
    /// The request may have reached Slack without an answer coming back.
    pub maybe_sent: bool,
}

impl Failure {
    /// A failure of ours (no Slack call behind it), which retrying cannot fix.
    pub fn permanent(
        word: impl Into<String>,
        detail: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Self {
            word: word.into(),
            detail: Some(detail.into()),
            hint,
            class: ErrorClass::Permanent,
            retry_after: None,
            status: None,
            maybe_sent: false,
        }
    }

    /// A failed call, with the hint `ctx` allows.
    pub fn from_api(error: &ApiError, ctx: &HintContext<'_>) -> Self {
        Self {
            word: error.word.clone(),
            detail: error.detail.clone(),
            hint: api::hint(error, ctx),
            class: error.class,
            retry_after: error.retry_after,
            status: error.status,
            maybe_sent: error.maybe_sent,
        }
    }

    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn reason(&self) -> Reason {
        Reason {
            word: self.word.clone(),
            detail: self.detail.clone(),
            hint: self.hint.clone(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason())
    }
}

struct Listing<T> {
    at: Instant,
    items: Arc<Vec<T>>,
}

#[derive(Default)]
struct Listings {
    channels: Option<Listing<Conversation>>,
    users: Option<Listing<User>>,
}

type Key = (TargetKind, String);

/// Resolves one notifier's targets (one token, one workspace), caching what it learns.
pub struct TargetResolver {
    api: SlackApi,
    store: Option<Store>,
    identity: OnceCell<Identity>,
    resolved: Mutex<HashMap<Key, Resolved>>,
    failed: Mutex<HashMap<Key, (Instant, Failure)>>,
    /// Held while talking to Slack: one listing at a time serves every lane waiting for it.
    listings: tokio::sync::Mutex<Listings>,
}

impl TargetResolver {
    /// `store` keeps resolutions across restarts; without one they live as long as the resolver.
    pub fn new(api: SlackApi, store: Option<Store>) -> Self {
        Self {
            api,
            store,
            identity: OnceCell::new(),
            resolved: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
            listings: tokio::sync::Mutex::new(Listings::default()),
        }
    }

    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    fn hint_context<'a>(
        &'a self,
        token_source: &'a str,
        channel: Option<&'a str>,
    ) -> HintContext<'a> {
        HintContext {
            token_source,
            bot: self.identity.get().map(|i| i.user.as_str()),
            channel,
        }
    }

    /// Who the token is (`auth.test`, once).
    pub async fn identity(&self) -> Result<&Identity, Failure> {
        self.identity
            .get_or_try_init(|| self.api.auth_test())
            .await
            .map_err(|e| {
                let source = self.api.token_source();
                Failure::from_api(&e, &self.hint_context(&source, None))
            })
    }

    /// The bot's user name, once `identity` has succeeded.
    pub fn bot_name(&self) -> Option<&str> {
        self.identity.get().map(|i| i.user.as_str())
    }

    /// Where messages to `target` go.
    pub async fn resolve(&self, target: &TargetName, mode: Mode) -> Result<Resolved, Failure> {
        let key: Key = (target.kind, target.key());
        if mode == Mode::Send
            && let Some(hit) = lock(&self.resolved).get(&key)
        {
            return Ok(Resolved {
                target: target.clone(),
                ..hit.clone()
            });
        }
        if let Some((at, failure)) = lock(&self.failed).get(&key)
            && at.elapsed() < NEGATIVE_TTL
        {
            return Err(failure.clone());
        }
        let identity = self.identity().await?.clone();
        let mut listings = self.listings.lock().await;
        if mode == Mode::Send {
            // Another lane may have resolved it while this one waited for the listing.
            if let Some(hit) = lock(&self.resolved).get(&key) {
                return Ok(Resolved {
                    target: target.clone(),
                    ..hit.clone()
                });
            }
            if let Some(cached) = self.cached(&identity, &key) {
                let resolved = Resolved {
                    target: target.clone(),
                    id: cached.id,
                    post_to: cached.post_to,
                    label: cached.label,
                    note: None,
                    from_cache: true,
                };
                lock(&self.resolved).insert(key, resolved.clone());
                return Ok(resolved);
            }
        }
        let result = self.look_up(target, mode, &identity, &mut listings).await;
        drop(listings);
        match &result {
            Ok(resolved) if mode == Mode::Send => {
                lock(&self.failed).remove(&key);
                lock(&self.resolved).insert(key.clone(), resolved.clone());
                self.save(&identity, &key, resolved);
            }
            Err(failure) if failure.class == ErrorClass::Permanent => {
                lock(&self.failed).insert(key, (Instant::now(), failure.clone()));
            }
            _ => {}
        }
        result
    }

    /// Slack said `channel_not_found` for `previous`: forget it and resolve the name once more
    /// from fresh listings (PRODUCT.md §6.4). `Ok(Some)` is a new place to post (the channel was
    /// re-created); `Ok(None)` means the name still leads to the same place.
    pub async fn re_resolve(
        &self,
        target: &TargetName,
        previous: &Resolved,
    ) -> Result<Option<Resolved>, Failure> {
        let key: Key = (target.kind, target.key());
        lock(&self.resolved).remove(&key);
        lock(&self.failed).remove(&key);
        if let (Some(store), Some(identity)) = (&self.store, self.identity.get())
            && let Err(e) = store.forget_slack_target(&identity.team_id, key.0.as_str(), &key.1)
        {
            tracing::warn!(error = %e, "cannot update the Slack resolution cache");
        }
        {
            let mut listings = self.listings.lock().await;
            match target.kind {
                TargetKind::Channel => listings.channels = None,
                TargetKind::User => listings.users = None,
            }
        }
        let fresh = self.resolve(target, Mode::Send).await?;
        Ok((fresh.post_to != previous.post_to).then_some(fresh))
    }

    fn cached(&self, identity: &Identity, key: &Key) -> Option<CachedSlackTarget> {
        let store = self.store.as_ref()?;
        match store.slack_target(&identity.team_id, key.0.as_str(), &key.1) {
            Ok(Some(c)) if Utc::now() - c.resolved_at < CACHE_MAX_AGE => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the Slack resolution cache");
                None
            }
        }
    }

    fn save(&self, identity: &Identity, key: &Key, resolved: &Resolved) {
        let Some(store) = &self.store else { return };
        if store.is_read_only() {
            return;
        }
        let entry = CachedSlackTarget {
            team_id: identity.team_id.clone(),
            kind: key.0.as_str().to_string(),
            key: key.1.clone(),
            id: resolved.id.clone(),
            post_to: resolved.post_to.clone(),
            label: resolved.label.clone(),
            resolved_at: Utc::now(),
        };
        if let Err(e) = store.save_slack_target(&entry) {
            tracing::warn!(error = %e, "cannot write the Slack resolution cache");
        }
    }

    async fn look_up(
        &self,
        target: &TargetName,
        mode: Mode,
        identity: &Identity,
        listings: &mut Listings,
    ) -> Result<Resolved, Failure> {
        let resolved = |id: &str, post_to: &str, label: String| Resolved {
            target: target.clone(),
            id: id.to_string(),
            post_to: post_to.to_string(),
            label,
            note: None,
            from_cache: false,
        };
        match target.spec() {
            Spec::ChannelId(id) => Ok(resolved(&id, &id, id.clone())),
            Spec::ChannelName(name) => self.channel(target, &name, mode, identity, listings).await,
            Spec::UserId(id) => {
                let post_to = self.open(&id, mode, &id).await?;
                Ok(resolved(&id, &post_to, id.clone()))
            }
            Spec::Email(email) => {
                if email.starts_with('@')
                    || email.ends_with('@')
                    || email.contains(char::is_whitespace)
                {
                    return Err(Failure::permanent(
                        "users_not_found",
                        format!("'{}' is not an e-mail address", target.written),
                        Some("write a user as a display name, user name, e-mail or id (U…)".into()),
                    ));
                }
                let user = match self.api.users_lookup_by_email(&email).await {
                    Ok(user) => user,
                    Err(e) => {
                        let source = self.api.token_source();
                        let mut f = Failure::from_api(&e, &self.hint_context(&source, None));
                        if matches!(e.word.as_str(), "users_not_found" | "user_not_found") {
                            f = f.with_detail(format!("no active user has the e-mail {email}"));
                            f.hint = Some(
                                "check the address (deactivated accounts are not found by e-mail)"
                                    .into(),
                            );
                        }
                        return Err(f);
                    }
                };
                if let Some(why) = unreachable_user(&user) {
                    return Err(Failure::permanent(
                        "user_not_found",
                        format!("{email} belongs to {}, {why}", user.describe()),
                        Some("name a person in `users`".into()),
                    ));
                }
                let post_to = self.open(&user.id, mode, &user.describe()).await?;
                Ok(resolved(&user.id, &post_to, user.describe()))
            }
            Spec::UserName(name) => {
                let user = self.user(target, &name, listings).await?;
                let post_to = self.open(&user.id, mode, &user.describe()).await?;
                Ok(resolved(&user.id, &post_to, user.describe()))
            }
        }
    }

    /// The user's `D…` conversation (`Send`), or just their id (`Check`).
    async fn open(&self, user_id: &str, mode: Mode, label: &str) -> Result<String, Failure> {
        if mode == Mode::Check {
            return Ok(user_id.to_string());
        }
        self.api.conversations_open(user_id).await.map_err(|e| {
            let source = self.api.token_source();
            let f = Failure::from_api(&e, &self.hint_context(&source, None));
            if e.class == ErrorClass::Permanent {
                f.with_detail(format!("cannot open a conversation with {label}"))
            } else {
                f
            }
        })
    }

    async fn channels(&self, listings: &mut Listings) -> Result<Arc<Vec<Conversation>>, Failure> {
        if let Some(l) = &listings.channels
            && l.at.elapsed() < LISTING_TTL
        {
            return Ok(l.items.clone());
        }
        let items = Arc::new(self.api.conversations_list().await.map_err(|e| {
            let source = self.api.token_source();
            Failure::from_api(&e, &self.hint_context(&source, None))
        })?);
        listings.channels = Some(Listing {
            at: Instant::now(),
            items: items.clone(),
        });
        Ok(items)
    }

    async fn users(&self, listings: &mut Listings) -> Result<Arc<Vec<User>>, Failure> {
        if let Some(l) = &listings.users
            && l.at.elapsed() < LISTING_TTL
        {
            return Ok(l.items.clone());
        }
        let items = Arc::new(self.api.users_list().await.map_err(|e| {
            let source = self.api.token_source();
            Failure::from_api(&e, &self.hint_context(&source, None))
        })?);
        listings.users = Some(Listing {
            at: Instant::now(),
            items: items.clone(),
        });
        Ok(items)
    }

    async fn channel(
        &self,
        target: &TargetName,
        name: &str,
        mode: Mode,
        identity: &Identity,
        listings: &mut Listings,
    ) -> Result<Resolved, Failure> {
        let bot = identity.user.as_str();
        if name.is_empty() {
            return Err(Failure::permanent(
                "channel_not_found",
                format!("'{}' names no channel", target.written),
                Some("write a channel as its name (with or without #) or its id (C…)".into()),
            ));
        }
        let all = self.channels(listings).await?;
        let matches: Vec<&Conversation> = all.iter().filter(|c| c.name == name).collect();
        let Some(channel) = matches.iter().find(|c| !c.is_archived) else {
            if !matches.is_empty() {
                return Err(Failure::permanent(
                    "is_archived",
                    format!("#{name} is archived"),
                    Some(format!(
                        "unarchive #{name} in Slack, or remove it from `channels`"
                    )),
                ));
            }
            let near = crate::config::load::did_you_mean(
                name,
                all.iter()
                    .filter(|c| !c.is_archived)
                    .map(|c| c.name.as_str()),
            );
            let mut hint = format!(
                "if #{name} is private, invite the bot to #{name} (/invite @{bot}); otherwise check the name"
            );
            if let Some(near) = near {
                hint = format!("did you mean #{near}? {hint}");
            }
            return Err(Failure::permanent(
                "channel_not_found",
                format!(
                    "no channel named #{name} among the {} channels the bot can see (public ones, and private ones it is in)",
                    all.len()
                ),
                Some(hint),
            ));
        };
        let label = format!("#{}", channel.name);
        let mut note = None;
        if !channel.is_member {
            if channel.is_private {
                return Err(Failure::permanent(
                    "not_in_channel",
                    format!("the bot is not in the private channel {label}"),
                    Some(format!("invite the bot to #{name}: /invite @{bot}")),
                ));
            }
            match mode {
                Mode::Check => {
                    note = Some(format!(
                        "the bot is not in {label} yet; it joins at the first send (conversations.join, scope channels:join)"
                    ));
                }
                Mode::Send => {
                    if let Err(e) = self.api.conversations_join(&channel.id).await {
                        let source = self.api.token_source();
                        let mut f = Failure::from_api(&e, &self.hint_context(&source, Some(name)));
                        if e.class == ErrorClass::Permanent {
                            f.detail = Some(format!(
                                "the bot is not in {label} and could not join it ({})",
                                e.word
                            ));
                            f.hint = Some(match e.needed.as_deref() {
                                Some(scope) => format!(
                                    "invite the bot: /invite @{bot} in #{name} (or add the scope `{scope}` so it can join by itself)"
                                ),
                                None => format!("invite the bot: /invite @{bot} in #{name}"),
                            });
                        }
                        return Err(f);
                    }
                }
            }
        }
        Ok(Resolved {
            target: target.clone(),
            id: channel.id.clone(),
            post_to: channel.id.clone(),
            label,
            note,
            from_cache: false,
        })
    }

    /// The one person `name` means: active people only, matched case-insensitively by display
    /// name, then user name, then real name; the first tier with any match decides.
    async fn user(
        &self,
        target: &TargetName,
        name: &str,
        listings: &mut Listings,
    ) -> Result<User, Failure> {
        if name.is_empty() {
            return Err(Failure::permanent(
                "user_not_found",
                format!("'{}' names no user", target.written),
                Some("write a user as a display name, user name, e-mail or id (U…)".into()),
            ));
        }
        let all = self.users(listings).await?;
        let (people, dropped): (Vec<&User>, Vec<&User>) =
            all.iter().partition(|u| unreachable_user(u).is_none());
        for (tier, matches) in TIERS {
            let found: Vec<&User> = people
                .iter()
                .copied()
                .filter(|u| matches(u, name))
                .collect();
            match found.len() {
                0 => continue,
                1 => return Ok(found[0].clone()),
                n => {
                    let listed: Vec<String> = found
                        .iter()
                        .take(MAX_CANDIDATES)
                        .map(|u| u.describe())
                        .collect();
                    let more = if n > MAX_CANDIDATES {
                        format!(" and {} more", n - MAX_CANDIDATES)
                    } else {
                        String::new()
                    };
                    return Err(Failure::permanent(
                        "ambiguous_name",
                        format!(
                            "'{}' matches {n} people by {tier}: {}{more}",
                            target.written,
                            listed.join(", ")
                        ),
                        Some("name one of them by user name, e-mail or id in `users`".into()),
                    ));
                }
            }
        }
        // Nobody reachable: say whether the name belongs to someone who was dropped.
        if let Some(user) = dropped
            .iter()
            .find(|u| TIERS.iter().any(|(_, m)| m(u, name)))
        {
            let why = unreachable_user(user).unwrap_or("not reachable");
            return Err(Failure::permanent(
                "user_not_found",
                format!("'{}' is {}, {why}", target.written, user.describe()),
                Some("name a person who is active in the workspace".into()),
            ));
        }
        let near = crate::config::load::did_you_mean(
            name,
            people.iter().flat_map(|u| {
                [u.profile.display_name.as_deref(), Some(u.name.as_str())]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
            }),
        );
        Err(Failure::permanent(
            "user_not_found",
            format!(
                "no person named '{}' among the {} active people (display names, user names and real names were tried)",
                target.written,
                people.len()
            ),
            Some(match near {
                Some(near) => format!("did you mean '{near}'? An e-mail or id (U…) also works"),
                None => "check the name; an e-mail or id (U…) also works".into(),
            }),
        ))
    }
}

type Matcher = fn(&User, &str) -> bool;

/// The tiers of PRODUCT.md §6.4, in order, with the words errors use for them.
const TIERS: [(&str, Matcher); 3] = [
    ("display name", |u, q| {
        eq(u.profile.display_name.as_deref(), q)
            || eq(u.profile.display_name_normalized.as_deref(), q)
    }),
    ("user name", |u, q| eq(Some(&u.name), q)),
    ("real name", |u, q| {
        eq(u.real_name.as_deref(), q)
            || eq(u.profile.real_name.as_deref(), q)
            || eq(u.profile.real_name_normalized.as_deref(), q)
    }),
];

fn eq(field: Option<&str>, query: &str) -> bool {
    field.is_some_and(|f| !f.is_empty() && f.trim().to_lowercase() == query)
}

/// Why nobody can be alerted through this account, if so: deleted users, bots and Slackbot are
/// dropped before matching.
fn unreachable_user(user: &User) -> Option<&'static str> {
    if user.deleted {
        Some("a deactivated account")
    } else if user.id == SLACKBOT {
        Some("Slackbot")
    } else if user.is_bot || user.is_app_user {
        Some("a bot")
    } else {
        None
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_emails_are_told_apart() {
        assert_eq!(TargetName::channel("#TQ-Alerts").key(), "tq-alerts");
        assert_eq!(TargetName::channel(" general ").key(), "general");
        assert_eq!(TargetName::channel("C0TQALERT1").key(), "C0TQALERT1");
        assert_eq!(TargetName::channel("c0tqalert1").key(), "c0tqalert1");
        assert!(matches!(
            TargetName::user("U0ANALYST1").spec(),
            Spec::UserId(_)
        ));
        assert!(matches!(
            TargetName::user("W0ENTERPRS1").spec(),
            Spec::UserId(_)
        ));
        assert!(
            matches!(TargetName::user("@analyst1").spec(), Spec::UserName(n) if n == "analyst1")
        );
        assert!(matches!(
            TargetName::user("Maria.Santos@soc.tq-sim.test").spec(),
            Spec::Email(e) if e == "maria.santos@soc.tq-sim.test"
        ));
        // Short upper-case words are names, not ids.
        assert!(matches!(TargetName::user("UX").spec(), Spec::UserName(_)));
    }
}
