//! `plain`: a few lines of plain text per alert, for webhooks and logs. Indicator values are
//! defanged; the ThreatQ link is left live (it is the one link meant to be followed).

use std::fmt::Write as _;

use crate::alert::{Alert, MessageData, ObjectKind};
use crate::formatter::{FormatError, Formatter, Message};
use crate::text::defang;

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
    let value = if o.kind == ObjectKind::Indicator {
        defang(&o.value).into_owned()
    } else {
        o.value.clone()
    };
    let _ = write!(out, "{}", o.kind);
    if let Some(t) = &o.object_type {
        let _ = write!(out, " {}", one_line(t));
    }
    let _ = write!(out, " {}", one_line(&value));
    if let Some(score) = o.score {
        let _ = write!(out, " (score {})", format_score(score));
    }
}

/// A score as people write it: `8`, `6.5`.
pub fn format_score(score: f64) -> String {
    if score.fract() == 0.0 {
        format!("{score:.0}")
    } else {
        let s = format!("{score:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| one_line(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Line breaks and other control characters inside a value would break the layout (and could
/// forge lines in a log): each becomes a space.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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
            "[watchlist] indicator URL hxxp://aax[.]me/0b152 (score 6.5)\n\
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
        let alerts: Vec<Alert> = (0..3)
            .map(|i| alert(&format!("{i}.example.org"), 3.0))
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
            "[watchlist] watchlist: 5 alerts (2/2)\n- indicator URL 0[.]example[.]org"
        ));
        assert_eq!(m.text.lines().count(), 4);
    }

    #[test]
    fn scores_read_as_people_write_them() {
        assert_eq!(format_score(8.0), "8");
        assert_eq!(format_score(6.5), "6.5");
        assert_eq!(format_score(6.25), "6.25");
    }
}
