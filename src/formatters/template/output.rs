//! Escaping values for where they land. While a template renders, every value it prints is
//! kept aside and a mark stands in the output; template text is written as it is. Once the
//! output is complete the marks are replaced, each value escaped for its place: in mrkdwn
//! (escaped, defanged, unable to close a code span or end a link's URL), in a `plain_text`
//! field, in a URL, or as a JSON value of a `json` body (raw). Values that would break a Slack
//! limit are cut (with `…`) before the template's own text is.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, Output, State};
use serde_json::Value as Json;

use super::context::{MARK_CLOSE, MARK_OPEN, MARK_WHOLE, is_mark};
use super::filters::{AsJson, UrlEncoded, url_component};
use super::scope::push_value;
use crate::alert::{Alert, ObjectKind};
use crate::formatters::slack_blocks::fit;
use crate::formatters::untrusted::{defang_links, prose};
use crate::slack::limits::length;
use crate::slack::mrkdwn::{self, BACKTICK_STAND_IN, LINE_BREAK_STAND_IN};
use crate::text::defang;

/// The formatter of every template environment: a value marked safe (captured template output,
/// the `url` filter) is written as it is; any other value is kept and marked.
pub(crate) fn mark_value(out: &mut Output, _: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_safe() {
        return out
            .write_str(value.as_str().unwrap_or_default())
            .map_err(Error::from);
    }
    let index = push_value(value.clone()).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "a template value was printed outside a render",
        )
    })?;
    write!(out, "{MARK_OPEN}{index}{MARK_CLOSE}").map_err(Error::from)
}

/// What the data says about its values: indicator values are defanged whole wherever they
/// appear, and the objects' ThreatQ links are the links that stay live.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    indicators: Vec<String>,
    links: Vec<String>,
}

impl Facts {
    pub fn of<'a>(alerts: impl IntoIterator<Item = &'a Alert>) -> Facts {
        let mut facts = Facts::default();
        for alert in alerts {
            let o = &alert.object;
            // very short values (`1`, `ab`) would defang unrelated text
            if o.kind == ObjectKind::Indicator && o.value.chars().count() >= 4 {
                facts.indicators.push(o.value.replace(is_mark, "\u{FFFD}"));
            }
            if let Some(url) = &o.url {
                facts.links.push(url.replace(is_mark, "\u{FFFD}"));
            }
        }
        facts
    }

    fn is_link(&self, s: &str) -> bool {
        self.links.iter().any(|l| l == s)
    }

    /// Indicator values defanged whole, then anything else linkable.
    fn defang(&self, s: &str) -> String {
        let mut owned: Option<String> = None;
        for indicator in &self.indicators {
            let current = owned.as_deref().unwrap_or(s);
            if current.contains(indicator.as_str()) {
                owned = Some(current.replace(indicator.as_str(), &defang(indicator)));
            }
        }
        let current = owned.as_deref().unwrap_or(s);
        defang_links(current).into_owned()
    }
}

/// Where a value lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Slack mrkdwn (a message's text, a `mrkdwn` text object).
    Mrkdwn,
    /// Shown as written (`plain_text`, `alt_text`, ids).
    Plain,
    /// A URL field (a button's `url`).
    Url,
    /// A `json` body: the raw value.
    Raw,
    /// A value the template encoded with `|url`: percent-encoded wherever it lands.
    Encoded,
}

/// Where in mrkdwn a value lands, from the template text before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Text,
    Code,
    Pre,
    LinkTarget,
    LinkLabel,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tracker {
    code: bool,
    pre: bool,
    /// Inside `<…>`: `false` before the `|`, `true` after it.
    link: Option<bool>,
}

impl Tracker {
    fn advance(&mut self, literal: &str) {
        let mut rest = literal;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("```") {
                if !self.code {
                    self.pre = !self.pre;
                }
                rest = &rest[3..];
                continue;
            }
            match c {
                '`' if !self.pre => self.code = !self.code,
                '\n' => {
                    self.code = false;
                    self.link = None;
                }
                '<' => self.link = Some(false),
                '|' if self.link == Some(false) => self.link = Some(true),
                '>' => self.link = None,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
        }
    }

    fn place(&self) -> Place {
        match self.link {
            Some(false) => Place::LinkTarget,
            Some(true) => Place::LinkLabel,
            None if self.pre => Place::Pre,
            None if self.code => Place::Code,
            None => Place::Text,
        }
    }
}

/// A piece of rendered text: template text, or a value to escape at its place.
#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    Value {
        raw: String,
        role: Role,
        place: Place,
    },
}

/// The values one render printed, and what to escape them with.
pub(crate) struct Resolver<'a> {
    pub values: &'a [Value],
    pub facts: &'a Facts,
}

/// Why the rendered output cannot become a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputError {
    /// The template's own text is longer than the limit, whatever is cut from the values.
    TooLong {
        limit: usize,
        length: usize,
        what: String,
    },
    /// The output of a `blocks` or `json` template is not JSON.
    NotJson {
        message: String,
        line: usize,
        column: usize,
        /// Byte offset in the rendered output (with marks), to find the template line.
        offset: usize,
        snippet: String,
    },
}

impl Resolver<'_> {
    /// A value as text: strings as they are, `none` as nothing, lists joined with `, `.
    fn stringify(&self, value: &Value, below: usize) -> String {
        if let Some(json) = value.downcast_object_ref::<AsJson>() {
            return serde_json::to_string(&json.0).unwrap_or_default();
        }
        match value.kind() {
            ValueKind::None | ValueKind::Undefined => String::new(),
            ValueKind::String => self.unmark(value.as_str().unwrap_or_default(), below),
            ValueKind::Seq | ValueKind::Iterable => match value.try_iter() {
                Ok(items) => items
                    .map(|v| self.stringify(&v, below))
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => value.to_string(),
            },
            ValueKind::Map => match value.try_iter() {
                Ok(keys) => keys
                    .map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        format!(
                            "{}: {}",
                            self.stringify(&k, below),
                            self.stringify(&v, below)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => value.to_string(),
            },
            _ => value.to_string(),
        }
    }

    /// Text a filter made from captured template output may still hold marks: each becomes the
    /// raw value it stood for (only earlier values, so nothing refers to itself).
    fn unmark(&self, s: &str, below: usize) -> String {
        if !s.contains(is_mark) {
            return s.to_owned();
        }
        let mut out = String::with_capacity(s.len());
        for part in split_marks(s) {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Mark(i) if i < below => {
                    let raw = self.stringify(&self.values[i], i);
                    out.push_str(&raw);
                }
                Part::Mark(_) => {}
            }
        }
        out
    }

    /// A value escaped for `role` at `place`.
    fn escape(&self, raw: &str, role: Role, place: Place) -> String {
        match role {
            Role::Encoded => url_component(raw),
            Role::Raw => raw.to_owned(),
            Role::Url if self.facts.is_link(raw) => raw.to_owned(),
            Role::Url => url_component(raw),
            Role::Plain if self.facts.is_link(raw) => raw.to_owned(),
            Role::Plain => prose(&self.facts.defang(raw)),
            Role::Mrkdwn => self.escape_mrkdwn(raw, place),
        }
    }

    fn escape_mrkdwn(&self, raw: &str, place: Place) -> String {
        if self.facts.is_link(raw) {
            let escaped = mrkdwn::escape(raw);
            return match place {
                Place::LinkTarget => escaped.replace('|', "%7C"),
                _ => escaped.into_owned(),
            };
        }
        if place == Place::LinkTarget {
            return url_component(raw);
        }
        let clean = prose(&self.facts.defang(raw));
        let mut inner = String::with_capacity(clean.len());
        for c in clean.chars() {
            match c {
                '`' => inner.push(BACKTICK_STAND_IN),
                '\n' if matches!(place, Place::Code | Place::LinkLabel) => {
                    inner.push(LINE_BREAK_STAND_IN)
                }
                c => inner.push(c),
            }
        }
        if inner.is_empty() && place == Place::Code {
            // two backticks with nothing between would show as they are
            inner.push(' ');
        }
        mrkdwn::escape(&inner).into_owned()
    }

    /// A string with marks, cut into template text and values, each value knowing its place.
    fn pieces(&self, s: &str, role: Role) -> Vec<Piece> {
        let mut tracker = Tracker::default();
        let mut pieces = Vec::new();
        for part in split_marks(s) {
            match part {
                Part::Text(t) => {
                    if role == Role::Mrkdwn {
                        tracker.advance(t);
                    }
                    pieces.push(Piece::Literal(t.to_owned()));
                }
                Part::Mark(i) => {
                    let Some(value) = self.values.get(i) else {
                        continue;
                    };
                    let (raw, role) = match value.downcast_object_ref::<UrlEncoded>() {
                        Some(encoded) => (encoded.0.clone(), Role::Encoded),
                        None => (self.stringify(value, i), role),
                    };
                    pieces.push(Piece::Value {
                        raw,
                        role,
                        place: tracker.place(),
                    });
                }
            }
        }
        pieces
    }

    /// A string with marks, every value escaped for `role`, cut to `limit` code points by
    /// cutting the longest values first.
    pub fn resolve(
        &self,
        s: &str,
        role: Role,
        limit: Option<usize>,
        what: &str,
    ) -> Result<String, OutputError> {
        if !s.contains(is_mark) {
            return match limit {
                Some(limit) if length(s) > limit => Err(OutputError::TooLong {
                    limit,
                    length: length(s),
                    what: what.to_owned(),
                }),
                _ => Ok(s.to_owned()),
            };
        }
        let pieces = self.pieces(s, role);
        let mut shown: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(t) => t.clone(),
                Piece::Value { raw, role, place } => self.escape(raw, *role, *place),
            })
            .collect();
        if let Some(limit) = limit {
            let mut total: usize = shown.iter().map(|s| length(s)).sum();
            // values already cut as far as they go
            let mut done = vec![false; pieces.len()];
            while total > limit {
                let longest = pieces
                    .iter()
                    .enumerate()
                    .filter(|(i, p)| matches!(p, Piece::Value { .. }) && !done[*i])
                    .max_by_key(|(i, _)| length(&shown[*i]))
                    .map(|(i, _)| i);
                let Some(i) = longest else {
                    return Err(OutputError::TooLong {
                        limit,
                        length: total,
                        what: what.to_owned(),
                    });
                };
                let Piece::Value { raw, role, place } = &pieces[i] else {
                    unreachable!("only values are picked")
                };
                let current = length(&shown[i]);
                let target = current.saturating_sub(total - limit).max(1);
                let cut = fit(raw, target, |v| self.escape(v, *role, *place));
                done[i] = length(&cut) <= 1 || length(&cut) >= current;
                total = total - current + length(&cut);
                shown[i] = cut;
            }
        }
        Ok(shown.concat())
    }

    /// A value that lands outside any JSON string: as the JSON it is, its strings escaped for
    /// `role`.
    fn to_json(&self, value: &Value, index: usize, role: Role) -> Json {
        if let Some(encoded) = value.downcast_object_ref::<UrlEncoded>() {
            return Json::String(url_component(&encoded.0));
        }
        let inner = match value.downcast_object_ref::<AsJson>() {
            Some(json) => &json.0,
            None => value,
        };
        match inner.kind() {
            ValueKind::None | ValueKind::Undefined => Json::Null,
            ValueKind::String => {
                let raw = self.unmark(inner.as_str().unwrap_or_default(), index);
                Json::String(self.escape(&raw, role, Place::Text))
            }
            _ => {
                let mut json = serde_json::to_value(inner).unwrap_or(Json::Null);
                map_strings(&mut json, &mut |s| {
                    let raw = self.unmark(s, index);
                    self.escape(&raw, role, Place::Text)
                });
                json
            }
        }
    }

    /// The output of a `blocks` or `json` template as JSON, with values that landed outside
    /// strings already in place and values inside strings still marked.
    pub fn parse_json(&self, rendered: &str) -> Result<Json, OutputError> {
        let (text, shifts) = quote_whole_marks(rendered);
        serde_json::from_str(&text).map_err(|e| {
            let offset = offset_of(&text, e.line(), e.column());
            let raw_offset = offset - 2 * shifts.iter().filter(|&&at| at < offset).count();
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            OutputError::NotJson {
                message,
                line: e.line(),
                column: e.column(),
                offset: raw_offset.min(rendered.len()),
                snippet: snippet(&text, offset),
            }
        })
    }

    /// Replace a whole-value mark (a string that is exactly one) with its JSON, escaped for
    /// `role`; `None` when `s` is not one.
    pub fn whole_value(&self, s: &str, role: Role) -> Option<Json> {
        let inner = s.strip_prefix(MARK_WHOLE)?.strip_suffix(MARK_CLOSE)?;
        let index: usize = inner.parse().ok()?;
        let value = self.values.get(index)?;
        Some(self.to_json(value, index, role))
    }
}

fn map_strings(json: &mut Json, f: &mut impl FnMut(&str) -> String) {
    match json {
        Json::String(s) => *s = f(s),
        Json::Array(items) => items.iter_mut().for_each(|v| map_strings(v, f)),
        Json::Object(map) => map.values_mut().for_each(|v| map_strings(v, f)),
        _ => {}
    }
}

enum Part<'s> {
    Text(&'s str),
    /// A mark's value index.
    Mark(usize),
}

/// Template text and `MARK_OPEN index MARK_CLOSE` marks, in order. A broken mark (cut by a
/// filter) is dropped.
fn split_marks(s: &str) -> impl Iterator<Item = Part<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(is_mark) {
            Some(0) => {
                let open = rest.chars().next().unwrap_or(MARK_OPEN);
                let after = &rest[open.len_utf8()..];
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                let whole = open.len_utf8() + digits + MARK_CLOSE.len_utf8();
                if open == MARK_OPEN
                    && digits > 0
                    && after[digits..].starts_with(MARK_CLOSE)
                    && let Ok(index) = after[..digits].parse()
                {
                    rest = &rest[whole..];
                    return Some(Part::Mark(index));
                }
                // a stray mark character: drop it
                rest = &rest[open.len_utf8()..];
                Some(Part::Text(""))
            }
            Some(at) => {
                let (text, tail) = rest.split_at(at);
                rest = tail;
                Some(Part::Text(text))
            }
            None => {
                let text = rest;
                rest = "";
                Some(Part::Text(text))
            }
        }
    })
}

/// Marks outside JSON strings become strings holding a whole-value mark, so the output parses;
/// returns the text and the offsets (in it) where two quote bytes were added.
fn quote_whole_marks(rendered: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(rendered.len() + 16);
    let mut shifts = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = rendered;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if c == MARK_OPEN
            && let Some(end) = rest.find(MARK_CLOSE)
            && rest[MARK_OPEN.len_utf8()..end]
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            shifts.push(out.len());
            out.push('"');
            out.push(MARK_WHOLE);
            out.push_str(&rest[MARK_OPEN.len_utf8()..end]);
            out.push(MARK_CLOSE);
            out.push('"');
            rest = &rest[end + MARK_CLOSE.len_utf8()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, shifts)
}

/// The byte offset of serde_json's 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A short piece of the output around `offset`, on one line, marks shown as `{{…}}`.
fn snippet(text: &str, offset: usize) -> String {
    let mut from = offset.saturating_sub(40);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (offset + 40).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let mut out = String::new();
    for part in split_marks(&text[from..to].replace(MARK_WHOLE, &MARK_OPEN.to_string())) {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Mark(_) => out.push_str("{{…}}"),
        }
    }
    crate::formatters::untrusted::one_line(out.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver_with<'a>(values: &'a [Value], facts: &'a Facts) -> Resolver<'a> {
        Resolver { values, facts }
    }

    #[test]
    fn the_place_of_a_value_follows_the_template_text_before_it() {
        let mut t = Tracker::default();
        t.advance("score `");
        assert_eq!(t.place(), Place::Code);
        t.advance("` and <https://x/?q=");
        assert_eq!(t.place(), Place::LinkTarget);
        t.advance("|");
        assert_eq!(t.place(), Place::LinkLabel);
        t.advance(">\n```");
        assert_eq!(t.place(), Place::Pre);
        t.advance("```");
        assert_eq!(t.place(), Place::Text);
    }

    #[test]
    fn a_value_in_a_code_span_cannot_close_it_or_break_its_line() {
        let values = [Value::from("a`b\nc <!here>")];
        let facts = Facts::default();
        let r = resolver_with(&values, &facts);
        let out = r
            .resolve("`\u{E000}0\u{E001}`", Role::Mrkdwn, None, "text")
            .unwrap();
        assert_eq!(out, "`aˋb↵c &lt;!here&gt;`");
    }

    #[test]
    fn values_are_cut_before_template_text_is() {
        let values = [Value::from("x".repeat(5000))];
        let facts = Facts::default();
        let r = resolver_with(&values, &facts);
        let out = r
            .resolve(
                "<!here> \u{E000}0\u{E001} end",
                Role::Mrkdwn,
                Some(100),
                "text",
            )
            .unwrap();
        assert!(out.starts_with("<!here> x"));
        assert!(out.ends_with("… end"));
        assert_eq!(length(&out), 100);
    }

    #[test]
    fn template_text_over_the_limit_is_an_error_not_a_cut() {
        let facts = Facts::default();
        let r = resolver_with(&[], &facts);
        let long = "y".repeat(200);
        assert!(matches!(
            r.resolve(&long, Role::Mrkdwn, Some(150), "header"),
            Err(OutputError::TooLong { limit: 150, .. })
        ));
    }

    #[test]
    fn marks_outside_strings_parse_as_whole_values() {
        let values = [Value::from(vec!["a\"b", "c"]), Value::from(6.5)];
        let facts = Facts::default();
        let r = resolver_with(&values, &facts);
        let json = r
            .parse_json("{\"tags\": \u{E000}0\u{E001}, \"s\": \u{E000}1\u{E001}}")
            .unwrap();
        let tags = json["tags"].as_str().unwrap();
        assert_eq!(
            r.whole_value(tags, Role::Raw),
            Some(serde_json::json!(["a\"b", "c"]))
        );
    }

    #[test]
    fn broken_json_says_where_in_the_output() {
        let facts = Facts::default();
        let r = resolver_with(&[], &facts);
        let err = r.parse_json("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        let OutputError::NotJson { line, snippet, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(line, 3);
        assert!(snippet.contains("\"b\" 2"), "{snippet}");
    }
}
