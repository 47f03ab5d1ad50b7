//! TLS to ThreatQ, through `check --online` as an operator runs it: the simulator over HTTPS
//! with its own CA is refused without `ca_file` (saying why), trusted with it, and reached
//! with `insecure_skip_verify` only with a warning; plain http off loopback is refused.

mod tq;

use std::path::Path;
use std::process::Command;

use tq_alerts::sim::threatq::{SimOptions, SimThreatQ};

fn check_online(config: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["check", "--online", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_needs_ca_file_or_an_explicit_insecure_switch() {
    let sim = SimThreatQ::start(SimOptions {
        tls: true,
        ..tq::sim_options(61)
    })
    .await
    .unwrap();
    assert_eq!(sim.base_url().scheme(), "https");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("threatq-ca.pem"), sim.ca_pem().unwrap()).unwrap();
    let hook = "http://127.0.0.1:9/hooks/unused";
    let url = sim.base_url().as_str().to_string();

    let config = tq::write_config(dir.path(), &url, hook, "", tq::WATCHLIST);
    let (ok, stdout, _) = tokio::task::spawn_blocking(move || check_online(&config))
        .await
        .unwrap();
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("threatq: FAILED — POST https://127.0.0.1:")
            && stdout.contains("/api/token: TLS error")
            && stdout.contains("UnknownIssuer"),
        "{stdout}"
    );

    let config = tq::write_config(
        dir.path(),
        &url,
        hook,
        "ca_file = \"threatq-ca.pem\"",
        tq::WATCHLIST,
    );
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || check_online(&config))
        .await
        .unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "threatq: logged in to {}",
            url.trim_end_matches('/')
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("service 'watchlist': /api/indicators ok ("),
        "{stdout}"
    );
    assert!(
        !stdout.contains("warning") && !stderr.contains("insecure"),
        "{stdout}{stderr}"
    );

    let config = tq::write_config(
        dir.path(),
        &url,
        hook,
        "insecure_skip_verify = true",
        tq::WATCHLIST,
    );
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || check_online(&config))
        .await
        .unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stderr.contains("`insecure_skip_verify` in [threatq] turns off TLS certificate checks"),
        "{stderr}"
    );
    assert!(
        stdout.contains("threatq: warning — TLS certificates of"),
        "{stdout}"
    );
    assert!(stdout.contains("threatq: logged in to"), "{stdout}");
}

#[test]
fn plain_http_to_a_remote_threatq_is_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = tq::write_config(
        dir.path(),
        "http://threatq.example.net",
        "http://127.0.0.1:9/hooks/unused",
        "",
        tq::WATCHLIST,
    );
    let (ok, stdout, stderr) = check_online(&config);
    assert!(!ok);
    assert!(
        stderr.contains("plain http is refused for http://threatq.example.net (only loopback hosts may use http); use https"),
        "{stdout}{stderr}"
    );
}
