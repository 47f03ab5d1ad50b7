//! Sample alerts for `preview` (without `--alert`) and `check`: one of each shape a formatter
//! meets — indicators of several types, an event, an adversary; a first sight, a change, a
//! data-collection update, a test — built from the real published reports compiled into the
//! binary (`sim::data`), with fixed times so a preview is the same on every run.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::alert::{
    Alert, Attribute, Digest, Field, MessageData, NotificationType, ObjectKind, Relation,
    ThreatObject,
};
use crate::sim::data::{self, PublishedIndicator, Report};

/// Where sample links point when the configuration names no ThreatQ.
pub const PLACEHOLDER_THREATQ: &str = "https://threatq.example.net";

/// One sample alert and what it shows.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `watchlist-fqdn-first-seen`
    pub name: String,
    pub alert: Alert,
}

/// The samples, their ThreatQ links on `threatq` (the configured ThreatQ URL, or
/// [`PLACEHOLDER_THREATQ`]).
pub fn samples(threatq: Option<&str>) -> Vec<Sample> {
    let base = threatq.unwrap_or(PLACEHOLDER_THREATQ);
    let reports = data::reports();
    let mut out = Vec::new();
    let mut id = 4411;
    let mut next_id = || {
        id += 1;
        id
    };

    let typed = |t: &str| {
        data::indicators()
            .find(|(_, i)| i.threatq_type == t && i.to_ids)
            .or_else(|| data::indicators().find(|(_, i)| i.threatq_type == t))
    };
    let shapes: [(&str, &str, NotificationType, &[Field]); 6] = [
        ("FQDN", "first-seen", NotificationType::Watchlist, &[]),
        (
            "URL",
            "score-changed",
            NotificationType::Watchlist,
            &[Field::Score, Field::Status],
        ),
        ("MD5", "first-seen", NotificationType::Watchlist, &[]),
        (
            "IP Address",
            "updated",
            NotificationType::DataCollection,
            &[Field::Sources],
        ),
        ("Registry Key", "new", NotificationType::DataCollection, &[]),
        ("SHA-256", "test", NotificationType::Test, &[]),
    ];
    for (threatq_type, what, notification_type, changes) in shapes {
        let Some((report, indicator)) = typed(threatq_type) else {
            continue;
        };
        let object = indicator_object(base, next_id(), report, indicator, !changes.is_empty());
        let name = format!(
            "{}-{}-{what}",
            notification_type.as_str(),
            threatq_type.to_lowercase().replace(' ', "-")
        );
        out.push(sample(name, notification_type, object, changes));
    }
    if let Some(report) = reports.iter().find(|r| !r.techniques.is_empty()) {
        let object = event_object(base, next_id(), report);
        out.push(sample(
            "watchlist-event-tags-changed".into(),
            NotificationType::Watchlist,
            object,
            &[Field::Tags],
        ));
    }
    if let Some(report) = reports.iter().find(|r| !r.adversaries.is_empty()) {
        let object = adversary_object(base, next_id(), report);
        out.push(sample(
            "watchlist-adversary-first-seen".into(),
            NotificationType::Watchlist,
            object,
            &[],
        ));
    }
    out
}

/// Every sample alert of `notification_type` (all of them when `None`) as one digest page.
pub fn digest(threatq: Option<&str>, notification_type: NotificationType) -> MessageData {
    let alerts: Vec<Alert> = samples(threatq)
        .into_iter()
        .map(|s| {
            let mut a = s.alert;
            a.notification_type = notification_type;
            a.service = "watchlist".into();
            a
        })
        .collect();
    digest_of(alerts, 1, 1)
}

/// A digest page of `alerts` (their first alert's service and type), `page` of `pages`.
pub fn digest_of(alerts: Vec<Alert>, page: usize, pages: usize) -> MessageData {
    let (service, notification_type) = alerts
        .first()
        .map_or(("watchlist".to_owned(), NotificationType::Watchlist), |a| {
            (a.service.clone(), a.notification_type)
        });
    let total = alerts.len();
    MessageData::Digest(Digest {
        service,
        notification_type,
        alerts,
        page,
        pages,
        total,
    })
}

/// `n` real published indicators as watchlist alerts (cycling through the data when `n` is
/// larger), for digests and benchmarks.
pub fn indicator_alerts(threatq: Option<&str>, n: usize) -> Vec<Alert> {
    let base = threatq.unwrap_or(PLACEHOLDER_THREATQ);
    let all: Vec<(&Report, &PublishedIndicator)> = data::indicators().collect();
    all.iter()
        .copied()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, (report, indicator))| {
            let object = indicator_object(base, 5000 + i as u64, report, indicator, i % 3 == 1);
            let changes: &[Field] = if i % 3 == 1 { &[Field::Score] } else { &[] };
            sample(String::new(), NotificationType::Watchlist, object, changes).alert
        })
        .collect()
}

fn sample(
    name: String,
    notification_type: NotificationType,
    object: ThreatObject,
    changes: &[Field],
) -> Sample {
    let service = match notification_type {
        NotificationType::DataCollection => "high-score-iocs",
        _ => "watchlist",
    };
    let detected_at = object
        .touched_at
        .map_or_else(DateTime::<Utc>::default, |t| t + TimeDelta::minutes(5));
    let mut alert = Alert::new(service, notification_type, object).with_changes(changes.to_vec());
    alert.detected_at = detected_at;
    Sample { name, alert }
}

/// Midday of the day a report was published, and a week later: stable times for a sample.
fn times(published: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let created = published
        .and_hms_opt(12, 0, 0)
        .unwrap_or_default()
        .and_utc();
    (created, created + TimeDelta::days(7))
}

fn indicator_object(
    base: &str,
    id: u64,
    report: &Report,
    indicator: &PublishedIndicator,
    changed: bool,
) -> ThreatObject {
    let mut o = ThreatObject::new(ObjectKind::Indicator, id, indicator.value.clone());
    o.object_type = Some(indicator.threatq_type.to_owned());
    o.status = Some(if indicator.to_ids { "Active" } else { "Review" }.to_owned());
    o.score = Some(match (indicator.to_ids, changed) {
        (true, true) => 9.0,
        (true, false) => 8.0,
        (false, _) => 5.5,
    });
    o.sources = vec![report.publisher.to_owned()];
    o.tags = report.malware.iter().take(4).cloned().collect();
    o.tlp = Some("AMBER".to_owned());
    o.attributes.push(Attribute {
        name: "Report".into(),
        value: report.title.clone(),
    });
    o.attributes.push(Attribute {
        name: "Category".into(),
        value: indicator.category.clone(),
    });
    if !indicator.comment.is_empty() {
        o.attributes.push(Attribute {
            name: "Comment".into(),
            value: indicator.comment.clone(),
        });
    }
    if let Some(reference) = &report.reference {
        o.attributes.push(Attribute {
            name: "External Reference".into(),
            value: reference.clone(),
        });
    }
    for adversary in &report.adversaries {
        o.relations.push(Relation {
            kind: ObjectKind::Adversary,
            id: 900 + o.relations.len() as u64,
            value: adversary.clone(),
        });
    }
    let (created, updated) = times(indicator.published);
    o.created_at = Some(created);
    o.updated_at = Some(updated);
    o.touched_at = Some(updated);
    o.url = Some(ThreatObject::ui_url(base, &o.kind, id));
    o
}

fn event_object(base: &str, id: u64, report: &Report) -> ThreatObject {
    let mut o = ThreatObject::new(ObjectKind::Event, id, report.title.clone());
    o.object_type = Some("Malware".to_owned());
    o.sources = vec![report.publisher.to_owned()];
    o.tags = report.malware.iter().take(6).cloned().collect();
    o.tlp = Some("GREEN".to_owned());
    o.description = Some(format!(
        "{} published \"{}\" on {} with {} indicators.",
        report.publisher,
        report.title,
        report.published,
        report.indicators.len()
    ));
    for technique in &report.techniques {
        o.attributes.push(Attribute {
            name: "ATT&CK Technique".into(),
            value: technique.clone(),
        });
    }
    for (n, indicator) in report.indicators.iter().take(12).enumerate() {
        o.relations.push(Relation {
            kind: ObjectKind::Indicator,
            id: 6000 + n as u64,
            value: indicator.value.clone(),
        });
    }
    let (created, updated) = times(report.published);
    o.created_at = Some(created);
    o.updated_at = Some(updated);
    o.touched_at = Some(updated);
    o.url = Some(ThreatObject::ui_url(base, &o.kind, id));
    o
}

fn adversary_object(base: &str, id: u64, report: &Report) -> ThreatObject {
    let name = report.adversaries.first().cloned().unwrap_or_default();
    let mut o = ThreatObject::new(ObjectKind::Adversary, id, name.clone());
    o.sources = vec![report.publisher.to_owned()];
    o.description = Some(format!(
        "{name}, named by {} in \"{}\" ({}).",
        report.publisher, report.title, report.published
    ));
    if let Some(reference) = &report.reference {
        o.attributes.push(Attribute {
            name: "External Reference".into(),
            value: reference.clone(),
        });
    }
    for (n, indicator) in report.indicators.iter().take(5).enumerate() {
        o.relations.push(Relation {
            kind: ObjectKind::Indicator,
            id: 7000 + n as u64,
            value: indicator.value.clone(),
        });
    }
    let (created, updated) = times(report.published);
    o.created_at = Some(created);
    o.updated_at = Some(updated);
    o.touched_at = Some(updated);
    o.url = Some(ThreatObject::ui_url(base, &o.kind, id));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_every_kind_and_notification_type() {
        let samples = samples(None);
        assert!(samples.len() >= 8, "{}", samples.len());
        for kind in [
            ObjectKind::Indicator,
            ObjectKind::Event,
            ObjectKind::Adversary,
        ] {
            assert!(
                samples.iter().any(|s| s.alert.object.kind == kind),
                "{kind}"
            );
        }
        for t in NotificationType::ALL {
            assert!(
                samples.iter().any(|s| s.alert.notification_type == t),
                "{t}"
            );
        }
        let mut names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), samples.len());
    }

    #[test]
    fn samples_are_the_same_on_every_call() {
        let a: Vec<Alert> = samples(None).into_iter().map(|s| s.alert).collect();
        let b: Vec<Alert> = samples(None).into_iter().map(|s| s.alert).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn sample_links_point_at_the_configured_threatq() {
        let s = &samples(Some("https://tq.soc.internal"))[0];
        assert!(
            s.alert
                .object
                .url
                .as_deref()
                .unwrap()
                .starts_with("https://tq.soc.internal/indicators/")
        );
    }
}
