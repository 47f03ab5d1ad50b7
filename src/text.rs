//! Small text rules every output shares: defanging indicator values so no client makes them
//! clickable, cutting text to a limit counted in Unicode code points, never silently, and making
//! untrusted text safe to print on the operator's terminal.

use std::borrow::Cow;

/// The mark that ends every cut text (PRODUCT.md §7.3).
pub const ELLIPSIS: char = '…';

/// Cut `s` to at most `max` code points; a cut text ends with `…` (which counts toward `max`).
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if max == 0 {
        return Cow::Borrowed("");
    }
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let (cut, _) = s.char_indices().nth(max - 1).unwrap_or((s.len(), ' '));
            let mut out = String::with_capacity(cut + ELLIPSIS.len_utf8());
            out.push_str(&s[..cut]);
            out.push(ELLIPSIS);
            Cow::Owned(out)
        }
    }
}

/// Defang an indicator value: `http` → `hxxp`, `.` → `[.]`, `@` → `[@]`, so no chat client or
/// mail program turns it into a live link. Already defanged parts (`[.]`) stay as they are.
pub fn defang(value: &str) -> Cow<'_, str> {
    if !value.contains(['.', '@', ':']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let at_word_start = prev.is_none_or(|p| !p.is_ascii_alphanumeric());
        if at_word_start && let Some(n) = scheme_len(&chars[i..]) {
            // http[s]:// → hxxp[s]://, ftp:// → fxp://, whatever the case written
            let scheme: String = chars[i..i + n].iter().collect();
            let defanged = match scheme.to_ascii_lowercase().as_str() {
                "https" => "hxxps",
                "http" => "hxxp",
                _ => "fxp",
            };
            out.push_str(defanged);
            i += n;
            continue;
        }
        match c {
            '.' if prev == Some('[') && next == Some(']') => out.push('.'),
            '.' => out.push_str("[.]"),
            '@' if prev == Some('[') && next == Some(']') => out.push('@'),
            '@' => out.push_str("[@]"),
            _ => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Length of a live URL scheme (`http`, `https`, `ftp`) followed by `://` at the start of `s`.
fn scheme_len(s: &[char]) -> Option<usize> {
    for scheme in ["https", "http", "ftp"] {
        let n = scheme.len();
        if s.len() >= n + 3
            && s[..n]
                .iter()
                .zip(scheme.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
            && s[n] == ':'
            && s[n + 1] == '/'
            && s[n + 2] == '/'
        {
            return Some(n);
        }
    }
    None
}

/// Make `s` safe to print on a terminal (PRODUCT.md §7.2): C0 and C1 control characters, ESC
/// and DEL are removed, so nothing can move the cursor, change colours, set the window title or
/// write the clipboard (an OSC 52 sequence loses its ESC and BEL and shows as harmless text); a
/// tab becomes a space and a line break becomes `↵`, since one string is one line here (split
/// text into lines first to keep them). Characters that change how text reads without showing —
/// bidirectional overrides and isolates, zero-width spaces and joiners, invisible operators, the
/// byte order mark, tag characters — are shown as `⟨U+202E⟩`. A zero-width joiner between two
/// emoji, and tag characters after a black flag, are kept: they make one emoji (👨‍👩‍👧, 🏴󠁧󠁢󠁳󠁣󠁴󠁿).
pub fn sanitize_for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_care) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('↵');
                }
            }
            '\n' => out.push('↵'),
            c if c.is_control() => {}
            '\u{200D}'
                if prev.is_some_and(is_emoji_part)
                    && chars.peek().is_some_and(|&n| is_pictographic(n)) =>
            {
                out.push(c)
            }
            '\u{E0020}'..='\u{E007F}'
                if prev.is_some_and(|p| {
                    p == '\u{1F3F4}' || ('\u{E0020}'..='\u{E007F}').contains(&p)
                }) =>
            {
                out.push(c)
            }
            c if is_invisible_format(c) => {
                use std::fmt::Write as _;
                let _ = write!(out, "⟨U+{:04X}⟩", u32::from(c));
            }
            c => out.push(c),
        }
        prev = Some(c);
    }
    Cow::Owned(out)
}

fn needs_care(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Characters that steer or hide text without a glyph of their own.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'       // Mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}'       // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{2028}' | '\u{2029}'       // line and paragraph separators
        | '\u{202A}'..='\u{202E}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{206F}'       // bidi isolates, deprecated format characters
        | '\u{FEFF}'                    // byte order mark / zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
        | '\u{1D173}'..='\u{1D17A}'     // musical format characters
        | '\u{E0000}'..='\u{E007F}'     // tag characters
    )
}

/// Emoji code points, close enough to decide whether a zero-width joiner joins two emoji.
fn is_pictographic(c: char) -> bool {
    matches!(c,
        '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21AA}'
        | '\u{231A}'..='\u{23FF}'
        | '\u{24C2}' | '\u{25AA}'..='\u{25FE}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2934}' | '\u{2935}' | '\u{2B05}'..='\u{2B55}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}'
    )
}

/// What may stand before a joiner inside an emoji: an emoji, a variation selector, a skin tone.
fn is_emoji_part(c: char) -> bool {
    is_pictographic(c) || c == '\u{FE0F}' || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// JSON text made safe to print on a terminal without changing what it means: C1 controls,
/// DEL, bidirectional controls, zero-width characters and line separators inside strings are
/// written as `\u` escapes such as `\u202e` (serde already escapes C0). Used when stdout is a terminal.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        matches!(c as u32,
            0x7f..=0x9f
            | 0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
    }
    if !json.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_a_terminal_escapes_c1_bidi_and_zero_width_but_means_the_same() {
        let value = "csi\u{9b}2J osc\u{9d}52 \u{202e}evil zero\u{200b}width";
        let json = serde_json::to_string(&value).unwrap();
        let safe = json_for_terminal(&json);
        assert!(
            safe.chars().all(|c| !(('\u{7f}'..='\u{9f}').contains(&c))
                && c != '\u{202e}'
                && c != '\u{200b}')
        );
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn short_text_is_not_cut() {
        assert_eq!(truncate("usacia.websecexp.com", 40), "usacia.websecexp.com");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn cut_text_ends_with_an_ellipsis_within_the_limit() {
        let cut = truncate("Stealth Falcon – Citizen Lab", 10);
        assert_eq!(cut, "Stealth F…");
        assert_eq!(cut.chars().count(), 10);
    }

    #[test]
    fn cutting_counts_code_points_not_bytes() {
        let cut = truncate("ÄÖÜäöüß日本語", 5);
        assert_eq!(cut, "ÄÖÜä…");
    }

    #[test]
    fn urls_domains_and_addresses_are_defanged() {
        assert_eq!(
            defang("http://accountgoogle.firewall-gateway.com/serviclogin"),
            "hxxp://accountgoogle[.]firewall-gateway[.]com/serviclogin"
        );
        assert_eq!(defang("HTTPS://aax.me/0b152"), "hxxps://aax[.]me/0b152");
        assert_eq!(
            defang("andrew.dwight389@outlook.com"),
            "andrew[.]dwight389[@]outlook[.]com"
        );
        assert_eq!(defang("52.8.153.44"), "52[.]8[.]153[.]44");
    }

    #[test]
    fn already_defanged_values_are_left_alone() {
        assert_eq!(defang("example[.]com"), "example[.]com");
        assert_eq!(
            defang(&defang("sys.firewall-gateway.net")),
            "sys[.]firewall-gateway[.]net"
        );
    }

    #[test]
    fn hashes_pass_through_untouched() {
        let md5 = "695db7dd3b1daf89f2c56d59faecc088";
        assert!(matches!(defang(md5), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_text_loses_escape_sequences_and_control_characters() {
        let hostile = "\u{1b}[31mred\u{1b}[0m \u{1b}]52;c;ZWNobyBoaQ==\u{7} \u{9b}2J\u{7f}done";
        assert_eq!(
            sanitize_for_terminal(hostile),
            "[31mred[0m ]52;c;ZWNobyBoaQ== 2Jdone"
        );
        assert_eq!(sanitize_for_terminal("rule\r\n{\tx\r}"), "rule↵{ x↵}");
    }

    #[test]
    fn bidi_and_zero_width_characters_are_shown_as_code_points() {
        assert_eq!(
            sanitize_for_terminal("invoice\u{202E}fdp.exe"),
            "invoice⟨U+202E⟩fdp.exe"
        );
        assert_eq!(
            sanitize_for_terminal("pay\u{200B}pal.com\u{FEFF}"),
            "pay⟨U+200B⟩pal.com⟨U+FEFF⟩"
        );
        assert_eq!(sanitize_for_terminal("a\u{200D}b"), "a⟨U+200D⟩b");
    }

    #[test]
    fn emoji_sequences_survive_sanitizing() {
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(sanitize_for_terminal(family), family);
        let scotland = "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert_eq!(sanitize_for_terminal(scotland), scotland);
        assert!(matches!(
            sanitize_for_terminal("Stealth Falcon – ÄÖÜ 日本語"),
            Cow::Borrowed(_)
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn truncation_is_valid_bounded_and_marked_exactly_when_cut(s in any::<String>(), max in 1usize..64) {
                let cut = truncate(&s, max);
                prop_assert!(std::str::from_utf8(cut.as_bytes()).is_ok());
                prop_assert!(cut.chars().count() <= max);
                if s.chars().count() > max {
                    let kept: String = s.chars().take(max - 1).collect();
                    prop_assert_eq!(cut.as_ref(), format!("{kept}{ELLIPSIS}"));
                } else {
                    prop_assert_eq!(cut.as_ref(), s.as_str());
                }
            }

            #[test]
            fn sanitized_text_holds_no_control_or_bidi_character(s in any::<String>()) {
                let clean = sanitize_for_terminal(&s);
                for c in clean.chars() {
                    prop_assert!(!c.is_control(), "control {:?}", c);
                    let steers = ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
                    prop_assert!(!steers, "bidi control {:?}", c);
                }
            }
        }
    }
}
