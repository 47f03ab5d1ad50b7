//! The validator against every limit of PRODUCT.md §6.4: each limit accepts its boundary value
//! and rejects one past it, with the JSON pointer of the offending field and Slack's wording.

use rstest::rstest;
use serde_json::{Value, json};
use tq_alerts::slack::blocks::{Block, Button, Payload};
use tq_alerts::slack::limits;
use tq_alerts::slack::validate::{Violation, validate};

/// `n` code points of a real published value, multi-byte on purpose: limits count code points.
fn chars(n: usize) -> String {
    "Stealth Falcon – ÄÖÜ 日本 "
        .chars()
        .cycle()
        .take(n)
        .collect()
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

fn button(text: &str, url: &str) -> Value {
    json!({"type": "button", "text": plain(text), "url": url})
}

fn payload(blocks: Vec<Value>) -> Value {
    json!({"text": "Watchlist: FQDN usacia[.]websecexp[.]com changed", "blocks": blocks})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn url(n: usize) -> String {
    let base = "https://threatq.soc.internal/indicators/4411/details?q=";
    format!("{base}{}", "a".repeat(n - base.len()))
}

/// A payload with `n` of whatever the limit counts.
type Build = fn(usize) -> Value;

#[rstest]
#[case::blocks(limits::MAX_BLOCKS, "/blocks", "must have at most 50 items",
    |n| payload((0..n).map(|_| json!({"type": "divider"})).collect()))]
#[case::section_text(limits::MAX_SECTION_TEXT, "/blocks/0/text/text", "must be at most 3000 characters",
    |n| payload(vec![section(&chars(n))]))]
#[case::section_fields(limits::MAX_SECTION_FIELDS, "/blocks/0/fields", "must have at most 10 items",
    |n| payload(vec![json!({"type": "section", "fields": (0..n).map(|_| mrkdwn("*Score*\n8")).collect::<Vec<_>>()})]))]
#[case::section_field_text(limits::MAX_SECTION_FIELD_TEXT, "/blocks/0/fields/1/text", "must be at most 2000 characters",
    |n| payload(vec![json!({"type": "section", "fields": [mrkdwn("*Type*\nFQDN"), mrkdwn(&chars(n))]})]))]
#[case::header_text(limits::MAX_HEADER_TEXT, "/blocks/1/text/text", "must be at most 150 characters",
    |n| payload(vec![section("intro"), json!({"type": "header", "text": plain(&chars(n))})]))]
#[case::context_elements(limits::MAX_CONTEXT_ELEMENTS, "/blocks/0/elements", "must have at most 10 items",
    |n| payload(vec![json!({"type": "context", "elements": (0..n).map(|_| mrkdwn("Citizen Lab")).collect::<Vec<_>>()})]))]
#[case::block_id(limits::MAX_BLOCK_ID, "/blocks/0/block_id", "must be at most 255 characters",
    |n| payload(vec![json!({"type": "divider", "block_id": chars(n)})]))]
#[case::button_text(limits::MAX_BUTTON_TEXT, "/blocks/0/elements/0/text/text", "must be at most 75 characters",
    |n| payload(vec![json!({"type": "actions", "elements": [button(&chars(n), &url(60))]})]))]
#[case::button_url(limits::MAX_BUTTON_URL, "/blocks/0/elements/0/url", "must be at most 3000 characters",
    |n| payload(vec![json!({"type": "actions", "elements": [button("Open in ThreatQ", &url(n))]})]))]
#[case::accessory_button_url(limits::MAX_BUTTON_URL, "/blocks/0/accessory/url", "must be at most 3000 characters",
    |n| payload(vec![json!({"type": "section", "text": mrkdwn("*FQDN*"), "accessory": button("Open", &url(n))})]))]
#[case::actions_elements(limits::MAX_ACTIONS_ELEMENTS, "/blocks/0/elements", "must have at most 25 items",
    |n| payload(vec![json!({"type": "actions", "elements": (0..n).map(|_| button("Open", &url(60))).collect::<Vec<_>>()})]))]
#[case::button_value(limits::MAX_BUTTON_VALUE, "/blocks/0/elements/0/value", "must be at most 2000 characters",
    |n| payload(vec![json!({"type": "actions", "elements": [{"type": "button", "text": plain("Ack"), "action_id": "ack", "value": chars(n)}]})]))]
#[case::action_id(limits::MAX_ACTION_ID, "/blocks/0/elements/0/action_id", "must be at most 255 characters",
    |n| payload(vec![json!({"type": "actions", "elements": [{"type": "button", "text": plain("Ack"), "action_id": chars(n)}]})]))]
#[case::top_level_text(limits::MAX_MESSAGE_TEXT, "/text", "must be at most 4000 characters",
    |n| json!({"text": chars(n)}))]
#[case::attachment_blocks(limits::MAX_SECTION_TEXT, "/attachments/1/blocks/0/text/text", "must be at most 3000 characters",
    |n| json!({"text": "digest", "attachments": [{"color": "good", "text": "ok"}, {"color": "danger", "blocks": [section(&chars(n))]}]}))]
fn each_limit_accepts_its_boundary_and_rejects_one_more(
    #[case] limit: usize,
    #[case] pointer: &str,
    #[case] message: &str,
    #[case] build: Build,
) {
    assert_eq!(
        validate(&build(limit)),
        vec![],
        "the boundary value {limit} is allowed"
    );
    assert_eq!(
        validate(&build(limit + 1)),
        vec![Violation {
            pointer: pointer.into(),
            message: message.into()
        }]
    );
}

#[test]
fn limits_count_code_points_not_bytes() {
    // 3000 code points of three bytes each are 9000 bytes: still allowed
    let wide = "日".repeat(limits::MAX_SECTION_TEXT);
    assert!(validate(&payload(vec![section(&wide)])).is_empty());
}

#[test]
fn violations_read_as_slack_writes_them() {
    let violations = validate(&payload(vec![section(&chars(3001))]));
    assert_eq!(
        violations[0].to_string(),
        "must be at most 3000 characters [json-pointer:/blocks/0/text/text]"
    );
}

#[test]
fn top_level_text_must_be_present_and_not_empty() {
    let missing = json!({"blocks": [section("*FQDN* `usacia[.]websecexp[.]com`")]});
    assert_eq!(validate(&missing)[0].pointer, "/text");
    assert_eq!(
        validate(&json!({"text": " "}))[0].message,
        "must not be empty (the notification fallback)"
    );
    assert_eq!(validate(&json!({"text": 7}))[0].message, "must be a string");
}

#[test]
fn header_must_be_plain_text() {
    let header = payload(vec![
        json!({"type": "header", "text": mrkdwn("*Watchlist*")}),
    ]);
    assert_eq!(
        validate(&header),
        vec![Violation {
            pointer: "/blocks/0/text/type".into(),
            message: "must be plain_text".into()
        }]
    );
}

#[test]
fn empty_texts_and_textless_sections_are_rejected() {
    let found = validate(&payload(vec![section(""), json!({"type": "section"})]));
    let pointers: Vec<&str> = found.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/blocks/0/text/text", "/blocks/1/text"]);
}

#[test]
fn every_violation_in_a_payload_is_reported() {
    let mut blocks: Vec<Value> = (0..50).map(|_| json!({"type": "divider"})).collect();
    blocks.push(section(&chars(3001)));
    let found = validate(&json!({"text": chars(4001), "blocks": blocks}));
    let pointers: Vec<&str> = found.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/text", "/blocks", "/blocks/50/text/text"]);
}

#[test]
fn payloads_built_from_the_typed_model_validate() {
    let payload = Payload {
        text: "Watchlist: FQDN usacia.websecexp.com changed".into(),
        blocks: vec![
            Block::header(":rotating_light: Watchlist: FQDN changed"),
            Block::section("*FQDN* `usacia[.]websecexp[.]com`"),
            Block::fields(["*Score*\n8", "*Status*\nActive"]),
            Block::context(["Citizen Lab · NGO Burma"]),
            Block::divider(),
            Block::actions(vec![Button::link(
                "Open in ThreatQ",
                "https://threatq.soc.internal/indicators/4400/details",
            )]),
        ],
        attachments: vec![],
    };
    assert!(validate(&payload.to_value()).is_empty());
}

#[test]
fn unknown_block_types_carry_no_violation() {
    let blocks = vec![json!({"type": "rich_text", "elements": []})];
    assert!(validate(&payload(blocks)).is_empty());
}

#[test]
fn an_unknown_block_type_and_a_non_web_button_link_are_refused() {
    let payload = serde_json::json!({
        "text": "fallback",
        "blocks": [
            { "type": "bogus" },
            { "type": "rich_text", "elements": [] },
            { "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "Open" }, "url": "javascript:alert(1)" },
                { "type": "button", "text": { "type": "plain_text", "text": "Open" }, "url": "https://threatq.example.net/indicators/1/details" }
            ] }
        ]
    });
    let found: Vec<String> = tq_alerts::slack::validate::validate(&payload)
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("`bogus` is not a Block Kit block type")
            && found[0].contains("[json-pointer:/blocks/0/type]"),
        "{found:?}"
    );
    assert!(
        found[1].contains("must be an http(s) link")
            && found[1].contains("[json-pointer:/blocks/2/elements/0/url]"),
        "{found:?}"
    );
}
