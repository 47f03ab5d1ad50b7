//! Text from ThreatQ on its way into a human-readable message (PRODUCT.md §7.2, §7.3): values,
//! names and descriptions are untrusted. Here they lose what could steer a reader or a client —
//! control characters, invisible direction overrides, live links — before a formatter escapes
//! them for their destination (mrkdwn, plain text).

use std::borrow::Cow;

use crate::alert::ObjectKind;
use crate::text::{defang, sanitize_for_terminal};

/// `value` of an object of `kind` as a message shows it on one line: an indicator's value is
/// defanged whole (`hxxp://aax[.]me/0b152`), any other value (an event's title, an adversary's
/// name) only where it holds something linkable; control characters become spaces and invisible
/// characters that could disguise an indicator (`invoice\u{202E}fdp.exe`, `pay\u{200B}pal.com`)
/// are shown as `⟨U+202E⟩`.
pub fn object_value(kind: &ObjectKind, value: &str) -> String {
    let defanged = match kind {
        ObjectKind::Indicator => defang(value),
        _ => defang_links(value),
    };
    one_line(&defanged)
}

/// Every line of an indicator value that spans lines (a YARA rule, a Snort signature), defanged
/// whole and cleaned like [`object_value`], joined with `\n`.
pub fn object_value_lines(kind: &ObjectKind, value: &str) -> String {
    let defanged = match kind {
        ObjectKind::Indicator => defang(value),
        _ => defang_links(value),
    };
    let mut out = String::with_capacity(defanged.len());
    for (i, line) in defanged.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&sanitize_for_terminal(line));
    }
    out
}

/// One line of prose (a source, a tag, an attribute): linkable tokens defanged, line breaks and
/// control characters as spaces, direction overrides shown.
pub fn prose_line(s: &str) -> String {
    one_line(&defang_links(s))
}

/// Prose that may span lines (a description): linkable tokens defanged, line breaks kept
/// (`\r\n` as `\n`), other control characters dropped, and characters that could disguise
/// text shown (`⟨U+202E⟩`) — but not the joiners and marks right-to-left and Indic scripts
/// need (U+200C–U+200F), which prose legitimately holds.
pub fn prose(s: &str) -> String {
    let defanged = defang_links(s);
    let mut out = String::with_capacity(defanged.len());
    let mut chars = defanged.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            '\u{200C}'..='\u{200F}' => out.push(c),
            c => out.push_str(&sanitize_for_terminal(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// `s` on one line: a line break or other control character becomes one space (swallowing the
/// indentation after it), so a value cannot forge lines in a log or a list and a multi-line
/// value reads as one line; invisible characters are shown (`⟨U+200B⟩`).
pub fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return sanitize_for_terminal(s).into_owned();
    }
    let mut spaced = String::with_capacity(s.len());
    let mut after_control = false;
    for c in s.chars() {
        if c.is_control() {
            after_control = true;
        } else if after_control && (c == ' ' || c == '\u{a0}') {
            // the indentation of the next line
        } else {
            if after_control && !spaced.is_empty() {
                spaced.push(' ');
            }
            after_control = false;
            spaced.push(c);
        }
    }
    sanitize_for_terminal(&spaced).into_owned()
}

/// Defang the tokens of `s` that a chat client or mail program would turn into a link — URLs
/// (`scheme://`), `www.` names, e-mail addresses, dotted names ending in letters
/// (`evil-domain.net`, `setup.exe`) and dotted IPv4 addresses — and leave prose alone:
/// `Inc.`, `e.g.`, `v1.2` and the full stop that ends a sentence stay as written. Already
/// defanged text is left as it is, so this may run twice.
pub fn defang_links(s: &str) -> Cow<'_, str> {
    if !s.contains(['.', '@', ':']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut changed = false;
    for piece in split_keeping_whitespace(s) {
        if linkable(piece) {
            let defanged = defang(piece);
            changed |= matches!(defanged, Cow::Owned(_));
            out.push_str(&defanged);
        } else {
            out.push_str(piece);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// Runs of whitespace and runs of anything else, in order, covering all of `s`.
fn split_keeping_whitespace(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let white = first.is_whitespace();
        let end = rest
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() != white)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Whether a whitespace-free token could become a live link.
fn linkable(token: &str) -> bool {
    if token.contains("://") {
        return true;
    }
    let lower_starts_www = token
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("www."));
    if lower_starts_www {
        return true;
    }
    let bytes = token.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let alnum_before = before.is_some_and(|p| p.is_ascii_alphanumeric() || p >= 0x80);
        match b {
            b'@' if alnum_before && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) => {
                return true;
            }
            b'.' if alnum_before => {
                // a dotted name whose next label starts with two letters: `evil.net`, `a.exe`
                let label: Vec<u8> = bytes[i + 1..]
                    .iter()
                    .copied()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'-')
                    .collect();
                if label.len() >= 2 && label[..2].iter().all(u8::is_ascii_alphabetic) {
                    return true;
                }
            }
            _ => {}
        }
    }
    is_dotted_ipv4(token)
}

/// Four dot-separated groups of 1–3 digits somewhere in the token (`52.8.153.44`,
/// `(10.0.0.1/24)`).
fn is_dotted_ipv4(token: &str) -> bool {
    token
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .any(|run| {
            let groups: Vec<&str> = run.split('.').collect();
            groups.len() >= 4
                && groups
                    .windows(4)
                    .any(|w| w.iter().all(|g| (1..=3).contains(&g.len())))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_prose_are_defanged_and_prose_is_not() {
        assert_eq!(
            defang_links("Contacts http://aax.me/0b152 and evil-domain.net, e.g. Inc. v1.2 ends."),
            "Contacts hxxp://aax[.]me/0b152 and evil-domain[.]net, e.g. Inc. v1.2 ends."
        );
        assert_eq!(
            defang_links("mail andrew.dwight389@outlook.com or www.x"),
            "mail andrew[.]dwight389[@]outlook[.]com or www[.]x"
        );
        assert_eq!(
            defang_links("C2 at 52.8.153.44."),
            "C2 at 52[.]8[.]153[.]44[.]"
        );
        assert!(matches!(
            defang_links("Stealth Falcon, R&D"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn defanging_links_twice_changes_nothing_more() {
        let once = defang_links("see https://citizenlab.ca/2016/05/stealth-falcon/ now");
        assert_eq!(defang_links(&once), once);
    }

    #[test]
    fn an_indicator_value_is_defanged_whole_and_shows_hidden_characters() {
        assert_eq!(
            object_value(&ObjectKind::Indicator, "invoice\u{202E}fdp.exe"),
            "invoice⟨U+202E⟩fdp[.]exe"
        );
        assert_eq!(
            object_value(&ObjectKind::Indicator, "a\nb\x1b[31m"),
            "a b [31m"
        );
        assert_eq!(one_line("rule x\r\n{\r\n    meta:"), "rule x { meta:");
        assert_eq!(
            object_value(&ObjectKind::Adversary, "Stealth Falcon"),
            "Stealth Falcon"
        );
    }

    #[test]
    fn prose_keeps_its_lines_and_drops_escape_sequences() {
        assert_eq!(
            prose("line one\r\nline\u{1b}]0;title\u{7} two\u{202E}"),
            "line one\nline]0;title two⟨U+202E⟩"
        );
        assert_eq!(prose("pay\u{200B}pal\ttab"), "pay⟨U+200B⟩pal tab");
    }
}
