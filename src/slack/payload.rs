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

/// The message alone: `text` (always), `blocks` and `attachments` when the formatter made
/// them. This is what the validator checks and the terminal renderer draws.
pub fn message_body(message: &Message) -> Value {
    let mut body = Map::new();
    insert_content(&mut body, message);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_carries_channel_text_blocks_and_no_unfurling_and_never_parse() {
        let message = Message {
            text: "Watchlist: FQDN usacia[.]websecexp[.]com".into(),
            blocks: Some(json!([{"type": "divider"}])),
            ..Message::default()
        };
        let body = chat_post_message("C024BE91L", &message);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"channel":"C024BE91L","text":"Watchlist: FQDN usacia[.]websecexp[.]com","blocks":[{"type":"divider"}],"unfurl_links":false,"unfurl_media":false}"#
        );
        assert!(body.get("link_names").is_none() && body.get("parse").is_none());
    }

    #[test]
    fn a_text_only_message_has_no_blocks_key() {
        assert_eq!(
            incoming_webhook(&Message::text("plain")),
            json!({"text": "plain", "unfurl_links": false, "unfurl_media": false})
        );
        assert_eq!(
            message_body(&Message::text("plain")),
            json!({"text": "plain"})
        );
    }
}
