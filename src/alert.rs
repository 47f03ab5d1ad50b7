//! The alert that flows from a service, through the outbox, to a notifier: the ThreatQ object
//! normalised across kinds, why it is an alert (`changes`), and the stable key that keeps the
//! same state of an object from being alerted twice, whichever poll or restart sees it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why an alert exists. The seed library's `helpers.NotificationTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationType {
    /// An object on the ThreatQ watchlist appeared or changed.
    Watchlist,
    /// An object of a saved data collection is new or changed.
    DataCollection,
    /// A test message sent by the operator (`send-test`, `t` in the console).
    Test,
}

impl NotificationType {
    pub const ALL: [NotificationType; 3] = [Self::Watchlist, Self::DataCollection, Self::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watchlist => "watchlist",
            Self::DataCollection => "data-collection",
            Self::Test => "test",
        }
    }
}

impl fmt::Display for NotificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotificationType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown notification type `{s}`"))
    }
}

/// The kind of a ThreatQ object. Custom object kinds keep their singular API name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Indicator,
    Event,
    Adversary,
    Other(String),
}

impl ObjectKind {
    /// Singular name, as templates and the webhook body show it: `indicator`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Indicator => "indicator",
            Self::Event => "event",
            Self::Adversary => "adversary",
            Self::Other(s) => s,
        }
    }

    /// The API collection, as in `/api/indicators` and the UI path `/indicators/<id>/details`.
    pub fn collection(&self) -> String {
        match self {
            Self::Indicator => "indicators".into(),
            Self::Event => "events".into(),
            Self::Adversary => "adversaries".into(),
            Self::Other(s) if s.ends_with('y') => format!("{}ies", &s[..s.len() - 1]),
            Self::Other(s) => format!("{s}s"),
        }
    }

    /// The kind behind a collection name: `indicators` → `Indicator`.
    pub fn from_collection(collection: &str) -> Self {
        match collection {
            "indicators" => Self::Indicator,
            "events" => Self::Event,
            "adversaries" => Self::Adversary,
            other => {
                let singular = if let Some(stem) = other.strip_suffix("ies") {
                    format!("{stem}y")
                } else {
                    other.strip_suffix('s').unwrap_or(other).to_string()
                };
                Self::Other(singular)
            }
        }
    }
}

impl From<&str> for ObjectKind {
    fn from(s: &str) -> Self {
        match s {
            "indicator" => Self::Indicator,
            "event" => Self::Event,
            "adversary" => Self::Adversary,
            other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ObjectKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ObjectKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ObjectKind::from(s.as_str()))
    }
}

/// A field whose change makes an object alert again (`alert_on`), and what `changes` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Score,
    Status,
    Sources,
    Attributes,
    Tags,
    Relations,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Self::Score,
        Self::Status,
        Self::Sources,
        Self::Attributes,
        Self::Tags,
        Self::Relations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Score => "score",
            Self::Status => "status",
            Self::Sources => "sources",
            Self::Attributes => "attributes",
            Self::Tags => "tags",
            Self::Relations => "relations",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown field `{s}`"))
    }
}

/// One attribute of a ThreatQ object (`name: value`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

/// A related object (an indicator's adversary, an event's indicators, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relation {
    pub kind: ObjectKind,
    pub id: u64,
    #[serde(default)]
    pub value: String,
}

/// A ThreatQ object normalised across kinds, as templates see it (`object.*`, PRODUCT.md §3).
/// A field a kind does not have is `None` or empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatObject {
    pub kind: ObjectKind,
    pub id: u64,
    /// An indicator's value, an event's title, an adversary's name.
    pub value: String,
    #[serde(rename = "type", default)]
    pub object_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// The effective score, 0–10: the manual score when one is set, else the generated one.
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub tlp: Option<String>,
    /// Plain-text description (events and adversaries; ThreatQ's HTML already stripped).
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub relations: Vec<Relation>,
    /// The object's page in the ThreatQ UI.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub touched_at: Option<DateTime<Utc>>,
}

impl ThreatObject {
    /// A bare object of `kind` with `id` and `value`; every other field empty.
    pub fn new(kind: ObjectKind, id: u64, value: impl Into<String>) -> Self {
        Self {
            kind,
            id,
            value: value.into(),
            object_type: None,
            status: None,
            score: None,
            sources: Vec::new(),
            attributes: Vec::new(),
            tags: Vec::new(),
            tlp: None,
            description: None,
            relations: Vec::new(),
            url: None,
            created_at: None,
            updated_at: None,
            touched_at: None,
        }
    }

    /// The alertable state of the object, order-independent, for change detection.
    pub fn snapshot(&self) -> Snapshot {
        fn sorted<T: Clone + Ord>(v: &[T]) -> Vec<T> {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        }
        let mut fields = BTreeMap::new();
        // Scores are compared at two decimals: ThreatQ sends "6.50" as a string and 6.5 elsewhere.
        let score = self.score.map(|s| format!("{s:.2}"));
        fields.insert(Field::Score, serde_json::json!(score));
        fields.insert(Field::Status, serde_json::json!(self.status));
        fields.insert(Field::Sources, serde_json::json!(sorted(&self.sources)));
        fields.insert(
            Field::Attributes,
            serde_json::json!(sorted(&self.attributes)),
        );
        fields.insert(Field::Tags, serde_json::json!(sorted(&self.tags)));
        let relations: Vec<(String, u64)> = sorted(
            &self
                .relations
                .iter()
                .map(|r| (r.kind.as_str().to_string(), r.id))
                .collect::<Vec<_>>(),
        );
        fields.insert(Field::Relations, serde_json::json!(relations));
        Snapshot { fields }
    }

    /// The link for humans, `https://<host>/<collection>/<id>/details` (PRODUCT.md §6.1).
    pub fn ui_url(base: &str, kind: &ObjectKind, id: u64) -> String {
        format!(
            "{}/{}/{}/details",
            base.trim_end_matches('/'),
            kind.collection(),
            id
        )
    }
}

/// The alertable fields of an object in canonical form, kept in the state file per object a
/// service alerted on, so a later poll can tell what really changed (ThreatQ moves
/// `touched_at` on every re-ingest).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub fields: BTreeMap<Field, serde_json::Value>,
}

impl Snapshot {
    /// The fields among `watched` whose value differs from `previous`.
    pub fn changes_since(&self, previous: &Snapshot, watched: &[Field]) -> Vec<Field> {
        let mut changed: Vec<Field> = watched
            .iter()
            .copied()
            .filter(|f| self.fields.get(f) != previous.fields.get(f))
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// A short digest of the `watched` fields: equal digests mean the same alertable state.
    pub fn digest(&self, watched: &[Field]) -> String {
        let mut watched = watched.to_vec();
        watched.sort();
        watched.dedup();
        let mut hasher = Sha256::new();
        for field in watched {
            hasher.update(field.as_str().as_bytes());
            hasher.update(b"=");
            let value = self.fields.get(&field).cloned().unwrap_or_default();
            hasher.update(value.to_string().as_bytes());
            hasher.update(b"\n");
        }
        let digest = hasher.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The stable identity of one alertable state of one object: `kind:id:digest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertKey(pub String);

impl AlertKey {
    pub fn for_object(object: &ThreatObject, watched: &[Field]) -> Self {
        AlertKey(format!(
            "{}:{}:{}",
            object.kind,
            object.id,
            object.snapshot().digest(watched)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing worth telling someone about: an object, why, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub key: AlertKey,
    pub notification_type: NotificationType,
    /// The name of the service that found it.
    pub service: String,
    pub object: ThreatObject,
    /// What changed since the object was last alerted; empty on first sight.
    #[serde(default)]
    pub changes: Vec<Field>,
    pub detected_at: DateTime<Utc>,
}

impl Alert {
    /// An alert on first sight of `object`, keyed over every alertable field.
    pub fn new(
        service: impl Into<String>,
        notification_type: NotificationType,
        object: ThreatObject,
    ) -> Self {
        Self::keyed_on(service, notification_type, object, &Field::ALL)
    }

    /// An alert keyed over the `watched` fields only (the watchlist service's `alert_on`).
    pub fn keyed_on(
        service: impl Into<String>,
        notification_type: NotificationType,
        object: ThreatObject,
        watched: &[Field],
    ) -> Self {
        Self {
            key: AlertKey::for_object(&object, watched),
            notification_type,
            service: service.into(),
            object,
            changes: Vec::new(),
            detected_at: Utc::now(),
        }
    }

    pub fn with_changes(mut self, changes: Vec<Field>) -> Self {
        self.changes = changes;
        self
    }

    /// The alert as external receivers get it (PRODUCT.md §3.2): flat, raw values, with `changes`.
    pub fn to_wire_json(&self) -> serde_json::Value {
        let o = &self.object;
        serde_json::json!({
            "key": self.key,
            "kind": o.kind,
            "id": o.id,
            "value": o.value,
            "type": o.object_type,
            "status": o.status,
            "score": o.score,
            "sources": o.sources,
            "attributes": o.attributes,
            "tags": o.tags,
            "tlp": o.tlp,
            "description": o.description,
            "created_at": o.created_at,
            "updated_at": o.updated_at,
            "touched_at": o.touched_at,
            "url": o.url,
            "changes": self.changes,
        })
    }
}

/// What one message is made from: one alert, or one page of a digest (PRODUCT.md §7.3).
/// This is what an outbox row carries and what a formatter formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "lowercase")]
pub enum MessageData {
    Single { alert: Box<Alert> },
    Digest(Digest),
}

/// One page of a digest: `alerts` are this page's; `page` of `pages` (1-based); `total` alerts
/// across all pages of the poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub service: String,
    pub notification_type: NotificationType,
    pub alerts: Vec<Alert>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

impl MessageData {
    pub fn single(alert: Alert) -> Self {
        Self::Single {
            alert: Box::new(alert),
        }
    }

    pub fn alerts(&self) -> &[Alert] {
        match self {
            Self::Single { alert } => std::slice::from_ref(alert),
            Self::Digest(d) => &d.alerts,
        }
    }

    pub fn service(&self) -> &str {
        match self {
            Self::Single { alert } => &alert.service,
            Self::Digest(d) => &d.service,
        }
    }

    pub fn notification_type(&self) -> NotificationType {
        match self {
            Self::Single { alert } => alert.notification_type,
            Self::Digest(d) => d.notification_type,
        }
    }

    pub fn is_digest(&self) -> bool {
        matches!(self, Self::Digest(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator() -> ThreatObject {
        let mut o = ThreatObject::new(ObjectKind::Indicator, 42, "usacia.websecexp.com");
        o.score = Some(6.5);
        o.sources = vec!["Citizen Lab".into(), "Palo Alto".into()];
        o.tags = vec!["c2".into()];
        o
    }

    #[test]
    fn same_state_gives_same_key_whatever_the_order_of_lists() {
        let a = indicator();
        let mut b = indicator();
        b.sources.reverse();
        b.touched_at = Some(Utc::now());
        assert_eq!(
            AlertKey::for_object(&a, &Field::ALL),
            AlertKey::for_object(&b, &Field::ALL)
        );
    }

    #[test]
    fn a_score_change_changes_the_key_and_is_named_in_changes() {
        let before = indicator();
        let mut after = indicator();
        after.score = Some(8.0);
        assert_ne!(
            AlertKey::for_object(&before, &Field::ALL),
            AlertKey::for_object(&after, &Field::ALL)
        );
        assert_eq!(
            after
                .snapshot()
                .changes_since(&before.snapshot(), &Field::ALL),
            vec![Field::Score]
        );
    }

    #[test]
    fn a_change_outside_the_watched_fields_keeps_the_key() {
        let before = indicator();
        let mut after = indicator();
        after.tags.push("apt".into());
        let watched = [Field::Score, Field::Status];
        assert_eq!(
            AlertKey::for_object(&before, &watched),
            AlertKey::for_object(&after, &watched)
        );
    }

    #[test]
    fn collections_and_kinds_round_trip() {
        for c in [
            "indicators",
            "events",
            "adversaries",
            "signatures",
            "malware",
        ] {
            let kind = ObjectKind::from_collection(c);
            if c != "malware" {
                assert_eq!(kind.collection(), c);
            }
        }
        assert_eq!(
            ObjectKind::from_collection("adversaries"),
            ObjectKind::Adversary
        );
    }

    #[test]
    fn message_data_survives_the_outbox_round_trip() {
        let alert = Alert::new("watchlist", NotificationType::Watchlist, indicator());
        let data = MessageData::single(alert);
        let json = serde_json::to_string(&data).unwrap();
        let back: MessageData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, data);
    }
}
