//! Attached: the selected service's notifiers, each with its formatter and where it sends.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::{clean, pane_block, title};
use crate::config::NotifierKind;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Role;

pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let service = app
        .selected_service()
        .map(|s| clean(&s.name))
        .unwrap_or_default();
    let block = pane_block(
        app,
        Pane::Attached,
        title(app, &format!("Attached to {service}"), focused),
        focused,
    );
    let attached = app.attached();
    if attached.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        let key = app.keymap.key_for(
            crate::tui::keymap::Scope::Attached,
            crate::tui::keymap::Action::Attach,
        );
        Line::from(vec![
            Span::styled("no notifier attached — press ", theme.style(Role::Muted)),
            Span::styled(
                key.map(|k| k.to_string()).unwrap_or_else(|| "a".into()),
                theme.style(Role::Key),
            ),
            Span::styled(" to attach one", theme.style(Role::Muted)),
        ])
        .render(inner, buf);
        return;
    }
    // Two lines per notifier: what it is, and where it sends through which formatter.
    let rows = attached.iter().map(|n| {
        let targets = match &n.kind {
            NotifierKind::Slack {
                channels, users, ..
            } => {
                let mut all: Vec<String> = channels.iter().map(|c| clean(c)).collect();
                all.extend(
                    users
                        .iter()
                        .map(|u| format!("@{}", clean(u.trim_start_matches('@')))),
                );
                all.join(" ")
            }
            NotifierKind::SlackWebhook { .. } => "incoming webhook".into(),
            NotifierKind::Webhook { .. } => "webhook URL (secret)".into(),
        };
        Row::new(vec![
            Cell::from(Text::from(vec![
                Line::styled(clean(&n.name), theme.style(Role::Text)),
                Line::styled(format!("  {}", n.kind.as_str()), theme.style(Role::Muted)),
            ])),
            Cell::from(Text::from(vec![
                Line::styled(
                    format!("⟶ {}", clean(&app.formatter_name_of(n))),
                    theme.style(Role::Accent),
                ),
                Line::styled(format!("  {targets}"), theme.style(Role::Muted)),
            ])),
        ])
        .height(2)
    });
    let table = Table::new(
        rows,
        [Constraint::Percentage(35), Constraint::Percentage(65)],
    )
    .header(Row::new(["notifier", "formatter · targets"]).style(theme.style(Role::Muted)))
    .block(block)
    .row_highlight_style(theme.selection(focused))
    .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.attached_index));
    StatefulWidget::render(table, area, buf, &mut state);
}
