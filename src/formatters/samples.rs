//! Sample alerts for `preview` (without `--alert`) and `check`: the ThreatQ API objects of
//! `assets/samples/threatq/` (compiled in, normalised as the services normalise what ThreatQ
//! returns) — an indicator, a registry key, an event, an adversary — each as a first sight, and
//! the indicators again as a change, a data-collection update and a test. Digests are built
//! from the real published indicators of `sim::data`. Times are fixed, so a preview is the
//! same on every run.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use url::Url;

use crate::alert::{
    Alert, Attribute, Digest, Field, MessageData, NotificationType, ObjectKind, Relation,
    ThreatObject,
};
use crate::sim::data::{self, PublishedIndicator, Report};
use crate::threatq::{Lookups, object_from_api_inferred};

/// Where sample links point when the configuration names no ThreatQ.
pub const PLACEHOLDER_THREATQ: &str = "https://threatq.example.net";

/// The API objects of `assets/samples/threatq/`, by file stem.
const API_SAMPLES: &[(&str, &str)] = &[
    (
        "indicator",
        include_str!("../../assets/samples/threatq/indicator.json"),
    ),
    (
        "indicator-registry-key",
        include_str!("../../assets/samples/threatq/indicator-registry-key.json"),
    ),
    (
        "event",
        include_str!("../../assets/samples/threatq/event.json"),
    ),
    (
        "adversary",
        include_str!("../../assets/samples/threatq/adversary.json"),
    ),
];

/// One sample alert and what it shows.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `watchlist-indicator-first-seen`
    pub name: String,
    pub alert: Alert,
}

/// The samples, their ThreatQ links on `threatq` (the configured ThreatQ URL, or
/// [`PLACEHOLDER_THREATQ`]).
pub fn samples(threatq: Option<&str>) -> Vec<Sample> {
    let base = threatq
        .and_then(|u| Url::parse(u).ok())
        .or_else(|| Url::parse(PLACEHOLDER_THREATQ).ok())
        .expect("the placeholder is a URL");
    let objects: Vec<(&str, ThreatObject)> = API_SAMPLES
        .iter()
        .filter_map(|(stem, json)| {
            let value: serde_json::Value = serde_json::from_str(json).ok()?;
            let value = value.get("data").cloned().unwrap_or(value);
            let object = object_from_api_inferred(&value, &base, &Lookups::default()).ok()?;
            Some((*stem, object))
        })
        .collect();
    let mut out: Vec<Sample> = objects
        .iter()
        .map(|(stem, o)| {
            sample(
                format!("watchlist-{stem}-first-seen"),
                NotificationType::Watchlist,
                o.clone(),
                &[],
            )
        })
        .collect();
    let indicator = |stem: &str| objects.iter().find(|(s, _)| *s == stem).map(|(_, o)| o);
    if let Some(o) = indicator("indicator") {
        out.push(sample(
            "watchlist-indicator-score-changed".into(),
            NotificationType::Watchlist,
            o.clone(),
            &[Field::Score, Field::Status],
        ));
        out.push(sample(
            "test-indicator".into(),
            NotificationType::Test,
            o.clone(),
            &[],
        ));
    }
    if let Some(o) = indicator("indicator-registry-key") {
        out.push(sample(
            "data-collection-indicator-registry-key-updated".into(),
            NotificationType::DataCollection,
            o.clone(),
            &[Field::Sources],
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_every_kind_and_notification_type() {
        let samples = samples(None);
        assert_eq!(samples.len(), 7);
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
    fn every_api_sample_in_assets_normalises() {
        let first_seen = samples(None)
            .into_iter()
            .filter(|s| s.name.ends_with("-first-seen"))
            .count();
        assert_eq!(first_seen, API_SAMPLES.len());
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
