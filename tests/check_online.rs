//! `check --online` as an operator runs it against both simulators: ThreatQ login and one page
//! per service, Slack `auth.test` and every channel and user resolved — sending nothing — and a
//! rejected Slack token fails with the variable that holds it, never the token.

mod tq;

use std::path::Path;
use std::process::Command;

use tq_alerts::sim::slack::{SlackSim, SlackSimOptions};

fn config(dir: &Path, threatq_url: &str, slack: &SlackSim) -> std::path::PathBuf {
    let path = tq::write_config(
        dir,
        threatq_url,
        "http://127.0.0.1:9/unused",
        "",
        r#"[[services]]
name = "watchlist"
kind = "watchlist"
notifiers = ["soc-slack"]
"#,
    );
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        r##"
[[notifiers]]
name = "soc-slack"
kind = "slack"
token_env = "SLACK_BOT_TOKEN"
channels = ["#tq-alerts", "general"]
users = ["analyst1"]
api_url = "{}"
"##,
        slack.api_url()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

fn check(config: &Path, token: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["check", "--online", "--config"])
        .arg(config)
        .env("SLACK_BOT_TOKEN", token)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_reaches_threatq_and_slack_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let threatq = tq::start_sim(11).await;
    let slack = SlackSim::start_local(SlackSimOptions::default())
        .await
        .unwrap();
    let path = config(dir.path(), threatq.base_url().as_str(), &slack);

    let token = slack.token().to_string();
    let cfg = path.clone();
    let (ok, text) = tokio::task::spawn_blocking(move || check(&cfg, &token))
        .await
        .unwrap();
    assert!(ok, "{text}");
    assert!(text.contains("threatq: logged in"), "{text}");
    assert!(text.contains("auth.test"), "{text}");
    assert!(
        text.contains("#tq-alerts") && text.contains("analyst1"),
        "{text}"
    );
    assert!(slack.accepted().is_empty(), "check sends nothing");
    assert_eq!(slack.calls_of("chat.postMessage"), 0);

    let cfg = path.clone();
    let (ok, text) = tokio::task::spawn_blocking(move || check(&cfg, "xoxb-revoked-000000000000"))
        .await
        .unwrap();
    assert!(!ok, "{text}");
    assert!(
        text.contains("SLACK_BOT_TOKEN"),
        "the hint names the variable: {text}"
    );
    assert!(
        !text.contains("xoxb-revoked-000000000000"),
        "the token is never shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_spellings_of_one_channel_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let threatq = tq::start_sim(12).await;
    let slack = SlackSim::start_local(SlackSimOptions::default())
        .await
        .unwrap();
    let path = config(dir.path(), threatq.base_url().as_str(), &slack);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        r##"channels = ["#tq-alerts", "general"]"##,
        r##"channels = ["#tq-alerts", "C0TQALERT1"]"##,
    );
    std::fs::write(&path, text).unwrap();
    let token = slack.token().to_string();
    let (ok, text) = tokio::task::spawn_blocking(move || check(&path, &token))
        .await
        .unwrap();
    assert!(!ok, "{text}");
    assert!(
        text.contains("is already a target as `#tq-alerts`"),
        "{text}"
    );
}
