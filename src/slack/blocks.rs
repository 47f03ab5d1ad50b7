//! Block Kit as typed values: the blocks, elements and text objects the product sends, and
//! legacy attachments for colour bars. They serialise exactly as Slack expects (`"type"` tags,
//! absent options omitted), so `serde_json::to_value` of a [`Payload`] is the wire body.

use serde::{Deserialize, Serialize};

/// A Slack message body: `text` (the notification fallback, always present in what the product
/// sends), `blocks` and legacy `attachments`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Payload {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Payload {
    /// The payload as the JSON value Slack receives.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("Block Kit types hold only strings, bools and lists")
    }
}

/// A text object: `plain_text` (shown as written, emoji shortcodes optional) or `mrkdwn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextObject {
    PlainText {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<bool>,
    },
    Mrkdwn {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verbatim: Option<bool>,
    },
}

impl TextObject {
    /// `plain_text` with emoji shortcodes turned into emoji (`"emoji": true`).
    pub fn plain(text: impl Into<String>) -> Self {
        TextObject::PlainText {
            text: text.into(),
            emoji: Some(true),
        }
    }

    /// `mrkdwn`; the caller has escaped every value placed in it (`mrkdwn::escape`).
    pub fn mrkdwn(text: impl Into<String>) -> Self {
        TextObject::Mrkdwn {
            text: text.into(),
            verbatim: None,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            TextObject::PlainText { text, .. } | TextObject::Mrkdwn { text, .. } => text,
        }
    }
}

/// `plain_text` only, where Slack allows nothing else (headers, button labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "plain_text")]
pub struct PlainText {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<bool>,
}

impl PlainText {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            emoji: Some(true),
        }
    }
}

/// The blocks the product lays messages out with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: PlainText,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
    Section {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<TextObject>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<TextObject>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accessory: Option<Accessory>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
    Context {
        elements: Vec<ContextElement>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
    Divider {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
    Actions {
        elements: Vec<Button>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
    Image {
        image_url: String,
        alt_text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<PlainText>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
    },
}

impl Block {
    pub fn header(text: impl Into<String>) -> Self {
        Block::Header {
            text: PlainText::new(text),
            block_id: None,
        }
    }

    /// A section of mrkdwn text.
    pub fn section(text: impl Into<String>) -> Self {
        Block::Section {
            text: Some(TextObject::mrkdwn(text)),
            fields: Vec::new(),
            accessory: None,
            block_id: None,
        }
    }

    /// A section of mrkdwn fields, drawn by Slack in two columns.
    pub fn fields<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Block::Section {
            text: None,
            fields: fields.into_iter().map(TextObject::mrkdwn).collect(),
            accessory: None,
            block_id: None,
        }
    }

    /// A context line of mrkdwn elements.
    pub fn context<I, S>(elements: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Block::Context {
            elements: elements
                .into_iter()
                .map(|s| ContextElement::Text(TextObject::mrkdwn(s)))
                .collect(),
            block_id: None,
        }
    }

    pub fn divider() -> Self {
        Block::Divider { block_id: None }
    }

    pub fn actions(buttons: Vec<Button>) -> Self {
        Block::Actions {
            elements: buttons,
            block_id: None,
        }
    }
}

/// An element of a context block: text or a small image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextElement {
    Text(TextObject),
    Image(ImageElement),
}

/// An image element (context blocks, section accessories).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "image")]
pub struct ImageElement {
    pub image_url: String,
    pub alt_text: String,
}

/// What a section may carry on its right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Accessory {
    Button(Button),
    Image(ImageElement),
}

/// A button: a link (`url`) or an interaction (`action_id`, `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "button")]
pub struct Button {
    pub text: PlainText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
}

impl Button {
    /// A button that opens `url` (the ThreatQ link).
    pub fn link(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            text: PlainText::new(label),
            action_id: None,
            url: Some(url.into()),
            value: None,
            style: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    Primary,
    Danger,
}

/// A legacy attachment: the only way to give a message a colour bar. It may carry blocks of its
/// own, or the older `title` / `text` / `fields` / `footer` layout.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// `good`, `warning`, `danger` or a hex colour such as `#d4351c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Plain text for clients that cannot draw attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretext: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AttachmentField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// Unix seconds shown beside the footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
}

/// One `title` / `value` pair of a legacy attachment; `short` ones share a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentField {
    pub title: String,
    pub value: String,
    #[serde(default)]
    pub short: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_serialise_with_type_tags_and_without_absent_options() {
        let payload = Payload {
            text: "Indicator usacia.websecexp.com changed".into(),
            blocks: vec![
                Block::header("Watchlist: FQDN changed"),
                Block::section("*FQDN* `usacia[.]websecexp[.]com`"),
                Block::divider(),
                Block::actions(vec![Button::link(
                    "Open in ThreatQ",
                    "https://threatq.soc.internal/indicators/4411/details",
                )]),
            ],
            attachments: vec![],
        };
        assert_eq!(
            payload.to_value(),
            json!({
                "text": "Indicator usacia.websecexp.com changed",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Watchlist: FQDN changed", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*FQDN* `usacia[.]websecexp[.]com`"}},
                    {"type": "divider"},
                    {"type": "actions", "elements": [{
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in ThreatQ", "emoji": true},
                        "url": "https://threatq.soc.internal/indicators/4411/details"
                    }]}
                ]
            })
        );
    }

    #[test]
    fn slack_documentation_shapes_read_back_and_serialise_identically() {
        let wire = json!({
            "text": "fallback",
            "blocks": [
                {"type": "section",
                 "text": {"type": "mrkdwn", "text": "*Sources*", "verbatim": true},
                 "fields": [{"type": "mrkdwn", "text": "*Score*\n8"}, {"type": "plain_text", "text": "TLP:AMBER"}],
                 "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Ack"}, "action_id": "ack", "value": "4411", "style": "primary"},
                 "block_id": "alert-4411"},
                {"type": "context", "elements": [
                    {"type": "image", "image_url": "https://threatq.soc.internal/logo.png", "alt_text": "ThreatQ"},
                    {"type": "mrkdwn", "text": "first seen"}]},
                {"type": "image", "image_url": "https://threatq.soc.internal/graph.png", "alt_text": "relations",
                 "title": {"type": "plain_text", "text": "Relations"}}
            ],
            "attachments": [{"color": "danger", "fallback": "score 9",
                "fields": [{"title": "Score", "value": "9", "short": true}], "ts": 1591012800}]
        });
        let payload: Payload = serde_json::from_value(wire.clone()).expect("documented shape");
        assert_eq!(payload.to_value(), wire);
    }
}
