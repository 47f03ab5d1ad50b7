//! Render-to-terminal of a 20-alert digest payload at 120 columns (PRODUCT.md §10: the
//! template-edit-to-preview budget is 10 ms median for a 20-alert digest). The payload is the
//! committed fixture built from Citizen Lab indicators.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use tq_alerts::slack::render::{RenderContext, render_payload, text_to_ansi};

fn digest() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/slack/digest_20_alerts.json"
    );
    let text = std::fs::read_to_string(path).expect("the digest fixture is committed");
    serde_json::from_str(&text).expect("the digest fixture is JSON")
}

fn render(c: &mut Criterion) {
    let payload = digest();
    let ctx = RenderContext::new(120);
    // the emoji table is parsed once, on first use: keep that out of the measured runs
    black_box(render_payload(&payload, &ctx));

    c.bench_function("render 20-alert digest at 120 columns", |b| {
        b.iter(|| render_payload(black_box(&payload), black_box(&ctx)))
    });
    c.bench_function("render 20-alert digest at 120 columns to ANSI", |b| {
        b.iter(|| text_to_ansi(&render_payload(black_box(&payload), black_box(&ctx))))
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
