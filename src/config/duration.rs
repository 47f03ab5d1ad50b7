//! Durations as the config file writes them: a number and a unit, repeated from the largest unit
//! down (`"30s"`, `"5m"`, `"1h30m"`, `"30d"`, `"500ms"`), and back to the shortest such string.

use std::time::Duration;

const UNITS: [(&str, u64); 5] = [
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

const VALID: &str = "a whole number and a unit (ms, s, m, h, d), largest unit first, \
                     e.g. \"30s\", \"5m\", \"1h30m\", \"30d\", \"500ms\"";

/// Parses `"30s"`, `"5m"`, `"1h"`, `"30d"`, `"1h30m"`, `"500ms"`. The error says what is valid.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err(format!("empty duration; expected {VALID}"));
    }
    let mut total_ms: u64 = 0;
    // Index into UNITS of the last unit used, so units come largest first and only once.
    let mut last_unit: Option<usize> = None;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{s}` is not a duration; expected {VALID}"));
        }
        let (number, after) = rest.split_at(digits);
        let letters = after
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (unit, after) = after.split_at(letters);
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() && after.is_empty() {
                format!("`{s}` lacks a unit; expected {VALID}")
            } else if unit.is_empty() {
                format!("`{s}` is not a duration; expected {VALID}")
            } else {
                format!("`{s}` has an unknown unit `{unit}`; expected {VALID}")
            });
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(format!(
                "`{s}` repeats a unit or puts a smaller one first; expected {VALID}"
            ));
        }
        last_unit = Some(index);
        let too_long = || format!("`{s}` is too long a duration");
        let n: u64 = number.parse().map_err(|_| too_long())?;
        let ms = n.checked_mul(UNITS[index].1).ok_or_else(too_long)?;
        total_ms = total_ms.checked_add(ms).ok_or_else(too_long)?;
        rest = after;
    }
    Ok(Duration::from_millis(total_ms))
}

/// The shortest string `parse_duration` reads back as `d` (to the millisecond; finer parts
/// are dropped): `90s` → `"1m30s"`, `36h` → `"1d12h"`, zero → `"0s"`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (name, size) in UNITS {
        let n = ms / size;
        if n > 0 {
            out.push_str(&format!("{n}{name}"));
            ms -= n * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit_and_combinations() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("30d", 30 * 86_400_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("1d2h3m4s5ms", 93_784_005),
            ("0s", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration_and_says_what_is() {
        for bad in [
            "", "5", "m", "5 m", "5min", "1.5h", "-5m", "30m1h", "5m5m", "5M", " 5m",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("e.g. \"30s\""), "{bad}: {err}");
        }
        assert!(
            parse_duration("99999999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn formats_the_shortest_form_and_reads_back() {
        let cases = [
            (0, "0s"),
            (500, "500ms"),
            (90_000, "1m30s"),
            (3_600_000, "1h"),
            (36 * 3_600_000, "1d12h"),
            (30 * 86_400_000, "30d"),
            (1_500, "1s500ms"),
        ];
        for (ms, text) in cases {
            let d = Duration::from_millis(ms);
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(text), Ok(d));
        }
    }
}
