//! Formatter throughput and the template editor's loop (PRODUCT.md §10): `slack-blocks` over
//! real published indicators (budget: 50,000 alerts a second on one core), a template's
//! rendering, and a template edit to the re-drawn preview of a 20-alert digest (budget: 10 ms
//! median). The alerts are the real samples and indicators compiled into the binary.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tq_alerts::alert::MessageData;
use tq_alerts::config::TemplateOutput;
use tq_alerts::formatter::Formatter;
use tq_alerts::formatters::samples::{digest_of, indicator_alerts, samples};
use tq_alerts::formatters::{SlackBlocksFormatter, TemplateFormatter};
use tq_alerts::slack::payload::message_body;
use tq_alerts::slack::render::{RenderContext, render_payload, text_to_plain};

/// The template of PRODUCT.md §4, as an operator writes it.
const COMPACT: &str =
    ":rotating_light: *{{ object.type }}* `{{ object.value }}` — score {{ object.score }}
<{{ object.url }}|Open in ThreatQ>";

/// A Block Kit template reading most fields.
const BLOCKS: &str = r#"{"text": "{{ object.type }} {{ object.value }}", "blocks": [
  {"type": "header", "text": {"type": "plain_text", "text": "{{ object.type }}: {{ object.value }}"}},
  {"type": "section", "text": {"type": "mrkdwn", "text": "`{{ object.value }}` score {{ object.score }} ({{ object.score|severity }}) from {{ object.sources|join(', ') }}"},
   "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open in ThreatQ"}, "url": "{{ object.url }}"}},
  {"type": "context", "elements": [{"type": "mrkdwn", "text": "{% for a in object.attributes %}{{ a.name }}: {{ a.value }} {% endfor %}"}]}
]}"#;

/// The real sample alerts and 1,000 real indicators, one message each.
fn singles() -> Vec<MessageData> {
    samples(None)
        .into_iter()
        .map(|s| s.alert)
        .chain(indicator_alerts(None, 1000))
        .map(MessageData::single)
        .collect()
}

fn slack_blocks(c: &mut Criterion) {
    let data = singles();
    let formatter = SlackBlocksFormatter::new("slack-blocks", None);
    let mut group = c.benchmark_group("slack-blocks");
    group.throughput(Throughput::Elements(data.len() as u64));
    group.bench_function("alerts", |b| {
        b.iter(|| {
            for d in &data {
                black_box(formatter.format_data(black_box(d)).unwrap());
            }
        })
    });
    group.finish();
}

fn templates(c: &mut Criterion) {
    let data = singles();
    let mut group = c.benchmark_group("template");
    group.throughput(Throughput::Elements(data.len() as u64));
    for (name, output, source) in [
        ("mrkdwn alerts", TemplateOutput::Mrkdwn, COMPACT),
        ("blocks alerts", TemplateOutput::Blocks, BLOCKS),
    ] {
        let formatter = TemplateFormatter::compile("bench", output, source).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                for d in &data {
                    black_box(formatter.format_data(black_box(d)).unwrap());
                }
            })
        });
    }
    group.finish();
}

/// What the console does on each key in the template editor: compile the text, format the
/// 20-alert digest, draw it at 120 columns.
fn edit_to_preview(c: &mut Criterion) {
    let digest = digest_of(indicator_alerts(None, 20), 1, 3);
    let ctx = RenderContext::new(120);
    // the emoji table is read on first use: keep that out of the measured runs
    black_box(render_payload(&serde_json::json!({"text": ":eyes:"}), &ctx));
    let mut group = c.benchmark_group("template edit to preview");
    for (name, output, source) in [
        (
            "mrkdwn, 20-alert digest at 120 columns",
            TemplateOutput::Mrkdwn,
            COMPACT,
        ),
        (
            "blocks, 20-alert digest at 120 columns",
            TemplateOutput::Blocks,
            BLOCKS,
        ),
    ] {
        let mut keystroke = 0u32;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    // a different text each time, as typing makes it
                    keystroke += 1;
                    format!(
                        "{source}{}",
                        if output == TemplateOutput::Mrkdwn {
                            " ".repeat(keystroke as usize % 7)
                        } else {
                            String::new()
                        }
                    )
                },
                |text| {
                    let formatter = TemplateFormatter::compile("editing", output, text).unwrap();
                    let message = formatter.format_data(&digest).unwrap();
                    text_to_plain(&render_payload(&message_body(&message), &ctx))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, slack_blocks, templates, edit_to_preview);
criterion_main!(benches);
