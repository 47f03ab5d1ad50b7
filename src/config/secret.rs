//! Secrets from the configuration: tokens, passwords, webhook URLs. A `Secret` never shows its
//! value through `Debug` or `Display`, so it cannot leak into a log line, an error or the console
//! by accident; `expose` is the one door, used where the value goes on the wire.

use std::fmt;
use std::path::PathBuf;

/// Where a secret came from, so messages can say which variable or file to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `<key>_env = "VAR"`
    Env(String),
    /// `<key>_file = "/path"`
    File(PathBuf),
    /// `<key> = "..."` written in the file itself (allowed, with a warning).
    Literal,
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "${var}"),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Literal => f.write_str("the config file"),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    source: SecretSource,
}

impl Secret {
    pub fn new(value: impl Into<String>, source: SecretSource) -> Self {
        Self {
            value: value.into(),
            source,
        }
    }

    /// The value, for the wire. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// How the console shows it: the source and a mask, never a character of the value.
    pub fn masked(&self) -> String {
        format!("•••••• (from {})", self.source)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(from {})", self.source)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new(
            "xoxb-123-456-abcdef",
            SecretSource::Env("SLACK_BOT_TOKEN".into()),
        );
        assert!(!format!("{s:?}").contains("xoxb"));
        assert!(!format!("{s}").contains("xoxb"));
        assert!(format!("{s}").contains("$SLACK_BOT_TOKEN"));
        assert_eq!(s.expose(), "xoxb-123-456-abcdef");
    }
}
