//! `status`: runs, outbox and recent deliveries from the state file, for people (`status`) and
//! scripts (`status --json`); unhealthy (exit 1) when rows failed, ThreatQ refused our
//! credentials, or an enabled service has not run for three intervals.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::config::format_duration;
use crate::store::{
    DeliveryFilter, DeliveryRecord, OutboxCounts, OutboxRow, RowStatus, RunRecord, StateLock,
    Store, StoreError,
};
use crate::text::sanitize_for_terminal;

/// Everything `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state_file: String,
    /// The pid of the process that owns the state file, if one is running.
    pub running_pid: Option<String>,
    pub services: Vec<ServiceStatus>,
    pub outbox: OutboxCounts,
    pub failed_rows: Vec<FailedRow>,
    pub recent_deliveries: Vec<DeliveryRecord>,
    pub healthy: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    pub interval_seconds: u64,
    pub last_run: Option<RunRecord>,
    pub last_good_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedRow {
    pub id: i64,
    pub service: String,
    pub notifier: String,
    pub target: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub word: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub summary: String,
}

impl From<&OutboxRow> for FailedRow {
    fn from(row: &OutboxRow) -> Self {
        let reason = row.last_error.clone();
        FailedRow {
            id: row.id,
            service: row.service.clone(),
            notifier: row.notifier.clone(),
            target: row.target.clone(),
            attempts: row.attempts,
            created_at: row.created_at,
            word: reason.as_ref().map(|r| r.word.clone()),
            detail: reason.as_ref().and_then(|r| r.detail.clone()),
            hint: reason.and_then(|r| r.hint),
            summary: crate::store::summarize(&row.data),
        }
    }
}

/// Who owns the state file: the pid in the lock file while its lock is held.
pub fn owner(state: &Path) -> Option<String> {
    match StateLock::acquire(state) {
        Ok(_lock) => None,
        Err(crate::store::LockError::Held { pid, .. }) => Some(pid),
        Err(_) => None,
    }
}

/// Gather the status of `config`'s services from the state file.
pub fn gather(config: &Config, store: &Store, now: DateTime<Utc>) -> Result<Status, StoreError> {
    let runs = store.last_runs()?;
    let mut services = Vec::new();
    let mut problems = Vec::new();
    for s in &config.services {
        let last_run = runs.iter().find(|r| r.service == s.name).cloned();
        let last_good = store.last_good_run(&s.name)?;
        let last_good_run_at = last_good.as_ref().and_then(|r| r.finished_at);
        if s.enabled {
            if let Some(run) = &last_run
                && run.auth_failure
            {
                problems.push(format!(
                    "service '{}': the last run was refused: {}",
                    s.name,
                    run.error.as_deref().unwrap_or("credentials rejected")
                ));
            }
            let overdue =
                chrono::Duration::from_std(s.interval * 3).unwrap_or(chrono::Duration::MAX);
            match last_good_run_at {
                None => problems.push(format!("service '{}' has never completed a run", s.name)),
                Some(at) if now - at > overdue => problems.push(format!(
                    "service '{}' has not completed a run for {} (3 intervals of {})",
                    s.name,
                    // Whole seconds: `5m13s`, not `5m13s346ms`.
                    format_duration(std::time::Duration::from_secs(
                        (now - at).num_seconds().max(0) as u64
                    )),
                    format_duration(s.interval)
                )),
                Some(_) => {}
            }
        }
        services.push(ServiceStatus {
            name: s.name.clone(),
            kind: s.kind.as_str().to_string(),
            enabled: s.enabled,
            interval_seconds: s.interval.as_secs(),
            last_run,
            last_good_run_at,
        });
    }
    for (notifier, rows) in store.queued_by_notifier()? {
        if config.notifier(&notifier).is_none() {
            problems.push(format!(
                "{rows} row(s) are queued for notifier '{notifier}', which is not in the config; they are sent once it is back"
            ));
        }
    }
    let outbox = store.outbox_counts()?;
    let failed_rows: Vec<FailedRow> = store
        .rows(RowStatus::Failed, 50)?
        .iter()
        .map(FailedRow::from)
        .collect();
    if outbox.failed > 0 {
        problems.push(format!(
            "{} row(s) failed for good; see FAILED ROWS, retry with `tq-alerts-tui status --retry all`",
            outbox.failed
        ));
    }
    let recent_deliveries = store.deliveries(&DeliveryFilter {
        limit: 15,
        ..DeliveryFilter::default()
    })?;
    Ok(Status {
        state_file: store.path().display().to_string(),
        running_pid: owner(store.path()),
        services,
        outbox,
        failed_rows,
        recent_deliveries,
        healthy: problems.is_empty(),
        problems,
    })
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The human form.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let owner = match &status.running_pid {
        Some(pid) => format!("worker running (pid {pid})"),
        None => "no worker running".into(),
    };
    let _ = writeln!(out, "state  {}  — {owner}", status.state_file);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:<16} {:<4} {:<20} RESULT",
        "SERVICE", "KIND", "ON", "LAST RUN"
    );
    for s in &status.services {
        let (when, result) = match &s.last_run {
            None => ("never".to_string(), String::new()),
            Some(run) => (
                local(run.started_at),
                match (&run.error, run.finished_at) {
                    (Some(e), _) => format!("FAILED: {}", sanitize_for_terminal(e)),
                    (None, Some(_)) => format!(
                        "ok: {} fetched, {} new, {} queued",
                        run.fetched, run.new_alerts, run.queued
                    ),
                    (None, None) => "running or interrupted".into(),
                },
            ),
        };
        let _ = writeln!(
            out,
            "{:<20} {:<16} {:<4} {:<20} {result}",
            sanitize_for_terminal(&s.name),
            s.kind,
            if s.enabled { "on" } else { "off" },
            when
        );
    }
    let o = &status.outbox;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "outbox  queued {} · sending {} · delivered {} · failed {} · possible duplicates {}",
        o.queued, o.sending, o.delivered, o.failed, o.possible_duplicates
    );
    if !status.failed_rows.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "FAILED ROWS (retry with `tq-alerts-tui status --retry ID` or `--retry all`)"
        );
        for f in &status.failed_rows {
            let mut reason = f.word.clone().unwrap_or_else(|| "failed".into());
            if let Some(d) = &f.detail {
                let _ = write!(reason, ": {d}");
            }
            if let Some(h) = &f.hint {
                let _ = write!(reason, " — {h}");
            }
            let _ = writeln!(
                out,
                "  #{:<6} {} → {}  {}  ({} attempt{}, queued {})\n           {}",
                f.id,
                sanitize_for_terminal(&f.notifier),
                sanitize_for_terminal(&f.target),
                sanitize_for_terminal(&reason),
                f.attempts,
                if f.attempts == 1 { "" } else { "s" },
                local(f.created_at),
                sanitize_for_terminal(&f.summary)
            );
        }
    }
    if !status.recent_deliveries.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "RECENT DELIVERIES");
        for d in &status.recent_deliveries {
            let reason = d
                .reason
                .as_ref()
                .filter(|_| d.result != crate::store::AttemptResult::Delivered)
                .map(|r| format!("  {}", sanitize_for_terminal(&r.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {} → {}  {:<12} {:>5} ms  {}{reason}",
                local(d.at),
                sanitize_for_terminal(&d.notifier),
                sanitize_for_terminal(&d.target),
                d.result.as_str(),
                d.latency_ms,
                sanitize_for_terminal(&d.summary)
            );
        }
    }
    let _ = writeln!(out);
    if status.healthy {
        let _ = writeln!(out, "healthy");
    } else {
        let _ = writeln!(out, "UNHEALTHY");
        for p in &status.problems {
            let _ = writeln!(out, "  - {}", sanitize_for_terminal(p));
        }
    }
    out
}
