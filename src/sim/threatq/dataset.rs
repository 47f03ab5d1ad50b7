//! The simulator's threat library, built from real published reports: one indicator per
//! distinct published value (sources merged when reports share one), one event per report,
//! one adversary per named threat actor, related as the reports relate them. Timestamps,
//! scores, the watchlist and the type/status ids come from a seeded generator.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration as Span, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::sim::data::Report;

use super::{SimKind, SimRef, WatchPlan};

/// Indicator types a ThreatQ installation ships, with their class.
pub(super) const INDICATOR_TYPES: &[(&str, &str)] = &[
    ("ASN", "network"),
    ("CIDR Block", "network"),
    ("CVE", "host"),
    ("Email Address", "network"),
    ("File Path", "host"),
    ("Filename", "host"),
    ("FQDN", "network"),
    ("IP Address", "network"),
    ("MD5", "host"),
    ("Mutex", "host"),
    ("Registry Key", "host"),
    ("SHA-1", "host"),
    ("SHA-256", "host"),
    ("SHA-512", "host"),
    ("URL", "network"),
    ("URL Path", "network"),
    ("User-agent", "network"),
];

pub(super) const INDICATOR_STATUSES: &[(&str, &str)] = &[
    (
        "Active",
        "Poses a threat and is being exported to detection tools.",
    ),
    ("Expired", "No longer poses a serious threat."),
    (
        "Indirect",
        "Associated with an active indicator or event; not directly malicious.",
    ),
    ("Review", "Requires further analysis."),
    ("Whitelisted", "Poses no risk and should never be deployed."),
];

pub(super) const EVENT_TYPES: &[&str] = &[
    "Anonymization",
    "Attribution",
    "Command and Control",
    "Exfiltration",
    "Exploit",
    "Incident",
    "Malware",
    "Sighting",
    "Spearphish",
    "Watchlist",
];

/// One object of the library, in the simulator's own terms; `server` renders it as the API
/// does.
#[derive(Debug, Clone)]
pub struct SimObject {
    pub kind: SimKind,
    pub id: u64,
    /// An indicator's value, an event's title, an adversary's name.
    pub value: String,
    pub type_name: Option<&'static str>,
    pub status_name: Option<&'static str>,
    pub class: Option<&'static str>,
    pub generated_score: f64,
    pub manual_score: Option<f64>,
    pub sources: Vec<String>,
    pub attributes: Vec<(String, String)>,
    pub tags: Vec<String>,
    /// HTML, as ThreatQ stores it.
    pub description: Option<String>,
    pub happened_at: Option<DateTime<Utc>>,
    pub watched: bool,
    /// Held back: not served until `add_watched_object` ingests it.
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub touched_at: DateTime<Utc>,
}

impl SimObject {
    pub fn reference(&self) -> SimRef {
        SimRef {
            kind: self.kind,
            id: self.id,
        }
    }

    /// The score ThreatQ shows: manual when set, else generated.
    pub fn effective_score(&self) -> f64 {
        self.manual_score.unwrap_or(self.generated_score)
    }
}

/// Names with the ids this start gave them.
#[derive(Debug, Clone)]
pub struct IdTable {
    pub by_name: BTreeMap<&'static str, u64>,
}

impl IdTable {
    /// Ids `1..=n` (plus a seeded offset) shuffled over `names`: a different installation.
    fn shuffled(names: impl Iterator<Item = &'static str>, rng: &mut StdRng) -> Self {
        let names: Vec<&'static str> = names.collect();
        let offset: u64 = rng.random_range(0..40);
        let mut ids: Vec<u64> = (1..=names.len() as u64).map(|i| i + offset).collect();
        ids.shuffle(rng);
        Self {
            by_name: names.into_iter().zip(ids).collect(),
        }
    }

    pub fn id(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).copied()
    }
}

pub struct Dataset {
    pub objects: BTreeMap<SimRef, SimObject>,
    /// Symmetric: both directions are stored.
    pub relations: BTreeSet<(SimRef, SimRef)>,
    pub indicator_types: IdTable,
    pub indicator_statuses: IdTable,
    pub event_types: IdTable,
}

fn noon(report: &Report) -> DateTime<Utc> {
    report
        .published
        .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
        .and_utc()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// The library for `reports`, with everything random drawn from `seed`.
pub fn build(reports: &[Report], seed: u64, plan: &WatchPlan, now: DateTime<Utc>) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let indicator_types = IdTable::shuffled(INDICATOR_TYPES.iter().map(|(n, _)| *n), &mut rng);
    let indicator_statuses =
        IdTable::shuffled(INDICATOR_STATUSES.iter().map(|(n, _)| *n), &mut rng);
    let event_types = IdTable::shuffled(EVENT_TYPES.iter().copied(), &mut rng);

    let mut objects: BTreeMap<SimRef, SimObject> = BTreeMap::new();
    let mut relations = BTreeSet::new();
    let mut indicator_ids: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
    let mut adversary_ids: BTreeMap<String, u64> = BTreeMap::new();
    let mut adversary_reports: BTreeMap<u64, Vec<&Report>> = BTreeMap::new();
    let blank = |kind, id, value: String, at| SimObject {
        kind,
        id,
        value,
        type_name: None,
        status_name: None,
        class: None,
        generated_score: 0.0,
        manual_score: None,
        sources: Vec::new(),
        attributes: Vec::new(),
        tags: Vec::new(),
        description: None,
        happened_at: None,
        watched: false,
        hidden: false,
        created_at: at,
        updated_at: at,
        touched_at: at,
    };
    let mut relate = |a: SimRef, b: SimRef| {
        relations.insert((a, b));
        relations.insert((b, a));
    };

    for (i, report) in reports.iter().enumerate() {
        let published = noon(report);
        let event_ref = SimRef {
            kind: SimKind::Event,
            id: i as u64 + 1,
        };
        let mut event = blank(
            SimKind::Event,
            event_ref.id,
            report.title.clone(),
            published,
        );
        event.type_name = Some(if report.publisher == "ESET" {
            "Malware"
        } else {
            "Incident"
        });
        event.happened_at = Some(published);
        event.sources.push(report.publisher.to_string());
        event
            .attributes
            .push(("Publisher".into(), report.publisher.to_string()));
        if let Some(link) = &report.reference {
            event.attributes.push(("Reference".into(), link.clone()));
        }
        for malware in report.malware.iter().take(5) {
            event
                .attributes
                .push(("Malware Family".into(), malware.clone()));
            push_unique(&mut event.tags, malware);
        }
        for technique in report.techniques.iter().take(3) {
            push_unique(&mut event.tags, technique);
        }
        let mut html = format!(
            "<p>Indicators published by <strong>{}</strong> on {}: {} indicator(s).</p>",
            escape_html(report.publisher),
            report.published,
            report.indicators.len()
        );
        if !report.malware.is_empty() {
            html.push_str("<ul>");
            for m in report.malware.iter().take(5) {
                html.push_str(&format!("<li>{}</li>", escape_html(m)));
            }
            html.push_str("</ul>");
        }
        if let Some(link) = &report.reference {
            html.push_str(&format!(
                "<p>Report: <a href=\"{0}\">{0}</a></p>",
                escape_html(link)
            ));
        }
        event.description = Some(html);
        objects.insert(event_ref, event);

        let mut report_adversaries = Vec::new();
        for name in &report.adversaries {
            let next = adversary_ids.len() as u64 + 1;
            let id = *adversary_ids.entry(name.clone()).or_insert(next);
            let r = SimRef {
                kind: SimKind::Adversary,
                id,
            };
            let adversary = objects
                .entry(r)
                .or_insert_with(|| blank(SimKind::Adversary, id, name.clone(), published));
            push_unique(&mut adversary.sources, report.publisher);
            for m in report.malware.iter().take(5) {
                push_unique(&mut adversary.tags, m);
            }
            adversary_reports.entry(id).or_default().push(report);
            relate(r, event_ref);
            report_adversaries.push(r);
        }

        for indicator in &report.indicators {
            let next = indicator_ids.len() as u64 + 1;
            let key = (indicator.threatq_type, indicator.value.clone());
            let id = *indicator_ids.entry(key).or_insert(next);
            let r = SimRef {
                kind: SimKind::Indicator,
                id,
            };
            let o = objects.entry(r).or_insert_with(|| {
                let mut o = blank(
                    SimKind::Indicator,
                    id,
                    indicator.value.clone(),
                    indicator
                        .published
                        .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
                        .and_utc(),
                );
                o.type_name = Some(indicator.threatq_type);
                o.class = INDICATOR_TYPES
                    .iter()
                    .find(|(n, _)| *n == indicator.threatq_type)
                    .map(|(_, c)| *c);
                o.status_name = Some(if indicator.to_ids { "Active" } else { "Review" });
                o.attributes
                    .push(("Category".into(), indicator.category.clone()));
                o.attributes.push((
                    "IDS Detection".into(),
                    if indicator.to_ids { "Yes" } else { "No" }.into(),
                ));
                if !indicator.comment.is_empty() {
                    o.attributes
                        .push(("Comment".into(), indicator.comment.clone()));
                }
                o
            });
            push_unique(&mut o.sources, report.publisher);
            for m in report.malware.iter().take(3) {
                if o.tags.len() < 5 {
                    push_unique(&mut o.tags, m);
                }
            }
            relate(r, event_ref);
            for a in &report_adversaries {
                relate(r, *a);
            }
        }
    }
    for (id, reports) in adversary_reports {
        if let Some(o) = objects.get_mut(&SimRef {
            kind: SimKind::Adversary,
            id,
        }) {
            let list: Vec<String> = reports
                .iter()
                .map(|r| {
                    format!(
                        "<li><em>{}</em> ({}, {})</li>",
                        escape_html(&r.title),
                        escape_html(r.publisher),
                        r.published
                    )
                })
                .collect();
            o.description = Some(format!(
                "<p>Threat actor named in published reporting:</p><ul>{}</ul>",
                list.join("")
            ));
        }
    }

    // Scores, timestamps and the watchlist, drawn in a fixed order so a seed is a library.
    let refs: Vec<SimRef> = objects.keys().copied().collect();
    for r in &refs {
        let Some(o) = objects.get_mut(r) else {
            continue;
        };
        if o.kind == SimKind::Indicator {
            let active = o.status_name == Some("Active");
            let base: f64 = if active {
                rng.random_range(6.0..9.5)
            } else {
                rng.random_range(2.0..5.5)
            };
            o.generated_score = (base * 4.0).round() / 4.0;
            if rng.random_bool(0.1) {
                o.manual_score = Some(f64::from(rng.random_range(1u8..=10)));
            }
        }
        // Feeds re-ingest everything now and then: touched within the last three days.
        let touched = now - Span::seconds(rng.random_range(120..72 * 3600));
        o.touched_at = touched.max(o.created_at);
        o.updated_at = (o.touched_at - Span::seconds(rng.random_range(0..3600))).max(o.created_at);
    }
    let mut by_kind: BTreeMap<SimKind, Vec<SimRef>> = BTreeMap::new();
    for r in &refs {
        by_kind.entry(r.kind).or_default().push(*r);
    }
    for list in by_kind.values_mut() {
        list.shuffle(&mut rng);
    }
    let mut chosen = |kind: SimKind, n: usize, rng: &mut StdRng| {
        let list = by_kind.get(&kind).cloned().unwrap_or_default();
        let n = n.min(list.len());
        let stale = ((n as f64) * plan.stale_share.clamp(0.0, 1.0)).round() as usize;
        for (i, r) in list.iter().take(n).enumerate() {
            if let Some(o) = objects.get_mut(r) {
                o.watched = true;
                // Most watched objects changed recently; the stale ones are older than a
                // first run's look-back.
                let ago = if i < stale {
                    rng.random_range(30 * 3600..70 * 3600)
                } else {
                    rng.random_range(60..20 * 3600)
                };
                o.touched_at = (now - Span::seconds(ago)).max(o.created_at);
                o.updated_at = o.touched_at.min(o.updated_at.max(o.created_at));
            }
        }
        list.into_iter().skip(n).collect::<Vec<_>>()
    };
    let spare_indicators = chosen(SimKind::Indicator, plan.indicators, &mut rng);
    chosen(SimKind::Event, plan.events, &mut rng);
    chosen(SimKind::Adversary, plan.adversaries, &mut rng);
    for r in spare_indicators.iter().take(plan.reserve) {
        if let Some(o) = objects.get_mut(r) {
            o.hidden = true;
        }
    }
    Dataset {
        objects,
        relations,
        indicator_types,
        indicator_statuses,
        event_types,
    }
}
