//! The one severity scale of the product: a ThreatQ score (0–10) read as low, medium, high or
//! critical. `slack-blocks`, `plain` and the template filter `severity` all use it.

use std::fmt;

/// How bad a score is. The scale, on ThreatQ's effective score:
///
/// | score | severity |
/// | --- | --- |
/// | 0 to under 4 | low |
/// | 4 to under 7 | medium |
/// | 7 to under 9 | high |
/// | 9 to 10 | critical |
///
/// So the integer scores ThreatQ lists read 0–3 low, 4–6 medium, 7–8 high, 9–10 critical, and a
/// generated score such as `6.50` stays medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The severity of a score; scores outside 0–10 are clamped, NaN counts as low.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A Slack emoji shortcode that reads at a glance (and has a text name for the colour-blind).
    pub fn emoji(self) -> &'static str {
        match self {
            Severity::Low => ":large_blue_circle:",
            Severity::Medium => ":large_yellow_circle:",
            Severity::High => ":large_orange_circle:",
            Severity::Critical => ":red_circle:",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A score as people write it: `8`, `6.5`.
pub fn format_score(score: f64) -> String {
    if score.fract() == 0.0 && score.abs() < 1e15 {
        (score as i64).to_string()
    } else {
        let s = format!("{score:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_reads_integer_scores_as_documented() {
        let expected = [
            (0.0, Severity::Low),
            (3.0, Severity::Low),
            (3.99, Severity::Low),
            (4.0, Severity::Medium),
            (6.5, Severity::Medium),
            (7.0, Severity::High),
            (8.0, Severity::High),
            (9.0, Severity::Critical),
            (10.0, Severity::Critical),
            (f64::NAN, Severity::Low),
        ];
        for (score, severity) in expected {
            assert_eq!(Severity::from_score(score), severity, "score {score}");
        }
    }

    #[test]
    fn scores_read_as_people_write_them() {
        assert_eq!(format_score(8.0), "8");
        assert_eq!(format_score(6.5), "6.5");
        assert_eq!(format_score(6.25), "6.25");
    }
}
