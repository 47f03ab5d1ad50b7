//! The filters a template gets besides minijinja's own: `defang`, `truncate`, `url`,
//! `severity`, `ago`; `tojson` that still escapes for where it lands; and a `safe` that explains
//! why it is not there.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use minijinja::value::{Object, ObjectRepr, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::scope;
use crate::formatters::severity::Severity;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("defang", defang);
    env.add_filter("truncate", truncate);
    env.add_filter("url", url);
    env.add_filter("severity", severity);
    env.add_filter("ago", ago);
    env.add_filter("tojson", tojson);
    env.add_filter("safe", safe);
}

/// `{{ object.value|defang }}`: `hxxp://aax[.]me/0b152`. Slack output defangs by itself; this is
/// for `json` output, which carries raw values.
fn defang(value: String) -> String {
    crate::text::defang(&value).into_owned()
}

/// `{{ object.description|truncate(200) }}`: at most that many characters, the last one `…`
/// when cut. Counts code points, as Slack does.
fn truncate(value: String, length: usize) -> String {
    crate::text::truncate(&value, length).into_owned()
}

/// Everything but letters, digits, `-`, `_` and `~`: a dot is encoded too (`%2E`, equivalent
/// under RFC 3986), so an encoded indicator can never read as a live domain.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// Percent-encode a value for one URL component.
pub(crate) fn url_component(value: &str) -> String {
    utf8_percent_encode(value, URL_COMPONENT).to_string()
}

/// `<https://www.virustotal.com/gui/search/{{ object.value|url }}|VirusTotal>`: the value
/// percent-encoded for one URL component. Encoded, it holds only letters, digits and `%-_~`, so
/// nothing in it needs escaping anywhere; it is kept raw until the output is complete, so a
/// value cut to fit a limit is cut before it is encoded, never inside a `%XX`.
fn url(value: String) -> Value {
    Value::from_object(UrlEncoded(value))
}

/// A value the template asked to have percent-encoded (`|url`); prints encoded.
#[derive(Debug)]
pub(crate) struct UrlEncoded(pub String);

impl Object for UrlEncoded {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&url_component(&self.0))
    }
}

/// `{{ object.score|severity }}`: `low`, `medium`, `high`, `critical` (the scale of
/// `formatters::severity`), or `unscored`.
fn severity(score: &Value) -> Result<Value, Error> {
    match score.kind() {
        ValueKind::None | ValueKind::Undefined => Ok(Value::from("unscored")),
        ValueKind::Number => {
            let n = f64::try_from(score.clone()).map_err(|_| {
                Error::new(ErrorKind::InvalidOperation, "severity needs a score (0–10)")
            })?;
            Ok(Value::from(Severity::from_score(n).as_str()))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("severity needs a score (0–10), not {}", score.kind()),
        )),
    }
}

/// `{{ object.updated_at|ago }}`: `3 hours ago`, counted from when the alert was detected (a
/// formatter reads no clock, so a preview and the message sent say the same).
fn ago(timestamp: &Value) -> Result<Value, Error> {
    if timestamp.is_none() || timestamp.is_undefined() {
        return Ok(Value::from("never"));
    }
    let Some(s) = timestamp.as_str() else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("ago needs a timestamp, not {}", timestamp.kind()),
        ));
    };
    let at = parse_time(s).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("ago needs a timestamp such as 2018-10-01T12:00:00Z, not `{s}`"),
        )
    })?;
    let now = scope::reference_time().unwrap_or(at);
    Ok(Value::from(describe_interval(now - at)))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // ThreatQ's own form, UTC without a zone (PRODUCT.md §6.1)
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// `just now`, `5 minutes ago`, `1 hour ago`, `3 days ago`, `in 2 hours`.
pub(crate) fn describe_interval(delta: chrono::TimeDelta) -> String {
    let seconds = delta.num_seconds();
    let (future, seconds) = (seconds < 0, seconds.unsigned_abs());
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        86_400..2_592_000 => (seconds / 86_400, "day"),
        2_592_000..31_536_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// A value that should land as JSON: `{{ object.tags|tojson }}`. Outside a JSON string of a
/// `blocks` or `json` template it becomes that JSON; inside a string, and in mrkdwn, its JSON
/// text, escaped for where it lands like any value (minijinja's own `tojson` would mark the
/// text safe and skip that).
#[derive(Debug)]
pub(crate) struct AsJson(pub Value);

impl Object for AsJson {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_string(&self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(std::fmt::Error),
        }
    }
}

fn tojson(value: Value) -> Value {
    Value::from_object(AsJson(value))
}

/// `|safe` would let a value from ThreatQ through unescaped, where it could mention
/// `@channel` or fake a link. It is refused, with the way to do what was meant.
fn safe(_value: Value) -> Result<Value, Error> {
    Err(Error::new(
        ErrorKind::InvalidOperation,
        "`safe` is not available: values are always escaped where they land (PRODUCT.md §7.2); \
         write Slack markup such as <!here> or <url|label> in the template text itself",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn intervals_read_as_people_say_them() {
        assert_eq!(describe_interval(TimeDelta::seconds(5)), "just now");
        assert_eq!(describe_interval(TimeDelta::minutes(1)), "1 minute ago");
        assert_eq!(describe_interval(TimeDelta::hours(3)), "3 hours ago");
        assert_eq!(describe_interval(TimeDelta::days(2)), "2 days ago");
        assert_eq!(describe_interval(TimeDelta::days(400)), "1 year ago");
        assert_eq!(describe_interval(TimeDelta::hours(-2)), "in 2 hours");
    }

    #[test]
    fn encoded_values_hold_no_dot_no_pipe_and_no_angle() {
        let encoded = url_component("http://aax.me/0b152?a=1|b<c>");
        assert_eq!(encoded, "http%3A%2F%2Faax%2Eme%2F0b152%3Fa%3D1%7Cb%3Cc%3E");
    }

    #[test]
    fn both_timestamp_forms_parse() {
        assert!(parse_time("2018-10-01T12:00:00Z").is_some());
        assert!(parse_time("2018-10-01 12:00:00").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
