//! A ThreatQ object as the API returns it → the `ThreatObject` that alerts, formatters and
//! templates use. Pure: no client needed, so `preview --alert FILE` and tests can use it on a
//! saved API object. Every shape ThreatQ uses for a field is read (expanded objects, plain
//! names, bare ids resolved through `Lookups`, both score shapes, HTML descriptions).

use serde_json::{Map, Value};
use url::Url;

use crate::alert::{Attribute, ObjectKind, Relation, ThreatObject};
use crate::slack::mrkdwn::html_to_text;

use super::lookups::Lookups;
use super::wire;

/// Why an API object cannot be an alert's object. Messages name the kind and id so the
/// operator can look the object up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("a ThreatQ object must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("the ThreatQ object has no numeric `id`")]
    MissingId,
    #[error("{kind} {id} has no `{field}` (its value)")]
    MissingValue {
        kind: String,
        id: u64,
        field: &'static str,
    },
    #[error(
        "cannot tell what kind of ThreatQ object this is: it has none of `value` (indicator), `title` (event), `name` (adversary)"
    )]
    UnknownKind,
}

/// The kind of an API object from its own fields: `api_name`/`collection` when present, else
/// `value` → indicator, `title` → event, `name` → adversary.
pub fn infer_kind(object: &Value) -> Option<ObjectKind> {
    let map = object.as_object()?;
    for key in ["api_name", "collection"] {
        if let Some(name) = map.get(key).and_then(Value::as_str)
            && !name.is_empty()
        {
            return Some(ObjectKind::from_collection(name));
        }
    }
    if has_text(map, "value") {
        Some(ObjectKind::Indicator)
    } else if has_text(map, "title") {
        Some(ObjectKind::Event)
    } else if has_text(map, "name") {
        Some(ObjectKind::Adversary)
    } else {
        None
    }
}

fn has_text(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// `object_from_api` with the kind inferred from the object's fields.
pub fn object_from_api_inferred(
    object: &Value,
    ui_base: &Url,
    lookups: &Lookups,
) -> Result<ThreatObject, NormalizeError> {
    if !object.is_object() {
        return Err(NormalizeError::NotAnObject(json_type(object)));
    }
    let kind = infer_kind(object).ok_or(NormalizeError::UnknownKind)?;
    object_from_api(&kind, object, ui_base, lookups)
}

/// Normalise one API object of `kind`. `ui_base` is the ThreatQ host (`https://host`, an
/// `/api` suffix is dropped) for the object's link; `lookups` resolve bare type/status ids.
pub fn object_from_api(
    kind: &ObjectKind,
    object: &Value,
    ui_base: &Url,
    lookups: &Lookups,
) -> Result<ThreatObject, NormalizeError> {
    let map = object
        .as_object()
        .ok_or(NormalizeError::NotAnObject(json_type(object)))?;
    let id = map
        .get("id")
        .and_then(wire::id)
        .ok_or(NormalizeError::MissingId)?;
    let value = display_value(kind, map).ok_or_else(|| NormalizeError::MissingValue {
        kind: kind.to_string(),
        id,
        field: super::collections::value_field(kind),
    })?;
    let mut o = ThreatObject::new(kind.clone(), id, value);
    o.object_type = named(map.get("type"))
        .or_else(|| {
            let type_id = map.get("type_id").and_then(wire::id)?;
            lookups.type_name(kind, type_id).map(str::to_string)
        })
        .or_else(|| {
            // Some kinds (custom objects) name the type field after themselves.
            map.get("type_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    o.status = named(map.get("status")).or_else(|| {
        let status_id = map.get("status_id").and_then(wire::id)?;
        lookups.status_name(kind, status_id).map(str::to_string)
    });
    o.score = map.get("score").and_then(wire::effective_score);
    o.sources = names(map.get("sources"));
    o.attributes = attributes(map.get("attributes"));
    o.tags = names(map.get("tags"));
    o.tlp = tlp(map, &o.attributes);
    o.description = description(map.get("description"));
    o.relations = relations(map);
    o.url = Some(ThreatObject::ui_url(&ui_base_string(ui_base), kind, id));
    o.created_at = wire::date_field(object, "created_at");
    o.updated_at = wire::date_field(object, "updated_at");
    o.touched_at = wire::date_field(object, "touched_at");
    Ok(o)
}

/// `https://host[:port][/prefix]` without the `/api` of the API base: where the UI lives.
pub fn ui_base_string(base: &Url) -> String {
    let mut out = format!("{}://{}", base.scheme(), base.host_str().unwrap_or(""));
    if let Some(port) = base.port() {
        out.push_str(&format!(":{port}"));
    }
    let path = base.path().trim_end_matches('/');
    let path = path.strip_suffix("/api").unwrap_or(path);
    out.push_str(path);
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn display_value(kind: &ObjectKind, map: &Map<String, Value>) -> Option<String> {
    let primary = super::collections::value_field(kind);
    std::iter::once(primary)
        .chain(["value", "name", "title"])
        .filter_map(|key| map.get(key))
        .find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// `"Active"`, `{"name": "Active"}` → `Active`; anything else (an id, null) → `None`.
fn named(value: Option<&Value>) -> Option<String> {
    let name = match value? {
        Value::String(s) => s.as_str(),
        Value::Object(m) => m.get("name")?.as_str()?,
        _ => return None,
    };
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Names of a list of sources or tags, deduplicated in order.
fn names(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        if let Some(name) = named(Some(item))
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

fn attributes(value: Option<&Value>) -> Vec<Attribute> {
    let mut out = Vec::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = named(Some(item)) else {
            continue;
        };
        let value = match item.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => continue,
            Some(other) => other.to_string(),
        };
        let attribute = Attribute { name, value };
        if !out.contains(&attribute) {
            out.push(attribute);
        }
    }
    out
}

/// The object's own `tlp` (a name or `{name}`), else its `tlp_id`, else a `TLP` attribute,
/// else the most restrictive TLP of its sources. Shown as the bare name: `AMBER`.
fn tlp(map: &Map<String, Value>, attributes: &[Attribute]) -> Option<String> {
    if let Some(name) = named(map.get("tlp")) {
        return Some(tlp_name(&name));
    }
    if let Some(name) = map.get("tlp_id").and_then(wire::id).and_then(tlp_by_id) {
        return Some(name.to_string());
    }
    if let Some(a) = attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case("tlp"))
    {
        return Some(tlp_name(&a.value));
    }
    map.get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            named(s.get("tlp")).map(|n| tlp_name(&n)).or_else(|| {
                s.get("tlp_id")
                    .and_then(wire::id)
                    .and_then(tlp_by_id)
                    .map(str::to_string)
            })
        })
        .max_by_key(|name| tlp_rank(name))
}

/// ThreatQ's TLP ids.
fn tlp_by_id(id: u64) -> Option<&'static str> {
    Some(match id {
        1 => "RED",
        2 => "AMBER",
        3 => "GREEN",
        4 => "WHITE",
        5 => "CLEAR",
        _ => return None,
    })
}

fn tlp_name(raw: &str) -> String {
    let upper = raw.trim().to_uppercase();
    upper
        .strip_prefix("TLP:")
        .or_else(|| upper.strip_prefix("TLP "))
        .unwrap_or(&upper)
        .trim()
        .to_string()
}

fn tlp_rank(name: &str) -> u8 {
    match name {
        "RED" => 4,
        "AMBER+STRICT" => 3,
        "AMBER" => 2,
        "GREEN" => 1,
        _ => 0,
    }
}

/// HTML as plain text; a list of `{value}` (adversary descriptions) joined by blank lines.
fn description(value: Option<&Value>) -> Option<String> {
    let html = match value? {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.get("value")?.as_str()?.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.as_str()),
                Value::Object(m) => m.get("value").and_then(Value::as_str),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
        _ => return None,
    };
    let text = html_to_text(&html);
    (!text.trim().is_empty()).then_some(text)
}

fn relations(map: &Map<String, Value>) -> Vec<Relation> {
    let mut out = Vec::new();
    for (key, kind) in [
        ("indicators", ObjectKind::Indicator),
        ("events", ObjectKind::Event),
        ("adversaries", ObjectKind::Adversary),
    ] {
        for item in map.get(key).and_then(Value::as_array).into_iter().flatten() {
            let Some(id) = item.get("id").and_then(wire::id) else {
                continue;
            };
            let value = item
                .as_object()
                .and_then(|m| display_value(&kind, m))
                .unwrap_or_default();
            out.push(Relation {
                kind: kind.clone(),
                id,
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://threatq.example.net/api/").unwrap()
    }

    fn lookups() -> Lookups {
        Lookups::from_lists(
            &[json!({"id": 31, "name": "FQDN"})],
            &[json!({"id": 4, "name": "Active"})],
            &[json!({"id": 12, "name": "Incident"})],
        )
    }

    #[test]
    fn an_expanded_indicator_keeps_every_field() {
        let api = json!({
            "id": 42, "type_id": 31, "status_id": 4, "value": "redcrossworld.com",
            "created_at": "2016-08-24 12:00:00", "updated_at": "2024-01-02 03:04:05",
            "touched_at": "2024-01-02 03:04:06",
            "type": {"id": 31, "name": "FQDN"}, "status": {"id": 4, "name": "Active"},
            "score": {"generated_score": "6.50", "manual_score": "8"},
            "sources": [{"name": "Citizen Lab", "tlp": {"id": 4, "name": "WHITE"}}, {"name": "Citizen Lab"}],
            "attributes": [{"name": "Category", "value": "Network activity"}, {"name": "Port", "value": 443}],
            "tags": [{"name": "Pegasus"}],
            "watchlist": [{"id": 1}],
            "adversaries": [{"id": 3, "name": "NSO Group"}],
            "events": [{"id": 9, "title": "NSO Group"}]
        });
        let o =
            object_from_api(&ObjectKind::Indicator, &api, &base(), &Lookups::default()).unwrap();
        assert_eq!(o.value, "redcrossworld.com");
        assert_eq!(o.object_type.as_deref(), Some("FQDN"));
        assert_eq!(o.status.as_deref(), Some("Active"));
        assert_eq!(o.score, Some(8.0));
        assert_eq!(o.sources, vec!["Citizen Lab"]);
        assert_eq!(o.attributes[1].value, "443");
        assert_eq!(o.tags, vec!["Pegasus"]);
        assert_eq!(o.tlp.as_deref(), Some("WHITE"));
        assert_eq!(o.relations.len(), 2);
        assert_eq!(o.relations[0].value, "NSO Group");
        assert_eq!(
            o.url.as_deref(),
            Some("https://threatq.example.net/indicators/42/details")
        );
        assert_eq!(
            o.touched_at.unwrap().to_rfc3339(),
            "2024-01-02T03:04:06+00:00"
        );
    }

    #[test]
    fn bare_ids_are_named_through_the_lookups() {
        let api =
            json!({"id": "42", "type_id": 31, "status_id": 4, "value": "kenyasms.org", "score": 3});
        let o = object_from_api(&ObjectKind::Indicator, &api, &base(), &lookups()).unwrap();
        assert_eq!(o.object_type.as_deref(), Some("FQDN"));
        assert_eq!(o.status.as_deref(), Some("Active"));
        assert_eq!(o.score, Some(3.0));
        let unknown = json!({"id": 1, "type_id": 99, "value": "x"});
        let o = object_from_api(&ObjectKind::Indicator, &unknown, &base(), &lookups()).unwrap();
        assert_eq!(o.object_type, None);
    }

    #[test]
    fn events_and_adversaries_are_named_by_title_and_name_with_plain_descriptions() {
        let event = json!({"id": 9, "title": "NSO Group", "type_id": 12,
            "description": "<p>Published by <b>Citizen Lab</b> &amp; friends</p>"});
        let o = object_from_api_inferred(&event, &base(), &lookups()).unwrap();
        assert_eq!(o.kind, ObjectKind::Event);
        assert_eq!(o.object_type.as_deref(), Some("Incident"));
        assert_eq!(
            o.description.as_deref(),
            Some("Published by Citizen Lab & friends")
        );
        let adversary = json!({"id": 3, "name": "Turla Group",
            "description": [{"value": "<p>First</p>"}, {"value": "Second"}]});
        let o = object_from_api_inferred(&adversary, &base(), &lookups()).unwrap();
        assert_eq!(o.kind, ObjectKind::Adversary);
        assert_eq!(o.description.as_deref(), Some("First\n\nSecond"));
        assert_eq!(o.object_type, None);
    }

    #[test]
    fn tlp_comes_from_the_object_an_attribute_or_the_strictest_source() {
        let own = json!({"id": 1, "value": "v", "tlp": "tlp:amber"});
        let attr =
            json!({"id": 1, "value": "v", "attributes": [{"name": "TLP", "value": "Green"}]});
        let sources = json!({"id": 1, "value": "v", "sources": [
            {"name": "a", "tlp_id": 3}, {"name": "b", "tlp": {"name": "RED"}}, {"name": "c"}]});
        for (api, want) in [(own, "AMBER"), (attr, "GREEN"), (sources, "RED")] {
            let o = object_from_api(&ObjectKind::Indicator, &api, &base(), &lookups()).unwrap();
            assert_eq!(o.tlp.as_deref(), Some(want), "{api}");
        }
    }

    #[test]
    fn broken_objects_say_what_is_missing() {
        let l = lookups();
        assert_eq!(
            object_from_api_inferred(&json!([1]), &base(), &l),
            Err(NormalizeError::NotAnObject("a list"))
        );
        assert_eq!(
            object_from_api(&ObjectKind::Indicator, &json!({"value": "x"}), &base(), &l),
            Err(NormalizeError::MissingId)
        );
        assert_eq!(
            object_from_api(
                &ObjectKind::Indicator,
                &json!({"id": -4, "value": "x"}),
                &base(),
                &l
            ),
            Err(NormalizeError::MissingId)
        );
        let err = object_from_api(&ObjectKind::Event, &json!({"id": 5}), &base(), &l).unwrap_err();
        assert_eq!(err.to_string(), "event 5 has no `title` (its value)");
        assert_eq!(
            object_from_api_inferred(&json!({"id": 5, "score": 3}), &base(), &l),
            Err(NormalizeError::UnknownKind)
        );
    }

    #[test]
    fn hostile_field_shapes_are_skipped_not_fatal() {
        let api = json!({"id": 1, "value": "v",
            "sources": "not a list", "tags": [null, 3, {"name": ""}, {"name": "ok"}],
            "attributes": [{"name": "a"}, {"value": "b"}, {"name": "c", "value": null}, 7],
            "score": {"manual_score": null, "generated_score": null},
            "type": 5, "status": [], "touched_at": "not a date",
            "adversaries": [{"name": "no id"}, {"id": "x"}]});
        let o = object_from_api(&ObjectKind::Indicator, &api, &base(), &lookups()).unwrap();
        assert!(o.sources.is_empty());
        assert_eq!(o.tags, vec!["ok"]);
        assert!(o.attributes.is_empty());
        assert_eq!(o.score, None);
        assert_eq!(o.object_type, None);
        assert_eq!(o.touched_at, None);
        assert!(o.relations.is_empty());
    }

    #[test]
    fn the_ui_base_drops_the_api_suffix_but_keeps_a_prefix() {
        for (url, want) in [
            ("https://tq.example.net", "https://tq.example.net"),
            ("https://tq.example.net/api/", "https://tq.example.net"),
            ("http://127.0.0.1:8443/tq/api", "http://127.0.0.1:8443/tq"),
        ] {
            assert_eq!(ui_base_string(&Url::parse(url).unwrap()), want);
        }
    }
}
