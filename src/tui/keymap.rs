//! Keys become actions through one table (STYLE.md habit 7). Each binding has a scope and a
//! description; the `?` help and the hint bar are built from the same table, and `[keys]` in
//! the config replaces the keys of an action by name.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    FocusNext,
    FocusPrev,
    FocusPane(u8),
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Help,
    Quit,
    /// Closes an overlay or leaves the editor; never changes anything.
    Close,
    Toggle,
    RunNow,
    Attach,
    Detach,
    SetFormatter,
    SendTest,
    EditTemplate,
    PrevAlert,
    NextAlert,
    ToggleJson,
    Details,
    Retry,
    Filter,
    ReloadConfig,
    Save,
    /// A line break in the editor, where a terminal takes Enter.
    Newline,
}

impl Action {
    /// The name used in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::FocusPane(1) => "pane_1",
            Action::FocusPane(2) => "pane_2",
            Action::FocusPane(3) => "pane_3",
            Action::FocusPane(4) => "pane_4",
            Action::FocusPane(_) => "pane_5",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::First => "first",
            Action::Last => "last",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Close => "close",
            Action::Toggle => "toggle",
            Action::RunNow => "run_now",
            Action::Attach => "attach",
            Action::Detach => "detach",
            Action::SetFormatter => "formatter",
            Action::SendTest => "send_test",
            Action::EditTemplate => "edit",
            Action::PrevAlert => "prev_alert",
            Action::NextAlert => "next_alert",
            Action::ToggleJson => "json",
            Action::Details => "details",
            Action::Retry => "retry",
            Action::Filter => "filter",
            Action::ReloadConfig => "reload",
            Action::Save => "save",
            Action::Newline => "newline",
        }
    }

    /// Whether the action changes configuration or state (refused in read-only mode).
    pub fn changes_something(self) -> bool {
        matches!(
            self,
            Action::Toggle
                | Action::RunNow
                | Action::Attach
                | Action::Detach
                | Action::SetFormatter
                | Action::SendTest
                | Action::Retry
                | Action::Save
        )
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Services,
    Attached,
    Preview,
    Worker,
    Deliveries,
    Editor,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Services => "Services",
            Scope::Attached => "Attached",
            Scope::Preview => "Preview",
            Scope::Worker => "Worker",
            Scope::Deliveries => "Deliveries",
            Scope::Editor => "Template editor",
        }
    }
}

/// One key with its modifiers, as written in `[keys]`: `q`, `R`, `space`, `ctrl-s`, `alt-enter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Chord {
    pub const fn key(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    pub const fn code(code: KeyCode) -> Chord {
        Chord {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// The chord a key event is. Shift is folded into the character (`R` is shift-r) and
    /// into `BackTab`, so bindings never need to spell it.
    pub fn from_event(event: &KeyEvent) -> Chord {
        let code = match event.code {
            KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Chord {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        loop {
            if let Some(r) = rest
                .strip_prefix("ctrl-")
                .or_else(|| rest.strip_prefix("c-"))
            {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest
                .strip_prefix("alt-")
                .or_else(|| rest.strip_prefix("m-"))
            {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "space" => KeyCode::Char(' '),
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "page_up" => KeyCode::PageUp,
            "pagedown" | "page_down" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            s if s.chars().count() == 1 => {
                let c = s.chars().next().unwrap_or(' ');
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => {
                return Err(format!(
                    "`{text}` is not a key (try `q`, `space`, `ctrl-s`, `f5`)"
                ));
            }
        };
        if alt && !ctrl && matches!(code, KeyCode::Char(_)) {
            // Over SSH an Alt chord arrives as Esc then the key: it is never safe to bind.
            return Err(format!(
                "`{text}`: Alt chords arrive split over SSH; pick a plain or ctrl key"
            ));
        }
        Ok(Chord { code, ctrl, alt })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub action: Action,
    pub scope: Scope,
    pub keys: Vec<Chord>,
    pub description: &'static str,
    /// The short word in the hint bar; `None` keeps it out of the hint bar (help still lists it).
    pub hint: Option<&'static str>,
}

fn b(
    action: Action,
    scope: Scope,
    keys: &[Chord],
    description: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        action,
        scope,
        keys: keys.to_vec(),
        description,
        hint,
    }
}

/// The default key table.
pub fn defaults() -> Vec<Binding> {
    use Action::*;
    use Scope::*;
    let c = Chord::code;
    let k = Chord::key;
    vec![
        b(
            Toggle,
            Services,
            &[k(' ')],
            "turn the service on or off (saved to the config)",
            Some("on/off"),
        ),
        b(
            RunNow,
            Services,
            &[k('r')],
            "run the service now",
            Some("run now"),
        ),
        b(
            Attach,
            Attached,
            &[k('a')],
            "attach a notifier to the service",
            Some("attach"),
        ),
        b(
            Detach,
            Attached,
            &[k('d')],
            "detach the selected notifier",
            Some("detach"),
        ),
        b(
            SetFormatter,
            Attached,
            &[k('f')],
            "set the notifier's formatter",
            Some("formatter"),
        ),
        b(
            SendTest,
            Attached,
            &[k('t')],
            "send a test message through the notifier",
            Some("test"),
        ),
        b(
            EditTemplate,
            Attached,
            &[k('e')],
            "edit the formatter's template",
            Some("edit"),
        ),
        b(
            PrevAlert,
            Preview,
            &[k('[')],
            "previous alert",
            Some("prev"),
        ),
        b(NextAlert, Preview, &[k(']')], "next alert", Some("next")),
        b(
            ToggleJson,
            Preview,
            &[k('J')],
            "show the exact JSON payload",
            Some("JSON"),
        ),
        b(
            EditTemplate,
            Preview,
            &[k('e')],
            "edit the formatter's template",
            Some("edit"),
        ),
        b(
            Details,
            Deliveries,
            &[c(crossterm::event::KeyCode::Enter)],
            "show the delivery in full",
            Some("details"),
        ),
        b(
            Retry,
            Deliveries,
            &[k('R')],
            "retry a failed delivery",
            Some("retry"),
        ),
        b(
            Filter,
            Deliveries,
            &[k('/')],
            "filter deliveries",
            Some("filter"),
        ),
        b(
            Save,
            Editor,
            &[Chord::ctrl('s')],
            "save the template to the config",
            Some("save"),
        ),
        b(
            Newline,
            Editor,
            &[
                Chord::ctrl('j'),
                Chord {
                    code: KeyCode::Enter,
                    ctrl: false,
                    alt: true,
                },
            ],
            "a line break (Enter works too where the terminal passes it)",
            None,
        ),
        b(
            Close,
            Editor,
            &[c(KeyCode::Esc)],
            "leave the editor (asks when unsaved)",
            Some("leave"),
        ),
        b(
            FocusNext,
            Global,
            &[c(KeyCode::Tab)],
            "next pane",
            Some("next pane"),
        ),
        b(
            FocusPrev,
            Global,
            &[c(KeyCode::BackTab)],
            "previous pane",
            None,
        ),
        b(FocusPane(1), Global, &[k('1')], "go to Services", None),
        b(FocusPane(2), Global, &[k('2')], "go to Attached", None),
        b(FocusPane(3), Global, &[k('3')], "go to Preview", None),
        b(FocusPane(4), Global, &[k('4')], "go to Worker", None),
        b(FocusPane(5), Global, &[k('5')], "go to Deliveries", None),
        b(Up, Global, &[c(KeyCode::Up), k('k')], "move up", None),
        b(Down, Global, &[c(KeyCode::Down), k('j')], "move down", None),
        b(PageUp, Global, &[c(KeyCode::PageUp)], "page up", None),
        b(PageDown, Global, &[c(KeyCode::PageDown)], "page down", None),
        b(
            First,
            Global,
            &[c(KeyCode::Home), k('g')],
            "first row",
            None,
        ),
        b(Last, Global, &[c(KeyCode::End), k('G')], "last row", None),
        b(
            ReloadConfig,
            Global,
            &[Chord::ctrl('r')],
            "reload the config from disk",
            None,
        ),
        b(Help, Global, &[k('?')], "help: every key", Some("help")),
        b(Close, Global, &[c(KeyCode::Esc)], "close an overlay", None),
        b(
            Quit,
            Global,
            &[k('q')],
            "quit (asks while deliveries are in flight)",
            Some("quit"),
        ),
    ]
}

/// A `[keys]` entry that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// The entry's name in `[keys]` (an action name, or what was written).
    pub entry: String,
    pub message: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The table in use: defaults with the user's `[keys]` applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Keymap {
    /// Apply `[keys]` (action name → keys). Returns the keymap and a problem per bad entry;
    /// a bad entry is skipped (its action keeps its default keys), the rest still apply.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> (Keymap, Vec<KeyProblem>) {
        let defaults = defaults();
        let mut bindings = defaults.clone();
        let mut problems = Vec::new();
        let problem = |entry: &str, message: String| KeyProblem {
            entry: entry.to_string(),
            message,
        };
        for (name, keys) in overrides {
            let matching: Vec<usize> = bindings
                .iter()
                .enumerate()
                .filter(|(_, b)| b.action.name() == name)
                .map(|(i, _)| i)
                .collect();
            if matching.is_empty() {
                let mut names: Vec<&str> = bindings.iter().map(|b| b.action.name()).collect();
                names.sort_unstable();
                names.dedup();
                let hint = crate::config::load::did_you_mean(name, names.iter().copied())
                    .map(|n| format!(" — did you mean `{n}`?"))
                    .unwrap_or_else(|| format!(" (actions: {})", names.join(", ")));
                problems.push(problem(
                    name,
                    format!("[keys]: unknown action `{name}`{hint}"),
                ));
                continue;
            }
            let mut chords = Vec::new();
            for key in keys {
                match Chord::parse(key) {
                    Ok(c) if c.code == KeyCode::Esc && name != Action::Close.name() => problems.push(problem(
                        name,
                        format!("[keys] {name}: Esc only closes overlays and leaves the editor; pick another key"),
                    )),
                    Ok(c) => chords.push(c),
                    Err(e) => problems.push(problem(name, format!("[keys] {name}: {e}"))),
                }
            }
            if chords.is_empty() {
                continue;
            }
            for i in matching {
                bindings[i].keys = chords.clone();
            }
        }
        // Two actions on one key in one scope: the first in the table would win silently, and
        // an action could be left with no key at all. The user's entry is refused instead: its
        // action keeps its default keys.
        let mut seen: BTreeMap<(Scope, String), Action> = BTreeMap::new();
        for i in 0..bindings.len() {
            let binding = bindings[i].clone();
            for chord in &binding.keys {
                let key = (binding.scope, format!("{chord}"));
                match seen.get(&key) {
                    Some(other) if *other != binding.action => {
                        let (refused, kept) = if overrides.contains_key(binding.action.name()) {
                            (binding.action, *other)
                        } else {
                            (*other, binding.action)
                        };
                        problems.push(problem(
                            refused.name(),
                            format!(
                                "[keys] {}: `{chord}` already means `{}` in {}; `{}` keeps its default keys",
                                refused.name(),
                                kept.name(),
                                binding.scope.title(),
                                refused.name()
                            ),
                        ));
                        for (b, d) in bindings.iter_mut().zip(&defaults) {
                            if b.action == refused {
                                b.keys = d.keys.clone();
                            }
                        }
                    }
                    _ => {
                        seen.insert(key, binding.action);
                    }
                }
            }
        }
        (Keymap { bindings }, problems)
    }

    pub fn default_map() -> Keymap {
        Keymap {
            bindings: defaults(),
        }
    }

    /// The action for a key in a scope: the scope's own bindings first, then global ones.
    pub fn action(&self, scope: Scope, event: &KeyEvent) -> Option<Action> {
        let chord = Chord::from_event(event);
        let find = |s: Scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == s && b.keys.contains(&chord))
                .map(|b| b.action)
        };
        find(scope).or_else(|| {
            if scope == Scope::Editor {
                None
            } else {
                find(Scope::Global)
            }
        })
    }

    /// The first key of an action in a scope, for hints (`Space`, `a`).
    pub fn key_for(&self, scope: Scope, action: Action) -> Option<Chord> {
        self.bindings
            .iter()
            .find(|b| b.action == action && (b.scope == scope || b.scope == Scope::Global))
            .and_then(|b| b.keys.first().copied())
    }

    /// Hint bar entries for a scope: its own hinted bindings, then the global ones.
    pub fn hints(&self, scope: Scope) -> Vec<(String, &'static str)> {
        let own = self.bindings.iter().filter(|b| b.scope == scope);
        let global = self
            .bindings
            .iter()
            .filter(|b| b.scope == Scope::Global && scope != Scope::Editor);
        own.chain(global)
            .filter_map(|b| Some((b.keys.first()?.to_string(), b.hint?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn pane_keys_win_over_global_ones_and_globals_apply_everywhere() {
        let map = Keymap::default_map();
        let space = key(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Services, &space), Some(Action::Toggle));
        assert_eq!(map.action(Scope::Deliveries, &space), None);
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Deliveries, &q), Some(Action::Quit));
    }

    #[test]
    fn shift_is_folded_into_the_character() {
        let map = Keymap::default_map();
        let shifted_r = key(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(
            map.action(Scope::Deliveries, &shifted_r),
            Some(Action::Retry)
        );
        let ctrl_s = key(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(map.action(Scope::Editor, &ctrl_s), Some(Action::Save));
    }

    #[test]
    fn the_editor_never_falls_through_to_global_keys() {
        let map = Keymap::default_map();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            map.action(Scope::Editor, &q),
            None,
            "typing q in a template must not quit"
        );
    }

    #[test]
    fn no_action_that_changes_anything_sits_on_esc_or_an_alt_chord() {
        for binding in defaults() {
            if binding.action.changes_something() {
                for chord in &binding.keys {
                    assert_ne!(chord.code, KeyCode::Esc, "{binding:?}");
                    assert!(!chord.alt, "{binding:?}");
                }
            }
        }
    }

    #[test]
    fn user_overrides_replace_keys_and_bad_ones_are_warnings() {
        let overrides = BTreeMap::from([
            ("toggle".to_string(), vec!["x".to_string()]),
            ("togle".to_string(), vec!["y".to_string()]),
            ("quit".to_string(), vec!["alt-q".to_string()]),
        ]);
        let (map, warnings) = Keymap::with_overrides(&overrides);
        let x = key(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Services, &x), Some(Action::Toggle));
        assert!(
            warnings.iter().any(|w| w.entry == "togle"
                && w.message.contains("unknown action `togle`")
                && w.message.contains("did you mean `toggle`")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.message.contains("Alt chords arrive split")),
            "{warnings:?}"
        );
        // The bad quit override is skipped; q still quits.
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Services, &q), Some(Action::Quit));
    }

    #[test]
    fn a_key_already_taken_is_refused_and_the_action_keeps_its_keys() {
        let overrides = BTreeMap::from([("run_now".to_string(), vec!["space".to_string()])]);
        let (map, problems) = Keymap::with_overrides(&overrides);
        assert!(
            problems
                .iter()
                .any(|p| p.entry == "run_now"
                    && p.message.contains("`Space` already means `toggle`")),
            "{problems:?}"
        );
        let r = key(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Services, &r), Some(Action::RunNow));
        let space = key(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::Services, &space), Some(Action::Toggle));
    }

    #[test]
    fn esc_cannot_be_bound_to_anything_that_is_not_close() {
        let overrides = BTreeMap::from([("quit".to_string(), vec!["esc".to_string()])]);
        let (map, problems) = Keymap::with_overrides(&overrides);
        assert!(
            problems
                .iter()
                .any(|p| p.entry == "quit" && p.message.contains("Esc only closes")),
            "{problems:?}"
        );
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            map.action(Scope::Services, &q),
            Some(Action::Quit),
            "q still quits"
        );
    }
}
