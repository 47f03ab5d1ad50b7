//! Reading the config file into the validated [`Config`]: where the file is, every key of
//! PRODUCT.md §4 with its type, default and range, secrets from the environment or files, and
//! every problem as one `FILE:LINE:COL: message` line that says what would be valid.
//!
//! The file is parsed with `toml_edit`'s spanned [`Document`], so each message points at the key
//! or value it is about. All semantic errors are collected and reported in file order.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use toml_edit::{Document, Item, TableLike, Value};
use url::Url;

use crate::alert::{Field, NotificationType};
use crate::config::duration::parse_duration;
use crate::config::model::*;
use crate::config::secret::{Secret, SecretSource};
use crate::http;
use crate::notifier::DeliverySettings;

/// Where variables come from: the process environment, or a map in tests.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The environment of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The config could not be used: it could not be read, or it holds errors.
#[derive(Debug)]
pub struct ConfigError {
    /// The file, as given.
    pub path: PathBuf,
    /// Every error, in file order. Empty when the file could not be read.
    pub diagnostics: Vec<Diagnostic>,
    /// Warnings found along the way (literal secrets, ...), for `check` to show too.
    pub warnings: Vec<Diagnostic>,
    /// Set when the file itself could not be read.
    pub io: Option<std::io::Error>,
}

impl ConfigError {
    fn unreadable(path: &Path, io: std::io::Error) -> Self {
        Self {
            path: path.to_path_buf(),
            diagnostics: Vec::new(),
            warnings: Vec::new(),
            io: Some(io),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<String> = Vec::new();
        if let Some(io) = &self.io {
            lines.push(format!("{}: cannot read: {io}", self.path.display()));
        }
        lines.extend(self.diagnostics.iter().map(ToString::to_string));
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|e| e as _)
    }
}

/// No config file was found; says where it looked and the two ways forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// Each place looked at, with what pointed there (`--config`, `$TQ_ALERTS_CONFIG`, ...).
    pub looked: Vec<(String, PathBuf)>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places: Vec<String> = self
            .looked
            .iter()
            .map(|(why, path)| format!("{} ({why})", path.display()))
            .collect();
        if places.is_empty() {
            write!(
                f,
                "no config file found: neither $XDG_CONFIG_HOME nor $HOME is set"
            )?;
        } else {
            write!(f, "no config file found; looked at {}", places.join(", "))?;
        }
        write!(
            f,
            "\nwrite a commented starter with `tq-alerts-tui init`, or try the product with `tq-alerts-tui demo`"
        )
    }
}

impl std::error::Error for NotFound {}

/// The config file to use: `--config`, `$TQ_ALERTS_CONFIG`, `$XDG_CONFIG_HOME/tq-alerts/config.toml`,
/// `~/.config/tq-alerts/config.toml`. A path given explicitly (flag or variable) must exist;
/// the default places are tried in turn.
pub fn locate(explicit: Option<&Path>, env: &dyn Environment) -> Result<PathBuf, NotFound> {
    if let Some(path) = explicit {
        return existing(path, "--config");
    }
    if let Some(path) = env.var("TQ_ALERTS_CONFIG").filter(|v| !v.is_empty()) {
        return existing(Path::new(&path), "$TQ_ALERTS_CONFIG");
    }
    let mut looked = Vec::new();
    for (why, path) in default_locations(env) {
        if path.is_file() {
            return Ok(path);
        }
        if !looked.iter().any(|(_, p)| *p == path) {
            looked.push((why, path));
        }
    }
    Err(NotFound { looked })
}

/// Where `init` writes when given no file: the first of the default places.
pub fn default_location(env: &dyn Environment) -> Option<PathBuf> {
    default_locations(env).into_iter().next().map(|(_, p)| p)
}

fn default_locations(env: &dyn Environment) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Some(dir) = env.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        out.push((
            "$XDG_CONFIG_HOME".to_string(),
            Path::new(&dir).join("tq-alerts/config.toml"),
        ));
    }
    if let Some(home) = env.var("HOME").filter(|v| !v.is_empty()) {
        out.push((
            "$HOME".to_string(),
            Path::new(&home).join(".config/tq-alerts/config.toml"),
        ));
    }
    out
}

fn existing(path: &Path, why: &str) -> Result<PathBuf, NotFound> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(NotFound {
            looked: vec![(why.to_string(), path.to_path_buf())],
        })
    }
}

/// Reads and validates the file, with secrets from this process's environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &ProcessEnv)
}

/// Reads and validates the file, with secrets from `env`.
pub fn load_with(path: &Path, env: &dyn Environment) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::unreadable(path, e))?;
    parse(&text, path, env)
}

/// Validates `text` as the content of `path` (which names the file in messages and anchors
/// relative `_file` paths).
pub fn parse(text: &str, path: &Path, env: &dyn Environment) -> Result<Config, ConfigError> {
    let mut checker = Checker::new(text, path, env);
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let message = syntax_message(text, &e);
            checker.error(&e.span(), message);
            return Err(checker.into_error());
        }
    };
    let config = checker.document(&doc);
    checker.finish(config)
}

/// `toml_edit`'s message for a syntax error, on one line.
pub(crate) fn syntax_message(text: &str, e: &toml_edit::TomlError) -> String {
    let mut message = e.message().replace('\n', "; ");
    if message == "duplicate key"
        && let Some(key) = e.span().and_then(|s| text.get(s)).filter(|k| !k.is_empty())
    {
        message = format!("duplicate key `{key}`");
    }
    format!("invalid TOML: {message}")
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The closest candidate to `got`, if it is close enough to be what was meant.
pub(crate) fn did_you_mean<'a>(
    got: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let got = got.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&got, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

type Span = Option<Range<usize>>;

#[derive(Debug, Clone)]
struct Spanned<T> {
    value: T,
    span: Span,
}

/// One table being checked: its keys, what messages call it, where it starts.
struct Entry<'d> {
    table: &'d dyn TableLike,
    label: String,
    span: Span,
}

/// Which keys a table takes: some always, some only for one value of a field (`kind`, `auth`).
struct KeyRules {
    common: &'static [&'static str],
    field: &'static str,
    by_kind: &'static [(&'static str, &'static [&'static str])],
}

const TOP_LEVEL: [(&str, &str); 8] = [
    ("ui", "[ui]"),
    ("state", "[state]"),
    ("network", "[network]"),
    ("threatq", "[threatq]"),
    ("keys", "[keys]"),
    ("services", "[[services]]"),
    ("notifiers", "[[notifiers]]"),
    ("formatters", "[[formatters]]"),
];

const UI_KEYS: KeyRules = KeyRules {
    common: &["theme", "mouse", "read_only"],
    field: "",
    by_kind: &[],
};

const STATE_KEYS: KeyRules = KeyRules {
    common: &["path", "retention"],
    field: "",
    by_kind: &[],
};

const NETWORK_KEYS: KeyRules = KeyRules {
    common: &["proxy", "no_proxy"],
    field: "",
    by_kind: &[],
};

const THREATQ_KEYS: KeyRules = KeyRules {
    common: &[
        "url",
        "auth",
        "client_id",
        "ca_file",
        "insecure_skip_verify",
        "timeout",
    ],
    field: "auth",
    by_kind: &[
        (
            "client-credentials",
            &["client_secret", "client_secret_env", "client_secret_file"],
        ),
        (
            "password",
            &["email", "password", "password_env", "password_file"],
        ),
    ],
};

const SERVICE_KEYS: KeyRules = KeyRules {
    common: &[
        "name",
        "kind",
        "enabled",
        "interval",
        "notifiers",
        "page_size",
    ],
    field: "kind",
    by_kind: &[
        (
            "watchlist",
            &["collections", "alert_on", "initial_lookback"],
        ),
        (
            "data-collection",
            &["collection_hash", "collection", "notify_existing"],
        ),
    ],
};

const NOTIFIER_KEYS: KeyRules = KeyRules {
    common: &[
        "name",
        "kind",
        "formatter",
        "rate",
        "burst",
        "digest_threshold",
        "digest_size",
        "max_age",
        "max_attempts",
        "timeout",
    ],
    field: "kind",
    by_kind: &[
        (
            "slack",
            &[
                "token",
                "token_env",
                "token_file",
                "channels",
                "users",
                "api_url",
            ],
        ),
        ("slack-webhook", &["url", "url_env", "url_file"]),
        (
            "webhook",
            &[
                "url",
                "url_env",
                "url_file",
                "headers",
                "headers_env",
                "headers_file",
            ],
        ),
    ],
};

const FORMATTER_KEYS: KeyRules = KeyRules {
    common: &["name", "kind"],
    field: "kind",
    by_kind: &[
        ("slack-blocks", &["notification_type"]),
        ("template", &["output", "template"]),
        ("plain", &[]),
    ],
};

/// The API collections a service can read (PRODUCT.md §6.3).
const COLLECTIONS: [&str; 3] = ["indicators", "events", "adversaries"];
const DEFAULT_AUTH: &str = "client-credentials";
const TEMPLATE_OUTPUTS: [TemplateOutput; 3] = [
    TemplateOutput::Mrkdwn,
    TemplateOutput::Blocks,
    TemplateOutput::Json,
];
const PAGE_SIZE_MAX: i64 = 1000;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_TQ_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_SLACK_API: &str = "https://slack.com/api";

/// A service as read, with what the cross-checks need.
struct ParsedService {
    name: Option<Spanned<String>>,
    kind_span: Span,
    notifiers: Vec<Spanned<String>>,
    built: Option<ServiceConfig>,
}

struct ParsedNotifier {
    name: Option<Spanned<String>>,
    kind: Option<&'static str>,
    formatter: Option<Spanned<String>>,
    built: Option<NotifierConfig>,
}

struct ParsedFormatter {
    name: Option<Spanned<String>>,
    notification_type_span: Span,
    /// Line and column of the template text's first character.
    template_start: Option<(usize, usize)>,
    built: Option<FormatterConfig>,
}

/// How a secret was given, for messages: "`url_env` ($SOAR_WEBHOOK_URL)".
struct SecretFound {
    secret: Secret,
    /// The key used, e.g. `url_env`.
    key: String,
    /// Where to point at for problems with its value.
    span: Span,
}

impl SecretFound {
    fn describe(&self) -> String {
        match self.secret.source() {
            SecretSource::Env(var) => format!("`{}` (${var})", self.key),
            SecretSource::File(path) => format!("`{}` ({})", self.key, path.display()),
            SecretSource::Literal => format!("`{}`", self.key),
        }
    }
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    /// Relative `_file` and `ca_file` paths are read from the config file's folder.
    base: PathBuf,
    env: &'a dyn Environment,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// Keys suggested for misspelt keys of the entry being checked: a missing key that was
    /// only misspelt is reported once, as the misspelling.
    typos: Vec<&'static str>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str, path: &'a Path, env: &'a dyn Environment) -> Self {
        Self {
            text,
            path,
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
            typos: Vec::new(),
        }
    }

    fn diagnostic(&self, span: &Span, message: impl Into<String>) -> Diagnostic {
        let (line, column) = line_col(self.text, span.as_ref().map_or(0, |s| s.start));
        Diagnostic {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn error(&mut self, span: &Span, message: impl Into<String>) {
        let d = self.diagnostic(span, message);
        self.errors.push(d);
    }

    fn warn(&mut self, span: &Span, message: impl Into<String>) {
        let d = self.diagnostic(span, message);
        self.warnings.push(d);
    }

    /// Reports a missing key, unless it was only misspelt (already reported).
    fn missing(&mut self, span: &Span, keys: &[&str], message: impl Into<String>) {
        if !keys.iter().any(|k| self.typos.contains(k)) {
            self.error(span, message);
        }
    }

    fn into_error(mut self) -> ConfigError {
        sort_by_place(&mut self.errors);
        sort_by_place(&mut self.warnings);
        ConfigError {
            path: self.path.to_path_buf(),
            diagnostics: self.errors,
            warnings: self.warnings,
            io: None,
        }
    }

    fn finish(mut self, config: Config) -> Result<Config, ConfigError> {
        if !self.errors.is_empty() {
            return Err(self.into_error());
        }
        sort_by_place(&mut self.warnings);
        Ok(Config {
            warnings: self.warnings,
            ..config
        })
    }

    // ---- the document ----

    fn document(&mut self, doc: &Document<&str>) -> Config {
        let root = doc.as_table();
        let mut ui = UiConfig::default();
        let mut state = StateConfig::default();
        let mut network = NetworkConfig::default();
        let mut threatq = None;
        let mut threatq_present = false;
        let mut keys = BTreeMap::new();
        let mut services = Vec::new();
        let mut notifiers = Vec::new();
        let mut formatters = Vec::new();

        for (key, item) in root.iter() {
            let key_span = root.key(key).and_then(|k| k.span());
            match key {
                "ui" => {
                    if let Some(e) = self.section(key, item, key_span) {
                        ui = self.ui(&e);
                    }
                }
                "state" => {
                    if let Some(e) = self.section(key, item, key_span) {
                        state = self.state(&e);
                    }
                }
                "network" => {
                    if let Some(e) = self.section(key, item, key_span) {
                        network = self.network(&e);
                    }
                }
                "threatq" => {
                    if let Some(e) = self.section(key, item, key_span) {
                        threatq_present = true;
                        threatq = self.threatq(&e);
                    }
                }
                "keys" => {
                    if let Some(e) = self.section(key, item, key_span) {
                        keys = self.keys(&e);
                    }
                }
                "services" => {
                    services = self
                        .entries(key, item, key_span)
                        .iter()
                        .map(|e| self.service(e))
                        .collect();
                }
                "notifiers" => {
                    notifiers = self
                        .entries(key, item, key_span)
                        .iter()
                        .map(|e| self.notifier(e))
                        .collect();
                }
                "formatters" => {
                    formatters = self
                        .entries(key, item, key_span)
                        .iter()
                        .map(|e| self.formatter(e))
                        .collect();
                }
                _ => self.unknown_top_level(key, item, key_span),
            }
        }

        self.unique_names("services", services.iter().map(|s| &s.name));
        self.unique_names("notifiers", notifiers.iter().map(|n| &n.name));
        self.unique_names("formatters", formatters.iter().map(|f| &f.name));
        self.references(&services, &notifiers, &formatters);
        if !threatq_present {
            for s in &services {
                if let (Some(name), Some(built)) = (&s.name, &s.built) {
                    self.error(
                        &s.kind_span,
                        format!(
                            "service '{}' of kind `{}` polls ThreatQ and needs a [threatq] table \
                             (url, client_id and a client secret)",
                            name.value,
                            built.kind.as_str()
                        ),
                    );
                }
            }
        }

        Config {
            path: self.path.to_path_buf(),
            ui,
            state,
            network,
            threatq,
            services: services.into_iter().filter_map(|s| s.built).collect(),
            notifiers: notifiers.into_iter().filter_map(|n| n.built).collect(),
            template_positions: formatters
                .iter()
                .filter_map(|f| Some((f.built.as_ref()?.name.clone(), f.template_start?)))
                .collect(),
            formatters: formatters.into_iter().filter_map(|f| f.built).collect(),
            keys,
            warnings: Vec::new(),
        }
    }

    fn unknown_top_level(&mut self, key: &str, item: &Item, key_span: Span) {
        let tables = TOP_LEVEL
            .iter()
            .map(|(_, written)| *written)
            .collect::<Vec<_>>()
            .join(", ");
        let is_table = item.is_table() || item.is_array_of_tables();
        if is_table {
            let span = item.span().or(key_span);
            let written = if item.is_array_of_tables() {
                format!("[[{key}]]")
            } else {
                format!("[{key}]")
            };
            let message = match did_you_mean(key, TOP_LEVEL.iter().map(|(k, _)| *k)) {
                Some(k) => format!(
                    "unknown table `{written}` — did you mean `{}`?",
                    written_table(k)
                ),
                None => format!("unknown table `{written}`; the tables are {tables}"),
            };
            self.error(&span, message);
            return;
        }
        let home = [
            ("[ui]", UI_KEYS.common),
            ("[state]", STATE_KEYS.common),
            ("[network]", NETWORK_KEYS.common),
        ]
        .into_iter()
        .find(|(_, keys)| keys.contains(&key))
        .map(|(table, _)| table);
        let message = if let Some(table) = home {
            format!("key `{key}` belongs in {table}, not at the top level")
        } else if let Some(k) = did_you_mean(key, TOP_LEVEL.iter().map(|(k, _)| *k)) {
            format!(
                "unknown top-level key `{key}` — did you mean `{}`?",
                written_table(k)
            )
        } else {
            format!("unknown top-level key `{key}`; the top level holds the tables {tables}")
        };
        self.error(&key_span, message);
    }

    /// A single table (`[ui]`, `[threatq]`, ...), or an error if it is something else.
    fn section<'d>(&mut self, key: &str, item: &'d Item, key_span: Span) -> Option<Entry<'d>> {
        match item.as_table_like() {
            Some(table) => Some(Entry {
                table,
                label: format!("[{key}]"),
                span: item.span().or(key_span),
            }),
            None => {
                self.error(
                    &item.span().or(key_span),
                    format!(
                        "`{key}` must be a table, written [{key}]; found {}",
                        describe(item)
                    ),
                );
                None
            }
        }
    }

    /// The entries of `[[services]]` (or an inline array of tables).
    fn entries<'d>(&mut self, key: &str, item: &'d Item, key_span: Span) -> Vec<Entry<'d>> {
        let singular = key.trim_end_matches('s');
        let label = |name: Option<&str>, index: usize| match name {
            Some(name) => format!("[[{key}]] '{name}'"),
            None => format!("[[{key}]] #{}", index + 1),
        };
        let name_of = |t: &dyn TableLike| {
            t.get("name")
                .and_then(Item::as_str)
                .map(ToString::to_string)
        };
        let mut out = Vec::new();
        if let Some(aot) = item.as_array_of_tables() {
            for (i, table) in aot.iter().enumerate() {
                out.push(Entry {
                    table,
                    label: label(name_of(table).as_deref(), i),
                    span: table.span().or(key_span.clone()),
                });
            }
            return out;
        }
        if let Some(array) = item.as_array() {
            for (i, value) in array.iter().enumerate() {
                match value.as_inline_table() {
                    Some(table) => out.push(Entry {
                        table,
                        label: label(name_of(table).as_deref(), i),
                        span: value.span(),
                    }),
                    None => self.error(
                        &value.span(),
                        format!(
                            "`{key}` item {}: expected a table describing a {singular}, found {}",
                            i + 1,
                            describe_value(value)
                        ),
                    ),
                }
            }
            return out;
        }
        self.error(
            &item.span().or(key_span),
            format!(
                "`{key}` must be an array of tables, written [[{key}]]; found {}",
                describe(item)
            ),
        );
        out
    }

    // ---- typed getters ----

    fn item<'d>(e: &Entry<'d>, key: &str) -> Option<(&'d Item, Span)> {
        let (k, item) = e.table.get_key_value(key)?;
        Some((item, item.span().or_else(|| k.span())))
    }

    fn key_span(e: &Entry<'_>, key: &str) -> Span {
        e.table.key(key).and_then(|k| k.span())
    }

    fn wrong_type(&mut self, e: &Entry<'_>, key: &str, span: &Span, expected: &str, item: &Item) {
        self.error(
            span,
            format!(
                "`{key}` in {}: expected {expected}, found {}",
                e.label,
                describe(item)
            ),
        );
    }

    fn string(&mut self, e: &Entry<'_>, key: &str) -> Option<Spanned<String>> {
        let (item, span) = Self::item(e, key)?;
        match item.as_str() {
            Some(s) => Some(Spanned {
                value: s.to_string(),
                span,
            }),
            None => {
                self.wrong_type(e, key, &span, "a string", item);
                None
            }
        }
    }

    /// A string that must not be empty.
    fn text(&mut self, e: &Entry<'_>, key: &str) -> Option<Spanned<String>> {
        let s = self.string(e, key)?;
        if s.value.trim().is_empty() {
            self.error(&s.span, format!("`{key}` in {} must not be empty", e.label));
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, e: &Entry<'_>, key: &str) -> Option<Spanned<bool>> {
        let (item, span) = Self::item(e, key)?;
        match item.as_bool() {
            Some(b) => Some(Spanned { value: b, span }),
            None => {
                self.wrong_type(e, key, &span, "a boolean (true or false)", item);
                None
            }
        }
    }

    /// An integer in `min..=max`.
    fn integer(&mut self, e: &Entry<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let (item, span) = Self::item(e, key)?;
        let Some(n) = item.as_integer() else {
            self.wrong_type(e, key, &span, "an integer", item);
            return None;
        };
        if n < min || n > max {
            let range = if max >= i64::from(u32::MAX) {
                format!("at least {min}")
            } else {
                format!("between {min} and {max}")
            };
            self.error(
                &span,
                format!("`{key}` in {} must be {range}, found {n}", e.label),
            );
            return None;
        }
        Some(n)
    }

    fn number(&mut self, e: &Entry<'_>, key: &str) -> Option<Spanned<f64>> {
        let (item, span) = Self::item(e, key)?;
        let value = match (item.as_float(), item.as_integer()) {
            (Some(f), _) => f,
            // Integers here are small rates and counts; the conversion is exact.
            (None, Some(i)) => i as f64,
            (None, None) => {
                self.wrong_type(e, key, &span, "a number", item);
                return None;
            }
        };
        Some(Spanned { value, span })
    }

    fn strings(&mut self, e: &Entry<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let (item, span) = Self::item(e, key)?;
        let Some(array) = item.as_array() else {
            self.wrong_type(e, key, &span, "an array of strings", item);
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, value) in array.iter().enumerate() {
            match value.as_str() {
                Some(s) if !s.trim().is_empty() => out.push(Spanned {
                    value: s.to_string(),
                    span: value.span(),
                }),
                Some(_) => {
                    ok = false;
                    self.error(
                        &value.span(),
                        format!("`{key}` in {}: item {} is empty", e.label, i + 1),
                    );
                }
                None => {
                    ok = false;
                    self.error(
                        &value.span(),
                        format!(
                            "`{key}` in {}: item {}: expected a string, found {}",
                            e.label,
                            i + 1,
                            describe_value(value)
                        ),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// A duration; `positive` refuses zero.
    fn duration(&mut self, e: &Entry<'_>, key: &str, positive: bool) -> Option<Duration> {
        let s = self.string(e, key)?;
        match parse_duration(&s.value) {
            Ok(d) if positive && d.is_zero() => {
                self.error(
                    &s.span,
                    format!("`{key}` in {} must be longer than 0s", e.label),
                );
                None
            }
            Ok(d) => Some(d),
            Err(message) => {
                self.error(&s.span, format!("`{key}` in {}: {message}", e.label));
                None
            }
        }
    }

    /// A URL that is not a secret: https, or http on loopback.
    fn url(&mut self, e: &Entry<'_>, key: &str) -> Option<Url> {
        let s = self.string(e, key)?;
        let url = match Url::parse(&s.value) {
            Ok(url) => url,
            Err(err) => {
                self.error(
                    &s.span,
                    format!(
                        "`{key}` in {} is not a valid URL ({err}); expected e.g. https://host.example.net",
                        e.label
                    ),
                );
                return None;
            }
        };
        if let Err(message) = http::check_scheme(&url) {
            self.error(&s.span, format!("`{key}` in {}: {message}", e.label));
            return None;
        }
        Some(url)
    }

    /// A path, relative to the config file's folder.
    fn path_value(&mut self, e: &Entry<'_>, key: &str) -> Option<Spanned<PathBuf>> {
        let s = self.text(e, key)?;
        Some(Spanned {
            value: self.base.join(&s.value),
            span: s.span,
        })
    }

    /// One of `valid`, with "did you mean" when it is not.
    fn choice<T: Copy>(
        &mut self,
        e: &Entry<'_>,
        key: &str,
        valid: &[(&'static str, T)],
    ) -> Option<Spanned<T>> {
        let s = self.string(e, key)?;
        match valid.iter().find(|(name, _)| *name == s.value) {
            Some((_, v)) => Some(Spanned {
                value: *v,
                span: s.span,
            }),
            None => {
                let names: Vec<&str> = valid.iter().map(|(n, _)| *n).collect();
                let message = unknown_value(key, &e.label, &s.value, &names);
                self.error(&s.span, message);
                None
            }
        }
    }

    /// Unknown keys and keys of another kind.
    fn check_keys(&mut self, e: &Entry<'_>, rules: &KeyRules, kind: Option<&str>) {
        self.typos.clear();
        let kind_keys: &'static [&'static str] = kind
            .and_then(|k| rules.by_kind.iter().find(|(name, _)| *name == k))
            .map_or(&[], |(_, keys)| keys);
        for (key, _) in e.table.iter() {
            if rules.common.contains(&key) || kind_keys.contains(&key) {
                continue;
            }
            let owners: Vec<&str> = rules
                .by_kind
                .iter()
                .filter(|(_, keys)| keys.contains(&key))
                .map(|(name, _)| *name)
                .collect();
            let span = Self::key_span(e, key);
            if !owners.is_empty() {
                if let Some(this) = kind {
                    let owners = owners
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    self.error(
                        &span,
                        format!(
                            "key `{key}` is only for {field} {owners}, and {} has {field} `{this}`",
                            e.label,
                            field = rules.field
                        ),
                    );
                }
                // Without a known kind, the missing or unknown kind is the error to report.
                continue;
            }
            if let Some((_, written)) = TOP_LEVEL.iter().find(|(k, _)| *k == key) {
                self.error(
                    &span,
                    format!(
                        "`{key}` is not a key of {}: TOML puts every key below a table header \
                         into that table; write `{written}` as its own table",
                        e.label
                    ),
                );
                continue;
            }
            let candidates: Vec<&'static str> = if kind.is_some() {
                rules.common.iter().chain(kind_keys).copied().collect()
            } else {
                rules
                    .common
                    .iter()
                    .copied()
                    .chain(rules.by_kind.iter().flat_map(|(_, k)| k.iter().copied()))
                    .collect()
            };
            let message = match did_you_mean(key, candidates.iter().copied()) {
                Some(s) => {
                    self.typos.push(s);
                    format!("unknown key `{key}` in {} — did you mean `{s}`?", e.label)
                }
                None => format!(
                    "unknown key `{key}` in {}; valid keys: {}",
                    e.label,
                    candidates.join(", ")
                ),
            };
            self.error(&span, message);
        }
    }

    /// The `kind` (or `auth`) of an entry, checked against the rules.
    fn kind(&mut self, e: &Entry<'_>, rules: &KeyRules, required: bool) -> Option<&'static str> {
        let kinds: Vec<&'static str> = rules.by_kind.iter().map(|(k, _)| *k).collect();
        let Some(s) = self.string(e, rules.field) else {
            if required && e.table.get(rules.field).is_none() {
                self.missing(
                    &e.span,
                    &[rules.field],
                    format!(
                        "{} needs a `{}`: one of {}",
                        e.label,
                        rules.field,
                        kinds.join(", ")
                    ),
                );
            }
            return None;
        };
        if let Some(k) = kinds.iter().find(|k| **k == s.value) {
            return Some(*k);
        }
        let message = unknown_value(rules.field, &e.label, &s.value, &kinds);
        self.error(&s.span, message);
        None
    }

    /// The `name` of an entry.
    fn name(&mut self, e: &Entry<'_>) -> Option<Spanned<String>> {
        if e.table.get("name").is_none() {
            self.missing(&e.span, &["name"], format!("{} needs a `name`", e.label));
            return None;
        }
        self.text(e, "name")
    }

    // ---- secrets ----

    /// A secret given as `<key>_env`, `<key>_file` or literally as `<key>`.
    fn secret(&mut self, e: &Entry<'_>, key: &str, required: bool) -> Option<SecretFound> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        let ways = format!("`{env_key} = \"VAR\"`, `{file_key} = \"/path\"` or `{key} = \"...\"`");
        let mut given: Vec<(&str, Span)> = [key, env_key.as_str(), file_key.as_str()]
            .into_iter()
            .filter(|k| e.table.contains_key(k))
            .map(|k| (k, Self::key_span(e, k)))
            .collect();
        given.sort_by_key(|(_, span)| span.as_ref().map_or(0, |s| s.start));
        match given.as_slice() {
            [] => {
                if required {
                    self.missing(
                        &e.span,
                        &[key, &env_key, &file_key],
                        format!("{} needs `{key}`: give it as {ways}", e.label),
                    );
                }
                None
            }
            [(used, _)] => {
                let used = used.to_string();
                let s = self.string(e, &used)?;
                if used == key {
                    self.literal_secret(e, key, s)
                } else if used == env_key {
                    self.env_secret(e, &used, s)
                } else {
                    self.file_secret(e, &used, s)
                }
            }
            [(first, _), (second, span), ..] => {
                let message = format!(
                    "`{first}` and `{second}` both set in {}; give the secret one way: {ways}",
                    e.label
                );
                self.error(span, message);
                None
            }
        }
    }

    fn literal_secret(
        &mut self,
        e: &Entry<'_>,
        key: &str,
        s: Spanned<String>,
    ) -> Option<SecretFound> {
        let key_span = Self::key_span(e, key);
        if s.value.is_empty() {
            self.error(&s.span, format!("`{key}` in {} is empty", e.label));
            return None;
        }
        self.warn(
            &key_span,
            format!(
                "literal secret in the config file (`{key}` in {}); prefer `{key}_env` or `{key}_file`",
                e.label
            ),
        );
        Some(SecretFound {
            secret: Secret::new(s.value, SecretSource::Literal),
            key: key.to_string(),
            span: s.span,
        })
    }

    fn env_secret(&mut self, e: &Entry<'_>, key: &str, s: Spanned<String>) -> Option<SecretFound> {
        let var = s.value.trim();
        if var.is_empty() {
            self.error(
                &s.span,
                format!(
                    "`{key}` in {} needs the name of an environment variable",
                    e.label
                ),
            );
            return None;
        }
        match self.env.var(var) {
            Some(value) if !value.is_empty() => Some(SecretFound {
                secret: Secret::new(value, SecretSource::Env(var.to_string())),
                key: key.to_string(),
                span: s.span,
            }),
            found => {
                let state = if found.is_some() { "empty" } else { "not set" };
                self.error(
                    &s.span,
                    format!(
                        "environment variable `{var}` is {state} (`{key}` in {})",
                        e.label
                    ),
                );
                None
            }
        }
    }

    fn file_secret(&mut self, e: &Entry<'_>, key: &str, s: Spanned<String>) -> Option<SecretFound> {
        if s.value.trim().is_empty() {
            self.error(
                &s.span,
                format!("`{key}` in {} needs the path of a file", e.label),
            );
            return None;
        }
        let path = self.base.join(&s.value);
        match std::fs::read_to_string(&path) {
            Ok(content) => {
                let value = content.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    self.error(
                        &s.span,
                        format!(
                            "secret file {} is empty (`{key}` in {})",
                            path.display(),
                            e.label
                        ),
                    );
                    return None;
                }
                Some(SecretFound {
                    secret: Secret::new(value, SecretSource::File(path)),
                    key: key.to_string(),
                    span: s.span,
                })
            }
            Err(err) => {
                self.error(
                    &s.span,
                    format!(
                        "cannot read secret file {} (`{key}` in {}): {err}",
                        path.display(),
                        e.label
                    ),
                );
                None
            }
        }
    }

    /// A URL held in a secret: never printed beyond its origin.
    fn secret_url(&mut self, e: &Entry<'_>, key: &str) -> Option<Secret> {
        let found = self.secret(e, key, true)?;
        let url = match Url::parse(found.secret.expose().trim()) {
            Ok(url) => url,
            Err(err) => {
                self.error(
                    &found.span,
                    format!(
                        "{} in {} is not a valid URL ({err})",
                        found.describe(),
                        e.label
                    ),
                );
                return None;
            }
        };
        if let Err(message) = http::check_scheme(&url) {
            self.error(
                &found.span,
                format!("{} in {}: {message}", found.describe(), e.label),
            );
            return None;
        }
        Some(found.secret)
    }

    // ---- sections ----

    fn ui(&mut self, e: &Entry<'_>) -> UiConfig {
        self.check_keys(e, &UI_KEYS, None);
        let d = UiConfig::default();
        UiConfig {
            theme: self.text(e, "theme").map_or(d.theme, |s| s.value),
            mouse: self.boolean(e, "mouse").map_or(d.mouse, |b| b.value),
            read_only: self
                .boolean(e, "read_only")
                .map_or(d.read_only, |b| b.value),
        }
    }

    fn state(&mut self, e: &Entry<'_>) -> StateConfig {
        self.check_keys(e, &STATE_KEYS, None);
        let d = StateConfig::default();
        StateConfig {
            path: self.path_value(e, "path").map(|p| p.value),
            retention: self.duration(e, "retention", true).unwrap_or(d.retention),
        }
    }

    fn network(&mut self, e: &Entry<'_>) -> NetworkConfig {
        self.check_keys(e, &NETWORK_KEYS, None);
        let proxy = self.string(e, "proxy").and_then(|s| {
            // Plain http to a proxy is normal (TLS to ThreatQ and Slack runs inside CONNECT), so
            // the loopback rule of §6.2 does not apply; other schemes are not built in.
            match Url::parse(&s.value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                Ok(url) => {
                    self.error(
                        &s.span,
                        format!(
                            "`proxy` in {}: unsupported proxy URL scheme `{}`; use http:// or https://",
                            e.label,
                            url.scheme()
                        ),
                    );
                    None
                }
                Err(err) => {
                    self.error(
                        &s.span,
                        format!(
                            "`proxy` in {} is not a valid URL ({err}); expected e.g. http://proxy.example.net:3128",
                            e.label
                        ),
                    );
                    None
                }
            }
        });
        let no_proxy = match e.table.get("no_proxy") {
            Some(item) if item.is_array() => self
                .strings(e, "no_proxy")
                .map(|hosts| join(hosts.iter().map(|h| h.value.as_str()), ",")),
            Some(_) => self.string(e, "no_proxy").map(|s| s.value),
            None => None,
        };
        NetworkConfig { proxy, no_proxy }
    }

    fn threatq(&mut self, e: &Entry<'_>) -> Option<ThreatQConfig> {
        let auth_present = e.table.contains_key("auth");
        let peeked = if auth_present {
            peek_kind(e, &THREATQ_KEYS)
        } else {
            Some(DEFAULT_AUTH)
        };
        self.check_keys(e, &THREATQ_KEYS, peeked);
        let auth = match self.kind(e, &THREATQ_KEYS, false) {
            Some(a) => Some(a),
            None if !auth_present => Some(DEFAULT_AUTH),
            None => None,
        };
        if !e.table.contains_key("url") {
            self.missing(
                &e.span,
                &["url"],
                format!(
                    "{} needs `url`, e.g. url = \"https://threatq.example.net\"",
                    e.label
                ),
            );
        }
        let url = self.url(e, "url");
        let client_id = self.required_text(e, "client_id", "the API client id from ThreatQ");
        let ca_file =
            self.path_value(e, "ca_file")
                .and_then(|p| match std::fs::File::open(&p.value) {
                    Ok(_) => Some(p.value),
                    Err(err) => {
                        self.error(
                            &p.span,
                            format!(
                                "cannot read `ca_file` {} in {}: {err}",
                                p.value.display(),
                                e.label
                            ),
                        );
                        None
                    }
                });
        let insecure = self.boolean(e, "insecure_skip_verify");
        if let Some(b) = &insecure
            && b.value
        {
            self.warn(
                &Self::key_span(e, "insecure_skip_verify"),
                format!(
                    "`insecure_skip_verify` in {} turns off TLS certificate checks for ThreatQ; prefer `ca_file`",
                    e.label
                ),
            );
        }
        let timeout = self
            .duration(e, "timeout", true)
            .unwrap_or(DEFAULT_TQ_TIMEOUT);
        let auth = match auth? {
            "password" => {
                let email = self.required_text(e, "email", "the ThreatQ user's e-mail address");
                let password = self.secret(e, "password", true);
                ThreatQAuth::Password {
                    email: email?,
                    password: password?.secret,
                    client_id: client_id?,
                }
            }
            _ => {
                let client_secret = self.secret(e, "client_secret", true);
                ThreatQAuth::ClientCredentials {
                    client_id: client_id?,
                    client_secret: client_secret?.secret,
                }
            }
        };
        Some(ThreatQConfig {
            url: url?,
            auth,
            ca_file,
            insecure_skip_verify: insecure.is_some_and(|b| b.value),
            timeout,
        })
    }

    fn required_text(&mut self, e: &Entry<'_>, key: &str, what: &str) -> Option<String> {
        if !e.table.contains_key(key) {
            self.missing(
                &e.span,
                &[key],
                format!("{} needs `{key}` ({what})", e.label),
            );
            return None;
        }
        self.text(e, key).map(|s| s.value)
    }

    fn keys(&mut self, e: &Entry<'_>) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (action, item) in e.table.iter() {
            let span = item.span().or_else(|| Self::key_span(e, action));
            let chords = match item {
                Item::Value(Value::String(s)) => Some(vec![s.value().clone()]),
                Item::Value(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(ToString::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            };
            match chords {
                Some(chords) => {
                    out.insert(action.to_string(), chords);
                }
                None => self.wrong_type(
                    e,
                    action,
                    &span,
                    "a key like \"ctrl-s\" or an array of keys",
                    item,
                ),
            }
        }
        out
    }

    fn service(&mut self, e: &Entry<'_>) -> ParsedService {
        self.check_keys(e, &SERVICE_KEYS, peek_kind(e, &SERVICE_KEYS));
        let name = self.name(e);
        let kind = self.kind(e, &SERVICE_KEYS, true);
        let kind_span = Self::item(e, "kind").map_or(e.span.clone(), |(_, s)| s);
        let enabled = self.boolean(e, "enabled").is_none_or(|b| b.value);
        let interval = self
            .duration(e, "interval", true)
            .unwrap_or(DEFAULT_INTERVAL);
        let notifiers = self.strings(e, "notifiers").unwrap_or_default();
        let page_size = self
            .integer(e, "page_size", 1, PAGE_SIZE_MAX)
            .unwrap_or(100);
        let kind = match kind {
            Some("watchlist") => self.watchlist(e),
            Some(_) => self.data_collection(e),
            None => None,
        };
        let built = match (&name, kind) {
            (Some(name), Some(kind)) => Some(ServiceConfig {
                name: name.value.clone(),
                kind,
                enabled,
                interval,
                notifiers: notifiers.iter().map(|n| n.value.clone()).collect(),
                // Bounded by PAGE_SIZE_MAX above.
                page_size: u32::try_from(page_size).unwrap_or(100),
            }),
            _ => None,
        };
        ParsedService {
            name,
            kind_span,
            notifiers,
            built,
        }
    }

    fn collection_names(&mut self, e: &Entry<'_>, key: &str, values: &[Spanned<String>]) -> bool {
        let mut ok = true;
        for c in values {
            if !COLLECTIONS.contains(&c.value.as_str()) {
                ok = false;
                let message = unknown_value(
                    "collection",
                    &format!("`{key}` of {}", e.label),
                    &c.value,
                    &COLLECTIONS,
                );
                self.error(&c.span, message);
            }
        }
        ok
    }

    fn watchlist(&mut self, e: &Entry<'_>) -> Option<ServiceKind> {
        let collections = match self.strings(e, "collections") {
            Some(list) if list.is_empty() => {
                let span = Self::item(e, "collections").and_then(|(_, s)| s);
                self.error(
                    &span,
                    format!(
                        "`collections` in {} is empty; name at least one of {}",
                        e.label,
                        COLLECTIONS.join(", ")
                    ),
                );
                None
            }
            Some(list) => self
                .collection_names(e, "collections", &list)
                .then(|| list.into_iter().map(|c| c.value).collect::<Vec<_>>()),
            None if e.table.contains_key("collections") => None,
            None => Some(COLLECTIONS.iter().map(ToString::to_string).collect()),
        };
        let alert_on = match self.strings(e, "alert_on") {
            Some(list) => {
                let mut fields = Vec::new();
                let mut ok = true;
                for v in &list {
                    match Field::from_str(&v.value) {
                        Ok(f) => {
                            if !fields.contains(&f) {
                                fields.push(f);
                            }
                        }
                        Err(_) => {
                            ok = false;
                            let names: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                            let message =
                                unknown_value("alert_on field", &e.label, &v.value, &names);
                            self.error(&v.span, message);
                        }
                    }
                }
                ok.then_some(fields)
            }
            None if e.table.contains_key("alert_on") => None,
            None => Some(Field::ALL.to_vec()),
        };
        let initial_lookback = self
            .duration(e, "initial_lookback", false)
            .unwrap_or(DEFAULT_LOOKBACK);
        Some(ServiceKind::Watchlist {
            collections: collections?,
            alert_on: alert_on?,
            initial_lookback,
        })
    }

    fn data_collection(&mut self, e: &Entry<'_>) -> Option<ServiceKind> {
        let hash = if e.table.contains_key("collection_hash") {
            self.text(e, "collection_hash").and_then(|h| {
                let ok = h
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if ok {
                    Some(h.value)
                } else {
                    self.error(
                        &h.span,
                        format!(
                            "`collection_hash` in {} must be the hash of a saved data collection \
                             (letters and digits, as in /api/<collection>/query/hash/<hash>)",
                            e.label
                        ),
                    );
                    None
                }
            })
        } else {
            let span = Self::item(e, "kind").map_or(e.span.clone(), |(_, s)| s);
            self.missing(
                &span,
                &["collection_hash"],
                format!(
                    "{} of kind `data-collection` needs `collection_hash`, the hash of a saved \
                     ThreatQ data collection",
                    e.label
                ),
            );
            None
        };
        let collection = match self.string(e, "collection") {
            Some(c) => self
                .collection_names(e, "collection", std::slice::from_ref(&c))
                .then_some(c.value),
            None if e.table.contains_key("collection") => None,
            None => Some("indicators".to_string()),
        };
        let notify_existing = self.boolean(e, "notify_existing").is_some_and(|b| b.value);
        Some(ServiceKind::DataCollection {
            collection_hash: hash?,
            collection: collection?,
            notify_existing,
        })
    }

    fn notifier(&mut self, e: &Entry<'_>) -> ParsedNotifier {
        self.check_keys(e, &NOTIFIER_KEYS, peek_kind(e, &NOTIFIER_KEYS));
        let name = self.name(e);
        let kind = self.kind(e, &NOTIFIER_KEYS, true);
        let formatter = self.text(e, "formatter");
        let delivery = self.delivery(e);
        let built_kind = match kind {
            Some("slack") => self.slack(e),
            Some("slack-webhook") => self
                .secret_url(e, "url")
                .map(|url| NotifierKind::SlackWebhook { url }),
            Some(_) => self.webhook(e),
            None => None,
        };
        let built = match (&name, built_kind, delivery) {
            (Some(name), Some(kind), Some(delivery)) => Some(NotifierConfig {
                name: name.value.clone(),
                kind,
                formatter: formatter.as_ref().map(|f| f.value.clone()),
                delivery,
            }),
            _ => None,
        };
        ParsedNotifier {
            name,
            kind,
            formatter,
            built,
        }
    }

    fn delivery(&mut self, e: &Entry<'_>) -> Option<DeliverySettings> {
        let d = DeliverySettings::default();
        let mut ok = true;
        let rate = match self.number(e, "rate") {
            Some(r) if r.value.is_finite() && r.value > 0.0 => r.value,
            Some(r) => {
                ok = false;
                self.error(
                    &r.span,
                    format!(
                        "`rate` in {} must be greater than 0 (messages per second per target), found {}",
                        e.label, r.value
                    ),
                );
                d.rate
            }
            None => {
                ok &= !e.table.contains_key("rate");
                d.rate
            }
        };
        let mut count = |checker: &mut Self, key: &str, min: i64, default: usize| match checker
            .integer(e, key, min, i64::from(u32::MAX))
        {
            Some(n) => usize::try_from(n).unwrap_or(default),
            None => {
                ok &= !e.table.contains_key(key);
                default
            }
        };
        let burst = count(self, "burst", 1, d.burst as usize);
        let digest_threshold = count(self, "digest_threshold", 0, d.digest_threshold);
        let digest_size = count(self, "digest_size", 1, d.digest_size);
        let max_attempts = e
            .table
            .contains_key("max_attempts")
            .then(|| count(self, "max_attempts", 1, 0));
        let mut duration = |checker: &mut Self, key: &str, default: Duration| {
            checker.duration(e, key, true).unwrap_or_else(|| {
                ok &= !e.table.contains_key(key);
                default
            })
        };
        let max_age = duration(self, "max_age", d.max_age);
        let timeout = duration(self, "timeout", d.timeout);
        ok.then(|| DeliverySettings {
            rate,
            burst: u32::try_from(burst).unwrap_or(d.burst),
            digest_threshold,
            digest_size,
            max_age,
            max_attempts: max_attempts.and_then(|n| u32::try_from(n).ok()),
            timeout,
        })
    }

    fn slack(&mut self, e: &Entry<'_>) -> Option<NotifierKind> {
        let token = self.secret(e, "token", true);
        let channels = self.strings(e, "channels");
        let users = self.strings(e, "users");
        // A list with a bad item has been reported already.
        let unusable = (channels.is_none() && e.table.contains_key("channels"))
            || (users.is_none() && e.table.contains_key("users"));
        let channels: Vec<String> = channels
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect();
        let users: Vec<String> = users
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect();
        let nowhere = channels.is_empty() && users.is_empty();
        if nowhere && !unusable {
            self.missing(
                &e.span,
                &["channels", "users"],
                format!(
                    "{} sends nowhere: give `channels` (names or ids) or `users` (names, e-mails or ids)",
                    e.label
                ),
            );
        }
        let api_url = if e.table.contains_key("api_url") {
            self.url(e, "api_url")
        } else {
            Url::parse(DEFAULT_SLACK_API).ok()
        };
        if nowhere || unusable {
            return None;
        }
        Some(NotifierKind::Slack {
            token: token?.secret,
            channels,
            users,
            api_url: api_url?,
        })
    }

    fn webhook(&mut self, e: &Entry<'_>) -> Option<NotifierKind> {
        let url = self.secret_url(e, "url");
        let headers = self.headers(e);
        Some(NotifierKind::Webhook {
            url: url?,
            headers: headers?,
        })
    }

    /// `headers = { Name = "value" }`, `headers_env = { Name = "VAR" }`,
    /// `headers_file = { Name = "/path" }`: one way per header name.
    fn headers(&mut self, e: &Entry<'_>) -> Option<Vec<(String, Secret)>> {
        let mut out: Vec<(usize, String, Secret)> = Vec::new();
        let mut seen: Vec<(String, &'static str)> = Vec::new();
        let mut ok = true;
        for form in ["headers", "headers_env", "headers_file"] {
            let Some((item, span)) = Self::item(e, form) else {
                continue;
            };
            let Some(table) = item.as_table_like() else {
                self.wrong_type(
                    e,
                    form,
                    &span,
                    "a table like { Authorization = \"...\" }",
                    item,
                );
                ok = false;
                continue;
            };
            let inner = Entry {
                table,
                label: format!("`{form}` of {}", e.label),
                span: span.clone(),
            };
            for (name, _) in table.iter() {
                let name_span = Self::key_span(&inner, name);
                if let Some((_, other)) = seen.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    ok = false;
                    self.error(
                        &name_span,
                        format!(
                            "header `{name}` is given twice in {} (also in `{other}`); give each header one way",
                            e.label
                        ),
                    );
                    continue;
                }
                seen.push((name.to_string(), form));
                if !is_header_name(name) {
                    ok = false;
                    self.error(
                        &name_span,
                        format!(
                            "`{name}` in `{form}` of {} is not a valid HTTP header name",
                            e.label
                        ),
                    );
                    continue;
                }
                let Some(value) = self.string(&inner, name) else {
                    ok = false;
                    continue;
                };
                let found = match form {
                    "headers" => {
                        if looks_like_credential(name) {
                            self.warn(
                                &name_span,
                                format!(
                                    "literal secret in the config file (header `{name}` in {}); prefer `headers_env` or `headers_file`",
                                    e.label
                                ),
                            );
                        }
                        Some(SecretFound {
                            secret: Secret::new(value.value, SecretSource::Literal),
                            key: format!("headers.{name}"),
                            span: value.span,
                        })
                    }
                    "headers_env" => self.env_secret(e, &format!("headers_env.{name}"), value),
                    _ => self.file_secret(e, &format!("headers_file.{name}"), value),
                };
                let Some(found) = found else {
                    ok = false;
                    continue;
                };
                if found
                    .secret
                    .expose()
                    .chars()
                    .any(|c| c.is_control() && c != '\t')
                {
                    ok = false;
                    self.error(
                        &found.span,
                        format!(
                            "the value of header `{name}` from {} in {} holds a line break or control character",
                            found.describe(),
                            e.label
                        ),
                    );
                    continue;
                }
                let at = found.span.as_ref().map_or(0, |s| s.start);
                out.push((at, name.to_string(), found.secret));
            }
        }
        out.sort_by_key(|(at, _, _)| *at);
        ok.then(|| out.into_iter().map(|(_, n, s)| (n, s)).collect())
    }

    fn formatter(&mut self, e: &Entry<'_>) -> ParsedFormatter {
        self.check_keys(e, &FORMATTER_KEYS, peek_kind(e, &FORMATTER_KEYS));
        let name = self.name(e);
        let kind = self.kind(e, &FORMATTER_KEYS, true);
        let mut notification_type_span = None;
        let mut template_start = None;
        let built_kind = match kind {
            Some("slack-blocks") => {
                let types: Vec<(&'static str, NotificationType)> = NotificationType::ALL
                    .iter()
                    .map(|t| (t.as_str(), *t))
                    .collect();
                let present = e.table.contains_key("notification_type");
                let t = self.choice(e, "notification_type", &types);
                if present && t.is_none() {
                    None
                } else {
                    notification_type_span = t.as_ref().and_then(|t| t.span.clone());
                    Some(FormatterKind::SlackBlocks {
                        notification_type: t.map(|t| t.value),
                    })
                }
            }
            Some("template") => {
                let outputs: Vec<(&'static str, TemplateOutput)> =
                    TEMPLATE_OUTPUTS.iter().map(|o| (o.as_str(), *o)).collect();
                let output = match self.choice(e, "output", &outputs) {
                    Some(o) => Some(o.value),
                    None if e.table.contains_key("output") => None,
                    None => Some(TemplateOutput::Mrkdwn),
                };
                let template = if e.table.contains_key("template") {
                    self.text(e, "template")
                } else {
                    self.missing(
                        &e.span,
                        &["template"],
                        format!(
                            "{} of kind `template` needs `template`, a minijinja template such as \
                             template = \"{{{{ object.value }}}}\"",
                            e.label
                        ),
                    );
                    None
                };
                template_start = template
                    .as_ref()
                    .and_then(|t| t.span.as_ref())
                    .map(|span| self.string_content_start(span.start));
                match (output, template) {
                    (Some(output), Some(template)) => Some(FormatterKind::Template {
                        output,
                        template: template.value,
                    }),
                    _ => None,
                }
            }
            Some(_) => Some(FormatterKind::Plain),
            None => None,
        };
        let built = match (&name, built_kind) {
            (Some(name), Some(kind)) => Some(FormatterConfig {
                name: name.value.clone(),
                kind,
            }),
            _ => None,
        };
        ParsedFormatter {
            name,
            notification_type_span,
            template_start,
            built,
        }
    }

    /// Line and column of the first character of the string value whose quote is at `quote`:
    /// after `"` or `'`, or after a triple quote and the line break TOML trims right after it.
    fn string_content_start(&self, quote: usize) -> (usize, usize) {
        let rest = self.text.get(quote..).unwrap_or_default();
        let mut offset = quote;
        if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            offset += 3;
            let after = self.text.get(offset..).unwrap_or_default();
            if after.starts_with("\r\n") {
                offset += 2;
            } else if after.starts_with('\n') {
                offset += 1;
            }
        } else if rest.starts_with(['"', '\'']) {
            offset += 1;
        }
        line_col(self.text, offset)
    }

    // ---- across tables ----

    fn unique_names<'n>(
        &mut self,
        table: &str,
        names: impl Iterator<Item = &'n Option<Spanned<String>>>,
    ) {
        let mut seen: Vec<&Spanned<String>> = Vec::new();
        for name in names.flatten() {
            if let Some(first) = seen.iter().find(|s| s.value == name.value) {
                let (line, _) = line_col(self.text, first.span.as_ref().map_or(0, |s| s.start));
                let message = format!(
                    "duplicate name '{}' in [[{table}]] (first at line {line}); names are unique per table",
                    name.value
                );
                self.error(&name.span, message);
            } else {
                seen.push(name);
            }
        }
    }

    fn references(
        &mut self,
        services: &[ParsedService],
        notifiers: &[ParsedNotifier],
        formatters: &[ParsedFormatter],
    ) {
        let notifier_names: Vec<&str> = notifiers
            .iter()
            .filter_map(|n| n.name.as_ref().map(|s| s.value.as_str()))
            .collect();
        let formatter_names: Vec<&str> = formatters
            .iter()
            .filter_map(|f| f.name.as_ref().map(|s| s.value.as_str()))
            .collect();
        for s in services {
            let Some(service) = &s.name else { continue };
            if s.notifiers.is_empty() && s.built.as_ref().is_some_and(|b| b.enabled) {
                self.warn(
                    &service.span,
                    format!(
                        "service '{}' has no notifier: it does not poll until one is attached (nothing it would find is lost)",
                        service.value
                    ),
                );
            }
            for (i, r) in s.notifiers.iter().enumerate() {
                if s.notifiers[..i]
                    .iter()
                    .any(|earlier| earlier.value == r.value)
                {
                    self.error(
                        &r.span,
                        format!(
                            "service '{}' lists notifier '{}' twice",
                            service.value, r.value
                        ),
                    );
                } else if !notifier_names.contains(&r.value.as_str()) {
                    let message = missing_reference(
                        &format!("service '{}'", service.value),
                        "notifier",
                        &r.value,
                        &notifier_names,
                    );
                    self.error(&r.span, message);
                }
            }
        }
        for n in notifiers {
            let (Some(notifier), Some(r)) = (&n.name, &n.formatter) else {
                continue;
            };
            let Some(formatter) = formatters
                .iter()
                .find(|f| f.name.as_ref().is_some_and(|s| s.value == r.value))
            else {
                let message = missing_reference(
                    &format!("notifier '{}'", notifier.value),
                    "formatter",
                    &r.value,
                    &formatter_names,
                );
                self.error(&r.span, message);
                continue;
            };
            if let (
                Some(kind @ ("slack" | "slack-webhook")),
                Some(FormatterConfig {
                    kind:
                        FormatterKind::Template {
                            output: TemplateOutput::Json,
                            ..
                        },
                    ..
                }),
            ) = (n.kind, &formatter.built)
            {
                self.error(
                    &r.span,
                    format!(
                        "notifier '{}' of kind `{kind}` cannot send formatter '{}': its output is \
                         `json`, which only a `webhook` notifier sends; use output `mrkdwn` or `blocks`",
                        notifier.value, r.value
                    ),
                );
            }
        }
        self.notification_type_mismatches(services, notifiers, formatters);
    }

    /// A `slack-blocks` formatter restricted to one notification type, fed alerts of another
    /// (PRODUCT.md §3.3): works, with the generic layout, so it is a warning.
    fn notification_type_mismatches(
        &mut self,
        services: &[ParsedService],
        notifiers: &[ParsedNotifier],
        formatters: &[ParsedFormatter],
    ) {
        for s in services {
            let Some(service) = &s.built else { continue };
            let gets = service.kind.notification_type();
            for r in &s.notifiers {
                let Some(notifier) = notifiers
                    .iter()
                    .find(|n| n.name.as_ref().is_some_and(|x| x.value == r.value))
                else {
                    continue;
                };
                let Some(fname) = &notifier.formatter else {
                    continue;
                };
                let Some(formatter) = formatters
                    .iter()
                    .find(|f| f.name.as_ref().is_some_and(|x| x.value == fname.value))
                else {
                    continue;
                };
                if let Some(FormatterConfig {
                    kind:
                        FormatterKind::SlackBlocks {
                            notification_type: Some(made_for),
                        },
                    ..
                }) = &formatter.built
                    && *made_for != gets
                {
                    self.warn(
                        &formatter.notification_type_span,
                        format!(
                            "formatter '{}' is for `{made_for}` alerts, but notifier '{}' gets \
                             `{gets}` alerts from service '{}': those use the generic layout",
                            fname.value, r.value, service.name
                        ),
                    );
                }
            }
        }
    }
}

/// The entry's `kind` (or `auth`) when it is a valid one, without reporting anything.
fn peek_kind(e: &Entry<'_>, rules: &KeyRules) -> Option<&'static str> {
    let written = e.table.get(rules.field).and_then(Item::as_str)?;
    rules
        .by_kind
        .iter()
        .map(|(k, _)| *k)
        .find(|k| *k == written)
}

fn sort_by_place(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.line, d.column));
}

fn written_table(key: &str) -> &'static str {
    TOP_LEVEL
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, written)| *written)
}

fn join<'s>(items: impl Iterator<Item = &'s str>, sep: &str) -> String {
    items.collect::<Vec<_>>().join(sep)
}

/// "unknown kind `slak` in [[notifiers]] 'x' — did you mean `slack`?" or, with nothing close,
/// the list of what is valid.
fn unknown_value(what: &str, context: &str, got: &str, valid: &[&str]) -> String {
    match did_you_mean(got, valid.iter().copied()) {
        Some(s) => format!(
            "unknown {what} `{got}` in {context} — did you mean `{s}`? (valid: {})",
            valid.join(", ")
        ),
        None => format!(
            "unknown {what} `{got}` in {context}; valid: {}",
            valid.join(", ")
        ),
    }
}

/// "service 'watchlist' refers to notifier 'soc-slak', which is not defined — did you mean
/// 'soc-slack'?"
fn missing_reference(from: &str, what: &str, name: &str, defined: &[&str]) -> String {
    let head = format!("{from} refers to {what} '{name}', which is not defined");
    match did_you_mean(name, defined.iter().copied()) {
        Some(s) => format!("{head} — did you mean '{s}'?"),
        None if defined.is_empty() => format!("{head}; no [[{what}s]] are defined"),
        None => format!(
            "{head}; defined {what}s: {}",
            defined
                .iter()
                .map(|d| format!("'{d}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => describe_value(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Header names whose values are credentials, so a literal value deserves the secret warning.
fn looks_like_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "key",
        "secret",
        "pass",
        "cookie",
        "signature",
    ]
    .iter()
    .any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let text = "a = 1\nb = \"é\" x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After "b = \"é\" " the column counts é as one character.
        let x = text.find('x').unwrap();
        assert_eq!(line_col(text, x), (2, 9));
    }

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(
            did_you_mean("chanels", ["channels", "users"]),
            Some("channels")
        );
        assert_eq!(
            did_you_mean("soc-slak", ["soc-slack", "soar-hook"]),
            Some("soc-slack")
        );
        assert_eq!(did_you_mean("Scor", ["score", "status"]), Some("score"));
        assert_eq!(did_you_mean("zzz", ["channels", "users"]), None);
    }
}
