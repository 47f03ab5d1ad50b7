//! ThreatQ's wire conventions (PRODUCT.md §6.1): the `data` envelope with `total`/`limit`/
//! `offset` (and `nextCursorMark` for saved searches), both error envelopes (an `errors` key is a
//! failure even with status 200), dates as `YYYY-MM-DD HH:MM:SS` in UTC, and both score shapes.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// ThreatQ's date format: UTC, no zone.
pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A ThreatQ date as UTC. Also reads RFC 3339 (some endpoints and proxies rewrite dates) and
/// fractional seconds; `None` for anything else.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(text, DATE_FORMAT) {
        return Some(t.and_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A date as ThreatQ writes it.
pub fn format_date(at: DateTime<Utc>) -> String {
    at.format(DATE_FORMAT).to_string()
}

/// A date field of an API object (`created_at`, `touched_at`, ...); `None` when absent, null or
/// unreadable.
pub fn date_field(object: &Value, key: &str) -> Option<DateTime<Utc>> {
    object.get(key).and_then(Value::as_str).and_then(parse_date)
}

/// The failure an answer reports in its body: `{"errors": ...}` at the top, or
/// `{"data": {"errors": ...}}`. Any `errors` key counts, even with status 200; the text lists
/// the messages (field names first where ThreatQ gives them).
pub fn api_errors(root: &Value) -> Option<String> {
    let errors = root
        .get("errors")
        .or_else(|| root.get("data").and_then(|d| d.get("errors")))?;
    let mut messages = Vec::new();
    collect_messages(errors, None, &mut messages);
    if messages.is_empty() {
        messages.push("(no message)".to_string());
    }
    Some(messages.join("; "))
}

fn collect_messages(value: &Value, field: Option<&str>, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(match field {
            Some(f) => format!("{f}: {s}"),
            None => s.clone(),
        }),
        Value::Array(items) => {
            for item in items {
                collect_messages(item, field, out);
            }
        }
        Value::Object(map) => {
            // `{"message": "..."}` is one message; anything else is field → messages.
            if let Some(Value::String(m)) = map.get("message") {
                out.push(m.clone());
                return;
            }
            for (key, item) in map {
                collect_messages(item, Some(key), out);
            }
        }
        Value::Null => {}
        other => out.push(other.to_string()),
    }
}

/// One page of a list or a saved search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub objects: Vec<Value>,
    pub total: Option<u64>,
    /// Saved searches (`query/hash`): where the next page starts.
    pub next_cursor_mark: Option<String>,
}

/// Why an answer could not be read as a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the answer has no `data`")]
    NoData,
    #[error("`data` is not a list")]
    NotAList,
    #[error("`data` is not an object")]
    NotAnObject,
}

/// The array in `data`, with `total` and `nextCursorMark` where present (top level, or inside
/// `meta` as some versions put it).
pub fn page(root: &Value) -> Result<Page, EnvelopeError> {
    let data = root.get("data").ok_or(EnvelopeError::NoData)?;
    let objects = match data {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        _ => return Err(EnvelopeError::NotAList),
    };
    let meta = root.get("meta");
    let field = |key: &str| root.get(key).or_else(|| meta.and_then(|m| m.get(key)));
    let total = field("total").and_then(|t| {
        t.as_u64()
            .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
    });
    let next_cursor_mark = field("nextCursorMark")
        .or_else(|| field("next_cursor_mark"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Page {
        objects,
        total,
        next_cursor_mark,
    })
}

/// The object in `data` (one object fetched by id).
pub fn single(root: &Value) -> Result<Value, EnvelopeError> {
    match root.get("data") {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        // Some versions answer a single fetch with a one-element list.
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_object() => {
            Ok(items[0].clone())
        }
        Some(_) => Err(EnvelopeError::NotAnObject),
        None => Err(EnvelopeError::NoData),
    }
}

/// A number that ThreatQ may send as a number or a string (`"6.50"`).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// The effective score (§6.1): an integer in lists; with `with=score` an object whose
/// `manual_score`, when set, wins over `generated_score`. Clamped to 0–10.
pub fn effective_score(score: &Value) -> Option<f64> {
    let raw = match score {
        Value::Object(map) => map
            .get("manual_score")
            .and_then(number)
            .or_else(|| map.get("generated_score").and_then(number)),
        other => number(other),
    }?;
    Some(raw.clamp(0.0, 10.0))
}

/// An id that ThreatQ may send as a number or a numeric string.
pub fn id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn threatq_dates_are_utc_without_zone() {
        let t = parse_date("2024-03-05 17:04:09").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-05T17:04:09+00:00");
        assert_eq!(format_date(t), "2024-03-05 17:04:09");
        assert_eq!(
            parse_date("2024-03-05T18:04:09+01:00"),
            Some(t),
            "RFC 3339 with an offset is converted to UTC"
        );
        for bad in ["", "yesterday", "2024-13-05 17:04:09", "2024-03-05"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn both_error_envelopes_are_failures() {
        let validation = json!({"data": {"errors": {"limit": ["must be at most 1000"]}}});
        assert_eq!(
            api_errors(&validation).unwrap(),
            "limit: must be at most 1000"
        );
        let plain = json!({"errors": ["Unknown collection", {"message": "try again"}]});
        assert_eq!(api_errors(&plain).unwrap(), "Unknown collection; try again");
        let empty = json!({"errors": []});
        assert_eq!(api_errors(&empty).unwrap(), "(no message)");
        assert_eq!(api_errors(&json!({"data": []})), None);
        assert_eq!(api_errors(&json!({"data": {"id": 1}})), None);
    }

    #[test]
    fn pages_carry_total_and_cursor_marks() {
        let root = json!({"data": [{"id": 1}], "total": "12", "nextCursorMark": "AoE/++=="});
        let p = page(&root).unwrap();
        assert_eq!(p.objects.len(), 1);
        assert_eq!(p.total, Some(12));
        assert_eq!(p.next_cursor_mark.as_deref(), Some("AoE/++=="));
        let in_meta = json!({"data": [], "meta": {"nextCursorMark": "x", "total": 0}});
        assert_eq!(
            page(&in_meta).unwrap().next_cursor_mark.as_deref(),
            Some("x")
        );
        assert_eq!(page(&json!({"total": 3})), Err(EnvelopeError::NoData));
        assert_eq!(
            page(&json!({"data": {"id": 1}})),
            Err(EnvelopeError::NotAList)
        );
        assert_eq!(
            single(&json!({"data": [1, 2]})),
            Err(EnvelopeError::NotAnObject)
        );
    }

    #[test]
    fn the_manual_score_wins_over_the_generated_one() {
        assert_eq!(effective_score(&json!(7)), Some(7.0));
        assert_eq!(
            effective_score(&json!({"generated_score": "6.50", "manual_score": null})),
            Some(6.5)
        );
        assert_eq!(
            effective_score(&json!({"generated_score": "6.50", "manual_score": "8"})),
            Some(8.0)
        );
        assert_eq!(effective_score(&json!({"generated_score": "abc"})), None);
        assert_eq!(effective_score(&json!("NaN")), None);
        assert_eq!(effective_score(&json!(42)), Some(10.0));
    }
}
