//! What a template sees (PRODUCT.md §3): `object` (the normalised ThreatQ object), `alert`,
//! `changes`, `service`, `notification_type`, and for digests `alerts` and `digest`. Objects are
//! views over the alert that answer a name they do not have with a recorded miss, so the error
//! can say "did you mean `sources`"; a field a kind does not have is `none`.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use super::scope::record_miss;
use crate::alert::{Alert, Attribute, Digest, Relation};

/// Private-use characters the template formatter uses to mark printed values in its output
/// (see `output.rs`). Text from ThreatQ cannot carry them in: each becomes U+FFFD.
pub(crate) const MARK_OPEN: char = '\u{E000}';
pub(crate) const MARK_CLOSE: char = '\u{E001}';
pub(crate) const MARK_WHOLE: char = '\u{E002}';

pub(crate) fn is_mark(c: char) -> bool {
    matches!(c, MARK_OPEN | MARK_CLOSE | MARK_WHOLE)
}

/// A string from ThreatQ as a template value, unable to forge a value mark.
pub(crate) fn text(s: &str) -> Value {
    if s.contains(is_mark) {
        Value::from(s.replace(is_mark, "\u{FFFD}"))
    } else {
        Value::from(s)
    }
}

fn opt_text(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::from(()), text)
}

fn texts(items: &[String]) -> Value {
    Value::from(items.iter().map(|s| text(s)).collect::<Vec<_>>())
}

/// RFC 3339 in UTC, to the second: `2018-10-01T12:00:00Z`.
pub(crate) fn timestamp(t: &Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::from(()), |t| {
        Value::from(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// A score prints as people write it: `8`, not `8.0`.
fn score(s: Option<f64>) -> Value {
    match s {
        Some(s) if s.fract() == 0.0 && s.abs() < 1e15 => Value::from(s as i64),
        Some(s) => Value::from(s),
        None => Value::from(()),
    }
}

/// The names each view answers to, in the order `{{ object }}` lists them.
pub const OBJECT_FIELDS: &[&str] = &[
    "kind",
    "id",
    "value",
    "type",
    "status",
    "score",
    "sources",
    "attributes",
    "tags",
    "tlp",
    "description",
    "relations",
    "url",
    "created_at",
    "updated_at",
    "touched_at",
];
pub const ALERT_FIELDS: &[&str] = &[
    "key",
    "notification_type",
    "service",
    "object",
    "changes",
    "detected_at",
];
pub const ATTRIBUTE_FIELDS: &[&str] = &["name", "value"];
pub const RELATION_FIELDS: &[&str] = &["kind", "id", "value"];
pub const DIGEST_FIELDS: &[&str] = &["page", "pages", "total"];

/// The variables of a template, for "did you mean" on an unknown name.
pub const VARIABLES: &[&str] = &[
    "object",
    "alert",
    "changes",
    "service",
    "notification_type",
    "alerts",
    "digest",
];

/// `object`: the ThreatQ object of an alert.
#[derive(Debug)]
pub(crate) struct ObjectView(pub Arc<Alert>);

impl Object for ObjectView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        let o = &self.0.object;
        Some(match key {
            "kind" => Value::from(o.kind.as_str()),
            "id" => Value::from(o.id),
            "value" => text(&o.value),
            "type" => opt_text(&o.object_type),
            "status" => opt_text(&o.status),
            "score" => score(o.score),
            "sources" => texts(&o.sources),
            "attributes" => Value::from(
                o.attributes
                    .iter()
                    .map(|a| Value::from_object(AttributeView(a.clone())))
                    .collect::<Vec<_>>(),
            ),
            "tags" => texts(&o.tags),
            "tlp" => opt_text(&o.tlp),
            "description" => opt_text(&o.description),
            "relations" => Value::from(
                o.relations
                    .iter()
                    .map(|r| Value::from_object(RelationView(r.clone())))
                    .collect::<Vec<_>>(),
            ),
            "url" => opt_text(&o.url),
            "created_at" => timestamp(&o.created_at),
            "updated_at" => timestamp(&o.updated_at),
            "touched_at" => timestamp(&o.touched_at),
            other => {
                record_miss("object", other, OBJECT_FIELDS);
                return None;
            }
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(OBJECT_FIELDS)
    }
}

/// `alert`: an alert, with its object.
#[derive(Debug)]
pub(crate) struct AlertView(pub Arc<Alert>);

impl Object for AlertView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        let a = &self.0;
        Some(match key {
            "key" => Value::from(a.key.as_str()),
            "notification_type" => Value::from(a.notification_type.as_str()),
            "service" => text(&a.service),
            "object" => Value::from_object(ObjectView(a.clone())),
            "changes" => changes(a),
            "detected_at" => timestamp(&Some(a.detected_at)),
            other => {
                record_miss("alert", other, ALERT_FIELDS);
                return None;
            }
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(ALERT_FIELDS)
    }
}

pub(crate) fn changes(a: &Alert) -> Value {
    Value::from(a.changes.iter().map(|c| c.as_str()).collect::<Vec<_>>())
}

/// One `name: value` attribute.
#[derive(Debug)]
pub(crate) struct AttributeView(Attribute);

impl Object for AttributeView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(text(&self.0.name)),
            "value" => Some(text(&self.0.value)),
            other => {
                record_miss("attribute", other, ATTRIBUTE_FIELDS);
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(ATTRIBUTE_FIELDS)
    }
}

/// One related object.
#[derive(Debug)]
pub(crate) struct RelationView(Relation);

impl Object for RelationView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "kind" => Some(Value::from(self.0.kind.as_str())),
            "id" => Some(Value::from(self.0.id)),
            "value" => Some(text(&self.0.value)),
            other => {
                record_miss("relation", other, RELATION_FIELDS);
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(RELATION_FIELDS)
    }
}

/// `digest`: where this page sits among the poll's pages.
#[derive(Debug)]
pub(crate) struct DigestView {
    page: usize,
    pages: usize,
    total: usize,
}

impl Object for DigestView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "page" => Some(Value::from(self.page)),
            "pages" => Some(Value::from(self.pages)),
            "total" => Some(Value::from(self.total)),
            other => {
                record_miss("digest", other, DIGEST_FIELDS);
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(DIGEST_FIELDS)
    }
}

/// The variables for one alert: `object`, `alert`, `changes`, `service`, `notification_type`,
/// and `alerts` (the one alert), so a template written for digests also works for one alert.
pub(crate) fn for_alert(alert: &Arc<Alert>) -> Value {
    minijinja::context! {
        object => Value::from_object(ObjectView(alert.clone())),
        alert => Value::from_object(AlertView(alert.clone())),
        changes => changes(alert),
        service => text(&alert.service),
        notification_type => alert.notification_type.as_str(),
        alerts => vec![Value::from_object(AlertView(alert.clone()))],
        digest => Value::from(()),
    }
}

/// The variables for a digest page: `alerts`, `digest`, `service`, `notification_type`.
/// `object`, `alert` and `changes` are not defined: there are many.
pub(crate) fn for_digest(digest: &Digest, alerts: &[Arc<Alert>]) -> Value {
    minijinja::context! {
        alerts => alerts.iter().map(|a| Value::from_object(AlertView(a.clone()))).collect::<Vec<_>>(),
        digest => Value::from_object(DigestView {
            page: digest.page,
            pages: digest.pages,
            total: digest.total,
        }),
        service => text(&digest.service),
        notification_type => digest.notification_type.as_str(),
    }
}
