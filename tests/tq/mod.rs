//! Shared parts of the ThreatQ tests: the simulator with test-sized options, a config file
//! that points the product at it and at a receiver (secrets in files, as an operator would),
//! and one `run --once` through the real config loader, worker and state file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tq_alerts::config;
use tq_alerts::sim::threatq::{SimOptions, SimThreatQ, WatchPlan};
use tq_alerts::store::Store;
use tq_alerts::worker::{OnceReport, Worker};

pub const CLIENT_ID: &str = "3f1c0f1e9d7b4e0a8c5d2b6a9e4f7c21";
/// Characters that change under percent- and base64-encoding, to catch a leak in any form.
pub const CLIENT_SECRET: &str = "Zr7+q/W=k&s%3Dé-p@ss";

pub fn sim_options(seed: u64) -> SimOptions {
    SimOptions {
        seed: Some(seed),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        email: "soc-automation@threatq.example.net".into(),
        password: CLIENT_SECRET.into(),
        watch: WatchPlan::default(),
        ..SimOptions::default()
    }
}

pub async fn start_sim(seed: u64) -> SimThreatQ {
    SimThreatQ::start(sim_options(seed)).await.unwrap()
}

/// A config in `dir` for `sim` and a webhook at `hook_url`, with `services` appended.
/// The notifier sends every alert on its own (digests off) as fast as the receiver takes it.
pub fn write_config(
    dir: &Path,
    threatq_url: &str,
    hook_url: &str,
    threatq_extra: &str,
    services: &str,
) -> PathBuf {
    std::fs::write(dir.join("tq-secret.txt"), CLIENT_SECRET).unwrap();
    std::fs::write(dir.join("hook-url.txt"), hook_url).unwrap();
    let timeout = if threatq_extra.contains("timeout =") {
        ""
    } else {
        "timeout = \"5s\""
    };
    let text = format!(
        r#"[state]
path = "state.db"

[threatq]
url = "{threatq_url}"
auth = "client-credentials"
client_id = "{CLIENT_ID}"
client_secret_file = "tq-secret.txt"
{timeout}
{threatq_extra}

{services}

[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_file = "hook-url.txt"
formatter = "plain-text"
rate = 1000.0
burst = 1000
digest_threshold = 100000

[[formatters]]
name = "plain-text"
kind = "plain"
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub const WATCHLIST: &str = r#"[[services]]
name = "watchlist"
kind = "watchlist"
interval = "1h"
page_size = 25
collections = ["indicators", "events", "adversaries"]
notifiers = ["soar-hook"]
"#;

/// `run --once` in this process: load the file, build from it, poll each service once and
/// send what is due.
pub async fn run_once(config_path: &Path) -> OnceReport {
    let config = config::load(config_path).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&config.state.resolved_path()).unwrap();
    let worker = Worker::from_config(&config, store).unwrap();
    worker.run_once().await.unwrap()
}

pub fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.db")
}

/// The error of the one service in a report, if it failed.
pub fn service_error(report: &OnceReport, service: &str) -> Option<String> {
    report.services.get(service).and_then(|r| r.clone().err())
}

/// How many alerts the watchlist's first poll finds: watched objects touched within the
/// default 24 h look-back.
pub fn first_poll_alerts(sim: &SimThreatQ) -> usize {
    sim.watched_touched_since(chrono::Utc::now() - chrono::Duration::hours(24))
        .len()
}
