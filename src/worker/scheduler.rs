//! One task per service: poll on the interval (sooner, backing off, after a failure), on
//! "run now", and never while disabled.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{ServiceState, Shared, WorkerCommand, WorkerEvent};
use crate::service::{PollContext, Service, ServiceError};
use crate::store::{Queued, RunOutcome};

/// After a failed poll the next one waits 30 s, doubling, never longer than the interval.
fn failure_backoff(failures: u32, interval: Duration) -> Duration {
    let base = Duration::from_secs(30).saturating_mul(1 << failures.saturating_sub(1).min(10));
    base.min(interval)
}

pub(super) async fn run_service(
    shared: Arc<Shared>,
    mut service: Box<dyn Service>,
    mut enabled: bool,
    mut commands: mpsc::UnboundedReceiver<WorkerCommand>,
) {
    let name = service.name().to_string();
    let interval = service.interval();
    let mut shutdown = shared.shutdown.subscribe();
    let mut connected = false;
    let mut failures = 0u32;
    let mut next = Instant::now();
    announce(&shared, &name, enabled, failures, next);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            command = commands.recv() => match command {
                Some(WorkerCommand::SetEnabled { enabled: on, .. }) => {
                    enabled = on;
                    if on { next = Instant::now(); }
                    announce(&shared, &name, enabled, failures, next);
                    continue;
                }
                Some(WorkerCommand::RunNow { .. }) => {}
                Some(_) => continue,
                None => return,
            },
            _ = tokio::time::sleep_until(next), if enabled => {}
        }
        // A poll is abandoned on shutdown: nothing it found is committed, so the next start
        // repeats it.
        let ok = tokio::select! {
            ok = poll_once(&shared, service.as_mut(), &mut connected) => ok,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        failures = if ok { 0 } else { failures + 1 };
        next = Instant::now()
            + if ok {
                interval
            } else {
                failure_backoff(failures, interval)
            };
        announce(&shared, &name, enabled, failures, next);
    }
}

fn announce(shared: &Shared, name: &str, enabled: bool, failures: u32, next: Instant) {
    let state = match (enabled, failures) {
        (false, _) => ServiceState::Disabled,
        (true, 0) => ServiceState::Idle,
        (true, _) => ServiceState::BackingOff,
    };
    shared.emit(WorkerEvent::ServiceState {
        service: name.to_string(),
        state,
        next_run: enabled.then(|| wall_clock(next)),
    });
}

fn wall_clock(at: Instant) -> chrono::DateTime<Utc> {
    let from_now = at.saturating_duration_since(Instant::now());
    Utc::now() + chrono::Duration::from_std(from_now).unwrap_or_default()
}

/// One poll: connect if needed, fetch, sanitize, queue (cursor and rows in one transaction).
/// Returns whether it succeeded; the outcome is in the events and the runs table.
pub(super) async fn poll_once(
    shared: &Arc<Shared>,
    service: &mut dyn Service,
    connected: &mut bool,
) -> bool {
    let name = service.name().to_string();
    let started = Utc::now();
    shared.emit(WorkerEvent::RunStarted {
        service: name.clone(),
        at: started,
    });
    shared.emit(WorkerEvent::ServiceState {
        service: name.clone(),
        state: ServiceState::Polling,
        next_run: None,
    });
    let run_id = match shared.store.start_run(&name, started) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(service = %name, error = %e, "cannot record the run");
            None
        }
    };
    let mut outcome = RunOutcome::default();
    let result = poll(shared, service, connected, &mut outcome).await;
    if let Err(e) = &result {
        *connected = false;
        outcome.error = Some(e.to_string());
        outcome.auth_failure = e.is_auth();
        tracing::warn!(service = %name, error = %e, "poll failed");
    }
    let finished = Utc::now();
    if let Some(id) = run_id
        && let Err(e) = shared.store.finish_run(id, finished, &outcome)
    {
        tracing::error!(service = %name, error = %e, "cannot record the run's end");
    }
    let ok = result.is_ok();
    shared.emit(WorkerEvent::RunFinished {
        service: name,
        at: finished,
        result: result.map_err(|e| e.to_string()),
        next_run: None,
    });
    ok
}

async fn poll(
    shared: &Arc<Shared>,
    service: &mut dyn Service,
    connected: &mut bool,
    outcome: &mut RunOutcome,
) -> Result<Queued, ServiceError> {
    let name = service.name().to_string();
    // A poll with nowhere to send would advance the cursor past alerts nobody gets: don't poll.
    if service.notifiers().is_empty() {
        return Err(ServiceError::Source(
            "no notifier is attached, so nothing was polled (no alert is lost); attach one".into(),
        ));
    }
    if !*connected {
        service.connect().await?;
        *connected = true;
    }
    let progress_events = shared.events.clone();
    let progress_name = name.clone();
    let ctx = PollContext::new(&name, shared.store.clone())?.with_progress(move |progress| {
        let _ = progress_events.send(WorkerEvent::Progress {
            service: progress_name.clone(),
            progress,
        });
    });
    let mut found = service.fetch_alerts(&ctx).await?;
    outcome.fetched = found.fetched as u64;
    shared.emit(WorkerEvent::Fetched {
        service: name.clone(),
        count: found.fetched,
    });
    found.alerts = service.sanitize_alerts(std::mem::take(&mut found.alerts));
    outcome.new_alerts = found.alerts.len() as u64;
    shared.emit(WorkerEvent::NewAlerts {
        service: name.clone(),
        count: found.alerts.len(),
    });
    let queued = service.send_alerts(&shared.store, &found)?;
    outcome.queued = queued.rows as u64;
    shared.emit(WorkerEvent::Queued {
        service: name,
        queued,
    });
    if queued.rows > 0 {
        shared.outbox_changed();
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_polls_back_off_from_thirty_seconds_up_to_the_interval() {
        let interval = Duration::from_secs(300);
        assert_eq!(failure_backoff(1, interval), Duration::from_secs(30));
        assert_eq!(failure_backoff(2, interval), Duration::from_secs(60));
        assert_eq!(failure_backoff(9, interval), interval);
    }
}
