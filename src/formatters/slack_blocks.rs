//! `slack-blocks`: the built-in Block Kit message (PRODUCT.md §3.3), laid out by the alert's
//! notification type — a watchlist change, a data-collection update, a test — or generically,
//! and the digest form of §7.3. Every value from ThreatQ is cleaned, defanged and escaped once
//! on its way in; indicator values sit in code spans; the ThreatQ link is the only live link
//! (a button); everything cut to a Slack limit ends with `…` and lists say `+N more`.

use std::fmt::Write as _;

use chrono::{Datelike, Timelike};

use crate::alert::{Alert, Digest, Field, MessageData, NotificationType, ObjectKind, ThreatObject};
use crate::formatter::{FormatError, Formatter, Message};
use crate::slack::blocks::{Accessory, Block, Button, Payload};
use crate::slack::limits::{self, length};
use crate::slack::mrkdwn::{self, BACKTICK_STAND_IN, code_span};
use crate::slack::validate::validate;
use crate::text::truncate;

use super::severity::{Severity, format_score};
use super::untrusted::{object_value, object_value_lines, prose, prose_line};

/// The built-in Block Kit formatter. `notification_type` is the seed's argument: alerts of
/// another type get the generic layout.
#[derive(Debug, Clone)]
pub struct SlackBlocksFormatter {
    name: String,
    notification_type: Option<NotificationType>,
}

impl SlackBlocksFormatter {
    pub fn new(name: impl Into<String>, notification_type: Option<NotificationType>) -> Self {
        Self {
            name: name.into(),
            notification_type,
        }
    }

    /// The notification type this formatter is restricted to, if any.
    pub fn notification_type(&self) -> Option<NotificationType> {
        self.notification_type
    }

    /// The message as typed Block Kit.
    pub fn payload(&self, data: &MessageData) -> Payload {
        let layout = Layout::of(data.notification_type(), self.notification_type);
        match data {
            MessageData::Single { alert } => single(layout, alert),
            MessageData::Digest(digest) => digest_page(layout, digest),
        }
    }
}

impl Formatter for SlackBlocksFormatter {
    fn name(&self) -> &str {
        &self.name
    }

    fn format_data(&self, data: &MessageData) -> Result<Message, FormatError> {
        let payload = self.payload(data);
        let blocks = serde_json::to_value(&payload.blocks)
            .expect("Block Kit types hold only strings, bools and lists");
        let message = Message {
            text: payload.text,
            blocks: Some(blocks),
            attachments: None,
            body: None,
        };
        // The layout keeps every limit by construction: the tests check it over hostile and
        // random input, and debug builds check every message. Release builds skip the check
        // (a sixth of the formatting time); a message Slack refused would fail its row with
        // Slack's own `invalid_blocks`, never silently.
        debug_assert!(
            validate(&crate::slack::payload::message_body(&message)).is_empty(),
            "slack-blocks broke a limit: {:?}",
            validate(&crate::slack::payload::message_body(&message))
        );
        Ok(message)
    }
}

/// How a message is laid out: by the alert's own notification type, or generically when the
/// formatter is restricted to another type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Watchlist,
    DataCollection,
    Test,
    Generic(NotificationType),
}

impl Layout {
    fn of(alert_type: NotificationType, restricted_to: Option<NotificationType>) -> Layout {
        match (alert_type, restricted_to) {
            (t, Some(r)) if t != r => Layout::Generic(t),
            (NotificationType::Watchlist, _) => Layout::Watchlist,
            (NotificationType::DataCollection, _) => Layout::DataCollection,
            (NotificationType::Test, _) => Layout::Test,
        }
    }

    fn emoji(self) -> &'static str {
        match self {
            Layout::Watchlist => ":eyes:",
            Layout::DataCollection => ":inbox_tray:",
            Layout::Test => ":test_tube:",
            Layout::Generic(_) => ":bell:",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Layout::Watchlist => "Watchlist",
            Layout::DataCollection => "Data collection",
            Layout::Test => "Test",
            Layout::Generic(_) => "ThreatQ",
        }
    }
}

/// The notification text of `data` as `slack-blocks` writes it (one line, escaped, defanged):
/// the fallback `text` of any Slack message about it.
pub(crate) fn notification_text(data: &MessageData) -> String {
    let layout = Layout::of(data.notification_type(), None);
    match data {
        MessageData::Single { alert } => single_text(layout, alert, &object_label(&alert.object)),
        MessageData::Digest(digest) => digest_text(layout, digest),
    }
}

// ---------------------------------------------------------------------------------------------
// One alert
// ---------------------------------------------------------------------------------------------

/// Budgets (in code points) within Slack's limits, so that one long part cannot crowd out the
/// others: the value gets most of its section, a description what is left.
const VALUE_BUDGET: usize = 1800;
const LIST_ITEM_CHARS: usize = 100;
const LIST_ITEMS: usize = 10;
const ATTRIBUTES_SHOWN: usize = 10;
const ATTRIBUTE_NAME_CHARS: usize = 60;
const ATTRIBUTE_VALUE_CHARS: usize = 240;
const SERVICE_CHARS: usize = 80;
const TEXT_VALUE_CHARS: usize = 200;
const LABEL_CHARS: usize = 60;

fn single(layout: Layout, alert: &Alert) -> Payload {
    let o = &alert.object;
    let label = object_label(o);
    let mut blocks = Vec::with_capacity(7);

    let head = format!(
        "{} {} · {} ",
        layout.emoji(),
        layout.title(),
        prose_line(&label)
    );
    let value = object_value(&o.kind, &o.value);
    let room = limits::MAX_HEADER_TEXT.saturating_sub(length(&head));
    blocks.push(Block::header(format!("{head}{}", truncate(&value, room))));

    blocks.push(Block::section(lead_text(layout, alert, &label)));

    let facts = fact_fields(o);
    if !facts.is_empty() {
        blocks.push(Block::fields(facts));
    }
    if !o.attributes.is_empty() {
        blocks.push(Block::section(attributes_text(o)));
    }
    blocks.push(Block::context(context_elements(layout, alert)));
    if let Some(url) = threatq_link(o) {
        blocks.push(Block::actions(vec![Button::link("Open in ThreatQ", url)]));
    }
    Payload {
        text: single_text(layout, alert, &label),
        blocks,
        attachments: Vec::new(),
    }
}

/// What the object is called in a title: an indicator by its type (`FQDN`), anything else by
/// its kind (`Event`, `Adversary`, `Malware`).
fn object_label(o: &ThreatObject) -> String {
    let label = match (&o.kind, &o.object_type) {
        (ObjectKind::Indicator, Some(t)) if !t.trim().is_empty() => t.as_str(),
        (kind, _) => return capitalised(&truncate(kind.as_str(), LABEL_CHARS)),
    };
    truncate(label, LABEL_CHARS).into_owned()
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why the message exists, then the object: its value in a code span (an indicator) or its
/// title, then its description as a quote.
fn lead_text(layout: Layout, alert: &Alert, label: &str) -> String {
    let mut text = String::with_capacity(256);
    let service = mrkdwn_line(&truncate(&alert.service, SERVICE_CHARS));
    let changes = changes_list(&alert.changes);
    match layout {
        Layout::Watchlist if alert.changes.is_empty() => {
            text.push_str("*New on the watchlist* — first seen");
        }
        Layout::Watchlist => {
            let _ = write!(text, "*Changed on the watchlist:* {changes}");
        }
        Layout::DataCollection if alert.changes.is_empty() => {
            let _ = write!(text, "*New in data collection* _{service}_");
        }
        Layout::DataCollection => {
            let _ = write!(text, "*Updated in data collection* _{service}_: {changes}");
        }
        Layout::Test => {
            text.push_str("_A test message from tq-alerts: nothing changed in ThreatQ._");
        }
        Layout::Generic(t) => {
            let _ = write!(
                text,
                "*{}* alert",
                capitalised(&t.as_str().replace('-', " "))
            );
            if !alert.changes.is_empty() {
                let _ = write!(text, " — changed: {changes}");
            }
        }
    }
    let o = &alert.object;
    let _ = write!(text, "\n*{}* ", mrkdwn_line(label));
    let room = limits::MAX_SECTION_TEXT - length(&text);
    let value = value_mrkdwn(o, room.min(VALUE_BUDGET));
    text.push_str(&value);
    if let Some(description) = o.description.as_deref().filter(|d| !d.trim().is_empty()) {
        let room = limits::MAX_SECTION_TEXT.saturating_sub(length(&text) + 1);
        if room > 8 {
            text.push('\n');
            text.push_str(&fit(description, room, quote_mrkdwn));
        }
    }
    text
}

/// An object's value in mrkdwn within `budget`: an indicator in a code span, defanged; a title or
/// a name as escaped text; a value that spans lines (a YARA rule, a Snort signature) as a block
/// of preformatted text.
pub(crate) fn value_mrkdwn(o: &ThreatObject, budget: usize) -> String {
    if o.value.contains(['\n', '\r']) {
        fit(&o.value, budget, |v| {
            pre_block(&object_value_lines(&o.kind, v))
        })
    } else if o.kind == ObjectKind::Indicator {
        fit(&o.value, budget, |v| code_span(&object_value(&o.kind, v)))
    } else {
        fit(&o.value, budget, mrkdwn_line)
    }
}

/// Lines of text as a Slack preformatted block: nothing inside can close it (backticks stand
/// in), and `&` `<` `>` are escaped.
fn pre_block(lines: &str) -> String {
    let inner: String = lines
        .chars()
        .map(|c| if c == '`' { BACKTICK_STAND_IN } else { c })
        .collect();
    format!("```{}```", mrkdwn::escape(&inner))
}

/// A description as quoted lines of escaped prose.
fn quote_mrkdwn(description: &str) -> String {
    let clean = prose(description);
    let mut out = String::with_capacity(clean.len() + 16);
    for (i, line) in clean.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("> ");
        out.push_str(&mrkdwn_text(line));
    }
    out
}

/// Score, status, type, TLP, sources, tags, relations: the facts an analyst scans, two columns.
fn fact_fields(o: &ThreatObject) -> Vec<String> {
    let mut fields = Vec::with_capacity(7);
    fields.push(match o.score {
        Some(score) => {
            let severity = Severity::from_score(score);
            format!(
                "*Score*\n{} {} · {}",
                severity.emoji(),
                format_score(score),
                severity
            )
        }
        None => "*Score*\nnot scored".to_owned(),
    });
    let mut fact = |name: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            fields.push(format!(
                "*{name}*\n{}",
                mrkdwn_line(&truncate(v, LIST_ITEM_CHARS))
            ));
        }
    };
    fact("Status", &o.status);
    if o.kind != ObjectKind::Indicator {
        fact("Type", &o.object_type);
    }
    fact("TLP", &o.tlp);
    for (name, items) in [("Sources", &o.sources), ("Tags", &o.tags)] {
        if !items.is_empty() {
            let head = format!("*{name}*\n");
            let room = limits::MAX_SECTION_FIELD_TEXT - length(&head);
            fields.push(format!("{head}{}", list_mrkdwn(items, room)));
        }
    }
    if !o.relations.is_empty() {
        fields.push(format!("*Related*\n{}", relation_counts(o)));
    }
    fields
}

/// `2 adversaries, 5 indicators`
fn relation_counts(o: &ThreatObject) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &o.relations {
        let kind = r.kind.as_str();
        match counts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind.to_owned(), 1)),
        }
    }
    counts
        .iter()
        .map(|(kind, n)| {
            let name = if *n == 1 {
                kind.clone()
            } else {
                ObjectKind::from(kind.as_str()).collection()
            };
            format!("{n} {}", mrkdwn_line(&name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Items as escaped text joined by `, `, within `budget` characters and at most
/// [`LIST_ITEMS`] items; what does not fit is counted: `+3 more`.
fn list_mrkdwn(items: &[String], budget: usize) -> String {
    let mut out = String::with_capacity(128);
    let mut used = 0;
    for (i, item) in items.iter().enumerate() {
        let shown = mrkdwn_line(&truncate(item, LIST_ITEM_CHARS));
        let sep = if i == 0 { "" } else { ", " };
        let rest = items.len() - i - 1;
        // keep room for the `+N more` that would follow if this were the last one shown
        let reserve = if rest > 0 { 12 } else { 0 };
        let len = length(&shown) + sep.len();
        if i >= LIST_ITEMS || used + len + reserve > budget {
            let _ = write!(out, "{sep}+{} more", items.len() - i);
            return out;
        }
        out.push_str(sep);
        out.push_str(&shown);
        used += len;
    }
    out
}

/// `*Attributes*` and one `• *name:* value` line each, up to [`ATTRIBUTES_SHOWN`], then
/// `+N more`.
fn attributes_text(o: &ThreatObject) -> String {
    let mut text = String::from("*Attributes*");
    let total = o.attributes.len();
    for (i, attribute) in o.attributes.iter().enumerate() {
        let line = format!(
            "\n• *{}:* {}",
            mrkdwn_line(&truncate(&attribute.name, ATTRIBUTE_NAME_CHARS)),
            mrkdwn_line(&truncate(&attribute.value, ATTRIBUTE_VALUE_CHARS))
        );
        let reserve = if i + 1 < total { 16 } else { 0 };
        if i >= ATTRIBUTES_SHOWN
            || length(&text) + length(&line) + reserve > limits::MAX_SECTION_TEXT
        {
            let _ = write!(text, "\n+{} more", total - i);
            break;
        }
        text.push_str(&line);
    }
    text
}

fn context_elements(layout: Layout, alert: &Alert) -> Vec<String> {
    let o = &alert.object;
    let mut elements = Vec::with_capacity(4);
    elements.push(format!(
        "service *{}*",
        mrkdwn_line(&truncate(&alert.service, SERVICE_CHARS))
    ));
    elements.push(format!("{} {}", mrkdwn_line(o.kind.as_str()), o.id));
    if let Some(updated) = o.updated_at.or(o.created_at) {
        // written out by hand: chrono's format strings are parsed on every call
        elements.push(format!(
            "updated {:04}-{:02}-{:02} {:02}:{:02} UTC",
            updated.year(),
            updated.month(),
            updated.day(),
            updated.hour(),
            updated.minute()
        ));
    }
    if layout == Layout::Test {
        elements.push("sent as a test".to_owned());
    }
    elements
}

/// The ThreatQ page of the object, when it is a usable link.
fn threatq_link(o: &ThreatObject) -> Option<&str> {
    let url = o.url.as_deref()?;
    let usable = (url.starts_with("https://") || url.starts_with("http://"))
        && length(url) <= limits::MAX_BUTTON_URL
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    usable.then_some(url)
}

/// The notification text: one line, escaped, defanged.
fn single_text(layout: Layout, alert: &Alert, label: &str) -> String {
    let o = &alert.object;
    let value = object_value(&o.kind, &truncate(&o.value, TEXT_VALUE_CHARS));
    let mut text = format!("{}: {} {}", layout.title(), prose_line(label), value);
    if let Some(score) = o.score {
        let _ = write!(
            text,
            " — score {} ({})",
            format_score(score),
            Severity::from_score(score)
        );
    }
    if !alert.changes.is_empty() {
        let _ = write!(text, "; changed: {}", changes_list(&alert.changes));
    }
    mrkdwn_text(&text)
}

fn changes_list(changes: &[Field]) -> String {
    changes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/// Blocks around the alerts of a digest page: the header and the context line.
const DIGEST_FRAME_BLOCKS: usize = 2;
const DIGEST_VALUE_BUDGET: usize = 1200;

/// One page of a digest: a header numbered `(page/pages)`, a context line, then one section per
/// alert with its own ThreatQ button; alerts beyond the 50-block limit are counted as `+N more`.
fn digest_page(layout: Layout, digest: &Digest) -> Payload {
    let n = digest.alerts.len();
    let mut header = format!(
        "{} {}: {} alert{}",
        layout.emoji(),
        layout.title(),
        digest.total,
        if digest.total == 1 { "" } else { "s" }
    );
    if digest.pages > 1 {
        let _ = write!(header, " ({}/{})", digest.page, digest.pages);
    }
    let mut blocks = Vec::with_capacity(n.min(limits::MAX_BLOCKS) + 1);
    blocks.push(Block::header(truncate(&header, limits::MAX_HEADER_TEXT)));
    let mut context = vec![format!(
        "service *{}*",
        mrkdwn_line(&truncate(&digest.service, SERVICE_CHARS))
    )];
    context.push(format!("{n} on this page"));
    if digest.pages > 1 {
        context.push(format!("page {} of {}", digest.page, digest.pages));
    }
    blocks.push(Block::context(context));

    let room = limits::MAX_BLOCKS - DIGEST_FRAME_BLOCKS;
    let shown = if n <= room { n } else { room - 1 };
    for alert in &digest.alerts[..shown] {
        blocks.push(digest_entry(layout, alert));
    }
    if shown < n {
        blocks.push(Block::context([format!(
            "+{} more on this page, not shown: Slack allows {} blocks in a message",
            n - shown,
            limits::MAX_BLOCKS
        )]));
    }
    Payload {
        text: digest_text(layout, digest),
        blocks,
        attachments: Vec::new(),
    }
}

/// One alert of a digest on one line: value, label, score, status, why; the ThreatQ button on
/// the right.
fn digest_entry(layout: Layout, alert: &Alert) -> Block {
    let o = &alert.object;
    let mut text = String::with_capacity(200);
    text.push_str(&value_mrkdwn_line(o, DIGEST_VALUE_BUDGET));
    let _ = write!(text, " *{}*", mrkdwn_line(&object_label(o)));
    if let Some(score) = o.score {
        let severity = Severity::from_score(score);
        let _ = write!(
            text,
            " · {} {} {}",
            severity.emoji(),
            format_score(score),
            severity
        );
    }
    if let Some(status) = o.status.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = write!(text, " · {}", mrkdwn_line(&truncate(status, 60)));
    }
    match (layout, alert.changes.is_empty()) {
        (Layout::Test, _) => text.push_str(" · test"),
        (_, true) => text.push_str(" · new"),
        (_, false) => {
            let _ = write!(text, " · changed: {}", changes_list(&alert.changes));
        }
    }
    Block::Section {
        text: Some(crate::slack::blocks::TextObject::mrkdwn(text)),
        fields: Vec::new(),
        accessory: threatq_link(o).map(|url| Accessory::Button(Button::link("Open", url))),
        block_id: None,
    }
}

/// An object's value on one line (a multi-line value as a code span with `↵`), within `budget`.
fn value_mrkdwn_line(o: &ThreatObject, budget: usize) -> String {
    if o.kind == ObjectKind::Indicator {
        fit(&o.value, budget, |v| code_span(&object_value(&o.kind, v)))
    } else {
        fit(&o.value, budget, |v| format!("*{}*", mrkdwn_line(v)))
    }
}

/// `Watchlist: 45 alerts (1/3) from watchlist: usacia[.]websecexp[.]com, … +12 more`
fn digest_text(layout: Layout, digest: &Digest) -> String {
    let mut head = format!(
        "{}: {} alert{}",
        layout.title(),
        digest.total,
        if digest.total == 1 { "" } else { "s" }
    );
    if digest.pages > 1 {
        let _ = write!(head, " ({}/{})", digest.page, digest.pages);
    }
    let _ = write!(
        head,
        " from {}: ",
        prose_line(&truncate(&digest.service, SERVICE_CHARS))
    );
    let values: Vec<String> = digest
        .alerts
        .iter()
        .map(|a| object_value(&a.object.kind, &truncate(&a.object.value, 80)))
        .collect();
    let head = mrkdwn_text(&head);
    let room = limits::MAX_MESSAGE_TEXT - length(&head);
    format!("{head}{}", list_escaped(&values, room))
}

/// Already cleaned items, escaped and joined, within `budget`; the rest counted.
fn list_escaped(items: &[String], budget: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for (i, item) in items.iter().enumerate() {
        let shown = mrkdwn_text(item);
        let sep = if i == 0 { "" } else { ", " };
        let reserve = if i + 1 < items.len() { 12 } else { 0 };
        let len = length(&shown) + sep.len();
        if used + len + reserve > budget {
            let _ = write!(out, "{sep}+{} more", items.len() - i);
            return out;
        }
        out.push_str(sep);
        out.push_str(&shown);
        used += len;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// Untrusted text on one line as mrkdwn: cleaned, linkable tokens defanged, backticks standing
/// in, escaped once.
pub(crate) fn mrkdwn_line(s: &str) -> String {
    mrkdwn_text(&prose_line(s))
}

/// Already cleaned text as mrkdwn: a backtick cannot open a code span, `&` `<` `>` are escaped.
pub(crate) fn mrkdwn_text(clean: &str) -> String {
    if clean.contains('`') {
        let inner: String = clean
            .chars()
            .map(|c| if c == '`' { BACKTICK_STAND_IN } else { c })
            .collect();
        mrkdwn::escape(&inner).into_owned()
    } else {
        mrkdwn::escape(clean).into_owned()
    }
}

/// The rendering of the longest prefix of `raw` (cut with `…`) that stays within `budget` code
/// points once rendered. Cutting before rendering keeps escapes and defanged dots whole.
pub(crate) fn fit(raw: &str, budget: usize, render: impl Fn(&str) -> String) -> String {
    let full = render(raw);
    let len = length(&full);
    if len <= budget {
        return full;
    }
    let mut keep = raw.chars().count();
    let mut len = len;
    loop {
        // shrink in proportion to the overshoot, and by at least one character
        let next = (keep * budget / len.max(1)).min(keep.saturating_sub(1));
        keep = next;
        if keep <= 1 {
            let out = render(&truncate(raw, 1));
            return if length(&out) <= budget {
                out
            } else {
                truncate(&out, budget).into_owned()
            };
        }
        let out = render(&truncate(raw, keep));
        len = length(&out);
        if len <= budget {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_cuts_the_raw_value_so_escapes_stay_whole() {
        let raw = "R&D <!channel> ".repeat(50);
        let out = fit(&raw, 100, |v| mrkdwn::escape(v).into_owned());
        assert!(length(&out) <= 100);
        assert!(out.ends_with('…') || out.ends_with("…"));
        assert_eq!(mrkdwn::escape(&mrkdwn::unescape(&out)), out);
    }

    #[test]
    fn a_restricted_formatter_gives_other_types_the_generic_layout() {
        assert_eq!(
            Layout::of(
                NotificationType::DataCollection,
                Some(NotificationType::Watchlist)
            ),
            Layout::Generic(NotificationType::DataCollection)
        );
        assert_eq!(
            Layout::of(
                NotificationType::Watchlist,
                Some(NotificationType::Watchlist)
            ),
            Layout::Watchlist
        );
        assert_eq!(Layout::of(NotificationType::Test, None), Layout::Test);
    }

    #[test]
    fn long_lists_say_how_many_are_left_out() {
        let items: Vec<String> = (0..30).map(|i| format!("source {i}")).collect();
        let out = list_mrkdwn(&items, 2000);
        assert!(out.ends_with("+20 more"), "{out}");
        let out = list_mrkdwn(&items, 40);
        assert!(out.contains("more") && length(&out) <= 40, "{out}");
    }
}
