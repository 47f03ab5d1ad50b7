//! Key press to new frame in the console at 120×40 with a one-alert preview (PRODUCT.md §10:
//! under 2 ms median): the real update step (which re-formats and re-draws the preview when the
//! alert changes) and a full draw into ratatui's test backend.

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tq_alerts::config::{self, Environment};
use tq_alerts::store::Store;
use tq_alerts::tui::app::{App, Event};
use tq_alerts::tui::theme::Theme;

fn console() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::copy("tests/fixtures/console/console.toml", &path).expect("fixture");
    let env: Arc<dyn Environment + Send + Sync> = Arc::new(HashMap::from([
        ("TQ_CLIENT_SECRET".to_string(), "dummy".to_string()),
        ("SLACK_BOT_TOKEN".to_string(), "xoxb-dummy".to_string()),
        (
            "SOAR_WEBHOOK_URL".to_string(),
            "https://soar.soc.internal/hooks/x".to_string(),
        ),
    ]));
    let config = config::load_with(&path, env.as_ref()).expect("config");
    let store = Store::open(&config.state.resolved_path()).expect("state");
    let app = App::new(config, store, Theme::default_theme(), None, env, (120, 40));
    (dir, app)
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn bench(c: &mut Criterion) {
    let (_dir, mut app) = console();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    // Focus the preview of the first service's Slack notifier.
    app.update(key('3'));
    c.bench_function("key → frame: next alert in the preview (120×40)", |b| {
        b.iter(|| {
            app.update(key(']'));
            terminal
                .draw(|f| f.render_widget(&app, f.area()))
                .expect("draw");
        })
    });
    app.update(key('1'));
    c.bench_function("key → frame: move in Services (120×40)", |b| {
        let mut down = true;
        b.iter(|| {
            app.update(key(if down { 'j' } else { 'k' }));
            down = !down;
            terminal
                .draw(|f| f.render_widget(&app, f.area()))
                .expect("draw");
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
