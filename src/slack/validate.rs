//! Checks a Slack message payload against the limits of PRODUCT.md §6.4 before it is sent, and
//! names each violation by its JSON pointer (RFC 6901), the way Slack's own `invalid_blocks`
//! answer does. The Slack simulator answers with these same messages.

use std::fmt;

use serde_json::Value;

use super::limits::{self, length};

/// One broken rule: where (`/blocks/3/text/text`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Violation {
    /// `must be at most 3000 characters [json-pointer:/blocks/0/text/text]`, as Slack writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [json-pointer:{}]", self.message, self.pointer)
    }
}

/// Every violation of the §6.4 limits in `payload` (empty when Slack would accept it).
pub fn validate(payload: &Value) -> Vec<Violation> {
    let mut v = Validator::default();
    let Some(object) = payload.as_object() else {
        v.push(
            "",
            "must be a JSON object with `text`, `blocks` and `attachments`",
        );
        return v.found;
    };
    match object.get("text") {
        None | Some(Value::Null) => v.push("/text", "must be present (the notification fallback)"),
        Some(Value::String(text)) => {
            if text.trim().is_empty() {
                v.push("/text", "must not be empty (the notification fallback)");
            }
            v.max_chars("/text", text, limits::MAX_MESSAGE_TEXT);
        }
        Some(_) => v.push("/text", "must be a string"),
    }
    if let Some(blocks) = object.get("blocks") {
        v.blocks("/blocks", blocks);
    }
    match object.get("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(attachments)) => {
            for (i, attachment) in attachments.iter().enumerate() {
                let at = format!("/attachments/{i}");
                match attachment.get("blocks") {
                    Some(blocks) if attachment.is_object() => {
                        v.blocks(&format!("{at}/blocks"), blocks)
                    }
                    _ if !attachment.is_object() => v.push(&at, "must be an object"),
                    _ => {}
                }
            }
        }
        Some(_) => v.push("/attachments", "must be an array"),
    }
    v.found
}

#[derive(Default)]
struct Validator {
    found: Vec<Violation>,
}

impl Validator {
    fn push(&mut self, pointer: &str, message: impl Into<String>) {
        self.found.push(Violation {
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    fn max_chars(&mut self, pointer: &str, s: &str, max: usize) {
        if length(s) > max {
            self.push(pointer, format!("must be at most {max} characters"));
        }
    }

    fn max_items(&mut self, pointer: &str, items: &[Value], max: usize) {
        if items.len() > max {
            self.push(pointer, format!("must have at most {max} items"));
        }
    }

    fn blocks(&mut self, at: &str, blocks: &Value) {
        let Some(blocks) = blocks.as_array() else {
            self.push(at, "must be an array");
            return;
        };
        self.max_items(at, blocks, limits::MAX_BLOCKS);
        for (i, block) in blocks.iter().enumerate() {
            self.block(&format!("{at}/{i}"), block);
        }
    }

    fn block(&mut self, at: &str, block: &Value) {
        let Some(kind) = block.get("type").and_then(Value::as_str) else {
            self.push(&format!("{at}/type"), "must be a block type");
            return;
        };
        if let Some(id) = block.get("block_id") {
            match id.as_str() {
                Some(id) => self.max_chars(&format!("{at}/block_id"), id, limits::MAX_BLOCK_ID),
                None => self.push(&format!("{at}/block_id"), "must be a string"),
            }
        }
        match kind {
            "header" => match block.get("text") {
                Some(text) => {
                    let at = format!("{at}/text");
                    if text.get("type").and_then(Value::as_str) != Some("plain_text") {
                        self.push(&format!("{at}/type"), "must be plain_text");
                    }
                    self.text_object(&at, text, limits::MAX_HEADER_TEXT);
                }
                None => self.push(&format!("{at}/text"), "must be present"),
            },
            "section" => self.section(at, block),
            "context" => match block.get("elements").and_then(Value::as_array) {
                Some(elements) => {
                    let at = format!("{at}/elements");
                    self.max_items(&at, elements, limits::MAX_CONTEXT_ELEMENTS);
                    if elements.is_empty() {
                        self.push(&at, "must have at least 1 item");
                    }
                }
                None => self.push(&format!("{at}/elements"), "must be an array"),
            },
            "actions" => match block.get("elements").and_then(Value::as_array) {
                Some(elements) => {
                    let at = format!("{at}/elements");
                    self.max_items(&at, elements, limits::MAX_ACTIONS_ELEMENTS);
                    for (i, element) in elements.iter().enumerate() {
                        self.element(&format!("{at}/{i}"), element);
                    }
                }
                None => self.push(&format!("{at}/elements"), "must be an array"),
            },
            // Block types Slack has that carry no limit of §6.4; Slack checks them itself.
            "divider" | "image" | "rich_text" | "input" | "file" | "video" | "markdown" => {}
            other => self.push(
                &format!("{at}/type"),
                format!(
                    "`{other}` is not a Block Kit block type (header, section, context, actions, divider, image, rich_text, …)"
                ),
            ),
        }
    }

    fn section(&mut self, at: &str, block: &Value) {
        let text = block.get("text");
        let fields = block.get("fields");
        if text.is_none() && fields.is_none() {
            self.push(
                &format!("{at}/text"),
                "must be present when there are no fields",
            );
        }
        if let Some(text) = text {
            self.text_object(&format!("{at}/text"), text, limits::MAX_SECTION_TEXT);
        }
        if let Some(fields) = fields {
            let at = format!("{at}/fields");
            match fields.as_array() {
                Some(fields) => {
                    self.max_items(&at, fields, limits::MAX_SECTION_FIELDS);
                    for (i, field) in fields.iter().enumerate() {
                        self.text_object(
                            &format!("{at}/{i}"),
                            field,
                            limits::MAX_SECTION_FIELD_TEXT,
                        );
                    }
                }
                None => self.push(&at, "must be an array"),
            }
        }
        if let Some(accessory) = block.get("accessory") {
            self.element(&format!("{at}/accessory"), accessory);
        }
    }

    /// A text object whose `text` must be 1 to `max` characters.
    fn text_object(&mut self, at: &str, object: &Value, max: usize) {
        match object.get("text") {
            Some(Value::String(text)) => {
                let at = format!("{at}/text");
                if text.is_empty() {
                    self.push(&at, "must be at least 1 character");
                }
                self.max_chars(&at, text, max);
            }
            _ => self.push(&format!("{at}/text"), "must be a string"),
        }
    }

    fn element(&mut self, at: &str, element: &Value) {
        if element.get("type").and_then(Value::as_str) != Some("button") {
            return;
        }
        match element.get("text") {
            Some(text) => self.text_object(&format!("{at}/text"), text, limits::MAX_BUTTON_TEXT),
            None => self.push(&format!("{at}/text"), "must be present"),
        }
        let strings = [
            ("url", limits::MAX_BUTTON_URL),
            ("value", limits::MAX_BUTTON_VALUE),
            ("action_id", limits::MAX_ACTION_ID),
        ];
        for (key, max) in strings {
            if let Some(value) = element.get(key) {
                let at = format!("{at}/{key}");
                match value.as_str() {
                    Some(s) => self.max_chars(&at, s, max),
                    None => self.push(&at, "must be a string"),
                }
            }
        }
        // Slack opens a button's url in the reader's browser: only web links.
        if let Some(url) = element.get("url").and_then(Value::as_str) {
            let lower = url.trim_start().to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                self.push(&format!("{at}/url"), "must be an http(s) link");
            }
        }
    }
}
