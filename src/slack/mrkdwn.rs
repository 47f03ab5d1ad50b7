//! Slack's mrkdwn, both ways. Writing: helpers that place untrusted values into mrkdwn safely
//! (escape once, code spans a backtick cannot close, URL components, HTML descriptions as
//! text). Reading: a parser into styled runs by Slack's rules, which the terminal renderer draws.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::text::defang;

// ---------------------------------------------------------------------------------------------
// Writing values into mrkdwn
// ---------------------------------------------------------------------------------------------

/// Escape the three characters Slack treats as control characters: `&` → `&amp;` (first, so
/// nothing is escaped twice within one call), `<` → `&lt;`, `>` → `&gt;`. A value passes here
/// exactly once on its way into a payload: `R&D` arrives as `R&amp;D`. After this, a value can
/// neither mention (`<!here>`, `<@U…>`), link (`<url|label>`) nor be read as an entity.
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value.contains(['&', '<', '>']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The inverse of [`escape`]: decode `&amp;`, `&lt;` and `&gt;`, and no other entity (Slack
/// decodes only these three, so `&quot;` is shown as written).
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (decoded, len) = if rest.starts_with("&amp;") {
            ('&', 5)
        } else if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &rest[len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Stands in for a backtick inside a code span. Slack has no escape for a backtick within
/// inline code: the first backtick followed by a word boundary ends the span, and the rest of
/// the value would be parsed as mrkdwn. U+02CB MODIFIER LETTER GRAVE ACCENT looks the same to a
/// reader and is no marker.
pub const BACKTICK_STAND_IN: char = '\u{02CB}';

/// Stands in for a line break inside a code span: inline code cannot span lines, and a value
/// that broke the line could start a quote (`&gt;`) or a code block on the next one.
pub const LINE_BREAK_STAND_IN: char = '\u{21B5}';

/// `value` as an inline code span: escaped once, backticks replaced by
/// [`BACKTICK_STAND_IN`], line breaks by [`LINE_BREAK_STAND_IN`], so nothing in it can close the
/// span, start a block or mention anyone. An empty value becomes a one-space span (Slack shows
/// two bare backticks otherwise). Put a space or punctuation on both sides of the span.
pub fn code_span(value: &str) -> String {
    let mut inner = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => inner.push(BACKTICK_STAND_IN),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                inner.push(LINE_BREAK_STAND_IN);
            }
            '\n' => inner.push(LINE_BREAK_STAND_IN),
            _ => inner.push(c),
        }
    }
    if inner.is_empty() {
        inner.push(' ');
    }
    format!("`{}`", escape(&inner))
}

/// An indicator value as Slack should show it (PRODUCT.md §7.3): defanged, in a code span.
pub fn indicator_span(value: &str) -> String {
    code_span(&defang(value))
}

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`).
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode `value` for one URL component (a path segment or a query value): `|`, `<`,
/// `>`, `&`, `#`, `/`, `?`, spaces and every non-ASCII byte are encoded, so the value can end
/// neither the component nor a `<url|label>` link.
pub fn url_encode(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, URL_COMPONENT).into()
}

/// A `<url|label>` link whose label is a value: the label is escaped, and the URL cannot end the
/// link early (`|` is encoded, `&` `<` `>` are escaped as Slack expects inside links).
pub fn link(url: &str, label: &str) -> String {
    let url = escape(url).replace('|', "%7C");
    let label = escape(label);
    if label.trim().is_empty() {
        format!("<{url}>")
    } else {
        format!("<{url}|{label}>")
    }
}

/// A ThreatQ HTML description as plain text: tags dropped (with `<script>` and `<style>`
/// contents), entities decoded, whitespace collapsed as a browser would, `<br>` a line break,
/// paragraphs and headings separated by a blank line, list items as `• ` lines. The result is
/// raw text: escape it before it goes into mrkdwn.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after_lt) = rest.strip_prefix('<')
            && let Some(tag) = read_tag(after_lt)
        {
            rest = &after_lt[tag.len..];
            match tag.name.as_str() {
                "br" => push_break(&mut out, 1),
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "pre"
                | "table" | "ul" | "ol" => push_break(&mut out, 2),
                "li" if !tag.closing => {
                    push_break(&mut out, 1);
                    out.push_str("• ");
                }
                "tr" => push_break(&mut out, 1),
                "td" | "th" if !tag.closing => push_space(&mut out),
                "script" | "style" if !tag.closing => {
                    let close = format!("</{}", tag.name);
                    let end = find_ascii_ci(rest, &close).unwrap_or(rest.len());
                    rest = &rest[end..];
                }
                _ => {}
            }
            continue;
        }
        // text up to the next `<`, starting after the first character (which may be wider
        // than a byte: a description can begin in Arabic)
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('<').map_or(rest.len(), |i| i + first);
        let chunk = &rest[..next];
        rest = &rest[next..];
        for c in decode_html_entities(chunk).chars() {
            if c.is_whitespace() && c != '\u{a0}' {
                push_space(&mut out);
            } else if c == '\u{a0}' {
                out.push(' ');
            } else if !c.is_control() {
                out.push(c);
            }
        }
    }
    let lines: Vec<&str> = out.split('\n').map(str::trim).collect();
    let mut text = String::with_capacity(out.len());
    let mut blank_run = 0;
    for line in lines {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        text.push_str(line);
    }
    text
}

struct Tag {
    name: String,
    closing: bool,
    /// Bytes after the `<`, up to and including the `>`.
    len: usize,
}

/// A tag at the start of `s` (just after `<`): `p`, `/p`, `br/`, `a href="…"`, `!-- … --`.
fn read_tag(s: &str) -> Option<Tag> {
    if let Some(comment) = s.strip_prefix("!--") {
        let end = comment.find("-->")?;
        return Some(Tag {
            name: String::new(),
            closing: true,
            len: 3 + end + 3,
        });
    }
    let (closing, body) = match s.strip_prefix('/') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let first = body.chars().next()?;
    if !first.is_ascii_alphabetic() && first != '!' {
        return None;
    }
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => {
                let name: String = body
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                return Some(Tag {
                    name,
                    closing,
                    len: i + 1,
                });
            }
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..h.len().checked_sub(n.len())? + 1).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn push_space(out: &mut String) {
    if !out.is_empty() && !out.ends_with([' ', '\n']) {
        out.push(' ');
    }
}

fn push_break(out: &mut String, lines: usize) {
    while out.ends_with(' ') {
        out.pop();
    }
    if out.is_empty() {
        return;
    }
    let have = out.chars().rev().take_while(|&c| c == '\n').count();
    for _ in have..lines {
        out.push('\n');
    }
}

/// Decode the HTML entities a ThreatQ description holds: the common named ones and numeric
/// ones (`&#8217;`, `&#x2019;`). Unknown names are kept as written.
fn decode_html_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| {
                let entity = &rest[1..1 + end];
                let c = match entity {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "ndash" => Some('–'),
                    "mdash" => Some('—'),
                    "hellip" => Some('…'),
                    "lsquo" => Some('‘'),
                    "rsquo" => Some('’'),
                    "ldquo" => Some('“'),
                    "rdquo" => Some('”'),
                    "bull" => Some('•'),
                    "copy" => Some('©'),
                    "reg" => Some('®'),
                    _ => {
                        let code = if let Some(hex) =
                            entity.strip_prefix("#x").or(entity.strip_prefix("#X"))
                        {
                            u32::from_str_radix(hex, 16).ok()
                        } else if let Some(dec) = entity.strip_prefix('#') {
                            dec.parse().ok()
                        } else {
                            None
                        };
                        code.and_then(char::from_u32)
                    }
                };
                c.map(|c| (c, end + 2))
            });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Reading mrkdwn
// ---------------------------------------------------------------------------------------------

/// The styles a run is drawn with. Quote applies to whole lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunStyle {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub quote: bool,
}

/// One piece of a parsed message with its style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub kind: RunKind,
    pub style: RunStyle,
}

/// `@here`, `@channel`, `@everyone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    Here,
    Channel,
    Everyone,
}

impl Broadcast {
    pub fn name(self) -> &'static str {
        match self {
            Broadcast::Here => "here",
            Broadcast::Channel => "channel",
            Broadcast::Everyone => "everyone",
        }
    }
}

/// What a run is. Text is already unescaped (`&amp;` → `&`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    Text(String),
    /// The end of a line; its style says whether the line it ends was quoted.
    Newline,
    /// `` `code` ``
    Code(String),
    /// ```` ```preformatted``` ````, possibly over several lines.
    Pre(String),
    /// `<url>` or `<url|label>` (label runs never empty: the URL when no label was given), or a
    /// bare `http(s)://` URL, which Slack links by itself unless the text is `verbatim`.
    Link {
        url: String,
        label: Vec<Run>,
    },
    /// `<@U123>`; the label is what the sender wrote after `|`, if anything.
    User {
        id: String,
        label: Option<String>,
    },
    /// `<#C123>` or `<#C123|name>`.
    Channel {
        id: String,
        label: Option<String>,
    },
    /// `<!here>`, `<!channel>`, `<!everyone>`.
    Broadcast(Broadcast),
    /// `<!subteam^S123>` or `<!subteam^S123|@team>`.
    Subteam {
        id: String,
        label: Option<String>,
    },
    /// `<!date^1392734382^{date_num} {time_secs}^optional-link|fallback>`. Slack draws the
    /// timestamp in the reader's time zone; a preview has no reader, so the fallback is shown.
    Date {
        timestamp: String,
        format: String,
        link: Option<String>,
        fallback: String,
    },
    /// Any other `<!name>` (Slack's older special commands); the label when given.
    Command {
        name: String,
        label: Option<String>,
    },
    /// `:name:` or `:name::skin-tone-N:`.
    Emoji {
        name: String,
        skin_tone: Option<u8>,
    },
}

/// How to read a text object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Link bare `http(s)://` URLs as Slack does (off for `"verbatim": true` text).
    pub autolink: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { autolink: true }
    }
}

/// Parse mrkdwn as Slack reads it (see [`parse_with`]).
pub fn parse(text: &str) -> Vec<Run> {
    parse_with(text, ParseOptions::default())
}

/// Parse mrkdwn into styled runs by Slack's rules:
/// - `*bold*`, `_italic_`, `~strike~` and `` `code` `` open only at a word boundary (start, space
///   or one of `.,([{!?-=`), close only before one (end, space or one of
///   ``~!#$%^)-+={}[];:'",.?/``), do not span lines, cannot start or end with a space, and a
///   doubled marker (`**`, `__`, `~~`, ` `` `) stays literal;
/// - ```` ``` ```` blocks may span lines; a newline right after the opening and right before the
///   closing fence is dropped;
/// - `>` or `&gt;` at the start of a line quotes that line, `>>>` quotes the rest of the message;
/// - `<…>` is a link, mention, broadcast, user group or date; anything else in angle brackets
///   (no URL scheme) stays literal;
/// - `:name:` is an emoji, `:name::skin-tone-N:` one with a skin tone.
pub fn parse_with(text: &str, options: ParseOptions) -> Vec<Run> {
    let mut parser = Parser {
        text,
        options,
        out: Vec::new(),
        no_pre_from: usize::MAX,
    };
    parser.run();
    parser.out
}

struct Parser<'a> {
    text: &'a str,
    options: ParseOptions,
    out: Vec<Run>,
    /// No code block can open at or after this byte (a search for a closing fence failed, and a
    /// later opening could only use the same closings): keeps hostile input linear.
    no_pre_from: usize,
}

impl Parser<'_> {
    fn run(&mut self) {
        let text = self.text;
        let mut pos = 0;
        let mut quote_rest = false;
        loop {
            let mut quote = quote_rest;
            if !quote_rest {
                let line = &text[pos..];
                if let Some(n) = marker(line, "&gt;&gt;&gt;", ">>>")
                    && pos + n < text.len()
                {
                    quote_rest = true;
                    quote = true;
                    pos += n;
                    if text[pos..].starts_with(' ') || text[pos..].starts_with('\n') {
                        pos += 1;
                    }
                } else if let Some(n) = marker(line, "&gt;", ">") {
                    quote = true;
                    pos += n;
                    if text[pos..].starts_with(' ') {
                        pos += 1;
                    }
                }
            }
            let style = RunStyle {
                quote,
                ..RunStyle::default()
            };
            let end = self.line(pos, style);
            if end >= text.len() {
                break;
            }
            // `end` is a newline
            self.out.push(Run {
                kind: RunKind::Newline,
                style,
            });
            pos = end + 1;
        }
    }

    /// Parse one line from `start` (after any quote marker); returns the byte of the newline
    /// that ends it, or the text's length. A code block that opens on the line may run over
    /// following lines; the line then ends at the first newline after the block.
    fn line(&mut self, start: usize, style: RunStyle) -> usize {
        let text = self.text;
        let mut from = start;
        loop {
            let eol = text[from..].find('\n').map_or(text.len(), |i| from + i);
            match self.find_pre(start, from, eol) {
                Some((open, body, close)) => {
                    inline(&text[from..open], style, self.options, &mut self.out);
                    let mut code = &text[body..close];
                    code = code.strip_prefix('\n').unwrap_or(code);
                    code = code.strip_suffix('\n').unwrap_or(code);
                    self.out.push(Run {
                        kind: RunKind::Pre(unescape(code).into_owned()),
                        style,
                    });
                    from = close + 3;
                }
                None => {
                    inline(&text[from..eol], style, self.options, &mut self.out);
                    return eol;
                }
            }
        }
    }

    /// The first code block opening in `from..eol`: (opening fence, body start, closing fence).
    fn find_pre(
        &mut self,
        line_start: usize,
        from: usize,
        eol: usize,
    ) -> Option<(usize, usize, usize)> {
        let text = self.text;
        let mut search = from;
        while search < eol.min(self.no_pre_from) {
            let open = search + text[search..eol].find("```")?;
            if open >= self.no_pre_from {
                return None;
            }
            search = open + 1;
            let boundary =
                open == line_start || text[..open].chars().next_back().is_some_and(opens_after);
            if !boundary {
                continue;
            }
            let body = open + 3;
            let mut at = body;
            while let Some(i) = text[at..].find("```") {
                let close = at + i;
                let content = &text[body..close];
                let after = &text[close + 3..];
                if !content.trim().is_empty() && after.chars().next().is_none_or(closes_before) {
                    return Some((open, body, close));
                }
                at = close + 1;
            }
            self.no_pre_from = open;
            return None;
        }
        None
    }
}

/// The length of a quote marker at the start of `line`, written escaped or raw.
fn marker(line: &str, escaped: &str, raw: &str) -> Option<usize> {
    if line.starts_with(escaped) {
        Some(escaped.len())
    } else if line.starts_with(raw) {
        Some(raw.len())
    } else {
        None
    }
}

/// May a marker open right after `c`?
fn opens_after(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | ',' | '(' | '[' | '{' | '!' | '?' | '-' | '=')
}

/// May a marker close right before `c`?
fn closes_before(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '~' | '!'
                | '#'
                | '$'
                | '%'
                | '^'
                | ')'
                | '-'
                | '+'
                | '='
                | '{'
                | '}'
                | '['
                | ']'
                | ';'
                | ':'
                | '\''
                | '"'
                | ','
                | '.'
                | '?'
                | '/'
        )
}

fn opens_at(s: &str, i: usize) -> bool {
    s[..i].chars().next_back().is_none_or(opens_after)
}

fn closes_at(s: &str, i: usize) -> bool {
    s[i..].chars().next().is_none_or(closes_before)
}

/// Parse one line's inline content (no newlines) into `out`.
fn inline(s: &str, style: RunStyle, options: ParseOptions, out: &mut Vec<Run>) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut literal = 0;
    while i < b.len() {
        let found = match b[i] {
            b'*' => emphasis(s, i, b'*', options, with(style, |st| st.bold = true)),
            b'_' => emphasis(s, i, b'_', options, with(style, |st| st.italic = true)),
            b'~' => emphasis(s, i, b'~', options, with(style, |st| st.strike = true)),
            b'`' => code(s, i, style),
            b'<' => angle(s, i, style, options),
            b':' => emoji(s, i, style),
            b'h' | b'H' if options.autolink => autolink(s, i, style),
            _ => None,
        };
        match found {
            Some((runs, end)) => {
                push_text(out, &s[literal..i], style);
                for run in runs {
                    match run.kind {
                        RunKind::Text(t) => push_text(out, &t, run.style),
                        kind => out.push(Run {
                            kind,
                            style: run.style,
                        }),
                    }
                }
                i = end;
                literal = end;
            }
            None => i += 1,
        }
    }
    push_text(out, &s[literal..], style);
}

fn with(style: RunStyle, set: impl FnOnce(&mut RunStyle)) -> RunStyle {
    let mut style = style;
    set(&mut style);
    style
}

/// Append raw (escaped) text, merged into the previous text run of the same style.
fn push_text(out: &mut Vec<Run>, raw: &str, style: RunStyle) {
    if raw.is_empty() {
        return;
    }
    let text = unescape(raw);
    if let Some(Run {
        kind: RunKind::Text(prev),
        style: prev_style,
    }) = out.last_mut()
        && *prev_style == style
    {
        prev.push_str(&text);
        return;
    }
    out.push(Run {
        kind: RunKind::Text(text.into_owned()),
        style,
    });
}

type Found = Option<(Vec<Run>, usize)>;

fn emphasis(s: &str, i: usize, mark: u8, options: ParseOptions, inner: RunStyle) -> Found {
    if !opens_at(s, i) {
        return None;
    }
    let b = s.as_bytes();
    let start = i + 1;
    let first = s[start..].chars().next()?;
    if first.is_whitespace() || first == mark as char {
        return None;
    }
    let mut k = start;
    while k < b.len() {
        match b[k] {
            // a code span inside may hold the marker: `*run `rm *` now*`
            b'`' => match s[k + 1..].find('`') {
                Some(close) => k += close + 2,
                None => k += 1,
            },
            c if c == mark => {
                let last = s[..k].chars().next_back()?;
                if last.is_whitespace() || !closes_at(s, k + 1) {
                    return None;
                }
                let mut runs = Vec::new();
                inline(&s[start..k], inner, options, &mut runs);
                return Some((runs, k + 1));
            }
            _ => k += 1,
        }
    }
    None
}

fn code(s: &str, i: usize, style: RunStyle) -> Found {
    if !opens_at(s, i) {
        return None;
    }
    let close = i + 1 + s[i + 1..].find('`')?;
    if close == i + 1 || !closes_at(s, close + 1) {
        return None;
    }
    let run = Run {
        kind: RunKind::Code(unescape(&s[i + 1..close]).into_owned()),
        style,
    };
    Some((vec![run], close + 1))
}

fn angle(s: &str, i: usize, style: RunStyle, options: ParseOptions) -> Found {
    let rest = &s[i + 1..];
    let close = rest.find(['<', '>'])?;
    if rest.as_bytes()[close] != b'>' {
        return None;
    }
    let inner = &rest[..close];
    if inner.is_empty() || inner.starts_with(char::is_whitespace) {
        return None;
    }
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) if !label.is_empty() => (target, Some(label)),
        Some((target, _)) => (target, None),
        None => (inner, None),
    };
    let plain_label = || label.map(|l| unescape(l).into_owned());
    let kind = if let Some(id) = target.strip_prefix('@') {
        RunKind::User {
            id: unescape(id).into_owned(),
            label: plain_label(),
        }
    } else if let Some(id) = target.strip_prefix('#') {
        RunKind::Channel {
            id: unescape(id).into_owned(),
            label: plain_label(),
        }
    } else if let Some(command) = target.strip_prefix('!') {
        let mut parts = command.split('^');
        let name = parts.next().unwrap_or_default();
        match name {
            "here" => RunKind::Broadcast(Broadcast::Here),
            "channel" => RunKind::Broadcast(Broadcast::Channel),
            "everyone" => RunKind::Broadcast(Broadcast::Everyone),
            "subteam" => RunKind::Subteam {
                id: parts.next().unwrap_or_default().to_owned(),
                label: plain_label(),
            },
            "date" => RunKind::Date {
                timestamp: parts.next().unwrap_or_default().to_owned(),
                format: unescape(parts.next().unwrap_or_default()).into_owned(),
                link: parts.next().map(|l| unescape(l).into_owned()),
                fallback: plain_label().unwrap_or_default(),
            },
            _ => RunKind::Command {
                name: unescape(name).into_owned(),
                label: plain_label(),
            },
        }
    } else if has_scheme(target) {
        let url = unescape(target).into_owned();
        let mut runs = Vec::new();
        match label {
            Some(label) => inline(label, style, options, &mut runs),
            None => runs.push(Run {
                kind: RunKind::Text(url.clone()),
                style,
            }),
        }
        RunKind::Link { url, label: runs }
    } else {
        return None;
    };
    Some((vec![Run { kind, style }], i + 1 + close + 1))
}

/// `scheme:` as RFC 3986 writes it (`https:`, `mailto:`, `tel:`).
fn has_scheme(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

fn is_emoji_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'\'')
}

fn emoji(s: &str, i: usize, style: RunStyle) -> Found {
    let (name, skin_tone, end) = shortcode_at(s, i)?;
    let run = Run {
        kind: RunKind::Emoji { name, skin_tone },
        style,
    };
    Some((vec![run], end))
}

/// An emoji shortcode starting at byte `i` of `s` (which holds `:`): its name, skin tone and the
/// byte after it. Shared with `plain_text`, where Slack replaces shortcodes too.
pub(crate) fn shortcode_at(s: &str, i: usize) -> Option<(String, Option<u8>, usize)> {
    let b = s.as_bytes();
    if b.get(i) != Some(&b':') {
        return None;
    }
    let mut k = i + 1;
    while k < b.len() && is_emoji_name_byte(b[k]) {
        k += 1;
    }
    if k == i + 1 || k >= b.len() || b[k] != b':' {
        return None;
    }
    let name = s[i + 1..k].to_owned();
    let mut end = k + 1;
    let mut skin_tone = None;
    if let Some(tone) = s[end..].strip_prefix(":skin-tone-") {
        let digits = tone.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && tone[digits..].starts_with(':')
            && let Ok(n) = tone[..digits].parse::<u8>()
        {
            skin_tone = Some(n);
            end += ":skin-tone-".len() + digits + 1;
        }
    }
    Some((name, skin_tone, end))
}

fn autolink(s: &str, i: usize, style: RunStyle) -> Found {
    if s[..i]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric())
    {
        return None;
    }
    let rest = &s[i..];
    let starts = |scheme: &str| {
        rest.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    };
    let scheme = if starts("https://") {
        8
    } else if starts("http://") {
        7
    } else {
        return None;
    };
    // a URL ends at a space, at anything that is mrkdwn syntax, or at an escaped `<` / `>`
    let mut end = rest
        .char_indices()
        .find(|&(at, c)| {
            c.is_whitespace()
                || matches!(c, '<' | '>' | '`' | '|')
                || rest[at..].starts_with("&lt;")
                || rest[at..].starts_with("&gt;")
        })
        .map_or(rest.len(), |(at, _)| at);
    while end > scheme
        && rest[..end].ends_with([
            '.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"', '*', '_', '~',
        ])
    {
        end -= 1;
    }
    if end == scheme {
        return None;
    }
    let url = unescape(&rest[..end]).into_owned();
    let run = Run {
        kind: RunKind::Link {
            url: url.clone(),
            label: vec![Run {
                kind: RunKind::Text(url),
                style,
            }],
        },
        style,
    };
    Some((vec![run], i + end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_turns_the_three_control_characters_into_entities_once() {
        assert_eq!(escape("R&D"), "R&amp;D");
        assert_eq!(escape("<!here>"), "&lt;!here&gt;");
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert!(matches!(escape("usacia.websecexp.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn unescape_decodes_only_slacks_three_entities() {
        assert_eq!(
            unescape("R&amp;D &lt;b&gt; &quot;x&quot; &"),
            "R&D <b> &quot;x&quot; &"
        );
    }

    #[test]
    fn a_backtick_in_a_value_cannot_close_its_code_span() {
        assert_eq!(code_span("a`b"), "`a\u{02CB}b`");
        assert_eq!(
            code_span("rule x {\r\n condition: true\n}"),
            "`rule x {↵ condition: true↵}`"
        );
        assert_eq!(code_span(""), "` `");
        assert_eq!(code_span("<!channel>"), "`&lt;!channel&gt;`");
    }

    #[test]
    fn indicator_spans_are_defanged() {
        assert_eq!(
            indicator_span("http://accountgoogle.firewall-gateway.com/serviclogin"),
            "`hxxp://accountgoogle[.]firewall-gateway[.]com/serviclogin`"
        );
    }

    #[test]
    fn url_components_cannot_end_a_link() {
        assert_eq!(url_encode("a|b>c d/é"), "a%7Cb%3Ec%20d%2F%C3%A9");
        assert_eq!(
            link("https://threatq.soc.internal/search?q=a&b", "R&D <team>"),
            "<https://threatq.soc.internal/search?q=a&amp;b|R&amp;D &lt;team&gt;>"
        );
    }

    #[test]
    fn html_descriptions_become_plain_text() {
        let html = "<p>Stealth&nbsp;Falcon uses <b>PowerShell</b>&#8230;</p><p>Seen:<br>2016&ndash;05</p>\
                    <ul><li>C2 over HTTP</li><li>&lt;DNS&gt; tunnelling</li></ul><script>alert(1)</script>";
        assert_eq!(
            html_to_text(html),
            "Stealth Falcon uses PowerShell…\n\nSeen:\n2016–05\n\n• C2 over HTTP\n• <DNS> tunnelling"
        );
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
    }
}
