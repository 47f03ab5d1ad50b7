//! The request bodies Slack receives, built in one place: the `slack` notifier sends exactly
//! these bytes and `preview --format json` and the console show exactly these bytes.

use serde_json::{Map, Value, json};

use crate::formatter::Message;

/// `chat.postMessage` for `channel` (an id at send time): always a `text` fallback, never
/// `link_names` or `parse`, and no unfurling (an indicator must not be fetched by Slack).
pub fn chat_post_message(channel: &str, message: &Message) -> Value {
    let mut body = Map::new();
    body.insert("channel".into(), json!(channel));
    insert_content(&mut body, message);
    body.insert("unfurl_links".into(), json!(false));
    body.insert("unfurl_media".into(), json!(false));
    Value::Object(body)
}

/// An incoming webhook's body: the channel is fixed by the webhook itself.
pub fn incoming_webhook(message: &Message) -> Value {
    let mut body = Map::new();
    insert_content(&mut body, message);
    body.insert("unfurl_links".into(), json!(false));
    body.insert("unfurl_media".into(), json!(false));
    Value::Object(body)
}

fn insert_content(body: &mut Map<String, Value>, message: &Message) {
    body.insert("text".into(), json!(message.text));
    if let Some(blocks) = &message.blocks {
        body.insert("blocks".into(), blocks.clone());
    }
    if let Some(attachments) = &message.attachments {
        body.insert("attachments".into(), attachments.clone());
    }
}
