//! `preview` as an operator runs it: a formatter's message for the samples or an alert file,
//! printed as the exact body or drawn; a payload drawn with what Slack would refuse listed;
//! broken input and broken templates exit 1 with a message that says what and where.

mod formatters_support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use formatters_support::assert_clean_drawing;
use tq_alerts::alert::MessageData;
use tq_alerts::commands::preview::{Destination, message_data, objects_from_json, target};
use tq_alerts::slack::payload::chat_post_message;

const BIN: &str = env!("CARGO_BIN_EXE_tq-alerts-tui");

fn tq(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SLACK_BOT_TOKEN", "xoxb-dummy-token")
        .env(
            "SOAR_WEBHOOK_URL",
            "https://soar.example.net/hooks/SECRETPATH",
        )
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> (Option<i32>, String, String) {
    let out: Output = match stdin {
        None => cmd.output().unwrap(),
        Some(input) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config with a Slack notifier on `slack-blocks`, a webhook on a template, and a broken
/// template.
fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        r##"
[threatq]
url = "https://threatq.soc.internal"
auth = "client-credentials"
client_id = "d41d8cd98f00b204e9800998ecf8427e"
client_secret = "dummy"

[[notifiers]]
name = "soc-slack"
kind = "slack"
token_env = "SLACK_BOT_TOKEN"
channels = ["#tq-alerts"]
formatter = "blocks"

[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_env = "SOAR_WEBHOOK_URL"
formatter = "soar"

[[formatters]]
name = "blocks"
kind = "slack-blocks"

[[formatters]]
name = "soar"
kind = "template"
output = "json"
template = '{"indicator": "{{ object.value }}", "score": {{ object.score }}}'

[[formatters]]
name = "compact"
kind = "template"
output = "mrkdwn"
template = "{{ object.sourse }}"
"##,
    )
    .unwrap();
    path
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alerts")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn json_prints_exactly_the_chat_post_message_body_the_notifier_sends() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let alert_file = fixture("slack_mentions.json");
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args([
                "--formatter",
                "blocks",
                "--alert",
                &alert_file,
                "--format",
                "json",
            ]),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    // the same alert through the same build and the one body function, in this process
    let env: std::collections::HashMap<String, String> = [
        ("SLACK_BOT_TOKEN".to_owned(), "xoxb-dummy-token".to_owned()),
        (
            "SOAR_WEBHOOK_URL".to_owned(),
            "https://soar.example.net/hooks/SECRETPATH".to_owned(),
        ),
    ]
    .into();
    let config = tq_alerts::config::load_with(&cfg, &env).unwrap();
    let t = target(&config, "blocks").unwrap();
    assert_eq!(
        t.destination,
        Destination::SlackChannel("#tq-alerts".into())
    );
    let threatq = config.threatq.as_ref().unwrap().url.clone();
    let objects =
        objects_from_json(&std::fs::read_to_string(&alert_file).unwrap(), &threatq).unwrap();
    let data: Vec<MessageData> = message_data(&t, objects, false);
    let message = t.formatter.format_data(&data[0]).unwrap();
    let expected = serde_json::to_string(&chat_post_message("#tq-alerts", &message)).unwrap();
    assert_eq!(stdout, format!("{expected}\n"));
    assert!(
        stderr.contains("as notifier 'soc-slack' would post it to #tq-alerts"),
        "{stderr}"
    );
}

#[test]
fn without_an_alert_every_sample_and_a_digest_are_drawn() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--width", "100"]),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let headings = stdout
        .lines()
        .filter(|l| l.starts_with("── sample: "))
        .count();
    assert_eq!(headings, 8, "seven samples and a digest: {stdout}");
    assert!(stdout.contains("── sample: watchlist-event-first-seen ──"));
    assert!(stdout.contains("── sample: digest of 20 alerts ──"));
    assert!(stdout.contains("[ Open in ThreatQ ]"));
    // the samples link to the configured ThreatQ
    let (_, json, _) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--format", "json"]),
        None,
    );
    assert!(json.contains("https://threatq.soc.internal/indicators/"));
    for line in json.lines() {
        let body: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(body["channel"], "#tq-alerts");
        assert_eq!(body["unfurl_links"], false);
    }
}

#[test]
fn hostile_alert_files_draw_clean_in_text_and_ansi() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    for name in [
        "ansi_escapes.json",
        "osc_sequences.json",
        "bidi_and_invisible.json",
        "huge_value.json",
    ] {
        for format in ["text", "ansi"] {
            let (code, stdout, stderr) = run(
                tq(home.path())
                    .args(["preview", "--config"])
                    .arg(&cfg)
                    .args([
                        "--formatter",
                        "blocks",
                        "--alert",
                        &fixture(name),
                        "--format",
                        format,
                    ]),
                None,
            );
            assert_eq!(code, Some(0), "{name}: {stderr}");
            // ANSI output styles with SGR only; drop those and nothing else may steer the terminal
            let plain = strip_sgr(&stdout);
            assert_clean_drawing(&plain, name);
        }
    }
}

/// Remove `ESC [ … m` sequences (and only those).
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        assert_eq!(
            &tail[end..end + 1],
            "m",
            "only SGR sequences: {:?}",
            &tail[..end + 1]
        );
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn an_api_object_as_threatq_returns_it_is_normalised_like_the_services_do() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/threatq/event.json");
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--alert"])
            .arg(&sample)
            .args(["--format", "json"]),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let text = body.to_string();
    // HTML description as text, links defanged, the ThreatQ link on the configured host
    assert!(
        text.contains("Indicators published by Citizen Lab"),
        "{text}"
    );
    assert!(
        !text.contains("<p>") && !text.contains("<strong>"),
        "{text}"
    );
    assert!(
        text.contains("hxxps://citizenlab[.]org/2016/05/stealth-falcon/"),
        "{text}"
    );
    assert!(
        text.contains("\"url\":\"https://threatq.soc.internal/events/"),
        "{text}"
    );

    let input = r#"{"data": [{"id": 12, "value": "sys.firewall-gateway.net", "type": {"name": "FQDN"}, "score": 9},
                             {"id": 13, "title": "Stealth Falcon", "type": {"name": "Incident"}}]}"#;
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--alert", "-"]),
        Some(input),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Watchlist: 2 alerts"), "{stdout}");
    assert!(stdout.contains("sys[.]firewall-gateway[.]net") && stdout.contains("Stealth Falcon"));

    let (code, _, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--alert", "-"]),
        Some(r#"{"id": 12, "score": 9}"#),
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("alert 1: cannot tell what kind of ThreatQ object this is"),
        "{stderr}"
    );
}

#[test]
fn an_array_on_standard_input_makes_a_digest() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let input = r#"[{"kind": "indicator", "id": 1, "value": "usacia.websecexp.com", "type": "FQDN"},
                   {"kind": "indicator", "id": 2, "value": "sys.firewall-gateway.net", "type": "FQDN"}]"#;
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blocks", "--alert", "-"]),
        Some(input),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Watchlist: 2 alerts"), "{stdout}");
    assert!(
        stdout.contains("usacia[.]websecexp[.]com")
            && stdout.contains("sys[.]firewall-gateway[.]net")
    );
}

#[test]
fn a_webhook_formatter_prints_the_webhook_body() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args([
                "--formatter",
                "soar",
                "--alert",
                &fixture("slack_mentions.json"),
                "--format",
                "json",
            ]),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"indicator": "<!channel> usafbi.websecexp.com <@U024BE7LH>", "score": 8})
    );
}

#[test]
fn a_misspelt_template_field_exits_1_naming_template_line_column_and_the_field_meant() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "compact"]),
        None,
    );
    assert_eq!(code, Some(1));
    assert!(
        stdout.is_empty(),
        "nothing is shown for a template that does not compile"
    );
    assert!(
        stderr.contains("template 'compact' line 1, column 11: `object` has no field `sourse` — did you mean `sources`?"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_1_and_says_what_and_where() {
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path());
    let cases = [
        (
            "{\"kind\": \"indicator\",\n \"id\": }",
            "not valid JSON at line 2, column 8",
        ),
        (
            "{\"kind\": \"indicator\", \"value\": \"usacia.websecexp.com\"}",
            "alert 1: missing field `id`",
        ),
        (
            "{\"value\": \"usacia.websecexp.com\"}",
            "alert 1: the ThreatQ object has no numeric `id`",
        ),
        ("[]", "the alert array is empty"),
        (
            "\"usacia.websecexp.com\"",
            "must be a JSON object (or an array of them), not a string",
        ),
    ];
    for (input, expected) in cases {
        let (code, _, stderr) = run(
            tq(home.path())
                .args(["preview", "--config"])
                .arg(&cfg)
                .args(["--formatter", "blocks", "--alert", "-"]),
            Some(input),
        );
        assert_eq!(code, Some(1), "{input}");
        assert!(stderr.contains(expected), "{input}: {stderr}");
        assert!(stderr.contains("standard input"), "{stderr}");
    }
    let (code, _, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args(["--formatter", "blokcs"]),
        None,
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no formatter 'blokcs' — did you mean 'blocks'?"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        tq(home.path())
            .args(["preview", "--config"])
            .arg(&cfg)
            .args([
                "--formatter",
                "blocks",
                "--alert",
                "/nonexistent/alert.json",
            ]),
        None,
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot read /nonexistent/alert.json"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        vec!["preview"],
        vec!["preview", "--formatter", "blocks", "--payload", "x.json"],
        vec!["preview", "--payload", "x.json", "--alert", "y.json"],
        vec!["preview", "--payload", "x.json", "--format", "yaml"],
        vec!["preview", "--payload", "x.json", "--width", "5"],
    ] {
        let (code, _, stderr) = run(tq(home.path()).args(&args), None);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
    }
}

#[test]
fn a_payload_is_drawn_and_what_slack_would_refuse_is_listed_with_pointers() {
    let home = tempfile::tempdir().unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slack/formatting.json");
    let (code, stdout, stderr) = run(
        tq(home.path())
            .args(["preview", "--payload"])
            .arg(&good)
            .args(["--width", "60"]),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.is_empty());

    let long = "x".repeat(3001);
    let refused = format!(
        r#"{{"blocks": [{{"type": "header", "text": {{"type": "plain_text", "text": "Stealth Falcon"}}}},
                       {{"type": "section", "text": {{"type": "mrkdwn", "text": "{long}"}}}}]}}"#
    );
    let (code, stdout, stderr) = run(
        tq(home.path()).args(["preview", "--payload", "-"]),
        Some(&refused),
    );
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("Stealth Falcon"),
        "the payload is still drawn: {stdout}"
    );
    assert!(
        stderr.contains("Slack would refuse this message (2 problems):"),
        "{stderr}"
    );
    assert!(stderr.contains("[json-pointer:/text]"), "{stderr}");
    assert!(
        stderr.contains("must be at most 3000 characters [json-pointer:/blocks/1/text/text]"),
        "{stderr}"
    );

    for (input, expected) in [
        (
            "{\"text\": \"a\",\n\"blocks\": [}",
            "payload is not valid JSON at line 2, column 12",
        ),
        (
            "[{\"type\": \"divider\"}]",
            "must be a JSON object with `text`, `blocks` and `attachments`, not an array",
        ),
    ] {
        let (code, _, stderr) = run(
            tq(home.path()).args(["preview", "--payload", "-"]),
            Some(input),
        );
        assert_eq!(code, Some(1), "{input}");
        assert!(stderr.contains(expected), "{input}: {stderr}");
    }
}
