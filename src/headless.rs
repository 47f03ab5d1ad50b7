//! The worker's events as plain lines, for `run` under systemd and `demo --headless`: one line
//! per run and per delivery outcome, with every string from outside made safe for a terminal.

use chrono::Local;

use crate::store::AttemptResult;
use crate::text::sanitize_for_terminal;
use crate::worker::WorkerEvent;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Runs, failures and retries (a service log).
    Quiet,
    /// Also every delivery (the demo).
    Deliveries,
}

/// The line for an event, or `None` for events not worth a line.
pub fn event_line(event: &WorkerEvent, verbosity: Verbosity) -> Option<String> {
    let now = Local::now().format("%H:%M:%S");
    let line = match event {
        WorkerEvent::RunFinished {
            service, result, ..
        } => match result {
            Ok(q) => format!(
                "{now} {}: run ok — {} queued message(s) for {} new alert(s){}",
                sanitize_for_terminal(service),
                q.rows,
                q.alerts,
                if q.already_queued > 0 {
                    format!(", {} already sent", q.already_queued)
                } else {
                    String::new()
                }
            ),
            Err(e) => format!(
                "{now} {}: run FAILED — {}",
                sanitize_for_terminal(service),
                sanitize_for_terminal(e)
            ),
        },
        WorkerEvent::Delivery(d) => {
            let what = sanitize_for_terminal(&d.summary);
            let route = format!(
                "{} → {}",
                sanitize_for_terminal(&d.notifier),
                sanitize_for_terminal(&d.target)
            );
            let reason = d
                .reason
                .as_ref()
                .map(|r| sanitize_for_terminal(&r.to_string()).into_owned())
                .unwrap_or_default();
            match d.result {
                AttemptResult::Delivered if verbosity == Verbosity::Deliveries => format!(
                    "{now} {route}: delivered {what} ({} ms)",
                    d.latency.as_millis()
                ),
                AttemptResult::Delivered => return None,
                AttemptResult::Failed => {
                    format!("{now} {route}: FAILED {what} — {reason} (row {})", d.row_id)
                }
                AttemptResult::Retrying => format!(
                    "{now} {route}: will retry {what} — {reason} (attempt {})",
                    d.attempts
                ),
                AttemptResult::RateLimited => {
                    format!("{now} {route}: rate limited, waiting — {what}")
                }
            }
        }
        WorkerEvent::Warning { message } => {
            format!("{now} warning: {}", sanitize_for_terminal(message))
        }
        _ => return None,
    };
    Some(line)
}

/// Print the worker's events as lines on stdout until it stops. Long work (a first baseline,
/// a large collection) shows its progress on stderr when stderr is a terminal, on one line
/// that the next line replaces. A burst larger than the event buffer skips lines rather than
/// ending the printer.
pub fn print_events(
    mut events: tokio::sync::broadcast::Receiver<WorkerEvent>,
    verbosity: Verbosity,
) -> tokio::task::JoinHandle<()> {
    use std::io::{IsTerminal, Write};
    use tokio::sync::broadcast::error::RecvError;
    let progress_to_terminal = std::io::stderr().is_terminal();
    tokio::spawn(async move {
        let mut progress_shown = false;
        loop {
            let event = match events.recv().await {
                Ok(WorkerEvent::Stopped) | Err(RecvError::Closed) => break,
                Ok(event) => event,
                Err(RecvError::Lagged(n)) => {
                    println!("({n} events not shown: too many at once)");
                    continue;
                }
            };
            if let WorkerEvent::Progress { service, progress } = &event {
                if progress_to_terminal {
                    let total = progress.total.map(|t| format!("/{t}")).unwrap_or_default();
                    let mut err = std::io::stderr();
                    let _ = write!(
                        err,
                        "\r\x1b[2K{}: {} {}{total}",
                        sanitize_for_terminal(service),
                        sanitize_for_terminal(&progress.what),
                        progress.done
                    );
                    let _ = err.flush();
                    progress_shown = true;
                }
                continue;
            }
            if let Some(line) = event_line(&event, verbosity) {
                if progress_shown {
                    eprint!("\r\x1b[2K");
                    progress_shown = false;
                }
                println!("{line}");
            }
        }
        if progress_shown {
            eprint!("\r\x1b[2K");
        }
    })
}
