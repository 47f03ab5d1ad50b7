//! A service with no notifier attached must not use up its alerts: it does not poll (the
//! cursor stays), `check` warns, and once a notifier is attached every alert is delivered.

mod common;
mod tq;

use tq_alerts::store::Store;

const NO_NOTIFIER: &str = r#"[[services]]
name = "watchlist"
kind = "watchlist"
interval = "1h"
notifiers = []
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_notifiers_keeps_its_alerts_for_when_one_is_attached() {
    let sim = tq::start_sim(31).await;
    let receiver = common::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let expected = tq::first_poll_alerts(&sim);
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        NO_NOTIFIER,
    );

    let check = std::process::Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("service 'watchlist' has no notifier"),
        "{stderr}"
    );
    assert!(
        stderr.contains("config.toml:"),
        "the warning says where: {stderr}"
    );

    let report = tq::run_once(&config).await;
    let error = tq::service_error(&report, "watchlist").expect("the run says why it did nothing");
    assert!(error.contains("no notifier is attached"), "{error}");
    let store = Store::open(&tq::state_path(dir.path())).unwrap();
    assert_eq!(
        store.cursor("watchlist").unwrap(),
        None,
        "the cursor did not move"
    );
    drop(store);

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("notifiers = []", r#"notifiers = ["soar-hook"]"#);
    std::fs::write(&config, text).unwrap();
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{report:?}");
    let mut keys = receiver.keys();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        expected,
        "every alert arrives once a notifier is attached"
    );
}
