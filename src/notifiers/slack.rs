//! `slack`: the Slack Web API with a bot token (PRODUCT.md §3.2, §6.4). Targets are the
//! channels and users the config names; each send resolves its target (cached), posts with
//! `chat.postMessage`, keeps Slack's `channel` and `ts`, and turns every answer into the
//! sender's outcome with Slack's word and a hint. `check_online` is `check --online` for it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::alert::MessageData;
use crate::config::{NotifierConfig, NotifierKind};
use crate::formatter::{Formatter, Message};
use crate::http::ClientOptions;
use crate::notifier::{Delivery, DeliveryOutcome, DeliverySettings, Notifier, Receipt};
use crate::slack::api::{ErrorClass, HintContext, Posted, SlackApi};
use crate::slack::resolve::{
    Failure, Mode, Resolved, TargetKind, TargetName, TargetResolver, is_user_id,
};
use crate::store::Store;

pub struct SlackNotifier {
    name: String,
    channels: Vec<String>,
    users: Vec<String>,
    resolver: TargetResolver,
    formatter: Option<Arc<dyn Formatter>>,
    settings: DeliverySettings,
}

impl SlackNotifier {
    /// A notifier posting through `api` to `channels` and `users` (as the config writes them).
    /// `store` keeps name resolutions across restarts.
    pub fn new(
        name: impl Into<String>,
        api: SlackApi,
        channels: Vec<String>,
        users: Vec<String>,
        settings: DeliverySettings,
        store: Option<Store>,
    ) -> Self {
        Self {
            name: name.into(),
            channels,
            users,
            resolver: TargetResolver::new(api, store),
            formatter: None,
            settings,
        }
    }

    pub fn resolver(&self) -> &TargetResolver {
        &self.resolver
    }

    /// Which list a target (an outbox row's name) comes from. A name in neither list (the config
    /// changed since the row was queued) is read by its shape.
    pub fn target_name(&self, target: &str) -> TargetName {
        if self.channels.iter().any(|c| c == target) {
            return TargetName::channel(target);
        }
        if self.users.iter().any(|u| u == target) {
            return TargetName::user(target);
        }
        if let Some(user) = target.strip_prefix('@')
            && self.users.iter().any(|u| u == user)
        {
            return TargetName::user(user);
        }
        if target.contains('@') || is_user_id(target.trim()) {
            TargetName::user(target)
        } else {
            TargetName::channel(target)
        }
    }

    fn hint_context<'a>(&'a self, source: &'a str, resolved: &'a Resolved) -> HintContext<'a> {
        HintContext {
            token_source: source,
            bot: self.resolver.bot_name(),
            channel: (resolved.target.kind == TargetKind::Channel)
                .then(|| resolved.label.trim_start_matches('#')),
        }
    }

    async fn post(
        &self,
        resolved: &Resolved,
        message: &Message,
    ) -> (String, Result<Posted, Failure>) {
        let body = payload(&resolved.post_to, message).to_string();
        let result = self.resolver.api().post_message(&body).await.map_err(|e| {
            let source = self.resolver.api().token_source();
            Failure::from_api(&e, &self.hint_context(&source, resolved))
        });
        (body, result)
    }

    /// §6.4: `channel_not_found` resolves the name once more; a new id (the channel was
    /// re-created) is posted to at once, within the same attempt.
    async fn after_channel_not_found(
        &self,
        name: &TargetName,
        stale: &Resolved,
        message: &Message,
        body: String,
        failure: Failure,
    ) -> Delivery {
        let tried = format!(
            "Slack does not know {} ({}{})",
            stale.label,
            stale.post_to,
            if stale.from_cache {
                ", from the state file's cache"
            } else {
                ""
            }
        );
        match self.resolver.re_resolve(name, stale).await {
            Ok(Some(fresh)) => {
                tracing::info!(notifier = %self.name, target = %name, from = %stale.post_to, to = %fresh.post_to, "target moved; posting to its new id");
                let (body, result) = self.post(&fresh, message).await;
                outcome(body, result)
            }
            Ok(None) => {
                let hint = match name.kind {
                    TargetKind::Channel => format!(
                        "{} may have been deleted, or made private without the bot: check `channels`, or invite the bot (/invite @{})",
                        stale.label,
                        self.resolver.bot_name().unwrap_or("<the bot>")
                    ),
                    TargetKind::User => format!(
                        "the conversation with {} is gone: check `users`",
                        stale.label
                    ),
                };
                let failure = Failure {
                    detail: Some(format!(
                        "{tried}; resolving '{}' again gave the same id",
                        name.written
                    )),
                    hint: Some(hint),
                    ..failure
                };
                delivery_for(&failure, Some(body))
            }
            Err(again) => {
                let detail = match &again.detail {
                    Some(d) => format!("{tried}; resolving '{}' again: {d}", name.written),
                    None => format!("{tried}; resolving '{}' again failed", name.written),
                };
                let failure = Failure {
                    detail: Some(detail),
                    ..again
                };
                delivery_for(&failure, Some(body))
            }
        }
    }
}

/// The `chat.postMessage` body (PRODUCT.md §6.4): `channel` (an id), `text` always (the
/// notification fallback), `blocks` and `attachments` when the formatter made them, and
/// unfurling off. Never `link_names`, never `parse`.
pub fn payload(channel: &str, message: &Message) -> Value {
    crate::slack::payload::chat_post_message(channel, message)
}

fn outcome(body: String, result: Result<Posted, Failure>) -> Delivery {
    match result {
        Ok(posted) => {
            let mut d = Delivery::new(DeliveryOutcome::Delivered)
                .with_payload(body)
                .with_status(200);
            d.receipt = Some(Receipt {
                channel: posted.channel,
                ts: posted.ts,
            });
            d
        }
        Err(failure) => delivery_for(&failure, Some(body)),
    }
}

/// A failure as the sender's outcome: permanent ones fail the row, transient ones retry, 429s
/// wait without counting.
fn delivery_for(failure: &Failure, body: Option<String>) -> Delivery {
    let outcome = match failure.class {
        ErrorClass::Permanent => DeliveryOutcome::Failed {
            reason: failure.reason(),
        },
        ErrorClass::Transient => DeliveryOutcome::Retry {
            reason: failure.reason(),
            retry_after: failure.retry_after,
        },
        ErrorClass::RateLimited => DeliveryOutcome::RateLimited {
            retry_after: failure.retry_after,
        },
    };
    let sent = body.is_some();
    let mut d = Delivery::new(outcome);
    if let Some(body) = body {
        d = d.with_payload(body);
    }
    if let Some(status) = failure.status {
        d = d.with_status(status);
    }
    d.maybe_received = sent && failure.maybe_sent;
    d
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "slack"
    }

    /// Channels, then users, as written; a user written like one of the channels is `@name`,
    /// so every target names one list. A name written twice (`#tq-alerts` and `tq-alerts`) is
    /// one target: the channel would otherwise get every alert twice.
    fn targets(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for channel in &self.channels {
            if seen.insert((
                TargetKind::Channel,
                TargetName::channel(channel.as_str()).key(),
            )) {
                out.push(channel.clone());
            }
        }
        for user in &self.users {
            if !seen.insert((TargetKind::User, TargetName::user(user.as_str()).key())) {
                continue;
            }
            if self.channels.contains(user) && !user.starts_with('@') {
                out.push(format!("@{user}"));
            } else {
                out.push(user.clone());
            }
        }
        out
    }

    fn set_formatter(&mut self, formatter: Arc<dyn Formatter>) {
        self.formatter = Some(formatter);
    }

    fn formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.formatter.clone()
    }

    fn settings(&self) -> DeliverySettings {
        self.settings.clone()
    }

    async fn send_alert(&self, target: &str, _data: &MessageData, message: &Message) -> Delivery {
        let name = self.target_name(target);
        let resolved = match self.resolver.resolve(&name, Mode::Send).await {
            Ok(r) => r,
            Err(failure) => return delivery_for(&failure, None),
        };
        let (body, result) = self.post(&resolved, message).await;
        match result {
            Err(failure) if failure.word == "channel_not_found" => {
                self.after_channel_not_found(&name, &resolved, message, body, failure)
                    .await
            }
            result => outcome(body, result),
        }
    }
}

/// How one line of `check --online` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckLevel {
    Ok,
    /// Works, but sending will change something or deserves a look.
    Warning,
    Error,
    /// Nothing can be checked without sending (webhooks).
    Skipped,
}

impl CheckLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }
}

/// One line of `check --online`: what was checked and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    pub level: CheckLevel,
    /// `soc-slack auth.test`, `soc-slack #tq-alerts`, `soc-slack analyst1`.
    pub subject: String,
    pub message: String,
}

impl fmt::Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<8} {}: {}",
            self.level.as_str(),
            self.subject,
            self.message
        )
    }
}

/// `check --online` for one notifier: for `slack`, `auth.test`, then every channel and user
/// resolved (membership included), changing nothing and sending nothing. Webhooks cannot be
/// checked without sending: one `Skipped` line says so.
pub async fn check_online(config: &NotifierConfig, client: &ClientOptions) -> Vec<CheckLine> {
    let line = |level, subject: String, message: String| CheckLine {
        level,
        subject,
        message,
    };
    let (token, channels, users, api_url) = match &config.kind {
        NotifierKind::Slack {
            token,
            channels,
            users,
            api_url,
        } => (token, channels, users, api_url),
        other => {
            return vec![line(
                CheckLevel::Skipped,
                config.name.clone(),
                format!(
                    "a `{}` notifier cannot be checked without sending; use `send-test --notifier {}`",
                    other.as_str(),
                    config.name
                ),
            )];
        }
    };
    let options = ClientOptions {
        timeout: Some(config.delivery.timeout),
        ..client.clone()
    };
    let api = match SlackApi::new(api_url, token.clone(), &options) {
        Ok(api) => api,
        Err(e) => return vec![line(CheckLevel::Error, config.name.clone(), e.to_string())],
    };
    let resolver = TargetResolver::new(api, None);
    let mut out = Vec::new();
    let subject = |what: &str| format!("{} {what}", config.name);
    match resolver.identity().await {
        Ok(identity) => out.push(line(
            CheckLevel::Ok,
            subject("auth.test"),
            format!(
                "the token from {} is @{} ({}) in {} ({})",
                token.source(),
                identity.user,
                identity.user_id,
                identity.team,
                identity.team_id
            ),
        )),
        Err(failure) => {
            out.push(line(
                CheckLevel::Error,
                subject("auth.test"),
                failure.to_string(),
            ));
            return out;
        }
    }
    let names = channels
        .iter()
        .map(|c| TargetName::channel(c.as_str()))
        .chain(users.iter().map(|u| TargetName::user(u.as_str())));
    // Two spellings of one channel or user would get every message twice.
    let mut seen: Vec<(String, String)> = Vec::new();
    for name in names {
        let shown = subject(&name.written);
        match resolver.resolve(&name, Mode::Check).await {
            Ok(resolved) => {
                if let Some((_, first)) = seen.iter().find(|(id, _)| *id == resolved.id) {
                    out.push(line(
                        CheckLevel::Error,
                        shown,
                        format!(
                            "{} ({}) is already a target as `{first}`: it would get every message twice; keep one",
                            resolved.label, resolved.id
                        ),
                    ));
                    continue;
                }
                seen.push((resolved.id.clone(), name.written.clone()));
                let what = format!("{} ({})", resolved.label, resolved.id);
                match resolved.note {
                    Some(note) => {
                        out.push(line(CheckLevel::Warning, shown, format!("{what}: {note}")))
                    }
                    None => out.push(line(CheckLevel::Ok, shown, what)),
                }
            }
            Err(failure) => out.push(line(CheckLevel::Error, shown, failure.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, SecretSource};
    use serde_json::json;

    fn notifier(channels: &[&str], users: &[&str]) -> SlackNotifier {
        let api = SlackApi::new(
            &url::Url::parse("http://127.0.0.1:9/api").unwrap(),
            Secret::new("xoxb-1", SecretSource::Env("SLACK_BOT_TOKEN".into())),
            &ClientOptions::default(),
        )
        .unwrap();
        SlackNotifier::new(
            "soc-slack",
            api,
            channels.iter().map(|s| s.to_string()).collect(),
            users.iter().map(|s| s.to_string()).collect(),
            DeliverySettings::default(),
            None,
        )
    }

    #[test]
    fn the_payload_always_has_text_and_unfurling_off_and_never_link_names() {
        let message = Message {
            text: "Indicator `hxxp://redcrossworld[.]com` scored 8".into(),
            blocks: Some(json!([{"type": "divider"}])),
            ..Message::default()
        };
        let body = payload("C0TQALERT1", &message);
        assert_eq!(
            body,
            json!({
                "channel": "C0TQALERT1",
                "text": "Indicator `hxxp://redcrossworld[.]com` scored 8",
                "blocks": [{"type": "divider"}],
                "unfurl_links": false,
                "unfurl_media": false,
            })
        );
        assert!(body.get("link_names").is_none() && body.get("parse").is_none());
    }

    #[test]
    fn targets_name_one_list_each() {
        let n = notifier(
            &["#tq-alerts", "ops", "TQ-Alerts"],
            &["analyst1", "ops", "@analyst1"],
        );
        assert_eq!(n.targets(), vec!["#tq-alerts", "ops", "analyst1", "@ops"]);
        assert_eq!(n.target_name("ops").kind, TargetKind::Channel);
        assert_eq!(n.target_name("@ops"), TargetName::user("ops"));
        assert_eq!(n.target_name("analyst1").kind, TargetKind::User);
        // Names no longer in the config are read by their shape.
        assert_eq!(n.target_name("#old").kind, TargetKind::Channel);
        assert_eq!(
            n.target_name("someone@soc.tq-sim.test").kind,
            TargetKind::User
        );
        assert_eq!(n.target_name("U0ANALYST2").kind, TargetKind::User);
        assert_eq!(n.target_name("general").kind, TargetKind::Channel);
    }
}
