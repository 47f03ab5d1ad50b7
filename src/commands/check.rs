//! `check`: the config is valid (checked when it was loaded), everything it names can be
//! built — notifiers, formatters (templates compiled), services — and every formatter renders
//! every sample alert and a digest into a message Slack would accept.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use crate::alert::MessageData;
use crate::config::{
    Config, FormatterConfig, FormatterKind, NotifierConfig, NotifierKind, TemplateOutput,
};
use crate::formatter::Formatter;
use crate::formatters::{self, samples};
use crate::slack::validate::validate;
use crate::worker::from_config;

pub fn check(config: Config) -> anyhow::Result<ExitCode> {
    if let Err(e) = from_config::build(&config) {
        eprintln!("{}: {e}", config.path.display());
        return Ok(ExitCode::FAILURE);
    }
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
    Ok(ExitCode::SUCCESS)
}

/// Render every formatter against the samples and say how it went: each problem on stderr
/// (false), or one line on stdout (true).
fn report_rendering(config: &Config) -> bool {
    let rendering = render_formatters(config);
    let path = config.path.display();
    for problem in &rendering.problems {
        eprintln!("{path}: {problem}");
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
    /// One line each: the formatter, the sample and what is wrong.
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
                rendering.problems.push(e.to_string());
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
        let mut found: Vec<(String, String, usize)> = Vec::new();
        let mut note = |what: &str, problem: String| match found.iter_mut().find(|f| f.1 == problem)
        {
            Some(f) => f.2 += 1,
            None => found.push((what.to_owned(), problem, 0)),
        };
        for (what, data) in inputs.iter().chain(std::iter::once(&full_page)) {
            rendering.messages += 1;
            match formatter.format_data(data) {
                Err(e) => note(what, e.to_string()),
                Ok(message) if slack_bound => {
                    let body = crate::slack::payload::message_body(&message);
                    for v in validate(&body) {
                        note(what, format!("Slack would refuse the message: {v}"));
                    }
                }
                Ok(_) => {}
            }
        }
        for (what, problem, more) in found {
            let also = match more {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            rendering
                .problems
                .push(format!("formatter '{name}', {what}{also}: {problem}"));
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
