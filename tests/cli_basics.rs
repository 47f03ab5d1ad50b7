//! The command line as an operator meets it: `check` on good and bad files, `init`, `status`,
//! the single owner of a state file, and what happens with no config at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tq-alerts-tui");

/// Dummy values for every variable the fixtures, the example and the starter name.
const DUMMY_ENV: &[(&str, &str)] = &[
    ("TQ_CLIENT_SECRET", "dummy-client-secret"),
    ("TQ_PASSWORD", "dummy-password"),
    ("SLACK_BOT_TOKEN", "xoxb-dummy-token"),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T000/B000/XXXX",
    ),
    (
        "SOAR_WEBHOOK_URL",
        "https://soar.example.net/hooks/SECRETPATH",
    ),
    ("SOAR_AUTH", "Bearer dummy-soar-token"),
    (
        "PLAIN_HTTP_HOOK",
        "http://10.0.0.5/hooks/T000/B000/SECRETPATH",
    ),
];

/// The binary with a clean, isolated environment: its own HOME and XDG folders.
fn tq(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    cmd
}

fn with_dummies(cmd: &mut Command) -> &mut Command {
    for (k, v) in DUMMY_ENV {
        cmd.env(k, v);
    }
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_exits_1_on_every_bad_fixture_with_its_exact_message() {
    let home = tempfile::tempdir().unwrap();
    let dir = Path::new("tests/fixtures/config/bad");
    let mut fixtures: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 20, "only {} bad fixtures", fixtures.len());
    for fixture in fixtures {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let relative = dir.join(&name);
        let expected = std::fs::read_to_string(fixture.with_extension("expected")).unwrap();
        let out = with_dummies(tq(home.path()).arg("check").arg("--config").arg(&relative))
            .output()
            .unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                stderr.contains(line),
                "{name}: expected\n{line}\nin\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn check_exits_0_on_the_init_output_and_on_every_example() {
    let home = tempfile::tempdir().unwrap();
    let starter = home.path().join("starter.toml");
    let out = tq(home.path()).arg("init").arg(&starter).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let mut files = vec![starter, PathBuf::from("assets/example.toml")];
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/good"))
            .unwrap()
    {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    for file in files {
        let out = with_dummies(tq(home.path()).arg("check").arg("--config").arg(&file))
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{stderr}",
            file.display()
        );
        assert!(stdout.contains(": ok"), "{stdout}");
    }
}

#[test]
fn init_writes_a_private_starter_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let out = tq(home.path()).arg("init").output().unwrap();
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    let written = home.path().join("config/tq-alerts/config.toml");
    assert!(stdout.contains(&written.display().to_string()), "{stdout}");
    let mode = std::fs::metadata(&written).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the config names secret sources: owner only");
    let before = std::fs::read_to_string(&written).unwrap();

    let again = tq(home.path()).arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).1.contains("already exists"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), before);
}

#[test]
fn with_no_config_every_command_says_where_it_looked_and_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    for command in ["check", "status", "run"] {
        let out = tq(home.path()).arg(command).output().unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert!(
            stderr.contains("config/tq-alerts/config.toml"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("tq-alerts-tui init") && stderr.contains("tq-alerts-tui demo"),
            "{stderr}"
        );
        assert!(
            stderr.lines().count() <= 2,
            "one or two plain lines: {stderr}"
        );
    }
}

#[test]
fn bad_usage_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let out = tq(home.path())
        .args(["status", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_are_printed_for_bash() {
    let home = tempfile::tempdir().unwrap();
    let out = tq(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains("tq-alerts-tui"));
}

/// A config with one webhook notifier and no services, its state in `home`.
fn webhook_only_config(home: &Path) -> PathBuf {
    let path = home.join("tq.toml");
    std::fs::write(
        &path,
        format!(
            r#"[state]
path = "{}"

[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_env = "SOAR_WEBHOOK_URL"
formatter = "plain-text"

[[formatters]]
name = "plain-text"
kind = "plain"
"#,
            home.join("state.db").display()
        ),
    )
    .unwrap();
    path
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_second_run_on_the_same_state_names_the_first_and_a_killed_owner_leaves_no_stale_lock() {
    let home = tempfile::tempdir().unwrap();
    let config = webhook_only_config(home.path());
    let lock = home.path().join("state.db.lock");
    let start = || {
        with_dummies(tq(home.path()).arg("run").arg("--config").arg(&config))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    let pid = first.id().to_string();
    wait_for(
        "the first run to hold the lock",
        Duration::from_secs(10),
        || std::fs::read_to_string(&lock).is_ok_and(|s| s.trim() == pid),
    );

    let second = with_dummies(tq(home.path()).arg("run").arg("--config").arg(&config))
        .output()
        .unwrap();
    let (_, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(1));
    assert!(stderr.contains(&format!("pid {pid}")), "{stderr}");

    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();

    let mut third = start();
    let pid = third.id().to_string();
    wait_for(
        "a new run to take the lock",
        Duration::from_secs(10),
        || std::fs::read_to_string(&lock).is_ok_and(|s| s.trim() == pid),
    );
    // SIGTERM stops it cleanly.
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = third.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_failed_rows_http_status_and_body_and_exits_1() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::sync::Arc;
    use tq_alerts::config::{Secret, SecretSource};
    use tq_alerts::formatters::PlainFormatter;
    use tq_alerts::notifier::{DeliverySettings, Notifier};
    use tq_alerts::notifiers::WebhookNotifier;

    let home = tempfile::tempdir().unwrap();
    let receiver = common::Receiver::scripted(Box::new(|_, _| {
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"unknown field 'severity'"}"#,
        )
            .into_response()
    }))
    .await;
    let config = webhook_only_config(home.path());
    let store = tq_alerts::store::Store::open(&home.path().join("state.db")).unwrap();
    let mut notifier = WebhookNotifier::new(
        "soar-hook",
        Secret::new(receiver.url(), SecretSource::Env("SOAR_WEBHOOK_URL".into())),
        vec![],
        DeliverySettings::default(),
        &Default::default(),
    )
    .unwrap();
    notifier.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    let mut service = common::BatchService::new("watchlist", common::real_alerts(1, "watchlist"));
    service.notifiers.push(Arc::new(notifier));
    let mut worker = tq_alerts::worker::Worker::new(store);
    worker.add_service(Box::new(service));
    let report = worker.run_once().await.unwrap();
    assert_eq!(report.failed.len(), 1);

    let out = with_dummies(tq(home.path()).args(["status", "--config"]).arg(&config))
        .env("SOAR_WEBHOOK_URL", receiver.url())
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(r#"http 400: {"error":"unknown field 'severity'"}"#),
        "{stdout}"
    );
    assert!(stdout.contains("1 attempt"), "{stdout}");
    assert!(stdout.contains("UNHEALTHY"), "{stdout}");

    let json = with_dummies(
        tq(home.path())
            .args(["status", "--json", "--config"])
            .arg(&config),
    )
    .output()
    .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["healthy"], false);
    assert_eq!(status["failed_rows"][0]["word"], "http 400");
    assert_eq!(status["outbox"]["failed"], 1);

    let retry = with_dummies(
        tq(home.path())
            .args(["status", "--retry", "all", "--config"])
            .arg(&config),
    )
    .output()
    .unwrap();
    assert!(retry.status.success());
    assert!(text(&retry).0.contains("1 row(s) queued again"));
    let store = tq_alerts::store::Store::open(&home.path().join("state.db")).unwrap();
    assert_eq!(store.outbox_counts().unwrap().queued, 1);
}

#[test]
fn template_errors_point_into_the_config_file() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("templates.toml");
    std::fs::write(
        &path,
        r#"[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_env = "SOAR_WEBHOOK_URL"
formatter = "compact"

[[formatters]]
name = "compact"
kind = "template"
template = """
:rotating_light: *{{ object.type }}*
score {{ object.scroe }} ({{ object.score | sevrity }})
"""

[[formatters]]
name = "one-line"
kind = "template"
template = "x {{ object.valeu }}"
"#,
    )
    .unwrap();
    let out = with_dummies(tq(home.path()).arg("check").arg("--config").arg(&path))
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let file = path.display();
    assert!(stderr.contains(&format!("{file}:12:17: template 'compact' line 2, column 17: `object` has no field `scroe` — did you mean `score`?")), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}:18:25: template 'one-line' line 1, column 13:"
        )),
        "{stderr}"
    );

    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("scroe", "score")
            .replace("valeu", "value"),
    )
    .unwrap();
    let out = with_dummies(tq(home.path()).arg("check").arg("--config").arg(&path))
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(stderr.contains(&format!("{file}:12:45: template 'compact' line 2, column 45: unknown filter `sevrity` — did you mean `severity`?")), "{stderr}");
}

#[test]
fn check_refuses_keys_the_console_would_not_apply() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("keys.toml");
    std::fs::write(
        &path,
        "[keys]\ntogle = \"x\"\nquit = \"esc\"\nrun_now = \"space\"\nhelp = \"f1\"\n",
    )
    .unwrap();
    let out = tq(home.path())
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file = path.display();
    assert!(
        stderr.contains(&format!(
            "{file}:2:1: [keys]: unknown action `togle` — did you mean `toggle`?"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:3:1: [keys] quit: Esc only closes overlays"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:4:1: [keys] run_now: `Space` already means `toggle`"
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("help"),
        "a good entry is not a problem: {stderr}"
    );
}
