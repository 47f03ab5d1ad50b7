//! The ThreatQ login's secrets never leave the wire: `run --once` as a child process, with
//! both grants, through failures (a 500, a rejected login) and success, and neither its
//! output, its log nor its state file holds the secret — plain, percent-encoded or base64
//! (alone or as the `client_id:secret` of HTTP Basic).

mod common;
mod tq;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::Receiver;
use tq_alerts::sim::threatq::Fault;

fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![
        secret.to_string(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        STANDARD.encode(secret),
        URL_SAFE.encode(secret),
        STANDARD.encode(format!("{}:{secret}", tq::CLIENT_ID)),
    ];
    // Without padding, as some encoders write it.
    let trimmed: Vec<String> = forms
        .iter()
        .map(|f| f.trim_end_matches('=').to_string())
        .collect();
    forms.extend(trimmed);
    forms
}

fn run_once(config: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["run", "--once", "--config"])
        .arg(config)
        .output()
        .unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_nowhere(secret: &str, dir: &Path, output: &str) {
    let mut places: Vec<(String, Vec<u8>)> = vec![("output".into(), output.as_bytes().to_vec())];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The operator's own secret files and config are where the secret belongs.
        if name.starts_with("state") || name.ends_with(".log") {
            places.push((name, std::fs::read(&path).unwrap()));
        }
    }
    assert!(places.iter().any(|(n, _)| n == "state.db"));
    assert!(places.iter().any(|(n, _)| n == "tq-alerts.log"));
    for form in forms(secret) {
        for (name, bytes) in &places {
            let found = bytes.windows(form.len()).any(|w| w == form.as_bytes());
            assert!(!found, "the secret appears as `{form}` in {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_form_of_the_threatq_secret_reaches_output_log_or_state() {
    let sim = tq::start_sim(71).await;
    let receiver = Receiver::start().await;
    let url = sim.base_url().as_str().to_string();

    // Client credentials: a failing run (500), then a good one.
    let dir = tempfile::tempdir().unwrap();
    let config = tq::write_config(dir.path(), &url, &receiver.url(), "", tq::WATCHLIST);
    sim.inject(Fault::ServerError, "/api/indicators", 1);
    let path = config.clone();
    let mut output = tokio::task::spawn_blocking(move || run_once(&path))
        .await
        .unwrap();
    assert!(
        output.contains("run FAILED — GET /api/indicators: HTTP 500"),
        "{output}"
    );
    let path = config.clone();
    output += &tokio::task::spawn_blocking(move || run_once(&path))
        .await
        .unwrap();
    assert!(receiver.count() > 0, "{output}");
    assert_nowhere(tq::CLIENT_SECRET, dir.path(), &output);

    // The password grant, rejected once (a wrong password is also a secret) and accepted.
    let dir = tempfile::tempdir().unwrap();
    let config = tq::write_config(dir.path(), &url, &receiver.url(), "", tq::WATCHLIST);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "auth = \"client-credentials\"",
            "auth = \"password\"\nemail = \"soc-automation@threatq.example.net\"",
        )
        .replace(
            "client_secret_file = \"tq-secret.txt\"",
            "password_file = \"tq-password.txt\"",
        );
    std::fs::write(&config, text).unwrap();
    let wrong = "Wr0ng+pa/ss=word%";
    std::fs::write(dir.path().join("tq-password.txt"), wrong).unwrap();
    let path = config.clone();
    let mut output = tokio::task::spawn_blocking(move || run_once(&path))
        .await
        .unwrap();
    assert!(
        output.contains("ThreatQ rejected the credentials for soc-automation@threatq.example.net"),
        "{output}"
    );
    std::fs::write(dir.path().join("tq-password.txt"), tq::CLIENT_SECRET).unwrap();
    let path = config.clone();
    output += &tokio::task::spawn_blocking(move || run_once(&path))
        .await
        .unwrap();
    assert!(output.contains("watchlist: run ok"), "{output}");
    assert_nowhere(tq::CLIENT_SECRET, dir.path(), &output);
    assert_nowhere(wrong, dir.path(), &output);
}
