//! The service role (the seed's `services.BaseService`): finds alerts and hands them, with its
//! notifiers' targets, to the outbox. Services are polled by the `Worker` on their interval.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::alert::{Alert, NotificationType, ObjectKind, Snapshot};
use crate::notifier::Notifier;
use crate::store::{ObjectSnapshot, PollCommit, Queued, Route, Store, StoreError};

/// Why a poll failed. The message names what was asked and what came back (path and status),
/// never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The source rejected our credentials: nothing will work until they are fixed.
    #[error("{0}")]
    Auth(String),
    /// The source answered with an error, garbage, or not at all.
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth(_))
    }
}

/// What a poll found: the alerts, how many objects were looked at, and the state to save with
/// the alerts in one transaction (the cursor moves only together with the rows it covers).
#[derive(Debug, Clone, Default)]
pub struct Poll {
    pub alerts: Vec<Alert>,
    /// Objects read from the source.
    pub fetched: usize,
    /// The new cursor; `None` keeps the saved one.
    pub cursor: Option<String>,
    /// Snapshots of the objects alerted on, for change detection next time.
    pub snapshots: Vec<ObjectSnapshot>,
}

/// Reported while a long poll runs (a first baseline, a big collection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub what: String,
    pub done: u64,
    pub total: Option<u64>,
}

/// What a service may look at while it polls.
pub struct PollContext {
    service: String,
    cursor: Option<String>,
    now: DateTime<Utc>,
    store: Store,
    progress: Option<Box<dyn Fn(Progress) + Send + Sync>>,
}

impl PollContext {
    pub fn new(service: &str, store: Store) -> Result<Self, StoreError> {
        Ok(Self {
            service: service.to_string(),
            cursor: store.cursor(service)?,
            now: Utc::now(),
            store,
            progress: None,
        })
    }

    pub fn with_progress(mut self, report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    /// The cursor saved by the last committed poll; `None` on the first run.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// When this poll started.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The snapshot saved when this service last alerted on the object.
    pub fn previous_snapshot(
        &self,
        kind: &ObjectKind,
        id: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.store.snapshot(&self.service, kind, id)
    }

    pub fn report_progress(&self, what: &str, done: u64, total: Option<u64>) {
        if let Some(report) = &self.progress {
            report(Progress {
                what: what.to_string(),
                done,
                total,
            });
        }
    }
}

/// The service role. Implement `name`, `notification_type`, `fetch_alerts` and the notifier
/// list; the rest has defaults that match the seed library.
#[async_trait]
pub trait Service: Send + Sync {
    /// The service's name in the configuration.
    fn name(&self) -> &str;

    /// The kind (`watchlist`, `data-collection`, or a library user's own).
    fn kind(&self) -> &str {
        "custom"
    }

    fn notification_type(&self) -> NotificationType;

    /// How often the worker polls it.
    fn interval(&self) -> Duration {
        Duration::from_secs(300)
    }

    /// The seed's `connect`: log in, look things up. Called before the first poll and again
    /// after a poll failed.
    async fn connect(&mut self) -> Result<(), ServiceError> {
        Ok(())
    }

    /// The seed's `fetch_alerts`: what changed since the saved cursor.
    async fn fetch_alerts(&mut self, ctx: &PollContext) -> Result<Poll, ServiceError>;

    /// The seed's `sanitize_alerts`: drop what should not be sent. The default drops repeated
    /// keys, keeping the first.
    fn sanitize_alerts(&self, alerts: Vec<Alert>) -> Vec<Alert> {
        let mut seen = std::collections::HashSet::new();
        alerts
            .into_iter()
            .filter(|a| seen.insert(a.key.clone()))
            .collect()
    }

    /// The seed's `send_alerts`: enqueue each alert for every attached notifier's targets in
    /// the outbox, together with the poll's cursor and snapshots (one transaction).
    fn send_alerts(&self, store: &Store, poll: &Poll) -> Result<Queued, StoreError> {
        let routes = routes(&self.notifiers());
        store.commit_poll(PollCommit {
            service: self.name(),
            notification_type: self.notification_type(),
            cursor: poll.cursor.as_deref(),
            snapshots: &poll.snapshots,
            alerts: &poll.alerts,
            routes: &routes,
        })
    }

    /// The seed's `add_notifier`.
    fn add_notifier(&mut self, notifier: Arc<dyn Notifier>);

    /// The notifiers attached, in order.
    fn notifiers(&self) -> Vec<Arc<dyn Notifier>>;
}

/// Where a set of notifiers sends, as the outbox needs it.
pub fn routes(notifiers: &[Arc<dyn Notifier>]) -> Vec<Route> {
    notifiers
        .iter()
        .map(|n| {
            let settings = n.settings();
            Route {
                notifier: n.name().to_string(),
                targets: n.targets(),
                digest_threshold: settings.digest_threshold,
                digest_size: settings.digest_size,
            }
        })
        .collect()
}
