//! The console's changes written back into the config file (PRODUCT.md §4): toggle a service,
//! attach or detach a notifier, set a notifier's formatter, replace a template.
//!
//! Edits go through a `toml_edit::DocumentMut`, so the operator's comments, order and spacing
//! survive; only the value that changed is rewritten. A save validates the new text first, refuses
//! to overwrite a file someone changed since it was read, keeps the previous file as
//! `<file>.bak`, and replaces the file atomically (temp file, fsync, rename, fsync the folder):
//! a crash at any moment leaves the old file or the new one, never half of either.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use toml_edit::{Array, ArrayOfTables, Decor, DocumentMut, Item, Key, RawString, Table, Value};

use crate::config::load::{self, ConfigError, Environment, did_you_mean, line_col};
use crate::config::model::Diagnostic;

/// Why an edit or a save did not happen. Nothing is written when any of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// The file on disk is not TOML.
    #[error("{0}")]
    Syntax(Diagnostic),
    #[error("{what} '{name}' not found in {}{}", file.display(), suggestion_suffix(suggestion.as_deref()))]
    NotFound {
        /// `service`, `notifier` or `formatter`.
        what: &'static str,
        name: String,
        file: PathBuf,
        suggestion: Option<String>,
    },
    #[error("notifier '{notifier}' is already attached to service '{service}'")]
    AlreadyAttached { service: String, notifier: String },
    #[error("notifier '{notifier}' is not attached to service '{service}'")]
    NotAttached { service: String, notifier: String },
    #[error(
        "formatter '{formatter}' is of kind `{kind}`; only a `template` formatter has a template"
    )]
    NotATemplate { formatter: String, kind: String },
    /// The file is written in a shape the editor does not change (e.g. inline tables).
    #[error("{}: {message}", file.display())]
    Unsupported { file: PathBuf, message: String },
    /// The edited text would not load; the file was left alone.
    #[error("the change would make the config invalid, so nothing was written:\n{0}")]
    Invalid(ConfigError),
    #[error(
        "{} changed on disk since it was read; nothing was written (reload it, then make the change again)",
        path.display()
    )]
    ChangedOnDisk { path: PathBuf },
}

fn suggestion_suffix(suggestion: Option<&str>) -> String {
    suggestion.map_or(String::new(), |s| format!(" — did you mean '{s}'?"))
}

/// A digest of the bytes on disk, to notice a change made by someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint([u8; 32]);

impl Fingerprint {
    fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

/// The config file as read, with the console's pending edits.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    /// The text as read or last saved.
    original: String,
    /// What was on disk when read or last saved.
    on_disk: Fingerprint,
    doc: DocumentMut,
}

impl ConfigFile {
    /// Reads the file. It must be TOML; whether it is a valid config is checked at `save`.
    pub fn open(path: &Path) -> Result<Self, EditError> {
        let bytes = fs::read(path).map_err(|source| EditError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        })?;
        let (original, doc) = Self::parse(path, &bytes)?;
        Ok(Self {
            path: path.to_path_buf(),
            original,
            on_disk: Fingerprint::of(&bytes),
            doc,
        })
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<(String, DocumentMut), EditError> {
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| EditError::Io {
            path: path.to_path_buf(),
            action: "read",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        })?;
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let (line, column) = line_col(&text, e.span().map_or(0, |s| s.start));
            EditError::Syntax(Diagnostic {
                file: path.to_path_buf(),
                line,
                column,
                message: load::syntax_message(&text, &e),
            })
        })?;
        Ok((text, doc))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text as it would be saved: the file with the pending edits.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// True when there are edits not saved yet.
    pub fn is_modified(&self) -> bool {
        self.text() != self.original
    }

    /// True when the file on disk is no longer what was read or last saved (the console
    /// offers to reload).
    pub fn changed_on_disk(&self) -> Result<bool, EditError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Fingerprint::of(&bytes) != self.on_disk),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => Err(EditError::Io {
                path: self.path.clone(),
                action: "read",
                source,
            }),
        }
    }

    /// Turns a service on or off; `enabled` is added after `kind` when the file lacks it.
    pub fn set_service_enabled(&mut self, service: &str, enabled: bool) -> Result<(), EditError> {
        let table = self.entry_mut("services", "service", service)?;
        set_value(table, "enabled", Value::from(enabled), Some("kind"));
        Ok(())
    }

    /// Appends a notifier to a service's `notifiers`, in the array's own layout.
    pub fn attach_notifier(&mut self, service: &str, notifier: &str) -> Result<(), EditError> {
        self.entry_mut("notifiers", "notifier", notifier)?;
        let file = self.path.clone();
        let table = self.entry_mut("services", "service", service)?;
        match table.get_mut("notifiers") {
            None => {
                let mut array = Array::new();
                array.push(notifier);
                set_value(table, "notifiers", Value::Array(array), None);
                Ok(())
            }
            Some(item) => {
                let array = item.as_array_mut().ok_or_else(|| EditError::Unsupported {
                    file,
                    message: format!("`notifiers` of service '{service}' is not an array"),
                })?;
                if array.iter().any(|v| v.as_str() == Some(notifier)) {
                    return Err(EditError::AlreadyAttached {
                        service: service.to_string(),
                        notifier: notifier.to_string(),
                    });
                }
                push_in_layout(array, Value::from(notifier));
                Ok(())
            }
        }
    }

    /// Removes a notifier from a service's `notifiers`, with the comment on its line.
    pub fn detach_notifier(&mut self, service: &str, notifier: &str) -> Result<(), EditError> {
        let table = self.entry_mut("services", "service", service)?;
        let not_attached = || EditError::NotAttached {
            service: service.to_string(),
            notifier: notifier.to_string(),
        };
        let array = table
            .get_mut("notifiers")
            .and_then(Item::as_array_mut)
            .ok_or_else(not_attached)?;
        let index = array
            .iter()
            .position(|v| v.as_str() == Some(notifier))
            .ok_or_else(not_attached)?;
        remove_in_layout(array, index);
        Ok(())
    }

    /// Sets the formatter a notifier uses (for every service it is attached to).
    pub fn set_formatter(&mut self, notifier: &str, formatter: &str) -> Result<(), EditError> {
        self.entry_mut("formatters", "formatter", formatter)?;
        let table = self.entry_mut("notifiers", "notifier", notifier)?;
        set_value(table, "formatter", Value::from(formatter), None);
        Ok(())
    }

    /// Replaces a `template` formatter's template, written so it reads back byte for byte
    /// (a `"""` string when it spans lines).
    pub fn set_template(&mut self, formatter: &str, template: &str) -> Result<(), EditError> {
        let file = self.path.clone();
        let table = self.entry_mut("formatters", "formatter", formatter)?;
        let kind = table.get("kind").and_then(Item::as_str).unwrap_or("");
        if kind != "template" {
            return Err(EditError::NotATemplate {
                formatter: formatter.to_string(),
                kind: kind.to_string(),
            });
        }
        let value = template_value(template).ok_or_else(|| EditError::Unsupported {
            file,
            message: format!("cannot write the template of formatter '{formatter}' exactly"),
        })?;
        set_value(table, "template", value, None);
        Ok(())
    }

    /// Writes the edits: validated with `parse` first, refused when the file changed on disk,
    /// the old file kept as `<file>.bak`, the new one put in place atomically with the old
    /// file's permissions.
    pub fn save(&mut self, env: &dyn Environment) -> Result<(), EditError> {
        let text = self.text();
        load::parse(&text, &self.path, env).map_err(EditError::Invalid)?;
        // A symlinked config (dotfile managers) is updated where it really lives.
        let target = fs::canonicalize(&self.path).map_err(|e| self.read_error(e))?;
        let current = fs::read(&target).map_err(|e| self.read_error(e))?;
        if Fingerprint::of(&current) != self.on_disk {
            return Err(EditError::ChangedOnDisk {
                path: self.path.clone(),
            });
        }
        let permissions = fs::metadata(&target)
            .map_err(|e| self.read_error(e))?
            .permissions();
        write_atomically(&with_suffix(&target, ".bak"), &current, &permissions)?;
        write_atomically(&target, text.as_bytes(), &permissions)?;
        self.on_disk = Fingerprint::of(text.as_bytes());
        self.original = text;
        Ok(())
    }

    /// Drops the pending edits and reads the file again.
    pub fn reload(&mut self) -> Result<(), EditError> {
        *self = Self::open(&self.path)?;
        Ok(())
    }

    fn read_error(&self, source: std::io::Error) -> EditError {
        if source.kind() == std::io::ErrorKind::NotFound {
            EditError::ChangedOnDisk {
                path: self.path.clone(),
            }
        } else {
            EditError::Io {
                path: self.path.clone(),
                action: "read",
                source,
            }
        }
    }

    /// The `[[table]]` entry whose `name` is `name`.
    fn entry_mut(
        &mut self,
        table: &'static str,
        what: &'static str,
        name: &str,
    ) -> Result<&mut Table, EditError> {
        let file = self.path.clone();
        let not_found = |suggestion: Option<String>| EditError::NotFound {
            what,
            name: name.to_string(),
            file: file.clone(),
            suggestion,
        };
        let Some(item) = self.doc.get_mut(table) else {
            return Err(not_found(None));
        };
        let entries: &mut ArrayOfTables =
            item.as_array_of_tables_mut()
                .ok_or_else(|| EditError::Unsupported {
                    file: file.clone(),
                    message: format!(
                        "the console edits `{table}` written as [[{table}]] tables; this file writes them another way"
                    ),
                })?;
        let names: Vec<String> = entries
            .iter()
            .filter_map(|t| t.get("name").and_then(Item::as_str).map(String::from))
            .collect();
        match names.iter().position(|n| n == name) {
            Some(index) => entries.get_mut(index).ok_or_else(|| not_found(None)),
            None => {
                let suggestion = did_you_mean(name, names.iter().map(String::as_str));
                Err(not_found(suggestion.map(String::from)))
            }
        }
    }
}

/// Replaces `key`'s value keeping its decor (spacing, trailing comment), or adds the key after
/// `after` (else at the end of the table) in the style of its neighbours.
fn set_value(table: &mut Table, key: &str, mut value: Value, after: Option<&str>) {
    if let Some(item) = table.get_mut(key) {
        if let Some(old) = item.as_value() {
            *value.decor_mut() = old.decor().clone();
        }
        *item = Item::Value(value);
        return;
    }
    let after = after.filter(|a| table.contains_key(a));
    // The neighbour whose style the new line copies: `after`, else the last key.
    let neighbour = after
        .map(String::from)
        .or_else(|| table.iter().last().map(|(k, _)| k.to_string()));
    let mut new_key = Key::new(key);
    if let Some(n) = &neighbour
        && let Some((k, item)) = table.get_key_value(n)
        && let Some(v) = item.as_value()
    {
        let indent = raw(k.leaf_decor().prefix())
            .rsplit('\n')
            .next()
            .filter(|s| s.chars().all(|c| c == ' ' || c == '\t'))
            .unwrap_or("")
            .to_string();
        let key_suffix = raw(k.leaf_decor().suffix()).to_string();
        new_key = new_key.with_leaf_decor(Decor::new(indent, key_suffix));
        *value.decor_mut() = Decor::new(raw(v.decor().prefix()).to_string(), "");
    }
    let Some(after) = after else {
        table.insert_formatted(&new_key, Item::Value(value));
        return;
    };
    // toml_edit appends new keys; keys after `after` are taken out and put back behind it.
    let later: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .skip_while(|k| k != after)
        .skip(1)
        .collect();
    let moved: Vec<(Key, Item)> = later.iter().filter_map(|k| table.remove_entry(k)).collect();
    table.insert_formatted(&new_key, Item::Value(value));
    for (k, item) in moved {
        table.insert_formatted(&k, item);
    }
}

fn raw(s: Option<&RawString>) -> &str {
    s.and_then(RawString::as_str).unwrap_or("")
}

/// Splits whitespace-and-comments at its first line break: (the rest of the line with the
/// break, everything after). `None` when it holds no line break.
fn split_first_line(s: &str) -> Option<(&str, &str)> {
    s.find('\n').map(|i| s.split_at(i + 1))
}

/// Appends `value` as the array's last element, laid out like the others: on its own line in a
/// multi-line array (the comment that ended the previous line stays there), after a space in a
/// one-line array.
fn push_in_layout(array: &mut Array, mut value: Value) {
    let len = array.len();
    // Whitespace and comments between the last value and `]`.
    let closing = if len == 0 || array.trailing_comma() {
        raw(Some(array.trailing())).to_string()
    } else {
        array
            .get(len - 1)
            .map(|v| raw(v.decor().suffix()).to_string())
            .unwrap_or_default()
    };
    let last_prefix = array
        .get(len.saturating_sub(1))
        .map(|v| raw(v.decor().prefix()).to_string())
        .unwrap_or_default();
    let (prefix, closing) = match closing.rfind('\n') {
        // Multi-line: the new value goes on a new line before the line of `]`.
        Some(at) => {
            let (line_end, bracket_indent) = closing.split_at(at + 1);
            let indent = match last_prefix.rfind('\n') {
                Some(i) => last_prefix[i + 1..].to_string(),
                None => "    ".to_string(),
            };
            (format!("{line_end}{indent}"), format!("\n{bracket_indent}"))
        }
        None if len == 0 => (String::new(), closing),
        None => (" ".to_string(), closing),
    };
    value.decor_mut().set_prefix(prefix);
    if len == 0 || array.trailing_comma() {
        value.decor_mut().set_suffix("");
        array.set_trailing(closing);
    } else {
        value.decor_mut().set_suffix(closing);
        if let Some(last) = array.get_mut(len - 1) {
            last.decor_mut().set_suffix("");
        }
    }
    array.push_formatted(value);
}

/// Removes element `index`, with the comment that ends its line, keeping the layout of the rest.
fn remove_in_layout(array: &mut Array, index: usize) {
    let len = array.len();
    let removed = array.remove(index);
    let removed_prefix = raw(removed.decor().prefix()).to_string();
    let removed_suffix = raw(removed.decor().suffix()).to_string();
    if len == 1 {
        array.set_trailing("");
        array.set_trailing_comma(false);
        return;
    }
    if index + 1 < len {
        // The next element's prefix starts with the rest of the removed element's line.
        if let Some(next) = array.get_mut(index) {
            let next_prefix = raw(next.decor().prefix()).to_string();
            let prefix = match (
                split_first_line(&removed_prefix),
                split_first_line(&next_prefix),
            ) {
                (Some((line_end, _)), Some((_, rest))) => format!("{line_end}{rest}"),
                (None, Some((_, rest))) => format!("{removed_prefix}{rest}"),
                (_, None) => removed_prefix,
            };
            next.decor_mut().set_prefix(prefix);
        }
        return;
    }
    // The last element went: what closed the array after it now closes it after the new last
    // one, and the comment that ended the new last one's line stays with it.
    let kept_line_end = split_first_line(&removed_prefix).map_or("", |(line_end, _)| line_end);
    if array.trailing_comma() {
        let trailing = raw(Some(array.trailing())).to_string();
        let closing = match split_first_line(&trailing) {
            Some((_, rest)) if !kept_line_end.is_empty() => format!("{kept_line_end}{rest}"),
            _ => trailing,
        };
        array.set_trailing(closing);
    } else if let Some(last) = array.get_mut(index - 1) {
        let closing = match split_first_line(&removed_suffix) {
            Some((_, rest)) if !kept_line_end.is_empty() => format!("{kept_line_end}{rest}"),
            _ => removed_suffix,
        };
        last.decor_mut().set_suffix(closing);
    }
}

/// The template as a TOML string that reads back exactly: a multi-line basic string when it
/// spans lines, else a basic string. `None` if toml_edit would read it back differently.
fn template_value(template: &str) -> Option<Value> {
    let literal = if template.contains('\n') {
        format!("\"\"\"\n{}\"\"\"", escape_multiline(template))
    } else {
        format!("\"{}\"", escape_basic(template))
    };
    let value: Value = literal.parse().ok()?;
    (value.as_str() == Some(template)).then_some(value)
}

fn escape_control(c: char, out: &mut String) {
    out.push_str(&format!("\\u{:04X}", u32::from(c)));
}

fn escape_basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && u32::from(c) < 0x80 => escape_control(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// The body of a `"""` string: newlines and tabs as they are, backslashes and control
/// characters escaped, and quotes escaped where they could end the string (a run of three, or
/// the quotes just before the closing `"""`).
fn escape_multiline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                let run = chars[i..].iter().take_while(|&&q| q == '"').count();
                let at_end = i + run == chars.len();
                let escape = run >= 3 || at_end;
                for _ in 0..run {
                    out.push_str(if escape { "\\\"" } else { "\"" });
                }
                i += run;
                continue;
            }
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' => out.push(c),
            // A lone CR is not allowed, and CRLF may be normalised by a reader: always escape.
            '\r' => out.push_str("\\r"),
            c if c.is_control() && u32::from(c) < 0x80 => escape_control(c, &mut out),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `<path><suffix>` in the same folder: `config.toml.bak`, `config.toml.tmp`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
/// `<path>.tmp` in the same folder, fsync, rename over `path`, fsync the folder.
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    permissions: &fs::Permissions,
) -> Result<(), EditError> {
    let tmp = with_suffix(path, ".tmp");
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| EditError::Io {
            path: p,
            action,
            source,
        }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // Secrets may sit in the file: the temp file is private until it has the final mode.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io("create", &tmp))?;
    file.write_all(bytes).map_err(io("write", &tmp))?;
    file.set_permissions(permissions.clone())
        .map_err(io("set permissions of", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io("replace", path))?;
    sync_folder(path)
}

#[cfg(unix)]
fn sync_folder(path: &Path) -> Result<(), EditError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(|source| EditError::Io {
            path: folder.to_path_buf(),
            action: "sync",
            source,
        })
}

#[cfg(not(unix))]
fn sync_folder(_path: &Path) -> Result<(), EditError> {
    // Folders cannot be opened for syncing here; the rename itself is durable enough.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit_array(text: &str, f: impl FnOnce(&mut Array)) -> String {
        let mut doc: DocumentMut = text.parse().unwrap();
        f(doc["a"].as_array_mut().unwrap());
        doc.to_string()
    }

    #[test]
    fn push_keeps_one_line_arrays_on_one_line() {
        let push = |a: &mut Array| push_in_layout(a, Value::from("z"));
        assert_eq!(edit_array("a = []\n", push), "a = [\"z\"]\n");
        assert_eq!(edit_array("a = [\"x\"]\n", push), "a = [\"x\", \"z\"]\n");
        assert_eq!(
            edit_array("a = [ \"x\" ]\n", push),
            "a = [ \"x\", \"z\" ]\n"
        );
        assert_eq!(
            edit_array("a = [\"x\",\"y\", ]\n", push),
            "a = [\"x\",\"y\", \"z\", ]\n"
        );
    }

    #[test]
    fn push_puts_a_new_line_in_multi_line_arrays_and_leaves_comments_in_place() {
        let push = |a: &mut Array| push_in_layout(a, Value::from("z"));
        assert_eq!(
            edit_array("a = [\n  \"x\", # first\n  \"y\", # why\n]\n", push),
            "a = [\n  \"x\", # first\n  \"y\", # why\n  \"z\",\n]\n"
        );
        assert_eq!(
            edit_array("a = [\n    \"x\",\n    \"y\" # why\n    ]\n", push),
            "a = [\n    \"x\",\n    \"y\", # why\n    \"z\"\n    ]\n"
        );
        assert_eq!(edit_array("a = [\n]\n", push), "a = [\n    \"z\"\n]\n");
    }

    #[test]
    fn remove_takes_the_comment_on_its_line_and_keeps_the_layout() {
        let remove = |i: usize| move |a: &mut Array| remove_in_layout(a, i);
        assert_eq!(
            edit_array("a = [\"x\", \"y\"]\n", remove(0)),
            "a = [\"y\"]\n"
        );
        assert_eq!(
            edit_array("a = [\"x\", \"y\"]\n", remove(1)),
            "a = [\"x\"]\n"
        );
        assert_eq!(
            edit_array("a = [ \"x\", \"y\" ]\n", remove(1)),
            "a = [ \"x\" ]\n"
        );
        assert_eq!(edit_array("a = [ \"x\" ]\n", remove(0)), "a = []\n");
        let multi =
            "a = [\n  # the team\n  \"x\", # first\n  \"y\", # second\n  \"z\", # third\n]\n";
        assert_eq!(
            edit_array(multi, remove(0)),
            "a = [\n  \"y\", # second\n  \"z\", # third\n]\n"
        );
        assert_eq!(
            edit_array(multi, remove(1)),
            "a = [\n  # the team\n  \"x\", # first\n  \"z\", # third\n]\n"
        );
        assert_eq!(
            edit_array(multi, remove(2)),
            "a = [\n  # the team\n  \"x\", # first\n  \"y\", # second\n]\n"
        );
        assert_eq!(
            edit_array("a = [\n  \"x\", # first\n  \"y\" # second\n]\n", remove(1)),
            "a = [\n  \"x\" # first\n]\n"
        );
    }

    #[test]
    fn templates_are_written_as_toml_that_reads_back_exactly() {
        for t in [
            "one line",
            "two\nlines\n",
            "\nstarts with a newline",
            "quotes \" and \"\" and \"\"\" and \"\"\"\" end\"",
            "ends with quotes\n\"\"",
            "back\\slash\\\nat line end\\",
            "tab\there, CR\r\nand NUL\0 and DEL\u{7f}",
            "{{ object.value }} — ünïcödé 🚨 \u{202e}",
        ] {
            let v = template_value(t).unwrap_or_else(|| panic!("cannot write {t:?}"));
            assert_eq!(v.as_str(), Some(t));
            let doc: DocumentMut = format!("t = {v}\n").parse().unwrap();
            assert_eq!(doc["t"].as_str(), Some(t));
        }
        let v = template_value("a\nb\n").unwrap();
        assert_eq!(v.to_string(), "\"\"\"\na\nb\n\"\"\"");
    }
}
