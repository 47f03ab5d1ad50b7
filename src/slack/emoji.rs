//! Slack's emoji shortcodes (`:rotating_light:`, `:+1::skin-tone-3:`) to the emoji they name.
//! The table is iamcal's emoji-data as shipped in `emoji-datasource`, turned into
//! `assets/emoji/slack-shortcodes.tsv` by `scripts/gen-emoji.mjs`; the `emojis` crate covers
//! names it lacks. Unknown names are `None`: callers show them as written.

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE_SOURCE: &str = include_str!("../../assets/emoji/slack-shortcodes.tsv");

struct Entry {
    emoji: String,
    /// skin-tone-2 … skin-tone-6, for emoji that take one.
    tones: Option<[String; 5]>,
}

/// Parsed once, on first use.
static TABLE: LazyLock<HashMap<&'static str, Entry>> = LazyLock::new(|| parse_table(TABLE_SOURCE));

fn parse_table(source: &'static str) -> HashMap<&'static str, Entry> {
    let mut table = HashMap::with_capacity(2048);
    for line in source.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(code_points), Some(names)) = (columns.next(), columns.next()) else {
            continue;
        };
        let Some(emoji) = decode(code_points) else {
            continue;
        };
        let tones = columns.next().and_then(|tones| {
            let decoded: Vec<String> = tones.split(' ').filter_map(decode).collect();
            <[String; 5]>::try_from(decoded).ok()
        });
        for name in names.split(' ') {
            table.insert(
                name,
                Entry {
                    emoji: emoji.clone(),
                    tones: tones.clone(),
                },
            );
        }
    }
    table
}

/// `1F44D-1F3FB` → "👍🏻".
fn decode(code_points: &str) -> Option<String> {
    code_points
        .split('-')
        .map(|hex| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))
        .collect()
}

/// The emoji for a shortcode, written with or without colons and with an optional skin tone:
/// `rotating_light`, `:+1:`, `:thumbsup::skin-tone-2:`, `+1::skin-tone-6`. `None` when Slack
/// has no such emoji (custom workspace emoji included).
pub fn lookup(shortcode: &str) -> Option<&'static str> {
    let s = shortcode.trim();
    let s = s.strip_prefix(':').unwrap_or(s);
    let s = s.strip_suffix(':').unwrap_or(s);
    match s.split_once("::") {
        Some((name, tone)) => {
            let tone = tone.strip_prefix("skin-tone-")?.parse().ok()?;
            lookup_with_tone(name, Some(tone))
        }
        None => lookup_with_tone(s, None),
    }
}

/// The emoji for `name` (no colons) with Slack's skin tone 2–6, if any. A tone the emoji does
/// not take, or tone 1 (Slack's "no tone"), gives the emoji without a tone.
pub fn lookup_with_tone(name: &str, skin_tone: Option<u8>) -> Option<&'static str> {
    if let Some(entry) = TABLE.get(name) {
        let toned = skin_tone.filter(|t| (2..=6).contains(t)).and_then(|t| {
            entry
                .tones
                .as_ref()
                .map(|tones| tones[usize::from(t - 2)].as_str())
        });
        return Some(toned.unwrap_or(entry.emoji.as_str()));
    }
    let emoji = emojis::get_by_shortcode(name)?;
    let tone = match skin_tone {
        Some(2) => Some(emojis::SkinTone::Light),
        Some(3) => Some(emojis::SkinTone::MediumLight),
        Some(4) => Some(emojis::SkinTone::Medium),
        Some(5) => Some(emojis::SkinTone::MediumDark),
        Some(6) => Some(emojis::SkinTone::Dark),
        _ => None,
    };
    let toned = tone.and_then(|t| emoji.with_skin_tone(t)).unwrap_or(emoji);
    Some(toned.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_names_and_their_aliases_resolve() {
        assert_eq!(lookup("rotating_light"), Some("🚨"));
        assert_eq!(lookup(":+1:"), Some("👍"));
        assert_eq!(lookup("thumbsup"), Some("👍"));
        assert_eq!(lookup(":warning:"), Some("⚠\u{fe0f}"));
    }

    #[test]
    fn skin_tone_suffixes_apply_the_modifier() {
        assert_eq!(lookup(":+1::skin-tone-2:"), Some("👍🏻"));
        assert_eq!(lookup("thumbsup::skin-tone-6"), Some("👍🏿"));
        assert_eq!(lookup_with_tone("wave", Some(4)), Some("👋🏽"));
        // a tone on an emoji that takes none, and tone 1, leave it as it is
        assert_eq!(lookup_with_tone("rotating_light", Some(3)), Some("🚨"));
        assert_eq!(lookup_with_tone("wave", Some(1)), Some("👋"));
        assert_eq!(lookup(":skin-tone-3:"), Some("🏼"));
    }

    #[test]
    fn two_person_emoji_take_the_tone_on_both() {
        assert_eq!(
            lookup_with_tone("man-heart-man", Some(2)),
            Some("👨🏻\u{200d}❤\u{fe0f}\u{200d}👨🏻")
        );
    }

    #[test]
    fn names_missing_from_the_table_fall_back_to_the_emojis_crate() {
        // GitHub's names: Slack says `biohazard_sign` and `flag-af`
        assert!(!TABLE.contains_key("biohazard") && !TABLE.contains_key("afghanistan"));
        assert_eq!(lookup("biohazard_sign"), Some("\u{2623}\u{fe0f}"));
        assert_eq!(lookup("biohazard"), Some("\u{2623}\u{fe0f}"));
        assert_eq!(lookup("afghanistan"), lookup("flag-af"));
        assert!(lookup("flag-af").is_some());
    }

    #[test]
    fn unknown_and_malformed_names_are_none() {
        assert_eq!(lookup("threatq_logo"), None);
        assert_eq!(lookup(":+1::skin-tone-x:"), None);
        assert_eq!(lookup(""), None);
    }
}
