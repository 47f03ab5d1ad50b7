//! The frame around the panes: the header (what config, which mode), the tab bar in compact
//! mode, the notice line, and the key hints built from the key table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{clean, fit};
use crate::tui::app::{App, Level, Pane};
use crate::tui::theme::Role;

pub fn header(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let enabled = app.config.services.iter().filter(|s| s.enabled).count();
    let mut spans = vec![
        Span::styled(" tq-alerts ", theme.style(Role::Header)),
        Span::styled(
            format!(
                "· {} · {}/{} services on ",
                clean(&app.config.path.display().to_string()),
                enabled,
                app.config.services.len()
            ),
            theme.style(Role::Muted),
        ),
    ];
    if let Some(reason) = &app.read_only {
        spans.push(Span::styled(
            format!("· READ-ONLY: {} ", clean(reason)),
            theme.style(Role::Warn),
        ));
    }
    if let Some(tq) = &app.config.threatq
        && tq.insecure_skip_verify
    {
        spans.push(Span::styled(
            "· TLS NOT VERIFIED (insecure_skip_verify) ",
            theme.style(Role::Error),
        ));
    }
    Line::from(spans)
        .style(theme.style(Role::StatusBar))
        .render(area, buf);
}

pub fn tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut spans = Vec::new();
    for (i, pane) in Pane::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, pane.title());
        let style = if *pane == app.focus {
            theme.selection(true)
        } else {
            theme.style(Role::Muted)
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans).render(area, buf);
}

pub fn notice(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let Some(n) = &app.notice else { return };
    let (mark, role) = match n.level {
        Level::Info => ("·", Role::Text),
        Level::Ok => ("✓", Role::Ok),
        Level::Warn => ("!", Role::Warn),
        Level::Error => ("✗", Role::Error),
    };
    let text = fit(&clean(&n.text), area.width.saturating_sub(3) as usize);
    Line::from(vec![
        Span::styled(format!(" {mark} "), theme.style(role)),
        Span::styled(text, theme.style(role)),
    ])
    .render(area, buf);
}

pub fn hints(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    for (key, label) in app.keymap.hints(app.scope()) {
        let width = key.chars().count() + label.chars().count() + 3;
        if used + width > area.width as usize {
            break;
        }
        used += width;
        spans.push(Span::styled(key, theme.style(Role::Key)));
        spans.push(Span::styled(
            format!(" {label}  "),
            theme.style(Role::Muted),
        ));
    }
    Line::from(spans).render(area, buf);
}
