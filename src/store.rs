//! The state file (PRODUCT.md §7.1): one SQLite database in WAL mode holding service cursors,
//! object snapshots, the outbox (one message × one target per row, the alert keys of each row in
//! a child table that makes key × notifier × target unique), the delivery log with the exact
//! payload sent, and runs. One process owns it at a time, through `StateLock`.

mod lock;
mod schema;
pub mod slack_cache;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::alert::{Alert, Digest, MessageData, NotificationType, ObjectKind, Snapshot};
use crate::notifier::{Reason, Receipt};

pub use lock::{LockError, StateLock};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state file {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state file {path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state file {path} was written by a newer tq-alerts-tui (schema {found}, this one knows {known}); upgrade, or point [state] path elsewhere"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("state file {path}: stored data is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// A handle on the state file; cheap to clone, safe to share between tasks. Each call is short
/// and runs under one connection lock, so callers on async tasks may call it directly.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Connection>>,
    path: PathBuf,
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Waiting for its turn (or for its retry time).
    Queued,
    /// Handed to a notifier; if the process dies now, the row is queued again at start.
    Sending,
    Delivered,
    /// Given up on: a permanent error, `max_age` or `max_attempts`. Retryable by hand.
    Failed,
}

impl RowStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => Self::Sending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// One message to one target.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub service: String,
    pub notifier: String,
    pub target: String,
    pub data: MessageData,
    pub created_at: DateTime<Utc>,
    pub status: RowStatus,
    /// Counted attempts (a 429 is not counted).
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<Reason>,
    /// The row was interrupted in flight once: the receiver may already have it.
    pub maybe_duplicate: bool,
}

/// A notifier's attachment to a service, as the outbox needs it when a poll is committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub notifier: String,
    pub targets: Vec<String>,
    pub digest_threshold: usize,
    pub digest_size: usize,
}

/// An object's alertable state, saved with the poll that alerted on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSnapshot {
    pub kind: ObjectKind,
    pub id: u64,
    pub snapshot: Snapshot,
}

/// Everything one poll writes, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct PollCommit<'a> {
    pub service: &'a str,
    pub notification_type: NotificationType,
    /// The service's new cursor; `None` leaves it where it is.
    pub cursor: Option<&'a str>,
    pub snapshots: &'a [ObjectSnapshot],
    pub alerts: &'a [Alert],
    pub routes: &'a [Route],
}

/// What committing a poll queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Queued {
    /// Alerts that went to at least one target for the first time.
    pub alerts: usize,
    /// Outbox rows written (messages).
    pub rows: usize,
    /// Alert × target pairs dropped because that key already went to that target.
    pub already_queued: usize,
}

/// A (notifier, target) pair with queued rows, and when its oldest row is due.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lane {
    pub notifier: String,
    pub target: String,
}

/// How one attempt ended, for the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Delivered,
    RateLimited,
    Retrying,
    Failed,
}

impl AttemptResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::RateLimited => "rate_limited",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "delivered" => Self::Delivered,
            "rate_limited" => Self::RateLimited,
            "retrying" => Self::Retrying,
            _ => Self::Failed,
        }
    }
}

/// One attempt, as the sender reports it to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub result: AttemptResult,
    /// Whether this attempt counts toward `max_attempts` (a 429 does not).
    pub counted: bool,
    pub reason: Option<Reason>,
    pub status: Option<u16>,
    pub payload: Option<String>,
    pub receipt: Option<Receipt>,
    pub latency: Duration,
    /// For `Retrying` and `RateLimited`: when the row may go again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver may have this message although we saw no ok.
    pub maybe_received: bool,
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub row_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub service: String,
    pub notifier: String,
    pub target: String,
    pub result: AttemptResult,
    /// Counted attempts of the row after this one.
    pub attempts: u32,
    pub status: Option<u16>,
    pub reason: Option<Reason>,
    pub payload: Option<String>,
    pub receipt: Option<Receipt>,
    pub latency_ms: u64,
    /// What the message was about: the first alert's value, or `digest 1/3 (20 alerts)`.
    pub summary: String,
}

/// One poll of one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub service: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fetched: u64,
    pub new_alerts: u64,
    pub queued: u64,
    pub error: Option<String>,
    pub auth_failure: bool,
}

/// How a run ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutcome {
    pub fetched: u64,
    pub new_alerts: u64,
    pub queued: u64,
    pub error: Option<String>,
    pub auth_failure: bool,
}

/// Rows by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub queued: u64,
    pub sending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Delivered rows that may have reached their target twice (an interrupted send).
    pub possible_duplicates: u64,
}

/// What pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: usize,
    pub rows: usize,
    pub snapshots: usize,
    pub runs: usize,
}

/// Filters for the delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub limit: usize,
    /// Only attempts with this result.
    pub result: Option<AttemptResult>,
    /// Case-insensitive text matched against service, notifier, target, summary, the result
    /// (`failed`, `retrying`, …), the receiver's word and the HTTP status.
    pub text: Option<String>,
    /// Only entries newer than this id (for incremental refresh).
    pub after_id: Option<i64>,
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Store {
    /// Open (and create, and migrate) the state file for reading and writing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let wrap = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(wrap)?;
        // WAL: readers (a read-only console, `status`) never block the worker. NORMAL sync in
        // WAL mode keeps every commit atomic and ordered across a crash of the process; after
        // a power loss the newest commits may roll back together, which repeats a poll or a
        // send, never loses one.
        conn.pragma_update(None, "journal_mode", "wal")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "normal")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "on")
            .map_err(wrap)?;
        schema::migrate(&mut conn, path)?;
        Ok(Store {
            inner: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
            read_only: false,
        })
    }

    /// Open an existing state file for reading only (another process owns it, or `status`).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let wrap = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(wrap)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        if version > schema::VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: schema::VERSION,
            });
        }
        Ok(Store {
            inner: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
            read_only: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (each call is one
        // statement or one transaction), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    // --- cursors and snapshots -------------------------------------------------------------

    pub fn cursor(&self, service: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT cursor FROM cursors WHERE service = ?1",
                [service],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The snapshot saved when `service` last alerted on this object.
    pub fn snapshot(
        &self,
        service: &str,
        kind: &ObjectKind,
        id: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT snapshot FROM snapshots WHERE service = ?1 AND kind = ?2 AND object_id = ?3",
                params![service, kind.as_str(), id as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// Write a poll: the new rows, snapshots and cursor, in one transaction. Keys that already
    /// went to a target are dropped for that target; more than `digest_threshold` new alerts
    /// for one notifier become digest pages of `digest_size`.
    pub fn commit_poll(&self, poll: PollCommit<'_>) -> Result<Queued, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let queued = self.write_poll(&tx, poll)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(queued)
    }

    fn write_poll(&self, tx: &Transaction<'_>, poll: PollCommit<'_>) -> Result<Queued, StoreError> {
        let now = Utc::now();
        let mut queued = Queued::default();
        let mut alerted: BTreeSet<&str> = BTreeSet::new();
        {
            let mut known = tx
                .prepare_cached(
                    "SELECT 1 FROM outbox_keys WHERE alert_key = ?1 AND notifier = ?2 AND target = ?3",
                )
                .map_err(|e| self.err(e))?;
            for route in poll.routes {
                // Per target, the alerts this target has not had yet.
                let mut fresh: BTreeMap<&str, Vec<&Alert>> = BTreeMap::new();
                let mut union: BTreeSet<&str> = BTreeSet::new();
                for target in &route.targets {
                    let mut list = Vec::new();
                    for alert in poll.alerts {
                        let seen = known
                            .exists(params![alert.key.as_str(), route.notifier, target])
                            .map_err(|e| self.err(e))?;
                        if seen {
                            queued.already_queued += 1;
                        } else {
                            list.push(alert);
                            union.insert(alert.key.as_str());
                        }
                    }
                    fresh.insert(target.as_str(), list);
                }
                // Counted in alerts, not alert × target (PRODUCT.md §7.3).
                let digest = union.len() > route.digest_threshold;
                for (target, alerts) in fresh {
                    if alerts.is_empty() {
                        continue;
                    }
                    let messages: Vec<(MessageData, Vec<&Alert>)> = if digest {
                        let size = route.digest_size.max(1);
                        let pages = alerts.len().div_ceil(size);
                        alerts
                            .chunks(size)
                            .enumerate()
                            .map(|(i, chunk)| {
                                let data = MessageData::Digest(Digest {
                                    service: poll.service.to_string(),
                                    notification_type: poll.notification_type,
                                    alerts: chunk.iter().map(|a| (*a).clone()).collect(),
                                    page: i + 1,
                                    pages,
                                    total: alerts.len(),
                                });
                                (data, chunk.to_vec())
                            })
                            .collect()
                    } else {
                        alerts
                            .iter()
                            .map(|a| (MessageData::single((*a).clone()), vec![*a]))
                            .collect()
                    };
                    for (data, members) in messages {
                        let row_id =
                            self.insert_row(tx, poll.service, &route.notifier, target, &data, now)?;
                        for alert in members {
                            tx.execute(
                                "INSERT INTO outbox_keys (alert_key, notifier, target, row_id) VALUES (?1, ?2, ?3, ?4)",
                                params![alert.key.as_str(), route.notifier, target, row_id],
                            )
                            .map_err(|e| self.err(e))?;
                            alerted.insert(alert.key.as_str());
                        }
                        queued.rows += 1;
                    }
                }
            }
        }
        queued.alerts = alerted.len();
        for s in poll.snapshots {
            let json = serde_json::to_string(&s.snapshot).map_err(|e| self.corrupt(e))?;
            tx.execute(
                "INSERT INTO snapshots (service, kind, object_id, snapshot, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (service, kind, object_id) DO UPDATE SET snapshot = excluded.snapshot, seen_at = excluded.seen_at",
                params![poll.service, s.kind.as_str(), s.id as i64, json, millis(now)],
            )
            .map_err(|e| self.err(e))?;
        }
        if let Some(cursor) = poll.cursor {
            tx.execute(
                "INSERT INTO cursors (service, cursor, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (service) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![poll.service, cursor, millis(now)],
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(queued)
    }

    fn insert_row(
        &self,
        tx: &Transaction<'_>,
        service: &str,
        notifier: &str,
        target: &str,
        data: &MessageData,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let json = serde_json::to_string(data).map_err(|e| self.corrupt(e))?;
        tx.execute(
            "INSERT INTO outbox (service, notifier, target, data, summary, alerts, created_at, status, attempts, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0, ?7)",
            params![
                service,
                notifier,
                target,
                json,
                summarize(data),
                data.alerts().len() as i64,
                millis(now)
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(tx.last_insert_rowid())
    }

    // --- sending -----------------------------------------------------------------------------

    /// Lanes that have queued rows.
    pub fn lanes(&self) -> Result<Vec<Lane>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT notifier, target FROM outbox WHERE status = 'queued' ORDER BY notifier, target",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Lane {
                    notifier: r.get(0)?,
                    target: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The oldest queued row of a lane: rows to one target go out in the order they were queued.
    pub fn lane_head(&self, lane: &Lane) -> Result<Option<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM outbox WHERE notifier = ?1 AND target = ?2 AND status = 'queued' ORDER BY id LIMIT 1"
            ))
            .map_err(|e| self.err(e))?;
        let row = stmt
            .query_row(params![lane.notifier, lane.target], read_row)
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|r| r.decode(&self.path)).transpose()
    }

    /// Queued rows per notifier (to find rows whose notifier is gone from the config).
    pub fn queued_by_notifier(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT notifier, COUNT(*) FROM outbox WHERE status = 'queued' GROUP BY notifier ORDER BY notifier",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The earliest time any queued row is due, if there is one.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = self
            .conn()
            .query_row(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(ms.map(from_millis))
    }

    /// Mark a row as handed to its notifier. If the process dies before `record_attempt`, the
    /// row is queued again at the next start (and flagged: the receiver may have it).
    pub fn mark_sending(&self, row_id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE outbox SET status = 'sending', sending_since = ?2 WHERE id = ?1 AND status = 'queued'",
                params![row_id, millis(Utc::now())],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record one attempt and move the row on, in one transaction: delivered, failed for good,
    /// or queued again for `attempt.next_attempt_at`.
    pub fn record_attempt(
        &self,
        row: &OutboxRow,
        attempt: &Attempt,
    ) -> Result<DeliveryRecord, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let attempts = row.attempts + u32::from(attempt.counted);
        let (status, next) = match attempt.result {
            AttemptResult::Delivered => (RowStatus::Delivered, None),
            AttemptResult::Failed => (RowStatus::Failed, None),
            AttemptResult::Retrying | AttemptResult::RateLimited => (
                RowStatus::Queued,
                Some(attempt.next_attempt_at.unwrap_or(attempt.at)),
            ),
        };
        let reason_json = attempt
            .reason
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.corrupt(e))?;
        tx.execute(
            "UPDATE outbox SET status = ?2, attempts = ?3, next_attempt_at = COALESCE(?4, next_attempt_at),
                 last_error = COALESCE(?5, last_error), sending_since = NULL,
                 maybe_duplicate = maybe_duplicate OR ?6, finished_at = ?7
             WHERE id = ?1",
            params![
                row.id,
                status.as_str(),
                attempts,
                next.map(millis),
                reason_json,
                attempt.maybe_received,
                matches!(status, RowStatus::Delivered | RowStatus::Failed).then(|| millis(attempt.at)),
            ],
        )
        .map_err(|e| self.err(e))?;
        let record = DeliveryRecord {
            id: 0,
            row_id: Some(row.id),
            at: attempt.at,
            service: row.service.clone(),
            notifier: row.notifier.clone(),
            target: row.target.clone(),
            result: attempt.result,
            attempts,
            status: attempt.status,
            reason: attempt.reason.clone(),
            payload: attempt.payload.clone(),
            receipt: attempt.receipt.clone(),
            latency_ms: attempt.latency.as_millis() as u64,
            summary: summarize(&row.data),
        };
        let id = self.insert_delivery(&tx, &record)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(DeliveryRecord { id, ..record })
    }

    /// Log a delivery that has no outbox row (a test message sent by hand).
    pub fn log_delivery(&self, record: &DeliveryRecord) -> Result<i64, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let id = self.insert_delivery(&tx, record)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(id)
    }

    fn insert_delivery(
        &self,
        tx: &Transaction<'_>,
        record: &DeliveryRecord,
    ) -> Result<i64, StoreError> {
        let reason = record.reason.as_ref();
        tx.execute(
            "INSERT INTO deliveries (row_id, at, service, notifier, target, result, attempts, status_code,
                 word, detail, hint, payload, receipt_channel, receipt_ts, latency_ms, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                record.row_id,
                millis(record.at),
                record.service,
                record.notifier,
                record.target,
                record.result.as_str(),
                record.attempts,
                record.status,
                reason.map(|r| r.word.as_str()),
                reason.and_then(|r| r.detail.as_deref()),
                reason.and_then(|r| r.hint.as_deref()),
                record.payload,
                record.receipt.as_ref().map(|r| r.channel.as_str()),
                record.receipt.as_ref().map(|r| r.ts.as_str()),
                record.latency_ms as i64,
                record.summary,
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(tx.last_insert_rowid())
    }

    /// Queue again every row left `sending` by a process that stopped mid-send. The receiver may
    /// have those messages already: they are flagged as possible duplicates. Returns how many.
    pub fn requeue_interrupted(&self) -> Result<usize, StoreError> {
        self.conn()
            .execute(
                "UPDATE outbox SET status = 'queued', sending_since = NULL, maybe_duplicate = 1 WHERE status = 'sending'",
                [],
            )
            .map_err(|e| self.err(e))
    }

    /// Queue a failed row again, with a fresh attempt count and age (the operator's `R`).
    pub fn retry_row(&self, row_id: i64) -> Result<bool, StoreError> {
        let now = millis(Utc::now());
        let n = self
            .conn()
            .execute(
                "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?2, created_at = ?2, finished_at = NULL
                 WHERE id = ?1 AND status = 'failed'",
                params![row_id, now],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Queue every failed row again. Returns how many.
    pub fn retry_failed(&self) -> Result<usize, StoreError> {
        let now = millis(Utc::now());
        self.conn()
            .execute(
                "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?1, created_at = ?1, finished_at = NULL
                 WHERE status = 'failed'",
                params![now],
            )
            .map_err(|e| self.err(e))
    }

    pub fn row(&self, row_id: i64) -> Result<Option<OutboxRow>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("SELECT {ROW_COLUMNS} FROM outbox WHERE id = ?1"),
                [row_id],
                read_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|r| r.decode(&self.path)).transpose()
    }

    /// Rows in a status, newest first.
    pub fn rows(&self, status: RowStatus, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM outbox WHERE status = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![status.as_str(), limit as i64], read_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| r.decode(&self.path)).collect()
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT status, COUNT(*), SUM(maybe_duplicate AND status = 'delivered') FROM outbox GROUP BY status",
            )
            .map_err(|e| self.err(e))?;
        let mut counts = OutboxCounts::default();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (status, n, dups) = row.map_err(|e| self.err(e))?;
            let n = n as u64;
            match RowStatus::parse(&status) {
                RowStatus::Queued => counts.queued += n,
                RowStatus::Sending => counts.sending += n,
                RowStatus::Delivered => {
                    counts.delivered += n;
                    counts.possible_duplicates += dups.unwrap_or(0) as u64;
                }
                RowStatus::Failed => counts.failed += n,
            }
        }
        Ok(counts)
    }

    /// The delivery log, newest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let conn = self.conn();
        let like = filter.text.as_ref().map(|t| {
            format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, row_id, at, service, notifier, target, result, attempts, status_code, word, detail, hint,
                        payload, receipt_channel, receipt_ts, latency_ms, summary
                 FROM deliveries
                 WHERE (?1 IS NULL OR result = ?1)
                   AND (?2 IS NULL OR service LIKE ?2 ESCAPE '\\' OR notifier LIKE ?2 ESCAPE '\\' OR target LIKE ?2 ESCAPE '\\'
                        OR summary LIKE ?2 ESCAPE '\\' OR word LIKE ?2 ESCAPE '\\' OR result LIKE ?2 ESCAPE '\\'
                        OR CAST(status_code AS TEXT) LIKE ?2)
                   AND (?3 IS NULL OR id > ?3)
                 ORDER BY id DESC LIMIT ?4",
            )
            .map_err(|e| self.err(e))?;
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let rows = stmt
            .query_map(
                params![
                    filter.result.map(|r| r.as_str()),
                    like,
                    filter.after_id,
                    limit as i64
                ],
                |r| {
                    let word: Option<String> = r.get(9)?;
                    let reason = word.map(|word| Reason {
                        word,
                        detail: r.get(10).ok().flatten(),
                        hint: r.get(11).ok().flatten(),
                    });
                    let channel: Option<String> = r.get(13)?;
                    let ts: Option<String> = r.get(14)?;
                    Ok(DeliveryRecord {
                        id: r.get(0)?,
                        row_id: r.get(1)?,
                        at: from_millis(r.get(2)?),
                        service: r.get(3)?,
                        notifier: r.get(4)?,
                        target: r.get(5)?,
                        result: AttemptResult::parse(&r.get::<_, String>(6)?),
                        attempts: r.get(7)?,
                        status: r.get(8)?,
                        reason,
                        payload: r.get(12)?,
                        receipt: channel.zip(ts).map(|(channel, ts)| Receipt { channel, ts }),
                        latency_ms: r.get::<_, i64>(15)? as u64,
                        summary: r.get(16)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    // --- runs --------------------------------------------------------------------------------

    pub fn start_run(&self, service: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO runs (service, started_at) VALUES (?1, ?2)",
            params![service, millis(at)],
        )
        .map_err(|e| self.err(e))?;
        Ok(conn.last_insert_rowid())
    }

    pub fn finish_run(
        &self,
        run_id: i64,
        at: DateTime<Utc>,
        outcome: &RunOutcome,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE runs SET finished_at = ?2, fetched = ?3, new_alerts = ?4, queued = ?5, error = ?6, auth_failure = ?7
                 WHERE id = ?1",
                params![
                    run_id,
                    millis(at),
                    outcome.fetched as i64,
                    outcome.new_alerts as i64,
                    outcome.queued as i64,
                    outcome.error,
                    outcome.auth_failure
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest run of each service.
    pub fn last_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, service, started_at, finished_at, fetched, new_alerts, queued, error, auth_failure
                 FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY service) ORDER BY service",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], read_run).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The newest successful run of a service.
    pub fn last_good_run(&self, service: &str) -> Result<Option<RunRecord>, StoreError> {
        self.conn()
            .query_row(
                "SELECT id, service, started_at, finished_at, fetched, new_alerts, queued, error, auth_failure
                 FROM runs WHERE service = ?1 AND finished_at IS NOT NULL AND error IS NULL ORDER BY id DESC LIMIT 1",
                [service],
                read_run,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The newest alerts a service queued (for the console's preview), newest first.
    pub fn recent_alerts(&self, service: &str, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT data FROM outbox WHERE service = ?1 ORDER BY id DESC LIMIT ?2")
            .map_err(|e| self.err(e))?;
        let rows: Vec<String> = stmt
            .query_map(params![service, limit as i64], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut out: Vec<Alert> = Vec::new();
        for json in rows {
            let data: MessageData = serde_json::from_str(&json).map_err(|e| self.corrupt(e))?;
            for alert in data.alerts() {
                if out.len() < limit && !out.iter().any(|a| a.key == alert.key) {
                    out.push(alert.clone());
                }
            }
        }
        Ok(out)
    }

    // --- housekeeping ------------------------------------------------------------------------

    /// Remove deliveries, finished rows, snapshots and runs older than `retention`. Queued and
    /// sending rows are never pruned: nothing waiting is lost to housekeeping.
    pub fn prune(&self, retention: Duration, now: DateTime<Utc>) -> Result<Pruned, StoreError> {
        let cutoff = millis(now) - retention.as_millis() as i64;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let deliveries = tx
            .execute("DELETE FROM deliveries WHERE at < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        let rows = tx
            .execute(
                "DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND finished_at < ?1",
                [cutoff],
            )
            .map_err(|e| self.err(e))?;
        let snapshots = tx
            .execute("DELETE FROM snapshots WHERE seen_at < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        let runs = tx
            .execute(
                "DELETE FROM runs WHERE started_at < ?1 AND id NOT IN (SELECT MAX(id) FROM runs GROUP BY service)",
                [cutoff],
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Pruned {
            deliveries,
            rows,
            snapshots,
            runs,
        })
    }
}

const ROW_COLUMNS: &str = "id, service, notifier, target, data, created_at, status, attempts, next_attempt_at, last_error, maybe_duplicate";

/// A row as SQLite gives it, before its JSON is decoded.
struct RawRow {
    id: i64,
    service: String,
    notifier: String,
    target: String,
    data: String,
    created_at: i64,
    status: String,
    attempts: u32,
    next_attempt_at: i64,
    last_error: Option<String>,
    maybe_duplicate: bool,
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        service: r.get(1)?,
        notifier: r.get(2)?,
        target: r.get(3)?,
        data: r.get(4)?,
        created_at: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_error: r.get(9)?,
        maybe_duplicate: r.get(10)?,
    })
}

impl RawRow {
    fn decode(self, path: &Path) -> Result<OutboxRow, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            path: path.to_path_buf(),
            message: format!("outbox row {}: {e}", self.id),
        };
        Ok(OutboxRow {
            id: self.id,
            data: serde_json::from_str(&self.data).map_err(corrupt)?,
            last_error: self
                .last_error
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(corrupt)?,
            service: self.service,
            notifier: self.notifier,
            target: self.target,
            created_at: from_millis(self.created_at),
            status: RowStatus::parse(&self.status),
            attempts: self.attempts,
            next_attempt_at: from_millis(self.next_attempt_at),
            maybe_duplicate: self.maybe_duplicate,
        })
    }
}

fn read_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        service: r.get(1)?,
        started_at: from_millis(r.get(2)?),
        finished_at: r.get::<_, Option<i64>>(3)?.map(from_millis),
        fetched: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
        new_alerts: r.get::<_, Option<i64>>(5)?.unwrap_or(0) as u64,
        queued: r.get::<_, Option<i64>>(6)?.unwrap_or(0) as u64,
        error: r.get(7)?,
        auth_failure: r.get::<_, Option<bool>>(8)?.unwrap_or(false),
    })
}

/// A short line saying what a message is about, for the delivery log (indicators defanged).
pub fn summarize(data: &MessageData) -> String {
    match data {
        MessageData::Single { alert } => {
            let o = &alert.object;
            // Shown on terminals (console, `status`, `run`): an indicator is defanged there
            // too, so no terminal makes it a live link.
            let value = if o.kind == crate::alert::ObjectKind::Indicator {
                crate::text::defang(&o.value).into_owned()
            } else {
                o.value.clone()
            };
            format!("{} {}", o.kind, crate::text::truncate(&value, 80))
        }
        MessageData::Digest(d) => format!(
            "digest {}/{} ({} of {} alerts)",
            d.page,
            d.pages,
            d.alerts.len(),
            d.total
        ),
    }
}
