//! No secret — the webhook URL's path, header tokens — appears in the log, the state file or
//! any command's output, in plain, percent-encoded or base64 form, even when the receiver
//! echoes the request back in its error answers.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine as _;
use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::notifiers::WebhookNotifier;

const TOKEN: &str = "Bearer soar-9f3a7c1e55d04b2b";

fn forms(secret: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        b64.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ]
}

fn grep(haystack: &[u8], secrets: &[String], place: &str) {
    let text = String::from_utf8_lossy(haystack);
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{place} holds a secret form `{s}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_state_and_output() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state.db");
    tq_alerts::logging::init(&state).unwrap();

    // A receiver that echoes the path and the Authorization header back in its errors.
    let receiver = common::Receiver::scripted(Box::new(|n, r| {
        let echo = format!(
            "no route for {} (auth {})",
            r.uri,
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        );
        match n {
            0 => (StatusCode::INTERNAL_SERVER_ERROR, echo).into_response(),
            _ => (StatusCode::FORBIDDEN, echo).into_response(),
        }
    }))
    .await;
    let url = receiver.url();
    let secret_path = url::Url::parse(&url).unwrap().path().to_string();

    let mut notifier = WebhookNotifier::new(
        "soar-hook",
        Secret::new(&url, SecretSource::Env("SOAR_WEBHOOK_URL".into())),
        vec![(
            "Authorization".into(),
            Secret::new(TOKEN, SecretSource::Env("SOAR_AUTH".into())),
        )],
        DeliverySettings {
            rate: 100.0,
            ..DeliverySettings::default()
        },
        &Default::default(),
    )
    .unwrap();
    notifier.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    let mut service = common::BatchService::new("watchlist", common::real_alerts(2, "watchlist"));
    service.notifiers.push(Arc::new(notifier));
    let mut worker = tq_alerts::worker::Worker::new(tq_alerts::store::Store::open(&state).unwrap());
    worker.add_service(Box::new(service));
    let report = worker.run_once().await.unwrap();
    assert_eq!(report.failed.len(), 2, "both rows end on the 403");
    assert!(receiver.count() >= 3, "the 500 was retried");

    let config = home.path().join("tq.toml");
    std::fs::write(
        &config,
        format!(
            "[state]\npath = \"{}\"\n\n[[notifiers]]\nname = \"soar-hook\"\nkind = \"webhook\"\nurl_env = \"SOAR_WEBHOOK_URL\"\nheaders_env = {{ Authorization = \"SOAR_AUTH\" }}\n",
            state.display()
        ),
    )
    .unwrap();
    let mut outputs = Vec::new();
    for args in [
        &["check"][..],
        &["status"],
        &["status", "--json"],
        &["run", "--once"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("SOAR_WEBHOOK_URL", &url)
            .env("SOAR_AUTH", TOKEN)
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        outputs.push((args.join(" "), out));
    }

    let mut secrets = forms(&url);
    secrets.extend(forms(&secret_path));
    secrets.extend(forms(TOKEN));
    secrets.extend(forms(TOKEN.trim_start_matches("Bearer ")));
    for (args, out) in &outputs {
        grep(&out.stdout, &secrets, &format!("stdout of `{args}`"));
        grep(&out.stderr, &secrets, &format!("stderr of `{args}`"));
    }
    // The failure is still explained: status and word, with the secret masked.
    let status = String::from_utf8_lossy(&outputs[1].1.stdout).into_owned();
    assert!(status.contains("http 403"), "{status}");
    assert!(
        status.contains("••••••"),
        "the echoed secret is masked: {status}"
    );

    for entry in std::fs::read_dir(home.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path != config {
            grep(
                &std::fs::read(&path).unwrap(),
                &secrets,
                &path.display().to_string(),
            );
        }
    }
    assert!(Path::new(&tq_alerts::logging::log_path(&state)).exists());
}
