//! Preview: the message as Slack draws it (or the exact JSON with `J`), for the selected
//! notifier and alert, stepping through alerts with `[` and `]`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{clean, pane_block, title};
use crate::tui::app::{App, Pane};
use crate::tui::preview::plain_lines;
use crate::tui::theme::Role;

pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let p = &app.preview;
    let mut heading = String::from(if p.json { "Payload" } else { "Preview" });
    if let Some(n) = app.selected_notifier() {
        heading.push_str(&format!(" — {}", clean(&n.name)));
    }
    if !p.alerts.is_empty() {
        heading.push_str(&format!(
            " · alert {}/{}{}",
            p.index + 1,
            p.alerts.len(),
            if p.samples { " (sample)" } else { "" }
        ));
    }
    let block = pane_block(app, Pane::Preview, title(app, &heading, focused), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut text: Text<'static> = if p.json {
        plain_lines(&p.json_text, theme.style(Role::Code))
    } else {
        p.text.clone()
    };
    if let Some(error) = &p.error {
        let mut lines = vec![
            Line::from(Span::styled(
                format!("✗ {}", clean(error)),
                theme.style(Role::Error),
            )),
            Line::from(Span::styled("last good preview:", theme.style(Role::Muted))),
        ];
        lines.append(&mut text.lines);
        text = Text::from(lines);
    }
    Paragraph::new(text)
        .style(theme.style(Role::Text))
        .wrap(Wrap { trim: false })
        .scroll((p.scroll, 0))
        .render(inner, buf);
}
