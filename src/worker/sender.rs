//! Drains the outbox. One lane per (notifier, target): rows to a target go out one at a time in
//! the order they were queued, paced by the target's `Pacer`; lanes run side by side, so a
//! target that is paused (429) or down does not hold up the others.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::pacer::Pacer;
use super::{DeliveryEvent, Shared, WorkerEvent, retry};
use crate::notifier::{Delivery, DeliveryOutcome, Notifier, Reason};
use crate::store::{AttemptResult, Lane, OutboxRow};

/// Why a lane task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LaneExit {
    /// No queued rows left.
    Empty,
    /// `run --once`: the next row is due beyond the horizon.
    Parked,
    /// Shutting down.
    Stopped,
}

struct Lanes {
    shared: Arc<Shared>,
    /// Lanes with a running task. A lane removes itself under this lock in the same step as
    /// finding it has no rows, so a row queued meanwhile is never left without a lane.
    active: Mutex<HashSet<Lane>>,
    pacers: Mutex<HashMap<Lane, Pacer>>,
    sends: Semaphore,
    horizon: Option<Duration>,
}

/// Run the sender until shutdown, or — with a `horizon` (`run --once`) — until nothing is due
/// within it.
pub(super) async fn run(shared: Arc<Shared>, horizon: Option<Duration>) {
    let lanes = Arc::new(Lanes {
        active: Mutex::new(HashSet::new()),
        pacers: Mutex::new(HashMap::new()),
        sends: Semaphore::new(shared.options.max_parallel_sends.max(1)),
        shared: shared.clone(),
        horizon,
    });
    let mut tasks: JoinSet<(Lane, LaneExit)> = JoinSet::new();
    let mut parked: HashSet<Lane> = HashSet::new();
    let mut orphans: HashSet<String> = HashSet::new();
    let mut shutdown = shared.shutdown.subscribe();
    let mut changes = shared.outbox_generation.subscribe();
    loop {
        if *shutdown.borrow() {
            break;
        }
        lanes.spawn_missing(&mut tasks, &parked, &mut orphans);
        if horizon.is_some() && tasks.is_empty() {
            break;
        }
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            _ = changes.changed() => {}
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((lane, LaneExit::Parked)) = done {
                    parked.insert(lane);
                }
            }
            // A safety net: rows written by another path still get a lane.
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

impl Lanes {
    fn spawn_missing(
        self: &Arc<Self>,
        tasks: &mut JoinSet<(Lane, LaneExit)>,
        parked: &HashSet<Lane>,
        orphans: &mut HashSet<String>,
    ) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let lanes = match self.shared.store.lanes() {
            Ok(lanes) => lanes,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return;
            }
        };
        for lane in lanes {
            if active.contains(&lane) || parked.contains(&lane) {
                continue;
            }
            if self.shared.notifier(&lane.notifier).is_none() {
                if orphans.insert(lane.notifier.clone()) {
                    self.shared.emit(WorkerEvent::Warning {
                        message: format!(
                            "rows are queued for notifier '{}', which is not configured; they wait until it is",
                            lane.notifier
                        ),
                    });
                }
                continue;
            }
            active.insert(lane.clone());
            let this = self.clone();
            tasks.spawn(async move {
                let exit = this.drain(&lane).await;
                (lane, exit)
            });
        }
    }

    fn release(&self, lane: &Lane) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(lane);
    }

    /// The oldest queued row of the lane, or the lane's end (removed from `active` atomically
    /// with finding it empty).
    fn head(&self, lane: &Lane) -> Option<OutboxRow> {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        match self.shared.store.lane_head(lane) {
            Ok(Some(row)) => Some(row),
            Ok(None) => {
                active.remove(lane);
                None
            }
            Err(e) => {
                tracing::error!(error = %e, notifier = %lane.notifier, "cannot read the outbox");
                active.remove(lane);
                None
            }
        }
    }

    async fn drain(&self, lane: &Lane) -> LaneExit {
        let shared = &self.shared;
        let mut shutdown = shared.shutdown.subscribe();
        let mut changes = shared.outbox_generation.subscribe();
        loop {
            if *shutdown.borrow() {
                self.release(lane);
                return LaneExit::Stopped;
            }
            let Some(row) = self.head(lane) else {
                return LaneExit::Empty;
            };
            let Some(notifier) = shared.notifier(&lane.notifier) else {
                self.release(lane);
                return LaneExit::Empty;
            };
            let settings = notifier.settings();
            let now = Instant::now();
            let ready = {
                let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
                let pacer = pacers
                    .entry(lane.clone())
                    .or_insert_with(|| Pacer::new(settings.rate, settings.burst));
                pacer.reconfigure(settings.rate, settings.burst);
                pacer.ready_at(now)
            };
            let due = instant_of(row.next_attempt_at, now);
            let at = ready.max(due);
            if let Some(horizon) = self.horizon
                && at > now + horizon
            {
                self.release(lane);
                return LaneExit::Parked;
            }
            if at > now {
                // Wait for the row's time, or for a change in the outbox (a row queued again by
                // hand may now be the head), then look again.
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = changes.changed() => {}
                    _ = shutdown.wait_for(|s| *s) => {}
                }
                continue;
            }
            let Ok(_permit) = self.sends.acquire().await else {
                self.release(lane);
                return LaneExit::Stopped;
            };
            if !self.deliver(notifier, row, lane).await {
                self.release(lane);
                return LaneExit::Stopped;
            }
        }
    }

    /// One attempt for one row. Returns false when shutdown cut the call short (the row stays
    /// `sending` and is queued again as a possible duplicate).
    async fn deliver(&self, notifier: Arc<dyn Notifier>, row: OutboxRow, lane: &Lane) -> bool {
        let shared = &self.shared;
        if let Err(e) = shared.store.mark_sending(row.id) {
            tracing::error!(error = %e, row = row.id, "cannot mark the row as sending");
            return false;
        }
        let settings = notifier.settings();
        let started = Instant::now();
        let delivery = match notifier.format_alert(&row.data) {
            Err(e) => Delivery::failed(Reason::from(&e)),
            Ok(message) => {
                let mut shutdown = shared.shutdown.subscribe();
                let grace = shared.options.shutdown_grace;
                tokio::select! {
                    delivery = notifier.send_alert(&row.target, &row.data, &message) => delivery,
                    _ = async {
                        let _ = shutdown.wait_for(|s| *s).await;
                        tokio::time::sleep(grace).await;
                    } => return false,
                }
            }
        };
        let latency = started.elapsed();
        let now = Utc::now();
        let attempt = retry::decide(&row, &delivery, &settings, now, latency, &mut rand::rng());
        {
            let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
            let pacer = pacers
                .entry(lane.clone())
                .or_insert_with(|| Pacer::new(settings.rate, settings.burst));
            match (&delivery.outcome, attempt.next_attempt_at) {
                (DeliveryOutcome::RateLimited { .. }, Some(next)) => {
                    let wait = (next - now).to_std().unwrap_or_default();
                    pacer.pause_until(Instant::now() + wait);
                }
                // A 429 on a row past `max_age`: the row fails; the slot was not used.
                (DeliveryOutcome::RateLimited { .. }, None) => {}
                // The slot is charged when the answer is back, not when the request left: the
                // receiver saw it somewhere in between, and charging the later moment keeps our
                // bucket at or behind the receiver's, so a slow first answer cannot let a burst
                // plus one more through (PRODUCT.md §6.4).
                _ if delivery.payload.is_some() => pacer.take(Instant::now()),
                // Nothing was sent (a format error): nothing to charge.
                _ => {}
            }
        }
        match shared.store.record_attempt(&row, &attempt) {
            Ok(record) => {
                log_attempt(&record.result, &row, record.reason.as_ref());
                shared.emit(WorkerEvent::Delivery(DeliveryEvent {
                    delivery_id: record.id,
                    row_id: row.id,
                    service: row.service.clone(),
                    notifier: row.notifier.clone(),
                    target: row.target.clone(),
                    result: record.result,
                    attempts: record.attempts,
                    reason: record.reason,
                    latency,
                    next_attempt_at: attempt.next_attempt_at,
                    summary: record.summary,
                }));
                true
            }
            Err(e) => {
                // The row stays `sending`; the next start queues it again (a possible duplicate,
                // never a loss).
                tracing::error!(error = %e, row = row.id, "cannot record the delivery");
                false
            }
        }
    }
}

fn log_attempt(result: &AttemptResult, row: &OutboxRow, reason: Option<&Reason>) {
    let reason = reason.map(|r| r.to_string()).unwrap_or_default();
    match result {
        AttemptResult::Delivered => {
            tracing::info!(row = row.id, notifier = %row.notifier, target = %row.target, "delivered")
        }
        AttemptResult::Failed => {
            tracing::warn!(row = row.id, notifier = %row.notifier, target = %row.target, %reason, "failed")
        }
        AttemptResult::Retrying | AttemptResult::RateLimited => {
            tracing::info!(row = row.id, notifier = %row.notifier, target = %row.target, %reason, "will retry")
        }
    }
}

/// A wall-clock time as a monotonic instant relative to `now` (in the past means `now`).
fn instant_of(at: chrono::DateTime<Utc>, now: Instant) -> Instant {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    now + wait
}
