//! `preview`: the message a formatter makes for an alert — the exact request body with
//! `--format json`, or drawn as Slack would draw it — and the drawing of any Slack payload
//! (PRODUCT.md §5). The body comes from the same functions the notifiers send with, so a preview
//! is what would be sent. A payload Slack would refuse is still drawn, then each problem is
//! listed with its JSON pointer and the exit code is 1.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use url::Url;

use crate::alert::{Alert, MessageData, NotificationType, ThreatObject};
use crate::config::{Config, FormatterKind, NotifierConfig, NotifierKind, TemplateOutput};
use crate::formatter::{Formatter, Message};
use crate::formatters::samples;
use crate::notifier::DeliverySettings;
use crate::slack::render::{
    PreviewFormat, RenderContext, render_payload, text_to_ansi, text_to_plain,
};
use crate::slack::validate::{Violation, validate};
use crate::text::sanitize_for_terminal;
use crate::threatq::{Lookups, object_from_api_inferred};
use crate::worker::from_config;

/// The largest input `--alert` and `--payload` read: far above any real object or message.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// How the preview is printed.
#[derive(Debug, Clone, Copy)]
pub struct PreviewOptions {
    pub format: PreviewFormat,
    /// Columns of the drawing (at least 20).
    pub width: u16,
}

/// Where a formatter's message goes, which decides the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `chat.postMessage` to this channel, as the config writes it (the notifier sends the id
    /// it resolves at send time).
    SlackChannel(String),
    SlackWebhook,
    Webhook,
}

impl Destination {
    pub fn is_slack(&self) -> bool {
        !matches!(self, Destination::Webhook)
    }

    /// The exact request body for this message, from the functions the notifiers send with.
    pub fn body(&self, data: &MessageData, message: &Message) -> Value {
        match self {
            Destination::SlackChannel(channel) => {
                crate::slack::payload::chat_post_message(channel, message)
            }
            Destination::SlackWebhook => crate::slack::payload::incoming_webhook(message),
            Destination::Webhook => crate::notifiers::webhook::payload(data, message),
        }
    }
}

/// A formatter of the config, ready to preview: the formatter, where its messages go, and the
/// settings of the notifier that sends them.
pub struct PreviewTarget {
    pub formatter: Arc<dyn Formatter>,
    pub destination: Destination,
    /// The notifier that uses it, if one does.
    pub notifier: Option<String>,
    pub settings: DeliverySettings,
    /// The service whose alerts it formats, for `--alert` input.
    pub service: String,
    pub notification_type: NotificationType,
}

/// Why a preview cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Format(#[from] crate::formatter::FormatError),
    #[error("{0}")]
    Build(#[from] from_config::BuildError),
    #[error("{0}")]
    Input(String),
}

/// Find formatter `name` in `config` (or the built-in `slack-blocks` / `plain` when no entry has
/// that name) and where its messages go.
pub fn target(config: &Config, name: &str) -> Result<PreviewTarget, PreviewError> {
    let (formatter, kind) = match config.formatter(name) {
        Some(f) => (from_config::build_formatter(f)?, Some(&f.kind)),
        None if name == "slack-blocks" || name == "plain" => {
            let built_in = crate::config::FormatterConfig {
                name: name.to_owned(),
                kind: if name == "plain" {
                    FormatterKind::Plain
                } else {
                    FormatterKind::SlackBlocks {
                        notification_type: None,
                    }
                },
            };
            (from_config::build_formatter(&built_in)?, None)
        }
        None => {
            let names: Vec<&str> = config.formatters.iter().map(|f| f.name.as_str()).collect();
            let hint = match crate::config::load::did_you_mean(name, names.iter().copied()) {
                Some(meant) => format!(" — did you mean '{meant}'?"),
                None if names.is_empty() => {
                    " (the config defines none; the built-ins are 'slack-blocks' and 'plain')"
                        .to_owned()
                }
                None => format!(
                    "; the config defines {}, and 'slack-blocks' and 'plain' are built in",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(PreviewError::Usage(format!(
                "{}: no formatter '{name}'{hint}",
                config.path.display()
            )));
        }
    };
    let uses = |n: &&NotifierConfig| match &n.formatter {
        Some(f) => f == name,
        None => kind.is_none() && default_name(&n.kind) == name,
    };
    let notifier = config.notifiers.iter().find(uses);
    let destination = match notifier.map(|n| &n.kind) {
        Some(NotifierKind::Slack {
            channels, users, ..
        }) => Destination::SlackChannel(
            channels
                .first()
                .or(users.first())
                .cloned()
                .unwrap_or_default(),
        ),
        Some(NotifierKind::SlackWebhook { .. }) => Destination::SlackWebhook,
        Some(NotifierKind::Webhook { .. }) => Destination::Webhook,
        None => match kind {
            Some(FormatterKind::Template {
                output: TemplateOutput::Json,
                ..
            })
            | Some(FormatterKind::Plain) => Destination::Webhook,
            None if name == "plain" => Destination::Webhook,
            _ => Destination::SlackChannel("#preview".to_owned()),
        },
    };
    let service = notifier.and_then(|n| {
        config
            .services
            .iter()
            .find(|s| s.notifiers.iter().any(|x| x == &n.name))
    });
    let restricted = match kind {
        Some(FormatterKind::SlackBlocks { notification_type }) => *notification_type,
        _ => None,
    };
    Ok(PreviewTarget {
        formatter,
        destination,
        notifier: notifier.map(|n| n.name.clone()),
        settings: notifier.map(|n| n.delivery.clone()).unwrap_or_default(),
        service: service.map_or_else(|| "preview".to_owned(), |s| s.name.clone()),
        notification_type: service
            .map(|s| s.kind.notification_type())
            .or(restricted)
            .unwrap_or(NotificationType::Watchlist),
    })
}

fn default_name(kind: &NotifierKind) -> &'static str {
    match kind {
        NotifierKind::Webhook { .. } => "plain",
        NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. } => "slack-blocks",
    }
}

/// Objects from `--alert` input: one ThreatQ object as the API returns it, or an array of them
/// (a digest); an API answer's `data` wrapper is taken off. Each is normalised as the services
/// normalise what ThreatQ returns (kind from its fields, links on `threatq`). An object that
/// already has a `kind` is taken as the product's own normalised form (`object` in templates).
pub fn objects_from_json(text: &str, threatq: &Url) -> Result<Vec<ThreatObject>, PreviewError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        PreviewError::Input(format!(
            "the alert is not valid JSON at line {}, column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    let value = match value {
        Value::Object(mut map) if map.len() <= 3 && map.contains_key("data") => {
            map.remove("data").unwrap_or_default()
        }
        other => other,
    };
    let items = match value {
        Value::Array(items) if items.is_empty() => {
            return Err(PreviewError::Input(
                "the alert array is empty: give one object, or several for a digest".to_owned(),
            ));
        }
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        other => {
            return Err(PreviewError::Input(format!(
                "the alert must be a JSON object (or an array of them), not {}",
                json_kind(&other)
            )));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let normalised = item.get("kind").is_some_and(Value::is_string);
            if normalised {
                serde_json::from_value::<ThreatObject>(item).map_err(|e| {
                    PreviewError::Input(format!(
                        "alert {}: {} (a normalised object needs `kind`, `id` and `value`; the \
                         other fields are those of `object` in templates)",
                        i + 1,
                        strip_position(&e.to_string())
                    ))
                })
            } else {
                object_from_api_inferred(&item, threatq, &Lookups::default())
                    .map_err(|e| PreviewError::Input(format!("alert {}: {e}", i + 1)))
            }
        })
        .collect()
}

/// Where links to ThreatQ point: the configured ThreatQ, else the placeholder host.
fn threatq_base(config: &Config) -> Url {
    config
        .threatq
        .as_ref()
        .map(|t| t.url.clone())
        .or_else(|| Url::parse(samples::PLACEHOLDER_THREATQ).ok())
        .expect("the placeholder is a URL")
}

/// The message data `preview` formats for `objects`: one alert, or digest pages of the
/// notifier's `digest_size`.
pub fn message_data(
    target: &PreviewTarget,
    objects: Vec<ThreatObject>,
    digest: bool,
) -> Vec<MessageData> {
    let alerts: Vec<Alert> = objects
        .into_iter()
        .map(|o| {
            let detected = o.touched_at.or(o.updated_at).or(o.created_at);
            let mut a = Alert::new(&target.service, target.notification_type, o);
            a.detected_at = detected.unwrap_or_else(Utc::now);
            a
        })
        .collect();
    if !digest && alerts.len() == 1 {
        return alerts.into_iter().map(MessageData::single).collect();
    }
    let size = target.settings.digest_size.max(1);
    let pages = alerts.len().div_ceil(size);
    let total = alerts.len();
    alerts
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            let mut page = samples::digest_of(chunk.to_vec(), i + 1, pages);
            if let MessageData::Digest(d) = &mut page {
                d.total = total;
            }
            page
        })
        .collect()
}

/// One message drawn or printed, and what Slack would refuse in it.
pub struct Rendered {
    pub output: String,
    pub violations: Vec<Violation>,
}

/// Format `data` with the target's formatter and show it: the request body (`json`, one line:
/// exactly the bytes sent) or the drawing.
pub fn render(
    target: &PreviewTarget,
    data: &MessageData,
    options: PreviewOptions,
) -> Result<Rendered, PreviewError> {
    let message = target.formatter.format_data(data)?;
    let body = target.destination.body(data, &message);
    let violations = if target.destination.is_slack() {
        validate(&crate::slack::payload::message_body(&message))
    } else {
        Vec::new()
    };
    let output = match options.format {
        PreviewFormat::Json => {
            let mut s = serde_json::to_string(&body).expect("JSON values serialise");
            s.push('\n');
            s
        }
        format if target.destination.is_slack() => draw(
            &crate::slack::payload::message_body(&message),
            format,
            options.width,
        ),
        _ => webhook_text(&message, &body),
    };
    Ok(Rendered { output, violations })
}

/// A webhook message as a terminal shows it: the text, or the JSON body a `json` template made.
fn webhook_text(message: &Message, body: &Value) -> String {
    let shown = if message.body.is_some() {
        serde_json::to_string_pretty(body).expect("JSON values serialise")
    } else {
        message.text.clone()
    };
    let mut out = String::new();
    for line in shown.lines() {
        out.push_str(&sanitize_for_terminal(line));
        out.push('\n');
    }
    out
}

fn draw(payload: &Value, format: PreviewFormat, width: u16) -> String {
    let ctx = RenderContext::new(width.max(20));
    let text = render_payload(payload, &ctx);
    match format {
        PreviewFormat::Ansi => text_to_ansi(&text),
        _ => text_to_plain(&text),
    }
}

/// `preview --formatter NAME [--alert FILE|-]`: print each message; exit 1 when a formatter
/// fails or a message breaks Slack's limits.
pub fn formatter(
    config: &Config,
    name: &str,
    alert: Option<&Path>,
    options: PreviewOptions,
) -> anyhow::Result<ExitCode> {
    let target = match target(config, name) {
        Ok(t) => t,
        Err(e) => return Ok(fail(&e.to_string())),
    };
    let inputs: Vec<(String, MessageData)> = match alert {
        Some(path) => {
            let text = match read_input(path) {
                Ok(t) => t,
                Err(e) => return Ok(fail(&e)),
            };
            let digest = text.trim_start().starts_with('[');
            let objects = match objects_from_json(&text, &threatq_base(config)) {
                Ok(o) => o,
                Err(e) => return Ok(fail(&format!("{}: {e}", shown(path)))),
            };
            message_data(&target, objects, digest)
                .into_iter()
                .map(|d| (String::new(), d))
                .collect()
        }
        None => {
            let base = config.threatq.as_ref().map(|t| t.url.as_str());
            let mut all: Vec<(String, MessageData)> = samples::samples(base)
                .into_iter()
                .map(|s| (s.name, MessageData::single(s.alert)))
                .collect();
            let size = target.settings.digest_size.max(1);
            let alerts = samples::indicator_alerts(base, size);
            all.push((
                format!("digest of {size} alerts"),
                samples::digest_of(alerts, 1, 1),
            ));
            all
        }
    };
    let mut failed = false;
    let mut out = String::new();
    for (label, data) in &inputs {
        if !label.is_empty() && options.format != PreviewFormat::Json {
            out.push_str(&format!("── sample: {label} ──\n"));
        }
        match render(&target, data, options) {
            Ok(rendered) => {
                out.push_str(&rendered.output);
                if !rendered.violations.is_empty() {
                    failed = true;
                    eprintln!("{}", refusal(label, &rendered.violations));
                }
            }
            Err(e) => {
                failed = true;
                let at = if label.is_empty() {
                    String::new()
                } else {
                    format!("sample '{label}': ")
                };
                eprintln!("{at}{e}");
            }
        }
        if !label.is_empty() && options.format != PreviewFormat::Json {
            out.push('\n');
        }
    }
    print!("{}", for_stdout(&out, options.format));
    if let (Some(notifier), PreviewFormat::Json, Destination::SlackChannel(channel)) =
        (&target.notifier, options.format, &target.destination)
    {
        eprintln!(
            "note: as notifier '{notifier}' would post it to {channel} (sent with the channel's id)"
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `preview --payload FILE|-`: draw a Slack payload (or print it back, normalised, with
/// `json`); exit 1 when it is not a payload or Slack would refuse it.
pub fn payload(path: &Path, options: PreviewOptions) -> anyhow::Result<ExitCode> {
    let text = match read_input(path) {
        Ok(t) => t,
        Err(e) => return Ok(fail(&e)),
    };
    let payload: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return Ok(fail(&format!(
                "{}: payload is not valid JSON at line {}, column {}: {}",
                shown(path),
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )));
        }
    };
    if !payload.is_object() {
        return Ok(fail(&format!(
            "{}: payload must be a JSON object with `text`, `blocks` and `attachments`, not {}",
            shown(path),
            json_kind(&payload)
        )));
    }
    let violations = validate(&payload);
    let output = match options.format {
        PreviewFormat::Json => {
            let mut s = serde_json::to_string_pretty(&payload).expect("JSON values serialise");
            s.push('\n');
            s
        }
        format => draw(&payload, format, options.width),
    };
    print!("{}", for_stdout(&output, options.format));
    if violations.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}", refusal("", &violations));
        Ok(ExitCode::FAILURE)
    }
}

/// `Slack would refuse this message (2 problems):` and one line per problem with its pointer.
fn refusal(label: &str, violations: &[Violation]) -> String {
    let n = violations.len();
    let mut s = format!(
        "{}Slack would refuse this message ({n} problem{}):",
        if label.is_empty() {
            String::new()
        } else {
            format!("sample '{label}': ")
        },
        if n == 1 { "" } else { "s" }
    );
    for v in violations {
        s.push_str("\n  ");
        s.push_str(&v.to_string());
    }
    s
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}

/// The file's text, or standard input for `-`, at most [`MAX_INPUT_BYTES`].
fn read_input(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("cannot read {}: {e}", shown(path)))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{} is larger than {} MB",
            shown(path),
            MAX_INPUT_BYTES / 1024 / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            shown(path),
            e.utf8_error().valid_up_to()
        )
    })
}

fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// serde_json's message without its own " at line L column C" (we say where ourselves).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON shown on a terminal gets its invisible and control characters escaped (same JSON,
/// nothing the terminal would obey); piped, the bytes are exactly the notifier's.
fn for_stdout(output: &str, format: PreviewFormat) -> std::borrow::Cow<'_, str> {
    use std::io::IsTerminal as _;
    if format == PreviewFormat::Json && std::io::stdout().is_terminal() {
        crate::text::json_for_terminal(output)
    } else {
        std::borrow::Cow::Borrowed(output)
    }
}
