//! Loading the config file (PRODUCT.md §4): bad fixtures each with their exact
//! `FILE:LINE:COL: message`, good fixtures and shipped files that load, defaults, secrets and
//! where the file is looked for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tq_alerts::Field;
use tq_alerts::NotificationType;
use tq_alerts::config::{
    self, Config, FormatterKind, NotifierKind, SecretSource, ServiceKind, TemplateOutput,
    ThreatQAuth,
};

const BAD: &str = "tests/fixtures/config/bad";
const GOOD: &str = "tests/fixtures/config/good";

/// Dummy values for every variable the fixtures, the example and the starter name.
fn dummy_env() -> HashMap<String, String> {
    [
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn env_with(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = dummy_env();
    env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| Path::new(dir).join(p.file_name().expect("file name")))
        .collect();
    paths.sort();
    paths
}

fn parse(text: &str) -> Result<Config, config::ConfigError> {
    config::parse(text, Path::new("config.toml"), &dummy_env())
}

fn errors_of(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = r#"
[threatq]
url = "https://threatq.example.net"
client_id = "tq-client"
client_secret_env = "TQ_CLIENT_SECRET"

[[services]]
name = "watchlist"
kind = "watchlist"
notifiers = ["soc-slack"]

[[notifiers]]
name = "soc-slack"
kind = "slack"
token_env = "SLACK_BOT_TOKEN"
channels = ["tq-alerts"]
"#;

#[test]
fn every_bad_fixture_fails_with_its_exact_message() {
    let paths = fixtures(BAD);
    assert!(
        paths.len() >= 20,
        "only {} bad fixtures in {BAD}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let expected_path = path.with_extension("expected");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!("{} has no .expected file", path.display()));
            continue;
        };
        match config::load_with(path, &dummy_env()) {
            Ok(_) => failures.push(format!("{} loaded without error", path.display())),
            Err(e) => {
                let actual = format!("{e}\n");
                if actual != expected {
                    failures.push(format!(
                        "{}:\n  expected: {expected}  actual:   {actual}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_message_starts_with_the_file_line_and_column() {
    for path in fixtures(BAD) {
        let err = config::load_with(&path, &dummy_env()).expect_err("bad fixture");
        assert!(!err.diagnostics.is_empty());
        for d in &err.diagnostics {
            assert_eq!(d.file, path);
            assert!(d.line >= 1 && d.column >= 1, "{d}");
            let prefix = format!("{}:{}:{}: ", path.display(), d.line, d.column);
            assert!(d.to_string().starts_with(&prefix), "{d}");
            assert!(!d.message.contains('\n'), "{d}");
        }
    }
}

#[test]
fn shipped_example_loads_with_dummy_secrets() {
    let config =
        config::load_with(Path::new("assets/example.toml"), &dummy_env()).expect("example loads");
    assert_eq!(config.services.len(), 2);
    assert_eq!(config.notifiers.len(), 2);
    assert_eq!(config.formatters.len(), 3);
    assert_eq!(
        config.services_using("soc-slack"),
        ["watchlist", "high-score-iocs"]
    );
    let tq = config.threatq.as_ref().expect("threatq");
    assert_eq!(tq.url.as_str(), "https://threatq.example.net/");
    assert_eq!(tq.timeout, Duration::from_secs(30));
    match &tq.auth {
        ThreatQAuth::ClientCredentials {
            client_id,
            client_secret,
        } => {
            assert_eq!(client_id, "d41d8cd98f00b204e9800998ecf8427e");
            assert_eq!(client_secret.expose(), "dummy-client-secret");
            assert_eq!(
                client_secret.source(),
                &SecretSource::Env("TQ_CLIENT_SECRET".into())
            );
        }
        other => panic!("unexpected auth {other:?}"),
    }
    let compact = config.formatter("compact").expect("compact");
    assert_eq!(
        compact.kind,
        FormatterKind::Template {
            output: TemplateOutput::Mrkdwn,
            template: ":rotating_light: *{{ object.type }}* `{{ object.value }}` — score {{ object.score }}\n<{{ object.url }}|Open in ThreatQ>\n".into(),
        }
    );
}

#[test]
fn example_warns_that_a_watchlist_formatter_gets_data_collection_alerts() {
    let config =
        config::load_with(Path::new("assets/example.toml"), &dummy_env()).expect("example loads");
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "assets/example.toml:52:21: formatter 'watchlist-blocks' is for `watchlist` alerts, but \
          notifier 'soc-slack' gets `data-collection` alerts from service 'high-score-iocs': those \
          use the generic layout"
        ]
    );
}

#[test]
fn example_is_the_contract_example_verbatim() {
    let contract = include_str!("../assets/example.toml");
    assert!(contract.starts_with("[ui]\ntheme = \"default\""));
    assert!(contract.contains("client_secret_env = \"TQ_CLIENT_SECRET\""));
    assert!(contract.ends_with("<{{ object.url }}|Open in ThreatQ>\n\"\"\"\n"));
}

#[test]
fn starter_file_is_valid_commented_and_uses_env_secrets() {
    let text = config::starter();
    let config = config::parse(text, Path::new("config.toml"), &dummy_env()).expect("starter");
    assert!(
        config.warnings.is_empty(),
        "starter warns: {:?}",
        config.warnings
    );
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 20
    );
    for secret in config.secrets() {
        assert!(matches!(secret.source(), SecretSource::Env(_)), "{secret}");
    }
    assert!(!config.services.is_empty() && !config.notifiers.is_empty());
}

#[test]
fn starter_without_its_variables_names_each_missing_one() {
    let err = config::parse(config::starter(), Path::new("config.toml"), &HashMap::new())
        .expect_err("no variables set");
    let text = err.to_string();
    assert!(text.contains("environment variable `TQ_CLIENT_SECRET` is not set"));
    assert!(text.contains("environment variable `SLACK_BOT_TOKEN` is not set"));
}

#[test]
fn every_good_fixture_loads_with_dummy_secrets() {
    let paths = fixtures(GOOD);
    assert!(paths.len() >= 4);
    for path in paths {
        if let Err(e) = config::load_with(&path, &dummy_env()) {
            panic!("{} should load:\n{e}", path.display());
        }
    }
}

#[test]
fn password_grant_reads_the_password_file_beside_the_config() {
    let config = config::load_with(&Path::new(GOOD).join("password_grant.toml"), &dummy_env())
        .expect("loads");
    let tq = config.threatq.expect("threatq");
    match tq.auth {
        ThreatQAuth::Password {
            email,
            password,
            client_id,
        } => {
            assert_eq!(email, "alerts@example.net");
            assert_eq!(client_id, "d41d8cd98f00b204e9800998ecf8427e");
            // The file ends in CRLF: trailing line breaks are not part of the secret.
            assert_eq!(password.expose(), "tq-password-from-file");
            assert_eq!(
                password.source(),
                &SecretSource::File(Path::new(GOOD).join("secrets/tq-password.txt"))
            );
        }
        other => panic!("unexpected auth {other:?}"),
    }
    assert_eq!(tq.timeout, Duration::from_secs(45));
}

#[test]
fn webhook_headers_come_literal_from_env_and_from_file_in_file_order() {
    let config = config::load_with(&Path::new(GOOD).join("webhook_headers.toml"), &dummy_env())
        .expect("loads");
    let hook = config.notifier("soar-hook").expect("soar-hook");
    let NotifierKind::Webhook { url, headers } = &hook.kind else {
        panic!("not a webhook: {:?}", hook.kind);
    };
    assert_eq!(url.expose(), "https://soar.example.net/hooks/SECRETPATH");
    let got: Vec<(&str, &str, &SecretSource)> = headers
        .iter()
        .map(|(n, s)| (n.as_str(), s.expose(), s.source()))
        .collect();
    assert_eq!(
        got,
        [
            ("X-Source", "threatq", &SecretSource::Literal),
            (
                "Authorization",
                "Bearer dummy-soar-token",
                &SecretSource::Env("SOAR_AUTH".into())
            ),
            (
                "X-Api-Key",
                "soar-token-from-file",
                &SecretSource::File(Path::new(GOOD).join("secrets/soar-token.txt"))
            ),
        ]
    );
    // A literal header that is not a credential is not a secret worth warning about.
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let service = config.service("high-score-iocs").expect("service");
    assert_eq!(
        service.kind,
        ServiceKind::DataCollection {
            collection_hash: "9a0364b9e99bb480dd25e1f0284c8555".into(),
            collection: "indicators".into(),
            notify_existing: false,
        }
    );
}

#[test]
fn slack_webhook_takes_its_url_from_the_environment() {
    let config = config::load_with(&Path::new(GOOD).join("slack_webhook.toml"), &dummy_env())
        .expect("loads");
    let hook = config.notifier("team-hook").expect("team-hook");
    let NotifierKind::SlackWebhook { url } = &hook.kind else {
        panic!("not a slack webhook: {:?}", hook.kind);
    };
    assert_eq!(
        url.expose(),
        "https://hooks.slack.com/services/T000/B000/XXXX"
    );
    assert_eq!(hook.formatter.as_deref(), Some("plain-text"));
}

#[test]
fn every_optional_key_is_read() {
    let config =
        config::load_with(&Path::new(GOOD).join("every_key.toml"), &dummy_env()).expect("loads");
    assert_eq!(config.ui.theme, "high-contrast");
    assert!(config.ui.mouse && config.ui.read_only);
    assert_eq!(
        config.state.path.as_deref(),
        Some(Path::new(GOOD).join("state/alerts.db").as_path())
    );
    assert_eq!(config.state.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(
        config.network.proxy.as_ref().map(|u| u.as_str()),
        Some("http://proxy.example.net:3128/")
    );
    assert_eq!(
        config.network.no_proxy.as_deref(),
        Some("localhost,127.0.0.1,.corp.example.net")
    );
    let tq = config.threatq.as_ref().expect("threatq");
    assert!(tq.insecure_skip_verify);
    assert_eq!(tq.timeout, Duration::from_secs(60));
    assert_eq!(config.keys["toggle"], ["space"]);
    assert_eq!(config.keys["attach"], ["a", "ctrl-a"]);

    let watchlist = config.service("watchlist").expect("watchlist");
    assert!(!watchlist.enabled);
    assert_eq!(watchlist.interval, Duration::from_secs(5400));
    assert_eq!(watchlist.page_size, 250);
    assert_eq!(
        watchlist.kind,
        ServiceKind::Watchlist {
            collections: vec!["indicators".into()],
            alert_on: vec![Field::Score, Field::Status],
            initial_lookback: Duration::from_secs(7200),
        }
    );
    let events = config.service("events").expect("events");
    assert_eq!(
        events.kind,
        ServiceKind::DataCollection {
            collection_hash: "abc123".into(),
            collection: "events".into(),
            notify_existing: true,
        }
    );

    let slack = config.notifier("soc-slack").expect("soc-slack");
    let NotifierKind::Slack {
        channels,
        users,
        api_url,
        ..
    } = &slack.kind
    else {
        panic!("not slack");
    };
    assert_eq!(channels, &["#general", "C0123456789"]);
    assert_eq!(users, &["analyst1"]);
    assert_eq!(api_url.as_str(), "http://localhost:9001/api");
    let d = &slack.delivery;
    assert_eq!(d.rate, 2.5);
    assert_eq!(d.burst, 5);
    assert_eq!(d.digest_threshold, 0);
    assert_eq!(d.digest_size, 5);
    assert_eq!(d.max_age, Duration::from_secs(6 * 3600));
    assert_eq!(d.max_attempts, Some(12));
    assert_eq!(d.timeout, Duration::from_secs(5));
    assert_eq!(
        config.formatter("all-alerts").expect("formatter").kind,
        FormatterKind::SlackBlocks {
            notification_type: None
        }
    );
    let warnings: Vec<&str> = config.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        warnings,
        [
            "`insecure_skip_verify` in [threatq] turns off TLS certificate checks for ThreatQ; prefer `ca_file`"
        ]
    );
}

#[test]
fn omitted_keys_take_the_defaults_of_the_contract() {
    let text = format!(
        "{MINIMAL}\n[[services]]\nname = \"dc\"\nkind = \"data-collection\"\ncollection_hash = \"abc\"\n\n\
         [[formatters]]\nname = \"t\"\nkind = \"template\"\ntemplate = \"x\"\n"
    );
    let config = parse(&text).expect("loads");
    assert_eq!(config.ui.theme, "default");
    assert!(!config.ui.mouse && !config.ui.read_only);
    assert_eq!(config.state.path, None);
    assert_eq!(config.state.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(config.network.proxy, None);
    assert_eq!(config.network.no_proxy, None);
    let tq = config.threatq.as_ref().expect("threatq");
    assert_eq!(tq.timeout, Duration::from_secs(30));
    assert!(!tq.insecure_skip_verify);
    assert_eq!(tq.ca_file, None);

    let w = config.service("watchlist").expect("watchlist");
    assert!(w.enabled);
    assert_eq!(w.interval, Duration::from_secs(300));
    assert_eq!(w.page_size, 100);
    assert_eq!(
        w.kind,
        ServiceKind::Watchlist {
            collections: vec!["indicators".into(), "events".into(), "adversaries".into()],
            alert_on: Field::ALL.to_vec(),
            initial_lookback: Duration::from_secs(24 * 3600),
        }
    );
    let dc = config.service("dc").expect("dc");
    assert!(dc.notifiers.is_empty());
    assert_eq!(
        dc.kind,
        ServiceKind::DataCollection {
            collection_hash: "abc".into(),
            collection: "indicators".into(),
            notify_existing: false,
        }
    );

    let slack = config.notifier("soc-slack").expect("soc-slack");
    assert_eq!(slack.formatter, None);
    assert_eq!(slack.delivery, tq_alerts::DeliverySettings::default());
    let NotifierKind::Slack { api_url, users, .. } = &slack.kind else {
        panic!("not slack");
    };
    assert_eq!(api_url.as_str(), "https://slack.com/api");
    assert!(users.is_empty());
    assert_eq!(
        config.formatter("t").expect("t").kind,
        FormatterKind::Template {
            output: TemplateOutput::Mrkdwn,
            template: "x".into()
        }
    );
    assert!(config.keys.is_empty());
    // The only warnings: services left without a notifier do not poll.
    assert!(!config.warnings.is_empty());
    assert!(
        config
            .warnings
            .iter()
            .all(|w| w.message.contains("has no notifier")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn an_empty_file_is_a_valid_config_with_nothing_to_run() {
    let config = parse("").expect("empty config");
    assert!(config.services.is_empty() && config.threatq.is_none());
}

#[test]
fn literal_secret_is_allowed_with_a_warning_that_hides_it() {
    let text = MINIMAL.replace(
        "token_env = \"SLACK_BOT_TOKEN\"",
        "token = \"xoxb-written-in-the-file\"",
    );
    let config = parse(&text).expect("loads");
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "config.toml:15:1: literal secret in the config file (`token` in [[notifiers]] 'soc-slack'); prefer `token_env` or `token_file`"
        ]
    );
    let NotifierKind::Slack { token, .. } = &config.notifiers[0].kind else {
        panic!("not slack");
    };
    assert_eq!(token.expose(), "xoxb-written-in-the-file");
    assert_eq!(token.source(), &SecretSource::Literal);
}

#[test]
fn empty_environment_variable_is_an_error_naming_it_and_the_key() {
    let env = env_with(&[("SLACK_BOT_TOKEN", "")]);
    let err = config::parse(MINIMAL, Path::new("config.toml"), &env).expect_err("empty var");
    assert_eq!(
        err.to_string(),
        "config.toml:15:13: environment variable `SLACK_BOT_TOKEN` is empty (`token_env` in [[notifiers]] 'soc-slack')"
    );
}

#[test]
fn secret_file_is_read_relative_to_the_config_folder_without_its_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("secrets")).expect("mkdir");
    std::fs::write(dir.path().join("secrets/slack"), "xoxb-from-file\n\n").expect("write");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        MINIMAL.replace(
            "token_env = \"SLACK_BOT_TOKEN\"",
            "token_file = \"secrets/slack\"",
        ),
    )
    .expect("write");
    let config = config::load_with(&path, &dummy_env()).expect("loads");
    let NotifierKind::Slack { token, .. } = &config.notifiers[0].kind else {
        panic!("not slack");
    };
    assert_eq!(token.expose(), "xoxb-from-file");
    assert_eq!(
        token.source(),
        &SecretSource::File(dir.path().join("secrets/slack"))
    );
}

#[test]
fn secret_values_never_appear_in_any_message() {
    const SECRET: &str = "S3CR3T-VALUE";
    let env = env_with(&[
        ("TQ_CLIENT_SECRET", SECRET),
        ("HOOK_BAD", "not a url S3CR3T-VALUE"),
        (
            "HOOK_HTTP",
            "http://203.0.113.7/hooks/S3CR3T-VALUE?token=S3CR3T-VALUE",
        ),
        ("HOOK_FTP", "ftp://files.example.net/S3CR3T-VALUE"),
        ("AUTH_NEWLINE", "Bearer S3CR3T-VALUE\r\nX-Evil: 1"),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("token"), SECRET).expect("write");
    let text = r#"
[threatq]
url = "https://threatq.example.net"
client_id = "tq-client"
client_secret_env = "TQ_CLIENT_SECRET"
page = 1

[[services]]
name = "watchlist"
kind = "watchlist"
notifiers = ["a", "b", "c", "d", "e", "missing"]

[[notifiers]]
name = "a"
kind = "slack"
token = "S3CR3T-VALUE"
channels = ["x"]
rate = "fast"

[[notifiers]]
name = "b"
kind = "webhook"
url_env = "HOOK_BAD"

[[notifiers]]
name = "c"
kind = "slack-webhook"
url_env = "HOOK_HTTP"

[[notifiers]]
name = "d"
kind = "webhook"
url = "https://soar.example.net/S3CR3T-VALUE"
url_file = "token"
headers_env = { Authorization = "AUTH_NEWLINE" }

[[notifiers]]
name = "e"
kind = "slack-webhook"
url_env = "HOOK_FTP"
"#;
    let err = config::parse(text, &dir.path().join("config.toml"), &env).expect_err("errors");
    let everything = format!("{err}\n{:?}\n{:?}", err.warnings, err.diagnostics);
    assert!(err.diagnostics.len() >= 6, "{everything}");
    assert!(!everything.contains("S3CR3T"), "{everything}");

    // A valid config with secrets everywhere: its Debug form shows none of them either.
    let text = MINIMAL.replace(
        "token_env = \"SLACK_BOT_TOKEN\"",
        "token = \"S3CR3T-VALUE\"",
    );
    let config = config::parse(&text, Path::new("config.toml"), &env).expect("loads");
    let everything = format!("{config:?}");
    assert!(!everything.contains("S3CR3T"), "{everything}");
    assert_eq!(config.secrets().len(), 2);
}

#[test]
fn unknown_key_without_a_close_name_lists_the_valid_keys() {
    assert_eq!(
        errors_of("[ui]\ncolour = \"blue\"\n"),
        "config.toml:2:1: unknown key `colour` in [ui]; valid keys: theme, mouse, read_only"
    );
}

#[test]
fn misspelt_required_key_is_reported_once_as_the_misspelling() {
    let text = MINIMAL.replace("token_env =", "tokn_env =");
    assert_eq!(
        errors_of(&text),
        "config.toml:15:1: unknown key `tokn_env` in [[notifiers]] 'soc-slack' — did you mean `token_env`?"
    );
}

#[test]
fn unknown_kind_with_nothing_close_lists_the_valid_kinds() {
    let text = MINIMAL.replace("kind = \"slack\"", "kind = \"teams\"");
    assert_eq!(
        errors_of(&text),
        "config.toml:14:8: unknown kind `teams` in [[notifiers]] 'soc-slack'; valid: slack, slack-webhook, webhook"
    );
}

#[test]
fn missing_reference_with_nothing_close_lists_what_is_defined() {
    let text = MINIMAL.replace("notifiers = [\"soc-slack\"]", "notifiers = [\"pager\"]");
    assert_eq!(
        errors_of(&text),
        "config.toml:10:14: service 'watchlist' refers to notifier 'pager', which is not defined; defined notifiers: 'soc-slack'"
    );
}

#[test]
fn entries_may_be_written_as_an_inline_array_of_tables() {
    let text = r#"
notifiers = [{ name = "hook", kind = "slack-webhook", url_env = "SLACK_WEBHOOK_URL" }]
formatters = [{ name = "p", kind = "plain" }, { name = "q", kind = "plian" }]
"#;
    assert_eq!(
        errors_of(text),
        "config.toml:3:68: unknown kind `plian` in [[formatters]] 'q' — did you mean `plain`? (valid: slack-blocks, template, plain)"
    );
    let config = parse(&text.replace("plian", "plain")).expect("loads");
    assert_eq!(config.notifiers[0].name, "hook");
    assert_eq!(config.formatters.len(), 2);
}

#[test]
fn keys_written_after_a_table_header_belong_to_that_table() {
    let text = r#"
[threatq]
url = "https://threatq.example.net"
client_id = "tq-client"
client_secret_env = "TQ_CLIENT_SECRET"
services = []
"#;
    assert_eq!(
        errors_of(text),
        "config.toml:6:1: `services` is not a key of [threatq]: TOML puts every key below a \
         table header into that table; write `[[services]]` as its own table"
    );
}

#[test]
fn keys_table_keeps_bindings_as_written_and_refuses_other_types() {
    let config = parse("[keys]\nquit = \"q\"\nhelp = [\"?\", \"F1\"]\n").expect("loads");
    assert_eq!(config.keys["quit"], ["q"]);
    assert_eq!(config.keys["help"], ["?", "F1"]);
    assert_eq!(
        errors_of("[keys]\nquit = 5\n"),
        "config.toml:2:8: `quit` in [keys]: expected a key like \"ctrl-s\" or an array of keys, found an integer"
    );
}

#[test]
fn proxy_may_use_plain_http_to_any_host() {
    let config = parse(
        "[network]\nproxy = \"http://proxy.corp.example.net:3128\"\nno_proxy = \"localhost\"\n",
    )
    .expect("loads");
    assert_eq!(
        config.network.proxy.map(|u| u.to_string()).as_deref(),
        Some("http://proxy.corp.example.net:3128/")
    );
    assert_eq!(
        errors_of("[network]\nproxy = \"socks5://127.0.0.1:1080\"\n"),
        "config.toml:2:9: `proxy` in [network]: unsupported proxy URL scheme `socks5`; use http:// or https://"
    );
}

#[test]
fn unreadable_config_file_says_so_with_the_os_reason() {
    let err = config::load_with(
        Path::new("tests/fixtures/config/no-such.toml"),
        &dummy_env(),
    )
    .expect_err("missing file");
    assert!(err.io.is_some());
    assert_eq!(
        err.to_string(),
        "tests/fixtures/config/no-such.toml: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn locate_prefers_the_flag_then_the_variable_then_xdg_then_home() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    let in_xdg = xdg.join("tq-alerts/config.toml");
    let in_home = home.join(".config/tq-alerts/config.toml");
    for p in [&in_xdg, &in_home] {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "").expect("write");
    }
    let flag = dir.path().join("flag.toml");
    std::fs::write(&flag, "").expect("write");
    let var = dir.path().join("var.toml");
    std::fs::write(&var, "").expect("write");

    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("HOME".into(), home.display().to_string());
    assert_eq!(config::locate(None, &env), Ok(in_home.clone()));
    env.insert("XDG_CONFIG_HOME".into(), xdg.display().to_string());
    assert_eq!(config::locate(None, &env), Ok(in_xdg.clone()));
    env.insert("TQ_ALERTS_CONFIG".into(), var.display().to_string());
    assert_eq!(config::locate(None, &env), Ok(var.clone()));
    assert_eq!(config::locate(Some(&flag), &env), Ok(flag.clone()));
    assert_eq!(config::default_location(&env), Some(in_xdg));
}

#[test]
fn not_found_says_where_it_looked_and_offers_init_and_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("HOME".into(), dir.path().join("home").display().to_string());
    env.insert(
        "XDG_CONFIG_HOME".into(),
        dir.path().join("xdg").display().to_string(),
    );
    let err = config::locate(None, &env).expect_err("nothing there");
    assert_eq!(err.looked.len(), 2);
    let text = err.to_string();
    assert!(
        text.contains(
            &dir.path()
                .join("xdg/tq-alerts/config.toml")
                .display()
                .to_string()
        )
    );
    assert!(
        text.contains(
            &dir.path()
                .join("home/.config/tq-alerts/config.toml")
                .display()
                .to_string()
        )
    );
    assert!(text.contains("`tq-alerts-tui init`") && text.contains("`tq-alerts-tui demo`"));
    assert_eq!(text.lines().count(), 2);

    // A path named explicitly is not replaced by a default one.
    let missing = dir.path().join("missing.toml");
    let err = config::locate(Some(&missing), &env).expect_err("missing");
    assert_eq!(err.looked, [("--config".to_string(), missing)]);
    env.insert("TQ_ALERTS_CONFIG".into(), "/nonexistent/tq.toml".into());
    let err = config::locate(None, &env).expect_err("missing");
    assert!(
        err.to_string()
            .contains("/nonexistent/tq.toml ($TQ_ALERTS_CONFIG)")
    );
}

#[test]
fn slack_blocks_notification_type_restricts_the_layout() {
    let text = format!(
        "{MINIMAL}formatter = \"dc\"\n\n[[formatters]]\nname = \"dc\"\nkind = \"slack-blocks\"\nnotification_type = \"data-collection\"\n"
    );
    let config = parse(&text).expect("loads");
    assert_eq!(
        config.formatter("dc").expect("dc").kind,
        FormatterKind::SlackBlocks {
            notification_type: Some(NotificationType::DataCollection)
        }
    );
    assert_eq!(config.warnings.len(), 1);
    assert!(
        config.warnings[0]
            .message
            .contains("gets `watchlist` alerts")
    );
}
