//! `slack-webhook`: a Slack incoming webhook, one fixed channel (PRODUCT.md §3.2, §6.4).
//! Success is HTTP 200 with the body `ok`; failures are plain words (`invalid_payload`,
//! `channel_is_archived`, ...) that become the delivery's reason. The URL is the secret.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::alert::MessageData;
use crate::config::Secret;
use crate::formatter::{Formatter, Message};
use crate::http::{self, ClientOptions};
use crate::notifier::{Delivery, DeliveryOutcome, DeliverySettings, Notifier, Reason};
use crate::notifiers::webhook::WebhookError;

pub struct SlackWebhookNotifier {
    name: String,
    url: Secret,
    target: String,
    client: reqwest::Client,
    formatter: Option<Arc<dyn Formatter>>,
    settings: DeliverySettings,
}

impl SlackWebhookNotifier {
    pub fn new(
        name: impl Into<String>,
        url: Secret,
        settings: DeliverySettings,
        client: &ClientOptions,
    ) -> Result<Self, WebhookError> {
        let name = name.into();
        let parsed = url::Url::parse(url.expose()).map_err(|_| WebhookError::BadUrl {
            notifier: name.clone(),
            source_name: url.source().to_string(),
        })?;
        http::check_scheme(&parsed).map_err(|message| WebhookError::Refused {
            notifier: name.clone(),
            message,
        })?;
        let options = ClientOptions {
            timeout: Some(settings.timeout),
            ..client.clone()
        };
        let client = http::client(&options).map_err(|source| WebhookError::Client {
            notifier: name.clone(),
            source,
        })?;
        let target = parsed.host_str().unwrap_or("incoming-webhook").to_string();
        Ok(Self {
            name,
            url,
            target,
            client,
            formatter: None,
            settings,
        })
    }

    /// What to mask in anything shown: the URL and its path (the secret part).
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.url.expose().to_string()];
        if let Ok(url) = url::Url::parse(self.url.expose())
            && url.path().len() > 1
        {
            secrets.push(url.path().to_string());
        }
        secrets
    }

    fn hint(&self, word: &str) -> String {
        let source = self.url.source();
        match word {
            "invalid_payload" | "invalid_blocks" | "too_many_attachments" | "no_text" => {
                "Slack could not use the message the formatter made: fix the formatter; a retried row is formatted again".into()
            }
            "channel_not_found" => format!(
                "the webhook's channel no longer exists: create a new incoming webhook and put its URL in {source}"
            ),
            "channel_is_archived" => format!(
                "the webhook's channel is archived: unarchive it, or create a webhook for another channel and put its URL in {source}"
            ),
            "no_service" | "no_service_id" | "invalid_token" | "no_team" | "team_disabled" => format!(
                "the webhook URL in {source} was revoked or is wrong: create a new incoming webhook"
            ),
            "action_prohibited" | "posting_to_general_channel_denied" => {
                "a workspace admin restricts posting to that channel".into()
            }
            _ => "Slack refused the message; retrying will not help".into(),
        }
    }
}

/// The webhook body: the message as `chat.postMessage` would take it, without `channel` (the
/// webhook has one), unfurling off.
pub fn payload(message: &Message) -> Value {
    crate::slack::payload::incoming_webhook(message)
}

/// Slack's plain-text answer as a word, when it is one (`channel_is_archived`).
fn word_of(body: &str) -> Option<&str> {
    let word = body.trim();
    (!word.is_empty()
        && word.len() <= 64
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    .then_some(word)
}

#[async_trait]
impl Notifier for SlackWebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "slack-webhook"
    }

    fn targets(&self) -> Vec<String> {
        vec![self.target.clone()]
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

    async fn send_alert(&self, _target: &str, _data: &MessageData, message: &Message) -> Delivery {
        let body = payload(message).to_string();
        let sent = self
            .client
            .post(self.url.expose())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let mut d = Delivery::new(DeliveryOutcome::Retry {
                    reason: Reason::new(http::describe_error(&e))
                        .hint("Slack did not answer; retrying"),
                    retry_after: None,
                })
                .with_payload(body);
                d.maybe_received = e.is_timeout() && !e.is_connect();
                return d;
            }
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                // The status came back; the body was cut off. A 2xx is Slack's yes all the same.
                if (200..300).contains(&status) {
                    return Delivery::new(DeliveryOutcome::Delivered)
                        .with_payload(body)
                        .with_status(status);
                }
                let mut d = Delivery::new(DeliveryOutcome::Retry {
                    reason: Reason::new(http::describe_error(&e)),
                    retry_after,
                })
                .with_payload(body)
                .with_status(status);
                d.maybe_received = true;
                return d;
            }
        };
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let excerpt = http::body_excerpt(&text, &secrets);
        let word = word_of(&text)
            .map(String::from)
            .unwrap_or_else(|| format!("http {status}"));
        let with_detail = |reason: Reason| {
            if excerpt.is_empty() || word_of(&text).is_some() {
                reason.detail(format!("HTTP {status}"))
            } else {
                reason.detail(format!("HTTP {status}: {excerpt}"))
            }
        };
        let outcome = match status {
            200..=299 => DeliveryOutcome::Delivered,
            429 => DeliveryOutcome::RateLimited { retry_after },
            408 | 500..=599 => DeliveryOutcome::Retry {
                reason: with_detail(Reason::new(word))
                    .hint("Slack did not take the message; retrying"),
                retry_after,
            },
            300..=399 => DeliveryOutcome::Failed {
                reason: with_detail(Reason::new(word)).hint(
                    "the webhook URL redirects; redirects are not followed, use the final URL",
                ),
            },
            _ => {
                let hint = self.hint(&word);
                DeliveryOutcome::Failed {
                    reason: with_detail(Reason::new(word)).hint(hint),
                }
            }
        };
        Delivery::new(outcome)
            .with_payload(body)
            .with_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_is_the_message_with_unfurling_off() {
        let body = payload(&Message::text(
            "Indicator `173[.]208[.]129[.]44` on the watchlist",
        ));
        assert_eq!(
            body,
            json!({
                "text": "Indicator `173[.]208[.]129[.]44` on the watchlist",
                "unfurl_links": false,
                "unfurl_media": false,
            })
        );
    }

    #[test]
    fn only_plain_words_are_taken_as_slacks_word() {
        assert_eq!(
            word_of("channel_is_archived\n"),
            Some("channel_is_archived")
        );
        assert_eq!(word_of("<html>Bad Gateway</html>"), None);
        assert_eq!(word_of(""), None);
        assert_eq!(word_of(&"a".repeat(65)), None);
        assert_eq!(word_of("\u{1b}[31mred"), None);
    }
}
