//! The template editor beside the preview: the text, a status line, and the error (line and
//! column) while the template does not render.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Widget, Wrap};

use super::clean;
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(editor) = &app.editor else { return };
    let theme = &app.theme;
    let modified = if editor.is_modified() {
        " ● modified"
    } else {
        ""
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(theme.style(Role::Focus))
        .title(Line::from(vec![
            Span::styled(
                format!(
                    " Template '{}' ({})",
                    clean(&editor.formatter),
                    editor.output.as_str()
                ),
                theme.style(Role::Focus),
            ),
            Span::styled(modified, theme.style(Role::Warn)),
            Span::raw(" "),
        ]));
    let inner = block.inner(area);
    block.render(area, buf);
    let error_height = if editor.error.is_some() { 3 } else { 1 };
    let [text_area, status] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(error_height)]).areas(inner);
    Widget::render(&editor.textarea, text_area, buf);
    // The error already names the template, line and column.
    let line = match &editor.error {
        Some(e) => Line::styled(format!("✗ {}", clean(e)), theme.style(Role::Error)),
        None => Line::styled(
            "✓ renders — Ctrl-S save · Esc leave · Ctrl-J newline",
            theme.style(Role::Ok),
        ),
    };
    Paragraph::new(line)
        .wrap(Wrap { trim: true })
        .render(status, buf);
}
