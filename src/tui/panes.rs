//! One file per pane (STYLE.md habit 3): each draws from `&App` into a buffer and does nothing
//! else — no I/O, no locks, no sends. Every string that came from outside (ThreatQ, Slack, the
//! config) passes `clean` before it reaches a cell.

pub mod attached;
pub mod chrome;
pub mod deliveries;
pub mod editor;
pub mod overlays;
pub mod preview;
pub mod services;
pub mod worker;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::app::{App, Pane};
use super::theme::Role;
use crate::text::sanitize_for_terminal;

/// A string from outside, safe for the terminal.
pub fn clean(s: &str) -> String {
    sanitize_for_terminal(s).into_owned()
}

/// The frame of a pane: rounded when focused, with its number for the 1–5 keys.
pub fn pane_block<'a>(app: &App, pane: Pane, title: Line<'a>, focused: bool) -> Block<'a> {
    let number = Pane::ALL.iter().position(|p| *p == pane).unwrap_or(0) + 1;
    let mut spans = vec![Span::styled(
        format!(" {number} "),
        app.theme.style(Role::Muted),
    )];
    spans.extend(title.spans);
    spans.push(Span::raw(" "));
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(app.theme.border(focused))
        .title(Line::from(spans))
}

/// A pane title in the title role, with the focus marker when focused.
pub fn title(app: &App, text: &str, focused: bool) -> Line<'static> {
    let style = if focused {
        app.theme.style(Role::Focus)
    } else {
        app.theme.style(Role::Title)
    };
    Line::from(Span::styled(
        if focused {
            format!("▶ {text}")
        } else {
            text.to_string()
        },
        style,
    ))
}

/// Fill an area with a style (for backgrounds of true-colour themes).
pub fn fill(buf: &mut Buffer, area: Rect, style: Style) {
    buf.set_style(area, style);
}

/// Cut a string to `width` display columns with `…`.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}
