//! `webhook`: a JSON POST to any URL (Teams, a SOAR, ticketing), one alert per request or
//! `alerts: [...]` for a digest (PRODUCT.md §3.2). The URL and header values are secrets: they
//! go on the wire and nowhere else.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::json;

use crate::alert::MessageData;
use crate::config::Secret;
use crate::formatter::{Formatter, Message};
use crate::http::{self, ClientOptions};
use crate::notifier::{Delivery, DeliveryOutcome, DeliverySettings, Notifier, Reason};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("notifier '{notifier}': the URL from {source_name} is not a valid URL")]
    BadUrl {
        notifier: String,
        source_name: String,
    },
    #[error("notifier '{notifier}': {message}")]
    Refused { notifier: String, message: String },
    #[error("notifier '{notifier}': header `{header}` is not a valid HTTP header")]
    BadHeader { notifier: String, header: String },
    #[error("notifier '{notifier}': {source}")]
    Client {
        notifier: String,
        source: http::ClientError,
    },
}

pub struct WebhookNotifier {
    name: String,
    url: Secret,
    target: String,
    headers: Vec<(HeaderName, Secret)>,
    client: reqwest::Client,
    formatter: Option<Arc<dyn Formatter>>,
    settings: DeliverySettings,
}

impl WebhookNotifier {
    pub fn new(
        name: impl Into<String>,
        url: Secret,
        headers: Vec<(String, Secret)>,
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
        let headers = headers
            .into_iter()
            .map(|(header, value)| {
                let parsed = HeaderName::from_bytes(header.as_bytes());
                let valid_value = HeaderValue::from_str(value.expose()).is_ok();
                match parsed {
                    Ok(h) if valid_value => Ok((h, value)),
                    _ => Err(WebhookError::BadHeader {
                        notifier: name.clone(),
                        header,
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let options = ClientOptions {
            timeout: Some(settings.timeout),
            ..client.clone()
        };
        let client = http::client(&options).map_err(|source| WebhookError::Client {
            notifier: name.clone(),
            source,
        })?;
        let target = http::origin(&parsed)
            .split_once("://")
            .map(|(_, host)| host.to_string())
            .unwrap_or_else(|| name.clone());
        Ok(Self {
            name,
            url,
            target,
            headers,
            client,
            formatter: None,
            settings,
        })
    }

    /// Values to mask in anything shown: the URL, its path and query (the secret part of most
    /// webhook URLs), and the header values.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.url.expose().to_string()];
        if let Ok(url) = url::Url::parse(self.url.expose()) {
            if url.path().len() > 1 {
                secrets.push(url.path().to_string());
            }
            if let Some(q) = url.query() {
                secrets.push(q.to_string());
            }
        }
        secrets.extend(self.headers.iter().map(|(_, v)| v.expose().to_string()));
        secrets
    }
}

/// The request body for `data` (PRODUCT.md §3.2): the formatter's text with the alert as raw
/// JSON, or the formatter's own `body` (a `json` template) as the whole request.
pub fn payload(data: &MessageData, message: &Message) -> serde_json::Value {
    if let Some(body) = &message.body {
        return body.clone();
    }
    match data {
        MessageData::Single { alert } => json!({
            "text": message.text,
            "notification_type": alert.notification_type,
            "service": alert.service,
            "alert": alert.to_wire_json(),
        }),
        MessageData::Digest(digest) => json!({
            "text": message.text,
            "notification_type": digest.notification_type,
            "service": digest.service,
            "digest": { "page": digest.page, "pages": digest.pages, "total": digest.total },
            "alerts": digest.alerts.iter().map(|a| a.to_wire_json()).collect::<Vec<_>>(),
        }),
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "webhook"
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

    async fn send_alert(&self, _target: &str, data: &MessageData, message: &Message) -> Delivery {
        let body = payload(data, message).to_string();
        let mut request = self
            .client
            .post(self.url.expose())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.clone());
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let word = http::describe_error(&e);
                // A timeout may strike after the receiver got the request: a retry may then
                // duplicate it, and the row is flagged so `status` can say so.
                let maybe_received = e.is_timeout() && !e.is_connect();
                let mut d = Delivery::new(DeliveryOutcome::Retry {
                    reason: Reason::new(word).hint("the receiver did not answer; retrying"),
                    retry_after: None,
                })
                .with_payload(body);
                d.maybe_received = maybe_received;
                return d;
            }
        };
        let status = response.status();
        let retry_after = http::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let detail = http::body_excerpt(&text, &secrets);
        let word = format!("http {}", status.as_u16());
        let outcome = if status.is_success() {
            DeliveryOutcome::Delivered
        } else if status.as_u16() == 429 {
            DeliveryOutcome::RateLimited { retry_after }
        } else if status.as_u16() == 408 || status.is_server_error() {
            DeliveryOutcome::Retry {
                reason: with_detail(Reason::new(word), detail),
                retry_after,
            }
        } else {
            let hint = match status.as_u16() {
                401 | 403 => "the receiver refused our credentials: check the notifier's headers",
                404 => "the URL is wrong or the hook was removed",
                300..=399 => {
                    "the receiver redirects; redirects are not followed, use the final URL"
                }
                _ => "the receiver refused the request; retrying will not help",
            };
            DeliveryOutcome::Failed {
                reason: with_detail(Reason::new(word), detail).hint(hint),
            }
        };
        Delivery::new(outcome)
            .with_payload(body)
            .with_status(status.as_u16())
    }
}

fn with_detail(reason: Reason, detail: String) -> Reason {
    if detail.is_empty() {
        reason
    } else {
        reason.detail(detail)
    }
}
