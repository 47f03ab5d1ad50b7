//! Template errors as an operator can act on them: the template's name, the line and column in
//! the template, what is wrong and, for a misspelt name, what was meant
//! (`object.sourse` → "did you mean `sources`?"). Names are checked when a template compiles,
//! so `check` and the console's editor catch them before anything is sent.

use std::collections::HashSet;

use minijinja::{Environment, ErrorKind};

use super::context::{ALERT_FIELDS, DIGEST_FIELDS, OBJECT_FIELDS, VARIABLES};
use super::scope::Miss;
use crate::config::load::did_you_mean;
use crate::formatter::FormatError;

/// Names a template may use without defining them, besides its variables: minijinja's own
/// inside loops and macros.
const IMPLICIT: &[&str] = &["loop", "self", "caller", "varargs", "kwargs", "super"];

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn at(template: &str, source: &str, offset: usize, message: String) -> FormatError {
    let (line, column) = line_column(source, offset);
    FormatError::Template {
        template: template.to_owned(),
        line,
        column: Some(column),
        message,
    }
}

/// A syntax error (or any error minijinja reports while compiling).
pub(crate) fn compile_error(template: &str, source: &str, e: &minijinja::Error) -> FormatError {
    let message = describe(e);
    match e.range() {
        Some(range) => at(template, source, range.start, message),
        None => FormatError::Template {
            template: template.to_owned(),
            line: e.line().unwrap_or(1),
            column: None,
            message,
        },
    }
}

/// `syntax error: unexpected end of input, expected end of variable block`
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// The fields of a name's owner, when the template's variables say what it is.
fn fields_of(path: &[&str]) -> Option<(&'static str, &'static [&'static str])> {
    match path {
        ["object"] | ["alert", "object"] => Some(("object", OBJECT_FIELDS)),
        ["alert"] => Some(("alert", ALERT_FIELDS)),
        ["digest"] => Some(("digest", DIGEST_FIELDS)),
        _ => None,
    }
}

/// `` `object` has no field `sourse` — did you mean `sources`? ``
fn unknown_field(owner: &str, field: &str, known: &[&str]) -> String {
    match did_you_mean(field, known.iter().copied()) {
        Some(meant) => format!("`{owner}` has no field `{field}` — did you mean `{meant}`?"),
        None => format!(
            "`{owner}` has no field `{field}`; its fields are {}",
            known
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn unknown_variable(name: &str, globals: &HashSet<String>) -> String {
    let candidates = VARIABLES
        .iter()
        .copied()
        .chain(globals.iter().map(String::as_str));
    match did_you_mean(name, candidates) {
        Some(meant) => format!("`{name}` is not defined — did you mean `{meant}`?"),
        None => format!(
            "`{name}` is not defined; the variables are {}",
            VARIABLES
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Check every name the template reads from its variables: unknown variables, and unknown
/// fields of `object`, `alert`, `alert.object` and `digest`. The first problem in the source
/// is the error.
pub(crate) fn check_names(
    template: &str,
    source: &str,
    env: &Environment<'static>,
) -> Result<(), FormatError> {
    let Ok(tmpl) = env.get_template(template) else {
        return Ok(());
    };
    let globals: HashSet<String> = env.globals().map(|(name, _)| name.to_owned()).collect();
    let mut problems: Vec<(usize, String)> = Vec::new();
    for path in tmpl.undeclared_variables(true) {
        let segments: Vec<&str> = path.split('.').collect();
        let root = segments[0];
        if !VARIABLES.contains(&root) && !globals.contains(root) && !IMPLICIT.contains(&root) {
            let offset = find_name(source, &[root]).unwrap_or(0);
            problems.push((offset, unknown_variable(root, &globals)));
            continue;
        }
        for depth in 1..segments.len() {
            let Some((owner, known)) = fields_of(&segments[..depth]) else {
                break;
            };
            let field = segments[depth];
            if !known.contains(&field) {
                let offset = find_name(source, &segments[..=depth]).unwrap_or(0);
                problems.push((offset, unknown_field(owner, field, known)));
                break;
            }
        }
    }
    problems.extend(unknown_filters(source));
    problems.sort();
    match problems.into_iter().next() {
        Some((offset, message)) => Err(at(template, source, offset, message)),
        None => Ok(()),
    }
}

/// The filters a template can use: ours, then minijinja's built-ins.
const FILTERS: &[&str] = &[
    "defang",
    "truncate",
    "url",
    "severity",
    "ago",
    "tojson",
    "safe",
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "trim",
    "unique",
    "upper",
    "urlencode",
];

/// Filters used in the template (`| name` inside a tag, outside string literals) that do not
/// exist, found when the template compiles (minijinja would only say so while rendering).
fn unknown_filters(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (offset, _) in source.match_indices('|') {
        if !inside_tag(source, offset) || inside_string(source, offset) {
            continue;
        }
        let rest = &source[offset + 1..];
        let trimmed = rest.trim_start();
        let name: String = trimmed
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || FILTERS.contains(&name.as_str()) {
            continue;
        }
        let at = offset + 1 + (rest.len() - trimmed.len());
        let message = match did_you_mean(&name, FILTERS.iter().copied()) {
            Some(meant) => format!("unknown filter `{name}` — did you mean `{meant}`?"),
            None => format!(
                "unknown filter `{name}` (filters: defang, truncate, url, severity, ago, and minijinja's own)"
            ),
        };
        out.push((at, message));
    }
    out
}

/// Whether `offset` (inside a tag) lies inside a quoted string of that tag.
fn inside_string(source: &str, offset: usize) -> bool {
    let before = &source[..offset];
    let start = before.rfind("{{").max(before.rfind("{%")).unwrap_or(0);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source[start..offset].chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    quote.is_some()
}

/// An error while rendering: for an undefined name, what was meant and where.
pub(crate) fn render_error(
    template: &str,
    source: &str,
    e: &minijinja::Error,
    misses: &[Miss],
    globals: &HashSet<String>,
    digest: bool,
) -> FormatError {
    if e.kind() == ErrorKind::UndefinedError
        && let Some(path) = e
            .detail()
            .and_then(|d| d.strip_prefix('`'))
            .and_then(|d| d.strip_suffix("` is undefined"))
    {
        let segments: Vec<&str> = path.split('.').collect();
        let last = segments.last().copied().unwrap_or(path);
        let message = if segments.len() == 1 {
            if digest && matches!(last, "object" | "alert" | "changes") {
                format!(
                    "`{last}` is not defined for a digest: loop over `alerts` \
                     ({{% for alert in alerts %}}…{{% endfor %}})"
                )
            } else {
                unknown_variable(last, globals)
            }
        } else if let Some(miss) = misses.iter().rev().find(|m| m.field == last) {
            unknown_field(miss.owner, &miss.field, miss.known)
        } else {
            format!("`{path}` is undefined")
        };
        let near = e.range().map_or(0, |r| r.end);
        let offset = find_name_near(source, &segments, near)
            .or_else(|| e.range().map(|r| r.start))
            .unwrap_or(0);
        return at(template, source, offset, message);
    }
    let message = describe(e);
    match e.range() {
        Some(range) => at(template, source, range.start, message),
        None => FormatError::Template {
            template: template.to_owned(),
            line: e.line().unwrap_or(1),
            column: None,
            message,
        },
    }
}

/// Where a dotted name (`object.sourse`) is written inside a tag, pointing at its last part.
fn find_name(source: &str, segments: &[&str]) -> Option<usize> {
    occurrences(source, segments).next()
}

/// Like [`find_name`], the occurrence that starts last before `near` (the end of the error's
/// span), else the first.
fn find_name_near(source: &str, segments: &[&str], near: usize) -> Option<usize> {
    let all: Vec<usize> = occurrences(source, segments).collect();
    all.iter()
        .rev()
        .find(|&&at| at <= near)
        .or(all.first())
        .copied()
}

/// Offsets of the last segment of each occurrence of `a.b.c` (spaces allowed around dots) that
/// stands as a whole name inside `{{ }}` or `{% %}`.
fn occurrences<'s>(source: &'s str, segments: &'s [&'s str]) -> impl Iterator<Item = usize> + 's {
    let first = segments.first().copied().unwrap_or_default();
    source.match_indices(first).filter_map(move |(start, _)| {
        let before = source[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return None;
        }
        let mut at = start + first.len();
        let mut last_start = start;
        for segment in &segments[1..] {
            let rest = &source[at..];
            let trimmed = rest.trim_start();
            let dot = trimmed.strip_prefix('.')?;
            let name = dot.trim_start();
            if !name.starts_with(segment) {
                return None;
            }
            last_start = at + (rest.len() - name.len());
            at = last_start + segment.len();
        }
        let after = source[at..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        inside_tag(source, start).then_some(last_start)
    })
}

/// Whether `offset` lies inside a `{{ … }}` or `{% … %}` tag.
fn inside_tag(source: &str, offset: usize) -> bool {
    let before = &source[..offset];
    let open = before.rfind("{{").max(before.rfind("{%"));
    let close = before.rfind("}}").max(before.rfind("%}"));
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formatters::template::context::{ATTRIBUTE_FIELDS, RELATION_FIELDS};

    #[test]
    fn a_dotted_name_is_found_inside_tags_only() {
        let source = "object.sourse is {{ object . sourse }}";
        assert_eq!(find_name(source, &["object", "sourse"]), Some(29));
        assert_eq!(line_column(source, 29), (1, 30));
    }

    #[test]
    fn a_misspelt_filter_is_found_at_compile_time_with_a_suggestion() {
        let found = unknown_filters("score {{ object.score | sevrity }} {{ \"a|b\" }} | plain");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("did you mean `severity`"), "{found:?}");
        assert!(unknown_filters("{{ object.tags | join(\", \") | upper }}").is_empty());
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("ä\n日本{{ x }}", 9), (2, 3));
    }

    #[test]
    fn the_attribute_and_relation_lists_are_named_for_suggestions() {
        assert_eq!(
            unknown_field("attribute", "nmae", ATTRIBUTE_FIELDS),
            "`attribute` has no field `nmae` — did you mean `name`?"
        );
        assert!(unknown_field("relation", "zzz", RELATION_FIELDS).contains("`kind`, `id`"));
    }
}
