//! The Slack Web API client (PRODUCT.md §6.4): the bot token as a bearer header on every call,
//! reads as GET with query parameters, writes as JSON with `charset=utf-8`, cursor paging, and
//! every answer sorted into ok, Slack's own error word, a 429 with its `Retry-After`, or a
//! transport failure — never with the token or a URL in a message.

use std::fmt;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::config::Secret;
use crate::http::{self, ClientOptions};

/// Errors that retrying cannot fix (PRODUCT.md §6.4), plus the documented words of the same
/// nature (authentication, arguments, policy). Every other word is looked up in
/// [`TRANSIENT_WORDS`]; a word in neither list is treated as permanent, because a lane holds
/// its later rows behind a retrying head row and an unknown refusal would hold them for a day.
pub const PERMANENT_WORDS: &[&str] = &[
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
    "no_text",
    "msg_too_long",
    "account_inactive",
    "not_authed",
    "token_expired",
    "invalid_arguments",
    "invalid_attachments",
    "too_many_attachments",
    "restricted_action",
    "ekm_access_denied",
    "not_allowed_token_type",
    "team_access_not_granted",
    "access_denied",
    "invalid_charset",
    "invalid_post_type",
    "invalid_json",
    "user_not_found",
    "users_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "method_not_supported_for_channel_type",
    "channel_is_archived",
];

/// Slack's words for "try again later" (PRODUCT.md §6.4).
pub const TRANSIENT_WORDS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
    "rate_limited",
];

/// How a failed call may be handled by whoever made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retrying will not help: say so with the word and a hint.
    Permanent,
    /// Try again later (5xx, 408, timeouts, connection errors, `internal_error`, ...).
    Transient,
    /// HTTP 429: wait for `retry_after`, and do not count it as an attempt.
    RateLimited,
}

/// Why a call failed: Slack's word (`channel_not_found`), or ours for what happened on the way
/// (`http 503`, `timed out`, `connection refused`), with what else the answer said.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The method called (`chat.postMessage`).
    pub method: &'static str,
    pub word: String,
    /// What else the answer said; for `invalid_blocks` and friends, Slack's messages
    /// (`[ERROR] … [json-pointer:…]`) joined with `; `.
    pub detail: Option<String>,
    pub class: ErrorClass,
    pub retry_after: Option<Duration>,
    /// HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// `missing_scope`: the scope Slack says is needed.
    pub needed: Option<String>,
    /// The request may have reached Slack although no answer came back (a timeout after
    /// sending, or an answer cut off): a retry may duplicate it.
    pub maybe_sent: bool,
}

impl ApiError {
    fn new(method: &'static str, word: impl Into<String>, class: ErrorClass) -> Self {
        Self {
            method,
            word: word.into(),
            detail: None,
            class,
            retry_after: None,
            status: None,
            needed: None,
            maybe_sent: false,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if !detail.is_empty() {
            self.detail = Some(detail);
        }
        self
    }

    /// Slack answered `ok: false` with this word.
    pub fn is_slack_word(&self, word: &str) -> bool {
        self.word == word
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.method, self.word)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The class of one of Slack's error words.
pub fn class_of(word: &str) -> ErrorClass {
    if TRANSIENT_WORDS.contains(&word) {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    }
}

/// What a hint may name: where the token came from, the bot's user name, the channel.
#[derive(Debug, Clone, Copy, Default)]
pub struct HintContext<'a> {
    /// `$SLACK_BOT_TOKEN`, a file path, or "the config file" — never the value.
    pub token_source: &'a str,
    pub bot: Option<&'a str>,
    /// The channel as the config names it, without `#`.
    pub channel: Option<&'a str>,
}

/// What the operator can do about `error` (PRODUCT.md §6.4), when there is something to say.
pub fn hint(error: &ApiError, ctx: &HintContext<'_>) -> Option<String> {
    let bot = ctx.bot.unwrap_or("<the bot>");
    let hint = match error.word.as_str() {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            format!(
                "Slack rejected the bot token from {}: put a valid bot token (xoxb-…) there and reload",
                ctx.token_source
            )
        }
        "missing_scope" => format!(
            "add the scope `{}` to the Slack app (OAuth & Permissions), reinstall it to the workspace, and reload",
            error.needed.as_deref().unwrap_or("named by Slack")
        ),
        "not_in_channel" => match ctx.channel {
            Some(channel) => format!("invite the bot: /invite @{bot} in #{channel}"),
            None => format!("invite the bot (@{bot}) to the channel"),
        },
        "is_archived" | "channel_is_archived" => {
            "the channel is archived: unarchive it in Slack or remove it from `channels`".into()
        }
        "invalid_blocks" | "invalid_attachments" | "too_many_attachments" => {
            "Slack refused the blocks the formatter made (see the detail): fix the formatter; a retried row is formatted again".into()
        }
        "no_text" => "the formatter made an empty message: every message needs text".into(),
        "msg_too_long" => {
            "the message text is too long for Slack: shorten the template (the product keeps text within 4000 characters)".into()
        }
        "restricted_action" | "ekm_access_denied" => {
            "a workspace admin restricts posting there: ask them, or choose another channel".into()
        }
        "http 404" => "the Slack API URL answers 404: check `api_url`".into(),
        "http 401" | "http 403" | "http 407" => {
            "something between us and Slack (a proxy?) refused the request: check `[network]`".into()
        }
        _ => match error.class {
            ErrorClass::Transient => "Slack did not take the request; retrying".into(),
            ErrorClass::RateLimited => {
                "Slack asked us to slow down; rows to this target wait".into()
            }
            ErrorClass::Permanent => return None,
        },
    };
    Some(hint)
}

/// Who the token is (`auth.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub team_id: String,
    pub team: String,
    /// The bot's user id.
    pub user_id: String,
    /// The bot's user name, as `/invite @<user>` wants it.
    pub user: String,
    pub bot_id: Option<String>,
}

/// A channel as `conversations.list` and `conversations.join` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub is_member: bool,
}

/// A user as `users.list` and `users.lookupByEmail` describe one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub is_app_user: bool,
    #[serde(default)]
    pub profile: Profile,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub display_name_normalized: Option<String>,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub real_name_normalized: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl User {
    /// The name people see: the display name, else the real name, else the user name.
    pub fn shown_name(&self) -> &str {
        [
            self.profile.display_name.as_deref(),
            self.real_name.as_deref(),
            self.profile.real_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or(&self.name)
    }

    /// The real name, from the user or its profile.
    pub fn real_name(&self) -> Option<&str> {
        self.real_name
            .as_deref()
            .or(self.profile.real_name.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// `@msantos (Maria Santos, U0ANALYST1)`: how messages name a user.
    pub fn describe(&self) -> String {
        match self.real_name() {
            Some(real) => format!("@{} ({real}, {})", self.name, self.id),
            None => format!("@{} ({})", self.name, self.id),
        }
    }
}

/// Where `chat.postMessage` put a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Most 429s met while paging a listing are waited out (up to this many) before giving up.
const PAGING_RATE_LIMIT_WAITS: u32 = 5;
/// A `Retry-After` longer than this, met while paging, is not waited out inside the call.
const PAGING_MAX_WAIT: Duration = Duration::from_secs(60);
/// A listing longer than this many pages is refused (a cursor that never ends).
const MAX_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    #[error("the Slack API URL is not usable: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Client(#[from] http::ClientError),
}

/// A Web API client for one bot token.
#[derive(Clone)]
pub struct SlackApi {
    client: reqwest::Client,
    /// `https://slack.com/api`, without a trailing slash.
    base: String,
    token: Secret,
}

impl fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackApi")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl SlackApi {
    /// A client for `api_url` (`https://slack.com/api`; `http` only on loopback) with `token`.
    pub fn new(
        api_url: &Url,
        token: Secret,
        options: &ClientOptions,
    ) -> Result<Self, SlackApiError> {
        http::check_scheme(api_url).map_err(SlackApiError::BadUrl)?;
        if api_url.cannot_be_a_base() || api_url.query().is_some() {
            return Err(SlackApiError::BadUrl(format!(
                "{} must be a plain base URL such as https://slack.com/api",
                http::origin(api_url)
            )));
        }
        let client = http::client(options)?;
        Ok(Self {
            client,
            base: api_url.as_str().trim_end_matches('/').to_string(),
            token,
        })
    }

    /// Where the token came from, for messages (`$SLACK_BOT_TOKEN`): never its value.
    pub fn token_source(&self) -> String {
        self.token.source().to_string()
    }

    fn url(&self, method: &'static str) -> Result<Url, ApiError> {
        Url::parse(&format!("{}/{method}", self.base)).map_err(|_| {
            ApiError::new(method, "bad api_url", ErrorClass::Permanent)
                .detail("the configured api_url does not make a valid method URL")
        })
    }

    /// A read: GET with query parameters.
    pub async fn get(
        &self,
        method: &'static str,
        params: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        let mut url = self.url(method)?;
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let request = self.client.get(url).bearer_auth(self.token.expose());
        self.finish(method, request.send().await).await
    }

    /// A write: the exact JSON `body`, as `application/json; charset=utf-8`.
    pub async fn post(&self, method: &'static str, body: &str) -> Result<Value, ApiError> {
        let url = self.url(method)?;
        let request = self
            .client
            .post(url)
            .bearer_auth(self.token.expose())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.to_string());
        self.finish(method, request.send().await).await
    }

    async fn finish(
        &self,
        method: &'static str,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Value, ApiError> {
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let mut error =
                    ApiError::new(method, http::describe_error(&e), ErrorClass::Transient);
                // A timeout after connecting may strike after Slack took the request.
                error.maybe_sent = e.is_timeout() && !e.is_connect();
                return Err(error);
            }
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let mut error =
                    ApiError::new(method, http::describe_error(&e), ErrorClass::Transient)
                        .detail(format!("the answer (HTTP {status}) was cut off"));
                error.status = Some(status);
                error.maybe_sent = true;
                return Err(error);
            }
        };
        let text = String::from_utf8_lossy(&body);
        let excerpt = || http::body_excerpt(&text, &[self.token.expose()]);
        if status == 429 {
            let mut error = ApiError::new(method, "ratelimited", ErrorClass::RateLimited);
            error.retry_after = retry_after;
            error.status = Some(status);
            return Err(error);
        }
        if status != 200 {
            let class = if status == 408 || status >= 500 {
                ErrorClass::Transient
            } else {
                ErrorClass::Permanent
            };
            let mut error =
                ApiError::new(method, format!("http {status}"), class).detail(excerpt());
            error.status = Some(status);
            error.retry_after = retry_after;
            return Err(error);
        }
        let value: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                // Something between us and Slack (a proxy's page) answered, or the answer is
                // broken; a message may have been posted all the same.
                let mut error = ApiError::new(method, "unreadable answer", ErrorClass::Transient)
                    .detail(excerpt());
                error.status = Some(status);
                error.maybe_sent = true;
                return Err(error);
            }
        };
        match value.get("ok").and_then(Value::as_bool) {
            Some(true) => Ok(value),
            Some(false) => {
                let word = value
                    .get("error")
                    .and_then(Value::as_str)
                    .map(clean_word)
                    .unwrap_or_else(|| "unknown_error".to_string());
                let mut error = ApiError::new(method, word.clone(), class_of(&word));
                error.status = Some(status);
                error.retry_after = retry_after;
                error.needed = value
                    .get("needed")
                    .and_then(Value::as_str)
                    .map(|s| crate::text::truncate(&clean_text(s), 200).into_owned());
                let said = messages(&value);
                if !said.is_empty() {
                    error.detail = Some(said.join("; "));
                }
                Err(error)
            }
            None => {
                let mut error = ApiError::new(method, "unreadable answer", ErrorClass::Transient)
                    .detail("the answer has no `ok` field");
                error.status = Some(status);
                error.maybe_sent = true;
                Err(error)
            }
        }
    }

    /// `auth.test`: who the token is.
    pub async fn auth_test(&self) -> Result<Identity, ApiError> {
        let v = self.get("auth.test", &[]).await?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(clean_text);
        match (s("team_id"), s("user_id")) {
            (Some(team_id), Some(user_id)) => Ok(Identity {
                team: s("team").unwrap_or_else(|| team_id.clone()),
                user: s("user").unwrap_or_else(|| user_id.clone()),
                team_id,
                user_id,
                bot_id: s("bot_id"),
            }),
            _ => Err(
                ApiError::new("auth.test", "unreadable answer", ErrorClass::Transient)
                    .detail("no team_id or user_id in the answer"),
            ),
        }
    }

    /// Every channel the bot can see (public ones, and private ones it is in), archived ones
    /// included so a match can say "archived".
    pub async fn conversations_list(&self) -> Result<Vec<Conversation>, ApiError> {
        self.paged(
            "conversations.list",
            &[
                ("types", "public_channel,private_channel"),
                ("exclude_archived", "false"),
            ],
            "channels",
        )
        .await
    }

    /// Every user of the workspace, deleted ones and bots included.
    pub async fn users_list(&self) -> Result<Vec<User>, ApiError> {
        self.paged("users.list", &[], "members").await
    }

    /// `users.lookupByEmail`.
    pub async fn users_lookup_by_email(&self, email: &str) -> Result<User, ApiError> {
        let v = self.get("users.lookupByEmail", &[("email", email)]).await?;
        field(&v, "users.lookupByEmail", "user")
    }

    /// `conversations.open` with one user: the `D…` conversation to post in.
    pub async fn conversations_open(&self, user_id: &str) -> Result<String, ApiError> {
        let body = serde_json::json!({ "users": user_id }).to_string();
        let v = self.post("conversations.open", &body).await?;
        v.pointer("/channel/id")
            .and_then(Value::as_str)
            .map(clean_text)
            .ok_or_else(|| {
                ApiError::new(
                    "conversations.open",
                    "unreadable answer",
                    ErrorClass::Transient,
                )
                .detail("no channel.id in the answer")
            })
    }

    /// `conversations.join`: the bot joins a public channel.
    pub async fn conversations_join(&self, channel_id: &str) -> Result<Conversation, ApiError> {
        let body = serde_json::json!({ "channel": channel_id }).to_string();
        let v = self.post("conversations.join", &body).await?;
        field(&v, "conversations.join", "channel")
    }

    /// `chat.postMessage` with the exact JSON `body`.
    pub async fn post_message(&self, body: &str) -> Result<Posted, ApiError> {
        let v = self.post("chat.postMessage", body).await?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(clean_text);
        match (s("channel"), s("ts")) {
            (Some(channel), Some(ts)) => Ok(Posted { channel, ts }),
            _ => {
                // Slack said ok: the message is there even if we cannot say where.
                let mut error = ApiError::new(
                    "chat.postMessage",
                    "unreadable answer",
                    ErrorClass::Transient,
                )
                .detail("ok without channel and ts");
                error.maybe_sent = true;
                Err(error)
            }
        }
    }

    /// Follow `response_metadata.next_cursor` until it is empty, collecting `field` of each page.
    /// 429s met on the way are waited out a few times (a listing is worth finishing).
    async fn paged<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        params: &[(&str, &str)],
        field_name: &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        let mut seen = std::collections::HashSet::new();
        let mut waits = 0;
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, &str)> = params.to_vec();
            query.push(("limit", "200"));
            if !cursor.is_empty() {
                query.push(("cursor", &cursor));
            }
            let page = match self.get(method, &query).await {
                Ok(page) => page,
                Err(e)
                    if e.class == ErrorClass::RateLimited
                        && waits < PAGING_RATE_LIMIT_WAITS
                        && e.retry_after.unwrap_or(Duration::from_secs(1)) <= PAGING_MAX_WAIT =>
                {
                    waits += 1;
                    tokio::time::sleep(e.retry_after.unwrap_or(Duration::from_secs(1))).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let items: Vec<T> = field(&page, method, field_name)?;
            out.extend(items);
            let next = page
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or("");
            if next.is_empty() {
                return Ok(out);
            }
            if !seen.insert(next.to_string()) {
                return Err(
                    ApiError::new(method, "unreadable answer", ErrorClass::Transient)
                        .detail("the same next_cursor came back twice"),
                );
            }
            cursor = next.to_string();
        }
        Err(
            ApiError::new(method, "unreadable answer", ErrorClass::Transient)
                .detail(format!("more than {MAX_PAGES} pages")),
        )
    }
}

fn field<T: serde::de::DeserializeOwned>(
    v: &Value,
    method: &'static str,
    name: &str,
) -> Result<T, ApiError> {
    let raw = v.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(raw).map_err(|e| {
        ApiError::new(method, "unreadable answer", ErrorClass::Transient)
            .detail(format!("`{name}`: {e}"))
    })
}

/// Slack's words are short snake_case; anything else (a hostile or broken peer) is cut down to
/// what can be shown safely.
fn clean_word(word: &str) -> String {
    let cleaned: String = word
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "unknown_error".into()
    } else {
        cleaned
    }
}

/// Text from the peer with control characters removed.
fn clean_text(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(512).collect()
}

/// `errors` and `response_metadata.messages` of an answer, at most 10, each cut short.
fn messages(v: &Value) -> Vec<String> {
    let from = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let mut out = from("/response_metadata/messages");
    if out.is_empty() {
        out = from("/errors");
    }
    out.into_iter()
        .take(10)
        .map(|m| crate::text::truncate(&clean_text(&m), 300).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_sorted_into_permanent_and_transient() {
        for w in [
            "channel_not_found",
            "not_in_channel",
            "invalid_blocks",
            "token_revoked",
        ] {
            assert_eq!(class_of(w), ErrorClass::Permanent, "{w}");
        }
        for w in [
            "internal_error",
            "fatal_error",
            "service_unavailable",
            "request_timeout",
        ] {
            assert_eq!(class_of(w), ErrorClass::Transient, "{w}");
        }
        assert_eq!(class_of("a_word_nobody_documented"), ErrorClass::Permanent);
    }

    #[test]
    fn hostile_words_are_cut_to_something_printable() {
        assert_eq!(clean_word("channel_not_found"), "channel_not_found");
        assert_eq!(clean_word("\u{1b}]0;pwned\u{7}evil"), "0pwnedevil");
        assert_eq!(clean_word("\u{202e}"), "unknown_error");
        assert_eq!(clean_word(&"x".repeat(10_000)).len(), 64);
    }

    #[test]
    fn the_api_url_must_be_https_or_loopback_and_a_plain_base() {
        let token = Secret::new("xoxb-1", crate::config::SecretSource::Literal);
        let ok = |u: &str| {
            SlackApi::new(
                &Url::parse(u).unwrap(),
                token.clone(),
                &ClientOptions::default(),
            )
        };
        assert!(ok("https://slack.com/api").is_ok());
        assert!(ok("http://127.0.0.1:9/api/").is_ok());
        let err = ok("http://slack.example.net/api").unwrap_err().to_string();
        assert!(err.contains("plain http is refused"), "{err}");
        assert!(ok("https://slack.com/api?x=1").is_err());
    }

    #[test]
    fn invalid_blocks_messages_are_read_from_response_metadata() {
        let v = serde_json::json!({
            "ok": false, "error": "invalid_blocks",
            "errors": ["must be at most 3000 characters [json-pointer:/blocks/0/text/text]"],
            "response_metadata": {"messages": ["[ERROR] must be at most 3000 characters [json-pointer:/blocks/0/text/text]"]}
        });
        assert_eq!(
            messages(&v),
            vec!["[ERROR] must be at most 3000 characters [json-pointer:/blocks/0/text/text]"]
        );
    }
}
