//! `template`: a minijinja template written by the operator (PRODUCT.md §3.3), rendering Slack
//! mrkdwn, Block Kit JSON or any JSON body. Values from the alert are escaped for where they
//! land and template text is not, so `<!here>` written in the template mentions and
//! `{{ object.value }}` beside it cannot. Names are checked when the template compiles; an
//! error says the template, line, column and what was meant; a failing template never makes a
//! message.
//!
//! What a template sees:
//! - `object`: the ThreatQ object — `kind`, `id`, `value`, `type`, `status`, `score`, `sources`,
//!   `attributes` (each `name`, `value`), `tags`, `tlp`, `description`, `relations` (each `kind`,
//!   `id`, `value`), `url`, `created_at`, `updated_at`, `touched_at` (RFC 3339, UTC). A field the
//!   object's kind lacks is `none`; a name that is no field is an error.
//! - `alert` (`key`, `notification_type`, `service`, `object`, `changes`, `detected_at`),
//!   `changes` (`["score"]`, empty on first sight), `service`, `notification_type`.
//! - `alerts` and `digest` (`page`, `pages`, `total`): a template that reads them renders a
//!   digest page once (`{% for a in alerts %}`) and gets `alerts` = [the alert] for one alert;
//!   a template that does not is rendered for each alert of a digest, and the product joins
//!   the results under a numbered heading, within Slack's limits, with `+N more`.
//! - Filters besides minijinja's: `defang`, `truncate(n)`, `url` (percent-encode for a URL
//!   component), `severity` (`low`…`critical`, the scale of `formatters::severity`), `ago`
//!   (counted from the alert's detection: a formatter reads no clock).
//!
//! Where a value lands decides its escaping: in mrkdwn (the `mrkdwn` output, `mrkdwn` text
//! objects and `text` of `blocks`) it is escaped once, defanged (indicator values whole), and
//! cannot close a code span or end a link's URL (a value in `<…|` is percent-encoded); in a
//! `plain_text` field it is defanged; in a `url` field only the object's ThreatQ link is kept
//! as it is; in `json` output values are raw, and outside a JSON string a value becomes JSON
//! (`"tags": {{ object.tags }}` is a list, `{{ object.tlp }}` may be `null`). A value too long
//! for a Slack limit is cut with `…`; the template's own text never is.
//!
//! Safety choices: undefined names are errors (strict); `|safe` is refused (a value from
//! ThreatQ has no way around escaping); `tojson` escapes like any value. `trim_blocks` and
//! `lstrip_blocks` are on, so `{% if %}` lines leave no blank lines in a message.

mod context;
mod errors;
mod filters;
mod output;
mod scope;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde_json::{Map, Value as Json};

pub use context::{
    ALERT_FIELDS, ATTRIBUTE_FIELDS, DIGEST_FIELDS, OBJECT_FIELDS, RELATION_FIELDS, VARIABLES,
};

use self::output::{Facts, OutputError, Resolver, Role};
use self::scope::ScopeGuard;
use crate::alert::{Alert, Digest, MessageData, NotificationType};
use crate::config::TemplateOutput;
use crate::formatter::{FormatError, Formatter, Message};
use crate::slack::limits::{self, length};
use crate::slack::validate::validate;
use crate::text::truncate;

use super::plain::PlainFormatter;
use super::slack_blocks::{mrkdwn_text, notification_text};
use super::untrusted::prose_line;

/// Instructions one render may run (minijinja's fuel): far above what a digest of 200 alerts
/// through a Block Kit template uses, far below a stalled sender.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// A compiled template formatter. Compiling checks syntax and every name the template reads;
/// the console's editor compiles each keystroke's text with [`TemplateFormatter::compile`].
#[derive(Debug)]
pub struct TemplateFormatter {
    name: String,
    output: TemplateOutput,
    source: Arc<str>,
    env: Environment<'static>,
    globals: HashSet<String>,
    /// The template reads `alerts` or `digest`: a digest page renders it once. Otherwise each
    /// alert of a digest renders it and the product joins the results.
    digest_aware: bool,
}

impl TemplateFormatter {
    /// Compile `source` as the template of formatter `name`.
    pub fn compile(
        name: impl Into<String>,
        output: TemplateOutput,
        source: impl Into<String>,
    ) -> Result<Self, FormatError> {
        let name = name.into();
        let source: String = source.into();
        if let Some(at) = source.find(context::is_mark) {
            let (line, column) = errors::line_column(&source, at);
            return Err(FormatError::Template {
                template: name,
                line,
                column: Some(column),
                message: "the template holds a private-use character (U+E000–U+E002) the \
                          product uses internally; remove it"
                    .to_owned(),
            });
        }
        let mut env = environment();
        env.add_template_owned(name.clone(), source.clone())
            .map_err(|e| errors::compile_error(&name, &source, &e))?;
        errors::check_names(&name, &source, &env)?;
        let tmpl = env
            .get_template(&name)
            .map_err(|e| errors::compile_error(&name, &source, &e))?;
        let top = tmpl.undeclared_variables(false);
        let digest_aware = top.contains("alerts") || top.contains("digest");
        let globals = env.globals().map(|(name, _)| name.to_owned()).collect();
        Ok(Self {
            name,
            output,
            source: source.into(),
            env,
            globals,
            digest_aware,
        })
    }

    pub fn output(&self) -> TemplateOutput {
        self.output
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Render once with `variables`; the output with its value marks and the values.
    fn render(
        &self,
        variables: Value,
        reference_time: chrono::DateTime<chrono::Utc>,
        digest: bool,
    ) -> Result<(String, Vec<Value>), FormatError> {
        let guard = ScopeGuard::open(Some(reference_time));
        let tmpl = self
            .env
            .get_template(&self.name)
            .map_err(|e| errors::compile_error(&self.name, &self.source, &e))?;
        let result = tmpl.render(variables);
        let scope = guard.close();
        match result {
            Ok(rendered) => Ok((rendered, scope.values)),
            Err(e) => Err(errors::render_error(
                &self.name,
                &self.source,
                &e,
                &scope.misses,
                &self.globals,
                digest,
            )),
        }
    }

    /// One rendering made into a message (text, blocks, or a JSON body).
    fn finish(
        &self,
        rendered: &str,
        values: &[Value],
        data: &MessageData,
        text_limit: usize,
    ) -> Result<Message, FormatError> {
        let facts = Facts::of(data.alerts());
        let r = Resolver {
            values,
            facts: &facts,
        };
        match self.output {
            TemplateOutput::Mrkdwn => {
                let text = r
                    .resolve(
                        rendered.trim(),
                        Role::Mrkdwn,
                        Some(text_limit),
                        "the message",
                    )
                    .map_err(|e| self.output_error(e, data))?;
                if text.trim().is_empty() {
                    return Err(self.invalid(
                        "the template rendered an empty message (Slack needs text)".to_owned(),
                    ));
                }
                Ok(Message::text(text))
            }
            TemplateOutput::Blocks => {
                let json = r
                    .parse_json(rendered)
                    .map_err(|e| self.output_error(e, data))?;
                let mut payload = match json {
                    Json::Array(blocks) => {
                        let mut m = Map::new();
                        m.insert("blocks".into(), Json::Array(blocks));
                        m
                    }
                    Json::Object(m) if m.contains_key("blocks") || m.contains_key("text") => m,
                    other => {
                        return Err(self.invalid(format!(
                            "a `blocks` template must render a JSON array of blocks or an object \
                             with `blocks`, not {}",
                            json_kind(&other)
                        )));
                    }
                };
                blocks::walk_payload(&r, &mut payload).map_err(|e| self.output_error(e, data))?;
                let text = match payload.remove("text") {
                    Some(Json::String(t)) if !t.trim().is_empty() => t,
                    _ => notification_text(data),
                };
                let message = Message {
                    text,
                    blocks: payload.remove("blocks"),
                    attachments: payload.remove("attachments"),
                    body: None,
                };
                self.check_limits(&message)?;
                Ok(message)
            }
            TemplateOutput::Json => {
                let mut json = r
                    .parse_json(rendered)
                    .map_err(|e| self.output_error(e, data))?;
                blocks::walk_raw(&r, &mut json);
                let text = PlainFormatter::new(&self.name).format_data(data)?.text;
                Ok(Message {
                    text,
                    body: Some(json),
                    ..Message::default()
                })
            }
        }
    }

    /// A message Slack would refuse is an error, never sent.
    fn check_limits(&self, message: &Message) -> Result<(), FormatError> {
        let payload = crate::slack::payload::message_body(message);
        let violations = validate(&payload);
        if violations.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        Err(self.invalid(format!(
            "the message breaks Slack's limits: {}",
            list.join("; ")
        )))
    }

    fn invalid(&self, message: String) -> FormatError {
        FormatError::Invalid {
            formatter: self.name.clone(),
            message,
        }
    }

    /// An output problem, placed in the template where possible: a JSON error is traced back
    /// from the output to the template line that wrote it.
    fn output_error(&self, e: OutputError, data: &MessageData) -> FormatError {
        match e {
            OutputError::TooLong {
                limit,
                length,
                what,
            } => self.invalid(format!(
                "{what} is {length} characters after cutting every value, and Slack allows \
                 {limit}: shorten the template's own text"
            )),
            OutputError::NotJson {
                message,
                line,
                column,
                offset,
                snippet,
            } => {
                let (template_line, template_column) = self.source_of_output(offset, data);
                FormatError::Template {
                    template: self.name.clone(),
                    line: template_line,
                    column: template_column,
                    message: format!(
                        "the output is not valid JSON: {message} (output line {line}, column \
                         {column}, near `{snippet}`)"
                    ),
                }
            }
        }
    }

    /// The template line (and column) that wrote byte `offset` of the output, found by
    /// rendering again with spans (rare: only for an error).
    fn source_of_output(&self, offset: usize, data: &MessageData) -> (usize, Option<usize>) {
        let last_line = self.source.lines().count().max(1);
        let Ok(tmpl) = self.env.get_template(&self.name) else {
            return (last_line, None);
        };
        let (variables, reference_time) = match data {
            MessageData::Single { alert } => {
                let a = Arc::new((**alert).clone());
                (context::for_alert(&a), a.detected_at)
            }
            MessageData::Digest(d) if self.digest_aware => {
                let alerts: Vec<Arc<Alert>> = d.alerts.iter().cloned().map(Arc::new).collect();
                (context::for_digest(d, &alerts), reference_time(&d.alerts))
            }
            MessageData::Digest(d) => match d.alerts.first() {
                Some(first) => {
                    let a = Arc::new(first.clone());
                    (context::for_alert(&a), a.detected_at)
                }
                None => return (last_line, None),
            },
        };
        let guard = ScopeGuard::open(Some(reference_time));
        let spans = tmpl.render_with_spans(variables);
        drop(guard);
        let Ok((_, spans)) = spans else {
            return (last_line, None);
        };
        let span = spans
            .iter()
            .find(|s| s.output_range().contains(&offset))
            .or_else(|| {
                spans
                    .iter()
                    .rev()
                    .find(|s| s.output_range().start <= offset)
            });
        match span {
            Some(span) => {
                let (line, column) = errors::line_column(&self.source, span.source_range().start);
                (line, Some(column))
            }
            None => (last_line, None),
        }
    }

    fn format_single(&self, alert: &Alert, data: &MessageData) -> Result<Message, FormatError> {
        let alert = Arc::new(alert.clone());
        let (rendered, values) =
            self.render(context::for_alert(&alert), alert.detected_at, false)?;
        self.finish(&rendered, &values, data, limits::MAX_MESSAGE_TEXT)
    }

    fn format_digest(&self, digest: &Digest, data: &MessageData) -> Result<Message, FormatError> {
        if self.digest_aware {
            let alerts: Vec<Arc<Alert>> = digest.alerts.iter().cloned().map(Arc::new).collect();
            let (rendered, values) = self.render(
                context::for_digest(digest, &alerts),
                reference_time(&digest.alerts),
                true,
            )?;
            return self.finish(&rendered, &values, data, limits::MAX_MESSAGE_TEXT);
        }
        match self.output {
            TemplateOutput::Mrkdwn => self.joined_text(digest),
            TemplateOutput::Blocks => self.joined_blocks(digest, data),
            TemplateOutput::Json => {
                let mut bodies = Vec::with_capacity(digest.alerts.len());
                for alert in &digest.alerts {
                    let one = MessageData::single(alert.clone());
                    if let Some(body) = self.format_single(alert, &one)?.body {
                        bodies.push(body);
                    }
                }
                Ok(Message {
                    text: PlainFormatter::new(&self.name).format_data(data)?.text,
                    body: Some(Json::Array(bodies)),
                    ..Message::default()
                })
            }
        }
    }

    /// A digest from a template written for one alert, as text: a numbered heading, then each
    /// alert's text, as many as fit in Slack's 4000 characters, then `+N more`.
    fn joined_text(&self, digest: &Digest) -> Result<Message, FormatError> {
        let mut text = format!("*{}*", mrkdwn_text(&digest_heading(digest)));
        let n = digest.alerts.len();
        const MORE: usize = 24;
        for (i, alert) in digest.alerts.iter().enumerate() {
            let room = limits::MAX_MESSAGE_TEXT.saturating_sub(length(&text) + 2 + MORE);
            let one = MessageData::single(alert.clone());
            let rendered = self.format_single(alert, &one)?.text;
            let part = if length(&rendered) <= room {
                rendered
            } else if i == 0 {
                // the first alert is always shown, cut to the room there is
                let alert = Arc::new(alert.clone());
                let (rendered, values) =
                    self.render(context::for_alert(&alert), alert.detected_at, false)?;
                self.finish(&rendered, &values, &one, room)?.text
            } else {
                let _ = write!(text, "\n\n+{} more", n - i);
                break;
            };
            text.push_str("\n\n");
            text.push_str(&part);
        }
        Ok(Message::text(text))
    }

    /// A digest from a template written for one alert, as blocks: a numbered header, then each
    /// alert's blocks divided, within Slack's 50 blocks, then `+N more`.
    fn joined_blocks(&self, digest: &Digest, data: &MessageData) -> Result<Message, FormatError> {
        let mut blocks = vec![serde_json::json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&prose_line(&digest_heading(digest)), limits::MAX_HEADER_TEXT), "emoji": true}
        })];
        let n = digest.alerts.len();
        for (i, alert) in digest.alerts.iter().enumerate() {
            let one = MessageData::single(alert.clone());
            let message = self.format_single(alert, &one)?;
            let own: Vec<Json> = match message.blocks {
                Some(Json::Array(b)) => b,
                _ => Vec::new(),
            };
            // a divider before the alert, and room for the `+N more` line after it
            let reserve = if i + 1 < n { 1 } else { 0 };
            if blocks.len() + 1 + own.len() + reserve > limits::MAX_BLOCKS {
                blocks.push(serde_json::json!({
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": format!("+{} more", n - i)}]
                }));
                break;
            }
            blocks.push(serde_json::json!({"type": "divider"}));
            blocks.extend(own);
        }
        let message = Message {
            text: notification_text(data),
            blocks: Some(Json::Array(blocks)),
            ..Message::default()
        };
        self.check_limits(&message)?;
        Ok(message)
    }
}

impl Formatter for TemplateFormatter {
    fn name(&self) -> &str {
        &self.name
    }

    fn format_data(&self, data: &MessageData) -> Result<Message, FormatError> {
        match data {
            MessageData::Single { alert } => self.format_single(alert, data),
            MessageData::Digest(digest) => self.format_digest(digest, data),
        }
    }
}

/// The environment every template formatter compiles in.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A template is code the sender runs for every message: a runaway loop must fail its row
    // (out of fuel), not stall the sender. Real templates, digests included, use a fraction.
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::Custom("tq-alerts".into()));
    env.set_formatter(output::mark_value);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    filters::register(&mut env);
    env
}

/// `ago` counts from the newest detection among the alerts.
fn reference_time(alerts: &[Alert]) -> chrono::DateTime<chrono::Utc> {
    alerts
        .iter()
        .map(|a| a.detected_at)
        .max()
        .unwrap_or_default()
}

/// `Watchlist: 45 alerts (1/3) from watchlist`
fn digest_heading(digest: &Digest) -> String {
    let title = match digest.notification_type {
        NotificationType::Watchlist => "Watchlist",
        NotificationType::DataCollection => "Data collection",
        NotificationType::Test => "Test",
    };
    let mut heading = format!(
        "{title}: {} alert{}",
        digest.total,
        if digest.total == 1 { "" } else { "s" }
    );
    if digest.pages > 1 {
        let _ = write!(heading, " ({}/{})", digest.page, digest.pages);
    }
    let _ = write!(
        heading,
        " from {}",
        prose_line(&truncate(&digest.service, 80))
    );
    heading
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Where each string of a Block Kit payload sits, and so how its values are escaped and how
/// long it may be.
mod blocks {
    use serde_json::{Map, Value as Json};

    use super::output::{OutputError, Resolver, Role};
    use crate::slack::limits;

    /// A string at a place with a role and maybe a limit; whole-value marks become JSON.
    fn string(
        r: &Resolver<'_>,
        v: &mut Json,
        role: Role,
        limit: Option<usize>,
        what: &str,
    ) -> Result<(), OutputError> {
        match v {
            Json::String(s) => {
                if let Some(whole) = r.whole_value(s, role) {
                    *v = whole;
                    // a whole value that is a string still has to fit
                    if let (Json::String(s), Some(limit)) = (&*v, limit)
                        && limits::length(s) > limit
                    {
                        *v = Json::String(crate::text::truncate(s, limit).into_owned());
                    }
                    return Ok(());
                }
                *s = r.resolve(s, role, limit, what)?;
                Ok(())
            }
            other => generic(r, other, role),
        }
    }

    /// Anything else: strings escaped for `role`, keys too.
    fn generic(r: &Resolver<'_>, v: &mut Json, role: Role) -> Result<(), OutputError> {
        match v {
            Json::String(_) => string(r, v, role, None, "a string"),
            Json::Array(items) => {
                for item in items {
                    generic(r, item, role)?;
                }
                Ok(())
            }
            Json::Object(map) => {
                let old = std::mem::take(map);
                for (key, mut value) in old {
                    let key = r.resolve(&key, Role::Plain, None, "a key")?;
                    generic(r, &mut value, role)?;
                    map.insert(key, value);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The whole body of a `json` template: raw values, keys included.
    pub(crate) fn walk_raw(r: &Resolver<'_>, v: &mut Json) {
        let _ = generic(r, v, Role::Raw);
    }

    pub(crate) fn walk_payload(
        r: &Resolver<'_>,
        payload: &mut Map<String, Json>,
    ) -> Result<(), OutputError> {
        for (key, value) in payload.iter_mut() {
            match key.as_str() {
                "text" => string(
                    r,
                    value,
                    Role::Mrkdwn,
                    Some(limits::MAX_MESSAGE_TEXT),
                    "the message text",
                )?,
                "blocks" => blocks(r, value)?,
                "attachments" => {
                    if let Json::Array(items) = value {
                        for item in items {
                            attachment(r, item)?;
                        }
                    } else {
                        generic(r, value, Role::Mrkdwn)?;
                    }
                }
                _ => generic(r, value, Role::Plain)?,
            }
        }
        Ok(())
    }

    fn blocks(r: &Resolver<'_>, value: &mut Json) -> Result<(), OutputError> {
        match value {
            Json::Array(items) => {
                for item in items {
                    block(r, item)?;
                }
                Ok(())
            }
            other => generic(r, other, Role::Mrkdwn),
        }
    }

    fn block(r: &Resolver<'_>, block: &mut Json) -> Result<(), OutputError> {
        let Json::Object(map) = block else {
            return generic(r, block, Role::Mrkdwn);
        };
        let kind = map
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        for (key, value) in map.iter_mut() {
            match (kind.as_str(), key.as_str()) {
                (_, "type") => {}
                (_, "block_id") => string(
                    r,
                    value,
                    Role::Plain,
                    Some(limits::MAX_BLOCK_ID),
                    "a block_id",
                )?,
                ("header", "text") => {
                    text_object(r, value, Some(limits::MAX_HEADER_TEXT), "a header")?
                }
                ("section", "text") => {
                    text_object(r, value, Some(limits::MAX_SECTION_TEXT), "a section's text")?
                }
                ("section", "fields") => {
                    if let Json::Array(fields) = value {
                        for field in fields {
                            text_object(
                                r,
                                field,
                                Some(limits::MAX_SECTION_FIELD_TEXT),
                                "a section field",
                            )?;
                        }
                    }
                }
                ("section", "accessory") => element(r, value)?,
                ("context", "elements") | ("actions", "elements") => {
                    if let Json::Array(elements) = value {
                        for e in elements {
                            element(r, e)?;
                        }
                    }
                }
                ("image", "image_url") => string(r, value, Role::Url, None, "an image URL")?,
                ("image", "alt_text") => string(r, value, Role::Plain, None, "alt text")?,
                ("image", "title") => text_object(r, value, None, "an image title")?,
                _ => generic(r, value, Role::Mrkdwn)?,
            }
        }
        Ok(())
    }

    /// A `plain_text` or `mrkdwn` text object (or an element of a context block).
    fn text_object(
        r: &Resolver<'_>,
        object: &mut Json,
        limit: Option<usize>,
        what: &str,
    ) -> Result<(), OutputError> {
        let Json::Object(map) = object else {
            return string(r, object, Role::Mrkdwn, limit, what);
        };
        let role = match map.get("type").and_then(Json::as_str) {
            Some("plain_text") => Role::Plain,
            _ => Role::Mrkdwn,
        };
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "type" => {}
                "text" => string(r, value, role, limit, what)?,
                _ => generic(r, value, Role::Plain)?,
            }
        }
        Ok(())
    }

    /// An element: a button, an image, or a context block's text.
    fn element(r: &Resolver<'_>, element: &mut Json) -> Result<(), OutputError> {
        let kind = element
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "plain_text" | "mrkdwn" => return text_object(r, element, None, "a context element"),
            _ => {}
        }
        let Json::Object(map) = element else {
            return generic(r, element, Role::Mrkdwn);
        };
        for (key, value) in map.iter_mut() {
            match (kind.as_str(), key.as_str()) {
                (_, "type") => {}
                ("button", "text") => {
                    text_object(r, value, Some(limits::MAX_BUTTON_TEXT), "a button's text")?
                }
                (_, "url") => string(
                    r,
                    value,
                    Role::Url,
                    Some(limits::MAX_BUTTON_URL),
                    "a button's url",
                )?,
                (_, "value") => string(
                    r,
                    value,
                    Role::Plain,
                    Some(limits::MAX_BUTTON_VALUE),
                    "a button's value",
                )?,
                (_, "action_id") => string(
                    r,
                    value,
                    Role::Plain,
                    Some(limits::MAX_ACTION_ID),
                    "an action_id",
                )?,
                (_, "image_url") => string(r, value, Role::Url, None, "an image URL")?,
                (_, "alt_text") | (_, "style") => string(r, value, Role::Plain, None, key)?,
                _ => generic(r, value, Role::Mrkdwn)?,
            }
        }
        Ok(())
    }

    /// A legacy attachment: its blocks as blocks, links as URLs, the rest mrkdwn.
    fn attachment(r: &Resolver<'_>, attachment: &mut Json) -> Result<(), OutputError> {
        let Json::Object(map) = attachment else {
            return generic(r, attachment, Role::Mrkdwn);
        };
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "blocks" => blocks(r, value)?,
                "color" | "fallback" => generic(r, value, Role::Plain)?,
                k if k.ends_with("_link") || k.ends_with("_url") || k.ends_with("_icon") => {
                    string(r, value, Role::Url, None, k)?
                }
                _ => generic(r, value, Role::Mrkdwn)?,
            }
        }
        Ok(())
    }
}
