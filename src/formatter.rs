//! The formatter role (the seed's `formatters.BaseFormatter`): alert data in, a message out.
//! A formatter is a pure function of the data: no I/O, no clock, no randomness, so a preview
//! in the console is exactly what a notifier sends.

use serde::{Deserialize, Serialize};

use crate::alert::MessageData;

/// What a formatter makes. Notifiers turn it into their wire body: Slack puts `text`, `blocks`
/// and `attachments` in `chat.postMessage`; the generic webhook sends `text` in its envelope,
/// or `body` as the whole request when a `json` template made one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// Always present: the notification fallback in Slack, the whole message elsewhere.
    pub text: String,
    /// Block Kit blocks (a JSON array), when the formatter lays the message out in blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<serde_json::Value>,
    /// Legacy Slack attachments (a JSON array), for colour bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<serde_json::Value>,
    /// A complete request body that replaces the notifier's own envelope (`output = "json"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl Message {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// Why a formatter could not make a message. A row whose message cannot be made fails with
/// this, and nothing is sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// A template failed to compile or render.
    #[error("template '{template}' line {line}{}: {message}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    Template {
        template: String,
        line: usize,
        column: Option<usize>,
        message: String,
    },
    /// The formatter made a message that breaks a limit of the receiver, or cannot handle the data.
    #[error("formatter '{formatter}': {message}")]
    Invalid { formatter: String, message: String },
}

/// The formatter role. Implement `format_data`; the seed's `set_data` / `get_formatted` pair
/// is provided on top of it for code written in the seed's style.
pub trait Formatter: Send + Sync {
    /// The formatter's name in the configuration.
    fn name(&self) -> &str;

    /// The seed's `format_data`: make the message for `data`.
    fn format_data(&self, data: &MessageData) -> Result<Message, FormatError>;

    /// The seed's `set_data`: hold `data` for a following `get_formatted`.
    fn set_data<'a>(&'a self, data: &'a MessageData) -> Formatting<'a>
    where
        Self: Sized,
    {
        Formatting {
            formatter: self,
            data,
        }
    }
}

impl<'f> dyn Formatter + 'f {
    /// The seed's `set_data` on a formatter behind a trait object.
    pub fn set_data<'a>(&'a self, data: &'a MessageData) -> Formatting<'a> {
        Formatting {
            formatter: self,
            data,
        }
    }
}

/// A formatter with its data set (the seed's stateful style, without shared mutable state).
pub struct Formatting<'a> {
    formatter: &'a dyn Formatter,
    data: &'a MessageData,
}

impl Formatting<'_> {
    /// The seed's `get_formatted`.
    pub fn get_formatted(&self) -> Result<Message, FormatError> {
        self.formatter.format_data(self.data)
    }
}
