//! The console's embedded worker, kept off the UI loop (STYLE.md habit 5): a task owns the
//! `WorkerHandle`, forwards its events to the console, takes commands, and rebuilds the worker
//! when the config changed (building the new one first, so a config that cannot run leaves the
//! old worker running).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::notifier::Reason;
use crate::store::Store;
use crate::worker::{TestResult, Worker, WorkerCommand, WorkerEvent, WorkerHandle};

/// What the console hears from the link.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    Worker(WorkerEvent),
    /// A test send finished: per target, the Slack `ts` (or "ok") or why it failed.
    TestDone {
        notifier: String,
        results: Vec<(String, Result<String, Reason>)>,
    },
    /// The worker could not be (re)built from the config.
    Problem(String),
}

enum LinkCommand {
    Worker(WorkerCommand),
    Restart(Box<Config>),
    SendTest(String),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct WorkerLink {
    tx: mpsc::UnboundedSender<LinkCommand>,
}

impl WorkerLink {
    /// Start the worker for `config` on `store`; events arrive on the returned receiver.
    pub fn start(config: Config, store: Store) -> (WorkerLink, mpsc::UnboundedReceiver<LinkEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(config, store, rx, events_tx));
        (WorkerLink { tx }, events_rx)
    }

    pub fn send(&self, command: WorkerCommand) {
        let _ = self.tx.send(LinkCommand::Worker(command));
    }

    pub fn restart(&self, config: Config) {
        let _ = self.tx.send(LinkCommand::Restart(Box::new(config)));
    }

    pub fn send_test(&self, notifier: &str) {
        let _ = self.tx.send(LinkCommand::SendTest(notifier.to_string()));
    }

    /// Stop the worker (in-flight calls get the grace period) and wait for it.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(LinkCommand::Shutdown(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

fn start_worker(
    config: &Config,
    store: &Store,
    events: &mpsc::UnboundedSender<LinkEvent>,
) -> Option<WorkerHandle> {
    let worker = match Worker::from_config(config, store.clone()) {
        Ok(w) => w,
        Err(e) => {
            let _ = events.send(LinkEvent::Problem(format!("the worker cannot start: {e}")));
            return None;
        }
    };
    let mut rx = worker.subscribe();
    let forward = events.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(WorkerEvent::Stopped) => break,
                Ok(event) => {
                    if forward.send(LinkEvent::Worker(event)).is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
    match worker.start() {
        Ok(handle) => Some(handle),
        Err(e) => {
            let _ = events.send(LinkEvent::Problem(format!("the worker cannot start: {e}")));
            None
        }
    }
}

async fn supervise(
    mut config: Config,
    store: Store,
    mut commands: mpsc::UnboundedReceiver<LinkCommand>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    let mut handle = start_worker(&config, &store, &events);
    while let Some(command) = commands.recv().await {
        match command {
            LinkCommand::Worker(c) => {
                if let Some(h) = &handle {
                    h.send(c);
                }
            }
            LinkCommand::Restart(new) => {
                // Build first: a config that cannot run must not stop the one that can.
                if let Err(e) = crate::worker::from_config::build(&new) {
                    let _ =
                        events.send(LinkEvent::Problem(format!("kept the running worker: {e}")));
                    continue;
                }
                if let Some(h) = handle.take() {
                    h.shutdown().await;
                }
                config = *new;
                handle = start_worker(&config, &store, &events);
            }
            LinkCommand::SendTest(name) => {
                let built = crate::worker::from_config::build_with_store(&config, Some(&store));
                let events = events.clone();
                let store = store.clone();
                tokio::spawn(async move {
                    let results = match built.map(|b| b.notifiers.get(&name).cloned()) {
                        Ok(Some(notifier)) => {
                            crate::worker::send_test(notifier.as_ref(), Some(&store))
                                .await
                                .into_iter()
                                .map(|r| {
                                    let result = match r.result {
                                        TestResult::Delivered { receipt } => {
                                            Ok(receipt.map(|r| r.ts).unwrap_or_else(|| "ok".into()))
                                        }
                                        TestResult::Failed { reason, .. } => Err(reason),
                                    };
                                    (r.target, result)
                                })
                                .collect()
                        }
                        Ok(None) => vec![(name.clone(), Err(Reason::new("unknown notifier")))],
                        Err(e) => vec![(
                            name.clone(),
                            Err(Reason::new("cannot build").detail(e.to_string())),
                        )],
                    };
                    let _ = events.send(LinkEvent::TestDone {
                        notifier: name,
                        results,
                    });
                });
            }
            LinkCommand::Shutdown(done) => {
                if let Some(h) = handle.take() {
                    h.shutdown().await;
                }
                let _ = done.send(());
                return;
            }
        }
    }
    if let Some(h) = handle.take() {
        h.shutdown().await;
    }
}

/// Shared so the console can hand the link to signal handlers.
pub type SharedLink = Arc<WorkerLink>;
