//! `check` renders every formatter against the sample alerts and a full digest page: a template
//! error or a message Slack would refuse exits 1, naming the formatter, the sample and the
//! problem; a config whose formatters all render says so and exits 0.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tq-alerts-tui");

const HEAD: &str = r#"
[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_env = "SOAR_WEBHOOK_URL"
formatter = "compact"
digest_size = 50
"#;

/// `check` on a config of HEAD plus `formatters`: exit code, stdout, stderr.
fn check(formatters: &str) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    std::fs::write(&path, format!("{HEAD}\n{formatters}")).unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env(
            "SOAR_WEBHOOK_URL",
            "https://soar.example.net/hooks/SECRETPATH",
        )
        .args(["check", "--config"])
        .arg(&path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Path::new(&path);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn formatters_that_render_every_sample_pass() {
    let (code, stdout, stderr) = check(
        r#"
[[formatters]]
name = "compact"
kind = "template"
output = "mrkdwn"
template = """
:rotating_light: *{{ object.type }}* `{{ object.value }}` — score {{ object.score }} ({{ object.score|severity }})
<{{ object.url }}|Open in ThreatQ>
"""

[[formatters]]
name = "blocks"
kind = "slack-blocks"
notification_type = "watchlist"

[[formatters]]
name = "text"
kind = "plain"
"#,
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("rendered 3 formatter(s) over 27 messages, each one Slack would accept"),
        "{stdout}"
    );
    assert!(stdout.contains(": ok — "), "{stdout}");
}

#[test]
fn a_template_that_does_not_compile_fails_check_with_its_place() {
    let (code, _, stderr) = check(
        r#"
[[formatters]]
name = "compact"
kind = "template"
output = "mrkdwn"
template = "{{ object.sourse }}"
"#,
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(
            "template 'compact' line 1, column 11: `object` has no field `sourse` — did you mean `sources`?"
        ),
        "{stderr}"
    );
}

#[test]
fn a_template_that_fails_on_a_sample_fails_check_naming_the_sample() {
    let (code, _, stderr) = check(
        r#"
[[formatters]]
name = "compact"
kind = "template"
output = "mrkdwn"
template = "{{ object.value }}{% for a in object.attributes %} {{ a.nmae }}{% endfor %}"
"#,
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("formatter 'compact', sample 'watchlist-indicator-first-seen' (and 7 more): template 'compact' line 1, column 57: `attribute` has no field `nmae` — did you mean `name`?"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line per problem: {stderr}");
}

#[test]
fn a_message_over_a_slack_limit_fails_check() {
    let header = "Stealth Falcon ".repeat(12);
    let (code, _, stderr) = check(&format!(
        r#"
[[formatters]]
name = "compact"
kind = "template"
output = "blocks"
template = '[{{"type": "header", "text": {{"type": "plain_text", "text": "{header}{{{{ object.value }}}}"}}}}]'
"#
    ));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("formatter 'compact', sample 'watchlist-indicator-first-seen' (and 8 more): formatter 'compact': a header is 181 characters after cutting every value, and Slack allows 150"),
        "{stderr}"
    );
}

#[test]
fn a_digest_that_cannot_fit_is_reported_for_the_digest() {
    // fifty alerts of two blocks each cannot be listed: the operator is told, Slack never is
    let (code, _, stderr) = check(
        r#"
[[formatters]]
name = "compact"
kind = "template"
output = "blocks"
template = '[{% for a in alerts %}{"type": "section", "text": {"type": "mrkdwn", "text": "`{{ a.object.value }}`"}}, {"type": "divider"}{% if not loop.last %},{% endif %}{% endfor %}]'
"#,
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("formatter 'compact', a digest page of 50 alerts: formatter 'compact': the message breaks Slack's limits: must have at most 50 items [json-pointer:/blocks]"),
        "{stderr}"
    );
}
