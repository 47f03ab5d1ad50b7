//! ThreatQ failing mid-run: a token that expires, a 500, an answer slower than the timeout,
//! malformed JSON, `errors` inside a 200. The run says which path failed and how; the cursor
//! stays; the next run delivers every pending alert exactly once.

mod common;
mod tq;

use std::time::Duration;

use chrono::Utc;
use common::Receiver;
use tq_alerts::sim::threatq::{Fault, SimRef};
use tq_alerts::store::Store;

fn assert_each_once(receiver: &Receiver, expected: &[SimRef]) {
    let keys = receiver.keys();
    assert_eq!(keys.len(), expected.len(), "{keys:?}");
    for r in expected {
        let n = keys
            .iter()
            .filter(|k| k.starts_with(&r.key_prefix()))
            .count();
        assert_eq!(n, 1, "{r:?} arrived {n} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_run_costs_one_login_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(21).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        tq::WATCHLIST,
    );
    let expected = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    // The third page of indicators finds the token expired.
    sim.inject_after(Fault::Unauthorized, "/api/indicators", 2, 1);
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{:?}", report.services);
    assert_eq!(sim.token_requests(), 2, "one login, one re-login");
    let unauthorized = sim
        .arrivals()
        .iter()
        .filter(|a| a.status == Some(401))
        .count();
    assert_eq!(unauthorized, 1);
    assert_each_once(&receiver, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_names_path_and_status_keeps_the_cursor_and_loses_nothing() {
    let cases: [(Fault, &str); 4] = [
        (Fault::ServerError, "HTTP 500"),
        (Fault::Slow(Duration::from_millis(2500)), "timed out"),
        (
            Fault::MalformedJson,
            "HTTP 200 with a body that is not the expected JSON",
        ),
        (
            Fault::ErrorsIn200,
            "HTTP 200 with errors: with: The selected with is invalid.",
        ),
    ];
    for (i, (fault, words)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let sim = tq::start_sim(30 + i as u64).await;
        let receiver = Receiver::start().await;
        let config = tq::write_config(
            dir.path(),
            sim.base_url().as_str(),
            &receiver.url(),
            "timeout = \"1s\"",
            tq::WATCHLIST,
        );
        let expected = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
        sim.inject_after(fault, "/api/indicators", 1, 1);
        let report = tq::run_once(&config).await;
        let error = tq::service_error(&report, "watchlist")
            .unwrap_or_else(|| panic!("{fault:?}: the run should fail"));
        assert!(
            error.contains("GET ") && error.contains("/api/indicators") && error.contains(words),
            "{fault:?}: {error}"
        );
        assert!(!report.success());
        assert_eq!(
            receiver.count(),
            0,
            "{fault:?}: nothing queued from a failed poll"
        );
        let store = Store::open(&tq::state_path(dir.path())).unwrap();
        assert_eq!(store.cursor("watchlist").unwrap(), None, "{fault:?}");
        drop(store);

        let report = tq::run_once(&config).await;
        assert!(report.success(), "{fault:?}: {:?}", report.services);
        assert_each_once(&receiver, &expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_name_the_client_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(22).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        tq::WATCHLIST,
    );
    std::fs::write(dir.path().join("tq-secret.txt"), "wrong-secret-value").unwrap();
    let report = tq::run_once(&config).await;
    let error = tq::service_error(&report, "watchlist").unwrap();
    assert_eq!(
        error,
        format!(
            "ThreatQ rejected the credentials for {} (POST /api/token: HTTP 401)",
            tq::CLIENT_ID
        )
    );
    assert!(!error.contains("wrong-secret-value"));
    let store = Store::open(&tq::state_path(dir.path())).unwrap();
    let runs = store.last_runs().unwrap();
    assert!(runs.iter().any(|r| r.auth_failure), "{runs:?}");
}
