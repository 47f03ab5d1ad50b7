//! `run`: the headless worker under systemd — one owner of the state file, logs to a file,
//! SIGHUP reloads the config, SIGTERM/SIGINT stop within the grace period of in-flight calls.
//! `run --once` polls once, sends what is due and exits.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::{self, Config, ProcessEnv};
use crate::headless::{Verbosity, print_events};
use crate::logging;
use crate::store::{StateLock, Store};
use crate::worker::Worker;

/// Open the state file as its one owner.
pub fn own_state(config: &Config) -> anyhow::Result<(StateLock, Store)> {
    let path = config.state.resolved_path();
    let lock = StateLock::acquire(&path)?;
    let store = Store::open(&path)?;
    Ok((lock, store))
}

pub fn run(config: Config, once: bool) -> anyhow::Result<ExitCode> {
    let state = config.state.resolved_path();
    let log = logging::init(&state)
        .with_context(|| format!("cannot open the log beside {}", state.display()))?;
    let (_lock, store) = own_state(&config)?;
    tracing::info!(config = %config.path.display(), state = %state.display(), once, "starting");
    let runtime = tokio::runtime::Runtime::new()?;
    let code = runtime.block_on(async move {
        if once {
            run_once(config, store).await
        } else {
            run_forever(config, store).await
        }
    })?;
    tracing::info!(log = %log.display(), "stopped");
    Ok(code)
}

async fn run_once(config: Config, store: Store) -> anyhow::Result<ExitCode> {
    let config_notifiers: Vec<String> = config.notifiers.iter().map(|n| n.name.clone()).collect();
    let worker = Worker::from_config(&config, store)?;
    let printer = print_events(worker.subscribe(), Verbosity::Deliveries);
    let report = worker.run_once().await?;
    let _ = printer.await;
    println!(
        "done: {} delivered, {} failed, {} still queued",
        report.delivered,
        report.failed.len(),
        report.still_queued
    );
    for (id, notifier, target, next) in &report.queued_rows {
        if config_notifiers.iter().any(|n| n == notifier) {
            println!(
                "  row {id} to {notifier} → {target} waits until {} (stays queued)",
                next.with_timezone(&chrono::Local).format("%H:%M:%S")
            );
        } else {
            println!(
                "  row {id} to {notifier} → {target} stays queued: notifier '{notifier}' is not in the config"
            );
        }
    }
    let _ = std::io::stdout().flush();
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_forever(mut config: Config, store: Store) -> anyhow::Result<ExitCode> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    loop {
        let worker = Worker::from_config(&config, store.clone())?;
        let printer = print_events(worker.subscribe(), Verbosity::Quiet);
        let handle = worker.start()?;
        println!(
            "running {} service(s) from {}; state {}",
            config.services.iter().filter(|s| s.enabled).count(),
            config.path.display(),
            store.path().display()
        );
        let reload = tokio::select! {
            _ = hangup.recv() => true,
            _ = terminate.recv() => false,
            _ = interrupt.recv() => false,
        };
        if reload {
            match config::load_with(&config.path, &ProcessEnv) {
                Ok(new) => match crate::worker::from_config::build(&new) {
                    Ok(_) => {
                        println!("SIGHUP: reloading {}", new.path.display());
                        tracing::info!("reloading the config");
                        config = new;
                    }
                    Err(e) => {
                        eprintln!("SIGHUP: not reloading, the new config cannot run: {e}");
                        tracing::error!(error = %e, "reload refused");
                    }
                },
                Err(e) => {
                    eprintln!("SIGHUP: not reloading, the config has errors:\n{e}");
                    tracing::error!(error = %e, "reload refused");
                }
            }
        }
        handle.shutdown().await;
        let _ = printer.await;
        if !reload {
            println!("stopped; unfinished rows stay queued");
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// `status [--json] [--retry ID|all]`
pub fn status(config: Config, json: bool, retry: Option<&str>) -> anyhow::Result<ExitCode> {
    let path = config.state.resolved_path();
    if !path.exists() {
        eprintln!(
            "no state file at {} yet: start the worker with `tq-alerts-tui run` (or the console)",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if let Some(which) = retry {
        let store = Store::open(&path)?;
        let n = if which == "all" {
            store.retry_failed()?
        } else {
            let id: i64 = which
                .parse()
                .map_err(|_| anyhow::anyhow!("--retry takes a row id or `all`, not `{which}`"))?;
            if store.retry_row(id)? {
                1
            } else {
                anyhow::bail!("row {id} is not a failed row");
            }
        };
        match crate::commands::status::owner(&path) {
            Some(pid) => println!(
                "{n} row(s) queued again; the running worker (pid {pid}) sends them within 30 s"
            ),
            None => println!(
                "{n} row(s) queued again; no worker is running: `tq-alerts-tui run` (or the console) sends them"
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let store = Store::open_read_only(&path)?;
    let status = crate::commands::status::gather(&config, &store, chrono::Utc::now())?;
    if json {
        // Same JSON, with nothing in it a terminal would obey.
        println!(
            "{}",
            crate::text::json_for_terminal(&serde_json::to_string_pretty(&status)?)
        );
    } else {
        print!("{}", crate::commands::status::render(&status));
    }
    Ok(if status.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
