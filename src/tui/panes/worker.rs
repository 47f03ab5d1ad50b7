//! Worker: per service — state, last run, fetched, new, queued, sent, failed, next run — the
//! outbox at a glance, and progress of long work.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::{clean, pane_block, title};
use crate::tui::app::{App, Pane, until};
use crate::tui::theme::Role;
use crate::worker::ServiceState;

pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let block = pane_block(app, Pane::Worker, title(app, "Worker", focused), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let [summary, threatq, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    threatq_line(app).render(threatq, buf);
    let o = &app.outbox;
    let mode = match &app.read_only {
        Some(_) => Span::styled("read-only view ", theme.style(Role::Warn)),
        None => Span::styled("running ", theme.style(Role::Ok)),
    };
    let mut spans = vec![
        mode,
        Span::styled(
            format!("outbox {} queued · {} sending · ", o.queued, o.sending),
            theme.style(Role::Text),
        ),
        Span::styled(
            format!("{} failed", o.failed),
            if o.failed > 0 {
                theme.style(Role::Error)
            } else {
                theme.style(Role::Text)
            },
        ),
    ];
    if o.possible_duplicates > 0 {
        spans.push(Span::styled(
            format!(" · {} possible dup", o.possible_duplicates),
            theme.style(Role::Warn),
        ));
    }
    Line::from(spans).render(summary, buf);

    let rows = app.config.services.iter().map(|s| {
        let r = app.runtime.get(&s.name).cloned().unwrap_or_default();
        let (state, style) = match (s.enabled, r.state) {
            (false, _) => ("○ disabled".to_string(), theme.style(Role::Muted)),
            (true, Some(ServiceState::Polling)) => match &r.progress {
                Some((what, done, Some(total))) => (
                    format!("↻ {} {done}/{total}", clean(what)),
                    theme.style(Role::Accent),
                ),
                Some((what, done, None)) => (
                    format!("↻ {} {done}", clean(what)),
                    theme.style(Role::Accent),
                ),
                None => ("↻ polling".into(), theme.style(Role::Accent)),
            },
            (true, Some(ServiceState::BackingOff)) => {
                ("⏸ backing off".into(), theme.style(Role::Warn))
            }
            (true, _) if matches!(r.last_result, Some(Err(_))) => {
                ("✗ error".into(), theme.style(Role::Error))
            }
            // Rows this service queued in this session that have not ended yet.
            (true, _) if r.queued > r.sent + r.failed => (
                format!("↑ sending {}", r.queued - r.sent - r.failed),
                theme.style(Role::Accent),
            ),
            (true, _) => ("● idle".into(), theme.style(Role::Ok)),
        };
        Row::new(vec![
            Cell::from(clean(&s.name)),
            Cell::from(Span::styled(state, style)),
            Cell::from(format!("{}", r.fetched)),
            Cell::from(format!("{}", r.new_alerts)),
            Cell::from(format!("{}", r.queued)),
            Cell::from(Span::styled(format!("{}", r.sent), theme.style(Role::Ok))),
            Cell::from(Span::styled(
                format!("{}", r.failed),
                if r.failed > 0 {
                    theme.style(Role::Error)
                } else {
                    theme.style(Role::Text)
                },
            )),
            Cell::from(Span::styled(
                r.next_run
                    .filter(|_| s.enabled)
                    .map(|t| until(app.now, t))
                    .unwrap_or_else(|| "—".into()),
                theme.style(Role::Muted),
            )),
        ])
        .style(theme.style(Role::Text))
    });
    let mut error_line = None;
    if let Some(s) = app.selected_service()
        && let Some(Some(Err(e))) = app.runtime.get(&s.name).map(|r| r.last_result.as_ref())
    {
        error_line = Some(format!("✗ {}: {}", clean(&s.name), clean(e)));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Min(8),
            Constraint::Length(12),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    )
    .header(
        Row::new([
            "service", "state", "fetch", "new", "queued", "sent", "failed", "next",
        ])
        .style(theme.style(Role::Muted)),
    )
    .row_highlight_style(theme.selection(focused))
    .column_spacing(1);
    let (table_area, error_area) = match error_line {
        Some(_) if table_area.height > 3 => {
            let [t, e] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(2)]).areas(table_area);
            (t, Some(e))
        }
        _ => (table_area, None),
    };
    let mut state = TableState::default().with_selected(Some(app.service_index));
    StatefulWidget::render(table, table_area, buf, &mut state);
    if let (Some(area), Some(line)) = (error_area, error_line) {
        ratatui::widgets::Paragraph::new(Line::styled(line, theme.style(Role::Error)))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(area, buf);
    }
}

/// The ThreatQ connection as the last runs of its services tell it.
fn threatq_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let Some(tq) = &app.config.threatq else {
        return Line::styled("ThreatQ: not configured", theme.style(Role::Muted));
    };
    let origin = crate::http::origin(&tq.url);
    // The newest finished run of any service decides.
    let newest = app
        .config
        .services
        .iter()
        .filter_map(|s| app.runtime.get(&s.name))
        .filter_map(|r| Some((r.last_run_at?, r.last_result.as_ref()?)))
        .max_by_key(|(at, _)| *at);
    match newest {
        None => Line::styled(
            format!("ThreatQ {origin}: not polled yet"),
            theme.style(Role::Muted),
        ),
        Some((at, Ok(_))) => Line::from(vec![
            Span::styled(format!("ThreatQ {origin}: "), theme.style(Role::Text)),
            Span::styled(
                format!("✓ connected ({})", crate::tui::app::ago(app.now, at)),
                theme.style(Role::Ok),
            ),
        ]),
        Some((_, Err(e))) => Line::from(vec![
            Span::styled(format!("ThreatQ {origin}: "), theme.style(Role::Text)),
            Span::styled(format!("✗ {}", clean(e)), theme.style(Role::Error)),
        ]),
    }
}
