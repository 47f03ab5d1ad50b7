//! Hostile alerts (ANSI and OSC sequences, direction overrides, `<!channel>`, a 100 KB value, a
//! multi-line YARA rule, backslash paths, HTML, right-to-left text, `R&D`) through every
//! formatter: each makes a message Slack would accept, that mentions no one and links nowhere
//! but ThreatQ, and that draws cleanly in a terminal. Snapshots keep the result in view.

mod formatters_support;

use formatters_support::*;
use tq_alerts::alert::MessageData;
use tq_alerts::slack::render::{RenderContext, render_payload, text_to_plain};
use tq_alerts::slack::validate::validate;

/// What an operator's template wrote itself: these may mention and link.
const OPERATOR_MENTIONS: &[&str] = &["!here", "!channel"];
const OPERATOR_LINK: &str = "https://www.virustotal.com/gui/search/";

#[test]
fn every_hostile_alert_gives_every_formatter_a_valid_inert_message() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 10, "the fixture set changed");
    for (name, alert) in &fixtures {
        let data = MessageData::single(alert.clone());
        let links = threatq_links(&data);
        for (formatter_name, formatter, sink) in all_formatters() {
            let what = format!("{name} / {formatter_name}");
            let message = formatter
                .format_data(&data)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if sink == Sink::Webhook {
                continue;
            }
            let body = slack_body(&message);
            let violations = validate(&body);
            assert!(violations.is_empty(), "{what}: {violations:?}");
            let e = effects(&body);
            for m in &e.mentions {
                assert!(
                    formatter_name.starts_with("template")
                        && OPERATOR_MENTIONS.contains(&m.as_str()),
                    "{what}: the message mentions {m}"
                );
            }
            for l in &e.links {
                assert!(
                    links.contains(l) || l.starts_with(OPERATOR_LINK),
                    "{what}: the message links to {l}"
                );
            }
            let drawing = text_to_plain(&render_payload(&body, &RenderContext::new(80)));
            assert_clean_drawing(&drawing, &what);
        }
    }
}

#[test]
fn hostile_alerts_keep_their_raw_values_in_webhook_json_and_lose_them_nowhere() {
    for (name, alert) in fixtures() {
        let data = MessageData::single(alert.clone());
        for (formatter_name, formatter, _) in all_formatters() {
            let message = formatter.format_data(&data).unwrap();
            let body = tq_alerts::notifiers::webhook::payload(&data, &message);
            match formatter_name {
                "template-json" => {
                    assert_eq!(body["indicator"], alert.object.value, "{name}");
                    assert_eq!(body["tags"], serde_json::json!(alert.object.tags), "{name}");
                }
                _ => assert_eq!(body["alert"]["value"], alert.object.value, "{name}"),
            }
        }
    }
}

#[test]
fn hostile_alerts_snapshot() {
    let formatters = all_formatters();
    for (name, alert) in fixtures() {
        let data = MessageData::single(alert);
        let mut shown = String::new();
        for (formatter_name, formatter, sink) in &formatters {
            if *formatter_name == "template-json" || *formatter_name == "slack-blocks-watchlist" {
                continue;
            }
            let message = formatter.format_data(&data).unwrap();
            shown.push_str(&format!("===== {formatter_name}\n"));
            match sink {
                Sink::Slack => {
                    let body = slack_body(&message);
                    shown.push_str(&serde_json::to_string_pretty(&body).unwrap());
                    shown.push_str("\n----- drawn at 80 columns\n");
                    shown.push_str(&text_to_plain(&render_payload(
                        &body,
                        &RenderContext::new(80),
                    )));
                }
                Sink::Webhook => {
                    shown.push_str(&message.text);
                    shown.push('\n');
                }
            }
        }
        insta::assert_snapshot!(format!("hostile_{name}"), shown);
    }
}

#[test]
fn an_html_description_that_starts_outside_ascii_reads_as_text() {
    // ThreatQ descriptions in Arabic or Russian begin with a multi-byte character
    assert_eq!(
        tq_alerts::slack::mrkdwn::html_to_text("صقر الخفية <b>Stealth</b> Falcon"),
        "صقر الخفية Stealth Falcon"
    );
    assert_eq!(
        tq_alerts::slack::mrkdwn::html_to_text("Ж<p>x</p>"),
        "Ж\n\nx"
    );
}
