//! Small text rules every output shares: defanging indicator values so no client makes them
//! clickable, and cutting text to a limit counted in Unicode code points, never silently.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}

/// A duration as people write it in the config: `90s` → `1m30s`, `24h`, `500ms`.
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}
