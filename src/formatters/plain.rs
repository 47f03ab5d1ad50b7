//! `plain`: a few lines of plain text per alert, for webhooks and logs. Indicator values are
//! defanged, and links in other text too; the ThreatQ link is left live (it is the one link
//! meant to be followed). Values cannot forge lines, and `<` `>` in them are shown as `‹` `›`,
//! so the text stays harmless even where a chat client reads `<!channel>` as a mention.

use std::fmt::Write as _;

use crate::alert::{Alert, MessageData, ObjectKind};
use crate::formatter::{FormatError, Formatter, Message};
use crate::text::truncate;

use super::severity::Severity;
pub use super::severity::format_score;
use super::untrusted::{object_value, prose_line};

/// Descriptions are cut to this many characters: the text is a summary, the link has the rest.
const DESCRIPTION_CHARS: usize = 500;
/// Values are cut to this many characters (a webhook's `alert` JSON carries them whole).
const VALUE_CHARS: usize = 2000;

#[derive(Debug, Clone)]
pub struct PlainFormatter {
    name: String,
}

impl PlainFormatter {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

impl Formatter for PlainFormatter {
    fn name(&self) -> &str {
        &self.name
    }

    fn format_data(&self, data: &MessageData) -> Result<Message, FormatError> {
        let mut text = String::new();
        match data {
            MessageData::Single { alert } => write_alert(&mut text, alert),
            MessageData::Digest(digest) => {
                let page = if digest.pages > 1 {
                    format!(" ({}/{})", digest.page, digest.pages)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    text,
                    "[{}] {}: {} alerts{page}",
                    digest.notification_type,
                    one_line(&digest.service),
                    digest.total
                );
                for alert in &digest.alerts {
                    text.push_str("- ");
                    write_headline(&mut text, alert);
                    text.push('\n');
                }
            }
        }
        while text.ends_with('\n') {
            text.pop();
        }
        Ok(Message::text(text))
    }
}

fn write_alert(out: &mut String, alert: &Alert) {
    let o = &alert.object;
    let _ = write!(out, "[{}] ", alert.notification_type);
    write_headline(out, alert);
    out.push('\n');
    let mut facts = Vec::new();
    if let Some(status) = &o.status {
        facts.push(format!("status {}", one_line(status)));
    }
    if let Some(t) = o
        .object_type
        .as_ref()
        .filter(|_| o.kind != ObjectKind::Indicator)
    {
        facts.push(format!("type {}", one_line(t)));
    }
    if let Some(tlp) = &o.tlp {
        facts.push(format!("TLP {}", one_line(tlp)));
    }
    if alert.changes.is_empty() {
        facts.push("first seen".into());
    } else {
        let changes: Vec<&str> = alert.changes.iter().map(|c| c.as_str()).collect();
        facts.push(format!("changed: {}", changes.join(", ")));
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    if let Some(description) = o.description.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = writeln!(
            out,
            "{}",
            one_line(&truncate(description, DESCRIPTION_CHARS))
        );
    }
    if !o.sources.is_empty() {
        let _ = writeln!(out, "sources: {}", list(&o.sources));
    }
    if !o.tags.is_empty() {
        let _ = writeln!(out, "tags: {}", list(&o.tags));
    }
    for attribute in o.attributes.iter().take(10) {
        let _ = writeln!(
            out,
            "{}: {}",
            one_line(&attribute.name),
            one_line(&attribute.value)
        );
    }
    if o.attributes.len() > 10 {
        let _ = writeln!(out, "+{} more attributes", o.attributes.len() - 10);
    }
    let _ = writeln!(out, "service: {}", one_line(&alert.service));
    if let Some(url) = &o.url {
        let _ = writeln!(out, "{url}");
    }
}

/// `indicator FQDN usacia[.]websecexp[.]com (score 6)`
fn write_headline(out: &mut String, alert: &Alert) {
    let o = &alert.object;
    let _ = write!(out, "{}", o.kind);
    if let Some(t) = o
        .object_type
        .as_ref()
        .filter(|_| o.kind == ObjectKind::Indicator)
    {
        let _ = write!(out, " {}", one_line(t));
    }
    let value = truncate(&o.value, VALUE_CHARS);
    let _ = write!(out, " {}", harmless(&object_value(&o.kind, &value)));
    if let Some(score) = o.score {
        let _ = write!(
            out,
            " (score {}, {})",
            format_score(score),
            Severity::from_score(score)
        );
    }
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| one_line(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Untrusted text on one line: linkable tokens defanged, control characters as spaces (a value
/// cannot forge a line in a log), and harmless in chat.
fn one_line(s: &str) -> String {
    harmless(&prose_line(s))
}

/// `<` and `>` as look-alikes, so no chat client can read a value as a mention or a link.
fn harmless(s: &str) -> String {
    if s.contains(['<', '>']) {
        s.replace('<', "‹").replace('>', "›")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Digest, Field, NotificationType, ThreatObject};

    fn alert(value: &str, score: f64) -> Alert {
        let mut o = ThreatObject::new(ObjectKind::Indicator, 7, value);
        o.object_type = Some("URL".into());
        o.score = Some(score);
        o.sources = vec!["Citizen Lab".into()];
        o.url = Some("https://threatq.example.net/indicators/7/details".into());
        Alert::new("watchlist", NotificationType::Watchlist, o)
    }

    #[test]
    fn a_single_alert_names_value_score_changes_and_link() {
        let a = alert("http://aax.me/0b152", 6.5).with_changes(vec![Field::Score]);
        let m = PlainFormatter::new("plain")
            .format_data(&MessageData::single(a))
            .unwrap();
        assert_eq!(
            m.text,
            "[watchlist] indicator URL hxxp://aax[.]me/0b152 (score 6.5, medium)\n\
             changed: score\n\
             sources: Citizen Lab\n\
             service: watchlist\n\
             https://threatq.example.net/indicators/7/details"
        );
    }

    #[test]
    fn a_value_with_line_breaks_cannot_forge_lines() {
        let a = alert("evil\nservice: fake", 1.0);
        let m = PlainFormatter::new("plain")
            .format_data(&MessageData::single(a))
            .unwrap();
        assert_eq!(
            m.text.lines().filter(|l| l.starts_with("service:")).count(),
            1
        );
    }

    #[test]
    fn a_digest_lists_its_page_and_numbers_it() {
        let alerts: Vec<Alert> = crate::sim::data::indicators()
            .take(3)
            .map(|(_, indicator)| alert(&indicator.value, 3.0))
            .collect();
        let data = MessageData::Digest(Digest {
            service: "watchlist".into(),
            notification_type: NotificationType::Watchlist,
            alerts,
            page: 2,
            pages: 2,
            total: 5,
        });
        let m = PlainFormatter::new("plain").format_data(&data).unwrap();
        assert!(m.text.starts_with(
            "[watchlist] watchlist: 5 alerts (2/2)\n- indicator URL usacia[.]websecexp[.]com (score 3, low)"
        ));
        assert_eq!(m.text.lines().count(), 4);
    }

    #[test]
    fn a_value_cannot_mention_or_link_in_a_chat_that_reads_it() {
        let mut a = alert("<!channel> <http://aax.me|click>", 9.0);
        a.object.sources = vec!["<@U024BE7LH>".into()];
        let m = PlainFormatter::new("plain")
            .format_data(&MessageData::single(a))
            .unwrap();
        assert!(!m.text.contains("<!") && !m.text.contains("<@") && !m.text.contains("<http"));
        assert!(
            m.text.contains("‹!channel› ‹hxxp://aax[.]me|click›"),
            "{}",
            m.text
        );
    }
}
