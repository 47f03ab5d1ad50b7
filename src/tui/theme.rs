//! Themes name roles, not colours (STYLE.md habit 8): widgets ask for `theme.style(Role::Ok)`
//! and never pick a colour. Themes are TOML files — the shipped ones compiled in from
//! `themes/`, the user's own in `$XDG_CONFIG_HOME/tq-alerts/themes/` — and inherit from a
//! parent role by role, falling back to `default`. A bad theme is a warning, never a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::slack::render::RenderStyles;

/// What a piece of the screen means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Text,
    Muted,
    Border,
    Focus,
    Title,
    Selection,
    SelectionUnfocused,
    Ok,
    Warn,
    Error,
    Accent,
    Header,
    Link,
    Code,
    Mention,
    QuoteBar,
    Button,
    ButtonPrimary,
    ButtonDanger,
    Divider,
    Key,
    StatusBar,
    Input,
}

impl Role {
    pub const ALL: [Role; 23] = [
        Role::Text,
        Role::Muted,
        Role::Border,
        Role::Focus,
        Role::Title,
        Role::Selection,
        Role::SelectionUnfocused,
        Role::Ok,
        Role::Warn,
        Role::Error,
        Role::Accent,
        Role::Header,
        Role::Link,
        Role::Code,
        Role::Mention,
        Role::QuoteBar,
        Role::Button,
        Role::ButtonPrimary,
        Role::ButtonDanger,
        Role::Divider,
        Role::Key,
        Role::StatusBar,
        Role::Input,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Border => "border",
            Role::Focus => "focus",
            Role::Title => "title",
            Role::Selection => "selection",
            Role::SelectionUnfocused => "selection_unfocused",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Error => "error",
            Role::Accent => "accent",
            Role::Header => "header",
            Role::Link => "link",
            Role::Code => "code",
            Role::Mention => "mention",
            Role::QuoteBar => "quote_bar",
            Role::Button => "button",
            Role::ButtonPrimary => "button_primary",
            Role::ButtonDanger => "button_danger",
            Role::Divider => "divider",
            Role::Key => "key",
            Role::StatusBar => "status_bar",
            Role::Input => "input",
        }
    }
}

/// The shipped themes, compiled in so the binary needs no files.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
    ("nightwatch", include_str!("../../themes/nightwatch.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, String>,
}

/// A resolved theme: a style for every role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<Role, Style>,
    /// False for `mono`: colour carries nothing, symbols and modifiers carry everything.
    pub colors: bool,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// The border of a pane: the focus role when focused.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.style(Role::Focus)
        } else {
            self.style(Role::Border)
        }
    }

    /// A selected row: full selection when the pane has focus, a lighter mark otherwise.
    pub fn selection(&self, focused: bool) -> Style {
        if focused {
            self.style(Role::Selection)
        } else {
            self.style(Role::SelectionUnfocused)
        }
    }

    /// The styles the Slack renderer draws a message with.
    pub fn render_styles(&self) -> RenderStyles {
        RenderStyles {
            text: self.style(Role::Text),
            muted: self.style(Role::Muted),
            header: self.style(Role::Header),
            link: self.style(Role::Link),
            code: self.style(Role::Code),
            mention: self.style(Role::Mention),
            quote_bar: self.style(Role::QuoteBar),
            button: self.style(Role::Button),
            button_primary: self.style(Role::ButtonPrimary),
            button_danger: self.style(Role::ButtonDanger),
            divider: self.style(Role::Divider),
            error: self.style(Role::Error),
            attachment_colors: self.colors,
        }
    }

    /// The built-in `default` theme (the terminal's 16 colours).
    pub fn default_theme() -> Theme {
        resolve("default", &Sources::built_in_only()).unwrap_or_else(|_| Theme {
            name: "default".into(),
            styles: BTreeMap::new(),
            colors: true,
        })
    }

    pub fn mono() -> Theme {
        resolve("mono", &Sources::built_in_only()).unwrap_or_else(|_| Theme::default_theme())
    }
}

/// Where theme files come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The user's theme folder, if any.
    pub user_dir: Option<PathBuf>,
}

impl Sources {
    pub fn built_in_only() -> Self {
        Sources { user_dir: None }
    }

    /// `$XDG_CONFIG_HOME/tq-alerts/themes` (or `~/.config/...`).
    pub fn standard() -> Self {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
        Sources {
            user_dir: base.map(|b| b.join("tq-alerts/themes")),
        }
    }

    /// The text of a theme by name or path: a path (has `/` or ends in `.toml`), then the user
    /// folder, then the built-ins.
    fn text(&self, name: &str) -> Result<(String, String), String> {
        if name.contains('/') || name.ends_with(".toml") {
            return std::fs::read_to_string(name)
                .map(|t| (name.to_string(), t))
                .map_err(|e| format!("theme file {name}: {e}"));
        }
        if let Some(dir) = &self.user_dir {
            let path = dir.join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Ok((path.display().to_string(), text));
            }
        }
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (format!("built-in theme {n}"), t.to_string()))
            .ok_or_else(|| {
                let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                format!("no theme named `{name}` (built-in: {})", names.join(", "))
            })
    }
}

/// Load a theme by name or path. On any problem, the warning says what and where, and the
/// `default` theme is used.
pub fn load(name: &str, sources: &Sources) -> (Theme, Option<String>) {
    match resolve(name, sources) {
        Ok(theme) => (theme, None),
        Err(warning) => (
            Theme::default_theme(),
            Some(format!("{warning}; using the default theme")),
        ),
    }
}

fn resolve(name: &str, sources: &Sources) -> Result<Theme, String> {
    // Walk the parent chain (child first), refusing loops.
    let mut chain: Vec<(String, ThemeFile)> = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(current) = next.take() {
        if chain.len() > 8 || chain.iter().any(|(n, _)| *n == current) {
            return Err(format!(
                "theme `{name}`: its parents form a loop at `{current}`"
            ));
        }
        let (origin, text) = sources.text(&current)?;
        let file: ThemeFile =
            toml::from_str(&text).map_err(|e| format!("{origin}: {}", one_line(&e.to_string())))?;
        next = file.parent.clone();
        chain.push((current, file));
    }
    // Apply from the root down, so each child overrides its parent role by role; `default`
    // fills whatever no theme in the chain names.
    let mut styles = BTreeMap::new();
    if chain.last().is_none_or(|(n, _)| n != "default") && name != "mono" {
        let (_, text) = sources.text("default")?;
        let base: ThemeFile = toml::from_str(&text).map_err(|e| e.to_string())?;
        apply(&mut styles, &base, "default")?;
    }
    for (theme_name, file) in chain.iter().rev() {
        apply(&mut styles, file, theme_name)?;
    }
    let display = chain
        .first()
        .and_then(|(_, f)| f.name.clone())
        .unwrap_or_else(|| name.to_string());
    let plain = |c: Option<Color>| c.is_none_or(|c| c == Color::Reset);
    let colors = !styles.values().all(|s: &Style| plain(s.fg) && plain(s.bg));
    Ok(Theme {
        name: display,
        styles,
        colors,
    })
}

fn apply(styles: &mut BTreeMap<Role, Style>, file: &ThemeFile, theme: &str) -> Result<(), String> {
    for (key, spec) in &file.roles {
        let role = Role::ALL
            .into_iter()
            .find(|r| r.key() == key)
            .ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
                let hint = known
                    .iter()
                    .max_by(|a, b| {
                        strsim::jaro_winkler(a, key).total_cmp(&strsim::jaro_winkler(b, key))
                    })
                    .filter(|k| strsim::jaro_winkler(k, key) > 0.8)
                    .map(|k| format!(" — did you mean `{k}`?"))
                    .unwrap_or_default();
                format!("theme `{theme}`: unknown role `{key}`{hint}")
            })?;
        let style = parse_style(spec).map_err(|e| format!("theme `{theme}`, role `{key}`: {e}"))?;
        styles.insert(role, style);
    }
    Ok(())
}

/// `"cyan bold"`, `"black on bright_yellow"`, `"#88c0d0 underline"`, `"reverse"`.
pub fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::new();
    let mut words = spec.split_whitespace().peekable();
    let mut fg_set = false;
    while let Some(word) = words.next() {
        let modifier = match word {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underline" => Some(Modifier::UNDERLINED),
            "reverse" => Some(Modifier::REVERSED),
            "strike" => Some(Modifier::CROSSED_OUT),
            _ => None,
        };
        if let Some(m) = modifier {
            style = style.add_modifier(m);
            continue;
        }
        if word == "on" {
            let bg = words.next().ok_or("`on` needs a colour after it")?;
            style = style.bg(parse_color(bg)?);
            continue;
        }
        if fg_set {
            return Err(format!(
                "two foreground colours (`{word}`); use `on` for a background"
            ));
        }
        style = style.fg(parse_color(word)?);
        fg_set = true;
    }
    Ok(style)
}

fn parse_color(word: &str) -> Result<Color, String> {
    let named = match word {
        "reset" => Some(Color::Reset),
        "black" => Some(Color::Black),
        "red" => Some(Color::Red),
        "green" => Some(Color::Green),
        "yellow" => Some(Color::Yellow),
        "blue" => Some(Color::Blue),
        "magenta" => Some(Color::Magenta),
        "cyan" => Some(Color::Cyan),
        "white" => Some(Color::Gray),
        "bright_black" => Some(Color::DarkGray),
        "bright_red" => Some(Color::LightRed),
        "bright_green" => Some(Color::LightGreen),
        "bright_yellow" => Some(Color::LightYellow),
        "bright_blue" => Some(Color::LightBlue),
        "bright_magenta" => Some(Color::LightMagenta),
        "bright_cyan" => Some(Color::LightCyan),
        "bright_white" => Some(Color::White),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    if let Some(hex) = word.strip_prefix('#')
        && hex.len() == 6
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Some(n) = word.strip_prefix("color")
        && let Ok(i) = n.parse::<u8>()
    {
        return Ok(Color::Indexed(i));
    }
    Err(format!(
        "unknown colour `{word}` (use an ANSI name like `cyan` or `bright_black`, `color0`…`color255`, or `#rrggbb`)"
    ))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_loads_without_warnings_and_covers_every_role() {
        for (name, _) in BUILT_IN {
            let (theme, warning) = load(name, &Sources::built_in_only());
            assert_eq!(warning, None, "{name}");
            for role in Role::ALL {
                assert!(
                    theme.styles.contains_key(&role),
                    "{name} lacks {}",
                    role.key()
                );
            }
        }
    }

    #[test]
    fn a_child_theme_overrides_its_parent_role_by_role() {
        let (light, _) = load("light", &Sources::built_in_only());
        let (default, _) = load("default", &Sources::built_in_only());
        assert_ne!(light.style(Role::Focus), default.style(Role::Focus));
        assert_eq!(light.style(Role::Selection), default.style(Role::Selection));
    }

    #[test]
    fn mono_uses_no_colour_at_all() {
        let mono = Theme::mono();
        assert!(!mono.colors);
        for role in Role::ALL {
            let s = mono.style(role);
            assert!(
                s.fg.is_none() || s.fg == Some(Color::Reset),
                "{}",
                role.key()
            );
            assert!(s.bg.is_none(), "{}", role.key());
        }
        assert!(
            mono.style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn a_bad_theme_is_a_warning_and_the_default_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, "[roles]\nfocuss = \"cyan\"\n").unwrap();
        let (theme, warning) = load(path.to_str().unwrap(), &Sources::built_in_only());
        assert_eq!(theme, Theme::default_theme());
        let warning = warning.unwrap();
        assert!(
            warning.contains("unknown role `focuss`") && warning.contains("did you mean `focus`"),
            "{warning}"
        );

        std::fs::write(&path, "[roles]\nfocus = \"cyann\"\n").unwrap();
        let (_, warning) = load(path.to_str().unwrap(), &Sources::built_in_only());
        assert!(warning.unwrap().contains("unknown colour `cyann`"));

        let (_, warning) = load("solarized", &Sources::built_in_only());
        assert!(warning.unwrap().contains("no theme named `solarized`"));
    }

    #[test]
    fn a_user_theme_in_the_user_folder_inherits_from_a_built_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("soc.toml"),
            "parent = \"nightwatch\"\n[roles]\nfocus = \"#ff8800 bold\"\n",
        )
        .unwrap();
        let sources = Sources {
            user_dir: Some(dir.path().to_path_buf()),
        };
        let (theme, warning) = load("soc", &sources);
        assert_eq!(warning, None);
        assert_eq!(theme.style(Role::Focus).fg, Some(Color::Rgb(0xff, 0x88, 0)));
        assert_eq!(theme.style(Role::Ok).fg, Some(Color::Rgb(0xa3, 0xbe, 0x8c)));
    }

    #[test]
    fn styles_parse_colours_backgrounds_and_modifiers() {
        let s = parse_style("black on bright_yellow bold").unwrap();
        assert_eq!(s.fg, Some(Color::Black));
        assert_eq!(s.bg, Some(Color::LightYellow));
        assert!(s.add_modifier.contains(Modifier::BOLD));
        assert_eq!(
            parse_style("color242").unwrap().fg,
            Some(Color::Indexed(242))
        );
        assert!(parse_style("red blue").is_err());
    }
}
