//! The bodies Slack receives for a message, built in one place: the `slack` notifier posts
//! [`chat_post_message`], the `slack-webhook` notifier [`incoming_webhook`], and `preview
//! --format json` prints the same bytes (PRODUCT.md §5, §6.4).

use serde_json::{Map, Value};

use crate::formatter::Message;

/// The message alone: `text` (always), `blocks` and `attachments` when the formatter made
/// them. This is what the validator checks and the terminal renderer draws.
pub fn message_body(message: &Message) -> Value {
    Value::Object(message_fields(message))
}

fn message_fields(message: &Message) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("text".into(), Value::String(message.text.clone()));
    if let Some(blocks) = &message.blocks {
        body.insert("blocks".into(), blocks.clone());
    }
    if let Some(attachments) = &message.attachments {
        body.insert("attachments".into(), attachments.clone());
    }
    body
}

/// The JSON body of `chat.postMessage` to `channel` (an id): `channel`, `text`, `blocks`,
/// `attachments`, and unfurling off, so Slack previews no link. Never `link_names` or `parse`:
/// Slack then reads only the `<…>` sequences the formatter wrote, and values are escaped.
pub fn chat_post_message(channel: &str, message: &Message) -> Value {
    let mut body = Map::new();
    body.insert("channel".into(), Value::String(channel.to_owned()));
    body.extend(message_fields(message));
    body.insert("unfurl_links".into(), Value::Bool(false));
    body.insert("unfurl_media".into(), Value::Bool(false));
    Value::Object(body)
}

/// The JSON body posted to an incoming webhook: the message with unfurling off (the webhook's
/// channel is fixed, so there is none).
pub fn incoming_webhook(message: &Message) -> Value {
    let mut body = message_fields(message);
    body.insert("unfurl_links".into(), Value::Bool(false));
    body.insert("unfurl_media".into(), Value::Bool(false));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let body = incoming_webhook(&Message::text("plain"));
        assert_eq!(
            body,
            json!({"text": "plain", "unfurl_links": false, "unfurl_media": false})
        );
    }
}
