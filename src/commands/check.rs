//! `check`: the config is valid (checked when it was loaded), everything it names can be
//! built — notifiers, formatters (templates compiled), services — and every formatter renders
//! every sample alert and a digest into a message Slack would accept. `--online` also logs in
//! to ThreatQ and reads one page for each service, calls Slack's `auth.test` and resolves
//! every channel and user, sending nothing; one line per check.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use crate::alert::MessageData;
use crate::config::{
    Config, FormatterConfig, FormatterKind, NotifierConfig, NotifierKind, ServiceKind,
    TemplateOutput,
};
use crate::formatter::Formatter;
use crate::formatters::{self, samples};
use crate::slack::validate::validate;
use crate::text::sanitize_for_terminal;
use crate::threatq::{ThreatQClient, collections};
use crate::worker::from_config;

/// One online check: what was checked and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    pub ok: bool,
    pub line: String,
}

impl CheckLine {
    fn ok(line: String) -> Self {
        Self { ok: true, line }
    }

    fn failed(line: String) -> Self {
        Self { ok: false, line }
    }
}

pub fn check(config: Config, online: bool) -> anyhow::Result<ExitCode> {
    // Every template that does not compile, each at its place in the file; every `[keys]`
    // entry the console would refuse.
    let mut broken = key_problems(&config);
    for f in &config.formatters {
        if let Err(e) = crate::formatters::build(f) {
            broken = true;
            match config.locate(&e) {
                Some(d) => eprintln!("{d}"),
                None => eprintln!("{}: {e}", config.path.display()),
            }
        }
    }
    if broken {
        return Ok(ExitCode::FAILURE);
    }
    let built = match from_config::build(&config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", config.path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    if !report_rendering(&config) {
        return Ok(ExitCode::FAILURE);
    }
    let enabled = config.services.iter().filter(|s| s.enabled).count();
    println!(
        "{}: ok — {} service(s) ({} enabled), {} notifier(s), {} formatter(s)",
        config.path.display(),
        config.services.len(),
        enabled,
        config.notifiers.len(),
        config.formatters.len()
    );
    if !online {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let lines = runtime.block_on(async {
        let mut lines = match &built.threatq {
            Some(client) => threatq_online(&config, client).await,
            None => vec![CheckLine::ok(
                "threatq: no [threatq] table; nothing to log in to".into(),
            )],
        };
        let client = from_config::client_options(&config);
        for notifier in &config.notifiers {
            for line in crate::notifiers::slack::check_online(notifier, &client).await {
                lines.push(CheckLine {
                    ok: line.level != crate::notifiers::slack::CheckLevel::Error,
                    line: line.to_string(),
                });
            }
        }
        lines
    });
    let mut all_ok = true;
    for l in &lines {
        all_ok &= l.ok;
        println!("{}", sanitize_for_terminal(&l.line));
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Log in, read the lookups and one page per service. Reads only.
pub async fn threatq_online(config: &Config, client: &Arc<ThreatQClient>) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if client.is_insecure() {
        lines.push(CheckLine::ok(format!(
            "threatq: warning — TLS certificates of {} are not checked (insecure_skip_verify)",
            client.origin()
        )));
    }
    if let Err(e) = client.login().await {
        lines.push(CheckLine::failed(format!("threatq: FAILED — {e}")));
        return lines;
    }
    lines.push(CheckLine::ok(format!(
        "threatq: logged in to {} as {}",
        client.origin(),
        client.principal()
    )));
    match client.refresh_lookups().await {
        Ok(l) => lines.push(CheckLine::ok(format!(
            "threatq: {} indicator types, {} indicator statuses, {} event types",
            l.indicator_types.len(),
            l.indicator_statuses.len(),
            l.event_types.len()
        ))),
        Err(e) => lines.push(CheckLine::failed(format!("threatq: lookups FAILED — {e}"))),
    }
    for service in &config.services {
        match &service.kind {
            ServiceKind::Watchlist {
                collections: names,
                alert_on,
                ..
            } => {
                let relations = alert_on.contains(&crate::alert::Field::Relations);
                for collection in names {
                    let with = collections::with_param(collection, relations);
                    let line = match client.list(collection, "-touched_at", 1, 0, &with).await {
                        Ok(page) => CheckLine::ok(format!(
                            "service '{}': /api/{collection} ok ({} object(s))",
                            service.name,
                            page.total.map_or("?".into(), |t| t.to_string())
                        )),
                        Err(e) => {
                            CheckLine::failed(format!("service '{}': FAILED — {e}", service.name))
                        }
                    };
                    lines.push(line);
                }
            }
            ServiceKind::DataCollection {
                collection_hash,
                collection,
                ..
            } => {
                let with = collections::with_param(collection, false);
                let line = match client
                    .query_hash(collection, collection_hash, "*", 1, &with)
                    .await
                {
                    Ok(page) => CheckLine::ok(format!(
                        "service '{}': data collection {collection_hash} ok ({} object(s))",
                        service.name,
                        page.total.map_or("?".into(), |t| t.to_string())
                    )),
                    Err(e) => {
                        CheckLine::failed(format!("service '{}': FAILED — {e}", service.name))
                    }
                };
                lines.push(line);
            }
        }
    }
    lines
}

/// Render every formatter against the samples and say how it went: each problem on stderr
/// (false), or one line on stdout (true).
fn report_rendering(config: &Config) -> bool {
    let rendering = render_formatters(config);
    let path = config.path.display();
    for problem in &rendering.problems {
        eprintln!("{problem}");
    }
    if rendering.problems.is_empty() {
        println!(
            "{path}: rendered {} formatter(s) over {} messages, each one Slack would accept",
            rendering.formatters, rendering.messages
        );
    }
    rendering.problems.is_empty()
}

/// What rendering every formatter against the samples found.
#[derive(Debug, Default)]
pub struct Rendering {
    pub formatters: usize,
    pub messages: usize,
    /// One line each: where (`FILE:LINE:COL` for a template error, else `FILE`), the
    /// formatter, the sample and what is wrong.
    pub problems: Vec<String>,
}

/// Render every formatter of `config` — and the built-in default of each notifier that names
/// none — against every sample alert, a digest of the samples and a full digest page of real
/// indicators; a message that is not made, or that Slack would refuse, is a problem.
pub fn render_formatters(config: &Config) -> Rendering {
    let base = config.threatq.as_ref().map(|t| t.url.as_str());
    let mut inputs: Vec<(String, MessageData)> = samples::samples(base)
        .into_iter()
        .map(|s| (format!("sample '{}'", s.name), MessageData::single(s.alert)))
        .collect();
    let sample_alerts: Vec<_> = inputs
        .iter()
        .flat_map(|(_, d)| d.alerts().to_vec())
        .collect();
    inputs.push((
        "a digest of the samples".to_owned(),
        samples::digest_of(sample_alerts, 1, 1),
    ));

    let mut wanted: BTreeMap<String, FormatterConfig> = config
        .formatters
        .iter()
        .map(|f| (f.name.clone(), f.clone()))
        .collect();
    for n in config.notifiers.iter().filter(|n| n.formatter.is_none()) {
        let f = default_formatter(n);
        wanted.entry(f.name.clone()).or_insert(f);
    }

    let mut rendering = Rendering::default();
    for (name, f) in &wanted {
        rendering.formatters += 1;
        let formatter: Arc<dyn Formatter> = match formatters::build(f) {
            Ok(built) => built,
            Err(e) => {
                rendering.problems.push(match config.locate(&e) {
                    Some(d) => d.to_string(),
                    None => format!("{}: {e}", config.path.display()),
                });
                continue;
            }
        };
        let users: Vec<&NotifierConfig> = config
            .notifiers
            .iter()
            .filter(|n| n.formatter.as_deref().unwrap_or(&default_formatter(n).name) == name)
            .collect();
        let slack_bound = users.iter().any(|n| {
            matches!(
                n.kind,
                NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. }
            )
        }) || matches!(
            f.kind,
            FormatterKind::SlackBlocks { .. }
                | FormatterKind::Template {
                    output: TemplateOutput::Mrkdwn | TemplateOutput::Blocks,
                    ..
                }
        );
        let digest_size = users
            .iter()
            .map(|n| n.delivery.digest_size)
            .max()
            .unwrap_or(20)
            .max(1);
        let full_page = (
            format!("a digest page of {digest_size} alerts"),
            samples::digest_of(samples::indicator_alerts(base, digest_size), 1, 2),
        );
        // one line per distinct problem, at the first input that shows it
        // (where in the file, the first input that shows it, the problem, how many more)
        let mut found: Vec<(String, String, String, usize)> = Vec::new();
        let mut note = |place: String, what: &str, problem: String| match found
            .iter_mut()
            .find(|f| f.2 == problem)
        {
            Some(f) => f.3 += 1,
            None => found.push((place, what.to_owned(), problem, 0)),
        };
        let file = config.path.display().to_string();
        for (what, data) in inputs.iter().chain(std::iter::once(&full_page)) {
            rendering.messages += 1;
            match formatter.format_data(data) {
                Err(e) => {
                    // A template error points into the file where the template text is.
                    let place = config
                        .locate(&e)
                        .map(|d| format!("{}:{}:{}", d.file.display(), d.line, d.column))
                        .unwrap_or_else(|| file.clone());
                    note(place, what, e.to_string())
                }
                Ok(message) if slack_bound => {
                    let body = crate::slack::payload::message_body(&message);
                    for v in validate(&body) {
                        note(
                            file.clone(),
                            what,
                            format!("Slack would refuse the message: {v}"),
                        );
                    }
                }
                Ok(_) => {}
            }
        }
        for (place, what, problem, more) in found {
            let also = match more {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            rendering.problems.push(format!(
                "{place}: formatter '{name}', {what}{also}: {problem}"
            ));
        }
    }
    rendering
}

/// The built-in formatter a notifier without one uses (as `from_config::default_formatter`).
fn default_formatter(n: &NotifierConfig) -> FormatterConfig {
    match n.kind {
        NotifierKind::Webhook { .. } => FormatterConfig {
            name: "plain".into(),
            kind: FormatterKind::Plain,
        },
        NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. } => FormatterConfig {
            name: "slack-blocks".into(),
            kind: FormatterKind::SlackBlocks {
                notification_type: None,
            },
        },
    }
}

/// `[keys]` entries the console would not apply (unknown action, not a key, Esc, a key taken),
/// printed as `FILE:LINE:COL: message`. Returns whether there was any.
fn key_problems(config: &Config) -> bool {
    let (_, problems) = crate::tui::keymap::Keymap::with_overrides(&config.keys);
    if problems.is_empty() {
        return false;
    }
    let text = std::fs::read_to_string(&config.path).unwrap_or_default();
    let doc = toml_edit::Document::parse(text.as_str()).ok();
    for problem in &problems {
        let span = doc.as_ref().and_then(|d| {
            d.as_table()
                .get("keys")?
                .as_table()?
                .key(&problem.entry)?
                .span()
        });
        let (line, column) = span
            .map(|s| crate::config::load::line_col(&text, s.start))
            .unwrap_or((1, 1));
        eprintln!(
            "{}:{line}:{column}: {}",
            config.path.display(),
            problem.message
        );
    }
    true
}
