//! Deliveries: newest first — time, service, notifier, target, result, the receiver's word
//! with a hint, attempts, latency.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::{clean, pane_block, title};
use crate::store::AttemptResult;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Role;

/// The symbol and word for a result; symbols carry meaning where colour cannot (mono).
pub fn result_mark(result: AttemptResult) -> (&'static str, Role) {
    match result {
        AttemptResult::Delivered => ("✓ delivered", Role::Ok),
        AttemptResult::Failed => ("✗ failed", Role::Error),
        AttemptResult::Retrying => ("↻ retrying", Role::Warn),
        AttemptResult::RateLimited => ("⏳ rate-limited", Role::Warn),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer, focused: bool) {
    let theme = &app.theme;
    let mut heading = format!("Deliveries ({})", app.deliveries.len());
    if !app.delivery_filter.is_empty() {
        heading.push_str(&format!(" · filter “{}”", clean(&app.delivery_filter)));
    }
    let block = pane_block(
        app,
        Pane::Deliveries,
        title(app, &heading, focused),
        focused,
    );
    if app.deliveries.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        let text = if app.delivery_filter.is_empty() {
            "no deliveries yet"
        } else {
            "no delivery matches the filter (/ to change it)"
        };
        Line::styled(text, theme.style(Role::Muted)).render(inner, buf);
        return;
    }
    let rows = app.deliveries.iter().map(|d| {
        let (mark, role) = result_mark(d.result);
        let why = d
            .reason
            .as_ref()
            .filter(|_| d.result != AttemptResult::Delivered)
            .map(|r| {
                let mut s = clean(&r.word);
                if let Some(h) = &r.hint {
                    s.push_str(" — ");
                    s.push_str(&clean(h));
                }
                s
            })
            .unwrap_or_else(|| clean(&d.summary));
        Row::new(vec![
            Cell::from(Span::styled(
                d.at.with_timezone(&Local).format("%H:%M:%S").to_string(),
                theme.style(Role::Muted),
            )),
            Cell::from(clean(&d.service)),
            Cell::from(clean(&d.notifier)),
            Cell::from(clean(&d.target)),
            Cell::from(Span::styled(mark, theme.style(role))),
            Cell::from(why),
            Cell::from(format!("{}", d.attempts)),
            Cell::from(Span::styled(
                format!("{} ms", d.latency_ms),
                theme.style(Role::Muted),
            )),
        ])
        .style(theme.style(Role::Text))
    });
    let table = Table::new(
        rows,
        // Narrow terminals keep what matters: when, where to, how it went, why; the service,
        // attempts and latency are in the details (Enter).
        if area.width < 100 {
            [
                Constraint::Length(8),
                Constraint::Length(0),
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(14),
                Constraint::Fill(4),
                Constraint::Length(0),
                Constraint::Length(0),
            ]
        } else {
            [
                Constraint::Length(8),
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(14),
                Constraint::Fill(5),
                Constraint::Length(3),
                Constraint::Length(8),
            ]
        },
    )
    .header(
        Row::new([
            "time",
            "service",
            "notifier",
            "target",
            "result",
            "what / why",
            "try",
            "latency",
        ])
        .style(theme.style(Role::Muted)),
    )
    .block(block)
    .row_highlight_style(theme.selection(focused))
    .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(app.delivery_index));
    StatefulWidget::render(table, area, buf, &mut state);
}
