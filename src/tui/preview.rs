//! What the Preview pane shows: the message the selected notifier would send for the selected
//! alert, formatted by the real formatter (or the template being edited) and drawn by the Slack
//! renderer — computed in the update step, so drawing only copies it.

use std::collections::HashMap;
use std::sync::Arc;

use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::alert::{Alert, MessageData, NotificationType};
use crate::config::{FormatterConfig, FormatterKind, NotifierConfig, NotifierKind};
use crate::formatter::{FormatError, Formatter, Message};
use crate::slack::render::{RenderContext, render_payload};
use crate::slack::resolve::TargetName;
use crate::text::sanitize_for_terminal;
use crate::worker::from_config;

use super::app::App;
use super::theme::Role;

#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// The alerts to step through: the service's newest real ones, else samples.
    pub alerts: Vec<Alert>,
    pub index: usize,
    /// Whether `alerts` are samples (no real alert of this service yet).
    pub samples: bool,
    /// Show the exact JSON payload instead of the drawing.
    pub json: bool,
    pub scroll: u16,
    /// The drawing (last good one while the editor's text has an error).
    pub text: Text<'static>,
    pub json_text: String,
    /// Why the current text could not be formatted (shown above the last good preview).
    pub error: Option<String>,
}

/// The shipped sample alerts (real published objects), for a service that has not alerted
/// yet: those of the service's own notification type first.
pub fn sample_alerts(
    service: &str,
    notification_type: NotificationType,
    threatq: Option<&str>,
) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = crate::formatters::samples::samples(threatq)
        .into_iter()
        .map(|s| Alert {
            service: service.to_string(),
            ..s.alert
        })
        .collect();
    alerts.sort_by_key(|a| a.notification_type != notification_type);
    alerts
}

/// The formatter the preview uses: the editor's text when editing, else the notifier's own.
fn formatter_for(app: &App, notifier: &NotifierConfig) -> Result<Arc<dyn Formatter>, FormatError> {
    if let Some(editor) = &app.editor {
        let config = FormatterConfig {
            name: editor.formatter.clone(),
            kind: FormatterKind::Template {
                output: editor.output,
                template: editor.text(),
            },
        };
        return from_config::build_formatter(&config).map_err(|e| match e {
            from_config::BuildError::Template(err) => err,
            other => FormatError::Invalid {
                formatter: editor.formatter.clone(),
                message: other.to_string(),
            },
        });
    }
    let built = match notifier
        .formatter
        .as_deref()
        .and_then(|n| app.config.formatter(n))
    {
        Some(config) => from_config::build_formatter(config),
        None => Ok(from_config::default_formatter(&notifier.kind)),
    };
    built.map_err(|e| FormatError::Invalid {
        formatter: notifier.formatter.clone().unwrap_or_default(),
        message: e.to_string(),
    })
}

/// The exact request body the notifier sends for this message to its first target: the
/// conversation id from the resolution cache when the name was resolved before, else the name
/// as written (resolved at the first send).
pub fn payload_for(
    notifier: &NotifierConfig,
    data: &MessageData,
    message: &Message,
    destinations: &HashMap<(String, String), String>,
) -> serde_json::Value {
    match &notifier.kind {
        NotifierKind::Slack {
            channels, users, ..
        } => {
            let name = channels
                .first()
                .map(|c| TargetName::channel(c.as_str()))
                .or_else(|| users.first().map(|u| TargetName::user(u.as_str())));
            let channel = name
                .map(|n| {
                    destinations
                        .get(&(n.kind.as_str().to_string(), n.key()))
                        .cloned()
                        .unwrap_or(n.written)
                })
                .unwrap_or_default();
            crate::slack::payload::chat_post_message(&channel, message)
        }
        NotifierKind::SlackWebhook { .. } => crate::slack::payload::incoming_webhook(message),
        NotifierKind::Webhook { .. } => crate::notifiers::webhook::payload(data, message),
    }
}

/// Recompute the preview into `app.preview`.
pub fn refresh(app: &mut App, notifier: Option<&NotifierConfig>, width: u16) {
    let styles = app.theme.render_styles();
    let muted = app.theme.style(Role::Muted);
    let Some(notifier) = notifier else {
        app.set_preview_output(
            Text::from(Line::styled(
                "attach a notifier (a) to preview its message",
                muted,
            )),
            String::new(),
            None,
        );
        return;
    };
    let Some(alert) = app.preview_alert().cloned() else {
        app.set_preview_output(
            Text::from(Line::styled("no alert to preview", muted)),
            String::new(),
            None,
        );
        return;
    };
    let data = MessageData::single(alert);
    let message = formatter_for(app, notifier).and_then(|f| f.format_data(&data));
    let message = match message {
        Ok(m) => m,
        Err(e) => {
            let (line, column) = match &e {
                FormatError::Template { line, column, .. } => (Some(*line), *column),
                _ => (None, None),
            };
            if let Some(editor) = app.editor.as_mut() {
                editor.error = Some(e.to_string());
                editor.error_at = line.map(|l| (l, column));
            }
            // Keep the last good preview; say why this one did not render.
            let text = std::mem::take(&mut app.preview.text);
            let json = std::mem::take(&mut app.preview.json_text);
            app.set_preview_output(text, json, Some(e.to_string()));
            return;
        }
    };
    if let Some(editor) = app.editor.as_mut() {
        editor.error = None;
        editor.error_at = None;
    }
    let payload = payload_for(notifier, &data, &message, &app.slack_destinations);
    let json = serde_json::to_string_pretty(&payload).unwrap_or_default();
    let text = match &notifier.kind {
        NotifierKind::Webhook { .. } => plain_lines(&message.text, Style::default()),
        _ => {
            let mut ctx = RenderContext::new(width.max(20));
            ctx.styles = styles;
            ctx.names = &app.slack_names;
            render_payload(&payload, &ctx)
        }
    };
    app.set_preview_output(text, json, None);
}

/// Text shown as it is, one terminal-safe line per line.
pub fn plain_lines(text: &str, style: Style) -> Text<'static> {
    Text::from(
        text.lines()
            .map(|l| Line::from(Span::styled(sanitize_for_terminal(l).into_owned(), style)))
            .collect::<Vec<_>>(),
    )
}
