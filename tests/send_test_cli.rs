//! `send-test --notifier NAME` (PRODUCT.md §5): a sample alert marked as a test, made from a
//! real indicator, through the real notifier path to each target of a notifier; one line per
//! target with Slack's `ts` or the word and hint; the exit code follows the results; each result
//! is in the delivery log when the state file is free.

mod slack_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slack_common::{options, settings, sim, slack_notifier};
use tq_alerts::sim::slack::{Fault, FaultRule, SlackSim};
use tq_alerts::store::{AttemptResult, DeliveryFilter, StateLock, Store};
use tq_alerts::worker::{TEST_SERVICE, TestResult, sample_alert, send_test};

const TOKEN_VAR: &str = "TQ_SEND_TEST_SLACK_TOKEN";
const HOOK_VAR: &str = "TQ_SEND_TEST_WEBHOOK_URL";

#[tokio::test]
async fn each_target_gets_one_result_and_one_log_entry() {
    let sim = sim(options()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts", "general"],
        &["analyst1", "analyst9"],
        settings(500.0, 20),
        Some(store.clone()),
    );
    let results = send_test(notifier.as_ref(), Some(&store)).await;
    let targets: Vec<&str> = results.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["#tq-alerts", "general", "analyst1", "analyst9"]);
    assert!(results[..3].iter().all(|r| r.ok()));
    let TestResult::Delivered {
        receipt: Some(receipt),
    } = &results[0].result
    else {
        panic!("{:?}", results[0]);
    };
    assert_eq!(receipt.channel, "C0TQALERT1");
    assert_eq!(
        results[0].to_string(),
        format!("ok      #tq-alerts  ts {} in C0TQALERT1", receipt.ts)
    );
    let TestResult::Failed { reason, transient } = &results[3].result else {
        panic!("{:?}", results[3]);
    };
    assert_eq!(
        (reason.word.as_str(), *transient),
        ("user_not_found", false)
    );
    assert!(
        results[3]
            .to_string()
            .starts_with("failed  analyst9  user_not_found: no person named 'analyst9'")
    );

    // The message is the sample: a real indicator, marked as a test.
    let sample = sample_alert();
    let value = tq_alerts::text::defang(&sample.object.value).into_owned();
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 3);
    for m in &accepted {
        let text = m.payload["text"].as_str().unwrap();
        assert!(text.contains("[test]") && text.contains(&value), "{text}");
    }
    // Logged under the service `(test)`, with receipts for the ones delivered.
    let log = store.deliveries(&DeliveryFilter::default()).unwrap();
    assert_eq!(log.len(), 4);
    assert!(
        log.iter()
            .all(|d| d.service == TEST_SERVICE && d.row_id.is_none())
    );
    assert_eq!(
        log.iter()
            .filter(|d| d.result == AttemptResult::Delivered && d.receipt.is_some())
            .count(),
        3
    );
    assert!(results.iter().all(|r| r.logged_as.is_some()));
}

#[tokio::test]
async fn a_rate_limited_test_waits_and_goes_through() {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("chat.postMessage", Fault::RateLimited(1)).times(1));
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(500.0, 20),
        None,
    );
    let results = send_test(notifier.as_ref(), None).await;
    assert!(results[0].ok(), "{}", results[0]);
    assert_eq!(sim.accepted().len(), 1);
}

fn write_config(dir: &Path, sim: &SlackSim, users: &[&str]) -> PathBuf {
    let users: Vec<String> = users.iter().map(|u| format!("{u:?}")).collect();
    let text = format!(
        r##"[state]
path = "{state}"

[[notifiers]]
name = "soc-slack"
kind = "slack"
token_env = "{TOKEN_VAR}"
channels = ["#tq-alerts", "general"]
users = [{users}]
api_url = "{api}"
formatter = "plain-text"

[[notifiers]]
name = "team-hook"
kind = "slack-webhook"
url_env = "{HOOK_VAR}"

[[formatters]]
name = "plain-text"
kind = "plain"
"##,
        state = dir.join("state.db").display(),
        users = users.join(", "),
        api = sim.api_url(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Run the binary off the async runtime (the simulator answers on it meanwhile).
async fn run(config: &Path, sim: &SlackSim, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env(TOKEN_VAR, sim.token())
        .env(HOOK_VAR, sim.webhook_url())
        .env("XDG_STATE_HOME", config.parent().unwrap());
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_one_line_per_target_and_exits_1_when_one_failed() {
    let sim = sim(options()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, &["analyst1", "analyst9"]);
    let out = run(&config, &sim, &["send-test", "--notifier", "soc-slack"]).await;
    let shown = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{shown:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(
        shown[0].starts_with("ok      #tq-alerts  ts "),
        "{}",
        shown[0]
    );
    assert!(shown[1].starts_with("ok      general  ts "), "{}", shown[1]);
    assert!(
        shown[2].starts_with("ok      analyst1  ts ") && shown[2].contains(" in D"),
        "{}",
        shown[2]
    );
    assert!(
        shown[3].starts_with("failed  analyst9  user_not_found"),
        "{}",
        shown[3]
    );
    // The token never shows.
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(sim.token()));
    // Logged in the state file the config names.
    let store = Store::open_read_only(&dir.path().join("state.db")).unwrap();
    assert_eq!(
        store.deliveries(&DeliveryFilter::default()).unwrap().len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_exits_0_when_every_target_got_it() {
    let sim = sim(options()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, &["daniel.okafor@soc.tq-sim.test"]);
    let out = run(&config, &sim, &["send-test", "--notifier", "soc-slack"]).await;
    assert_eq!(out.status.code(), Some(0), "{:#?}", lines(&out));
    assert_eq!(lines(&out).len(), 3);

    let hook = run(&config, &sim, &["send-test", "--notifier", "team-hook"]).await;
    let shown = lines(&hook);
    assert_eq!(hook.status.code(), Some(0), "{shown:#?}");
    assert_eq!(shown, vec!["ok      127.0.0.1".to_string()]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&hook.stdout),
        String::from_utf8_lossy(&hook.stderr)
    );
    let secret = url::Url::parse(&sim.webhook_url())
        .unwrap()
        .path()
        .to_string();
    assert!(!all.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_notifier_is_named_with_the_ones_there_are() {
    let sim = sim(options()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, &["analyst1"]);
    let out = run(&config, &sim, &["send-test", "--notifier", "soc-slak"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no notifier named 'soc-slak'; the notifiers are: soc-slack, team-hook"),
        "{err}"
    );
    assert!(sim.accepted().is_empty());
    let missing = run(&config, &sim, &["send-test"]).await;
    assert_eq!(missing.status.code(), Some(2), "--notifier is required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_owned_by_a_running_worker_is_left_alone() {
    let sim = sim(options()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, &["analyst1"]);
    let state = dir.path().join("state.db");
    let _held = StateLock::acquire(&state).unwrap();
    let out = run(&config, &sim, &["send-test", "--notifier", "soc-slack"]).await;
    assert_eq!(out.status.code(), Some(0), "{:#?}", lines(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by pid") && err.contains("not logged"),
        "{err}"
    );
    assert_eq!(sim.accepted().len(), 3);
    assert!(
        !state.exists(),
        "the state file was not created behind the owner's back"
    );
}
