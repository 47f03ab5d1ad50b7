//! The worker (the seed's `TQServiceWorker`): polls every enabled service on its interval and
//! drains the outbox through the notifiers, with pacing per target and the retry policy of
//! PRODUCT.md §7.1. It tells any number of subscribers what it does (`WorkerEvent`) and takes
//! commands (`WorkerCommand`) from the console and the signal handlers.

pub mod events;
pub mod from_config;
pub mod pacer;
pub mod retry;
mod scheduler;
mod send_test;
mod sender;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

use crate::notifier::Notifier;
use crate::service::Service;
use crate::store::{RowStatus, Store, StoreError};

pub use events::{DeliveryEvent, ServiceState, WorkerCommand, WorkerEvent};
pub use send_test::{TEST_SERVICE, TargetResult, TestResult, sample_alert, send_test};

/// How long in-flight HTTP calls get to finish when the worker stops (PRODUCT.md §7.1).
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// `run --once` keeps sending while something is due within this horizon.
pub const ONCE_HORIZON: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Deliveries, finished rows and snapshots older than this are pruned (hourly).
    pub retention: Duration,
    /// In-flight calls get this long to finish on shutdown.
    pub shutdown_grace: Duration,
    /// At most this many targets are sent to at the same time.
    pub max_parallel_sends: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 24 * 3600),
            shutdown_grace: SHUTDOWN_GRACE,
            max_parallel_sends: 32,
        }
    }
}

/// State shared by the worker's tasks.
pub(crate) struct Shared {
    pub store: Store,
    pub events: broadcast::Sender<WorkerEvent>,
    pub notifiers: RwLock<BTreeMap<String, Arc<dyn Notifier>>>,
    /// Bumped after rows are queued or re-queued: the sender looks for new lanes, and waiting
    /// lanes look at their head again.
    pub outbox_generation: watch::Sender<u64>,
    pub shutdown: watch::Sender<bool>,
    pub options: WorkerOptions,
}

impl Shared {
    pub fn emit(&self, event: WorkerEvent) {
        // No subscriber is fine: events are notifications, the state file is the record.
        let _ = self.events.send(event);
    }

    pub fn outbox_changed(&self) {
        self.outbox_generation
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    pub fn notifier(&self, name: &str) -> Option<Arc<dyn Notifier>> {
        self.notifiers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}

/// Services with whether each starts enabled.
pub type ServiceList = Vec<(Box<dyn Service>, bool)>;

/// Services and notifiers, before they run.
pub struct Worker {
    store: Store,
    services: ServiceList,
    notifiers: BTreeMap<String, Arc<dyn Notifier>>,
    events: broadcast::Sender<WorkerEvent>,
    options: WorkerOptions,
}

impl Worker {
    pub fn new(store: Store) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            store,
            services: Vec::new(),
            notifiers: BTreeMap::new(),
            events,
            options: WorkerOptions::default(),
        }
    }

    pub fn with_options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// The seed's `add_service`: poll it on its interval. Its notifiers drain the outbox.
    pub fn add_service(&mut self, service: Box<dyn Service>) {
        self.add_service_enabled(service, true);
    }

    /// Add a service that starts enabled or disabled (`enabled = false` in the config).
    pub fn add_service_enabled(&mut self, service: Box<dyn Service>, enabled: bool) {
        for notifier in service.notifiers() {
            self.notifiers.insert(notifier.name().to_string(), notifier);
        }
        self.services.push((service, enabled));
    }

    /// A notifier that no service uses any more still drains the rows queued for it.
    pub fn add_notifier(&mut self, notifier: Arc<dyn Notifier>) {
        self.notifiers.insert(notifier.name().to_string(), notifier);
    }

    /// Events from now on. Subscribe before `start` to see the first run.
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.events.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn into_shared(self) -> (Arc<Shared>, ServiceList) {
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            store: self.store,
            events: self.events,
            notifiers: RwLock::new(self.notifiers),
            outbox_generation: watch::channel(0).0,
            shutdown,
            options: self.options,
        });
        (shared, self.services)
    }

    /// The seed's `start`: run every enabled service on its interval and send what is due,
    /// until `WorkerHandle::shutdown`. Must be called inside a tokio runtime.
    pub fn start(self) -> Result<WorkerHandle, StoreError> {
        let interrupted = self.store.requeue_interrupted()?;
        if interrupted > 0 {
            tracing::warn!(
                rows = interrupted,
                "rows were in flight when the last process stopped; queued again (the receiver may have them already)"
            );
        }
        let (shared, services) = self.into_shared();
        let mut tasks = JoinSet::new();
        let mut service_commands = HashMap::new();
        for (service, enabled) in services {
            let (tx, rx) = mpsc::unbounded_channel();
            service_commands.insert(service.name().to_string(), tx);
            tasks.spawn(scheduler::run_service(shared.clone(), service, enabled, rx));
        }
        tasks.spawn(sender::run(shared.clone(), None));
        tasks.spawn(housekeeping(shared.clone()));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let dispatcher = tokio::spawn(dispatch(
            shared.clone(),
            command_rx,
            service_commands,
            tasks,
        ));
        Ok(WorkerHandle {
            commands,
            events: shared.events.clone(),
            shared,
            dispatcher: Some(dispatcher),
        })
    }

    /// `run --once`: poll each enabled service once, then send until nothing is due within
    /// 30 s (retries included). Rows still waiting stay queued.
    pub async fn run_once(self) -> Result<OnceReport, StoreError> {
        self.store.requeue_interrupted()?;
        let mut events = self.events.subscribe();
        let (shared, services) = self.into_shared();
        let collector = tokio::spawn(async move {
            let mut report = OnceReport::default();
            loop {
                match events.recv().await {
                    Ok(event) => report.observe(&event),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            report
        });
        for (mut service, enabled) in services {
            if enabled {
                scheduler::poll_once(&shared, service.as_mut(), &mut false).await;
            }
        }
        sender::run(shared.clone(), Some(ONCE_HORIZON)).await;
        shared.store.requeue_interrupted()?;
        let counts = shared.store.outbox_counts()?;
        let store = shared.store.clone();
        shared.emit(WorkerEvent::Stopped);
        drop(shared);
        let mut report = collector.await.unwrap_or_default();
        report.still_queued = counts.queued;
        report.failed_rows_total = counts.failed;
        report.queued_rows = store
            .rows(RowStatus::Queued, 1000)?
            .into_iter()
            .map(|r| (r.id, r.notifier, r.target, r.next_attempt_at))
            .collect();
        Ok(report)
    }
}

/// What `run --once` did.
#[derive(Debug, Clone, Default)]
pub struct OnceReport {
    /// Per service: `Ok(queued rows)` or the error.
    pub services: BTreeMap<String, Result<usize, String>>,
    pub delivered: u64,
    /// Rows that failed for good during this run.
    pub failed: Vec<DeliveryEvent>,
    pub retried: u64,
    pub rate_limited: u64,
    pub still_queued: u64,
    pub failed_rows_total: u64,
    /// (row id, notifier, target, next attempt) of rows still queued.
    pub queued_rows: Vec<(i64, String, String, chrono::DateTime<Utc>)>,
}

impl OnceReport {
    fn observe(&mut self, event: &WorkerEvent) {
        match event {
            WorkerEvent::RunFinished {
                service, result, ..
            } => {
                self.services.insert(
                    service.clone(),
                    result.as_ref().map(|q| q.rows).map_err(|e| e.clone()),
                );
            }
            WorkerEvent::Delivery(d) => match d.result {
                crate::store::AttemptResult::Delivered => self.delivered += 1,
                crate::store::AttemptResult::Failed => self.failed.push(d.clone()),
                crate::store::AttemptResult::Retrying => self.retried += 1,
                crate::store::AttemptResult::RateLimited => self.rate_limited += 1,
            },
            _ => {}
        }
    }

    /// Exit status of `run --once`: a failed service or a row failed for good is a failure.
    pub fn success(&self) -> bool {
        self.failed.is_empty() && self.services.values().all(|r| r.is_ok())
    }
}

/// Control of a running worker.
pub struct WorkerHandle {
    commands: mpsc::UnboundedSender<WorkerCommand>,
    events: broadcast::Sender<WorkerEvent>,
    shared: Arc<Shared>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
}

impl WorkerHandle {
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.events.subscribe()
    }

    pub fn send(&self, command: WorkerCommand) {
        let _ = self.commands.send(command);
    }

    /// A sender for commands that other tasks (signal handlers, the console) can keep.
    pub fn commands(&self) -> mpsc::UnboundedSender<WorkerCommand> {
        self.commands.clone()
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Stop: no new polls or sends; in-flight calls get the grace period; rows not finished stay
    /// queued. Returns when every task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(WorkerCommand::Shutdown);
        if let Some(d) = self.dispatcher.take() {
            let _ = d.await;
        }
    }

    /// Wait until the worker stops by itself (a `Shutdown` command from elsewhere).
    pub async fn stopped(mut self) {
        if let Some(d) = self.dispatcher.take() {
            let _ = d.await;
        }
    }
}

async fn dispatch(
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<WorkerCommand>,
    services: HashMap<String, mpsc::UnboundedSender<WorkerCommand>>,
    mut tasks: JoinSet<()>,
) {
    while let Some(command) = commands.recv().await {
        match command {
            WorkerCommand::Shutdown => break,
            WorkerCommand::SetEnabled { ref service, .. }
            | WorkerCommand::RunNow { ref service } => match services.get(service) {
                Some(tx) => {
                    let _ = tx.send(command.clone());
                }
                None => shared.emit(WorkerEvent::Warning {
                    message: format!("no service named '{service}'"),
                }),
            },
            WorkerCommand::RetryRow { row_id } => match shared.store.retry_row(row_id) {
                Ok(true) => {
                    shared.emit(WorkerEvent::RowRequeued { row_id });
                    shared.outbox_changed();
                }
                Ok(false) => shared.emit(WorkerEvent::Warning {
                    message: format!("row {row_id} is not a failed row"),
                }),
                Err(e) => shared.emit(WorkerEvent::Warning {
                    message: e.to_string(),
                }),
            },
            WorkerCommand::RetryFailed => match shared.store.retry_failed() {
                Ok(n) => {
                    shared.emit(WorkerEvent::Warning {
                        message: format!("{n} failed rows queued again"),
                    });
                    shared.outbox_changed();
                }
                Err(e) => shared.emit(WorkerEvent::Warning {
                    message: e.to_string(),
                }),
            },
        }
    }
    // Shutdown: stop scheduling now; in-flight sends get the grace period (the sender's lanes
    // watch the same flag); then whatever is still running is dropped.
    let _ = shared.shutdown.send(true);
    let deadline =
        tokio::time::Instant::now() + shared.options.shutdown_grace + Duration::from_millis(100);
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
    match shared.store.requeue_interrupted() {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "rows interrupted in flight stay queued"),
        Err(e) => tracing::error!(error = %e, "could not requeue interrupted rows"),
    }
    shared.emit(WorkerEvent::Stopped);
}

/// Prune the state file hourly.
async fn housekeeping(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        match shared.store.prune(shared.options.retention, Utc::now()) {
            Ok(p) if p.deliveries + p.rows + p.snapshots + p.runs > 0 => {
                tracing::info!(?p, "pruned the state file")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning the state file failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
