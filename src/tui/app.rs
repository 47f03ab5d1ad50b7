//! The console's state and its one `update` step (STYLE.md habit 4): keys become actions,
//! worker events and ticks arrive through the same `Event` enum, and every change to state —
//! and every change written to the config file — happens here. Drawing only reads this state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::text::Text;

use crate::alert::{Alert, NotificationType};
use crate::config::{
    self, Config, ConfigFile, EditError, Environment, FormatterKind, NotifierKind,
};
use crate::notifier::Reason;
use crate::store::{AttemptResult, DeliveryFilter, DeliveryRecord, OutboxCounts, Store};
use crate::worker::{ServiceState, WorkerCommand, WorkerEvent};

use super::editor::Editor;
use super::keymap::{Action, Keymap, Scope};
use super::layout;
use super::preview::{self, Preview};
use super::theme::Theme;

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Services,
    Attached,
    Preview,
    Worker,
    Deliveries,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Services,
        Pane::Attached,
        Pane::Preview,
        Pane::Worker,
        Pane::Deliveries,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Services => "Services",
            Pane::Attached => "Attached",
            Pane::Preview => "Preview",
            Pane::Worker => "Worker",
            Pane::Deliveries => "Deliveries",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Pane::Services => Scope::Services,
            Pane::Attached => Scope::Attached,
            Pane::Preview => Scope::Preview,
            Pane::Worker => Scope::Worker,
            Pane::Deliveries => Scope::Deliveries,
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// Everything that reaches the console.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Worker(WorkerEvent),
    /// The clock moved (once a second); relative times may need redrawing.
    Tick(DateTime<Utc>),
    /// SIGTERM or SIGHUP: leave now, cleanly.
    Terminate,
}

/// What the event loop must do after an update (things that take time or own resources).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Worker(WorkerCommand),
    /// The config changed in ways the worker must rebuild for (attach, formatter, template).
    RestartWorker,
    /// Send a test through the named notifier.
    SendTest(String),
    Quit,
}

/// What the worker said about a service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRuntime {
    pub state: Option<ServiceState>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_result: Option<Result<String, String>>,
    pub next_run: Option<DateTime<Utc>>,
    pub fetched: u64,
    pub new_alerts: u64,
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub progress: Option<(String, u64, Option<u64>)>,
}

/// A choice list over the panes.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub kind: PickerKind,
    pub title: String,
    /// (value, description)
    pub items: Vec<(String, String)>,
    pub selected: usize,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PickerKind {
    /// Attach a notifier to this service.
    Attach { service: String },
    /// Set the formatter of this notifier.
    Formatter { notifier: String },
}

/// A question that needs a yes.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub message: String,
    pub yes: Pending,
}

/// What a confirmed question does.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Detach { service: String, notifier: String },
    Quit,
    LeaveEditor,
    ReloadConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Picker(Picker),
    Confirm(Confirm),
    Delivery {
        record: Box<DeliveryRecord>,
        scroll: u16,
    },
    Filter {
        input: String,
    },
}

/// A line at the bottom saying what just happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Warn,
    Error,
}

/// The console's whole state.
pub struct App {
    pub config: Config,
    config_file: Option<ConfigFile>,
    env: Arc<dyn Environment + Send + Sync>,
    pub store: Store,
    /// Why the console may not change anything (`--read-only`, `ui.read_only`, another owner).
    pub read_only: Option<String>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub size: (u16, u16),
    pub now: DateTime<Utc>,
    pub focus: Pane,
    pub service_index: usize,
    pub attached_index: usize,
    pub runtime: BTreeMap<String, ServiceRuntime>,
    pub deliveries: Vec<DeliveryRecord>,
    pub delivery_index: usize,
    pub outbox: OutboxCounts,
    pub delivery_filter: String,
    pub preview: Preview,
    pub overlay: Option<Overlay>,
    pub editor: Option<Editor>,
    pub notice: Option<Notice>,
    pub warnings: Vec<String>,
    /// Slack ids → names from the resolution cache, so mentions draw as `@name`.
    pub slack_names: std::collections::HashMap<String, String>,
    /// New deliveries were reported; the list is read again before the next frame.
    deliveries_stale: bool,
    /// Slack names → where they post, so the JSON view shows the id the notifier sends to.
    pub slack_destinations: std::collections::HashMap<(String, String), String>,
    effects: Vec<Effect>,
    pub dirty: bool,
}

/// How many delivery lines the console keeps in memory.
const DELIVERY_WINDOW: usize = 500;

impl App {
    pub fn new(
        config: Config,
        store: Store,
        theme: Theme,
        read_only: Option<String>,
        env: Arc<dyn Environment + Send + Sync>,
        size: (u16, u16),
    ) -> App {
        let (keymap, key_problems) = Keymap::with_overrides(&config.keys);
        let mut warnings: Vec<String> = key_problems.iter().map(|p| p.to_string()).collect();
        warnings.extend(config.warnings.iter().map(|w| w.to_string()));
        let config_file = if read_only.is_none() {
            match ConfigFile::open(&config.path) {
                Ok(f) => Some(f),
                Err(e) => {
                    warnings.push(format!("the config cannot be edited: {e}"));
                    None
                }
            }
        } else {
            None
        };
        if let Some(w) = world_readable(&config.path) {
            warnings.push(w);
        }
        let mut app = App {
            config,
            config_file,
            env,
            store,
            read_only,
            theme,
            keymap,
            size,
            now: Utc::now(),
            focus: Pane::Services,
            service_index: 0,
            attached_index: 0,
            runtime: BTreeMap::new(),
            deliveries: Vec::new(),
            delivery_index: 0,
            outbox: OutboxCounts::default(),
            delivery_filter: String::new(),
            preview: Preview::default(),
            overlay: None,
            editor: None,
            notice: None,
            warnings,
            slack_names: Default::default(),
            deliveries_stale: false,
            slack_destinations: Default::default(),
            effects: Vec::new(),
            dirty: true,
        };
        app.load_runs();
        app.refresh_slack_cache();
        app.reload_deliveries();
        app.refresh_preview();
        if let Some(first) = app.warnings.first().cloned() {
            let more = app.warnings.len() - 1;
            app.notice = Some(Notice {
                text: if more > 0 {
                    format!("{first} (+{more} more warnings, see ?)")
                } else {
                    first
                },
                level: Level::Warn,
            });
        }
        app
    }

    /// Effects queued by updates since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn selected_service(&self) -> Option<&config::ServiceConfig> {
        self.config.services.get(self.service_index)
    }

    /// The selected service's notifiers, in config order.
    pub fn attached(&self) -> Vec<&config::NotifierConfig> {
        self.selected_service()
            .map(|s| {
                s.notifiers
                    .iter()
                    .filter_map(|n| self.config.notifier(n))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn selected_notifier(&self) -> Option<&config::NotifierConfig> {
        self.attached().get(self.attached_index).copied()
    }

    /// The formatter a notifier uses: its configured one, or the kind's default.
    pub fn formatter_name_of(&self, notifier: &config::NotifierConfig) -> String {
        notifier
            .formatter
            .clone()
            .unwrap_or_else(|| match notifier.kind {
                NotifierKind::Webhook { .. } => "plain (default)".into(),
                _ => "slack-blocks (default)".into(),
            })
    }

    fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            level,
        });
    }

    /// The scope keys are looked up in right now.
    pub fn scope(&self) -> Scope {
        if self.editor.is_some() {
            Scope::Editor
        } else {
            self.focus.scope()
        }
    }

    // --- the update step -----------------------------------------------------------------

    pub fn update(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Key(_) => {}
            Event::Paste(text) => self.on_paste(&text),
            Event::Resize(w, h) => {
                self.size = (w, h);
                self.refresh_preview();
                self.dirty = true;
            }
            Event::Worker(e) => self.on_worker(e),
            Event::Tick(now) => {
                if clock_key(self, self.now) != clock_key(self, now) {
                    self.dirty = true;
                }
                self.now = now;
            }
            Event::Terminate => self.effects.push(Effect::Quit),
        }
    }

    fn on_paste(&mut self, text: &str) {
        if let Some(editor) = &mut self.editor {
            editor.paste(text);
            self.after_edit();
        } else if let Some(Overlay::Filter { input }) = &mut self.overlay {
            input.push_str(&text.replace(['\n', '\r'], " "));
            self.dirty = true;
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        self.dirty = true;
        // Overlays take keys first; they only close with Esc and never change anything on it.
        if self.overlay.is_some() {
            self.on_overlay_key(key);
            return;
        }
        if self.editor.is_some() {
            match self.keymap.action(Scope::Editor, &key) {
                Some(Action::Save) => self.save_template(),
                Some(Action::Close) => self.leave_editor(),
                Some(Action::Newline) => {
                    if let Some(editor) = &mut self.editor {
                        editor.textarea.insert_newline();
                    }
                    self.after_edit();
                }
                _ => {
                    let changed = self.editor.as_mut().is_some_and(|e| e.input(key));
                    if changed {
                        self.after_edit();
                    }
                }
            }
            return;
        }
        let Some(action) = self.keymap.action(self.focus.scope(), &key) else {
            return;
        };
        self.act(action);
    }

    fn act(&mut self, action: Action) {
        if action.changes_something()
            && let Some(reason) = &self.read_only
        {
            self.notify(
                Level::Warn,
                format!("read-only: {reason}; nothing was changed"),
            );
            return;
        }
        match action {
            Action::FocusNext => self.focus = Pane::ALL[(self.focus.index() + 1) % Pane::ALL.len()],
            Action::FocusPrev => {
                self.focus = Pane::ALL[(self.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
            }
            Action::FocusPane(n) => {
                if let Some(p) = Pane::ALL.get(usize::from(n).saturating_sub(1)) {
                    self.focus = *p;
                }
            }
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-10),
            Action::PageDown => self.move_selection(10),
            Action::First => self.move_selection(i64::MIN / 2),
            Action::Last => self.move_selection(i64::MAX / 2),
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Quit => self.ask_quit(),
            Action::Close => {}
            Action::Toggle => self.toggle_service(),
            Action::RunNow => {
                if let Some(s) = self.selected_service() {
                    let service = s.name.clone();
                    self.effects.push(Effect::Worker(WorkerCommand::RunNow {
                        service: service.clone(),
                    }));
                    self.notify(Level::Info, format!("running '{service}' now"));
                }
            }
            Action::Attach => self.open_attach_picker(),
            Action::Detach => self.ask_detach(),
            Action::SetFormatter => self.open_formatter_picker(),
            Action::SendTest => {
                if let Some(n) = self.selected_notifier() {
                    let name = n.name.clone();
                    self.effects.push(Effect::SendTest(name.clone()));
                    self.notify(Level::Info, format!("sending a test through '{name}'…"));
                }
            }
            Action::EditTemplate => self.open_editor(),
            Action::PrevAlert => self.step_alert(-1),
            Action::NextAlert => self.step_alert(1),
            Action::ToggleJson => {
                self.preview.json = !self.preview.json;
                self.refresh_preview();
            }
            Action::Details => {
                if self.focus == Pane::Deliveries
                    && let Some(record) = self.deliveries.get(self.delivery_index)
                {
                    self.overlay = Some(Overlay::Delivery {
                        record: Box::new(record.clone()),
                        scroll: 0,
                    });
                }
            }
            Action::Retry => self.retry_selected(),
            Action::Filter => {
                if self.focus == Pane::Deliveries {
                    self.overlay = Some(Overlay::Filter {
                        input: self.delivery_filter.clone(),
                    });
                }
            }
            Action::ReloadConfig => self.reload_config(),
            Action::Save | Action::Newline => {}
        }
    }

    fn move_selection(&mut self, delta: i64) {
        let step = |index: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (index as i64 + delta).clamp(0, len as i64 - 1) as usize
        };
        match self.focus {
            Pane::Services | Pane::Worker => {
                let before = self.service_index;
                self.service_index = step(self.service_index, self.config.services.len());
                if before != self.service_index {
                    self.attached_index = 0;
                    self.preview.index = 0;
                    self.refresh_preview();
                }
            }
            Pane::Attached => {
                let before = self.attached_index;
                self.attached_index = step(self.attached_index, self.attached().len());
                if before != self.attached_index {
                    self.refresh_preview();
                }
            }
            Pane::Preview => {
                self.preview.scroll = step(self.preview.scroll as usize, 10_000) as u16
            }
            Pane::Deliveries => {
                self.delivery_index = step(self.delivery_index, self.deliveries.len())
            }
        }
    }

    fn step_alert(&mut self, delta: i64) {
        let len = self.preview.alerts.len();
        if len > 0 {
            self.preview.index =
                ((self.preview.index as i64 + delta).rem_euclid(len as i64)) as usize;
            self.preview.scroll = 0;
            self.refresh_preview();
        }
    }

    fn ask_quit(&mut self) {
        let in_flight = self.store.outbox_counts().map(|c| c.sending).unwrap_or(0);
        if in_flight > 0 {
            self.overlay = Some(Overlay::Confirm(Confirm {
                message: format!(
                    "{in_flight} deliver{} in flight. Quit anyway? Unfinished rows stay queued.",
                    if in_flight == 1 { "y is" } else { "ies are" }
                ),
                yes: Pending::Quit,
            }));
        } else {
            self.effects.push(Effect::Quit);
        }
    }

    // --- changes written to the config ---------------------------------------------------

    /// Apply an edit to the config file and save it; on success reload the model. A failed save
    /// is shown, never swallowed, and the file on disk is left as it was.
    fn edit(
        &mut self,
        what: &str,
        edit: impl FnOnce(&mut ConfigFile) -> Result<(), EditError>,
    ) -> bool {
        let Some(file) = self.config_file.as_mut() else {
            self.notify(
                Level::Error,
                "the config file cannot be edited (see warnings with ?)",
            );
            return false;
        };
        let result = edit(file).and_then(|()| file.save(self.env.as_ref()));
        match result {
            Ok(()) => match config::load_with(&self.config.path, self.env.as_ref()) {
                Ok(new) => {
                    self.config = new;
                    self.notify(
                        Level::Ok,
                        format!("{what} — saved to {}", self.config.path.display()),
                    );
                    true
                }
                Err(e) => {
                    self.notify(
                        Level::Error,
                        format!("saved, but the config no longer loads: {e}"),
                    );
                    false
                }
            },
            Err(EditError::ChangedOnDisk { path }) => {
                self.overlay = Some(Overlay::Confirm(Confirm {
                    message: format!(
                        "{} changed on disk since it was read; nothing was written. Reload it (your change is dropped; make it again after)?",
                        path.display()
                    ),
                    yes: Pending::ReloadConfig,
                }));
                false
            }
            Err(e) => {
                // Drop the unsaved change so the next edit starts from the file as it is.
                let _ = file.reload();
                self.notify(
                    Level::Error,
                    format!("{what} failed: {}", one_line(&e.to_string())),
                );
                false
            }
        }
    }

    fn toggle_service(&mut self) {
        let Some(service) = self.selected_service() else {
            return;
        };
        let (name, enabled) = (service.name.clone(), !service.enabled);
        let verb = if enabled { "turned on" } else { "turned off" };
        if self.edit(&format!("'{name}' {verb}"), |f| {
            f.set_service_enabled(&name, enabled)
        }) {
            self.effects.push(Effect::Worker(WorkerCommand::SetEnabled {
                service: name,
                enabled,
            }));
        }
    }

    fn open_attach_picker(&mut self) {
        let Some(service) = self.selected_service() else {
            return;
        };
        let service_name = service.name.clone();
        let items: Vec<(String, String)> = self
            .config
            .notifiers
            .iter()
            .filter(|n| !service.notifiers.contains(&n.name))
            .map(|n| {
                (
                    n.name.clone(),
                    format!("{} → {}", n.kind.as_str(), targets_of(n)),
                )
            })
            .collect();
        if items.is_empty() {
            self.notify(
                Level::Info,
                format!("every configured notifier is attached to '{service_name}' already"),
            );
            return;
        }
        self.overlay = Some(Overlay::Picker(Picker {
            kind: PickerKind::Attach {
                service: service_name.clone(),
            },
            title: format!("Attach a notifier to '{service_name}'"),
            items,
            selected: 0,
            note: None,
        }));
    }

    fn ask_detach(&mut self) {
        let (Some(service), Some(notifier)) = (self.selected_service(), self.selected_notifier())
        else {
            return;
        };
        let last = if service.notifiers.len() == 1 {
            " It is the service's last notifier: the service stops polling until one is attached."
        } else {
            ""
        };
        self.overlay = Some(Overlay::Confirm(Confirm {
            message: format!(
                "Detach '{}' from '{}'? Rows already queued are still sent.{last}",
                notifier.name, service.name
            ),
            yes: Pending::Detach {
                service: service.name.clone(),
                notifier: notifier.name.clone(),
            },
        }));
    }

    fn open_formatter_picker(&mut self) {
        let Some(notifier) = self.selected_notifier() else {
            return;
        };
        let notifier_name = notifier.name.clone();
        let current = notifier.formatter.clone();
        let others: Vec<String> = self
            .config
            .services_using(&notifier_name)
            .into_iter()
            .filter(|s| Some(*s) != self.selected_service().map(|s| s.name.as_str()))
            .map(|s| format!("'{s}'"))
            .collect();
        let items: Vec<(String, String)> = self
            .config
            .formatters
            .iter()
            .filter(|f| {
                // A `json` template is a webhook body: Slack cannot send it.
                !(matches!(
                    notifier.kind,
                    NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. }
                ) && matches!(
                    &f.kind,
                    FormatterKind::Template {
                        output: config::TemplateOutput::Json,
                        ..
                    }
                ))
            })
            .map(|f| {
                let mark = if current.as_deref() == Some(f.name.as_str()) {
                    " (current)"
                } else {
                    ""
                };
                (f.name.clone(), format!("{}{mark}", f.kind.as_str()))
            })
            .collect();
        let selected = items
            .iter()
            .position(|(n, _)| current.as_deref() == Some(n.as_str()))
            .unwrap_or(0);
        self.overlay = Some(Overlay::Picker(Picker {
            kind: PickerKind::Formatter {
                notifier: notifier_name.clone(),
            },
            title: format!("Formatter for '{notifier_name}'"),
            items,
            selected,
            note: (!others.is_empty()).then(|| {
                format!(
                    "'{notifier_name}' is also used by {}: they change too",
                    others.join(", ")
                )
            }),
        }));
    }

    fn retry_selected(&mut self) {
        if self.focus != Pane::Deliveries {
            return;
        }
        let Some(record) = self.deliveries.get(self.delivery_index) else {
            return;
        };
        match (record.result, record.row_id) {
            (AttemptResult::Failed, Some(row_id)) => {
                self.effects
                    .push(Effect::Worker(WorkerCommand::RetryRow { row_id }));
                self.notify(Level::Info, format!("row {row_id} queued again"));
            }
            (AttemptResult::Failed, None) => self.notify(
                Level::Info,
                "a test message cannot be retried; send a new one with t",
            ),
            _ => self.notify(Level::Info, "only a failed delivery can be retried"),
        }
    }

    fn reload_config(&mut self) {
        match config::load_with(&self.config.path, self.env.as_ref()) {
            Ok(new) => {
                if let Some(file) = self.config_file.as_mut() {
                    let _ = file.reload();
                }
                self.config = new;
                self.clamp_selection();
                self.refresh_preview();
                self.effects.push(Effect::RestartWorker);
                self.notify(
                    Level::Ok,
                    format!("reloaded {}", self.config.path.display()),
                );
            }
            Err(e) => self.notify(
                Level::Error,
                format!("not reloaded: {}", one_line(&e.to_string())),
            ),
        }
    }

    fn clamp_selection(&mut self) {
        self.service_index = self
            .service_index
            .min(self.config.services.len().saturating_sub(1));
        self.attached_index = self
            .attached_index
            .min(self.attached().len().saturating_sub(1));
    }

    // --- overlays ------------------------------------------------------------------------

    fn on_overlay_key(&mut self, key: KeyEvent) {
        let Some(overlay) = self.overlay.take() else {
            return;
        };
        let esc = key.code == KeyCode::Esc;
        match overlay {
            Overlay::Help { scroll } => {
                self.overlay = match key.code {
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => None,
                    KeyCode::Down | KeyCode::Char('j') => Some(Overlay::Help {
                        scroll: scroll.saturating_add(1),
                    }),
                    KeyCode::Up | KeyCode::Char('k') => Some(Overlay::Help {
                        scroll: scroll.saturating_sub(1),
                    }),
                    KeyCode::PageDown => Some(Overlay::Help {
                        scroll: scroll.saturating_add(10),
                    }),
                    KeyCode::PageUp => Some(Overlay::Help {
                        scroll: scroll.saturating_sub(10),
                    }),
                    _ => Some(Overlay::Help { scroll }),
                };
            }
            Overlay::Delivery { record, scroll } => {
                self.overlay = match key.code {
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => None,
                    KeyCode::Down | KeyCode::Char('j') => Some(Overlay::Delivery {
                        record,
                        scroll: scroll.saturating_add(1),
                    }),
                    KeyCode::Up | KeyCode::Char('k') => Some(Overlay::Delivery {
                        record,
                        scroll: scroll.saturating_sub(1),
                    }),
                    KeyCode::PageDown => Some(Overlay::Delivery {
                        record,
                        scroll: scroll.saturating_add(10),
                    }),
                    KeyCode::PageUp => Some(Overlay::Delivery {
                        record,
                        scroll: scroll.saturating_sub(10),
                    }),
                    _ => Some(Overlay::Delivery { record, scroll }),
                };
            }
            Overlay::Picker(mut picker) => match key.code {
                KeyCode::Esc => {}
                KeyCode::Up | KeyCode::Char('k') => {
                    picker.selected = picker.selected.saturating_sub(1);
                    self.overlay = Some(Overlay::Picker(picker));
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    picker.selected =
                        (picker.selected + 1).min(picker.items.len().saturating_sub(1));
                    self.overlay = Some(Overlay::Picker(picker));
                }
                KeyCode::Enter => self.pick(picker),
                _ => self.overlay = Some(Overlay::Picker(picker)),
            },
            Overlay::Confirm(confirm) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    self.confirmed(confirm.yes)
                }
                _ if esc => {}
                KeyCode::Char('n') | KeyCode::Char('N') => {}
                _ => self.overlay = Some(Overlay::Confirm(confirm)),
            },
            Overlay::Filter { mut input } => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    self.delivery_filter = input.trim().to_string();
                    self.delivery_index = 0;
                    self.reload_deliveries();
                }
                KeyCode::Backspace => {
                    input.pop();
                    self.overlay = Some(Overlay::Filter { input });
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.push(c);
                    self.overlay = Some(Overlay::Filter { input });
                }
                _ => self.overlay = Some(Overlay::Filter { input }),
            },
        }
    }

    fn pick(&mut self, picker: Picker) {
        let Some((value, _)) = picker.items.get(picker.selected).cloned() else {
            return;
        };
        match picker.kind {
            PickerKind::Attach { service } => {
                if self.edit(&format!("'{value}' attached to '{service}'"), |f| {
                    f.attach_notifier(&service, &value)
                }) {
                    self.attached_index = self.attached().len().saturating_sub(1);
                    self.refresh_preview();
                    self.effects.push(Effect::RestartWorker);
                }
            }
            PickerKind::Formatter { notifier } => {
                if self.edit(&format!("'{notifier}' now formats with '{value}'"), |f| {
                    f.set_formatter(&notifier, &value)
                }) {
                    self.refresh_preview();
                    self.effects.push(Effect::RestartWorker);
                }
            }
        }
    }

    fn confirmed(&mut self, pending: Pending) {
        match pending {
            Pending::Detach { service, notifier } => {
                if self.edit(&format!("'{notifier}' detached from '{service}'"), |f| {
                    f.detach_notifier(&service, &notifier)
                }) {
                    self.clamp_selection();
                    self.refresh_preview();
                    self.effects.push(Effect::RestartWorker);
                }
            }
            Pending::Quit => self.effects.push(Effect::Quit),
            Pending::LeaveEditor => {
                self.editor = None;
                self.refresh_preview();
            }
            Pending::ReloadConfig => self.reload_config(),
        }
    }

    // --- the template editor ---------------------------------------------------------------

    fn open_editor(&mut self) {
        let Some(notifier) = self.selected_notifier() else {
            self.notify(Level::Info, "select a notifier in Attached first");
            return;
        };
        let Some(formatter_name) = notifier.formatter.clone() else {
            self.notify(
                Level::Info,
                format!(
                    "'{}' uses a built-in formatter; pick a template formatter with f",
                    notifier.name
                ),
            );
            return;
        };
        let Some(formatter) = self.config.formatter(&formatter_name).cloned() else {
            return;
        };
        let FormatterKind::Template { output, template } = &formatter.kind else {
            self.notify(
                Level::Info,
                format!(
                    "'{formatter_name}' is a `{}` formatter; only templates are edited here",
                    formatter.kind.as_str()
                ),
            );
            return;
        };
        if let Some(reason) = self.read_only.clone() {
            self.notify(
                Level::Warn,
                format!(
                    "read-only: {reason}; the template opens for viewing, Ctrl-S will not save"
                ),
            );
        }
        self.editor = Some(Editor::new(&formatter_name, *output, template, &self.theme));
        self.after_edit();
    }

    /// Re-render the preview from the editor's text in this same update step. A template that
    /// does not compile or render keeps the last good preview and shows the error.
    fn after_edit(&mut self) {
        self.refresh_preview();
        self.dirty = true;
    }

    fn save_template(&mut self) {
        if let Some(reason) = &self.read_only {
            self.notify(
                Level::Warn,
                format!("read-only: {reason}; nothing was saved"),
            );
            return;
        }
        let Some(editor) = &self.editor else { return };
        if let Some(error) = &editor.error {
            self.notify(
                Level::Error,
                format!("not saved: the template has an error — {error}"),
            );
            return;
        }
        let (name, text) = (editor.formatter.clone(), editor.text());
        if self.edit(&format!("template '{name}'"), |f| {
            f.set_template(&name, &text)
        }) {
            if let Some(editor) = &mut self.editor {
                editor.mark_saved();
            }
            self.effects.push(Effect::RestartWorker);
        }
    }

    fn leave_editor(&mut self) {
        let unsaved = self.editor.as_ref().is_some_and(|e| e.is_modified());
        if unsaved {
            self.overlay = Some(Overlay::Confirm(Confirm {
                message: "The template has unsaved changes. Leave and drop them?".into(),
                yes: Pending::LeaveEditor,
            }));
        } else {
            self.editor = None;
            self.refresh_preview();
        }
    }

    // --- data from the worker and the store ------------------------------------------------

    fn on_worker(&mut self, event: WorkerEvent) {
        self.dirty = true;
        match event {
            WorkerEvent::RunStarted { service, .. } => {
                let r = self.runtime.entry(service).or_default();
                r.state = Some(ServiceState::Polling);
                r.progress = None;
            }
            WorkerEvent::Fetched { service, count } => {
                self.runtime.entry(service).or_default().fetched += count as u64;
            }
            WorkerEvent::NewAlerts { service, count } => {
                self.runtime.entry(service).or_default().new_alerts += count as u64;
            }
            WorkerEvent::Queued { service, queued } => {
                self.runtime.entry(service.clone()).or_default().queued += queued.rows as u64;
                self.refresh_outbox();
                if queued.rows > 0 && self.selected_service().is_some_and(|s| s.name == service) {
                    self.refresh_preview();
                }
            }
            WorkerEvent::RunFinished {
                service,
                at,
                result,
                ..
            } => {
                let r = self.runtime.entry(service).or_default();
                r.last_run_at = Some(at);
                r.progress = None;
                r.last_result = Some(match result {
                    Ok(q) => Ok(format!("{} new, {} queued", q.alerts, q.rows)),
                    Err(e) => Err(e),
                });
            }
            WorkerEvent::ServiceState {
                service,
                state,
                next_run,
            } => {
                let r = self.runtime.entry(service).or_default();
                r.state = Some(state);
                r.next_run = next_run;
            }
            WorkerEvent::Progress { service, progress } => {
                self.runtime.entry(service).or_default().progress =
                    Some((progress.what, progress.done, progress.total));
            }
            WorkerEvent::Delivery(d) => {
                let r = self.runtime.entry(d.service.clone()).or_default();
                match d.result {
                    AttemptResult::Delivered => r.sent += 1,
                    AttemptResult::Failed => r.failed += 1,
                    _ => {}
                }
                // Read once per frame, not once per event: a burst of thousands of deliveries
                // costs one query.
                self.deliveries_stale = true;
            }
            WorkerEvent::RowRequeued { .. } => self.deliveries_stale = true,
            WorkerEvent::Warning { message } => self.notify(Level::Warn, message),
            WorkerEvent::Stopped => {}
        }
    }

    /// A test send finished: one line per target.
    pub fn test_finished(
        &mut self,
        notifier: &str,
        results: Vec<(String, Result<String, Reason>)>,
    ) {
        let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(t, r)| r.as_ref().err().map(|e| format!("{t}: {e}")))
            .collect();
        if failed.is_empty() {
            self.notify(
                Level::Ok,
                format!("test through '{notifier}': ok to {ok} target(s)"),
            );
        } else {
            self.notify(
                Level::Error,
                format!(
                    "test through '{notifier}': {ok} ok, {} failed — {}",
                    failed.len(),
                    failed.join("; ")
                ),
            );
        }
        self.load_new_deliveries();
        self.dirty = true;
    }

    fn load_runs(&mut self) {
        if let Ok(runs) = self.store.last_runs() {
            for run in runs {
                let r = self.runtime.entry(run.service.clone()).or_default();
                r.last_run_at = Some(run.started_at);
                r.last_result = Some(match run.error {
                    Some(e) => Err(e),
                    None => Ok(format!("{} new, {} queued", run.new_alerts, run.queued)),
                });
            }
        }
    }

    fn filter(&self) -> DeliveryFilter {
        DeliveryFilter {
            limit: DELIVERY_WINDOW,
            result: None,
            text: (!self.delivery_filter.is_empty()).then(|| self.delivery_filter.clone()),
            after_id: None,
        }
    }

    fn refresh_outbox(&mut self) {
        if let Ok(counts) = self.store.outbox_counts()
            && counts != self.outbox
        {
            self.outbox = counts;
            self.dirty = true;
        }
    }

    /// Read the newest deliveries again (a filter changed, or at start).
    pub fn reload_deliveries(&mut self) {
        self.refresh_outbox();
        match self.store.deliveries(&self.filter()) {
            Ok(list) => self.deliveries = list,
            Err(e) => self.notify(Level::Error, format!("cannot read deliveries: {e}")),
        }
        self.delivery_index = self
            .delivery_index
            .min(self.deliveries.len().saturating_sub(1));
        self.dirty = true;
    }

    /// Add deliveries newer than the newest shown, keeping the selection on the same line.
    pub fn load_new_deliveries(&mut self) {
        self.refresh_outbox();
        let after = self.deliveries.first().map(|d| d.id);
        let filter = DeliveryFilter {
            after_id: after,
            ..self.filter()
        };
        if let Ok(mut new) = self.store.deliveries(&filter)
            && !new.is_empty()
        {
            if self.delivery_index > 0
                || self.focus == Pane::Deliveries && !self.deliveries.is_empty()
            {
                self.delivery_index += new.len();
            }
            new.append(&mut self.deliveries);
            new.truncate(DELIVERY_WINDOW);
            self.deliveries = new;
            self.delivery_index = self
                .delivery_index
                .min(self.deliveries.len().saturating_sub(1));
            self.dirty = true;
        }
    }

    /// The process that owned the state file stopped and this console took it over: changes
    /// are allowed again and the worker runs here.
    pub fn take_ownership(&mut self, store: Store) {
        self.read_only = None;
        self.store = store;
        match ConfigFile::open(&self.config.path) {
            Ok(f) => self.config_file = Some(f),
            Err(e) => self
                .warnings
                .push(format!("the config cannot be edited: {e}")),
        }
        self.notify(
            Level::Ok,
            "no longer read-only: the process that owned the state file stopped; this console now runs the worker",
        );
        self.dirty = true;
    }

    /// Read the Slack resolution cache again (names for mentions, ids for the JSON view).
    pub fn refresh_slack_cache(&mut self) {
        if let Ok(names) = self.store.slack_names() {
            self.slack_names = names;
        }
        if let Ok(destinations) = self.store.slack_destinations() {
            self.slack_destinations = destinations;
        }
    }

    /// Bring what the worker reported since the last frame in from the state file. The event
    /// loop calls this once before each frame (drawing itself never reads the store).
    pub fn before_draw(&mut self) {
        if std::mem::take(&mut self.deliveries_stale) {
            self.load_new_deliveries();
        }
    }

    /// Read-only consoles get no events: look at the state file now and then.
    pub fn poll_store(&mut self) {
        self.load_new_deliveries();
        let before: Vec<_> = self.runtime.values().map(|r| r.last_run_at).collect();
        self.load_runs();
        let after: Vec<_> = self.runtime.values().map(|r| r.last_run_at).collect();
        if before != after {
            self.dirty = true;
        }
    }

    /// Recompute the preview for the selected service and notifier (or the editor's text).
    pub fn refresh_preview(&mut self) {
        let service = self.selected_service().cloned();
        let notifier = self.selected_notifier().cloned();
        let threatq = self.config.threatq.as_ref().map(|t| t.url.to_string());
        let alerts = match &service {
            Some(s) => {
                let real = self.store.recent_alerts(&s.name, 20).unwrap_or_default();
                if real.is_empty() {
                    self.preview.samples = true;
                    preview::sample_alerts(&s.name, s.kind.notification_type(), threatq.as_deref())
                } else {
                    self.preview.samples = false;
                    real
                }
            }
            None => {
                self.preview.samples = true;
                preview::sample_alerts("preview", NotificationType::Test, threatq.as_deref())
            }
        };
        if alerts.len() != self.preview.alerts.len() {
            self.preview.index = self.preview.index.min(alerts.len().saturating_sub(1));
        }
        self.preview.alerts = alerts;
        let width = layout::preview_width(self);
        preview::refresh(self, notifier.as_ref(), width);
        self.dirty = true;
    }

    /// The alert the preview shows.
    pub fn preview_alert(&self) -> Option<&Alert> {
        self.preview.alerts.get(self.preview.index)
    }

    pub fn editor_env(&self) -> &dyn Environment {
        self.env.as_ref()
    }

    /// For the preview module: the Text it drew, and the JSON.
    pub fn set_preview_output(&mut self, text: Text<'static>, json: String, error: Option<String>) {
        self.preview.text = text;
        self.preview.json_text = json;
        self.preview.error = error;
    }
}

/// Texts that depend on the clock, at the granularity they are shown: when these do not change,
/// a tick draws nothing (no bytes to an idle SSH link).
fn clock_key(app: &App, now: DateTime<Utc>) -> Vec<String> {
    let mut key: Vec<String> = app
        .runtime
        .values()
        .flat_map(|r| {
            [
                r.last_run_at.map(|t| ago(now, t)),
                r.next_run.map(|t| until(now, t)),
            ]
        })
        .flatten()
        .collect();
    key.extend(app.deliveries.iter().take(50).map(|d| ago(now, d.at)));
    key
}

/// `12s ago`, `4m ago`, `3h ago`, `2d ago`.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// `in 12s`, `in 4m`, `due`.
pub fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (then - now).num_seconds();
    match secs {
        s if s <= 0 => "due".into(),
        s if s < 60 => format!("in {s}s"),
        s if s < 3600 => format!("in {}m", s / 60),
        s => format!("in {}h", s / 3600),
    }
}

fn targets_of(n: &config::NotifierConfig) -> String {
    match &n.kind {
        NotifierKind::Slack {
            channels, users, ..
        } => {
            let mut all: Vec<String> = channels.clone();
            all.extend(users.iter().cloned());
            all.join(", ")
        }
        NotifierKind::SlackWebhook { .. } => "incoming webhook".into(),
        NotifierKind::Webhook { .. } => "webhook".into(),
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A warning when the config (which names secret sources, maybe secrets) is readable by others.
fn world_readable(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "{} is readable by other users (mode {:o}); `chmod 600` it",
            path.display(),
            mode & 0o777
        )
    })
}

/// How long the event loop waits between store polls when read-only.
pub const READ_ONLY_POLL: Duration = Duration::from_secs(2);
