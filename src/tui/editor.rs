//! The template editor: a `ratatui-textarea` holding the template text, with what the preview
//! needs to re-render on every keystroke (the text, whether it differs from the saved one, the
//! current error with its line and column).

use crossterm::event::KeyEvent;
use ratatui::style::Modifier;
use ratatui_textarea::TextArea;

use super::theme::{Role, Theme};

use crate::config::TemplateOutput;

pub struct Editor {
    /// The formatter being edited.
    pub formatter: String,
    pub output: TemplateOutput,
    pub textarea: TextArea<'static>,
    saved: String,
    /// The error of the text as it is now (`None` when it renders).
    pub error: Option<String>,
    /// Where the error is: 1-based line, and column when known.
    pub error_at: Option<(usize, Option<usize>)>,
}

impl Editor {
    pub fn new(formatter: &str, output: TemplateOutput, template: &str, theme: &Theme) -> Editor {
        let lines: Vec<String> = template.split('\n').map(str::to_string).collect();
        let mut textarea = TextArea::new(lines);
        textarea.set_max_histories(200);
        textarea.set_tab_length(2);
        // Templates have long lines; wrap them rather than scroll sideways.
        textarea.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        textarea.set_style(theme.style(Role::Text));
        textarea.set_cursor_line_style(theme.style(Role::Text));
        textarea.set_line_number_style(theme.style(Role::Muted));
        textarea.set_cursor_style(theme.style(Role::Text).add_modifier(Modifier::REVERSED));
        Editor {
            formatter: formatter.to_string(),
            output,
            textarea,
            saved: template.to_string(),
            error: None,
            error_at: None,
        }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_modified(&self) -> bool {
        self.text() != self.saved
    }

    pub fn mark_saved(&mut self) {
        self.saved = self.text();
    }

    /// A key typed in the editor (the key table's `newline` is handled before this). Returns
    /// whether the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let before = self.text();
        self.textarea.input(key);
        self.text() != before
    }

    /// Bracketed paste: inserted as typed text, line breaks and tabs included; other control
    /// characters (a pasted escape sequence) are dropped, so they never reach the config or a
    /// Slack message.
    pub fn paste(&mut self, text: &str) {
        let text: String = text
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
        self.textarea.insert_str(text);
    }
}
