//! Resident memory of `status` with 100,000 deliveries in the state file (PRODUCT.md §10:
//! under 50 MB). Fills a state file through the real store API, then runs the release binary
//! under `/usr/bin/time` and reports its peak resident set size.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use tq_alerts::alert::{Alert, NotificationType, ObjectKind, ThreatObject};
use tq_alerts::notifier::Receipt;
use tq_alerts::store::{Attempt, AttemptResult, PollCommit, Route, RowStatus, Store};

const DELIVERIES: usize = 100_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.db");
    let store = Store::open(&state).expect("state file");
    let started = Instant::now();
    let indicators: Vec<_> = tq_alerts::sim::data::indicators().collect();
    let batch = 5_000;
    let mut written = 0;
    while written < DELIVERIES {
        let alerts: Vec<Alert> = (0..batch)
            .map(|i| {
                let n = written + i;
                let (report, indicator) = indicators[n % indicators.len()];
                let mut o =
                    ThreatObject::new(ObjectKind::Indicator, n as u64, indicator.value.clone());
                o.object_type = Some(indicator.threatq_type.into());
                o.sources = vec![report.publisher.into()];
                Alert::new("watchlist", NotificationType::Watchlist, o)
            })
            .collect();
        let routes = [Route {
            notifier: "soc-slack".into(),
            targets: vec!["#tq-alerts".into()],
            digest_threshold: usize::MAX,
            digest_size: 20,
        }];
        store
            .commit_poll(PollCommit {
                service: "watchlist",
                notification_type: NotificationType::Watchlist,
                cursor: None,
                snapshots: &[],
                alerts: &alerts,
                routes: &routes,
            })
            .expect("commit");
        for row in store.rows(RowStatus::Queued, batch).expect("rows") {
            let attempt = Attempt {
                at: Utc::now(),
                result: AttemptResult::Delivered,
                counted: true,
                reason: None,
                status: Some(200),
                payload: Some(format!(
                    "{{\"channel\":\"C0TQALERTS\",\"text\":\"{}\"}}",
                    tq_alerts::store::summarize(&row.data)
                )),
                receipt: Some(Receipt {
                    channel: "C0TQALERTS".into(),
                    ts: format!("1764770000.{:06}", row.id),
                }),
                latency: Duration::from_millis(120),
                next_attempt_at: None,
                maybe_received: false,
            };
            store.record_attempt(&row, &attempt).expect("record");
        }
        written += batch;
    }
    println!(
        "filled {DELIVERIES} deliveries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let size: u64 = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("state file: {:.1} MB", size as f64 / 1e6);

    let config = dir.path().join("tq.toml");
    std::fs::write(
        &config,
        format!("[state]\npath = \"{}\"\n", state.display()),
    )
    .expect("config");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .expect("/usr/bin/time (GNU time) runs the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("GNU time prints the peak RSS in KB");
    println!(
        "status with {DELIVERIES} deliveries: peak resident memory {:.1} MB (budget 50 MB)",
        kb / 1024.0
    );
}
