//! Services: name, kind, on/off, interval, last run result, next run.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::{clean, pane_block, title};
use crate::config::format_duration;
use crate::tui::app::{App, Pane, ago, until};
use crate::tui::theme::Role;
use crate::worker::ServiceState;

pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let block = pane_block(
        app,
        Pane::Services,
        title(app, "Services", focused),
        focused,
    );
    let theme = &app.theme;
    if app.config.services.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        Line::styled("no services in the config", theme.style(Role::Muted)).render(inner, buf);
        return;
    }
    let rows = app.config.services.iter().map(|s| {
        let runtime = app.runtime.get(&s.name);
        let (mark, mark_style) = if s.enabled {
            ("● on ", theme.style(Role::Ok))
        } else {
            ("○ off", theme.style(Role::Muted))
        };
        let (last, last_style) = match runtime.and_then(|r| r.last_result.as_ref()) {
            _ if runtime.and_then(|r| r.state) == Some(ServiceState::Polling) => {
                ("↻ polling".to_string(), theme.style(Role::Accent))
            }
            Some(Ok(_)) => (
                format!(
                    "✓ {}",
                    runtime
                        .and_then(|r| r.last_run_at)
                        .map(|t| ago(app.now, t))
                        .unwrap_or_default()
                ),
                theme.style(Role::Ok),
            ),
            Some(Err(_)) => (
                format!(
                    "✗ {}",
                    runtime
                        .and_then(|r| r.last_run_at)
                        .map(|t| ago(app.now, t))
                        .unwrap_or_default()
                ),
                theme.style(Role::Error),
            ),
            None => ("never".to_string(), theme.style(Role::Muted)),
        };
        let next = match (s.enabled, runtime.and_then(|r| r.next_run)) {
            (false, _) => "—".to_string(),
            (true, Some(t)) => until(app.now, t),
            (true, None) => "…".to_string(),
        };
        Row::new(vec![
            Cell::from(Span::styled(mark, mark_style)),
            Cell::from(clean(&s.name)),
            Cell::from(Span::styled(
                match s.kind {
                    crate::config::ServiceKind::Watchlist { .. } => "watchlist",
                    crate::config::ServiceKind::DataCollection { .. } => "collection",
                },
                theme.style(Role::Muted),
            )),
            Cell::from(format_duration(s.interval)),
            Cell::from(Span::styled(last, last_style)),
            Cell::from(Span::styled(next, theme.style(Role::Muted))),
        ])
        .style(theme.style(Role::Text))
    });
    let header =
        Row::new(["", "name", "kind", "every", "last run", "next"]).style(theme.style(Role::Muted));
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Min(10),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Length(7),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(theme.selection(focused))
    .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.service_index));
    StatefulWidget::render(table, area, buf, &mut state);
}
