//! Shared parts of the formatter tests: the hostile fixture alerts, every built-in formatter
//! (and templates of each output), and the check that a Slack message lets no value mention,
//! link or leave its code span.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tq_alerts::alert::{Alert, MessageData, NotificationType};
use tq_alerts::config::TemplateOutput;
use tq_alerts::formatter::{Formatter, Message};
use tq_alerts::formatters::{PlainFormatter, SlackBlocksFormatter, TemplateFormatter};
use tq_alerts::slack::mrkdwn::{self, Run, RunKind};
use tq_alerts::threatq::{Lookups, object_from_api_inferred};

/// A fixed moment of detection, so snapshots do not move.
pub fn detected() -> DateTime<Utc> {
    "2016-06-05T12:05:00Z".parse().unwrap()
}

/// Every hostile alert of `tests/fixtures/alerts/` (ThreatQ API objects), by file stem,
/// normalised as the services normalise what ThreatQ returns, as watchlist alerts.
pub fn fixtures() -> Vec<(String, Alert)> {
    let base = url::Url::parse("https://threatq.example.net").unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alerts");
    let mut out: Vec<(String, Alert)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let api: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let object = object_from_api_inferred(&api, &base, &Lookups::default())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let mut alert = Alert::new("watchlist", NotificationType::Watchlist, object);
            alert.detected_at = detected();
            (p.file_stem().unwrap().to_string_lossy().into_owned(), alert)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A template that reads every field, as an operator would write one, with their own
/// mention and link beside values.
pub const MRKDWN_TEMPLATE: &str = r#"<!here> :rotating_light: *{{ object.type }}* `{{ object.value }}` — score {{ object.score }} ({{ object.score|severity }})
{% if changes %}changed: {{ changes|join(", ") }}{% else %}first seen{% endif %} · status {{ object.status }} · TLP {{ object.tlp }}
sources: {{ object.sources|join(", ") }} · tags: {{ object.tags|join(", ") }}
{% for a in object.attributes %}• *{{ a.name }}*: {{ a.value }}
{% endfor %}
> {{ object.description }}
<{{ object.url }}|Open in ThreatQ> · <https://www.virustotal.com/gui/search/{{ object.value|url }}|VirusTotal>"#;

/// Block Kit written by an operator, values in every kind of place.
pub const BLOCKS_TEMPLATE: &str = r#"{"text": "{{ object.type }} {{ object.value }}",
 "blocks": [
  {"type": "header", "text": {"type": "plain_text", "text": "{{ object.type }}: {{ object.value }}"}},
  {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> `{{ object.value }}` from {{ object.sources|join(', ') }}\n{{ object.description }}"},
   "accessory": {"type": "button", "text": {"type": "plain_text", "text": "{{ object.value }}"}, "url": "{{ object.url }}"}},
  {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Tags*\n{{ object.tags|join(', ') }}"}, {"type": "mrkdwn", "text": "*Status*\n{{ object.status }}"}]},
  {"type": "context", "elements": [{"type": "mrkdwn", "text": "{% for a in object.attributes %}{{ a.name }}={{ a.value }} {% endfor %}"}]}
 ]}"#;

/// A SOAR body.
pub const JSON_TEMPLATE: &str = r#"{"indicator": "{{ object.value }}", "score": {{ object.score }}, "tlp": {{ object.tlp }},
 "tags": {{ object.tags }}, "attributes": {{ object.attributes }}, "summary": "{{ object.type }} {{ object.value }} ({{ object.score|severity }})"}"#;

/// Where a formatter's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Slack,
    Webhook,
}

/// Every built-in formatter, and a template of each output.
pub fn all_formatters() -> Vec<(&'static str, Arc<dyn Formatter>, Sink)> {
    vec![
        (
            "slack-blocks",
            Arc::new(SlackBlocksFormatter::new("slack-blocks", None)),
            Sink::Slack,
        ),
        (
            "slack-blocks-watchlist",
            Arc::new(SlackBlocksFormatter::new(
                "slack-blocks-watchlist",
                Some(NotificationType::Watchlist),
            )),
            Sink::Slack,
        ),
        (
            "plain",
            Arc::new(PlainFormatter::new("plain")),
            Sink::Webhook,
        ),
        (
            "template-mrkdwn",
            Arc::new(
                TemplateFormatter::compile(
                    "template-mrkdwn",
                    TemplateOutput::Mrkdwn,
                    MRKDWN_TEMPLATE,
                )
                .unwrap(),
            ),
            Sink::Slack,
        ),
        (
            "template-blocks",
            Arc::new(
                TemplateFormatter::compile(
                    "template-blocks",
                    TemplateOutput::Blocks,
                    BLOCKS_TEMPLATE,
                )
                .unwrap(),
            ),
            Sink::Slack,
        ),
        (
            "template-json",
            Arc::new(
                TemplateFormatter::compile("template-json", TemplateOutput::Json, JSON_TEMPLATE)
                    .unwrap(),
            ),
            Sink::Webhook,
        ),
    ]
}

/// The payload Slack gets (without a channel).
pub fn slack_body(message: &Message) -> Value {
    tq_alerts::slack::payload::message_body(message)
}

/// Every mrkdwn string of a Slack payload (top-level text, mrkdwn text objects anywhere).
pub fn mrkdwn_strings(payload: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(text) = payload.get("text").and_then(Value::as_str) {
        out.push(text.to_owned());
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("mrkdwn")
                    && let Some(t) = map.get("text").and_then(Value::as_str)
                {
                    out.push(t.to_owned());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    for key in ["blocks", "attachments"] {
        if let Some(v) = payload.get(key) {
            walk(v, &mut out);
        }
    }
    out
}

/// What a Slack message would do when posted: mentions, live links (with their URLs) and
/// code runs, found by parsing each mrkdwn string as Slack does.
#[derive(Debug, Default)]
pub struct Effects {
    pub mentions: Vec<String>,
    pub links: Vec<String>,
    pub code: Vec<String>,
}

pub fn effects(payload: &Value) -> Effects {
    let mut e = Effects::default();
    fn visit(runs: &[Run], e: &mut Effects) {
        for run in runs {
            match &run.kind {
                RunKind::User { id, .. } => e.mentions.push(format!("@{id}")),
                RunKind::Channel { id, .. } => e.mentions.push(format!("#{id}")),
                RunKind::Broadcast(b) => e.mentions.push(format!("!{}", b.name())),
                RunKind::Subteam { id, .. } => e.mentions.push(format!("^{id}")),
                RunKind::Command { name, .. } => e.mentions.push(format!("!{name}")),
                RunKind::Date { .. } => e.mentions.push("!date".into()),
                RunKind::Link { url, label } => {
                    e.links.push(url.clone());
                    visit(label, e);
                }
                RunKind::Code(text) | RunKind::Pre(text) => e.code.push(text.clone()),
                _ => {}
            }
        }
    }
    for s in mrkdwn_strings(payload) {
        visit(&mrkdwn::parse(&s), &mut e);
    }
    // buttons are links too
    fn buttons(v: &Value, e: &mut Effects) {
        match v {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("button")
                    && let Some(url) = map.get("url").and_then(Value::as_str)
                {
                    e.links.push(url.to_owned());
                }
                map.values().for_each(|v| buttons(v, e));
            }
            Value::Array(items) => items.iter().for_each(|v| buttons(v, e)),
            _ => {}
        }
    }
    buttons(payload, &mut e);
    e
}

/// The ThreatQ links of the alerts in `data`: the only links a message may carry.
pub fn threatq_links(data: &MessageData) -> Vec<String> {
    data.alerts()
        .iter()
        .filter_map(|a| a.object.url.clone())
        .collect()
}

/// The drawing of a Slack payload holds no control character (but line ends) and no escape.
pub fn assert_clean_drawing(drawing: &str, what: &str) {
    for c in drawing.chars() {
        assert!(
            c == '\n' || !c.is_control(),
            "{what}: control character {c:?} in the drawing"
        );
        assert!(
            !('\u{202A}'..='\u{202E}').contains(&c) && !('\u{2066}'..='\u{2069}').contains(&c),
            "{what}: direction override {c:?} in the drawing"
        );
    }
}
