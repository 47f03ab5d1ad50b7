//! The console (PRODUCT.md §8): panes over the embedded worker, run over SSH. One event loop
//! takes keys, worker events, ticks and signals; `App::update` changes state; the screen is
//! drawn only when something changed, at most every ~30 ms, inside synchronized output, so an
//! idle console writes nothing to the link.

pub mod app;
pub mod editor;
pub mod keymap;
pub mod layout;
pub mod panes;
pub mod preview;
pub mod terminal;
pub mod theme;
mod view;
pub mod worker_link;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::execute;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use crate::config::{Config, Environment};
use crate::store::{LockError, StateLock, Store};

use app::{App, Effect, Event};
use worker_link::{LinkEvent, WorkerLink};

/// When the process started (set first thing in `main`), for the start-up-to-first-frame figure.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Note the process start; `main` calls this before anything else.
pub fn mark_start() {
    let _ = STARTED.set(std::time::Instant::now());
}

/// Frames are at least this far apart: bursts of events coalesce into one frame.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(30);

/// How the console was asked to start.
pub struct ConsoleOptions {
    pub config: Config,
    /// `--theme`, over `ui.theme`.
    pub theme: Option<String>,
    /// `--no-color` or `NO_COLOR`: the `mono` theme.
    pub no_color: bool,
    /// `--read-only`, over `ui.read_only`.
    pub read_only: bool,
    pub env: Arc<dyn Environment + Send + Sync>,
}

/// Pick the theme: `--no-color`/`NO_COLOR` → mono, else `--theme`, else `ui.theme`.
pub fn choose_theme(options: &ConsoleOptions) -> (theme::Theme, Option<String>) {
    let no_color = options.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        return (theme::Theme::mono(), None);
    }
    let name = options
        .theme
        .clone()
        .unwrap_or_else(|| options.config.ui.theme.clone());
    theme::load(&name, &theme::Sources::standard())
}

/// Open the state: as its owner (the worker runs here), or read-only when another process owns
/// it or the operator asked.
pub fn open_state(
    options: &ConsoleOptions,
) -> anyhow::Result<(Option<StateLock>, Store, Option<String>)> {
    let path = options.config.state.resolved_path();
    if options.read_only || options.config.ui.read_only {
        let reason = if options.read_only {
            "--read-only"
        } else {
            "ui.read_only in the config"
        };
        let store = if path.exists() {
            Store::open_read_only(&path)?
        } else {
            Store::open(&path)?
        };
        return Ok((None, store, Some(reason.to_string())));
    }
    match StateLock::acquire(&path) {
        Ok(lock) => Ok((Some(lock), Store::open(&path)?, None)),
        Err(LockError::Held { pid, .. }) => Ok((
            None,
            Store::open_read_only(&path)?,
            Some(format!(
                "another tq-alerts-tui (pid {pid}) owns the state file"
            )),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Run the console until the operator quits or a signal says to stop.
pub async fn run(options: ConsoleOptions) -> anyhow::Result<()> {
    let (_lock, store, read_only) = open_state(&options)?;
    crate::logging::init(store.path())?;
    let (theme, theme_warning) = choose_theme(&options);
    let size = crossterm::terminal::size().unwrap_or((120, 40));
    let mouse = options.config.ui.mouse;
    let mut app = App::new(
        options.config.clone(),
        store.clone(),
        theme,
        read_only.clone(),
        options.env.clone(),
        size,
    );
    if let Some(w) = theme_warning {
        app.warnings.push(w.clone());
        app.notice = Some(app::Notice {
            text: w,
            level: app::Level::Warn,
        });
    }
    let can_take_over = read_only.is_some() && !options.read_only && !options.config.ui.read_only;
    let mut ownership = Ownership {
        lock: _lock,
        link: None,
        events: None,
        can_take_over,
    };
    if read_only.is_none() {
        ownership.start_worker(&app);
    }

    let guard = terminal::TerminalGuard::enter(mouse)?;
    let result = event_loop(&mut app, &mut ownership).await;
    if let Some(link) = &ownership.link {
        link.shutdown().await;
    }
    drop(guard);
    result
}

/// The state file and the worker, as far as this console owns them.
struct Ownership {
    lock: Option<StateLock>,
    link: Option<WorkerLink>,
    events: Option<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>>,
    /// Read-only only because another process owned the state: take over when it stops.
    can_take_over: bool,
}

impl Ownership {
    fn start_worker(&mut self, app: &App) {
        let (link, events) = WorkerLink::start(app.config.clone(), app.store.clone());
        self.link = Some(link);
        self.events = Some(events);
    }

    /// When the process that owned the state has stopped, own it: open it for writing, make
    /// the console editable and run the worker here.
    fn try_take_over(&mut self, app: &mut App) {
        if !self.can_take_over || self.lock.is_some() {
            return;
        }
        let path = app.config.state.resolved_path();
        let Ok(lock) = StateLock::acquire(&path) else {
            return;
        };
        match Store::open(&path) {
            Ok(store) => {
                self.lock = Some(lock);
                self.can_take_over = false;
                app.take_ownership(store);
                self.start_worker(app);
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the state file for writing"),
        }
    }
}

async fn event_loop(app: &mut App, ownership: &mut Ownership) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let mut input = EventStream::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut last_draw: Option<Instant> = None;
    let mut last_poll = Instant::now();

    loop {
        if app.dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME_INTERVAL) {
            draw(&mut terminal, app)?;
            if last_draw.is_none()
                && let Some(started) = STARTED.get()
            {
                tracing::info!(
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    "first frame drawn"
                );
            }
            last_draw = Some(Instant::now());
        }
        let next_frame = last_draw
            .map(|t| t + FRAME_INTERVAL)
            .unwrap_or_else(Instant::now);
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => on_terminal_event(app, event),
                // The terminal is gone (a dropped SSH link): stop cleanly.
                Some(Err(_)) | None => app.update(Event::Terminate),
            },
            Some(event) = recv(&mut ownership.events) => on_link_event(app, event),
            _ = ticker.tick() => {
                app.update(Event::Tick(chrono::Utc::now()));
                if app.read_only.is_some() && last_poll.elapsed() >= app::READ_ONLY_POLL {
                    app.poll_store();
                    ownership.try_take_over(app);
                    last_poll = Instant::now();
                }
            }
            _ = hangup.recv() => app.update(Event::Terminate),
            _ = terminate.recv() => app.update(Event::Terminate),
            _ = interrupt.recv() => app.update(Event::Terminate),
            _ = tokio::time::sleep_until(next_frame), if app.dirty => {}
        }
        // Coalesce worker events that are already waiting. Terminal input is not drained
        // here: polling crossterm's stream outside the select would leave it without a waker
        // for the next key; the frame interval below coalesces key bursts instead.
        if let Some(rx) = ownership.events.as_mut() {
            while let Ok(event) = rx.try_recv() {
                on_link_event(app, event);
            }
        }
        for effect in app.take_effects() {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Worker(command) => match &ownership.link {
                    Some(link) => link.send(command),
                    None => app.update(Event::Worker(crate::worker::WorkerEvent::Warning {
                        message: "read-only: no worker runs in this console".into(),
                    })),
                },
                Effect::RestartWorker => {
                    if let Some(link) = &ownership.link {
                        link.restart(app.config.clone());
                    }
                }
                Effect::SendTest(notifier) => {
                    if let Some(link) = &ownership.link {
                        link.send_test(&notifier);
                    }
                }
            }
        }
    }
}

async fn recv(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>>,
) -> Option<LinkEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn on_terminal_event(app: &mut App, event: TermEvent) {
    match event {
        TermEvent::Key(key) => app.update(Event::Key(key)),
        TermEvent::Paste(text) => app.update(Event::Paste(text)),
        TermEvent::Resize(w, h) => app.update(Event::Resize(w, h)),
        _ => {}
    }
}

fn on_link_event(app: &mut App, event: LinkEvent) {
    match event {
        LinkEvent::Worker(e) => app.update(Event::Worker(e)),
        LinkEvent::TestDone { notifier, results } => app.test_finished(&notifier, results),
        LinkEvent::Problem(message) => {
            app.update(Event::Worker(crate::worker::WorkerEvent::Warning {
                message,
            }))
        }
    }
}

fn draw(terminal: &mut Terminal<CrosstermBackend<io::Stdout>>, app: &mut App) -> io::Result<()> {
    app.before_draw();
    let mut out = io::stdout();
    execute!(out, BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(|frame| frame.render_widget(&*app, frame.area()));
    execute!(out, EndSynchronizedUpdate)?;
    out.flush()?;
    drawn?;
    app.dirty = false;
    Ok(())
}
