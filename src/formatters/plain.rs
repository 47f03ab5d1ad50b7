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

/// The longest message: Slack's 4,000 characters (the product keeps every text there, so a
/// plain formatter attached to a Slack notifier is as safe as on a webhook or in a log).
const MAX_TEXT: usize = crate::slack::limits::MAX_MESSAGE_TEXT;
/// Parts are cut to these many characters: the text is a summary; the link, and a webhook's
/// `alert` JSON, carry everything.
const VALUE_CHARS: usize = 1000;
const DIGEST_VALUE_CHARS: usize = 150;
const DESCRIPTION_CHARS: usize = 500;
const NAME_CHARS: usize = 80;
const ATTRIBUTE_CHARS: usize = 300;
const LIST_CHARS: usize = 400;
const ATTRIBUTES_SHOWN: usize = 10;

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
        let text = match data {
            MessageData::Single { alert } => alert_text(alert),
            MessageData::Digest(digest) => {
                let page = if digest.pages > 1 {
                    format!(" ({}/{})", digest.page, digest.pages)
                } else {
                    String::new()
                };
                let head = format!(
                    "[{}] {}: {} alerts{page}",
                    digest.notification_type,
                    one_line(&truncate(&digest.service, NAME_CHARS)),
                    digest.total
                );
                let lines: Vec<String> = digest
                    .alerts
                    .iter()
                    .map(|a| format!("- {}", headline(a, DIGEST_VALUE_CHARS)))
                    .collect();
                within_limit(vec![head], lines, Vec::new(), "alerts")
            }
        };
        Ok(Message::text(text))
    }
}

fn alert_text(alert: &Alert) -> String {
    let o = &alert.object;
    let head = format!(
        "[{}] {}",
        alert.notification_type,
        headline(alert, VALUE_CHARS)
    );
    let mut facts = Vec::new();
    if let Some(status) = &o.status {
        facts.push(format!(
            "status {}",
            one_line(&truncate(status, NAME_CHARS))
        ));
    }
    if let Some(t) = o
        .object_type
        .as_ref()
        .filter(|_| o.kind != ObjectKind::Indicator)
    {
        facts.push(format!("type {}", one_line(&truncate(t, NAME_CHARS))));
    }
    if let Some(tlp) = &o.tlp {
        facts.push(format!("TLP {}", one_line(&truncate(tlp, NAME_CHARS))));
    }
    if alert.changes.is_empty() {
        facts.push("first seen".into());
    } else {
        let changes: Vec<&str> = alert.changes.iter().map(|c| c.as_str()).collect();
        facts.push(format!("changed: {}", changes.join(", ")));
    }

    let mut details = Vec::new();
    if let Some(description) = o.description.as_deref().filter(|d| !d.trim().is_empty()) {
        details.push(one_line(&truncate(description, DESCRIPTION_CHARS)));
    }
    if !o.sources.is_empty() {
        details.push(format!("sources: {}", list(&o.sources)));
    }
    if !o.tags.is_empty() {
        details.push(format!("tags: {}", list(&o.tags)));
    }
    let mut attributes: Vec<String> = o
        .attributes
        .iter()
        .take(ATTRIBUTES_SHOWN)
        .map(|a| {
            format!(
                "{}: {}",
                one_line(&truncate(&a.name, NAME_CHARS)),
                one_line(&truncate(&a.value, ATTRIBUTE_CHARS))
            )
        })
        .collect();
    if o.attributes.len() > ATTRIBUTES_SHOWN {
        attributes.push(format!(
            "+{} more attributes",
            o.attributes.len() - ATTRIBUTES_SHOWN
        ));
    }
    details.extend(attributes);

    let mut tail = vec![format!(
        "service: {}",
        one_line(&truncate(&alert.service, NAME_CHARS))
    )];
    if let Some(url) = &o.url {
        tail.push(url.clone());
    }
    within_limit(vec![head, facts.join(" · ")], details, tail, "lines")
}

/// `head`, as many of `middle` as fit in [`MAX_TEXT`] (the rest counted: `+3 more lines`),
/// then `tail`, one per line.
fn within_limit(head: Vec<String>, middle: Vec<String>, tail: Vec<String>, what: &str) -> String {
    let count = |lines: &[String]| lines.iter().map(|l| l.chars().count() + 1).sum::<usize>();
    // room for a `+N more` line
    let budget = MAX_TEXT.saturating_sub(count(&head) + count(&tail) + 24);
    let mut text = head.join("\n");
    let mut used = 0;
    for (i, line) in middle.iter().enumerate() {
        let len = line.chars().count() + 1;
        if used + len > budget {
            let _ = write!(text, "\n+{} more {what}", middle.len() - i);
            break;
        }
        text.push('\n');
        text.push_str(line);
        used += len;
    }
    for line in &tail {
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// `indicator FQDN usacia[.]websecexp[.]com (score 6, medium)`, the value cut to `value_chars`.
fn headline(alert: &Alert, value_chars: usize) -> String {
    let o = &alert.object;
    let mut out = o.kind.to_string();
    if let Some(t) = o
        .object_type
        .as_ref()
        .filter(|_| o.kind == ObjectKind::Indicator)
    {
        let _ = write!(out, " {}", one_line(&truncate(t, NAME_CHARS)));
    }
    let value = truncate(&o.value, value_chars);
    let _ = write!(out, " {}", harmless(&object_value(&o.kind, &value)));
    if let Some(score) = o.score {
        let _ = write!(
            out,
            " (score {}, {})",
            format_score(score),
            Severity::from_score(score)
        );
    }
    out
}

/// Items joined with `, ` within [`LIST_CHARS`]; the rest counted: `+4 more`.
fn list(items: &[String]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let shown = one_line(&truncate(item, NAME_CHARS));
        if i > 0 && out.chars().count() + shown.chars().count() + 2 > LIST_CHARS {
            let _ = write!(out, ", +{} more", items.len() - i);
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&shown);
    }
    out
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
    fn long_alerts_and_big_digests_stay_within_4000_characters_and_count_the_rest() {
        let mut a = alert(&format!("http://aax.me/{}", "0b152".repeat(2000)), 9.0);
        a.object.tags = (0..300).map(|i| format!("tag {i}")).collect();
        a.object.attributes = (0..40)
            .map(|i| crate::alert::Attribute {
                name: format!("Comment {i}"),
                value: "c2 server from Palo Alto study ".repeat(20),
            })
            .collect();
        let m = PlainFormatter::new("plain")
            .format_data(&MessageData::single(a))
            .unwrap();
        assert!(
            m.text.chars().count() <= MAX_TEXT,
            "{}",
            m.text.chars().count()
        );
        assert!(m.text.contains("more"), "{}", m.text);
        assert!(
            m.text
                .ends_with("https://threatq.example.net/indicators/7/details")
        );

        let alerts: Vec<Alert> = crate::sim::data::indicators()
            .take(200)
            .map(|(_, i)| alert(&i.value, 8.0))
            .collect();
        let data = MessageData::Digest(Digest {
            service: "watchlist".into(),
            notification_type: NotificationType::Watchlist,
            alerts,
            page: 1,
            pages: 1,
            total: 200,
        });
        let text = PlainFormatter::new("plain")
            .format_data(&data)
            .unwrap()
            .text;
        assert!(text.chars().count() <= MAX_TEXT);
        let listed = text.lines().filter(|l| l.starts_with("- ")).count();
        let more: usize = text
            .lines()
            .last()
            .and_then(|l| l.strip_prefix('+'))
            .and_then(|l| l.strip_suffix(" more alerts"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(listed + more, 200);
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
