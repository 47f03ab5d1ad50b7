//! The configuration as the rest of the product sees it: validated, with durations parsed,
//! names checked and secrets resolved. Built by `load` from one TOML file (PRODUCT.md §4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::alert::{Field, NotificationType};
use crate::config::secret::Secret;
use crate::notifier::DeliverySettings;

/// A loaded, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub ui: UiConfig,
    pub state: StateConfig,
    pub network: NetworkConfig,
    /// Absent when no service talks to ThreatQ (library users with their own services).
    pub threatq: Option<ThreatQConfig>,
    pub services: Vec<ServiceConfig>,
    pub notifiers: Vec<NotifierConfig>,
    pub formatters: Vec<FormatterConfig>,
    /// `[keys]`: console action name → key chords, as written (checked by the console).
    pub keys: BTreeMap<String, Vec<String>>,
    /// Things that work but deserve a look (literal secrets, a mismatched notification type).
    pub warnings: Vec<Diagnostic>,
    /// Where each template formatter's text begins in the file (line, column of its first
    /// character), so a template error can be reported as `FILE:LINE:COL`.
    pub template_positions: BTreeMap<String, (usize, usize)>,
}

impl Config {
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn notifier(&self, name: &str) -> Option<&NotifierConfig> {
        self.notifiers.iter().find(|n| n.name == name)
    }

    pub fn formatter(&self, name: &str) -> Option<&FormatterConfig> {
        self.formatters.iter().find(|f| f.name == name)
    }

    /// The services a notifier is attached to.
    pub fn services_using(&self, notifier: &str) -> Vec<&str> {
        self.services
            .iter()
            .filter(|s| s.notifiers.iter().any(|n| n == notifier))
            .map(|s| s.name.as_str())
            .collect()
    }

    /// A template error as a place in the config file: the template's line and column moved
    /// to where the template's text sits in the file. `None` for other errors.
    pub fn locate(&self, error: &crate::formatter::FormatError) -> Option<Diagnostic> {
        let crate::formatter::FormatError::Template {
            template,
            line,
            column,
            ..
        } = error
        else {
            return None;
        };
        let (start_line, start_column) = *self.template_positions.get(template)?;
        let column = column.unwrap_or(1);
        Some(Diagnostic {
            file: self.path.clone(),
            line: start_line + line.saturating_sub(1),
            column: if *line <= 1 {
                start_column + column.saturating_sub(1)
            } else {
                column
            },
            message: error.to_string(),
        })
    }

    /// Every secret in the configuration, for scrubbing and for tests that grep for leaks.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut out = Vec::new();
        if let Some(tq) = &self.threatq {
            match &tq.auth {
                ThreatQAuth::ClientCredentials { client_secret, .. } => out.push(client_secret),
                ThreatQAuth::Password { password, .. } => out.push(password),
            }
        }
        for n in &self.notifiers {
            match &n.kind {
                NotifierKind::Slack { token, .. } => out.push(token),
                NotifierKind::SlackWebhook { url } => out.push(url),
                NotifierKind::Webhook { url, headers } => {
                    out.push(url);
                    out.extend(headers.iter().map(|(_, v)| v));
                }
            }
        }
        out
    }
}

/// `[ui]`
#[derive(Debug, Clone, PartialEq)]
pub struct UiConfig {
    /// A theme name from `themes/` or the user folder, or a path to a theme file.
    pub theme: String,
    pub mouse: bool,
    pub read_only: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            theme: "default".into(),
            mouse: false,
            read_only: false,
        }
    }
}

/// `[state]`
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// The state file; `None` means the default under `$XDG_STATE_HOME`.
    pub path: Option<PathBuf>,
    /// Deliveries and snapshots older than this are pruned.
    pub retention: Duration,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            path: None,
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl StateConfig {
    /// The state file to use: the configured one, else `$XDG_STATE_HOME/tq-alerts/state.db`
    /// (`~/.local/state/tq-alerts/state.db`).
    pub fn resolved_path(&self) -> PathBuf {
        if let Some(p) = &self.path {
            return p.clone();
        }
        default_state_dir().join("state.db")
    }
}

/// `$XDG_STATE_HOME/tq-alerts`, else `~/.local/state/tq-alerts`, else `./.tq-alerts`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Path::new(&dir).join("tq-alerts");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return Path::new(&home).join(".local/state/tq-alerts");
    }
    PathBuf::from(".tq-alerts")
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkConfig {
    /// Egress proxy for ThreatQ and Slack; `None` falls back to `HTTPS_PROXY`.
    pub proxy: Option<Url>,
    /// Hosts that bypass the proxy; `None` falls back to `NO_PROXY`.
    pub no_proxy: Option<String>,
}

/// `[threatq]`
#[derive(Debug, Clone)]
pub struct ThreatQConfig {
    pub url: Url,
    pub auth: ThreatQAuth,
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub timeout: Duration,
}

/// The two grants of PRODUCT.md §6.2.
#[derive(Debug, Clone)]
pub enum ThreatQAuth {
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    Password {
        email: String,
        password: Secret,
        client_id: String,
    },
}

impl ThreatQAuth {
    /// Who logs in, for messages: the client id or the e-mail address (never a secret).
    pub fn principal(&self) -> &str {
        match self {
            Self::ClientCredentials { client_id, .. } => client_id,
            Self::Password { email, .. } => email,
        }
    }
}

/// One `[[services]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: ServiceKind,
    pub enabled: bool,
    pub interval: Duration,
    /// Names of `[[notifiers]]`, in the order written.
    pub notifiers: Vec<String>,
    pub page_size: u32,
}

/// What a service watches.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceKind {
    Watchlist {
        /// API collections: `indicators`, `events`, `adversaries`.
        collections: Vec<String>,
        /// Fields whose change alerts again (default: all).
        alert_on: Vec<Field>,
        /// The first run looks back this far.
        initial_lookback: Duration,
    },
    DataCollection {
        collection_hash: String,
        /// The collection in `/api/<collection>/query/hash/<hash>`.
        collection: String,
        /// First run: alert on everything (`true`) or record a baseline (`false`).
        notify_existing: bool,
    },
}

impl ServiceKind {
    /// The `kind` key as written in the file.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Watchlist { .. } => "watchlist",
            Self::DataCollection { .. } => "data-collection",
        }
    }

    pub fn notification_type(&self) -> NotificationType {
        match self {
            Self::Watchlist { .. } => NotificationType::Watchlist,
            Self::DataCollection { .. } => NotificationType::DataCollection,
        }
    }
}

/// One `[[notifiers]]` entry.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub name: String,
    pub kind: NotifierKind,
    /// The `[[formatters]]` name; `None` uses the kind's default (`slack-blocks` for Slack,
    /// `plain` for webhooks).
    pub formatter: Option<String>,
    pub delivery: DeliverySettings,
}

/// Where and how a notifier delivers.
#[derive(Debug, Clone)]
pub enum NotifierKind {
    Slack {
        token: Secret,
        /// Channel names (with or without `#`) or ids, as written.
        channels: Vec<String>,
        /// Display names, user names, e-mails or ids, as written.
        users: Vec<String>,
        /// `https://slack.com/api` unless overridden (proxies, the simulator).
        api_url: Url,
    },
    SlackWebhook {
        url: Secret,
    },
    Webhook {
        url: Secret,
        /// Extra request headers; values may be secrets (`headers_env`).
        headers: Vec<(String, Secret)>,
    },
}

impl NotifierKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Slack { .. } => "slack",
            Self::SlackWebhook { .. } => "slack-webhook",
            Self::Webhook { .. } => "webhook",
        }
    }
}

/// One `[[formatters]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatterConfig {
    pub name: String,
    pub kind: FormatterKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FormatterKind {
    SlackBlocks {
        /// The seed's argument: alerts of another type get the generic layout.
        notification_type: Option<NotificationType>,
    },
    Template {
        output: TemplateOutput,
        /// The template source; its line 1 is the first line of the string.
        template: String,
    },
    Plain,
}

impl FormatterKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SlackBlocks { .. } => "slack-blocks",
            Self::Template { .. } => "template",
            Self::Plain => "plain",
        }
    }
}

/// What a `template` formatter renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateOutput {
    /// A Slack mrkdwn text message.
    Mrkdwn,
    /// Block Kit JSON (an array of blocks, or an object with `blocks`).
    Blocks,
    /// Any JSON body, for `webhook`.
    Json,
}

impl TemplateOutput {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mrkdwn => "mrkdwn",
            Self::Blocks => "blocks",
            Self::Json => "json",
        }
    }
}

/// A message about a place in a config file: `FILE:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}
