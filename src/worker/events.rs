//! What the worker tells its subscribers, and what it can be told. Events are small
//! notifications; the state file stays the record, and the console reads details from it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::notifier::Reason;
use crate::service::Progress;
use crate::store::{AttemptResult, Queued};

/// What a service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    Idle,
    Polling,
    /// The last poll failed; the next one comes sooner than the interval, backing off.
    BackingOff,
    Disabled,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Polling => "polling",
            Self::BackingOff => "backing off",
            Self::Disabled => "disabled",
        }
    }
}

/// One attempt to deliver one outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryEvent {
    pub delivery_id: i64,
    pub row_id: i64,
    pub service: String,
    pub notifier: String,
    pub target: String,
    pub result: AttemptResult,
    /// Counted attempts so far.
    pub attempts: u32,
    pub reason: Option<Reason>,
    pub latency: Duration,
    /// For a row queued again: when it goes next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    RunStarted {
        service: String,
        at: DateTime<Utc>,
    },
    /// Objects read from the source in this run.
    Fetched {
        service: String,
        count: usize,
    },
    /// Alerts found in this run (after sanitizing).
    NewAlerts {
        service: String,
        count: usize,
    },
    Queued {
        service: String,
        queued: Queued,
    },
    RunFinished {
        service: String,
        at: DateTime<Utc>,
        /// What was queued, or why the run failed (names path and status; never a secret).
        result: Result<Queued, String>,
        next_run: Option<DateTime<Utc>>,
    },
    ServiceState {
        service: String,
        state: ServiceState,
        next_run: Option<DateTime<Utc>>,
    },
    Progress {
        service: String,
        progress: Progress,
    },
    Delivery(DeliveryEvent),
    RowRequeued {
        row_id: i64,
    },
    /// Something the operator should see that is not tied to one delivery.
    Warning {
        message: String,
    },
    Stopped,
}

/// What the console and the signal handlers can ask of a running worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerCommand {
    SetEnabled { service: String, enabled: bool },
    RunNow { service: String },
    RetryRow { row_id: i64 },
    RetryFailed,
    Shutdown,
}
