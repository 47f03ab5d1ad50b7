//! The notifier role (the seed's `notifiers.BaseNotifier`): delivers one message to one target
//! of a third party, through its formatter, and says exactly how that went so the sender can
//! retry, wait or give up (PRODUCT.md §6.4, §7.1).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::alert::MessageData;
use crate::formatter::{FormatError, Formatter, Message};

/// How a notifier's rows are paced, batched and retried. Defaults are those of PRODUCT.md §4.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// Messages per second per target.
    pub rate: f64,
    /// Messages a target may receive at once before `rate` applies.
    pub burst: u32,
    /// More alerts than this for one notifier in one poll become a digest.
    pub digest_threshold: usize,
    /// Alerts per digest message.
    pub digest_size: usize,
    /// A row is retried until it is this old.
    pub max_age: Duration,
    /// An optional bound on counted attempts.
    pub max_attempts: Option<u32>,
    /// One HTTP call.
    pub timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            rate: 1.0,
            burst: 3,
            digest_threshold: 10,
            digest_size: 20,
            max_age: Duration::from_secs(24 * 3600),
            max_attempts: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a delivery did not succeed: the receiver's own word (`channel_not_found`, `http 400`,
/// `connection refused`), its detail (a response body, cut short) and what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub word: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
}

impl Reason {
    pub fn new(word: impl Into<String>) -> Self {
        Self {
            word: word.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.word)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " — {hint}")?;
        }
        Ok(())
    }
}

impl From<&FormatError> for Reason {
    fn from(e: &FormatError) -> Self {
        Reason::new("format error")
            .detail(e.to_string())
            .hint("fix the formatter; the row is sent with the fixed formatter when retried")
    }
}

/// Where a message landed, as the receiver says (Slack's `channel` and `ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub channel: String,
    pub ts: String,
}

/// How one send went, from the sender's point of view.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver said ok.
    Delivered,
    /// The receiver asked us to slow down (HTTP 429): wait, and do not count an attempt.
    RateLimited { retry_after: Option<Duration> },
    /// A failure that retrying can fix (5xx, 408, timeouts, refused connections, ...).
    Retry {
        reason: Reason,
        retry_after: Option<Duration>,
    },
    /// A failure that retrying cannot fix: the row fails at once.
    Failed { reason: Reason },
}

/// The result of `send_alert`: the outcome plus what goes into the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub outcome: DeliveryOutcome,
    /// The exact request body sent (never headers or URLs: those may hold secrets).
    pub payload: Option<String>,
    /// HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    pub receipt: Option<Receipt>,
    /// True when the request may have reached the receiver although no answer came back
    /// (a timeout after sending): a retry can duplicate it, and `status` counts that.
    pub maybe_received: bool,
}

impl Delivery {
    pub fn new(outcome: DeliveryOutcome) -> Self {
        Self {
            outcome,
            payload: None,
            status: None,
            receipt: None,
            maybe_received: false,
        }
    }

    pub fn failed(reason: Reason) -> Self {
        Self::new(DeliveryOutcome::Failed { reason })
    }

    pub fn with_payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// The notifier role. The sender (in the worker) owns pacing, retries and bookkeeping; a
/// notifier only makes one attempt to deliver one message to one target and reports how it went.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The notifier's name in the configuration.
    fn name(&self) -> &str;

    /// The notifier's kind (`slack`, `slack-webhook`, `webhook`, or a library user's own).
    fn kind(&self) -> &str;

    /// Where it sends, by name: channels, users, or one fixed destination.
    fn targets(&self) -> Vec<String>;

    /// The seed's `set_formatter`.
    fn set_formatter(&mut self, formatter: Arc<dyn Formatter>);

    /// The formatter set with `set_formatter`.
    fn formatter(&self) -> Option<Arc<dyn Formatter>>;

    /// Pacing, digests and retry bounds for this notifier's rows.
    fn settings(&self) -> DeliverySettings {
        DeliverySettings::default()
    }

    /// The seed's `format_alert`: the message for `data`, through the formatter (plain text
    /// when none is set).
    fn format_alert(&self, data: &MessageData) -> Result<Message, FormatError> {
        match self.formatter() {
            Some(formatter) => formatter.format_data(data),
            None => crate::formatters::PlainFormatter::new("plain").format_data(data),
        }
    }

    /// The seed's `send_alert`: one attempt to deliver `message` (made from `data`) to `target`.
    async fn send_alert(&self, target: &str, data: &MessageData, message: &Message) -> Delivery;
}
