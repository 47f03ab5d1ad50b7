//! The console driven like an operator drives it — keys in, screens and the config file out —
//! through the real update step, the real config edit API and the real state file, drawn on
//! ratatui's `TestBackend`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tq_alerts::config::{self, Environment};
use tq_alerts::store::Store;
use tq_alerts::tui::app::{App, Effect, Event, Overlay, Pane};
use tq_alerts::tui::theme::Theme;
use tq_alerts::worker::WorkerCommand;

const FIXTURE: &str = "tests/fixtures/console/console.toml";

fn env() -> Arc<dyn Environment + Send + Sync> {
    Arc::new(HashMap::from([
        (
            "TQ_CLIENT_SECRET".to_string(),
            "dummy-client-secret".to_string(),
        ),
        (
            "SLACK_BOT_TOKEN".to_string(),
            "xoxb-dummy-token".to_string(),
        ),
        (
            "SOAR_WEBHOOK_URL".to_string(),
            "https://soar.soc.internal/hooks/SECRETPATH".to_string(),
        ),
    ]))
}

struct Console {
    _dir: tempfile::TempDir,
    path: PathBuf,
    app: App,
    terminal: Terminal<TestBackend>,
}

impl Console {
    fn start(width: u16, height: u16) -> Console {
        Self::with_theme(width, height, Theme::default_theme(), None)
    }

    fn with_theme(width: u16, height: u16, theme: Theme, read_only: Option<&str>) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::copy(FIXTURE, &path).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let env = env();
        let config = config::load_with(&path, env.as_ref()).unwrap();
        let store = Store::open(&config.state.resolved_path()).unwrap();
        let app = App::new(
            config,
            store,
            theme,
            read_only.map(str::to_string),
            env,
            (width, height),
        );
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        Console {
            _dir: dir,
            path,
            app,
            terminal,
        }
    }

    /// Type keys: single characters, or names in angle brackets: `<tab>`, `<space>`, `<enter>`,
    /// `<esc>`, `<down>`, `<up>`, `<ctrl-s>`, `<backspace>`.
    fn keys(&mut self, keys: &str) -> &mut Self {
        let mut chars = keys.chars().peekable();
        while let Some(c) = chars.next() {
            let event = if c == '<' && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                match name.as_str() {
                    "tab" => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
                    "space" => KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
                    "enter" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                    "esc" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                    "down" => KeyEvent::new(KeyCode::Down, KeyModifiers::NONE),
                    "up" => KeyEvent::new(KeyCode::Up, KeyModifiers::NONE),
                    "backspace" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
                    "end" => KeyEvent::new(KeyCode::End, KeyModifiers::NONE),
                    "ctrl-s" => KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
                    "ctrl-j" => KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL),
                    other => panic!("unknown key <{other}>"),
                }
            } else if c.is_ascii_uppercase() {
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT)
            } else {
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
            };
            self.app.update(Event::Key(event));
        }
        self
    }

    fn draw(&mut self) -> &Buffer {
        self.app.before_draw();
        self.terminal
            .draw(|f| f.render_widget(&self.app, f.area()))
            .unwrap();
        self.terminal.backend().buffer()
    }

    fn screen(&mut self) -> String {
        let buffer = self.draw().clone();
        let width = buffer.area.width as usize;
        buffer
            .content
            .chunks(width)
            .map(|row| {
                row.iter()
                    .map(|c| c.symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text inside one pane as drawn now.
    fn pane(&mut self, pane: Pane) -> String {
        let buffer = self.draw().clone();
        let areas = tq_alerts::tui::layout::for_app(&self.app);
        let rect = areas.pane(pane).expect("pane on screen");
        (rect.top()..rect.bottom())
            .map(|y| {
                (rect.left()..rect.right())
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn file(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

fn original() -> String {
    std::fs::read_to_string(FIXTURE).unwrap()
}

/// The file with exactly one replacement made: everything else must be byte-identical.
fn with_change(from: &str, to: &str) -> String {
    let text = original();
    assert_eq!(
        text.matches(from).count(),
        1,
        "ambiguous fixture change `{from}`"
    );
    text.replacen(from, to, 1)
}

#[test]
fn space_turns_a_service_off_in_the_file_and_keeps_every_comment() {
    let mut c = Console::start(120, 40);
    c.keys("<space>");
    assert_eq!(
        c.file(),
        with_change(
            "enabled = true          # on in production",
            "enabled = false          # on in production"
        )
    );
    assert_eq!(
        c.app.take_effects(),
        vec![Effect::Worker(WorkerCommand::SetEnabled {
            service: "watchlist".into(),
            enabled: false
        })]
    );
    assert!(c.screen().contains("○ off"));
}

#[test]
fn attach_detach_and_formatter_write_the_file_and_nothing_else() {
    let mut c = Console::start(120, 40);
    // Attach: Attached pane, `a`, the picker lists the notifiers not yet attached.
    c.keys("<tab>a");
    let Some(Overlay::Picker(picker)) = &c.app.overlay else {
        panic!("no picker")
    };
    let names: Vec<&str> = picker.items.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["soar-hook", "hunt-slack"]);
    c.keys("<enter>");
    assert_eq!(
        c.file(),
        with_change(
            r#"notifiers = ["soc-slack"]   # the SOC channel first"#,
            r#"notifiers = ["soc-slack", "soar-hook"]   # the SOC channel first"#
        )
    );
    assert!(c.app.take_effects().contains(&Effect::RestartWorker));

    // Detach asks first; `n` changes nothing, `y` detaches.
    c.keys("dn");
    assert!(c.file().contains(r#"["soc-slack", "soar-hook"]"#));
    c.keys("dy");
    assert_eq!(c.file(), original());

    // Formatter: the picker says which other services share the notifier.
    c.keys("f");
    let Some(Overlay::Picker(picker)) = &c.app.overlay else {
        panic!("no picker")
    };
    assert!(
        picker
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("'high-score-iocs'"),
        "{picker:?}"
    );
    let plain = picker
        .items
        .iter()
        .position(|(n, _)| n == "plain-text")
        .unwrap();
    let current = picker.selected;
    for _ in plain..current {
        c.keys("<up>");
    }
    for _ in current..plain {
        c.keys("<down>");
    }
    c.keys("<enter>");
    assert_eq!(
        c.file(),
        with_change(
            r#"formatter = "compact"   # short"#,
            r#"formatter = "plain-text"   # short"#
        )
    );
}

#[test]
fn an_outside_change_is_not_overwritten_and_a_reload_is_offered() {
    let mut c = Console::start(120, 40);
    let edited = original().replace("interval = \"5m\"", "interval = \"10m\"");
    std::fs::write(&c.path, &edited).unwrap();
    c.keys("<space>");
    assert_eq!(c.file(), edited, "the outside change must survive");
    assert!(
        matches!(&c.app.overlay, Some(Overlay::Confirm(q)) if q.message.contains("changed on disk"))
    );
    assert!(c.screen().contains("Reload it"));
    c.keys("y");
    assert_eq!(
        c.app.config.services[0].interval.as_secs(),
        600,
        "reloaded from disk"
    );
    c.keys("<space>");
    assert!(c.file().contains("enabled = false") && c.file().contains("interval = \"10m\""));
}

#[test]
fn read_only_refuses_changes_with_a_message() {
    let mut c = Console::with_theme(120, 40, Theme::default_theme(), Some("--read-only"));
    c.keys("<space>");
    assert_eq!(c.file(), original());
    assert!(c.app.take_effects().is_empty());
    assert!(
        c.screen()
            .contains("read-only: --read-only; nothing was changed")
    );
}

#[test]
fn typing_in_the_editor_updates_the_preview_in_the_same_step() {
    let mut c = Console::start(120, 40);
    c.keys("<tab>e");
    assert!(c.app.editor.is_some(), "{:?}", c.app.notice);
    let before = c.pane(Pane::Preview);
    assert!(before.contains("Open in ThreatQ"), "{before}");
    assert!(!before.contains("LIVE-EDIT"));
    c.keys("<end>").keys(" LIVE-EDIT");
    let after = c.pane(Pane::Preview);
    assert!(
        after.contains("LIVE-EDIT"),
        "the preview re-rendered: {after}"
    );
}

#[test]
fn a_template_error_keeps_the_last_good_preview_and_shows_line_and_column() {
    let mut c = Console::start(120, 40);
    c.keys("<tab>e").keys(" {{ object.sourse }}");
    let preview = c.pane(Pane::Preview);
    let editor = c.app.editor.as_ref().unwrap();
    assert!(
        editor
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("sources"),
        "{:?}",
        editor.error
    );
    assert_eq!(editor.error_at.map(|(l, _)| l), Some(1));
    assert!(
        editor.error_at.and_then(|(_, col)| col).is_some(),
        "a column is shown"
    );
    assert!(preview.contains("last good preview"), "{preview}");
    assert!(preview.contains("Open in ThreatQ"), "{preview}");
    assert!(
        c.screen().contains("line 1, column"),
        "the editor shows where"
    );
    // Ctrl-S refuses to save a broken template.
    c.keys("<ctrl-s>");
    assert_eq!(c.file(), original());
}

#[test]
fn ctrl_s_saves_the_template_and_esc_leaves_without_asking_when_saved() {
    let mut c = Console::start(120, 40);
    c.keys("<tab>e<end> (house style)<ctrl-s>");
    assert!(
        c.file().contains("score {{ object.score }} (house style)"),
        "{}",
        c.file()
    );
    assert!(c.file().starts_with("# The SOC's alerting"));
    c.keys("<esc>");
    assert!(c.app.editor.is_none());
}

#[test]
fn esc_on_unsaved_changes_asks_and_never_saves() {
    let mut c = Console::start(120, 40);
    c.keys("<tab>e<end>!<esc>");
    assert!(matches!(&c.app.overlay, Some(Overlay::Confirm(_))));
    c.keys("<esc>");
    assert!(
        c.app.editor.is_some(),
        "Esc on the question keeps the editor"
    );
    c.keys("<esc>y");
    assert!(c.app.editor.is_none());
    assert_eq!(c.file(), original());
}

#[test]
fn tab_reaches_every_pane_at_80_by_24() {
    let mut c = Console::start(80, 24);
    for pane in Pane::ALL {
        assert_eq!(c.app.focus, pane);
        let screen = c.screen();
        assert!(
            screen.lines().nth(2).unwrap().contains(pane.title()),
            "{screen}"
        );
        c.keys("<tab>");
    }
}

#[test]
fn help_lists_every_binding_from_the_key_table() {
    let mut c = Console::start(120, 40);
    c.keys("?");
    let screen = c.screen();
    for description in [
        "turn the service on or off",
        "attach a notifier",
        "retry a failed delivery",
        "help: every key",
    ] {
        assert!(screen.contains(description), "{description}: {screen}");
    }
    c.keys("<esc>");
    assert!(c.app.overlay.is_none());
}

/// Values an attacker controls (a ThreatQ indicator, a Slack error answer) as they may arrive.
fn hostile_strings() -> Vec<String> {
    vec![
        "\u{1b}[31mred\u{1b}[0m.evil-domain.com".into(),
        "\u{1b}]52;c;ZXZpbA==\u{7}clipboard.example.org".into(),
        "\u{1b}]0;pwned title\u{7}".into(),
        "\u{202e}moc.elgoog\u{202c}".into(),
        "zero\u{200b}width\u{feff}".into(),
        "bell\u{7}\u{8}\u{7f}c1\u{9b}31m".into(),
        "rule apt_x {\r\n  strings: $a = \"C:\\\\Windows\\\\System32\\\\evil.dll\"\r\n  condition: $a\r\n}".into(),
        "<!channel> R&D <@U0123>".into(),
        "x".repeat(100_000),
    ]
}

#[test]
fn nothing_from_outside_reaches_a_cell_with_a_control_character() {
    use tq_alerts::alert::{Alert, NotificationType, ObjectKind, ThreatObject};
    use tq_alerts::notifier::Reason;
    use tq_alerts::store::{AttemptResult, DeliveryRecord, PollCommit, Route};

    let mut c = Console::start(120, 40);
    let store = c.app.store.clone();
    let alerts: Vec<Alert> = hostile_strings()
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let mut o = ThreatObject::new(ObjectKind::Indicator, 900 + i as u64, value.clone());
            o.object_type = Some(value.chars().take(40).collect());
            o.sources = vec![value.chars().take(60).collect()];
            Alert::new("high-score-iocs", NotificationType::DataCollection, o)
        })
        .collect();
    store
        .commit_poll(PollCommit {
            service: "high-score-iocs",
            notification_type: NotificationType::DataCollection,
            cursor: None,
            snapshots: &[],
            alerts: &alerts,
            routes: &[Route {
                notifier: "soar-hook".into(),
                targets: vec!["soar.soc.internal".into()],
                digest_threshold: 100,
                digest_size: 20,
            }],
        })
        .unwrap();
    for value in hostile_strings() {
        store
            .log_delivery(&DeliveryRecord {
                id: 0,
                row_id: Some(1),
                at: chrono::Utc::now(),
                service: "high-score-iocs".into(),
                notifier: "soar-hook".into(),
                target: value.chars().take(50).collect(),
                result: AttemptResult::Failed,
                attempts: 1,
                status: Some(400),
                reason: Some(
                    Reason::new(value.chars().take(30).collect::<String>())
                        .detail(value.clone())
                        .hint(value.chars().take(80).collect::<String>()),
                ),
                payload: Some(serde_json::json!({ "text": value }).to_string()),
                receipt: None,
                latency_ms: 3,
                summary: value.chars().take(200).collect(),
            })
            .unwrap();
    }
    c.app.reload_deliveries();
    // The second service, its webhook notifier (plain text preview of the hostile alerts).
    c.keys("j<tab>j");
    c.app.refresh_preview();
    let mut screens = Vec::new();
    for _ in 0..5 {
        screens.push(c.draw().clone());
        c.keys("]<tab>");
    }
    c.keys("5<enter>");
    screens.push(c.draw().clone());
    c.keys("<esc>3J");
    screens.push(c.draw().clone());
    for buffer in &screens {
        for cell in &buffer.content {
            for ch in cell.symbol().chars() {
                let code = ch as u32;
                assert!(
                    !(code < 0x20 || (0x7f..=0x9f).contains(&code)),
                    "control character U+{code:04X} reached the terminal"
                );
            }
        }
    }
    // The bidi override is shown, not obeyed.
    let all: String = screens
        .iter()
        .flat_map(|b| b.content.iter().map(|c| c.symbol().to_string()))
        .collect();
    assert!(all.contains("U+202E"), "bidi override made visible");
}

#[test]
fn mono_keeps_selection_and_errors_visible_without_colour() {
    use ratatui::style::{Color, Modifier};
    let mut c = Console::with_theme(120, 40, Theme::mono(), None);
    c.keys("<space>"); // a notice line appears; the row stays selected
    c.app
        .update(Event::Worker(tq_alerts::worker::WorkerEvent::Warning {
            message: "ThreatQ rejected the credentials".into(),
        }));
    let buffer = c.draw().clone();
    let mut reversed = 0;
    for cell in &buffer.content {
        assert!(
            cell.fg == Color::Reset || cell.fg == Color::default(),
            "colour used in mono: {cell:?}"
        );
        assert!(
            cell.bg == Color::Reset || cell.bg == Color::default(),
            "colour used in mono: {cell:?}"
        );
        if cell.modifier.contains(Modifier::REVERSED) {
            reversed += 1;
        }
    }
    assert!(reversed > 10, "the selected row is shown in reverse");
    // Symbols carry state: off is ○, on is ●; a warning is marked `!` and bold.
    let screen = c.screen();
    assert!(screen.contains("○ off"));
    let notice_row = buffer.area.height - 2;
    let mark = &buffer[(1, notice_row)];
    assert_eq!(mark.symbol(), "!");
    assert!(mark.modifier.contains(Modifier::BOLD), "{mark:?}");
}

/// Whole screens, as snapshots: the temporary folder is filtered out.
fn snapshot(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/[^ ]*/config\.toml", "[config]");
    settings.add_filter(r"·\s+[^·]*config\.toml", "· [config]");
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

#[test]
fn screens_at_120_by_40() {
    let mut c = Console::start(120, 40);
    snapshot("wide_start", c.screen());
    for (i, pane) in ["services", "attached", "preview", "worker", "deliveries"]
        .iter()
        .enumerate()
    {
        c.keys(&(i + 1).to_string());
        snapshot(&format!("wide_focus_{pane}"), c.screen());
    }
    c.keys("2a");
    snapshot("wide_attach_picker", c.screen());
    c.keys("<esc>e<end> {{ object.sourse }}");
    snapshot("wide_editor_with_error", c.screen());
    c.keys("<esc>y?");
    snapshot("wide_help", c.screen());
}

#[test]
fn screens_at_80_by_24() {
    let mut c = Console::start(80, 24);
    snapshot("narrow_start", c.screen());
    for (i, pane) in ["attached", "preview", "worker", "deliveries"]
        .iter()
        .enumerate()
    {
        c.keys(&(i + 2).to_string());
        snapshot(&format!("narrow_focus_{pane}"), c.screen());
    }
    c.keys("2a");
    snapshot("narrow_attach_picker", c.screen());
    c.keys("<esc>e<end> {{ object.sourse }}");
    snapshot("narrow_editor_with_error", c.screen());
    c.keys("<esc>y?");
    snapshot("narrow_help", c.screen());
}

#[test]
fn screens_in_mono() {
    let mut c = Console::with_theme(120, 40, Theme::mono(), None);
    snapshot("mono_start", c.screen());
}

#[test]
fn mentions_in_the_preview_show_names_from_the_slack_cache() {
    let mut c = Console::start(120, 40);
    c.app
        .store
        .save_slack_target(&tq_alerts::store::slack_cache::CachedSlackTarget {
            team_id: "T0TQSIM001".into(),
            kind: "user".into(),
            key: "analyst1".into(),
            id: "U0ANALYST1".into(),
            post_to: "D0ANALYST1".into(),
            label: "@msantos (Maria Santos)".into(),
            resolved_at: chrono::Utc::now(),
        })
        .unwrap();
    c.app.slack_names = c.app.store.slack_names().unwrap();
    c.keys("<tab>e<end> cc <@U0ANALYST1>");
    let preview = c.pane(Pane::Preview);
    assert!(preview.contains("cc @msantos"), "{preview}");
}

#[test]
fn quit_asks_while_a_delivery_is_in_flight() {
    use tq_alerts::alert::NotificationType;
    use tq_alerts::store::{PollCommit, Route, RowStatus};
    let mut c = Console::start(120, 40);
    let alerts = tq_alerts::formatters::samples::indicator_alerts(None, 1);
    c.app
        .store
        .commit_poll(PollCommit {
            service: "watchlist",
            notification_type: NotificationType::Watchlist,
            cursor: None,
            snapshots: &[],
            alerts: &alerts,
            routes: &[Route {
                notifier: "soc-slack".into(),
                targets: vec!["#tq-alerts".into()],
                digest_threshold: 10,
                digest_size: 20,
            }],
        })
        .unwrap();
    let row = c.app.store.rows(RowStatus::Queued, 1).unwrap().remove(0);
    c.app.store.mark_sending(row.id).unwrap();
    c.keys("q");
    assert!(c.app.take_effects().is_empty(), "not yet");
    assert!(c.screen().contains("1 delivery is in flight. Quit anyway?"));
    c.keys("n");
    assert!(c.app.take_effects().is_empty());
    c.keys("qy");
    assert_eq!(c.app.take_effects(), vec![Effect::Quit]);
}

#[test]
fn another_owner_of_the_state_file_opens_the_console_read_only_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::copy(FIXTURE, &path).unwrap();
    let env = env();
    let config = config::load_with(&path, env.as_ref()).unwrap();
    let state = config.state.resolved_path();
    Store::open(&state).unwrap();
    let _owner = tq_alerts::store::StateLock::acquire(&state).unwrap();
    let options = tq_alerts::tui::ConsoleOptions {
        config,
        theme: None,
        no_color: false,
        read_only: false,
        env,
    };
    let (lock, store, reason) = tq_alerts::tui::open_state(&options).unwrap();
    assert!(lock.is_none());
    assert!(store.is_read_only());
    let reason = reason.unwrap();
    assert!(
        reason.contains(&format!("pid {}", std::process::id())),
        "{reason}"
    );
}

#[test]
fn the_deliveries_filter_matches_the_result_word() {
    use tq_alerts::store::{AttemptResult, DeliveryRecord};
    let mut c = Console::start(120, 40);
    for (result, target) in [
        (AttemptResult::Delivered, "#tq-alerts"),
        (AttemptResult::Failed, "general"),
    ] {
        c.app
            .store
            .log_delivery(&DeliveryRecord {
                id: 0,
                row_id: Some(1),
                at: chrono::Utc::now(),
                service: "watchlist".into(),
                notifier: "soc-slack".into(),
                target: target.into(),
                result,
                attempts: 1,
                status: Some(200),
                reason: None,
                payload: None,
                receipt: None,
                latency_ms: 5,
                summary: "indicator redcrossworld.com".into(),
            })
            .unwrap();
    }
    c.app.reload_deliveries();
    c.keys("5/failed<enter>");
    assert_eq!(c.app.deliveries.len(), 1);
    assert_eq!(c.app.deliveries[0].target, "general");
    assert!(c.screen().contains("filter “failed”"));
}

#[test]
fn the_json_view_shows_the_channel_id_the_notifier_sends_to_once_resolved() {
    let mut c = Console::start(120, 40);
    c.keys("3J");
    assert!(
        c.pane(Pane::Preview)
            .contains(r##""channel": "#tq-alerts""##),
        "unresolved: the name"
    );
    c.app
        .store
        .save_slack_target(&tq_alerts::store::slack_cache::CachedSlackTarget {
            team_id: "T0TQSIM001".into(),
            kind: "channel".into(),
            key: "tq-alerts".into(),
            id: "C0TQALERT1".into(),
            post_to: "C0TQALERT1".into(),
            label: "#tq-alerts".into(),
            resolved_at: chrono::Utc::now(),
        })
        .unwrap();
    c.app.refresh_slack_cache();
    c.app.refresh_preview();
    let json = c.pane(Pane::Preview);
    assert!(json.contains(r#""channel": "C0TQALERT1""#), "{json}");
    assert!(json.contains(r#""unfurl_links": false"#));
}

#[test]
fn a_pasted_escape_sequence_never_reaches_the_template() {
    let mut c = Console::start(120, 40);
    c.keys("<tab>e<end>");
    c.app.update(Event::Paste(
        "\u{1b}[31mred\u{1b}[0m\r\nnext line\u{7}".into(),
    ));
    let text = c.app.editor.as_ref().unwrap().text();
    assert!(text.contains("[31mred[0m\nnext line"), "{text:?}");
    assert!(
        !text.chars().any(|ch| ch.is_control() && ch != '\n'),
        "{text:?}"
    );
}
