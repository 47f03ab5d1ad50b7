//! A Slack message drawn in a terminal: any payload (blocks, legacy attachments, or just
//! `text`) becomes ratatui [`Text`] at a given width, as Slack would lay it out. The console's
//! Preview pane and `preview --payload` share [`render_payload`]; every string taken from the
//! payload passes [`sanitize_for_terminal`] before it becomes a span (PRODUCT.md §7.2).

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::emoji;
use super::mrkdwn::{self, ParseOptions, Run, RunKind, RunStyle};
use super::validate::{Violation, validate};
use crate::text::sanitize_for_terminal;

/// Names for the ids in mentions, from the Slack resolution cache. Unknown ids are shown as
/// they are (`@U024BE7LH`).
pub trait Names {
    fn user(&self, id: &str) -> Option<String>;
    fn channel(&self, id: &str) -> Option<String>;
    fn user_group(&self, id: &str) -> Option<String> {
        let _ = id;
        None
    }
}

/// No names known: every mention shows its id (or the label the sender wrote).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNames;

impl Names for NoNames {
    fn user(&self, _: &str) -> Option<String> {
        None
    }
    fn channel(&self, _: &str) -> Option<String> {
        None
    }
}

/// One map for every kind of id: Slack's ids carry their kind in the first letter (`U`/`W`
/// users, `C`/`G` channels, `S` user groups), so they never collide.
impl Names for HashMap<String, String> {
    fn user(&self, id: &str) -> Option<String> {
        self.get(id).cloned()
    }
    fn channel(&self, id: &str) -> Option<String> {
        self.get(id).cloned()
    }
    fn user_group(&self, id: &str) -> Option<String> {
        self.get(id).cloned()
    }
}

/// The styles of each role in a drawing. The console builds these from its theme; the default
/// uses modifiers only, so it reads on any terminal and under `NO_COLOR`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderStyles {
    pub text: Style,
    pub muted: Style,
    pub header: Style,
    pub link: Style,
    pub code: Style,
    pub mention: Style,
    pub quote_bar: Style,
    pub button: Style,
    pub button_primary: Style,
    pub button_danger: Style,
    pub divider: Style,
    pub error: Style,
    /// Draw attachment bars in the attachment's own colour; when false (a no-colour theme)
    /// every bar is drawn in `muted`.
    pub attachment_colors: bool,
}

impl Default for RenderStyles {
    fn default() -> Self {
        let plain = Style::new();
        Self {
            text: plain,
            muted: plain.add_modifier(Modifier::DIM),
            header: plain.add_modifier(Modifier::BOLD),
            link: plain.add_modifier(Modifier::UNDERLINED),
            code: plain.add_modifier(Modifier::REVERSED),
            mention: plain.add_modifier(Modifier::BOLD),
            quote_bar: plain.add_modifier(Modifier::DIM),
            button: plain,
            button_primary: plain.add_modifier(Modifier::BOLD),
            button_danger: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            divider: plain.add_modifier(Modifier::DIM),
            error: plain.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            attachment_colors: true,
        }
    }
}

/// What a drawing needs besides the payload.
pub struct RenderContext<'a> {
    /// Columns available; the drawing never exceeds it.
    pub width: u16,
    pub names: &'a dyn Names,
    pub styles: RenderStyles,
}

impl RenderContext<'static> {
    /// Default styles, no names known.
    pub fn new(width: u16) -> Self {
        Self {
            width,
            names: &NoNames,
            styles: RenderStyles::default(),
        }
    }
}

const QUOTE_BAR: &str = "▎ ";
const PRE_BAR: &str = "│ ";
const ATTACHMENT_BAR: &str = "▌ ";
const FIELD_GAP: usize = 2;
/// Below this width fields stack in one column and accessories go under the text.
const TWO_COLUMNS_FROM: usize = 40;

/// Draw a Slack message payload (`text`, `blocks`, `attachments`) at `ctx.width` columns.
/// Blocks the renderer does not know are drawn as a muted `[unsupported block: type]` line;
/// nothing in a payload makes it fail.
pub fn render_payload(payload: &Value, ctx: &RenderContext<'_>) -> Text<'static> {
    let mut painter = Painter::new(ctx);
    let blocks = payload.get("blocks").and_then(Value::as_array);
    match blocks {
        Some(blocks) if !blocks.is_empty() => painter.blocks(blocks),
        _ => {
            if let Some(text) = payload.get("text").and_then(Value::as_str) {
                let base = ctx.styles.text;
                for line in painter.mrkdwn(text, false, painter.width, base) {
                    painter.push(line);
                }
            }
        }
    }
    if let Some(attachments) = payload.get("attachments").and_then(Value::as_array) {
        for attachment in attachments {
            painter.attachment(attachment);
        }
    }
    Text::from(painter.lines)
}

/// A line in the making: text pieces with their styles.
type Pieces = Vec<(String, Style)>;

struct Painter<'c> {
    ctx: &'c RenderContext<'c>,
    lines: Vec<Line<'static>>,
    /// Drawn before every line (attachment bars).
    prefix: Vec<Span<'static>>,
    /// Columns left after the prefix.
    width: usize,
}

impl<'c> Painter<'c> {
    fn new(ctx: &'c RenderContext<'c>) -> Self {
        Self {
            ctx,
            lines: Vec::new(),
            prefix: Vec::new(),
            width: usize::from(ctx.width).max(1),
        }
    }

    fn styles(&self) -> &RenderStyles {
        &self.ctx.styles
    }

    fn push(&mut self, pieces: Pieces) {
        let mut spans = self.prefix.clone();
        let mut merged = Pieces::new();
        for (text, style) in pieces {
            push_piece(&mut merged, &text, style);
        }
        spans.extend(
            merged
                .into_iter()
                .map(|(text, style)| Span::styled(text, style)),
        );
        let mut line = Line::from(spans);
        let limit = usize::from(self.ctx.width);
        if line.width() > limit {
            // only at widths too narrow for bars and wide characters (a few columns)
            line = clip(line, limit);
        }
        self.lines.push(line);
    }

    fn blank(&mut self) {
        self.push(Vec::new());
    }

    fn muted_line(&mut self, text: String) {
        let style = self.styles().muted;
        for line in wrap(vec![(text, style)], self.width) {
            self.push(line);
        }
    }

    /// Blocks one after another. Slack leaves a gap between blocks; in a terminal a blank line
    /// goes before a header and before a section or image that follows content (not right
    /// after a header or a divider), so alerts in a digest stay apart without wasting rows.
    fn blocks(&mut self, blocks: &[Value]) {
        let mut previous = None;
        for block in blocks {
            let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
            let gap = match (previous, kind) {
                (None, _) => false,
                (Some(_), "header") => true,
                (Some("header" | "divider"), _) => false,
                (Some(_), "section" | "image") => true,
                _ => false,
            };
            if gap {
                self.blank();
            }
            self.block(kind, block);
            previous = Some(kind);
        }
    }

    fn block(&mut self, kind: &str, block: &Value) {
        match kind {
            "header" => {
                let style = self.styles().header;
                if let Some(text) = block.get("text") {
                    for line in self.text_object(text, self.width, style) {
                        self.push(line);
                    }
                }
            }
            "section" => self.section(block),
            "context" => self.context(block),
            "divider" => {
                let style = self.styles().divider;
                self.push(vec![("─".repeat(self.width), style)]);
            }
            "actions" => {
                let elements = block.get("elements").and_then(Value::as_array);
                let buttons: Vec<Pieces> = elements
                    .into_iter()
                    .flatten()
                    .map(|e| self.element(e))
                    .collect();
                for line in wrap_atoms(buttons, self.width) {
                    self.push(line);
                }
            }
            "image" => {
                if let Some(title) = block.get("title") {
                    let style = self.styles().text.add_modifier(Modifier::BOLD);
                    for line in self.text_object(title, self.width, style) {
                        self.push(line);
                    }
                }
                let alt = block.get("alt_text").and_then(Value::as_str).unwrap_or("");
                self.muted_line(format!("[image: {}]", clean(alt)));
            }
            other => {
                let kind = if other.is_empty() { "(no type)" } else { other };
                self.muted_line(format!("[unsupported block: {}]", clean(kind)));
            }
        }
    }

    fn section(&mut self, block: &Value) {
        let accessory = block.get("accessory").map(|a| self.element(a));
        let accessory_width = accessory.as_ref().map_or(0, |a| pieces_width(a));
        let beside = accessory.is_some()
            && self.width >= TWO_COLUMNS_FROM
            && accessory_width < self.width / 3;
        let text_width = if beside {
            self.width - accessory_width - 1
        } else {
            self.width
        };
        let mut lines = match block.get("text") {
            Some(text) => self.text_object(text, text_width, self.styles().text),
            None => Vec::new(),
        };
        if let Some(accessory) = accessory {
            if beside {
                if lines.is_empty() {
                    lines.push(Vec::new());
                }
                let first = &mut lines[0];
                let pad = self.width - accessory_width - pieces_width(first);
                first.push((" ".repeat(pad), Style::new()));
                first.extend(accessory);
            } else {
                lines.extend(wrap_atoms(vec![accessory], self.width));
            }
        }
        for line in lines {
            self.push(line);
        }
        if let Some(fields) = block.get("fields").and_then(Value::as_array) {
            self.fields(fields);
        }
    }

    /// Fields two to a row when the width allows, as Slack lays them out.
    fn fields(&mut self, fields: &[Value]) {
        let text = self.styles().text;
        if self.width < TWO_COLUMNS_FROM {
            for field in fields {
                for line in self.text_object(field, self.width, text) {
                    self.push(line);
                }
            }
            return;
        }
        let column = (self.width - FIELD_GAP) / 2;
        for pair in fields.chunks(2) {
            let left = self.text_object(&pair[0], column, text);
            let right = match pair.get(1) {
                Some(field) => self.text_object(field, column, text),
                None => Vec::new(),
            };
            for row in 0..left.len().max(right.len()) {
                let mut line = left.get(row).cloned().unwrap_or_default();
                if let Some(r) = right.get(row) {
                    let pad = column + FIELD_GAP - pieces_width(&line);
                    line.push((" ".repeat(pad), Style::new()));
                    line.extend(r.iter().cloned());
                }
                self.push(line);
            }
        }
    }

    /// A context block: its elements on one wrapped line, dimmed.
    fn context(&mut self, block: &Value) {
        let muted = self.styles().muted;
        let mut lines: Vec<Pieces> = vec![Vec::new()];
        let elements = block.get("elements").and_then(Value::as_array);
        for (i, element) in elements.into_iter().flatten().enumerate() {
            if i > 0
                && let Some(last) = lines.last_mut()
            {
                last.push(("  ".to_owned(), muted));
            }
            let pieces = match element.get("type").and_then(Value::as_str) {
                Some("image") => {
                    let alt = element
                        .get("alt_text")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    vec![vec![(clean(alt), muted)]]
                }
                _ => self.logical_lines(element, muted),
            };
            let mut pieces = pieces.into_iter();
            if let (Some(first), Some(last)) = (pieces.next(), lines.last_mut()) {
                last.extend(first);
            }
            lines.extend(pieces);
        }
        for logical in lines {
            let patched: Pieces = logical
                .into_iter()
                .map(|(t, s)| (t, s.patch(muted)))
                .collect();
            for line in wrap(patched, self.width) {
                self.push(line);
            }
        }
    }

    /// An interactive element drawn as a button-like atom: `[ Open in ThreatQ ]`.
    fn element(&self, element: &Value) -> Pieces {
        let styles = self.styles();
        let label = |key: &str| {
            element
                .get(key)
                .map(|t| self.plain_string(t))
                .unwrap_or_default()
        };
        match element.get("type").and_then(Value::as_str).unwrap_or("") {
            "button" => {
                let style = match element.get("style").and_then(Value::as_str) {
                    Some("primary") => styles.button_primary,
                    Some("danger") => styles.button_danger,
                    _ => styles.button,
                };
                vec![(format!("[ {} ]", label("text")), style)]
            }
            "image" => {
                let alt = element
                    .get("alt_text")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                vec![(format!("[image: {}]", clean(alt)), styles.muted)]
            }
            "overflow" => vec![("[ ⋯ ]".to_owned(), styles.button)],
            kind if kind.ends_with("_select") || kind == "datepicker" || kind == "timepicker" => {
                let shown = element
                    .get("initial_option")
                    .and_then(|o| o.get("text"))
                    .map(|t| self.plain_string(t))
                    .or_else(|| {
                        element
                            .get("initial_date")
                            .and_then(Value::as_str)
                            .map(clean)
                    })
                    .or_else(|| {
                        element
                            .get("initial_time")
                            .and_then(Value::as_str)
                            .map(clean)
                    })
                    .unwrap_or_else(|| label("placeholder"));
                vec![(format!("[ {shown} ▾ ]"), styles.button)]
            }
            other => vec![(
                format!("[unsupported element: {}]", clean(other)),
                styles.muted,
            )],
        }
    }

    /// A legacy attachment: pretext above, everything else behind a bar in its colour.
    fn attachment(&mut self, attachment: &Value) {
        let styles = self.styles().clone();
        let get = |key: &str| attachment.get(key).and_then(Value::as_str);
        if !self.lines.is_empty() {
            self.blank();
        }
        if let Some(pretext) = get("pretext") {
            for line in self.mrkdwn(pretext, false, self.width, styles.text) {
                self.push(line);
            }
        }
        let bar_style = match get("color").and_then(attachment_color) {
            Some(color) if styles.attachment_colors => Style::new().fg(color),
            _ => styles.muted,
        };
        let saved_prefix = self.prefix.clone();
        let saved_width = self.width;
        self.prefix.push(Span::styled(ATTACHMENT_BAR, bar_style));
        self.width = self.width.saturating_sub(ATTACHMENT_BAR.width()).max(1);
        let start = self.lines.len();

        if let Some(author) = get("author_name") {
            self.muted_line(clean(author));
        }
        if let Some(title) = get("title") {
            let style = if get("title_link").is_some() {
                styles.text.add_modifier(Modifier::BOLD).patch(styles.link)
            } else {
                styles.text.add_modifier(Modifier::BOLD)
            };
            for line in self.mrkdwn(title, false, self.width, style) {
                self.push(line);
            }
        }
        if let Some(text) = get("text") {
            for line in self.mrkdwn(text, false, self.width, styles.text) {
                self.push(line);
            }
        }
        if let Some(fields) = attachment.get("fields").and_then(Value::as_array) {
            self.attachment_fields(fields);
        }
        if let Some(blocks) = attachment.get("blocks").and_then(Value::as_array) {
            self.blocks(blocks);
        }
        let footer = get("footer").map(clean);
        let ts = attachment
            .get("ts")
            .and_then(|ts| {
                ts.as_i64()
                    .or_else(|| ts.as_str()?.split('.').next()?.parse().ok())
            })
            .and_then(|ts| chrono::DateTime::from_timestamp(ts, 0))
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        let footer_line = match (footer, ts) {
            (Some(f), Some(t)) => Some(format!("{f} | {t}")),
            (Some(f), None) => Some(f),
            (None, Some(t)) => Some(t),
            (None, None) => None,
        };
        if let Some(line) = footer_line {
            self.muted_line(line);
        }
        if self.lines.len() == start {
            // nothing but a colour: Slack still draws the fallback beside the bar
            let fallback = get("fallback").unwrap_or("");
            for line in wrap(vec![(clean(fallback), styles.text)], self.width) {
                self.push(line);
            }
        }
        self.prefix = saved_prefix;
        self.width = saved_width;
    }

    /// Legacy attachment fields: a bold title over its value; `short` ones two to a row.
    fn attachment_fields(&mut self, fields: &[Value]) {
        let text = self.styles().text;
        let title_style = text.add_modifier(Modifier::BOLD);
        let two = self.width >= TWO_COLUMNS_FROM;
        let column = if two {
            (self.width - FIELD_GAP) / 2
        } else {
            self.width
        };
        let draw = |p: &Self, field: &Value, width: usize| -> Vec<Pieces> {
            let mut lines = Vec::new();
            if let Some(title) = field.get("title").and_then(Value::as_str) {
                lines.extend(wrap(vec![(clean(title), title_style)], width));
            }
            if let Some(value) = field.get("value").and_then(Value::as_str) {
                lines.extend(p.mrkdwn(value, false, width, text));
            }
            lines
        };
        let mut i = 0;
        while i < fields.len() {
            let short = |f: &Value| f.get("short").and_then(Value::as_bool).unwrap_or(false);
            if two && short(&fields[i]) && fields.get(i + 1).is_some_and(short) {
                let left = draw(self, &fields[i], column);
                let right = draw(self, &fields[i + 1], column);
                for row in 0..left.len().max(right.len()) {
                    let mut line = left.get(row).cloned().unwrap_or_default();
                    if let Some(r) = right.get(row) {
                        let pad = column + FIELD_GAP - pieces_width(&line);
                        line.push((" ".repeat(pad), Style::new()));
                        line.extend(r.iter().cloned());
                    }
                    self.push(line);
                }
                i += 2;
            } else {
                for line in draw(self, &fields[i], self.width) {
                    self.push(line);
                }
                i += 1;
            }
        }
    }

    /// A text object (`plain_text` or `mrkdwn`) wrapped to `width`.
    fn text_object(&self, object: &Value, width: usize, base: Style) -> Vec<Pieces> {
        let text = object.get("text").and_then(Value::as_str).unwrap_or("");
        match object.get("type").and_then(Value::as_str) {
            Some("mrkdwn") => {
                let verbatim = object
                    .get("verbatim")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                self.mrkdwn(text, verbatim, width, base)
            }
            _ => {
                let emoji = object.get("emoji").and_then(Value::as_bool).unwrap_or(true);
                let mut lines = Vec::new();
                for line in normalize_newlines(text).split('\n') {
                    let shown = if emoji {
                        with_emoji(line)
                    } else {
                        line.to_owned()
                    };
                    lines.extend(wrap(vec![(clean(&shown), base)], width));
                }
                lines
            }
        }
    }

    /// A text object's content as logical lines (not wrapped), for context elements.
    fn logical_lines(&self, object: &Value, base: Style) -> Vec<Pieces> {
        let text = object.get("text").and_then(Value::as_str).unwrap_or("");
        match object.get("type").and_then(Value::as_str) {
            Some("mrkdwn") => {
                let verbatim = object
                    .get("verbatim")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let options = ParseOptions {
                    autolink: !verbatim,
                };
                let runs = mrkdwn::parse_with(&normalize_newlines(text), options);
                self.logical(&runs, base)
                    .into_iter()
                    .map(|l| match l {
                        Logical::Para { pieces, .. } => pieces,
                        Logical::Pre { text, .. } => vec![(text, base.patch(self.styles().code))],
                    })
                    .collect()
            }
            _ => normalize_newlines(text)
                .split('\n')
                .map(|line| vec![(clean(&with_emoji(line)), base)])
                .collect(),
        }
    }

    /// The text of a plain text object on one line (button labels, placeholders).
    fn plain_string(&self, object: &Value) -> String {
        let text = object.get("text").and_then(Value::as_str).unwrap_or("");
        let emoji = object.get("emoji").and_then(Value::as_bool).unwrap_or(true);
        let text = normalize_newlines(text).replace('\n', " ");
        clean(&if emoji { with_emoji(&text) } else { text })
    }

    /// mrkdwn parsed and wrapped to `width`, with quote bars and code block bars.
    fn mrkdwn(&self, text: &str, verbatim: bool, width: usize, base: Style) -> Vec<Pieces> {
        let styles = self.styles();
        let runs = mrkdwn::parse_with(
            &normalize_newlines(text),
            ParseOptions {
                autolink: !verbatim,
            },
        );
        let mut out = Vec::new();
        for logical in self.logical(&runs, base) {
            let (quote, mut lines) = match logical {
                Logical::Para { quote, pieces } => {
                    let inner = width.saturating_sub(if quote { QUOTE_BAR.width() } else { 0 });
                    (quote, wrap(pieces, inner.max(1)))
                }
                Logical::Pre { quote, text } => {
                    let inner = width
                        .saturating_sub(PRE_BAR.width() + if quote { QUOTE_BAR.width() } else { 0 })
                        .max(1);
                    let code = base.patch(styles.code);
                    let lines = hard_wrap(&text, inner)
                        .into_iter()
                        .map(|l| vec![(PRE_BAR.to_owned(), styles.muted), (l, code)])
                        .collect();
                    (quote, lines)
                }
            };
            if quote {
                for line in &mut lines {
                    line.insert(0, (QUOTE_BAR.to_owned(), styles.quote_bar));
                }
            }
            out.extend(lines);
        }
        out
    }

    /// Runs grouped into the lines of the source: paragraphs of styled pieces, and code block
    /// lines.
    fn logical(&self, runs: &[Run], base: Style) -> Vec<Logical> {
        let mut out = Vec::new();
        let mut pieces = Pieces::new();
        let mut quote = false;
        let mut open = false;
        let mut after_pre = false;
        for run in runs {
            match &run.kind {
                RunKind::Newline => {
                    out.push(Logical::Para {
                        quote: run.style.quote,
                        pieces: std::mem::take(&mut pieces),
                    });
                    open = false;
                    after_pre = false;
                }
                RunKind::Pre(text) => {
                    if open && !pieces.is_empty() {
                        out.push(Logical::Para {
                            quote,
                            pieces: std::mem::take(&mut pieces),
                        });
                    }
                    for line in text.split('\n') {
                        out.push(Logical::Pre {
                            quote: run.style.quote,
                            text: clean(line),
                        });
                    }
                    open = false;
                    after_pre = true;
                }
                _ => {
                    quote = run.style.quote;
                    open = true;
                    let before = pieces.len();
                    self.run_pieces(run, base, &mut pieces);
                    if after_pre && before == 0 {
                        // text after a code block on the same source line starts a new line
                        if let Some((first, _)) = pieces.first_mut() {
                            *first = first.trim_start().to_owned();
                        }
                    }
                    after_pre = false;
                }
            }
        }
        if open || out.is_empty() {
            out.push(Logical::Para { quote, pieces });
        }
        out
    }

    fn run_pieces(&self, run: &Run, base: Style, out: &mut Pieces) {
        let styles = self.styles();
        let style = emphasis(base, run.style);
        let names = self.ctx.names;
        let mut push = |text: String, style: Style| out.push((clean(&text), style));
        match &run.kind {
            RunKind::Text(t) => push(t.clone(), style),
            RunKind::Newline | RunKind::Pre(_) => {}
            RunKind::Code(c) => push(c.clone(), style.patch(styles.code)),
            RunKind::Link { label, .. } => {
                let link = style.patch(styles.link);
                for label_run in label {
                    let mut inner = Pieces::new();
                    self.run_pieces(label_run, link, &mut inner);
                    for (t, s) in inner {
                        push(t, s);
                    }
                }
            }
            RunKind::User { id, label } => {
                let name = names
                    .user(id)
                    .or_else(|| label.clone())
                    .unwrap_or_else(|| id.clone());
                push(
                    format!("@{}", name.trim_start_matches('@')),
                    style.patch(styles.mention),
                );
            }
            RunKind::Channel { id, label } => {
                let name = names
                    .channel(id)
                    .or_else(|| label.clone())
                    .unwrap_or_else(|| id.clone());
                push(
                    format!("#{}", name.trim_start_matches('#')),
                    style.patch(styles.mention),
                );
            }
            RunKind::Broadcast(b) => push(format!("@{}", b.name()), style.patch(styles.mention)),
            RunKind::Subteam { id, label } => {
                let name = names
                    .user_group(id)
                    .or_else(|| label.clone())
                    .unwrap_or_else(|| id.clone());
                push(
                    format!("@{}", name.trim_start_matches('@')),
                    style.patch(styles.mention),
                );
            }
            RunKind::Date {
                timestamp,
                fallback,
                ..
            } => {
                let shown = if fallback.is_empty() {
                    timestamp
                        .parse::<i64>()
                        .ok()
                        .and_then(|ts| chrono::DateTime::from_timestamp(ts, 0))
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| timestamp.clone())
                } else {
                    fallback.clone()
                };
                push(shown, style);
            }
            RunKind::Command { name, label } => match label {
                Some(label) => push(label.clone(), style),
                None => push(format!("<!{name}>"), style.patch(styles.muted)),
            },
            RunKind::Emoji { name, skin_tone } => match emoji::lookup_with_tone(name, *skin_tone) {
                Some(e) => push(e.to_owned(), style),
                None => {
                    let tone = skin_tone
                        .map(|t| format!(":skin-tone-{t}:"))
                        .unwrap_or_default();
                    push(format!(":{name}:{tone}"), style)
                }
            },
        }
    }
}

enum Logical {
    Para { quote: bool, pieces: Pieces },
    Pre { quote: bool, text: String },
}

fn emphasis(base: Style, run: RunStyle) -> Style {
    let mut style = base;
    if run.bold {
        style = style.add_modifier(Modifier::BOLD);
    }
    if run.italic {
        style = style.add_modifier(Modifier::ITALIC);
    }
    if run.strike {
        style = style.add_modifier(Modifier::CROSSED_OUT);
    }
    style
}

/// Slack's named attachment colours and `#rrggbb` / `rrggbb` / `#rgb`.
fn attachment_color(color: &str) -> Option<Color> {
    match color.trim() {
        "good" => Some(Color::Rgb(0x2e, 0xb8, 0x86)),
        "warning" => Some(Color::Rgb(0xda, 0xa0, 0x38)),
        "danger" => Some(Color::Rgb(0xa3, 0x02, 0x00)),
        hex => {
            let hex = hex.strip_prefix('#').unwrap_or(hex);
            let channel = |s: &str| u8::from_str_radix(s, 16).ok();
            match hex.len() {
                6 if hex.is_ascii() => Some(Color::Rgb(
                    channel(&hex[0..2])?,
                    channel(&hex[2..4])?,
                    channel(&hex[4..6])?,
                )),
                3 if hex.is_ascii() => {
                    let d = |i: usize| channel(&hex[i..=i]).map(|v| v * 17);
                    Some(Color::Rgb(d(0)?, d(1)?, d(2)?))
                }
                _ => None,
            }
        }
    }
}

fn clean(s: &str) -> String {
    sanitize_for_terminal(s).into_owned()
}

/// CRLF and lone CR become LF, so Windows text (a YARA rule) draws as lines, not `↵` marks.
fn normalize_newlines(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\r') {
        std::borrow::Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Replace `:shortcode:` with its emoji, as Slack does in `plain_text` with `"emoji": true`.
fn with_emoji(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut literal = 0;
    while let Some(at) = text[i..].find(':') {
        let at = i + at;
        match mrkdwn::shortcode_at(text, at) {
            Some((name, tone, end)) => match emoji::lookup_with_tone(&name, tone) {
                Some(e) => {
                    out.push_str(&text[literal..at]);
                    out.push_str(e);
                    i = end;
                    literal = end;
                }
                None => i = at + 1,
            },
            None => i = at + 1,
        }
    }
    out.push_str(&text[literal..]);
    out
}

/// The first `width` columns of a line, never splitting a grapheme.
fn clip(line: Line<'static>, width: usize) -> Line<'static> {
    let mut left = width;
    let mut spans = Vec::new();
    for span in line.spans {
        let mut kept = String::new();
        for g in span.content.graphemes(true) {
            let w = g.width();
            if w > left {
                left = 0;
                break;
            }
            kept.push_str(g);
            left -= w;
        }
        if !kept.is_empty() {
            spans.push(Span::styled(kept, span.style));
        }
        if left == 0 {
            break;
        }
    }
    Line::from(spans)
}

fn pieces_width(pieces: &[(String, Style)]) -> usize {
    pieces.iter().map(|(t, _)| t.width()).sum()
}

/// Push a piece, merged into the previous one when the style is the same.
fn push_piece(line: &mut Pieces, text: &str, style: Style) {
    match line.last_mut() {
        Some((t, s)) if *s == style => t.push_str(text),
        _ => line.push((text.to_owned(), style)),
    }
}

/// Word-wrap styled text to `width` display columns. Words (runs of non-space graphemes, even
/// across styles) move to the next line whole; a word wider than a line is split between
/// graphemes, never inside one. Spaces at a wrap are dropped.
fn wrap(pieces: Pieces, width: usize) -> Vec<Pieces> {
    let mut wrapper = Wrapper {
        width: width.max(1),
        ..Wrapper::default()
    };
    for (text, style) in &pieces {
        for g in text.graphemes(true) {
            if g.chars().all(char::is_whitespace) {
                wrapper.end_word();
                // leading spaces of a paragraph are kept; those after a wrap are not
                if wrapper.line_width > 0 || wrapper.lines.is_empty() {
                    wrapper.spaces.push((" ", *style));
                }
            } else {
                wrapper.word_width += g.width();
                wrapper.word.push((g, *style));
            }
        }
    }
    wrapper.end_word();
    wrapper.lines.push(wrapper.line);
    wrapper.lines
}

#[derive(Default)]
struct Wrapper<'t> {
    width: usize,
    lines: Vec<Pieces>,
    line: Pieces,
    line_width: usize,
    word: Vec<(&'t str, Style)>,
    word_width: usize,
    /// Spaces seen since the last word: drawn only if the next word fits on the line.
    spaces: Vec<(&'t str, Style)>,
}

impl Wrapper<'_> {
    fn break_line(&mut self) {
        self.lines.push(std::mem::take(&mut self.line));
        self.line_width = 0;
    }

    fn end_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let spaces_width = self.spaces.len();
        if self.line_width + spaces_width + self.word_width <= self.width {
            for (g, s) in self.spaces.drain(..) {
                push_piece(&mut self.line, g, s);
            }
            self.line_width += spaces_width;
        } else {
            self.spaces.clear();
            if self.line_width > 0 {
                self.break_line();
            }
        }
        for (g, s) in std::mem::take(&mut self.word) {
            let w = g.width();
            if self.line_width + w > self.width && self.line_width > 0 {
                self.break_line();
            }
            push_piece(&mut self.line, g, s);
            self.line_width += w;
        }
        self.word_width = 0;
    }
}

/// Cut preformatted text into lines of at most `width` columns, keeping every space.
fn hard_wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    for g in text.graphemes(true) {
        let w = g.width();
        if line_width + w > width && line_width > 0 {
            lines.push(std::mem::take(&mut line));
            line_width = 0;
        }
        line.push_str(g);
        line_width += w;
    }
    lines.push(line);
    lines
}

/// Lay unbreakable atoms (buttons) out in rows, a space apart.
fn wrap_atoms(atoms: Vec<Pieces>, width: usize) -> Vec<Pieces> {
    let mut lines = Vec::new();
    let mut line = Pieces::new();
    let mut line_width = 0;
    for atom in atoms {
        let w = pieces_width(&atom);
        if line_width > 0 && line_width + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            line_width = 0;
        }
        if line_width > 0 {
            line.push((" ".to_owned(), Style::new()));
            line_width += 1;
        }
        if w > width {
            // a label wider than the drawing: wrap it like text
            let mut rows = wrap(atom, width);
            let last = rows.pop().unwrap_or_default();
            lines.extend(rows);
            line_width = pieces_width(&last);
            line = last;
        } else {
            line.extend(atom);
            line_width += w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The drawing as plain text: one line per row, trailing spaces trimmed.
pub fn text_to_plain(text: &Text<'_>) -> String {
    let mut out = String::new();
    for line in &text.lines {
        let mut row = String::new();
        for span in &line.spans {
            row.push_str(&span.content);
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// The drawing with ANSI SGR styles (bold 1, dim 2, italic 3, underline 4, reverse 7, strike 9,
/// colours) and a reset after each styled span, for a terminal or `less -R`.
pub fn text_to_ansi(text: &Text<'_>) -> String {
    let mut out = String::new();
    for line in &text.lines {
        let mut row = String::new();
        let spans: Vec<&Span<'_>> = line.spans.iter().collect();
        // trailing unstyled padding is dropped, as in `text_to_plain`
        let keep = spans
            .iter()
            .rposition(|s| {
                !s.content.trim().is_empty()
                    || sgr(text.style.patch(line.style).patch(s.style)).is_some()
            })
            .map_or(0, |i| i + 1);
        for span in &spans[..keep] {
            let style = text.style.patch(line.style).patch(span.style);
            match sgr(style) {
                Some(codes) => {
                    let _ = write!(row, "\x1b[{codes}m{}\x1b[0m", span.content);
                }
                None => row.push_str(&span.content),
            }
        }
        out.push_str(row.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

/// The SGR parameters for a style, or `None` when it is the terminal's default.
fn sgr(style: Style) -> Option<String> {
    let mut codes: Vec<String> = Vec::new();
    let m = style.add_modifier;
    for (modifier, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if m.contains(modifier) {
            codes.push(code.to_owned());
        }
    }
    if let Some(fg) = style.fg.and_then(|c| color_code(c, false)) {
        codes.push(fg);
    }
    if let Some(bg) = style.bg.and_then(|c| color_code(c, true)) {
        codes.push(bg);
    }
    (!codes.is_empty()).then(|| codes.join(";"))
}

fn color_code(color: Color, background: bool) -> Option<String> {
    let base = if background { 40 } else { 30 };
    let bright = if background { 100 } else { 90 };
    let code = match color {
        Color::Reset => return None,
        Color::Black => base,
        Color::Red => base + 1,
        Color::Green => base + 2,
        Color::Yellow => base + 3,
        Color::Blue => base + 4,
        Color::Magenta => base + 5,
        Color::Cyan => base + 6,
        Color::Gray => base + 7,
        Color::DarkGray => bright,
        Color::LightRed => bright + 1,
        Color::LightGreen => bright + 2,
        Color::LightYellow => bright + 3,
        Color::LightBlue => bright + 4,
        Color::LightMagenta => bright + 5,
        Color::LightCyan => bright + 6,
        Color::White => bright + 7,
        Color::Rgb(r, g, b) => return Some(format!("{};2;{r};{g};{b}", base + 8)),
        Color::Indexed(i) => return Some(format!("{};5;{i}", base + 8)),
    };
    Some(code.to_string())
}

/// How `preview --payload` prints a drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewFormat {
    /// Plain text.
    Text,
    /// Text with ANSI SGR styles.
    Ansi,
    /// The payload itself, pretty-printed: what would be sent.
    Json,
}

/// Why a payload cannot be previewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("payload is not valid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("payload must be a JSON object with `text`, `blocks` and `attachments`, not {found}")]
    NotAnObject { found: &'static str },
    /// Slack would refuse the payload (`invalid_blocks`, `no_text`, `msg_too_long`).
    #[error("{}", ViolationList(.0))]
    Invalid(Vec<Violation>),
}

struct ViolationList<'a>(&'a [Violation]);

impl fmt::Display for ViolationList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "Slack would refuse this payload ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for v in self.0 {
            write!(f, "\n  {v}")?;
        }
        Ok(())
    }
}

/// `preview --payload`: check a Slack message payload against Slack's limits and draw it as the
/// console would, at `width` columns (at least 10), or print it back normalised.
pub fn preview_payload(
    json: &str,
    format: PreviewFormat,
    width: u16,
) -> Result<String, PreviewError> {
    let payload: Value = serde_json::from_str(json).map_err(|e| PreviewError::Json {
        line: e.line(),
        column: e.column(),
        message: json_error_message(&e),
    })?;
    let found = match &payload {
        Value::Object(_) => None,
        Value::Array(_) => Some("an array (wrap blocks as {\"text\": …, \"blocks\": [...]})"),
        Value::String(_) => Some("a string"),
        Value::Number(_) => Some("a number"),
        Value::Bool(_) => Some("a boolean"),
        Value::Null => Some("null"),
    };
    if let Some(found) = found {
        return Err(PreviewError::NotAnObject { found });
    }
    let violations = validate(&payload);
    if !violations.is_empty() {
        return Err(PreviewError::Invalid(violations));
    }
    let ctx = RenderContext::new(width.max(10));
    Ok(match format {
        PreviewFormat::Text => text_to_plain(&render_payload(&payload, &ctx)),
        PreviewFormat::Ansi => text_to_ansi(&render_payload(&payload, &ctx)),
        PreviewFormat::Json => {
            let mut s =
                serde_json::to_string_pretty(&payload).expect("a parsed JSON value serialises");
            s.push('\n');
            s
        }
    })
}

/// serde_json's message without its own " at line L column C" suffix (we say where ourselves).
fn json_error_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(at) => full[..at].to_owned(),
        None => full,
    }
}
