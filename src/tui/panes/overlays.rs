//! What opens over the panes: help (built from the key table), pickers, confirmations, one
//! delivery in full, and the filter input. Each is cleared before drawing so nothing shows
//! through.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use super::clean;
use super::deliveries::result_mark;
use crate::tui::app::{App, Overlay};
use crate::tui::keymap::Scope;
use crate::tui::theme::Role;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

fn frame<'a>(app: &App, title: &str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(app.theme.style(Role::Focus))
        .title(Line::styled(
            format!(" {title} "),
            app.theme.style(Role::Focus),
        ))
        .style(app.theme.style(Role::Text))
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(overlay) = &app.overlay else { return };
    match overlay {
        Overlay::Help { scroll } => help(app, area, buf, *scroll),
        Overlay::Picker(picker) => {
            let height = (picker.items.len() as u16 + 4 + u16::from(picker.note.is_some()) * 2)
                .min(area.height);
            let rect = centered(area, 70, height);
            Clear.render(rect, buf);
            let block = frame(app, &clean(&picker.title));
            let inner = block.inner(rect);
            block.render(rect, buf);
            let mut lines: Vec<Line> = picker
                .items
                .iter()
                .enumerate()
                .map(|(i, (value, about))| {
                    let selected = i == picker.selected;
                    let style = if selected {
                        app.theme.selection(true)
                    } else {
                        app.theme.style(Role::Text)
                    };
                    Line::from(vec![
                        Span::styled(if selected { "▶ " } else { "  " }, style),
                        Span::styled(clean(value), style),
                        Span::styled(
                            format!("  {}", clean(about)),
                            if selected {
                                style
                            } else {
                                app.theme.style(Role::Muted)
                            },
                        ),
                    ])
                })
                .collect();
            if let Some(note) = &picker.note {
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    format!("! {}", clean(note)),
                    app.theme.style(Role::Warn),
                ));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "↑/↓ choose · Enter apply · Esc cancel",
                app.theme.style(Role::Muted),
            ));
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
        }
        Overlay::Confirm(confirm) => {
            let rect = centered(area, 64, 7);
            Clear.render(rect, buf);
            let block = frame(app, "Confirm");
            let inner = block.inner(rect);
            block.render(rect, buf);
            Paragraph::new(vec![
                Line::styled(clean(&confirm.message), app.theme.style(Role::Text)),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", app.theme.style(Role::Key)),
                    Span::styled(" / Enter yes   ", app.theme.style(Role::Muted)),
                    Span::styled("n", app.theme.style(Role::Key)),
                    Span::styled(" / Esc no", app.theme.style(Role::Muted)),
                ]),
            ])
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        }
        Overlay::Delivery { record, scroll } => {
            let rect = centered(
                area,
                area.width.saturating_sub(8).max(40),
                area.height.saturating_sub(4).max(8),
            );
            Clear.render(rect, buf);
            let block = frame(app, &format!("Delivery #{}", record.id));
            let inner = block.inner(rect);
            block.render(rect, buf);
            let (mark, role) = result_mark(record.result);
            let field = |name: &str, value: String| {
                Line::from(vec![
                    Span::styled(format!("{name:<10}"), app.theme.style(Role::Muted)),
                    Span::styled(value, app.theme.style(Role::Text)),
                ])
            };
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(format!("{:<10}", "result"), app.theme.style(Role::Muted)),
                    Span::styled(mark, app.theme.style(role)),
                ]),
                field(
                    "when",
                    record
                        .at
                        .with_timezone(&Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                ),
                field(
                    "route",
                    format!(
                        "{} → {} → {}",
                        clean(&record.service),
                        clean(&record.notifier),
                        clean(&record.target)
                    ),
                ),
                field("about", clean(&record.summary)),
                field("attempts", record.attempts.to_string()),
                field("latency", format!("{} ms", record.latency_ms)),
            ];
            if let Some(row) = record.row_id {
                lines.push(field("row", row.to_string()));
            }
            if let Some(status) = record.status {
                lines.push(field("http", status.to_string()));
            }
            if let Some(receipt) = &record.receipt {
                lines.push(field(
                    "slack",
                    format!(
                        "channel {} · ts {}",
                        clean(&receipt.channel),
                        clean(&receipt.ts)
                    ),
                ));
            }
            if let Some(reason) = &record.reason {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<10}", "why"), app.theme.style(Role::Muted)),
                    Span::styled(clean(&reason.word), app.theme.style(Role::Error)),
                ]));
                if let Some(detail) = &reason.detail {
                    lines.push(field("detail", clean(detail)));
                }
                if let Some(hint) = &reason.hint {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{:<10}", "hint"), app.theme.style(Role::Muted)),
                        Span::styled(clean(hint), app.theme.style(Role::Warn)),
                    ]));
                }
            }
            if let Some(payload) = &record.payload {
                lines.push(Line::raw(""));
                lines.push(Line::styled("payload sent:", app.theme.style(Role::Muted)));
                let pretty = serde_json::from_str::<serde_json::Value>(payload)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| payload.clone());
                lines.extend(
                    pretty
                        .lines()
                        .map(|l| Line::styled(clean(l), app.theme.style(Role::Code))),
                );
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "↑/↓ scroll · Esc close",
                app.theme.style(Role::Muted),
            ));
            Paragraph::new(Text::from(lines))
                .wrap(Wrap { trim: false })
                .scroll((*scroll, 0))
                .render(inner, buf);
        }
        Overlay::Filter { input } => {
            let rect = centered(area, 60, 5);
            Clear.render(rect, buf);
            let block = frame(app, "Filter deliveries");
            let inner = block.inner(rect);
            block.render(rect, buf);
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled("/ ", app.theme.style(Role::Key)),
                    Span::styled(format!("{}▏", clean(input)), app.theme.style(Role::Input)),
                ]),
                Line::styled(
                    "service, notifier, target, word or value · Enter apply · Esc cancel",
                    app.theme.style(Role::Muted),
                ),
            ])
            .render(inner, buf);
        }
    }
}

/// `?`: every binding, grouped by where it applies, from the same table the keys use; then
/// any warnings collected at start. Two columns when the terminal is wide enough.
fn help(app: &App, area: Rect, buf: &mut Buffer, scroll: u16) {
    let wide = area.width >= 110;
    let rect = centered(
        area,
        if wide {
            area.width.saturating_sub(6).min(150)
        } else {
            78
        },
        area.height.saturating_sub(2),
    );
    Clear.render(rect, buf);
    let block = frame(app, "Keys — ? or Esc to close, ↑/↓ to scroll");
    let inner = block.inner(rect);
    block.render(rect, buf);
    let section = |scope: Scope| -> Vec<Line<'static>> {
        let bindings: Vec<_> = app
            .keymap
            .bindings
            .iter()
            .filter(|b| b.scope == scope)
            .collect();
        let mut lines = vec![Line::styled(scope.title(), app.theme.style(Role::Title))];
        for b in bindings {
            let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<17} ", keys.join(" ")),
                    app.theme.style(Role::Key),
                ),
                Span::styled(b.description, app.theme.style(Role::Text)),
            ]));
        }
        lines.push(Line::raw(""));
        lines
    };
    let mut left: Vec<Line> = [
        Scope::Services,
        Scope::Attached,
        Scope::Preview,
        Scope::Deliveries,
    ]
    .into_iter()
    .flat_map(section)
    .collect();
    let mut right: Vec<Line> = [Scope::Editor, Scope::Global]
        .into_iter()
        .flat_map(section)
        .collect();
    right.push(Line::styled(
        "Change keys in the config's [keys] table: action = \"key\" (toggle, run_now, attach, detach, formatter, send_test, edit, json, retry, filter, quit, …).",
        app.theme.style(Role::Muted),
    ));
    if !app.warnings.is_empty() {
        right.push(Line::raw(""));
        right.push(Line::styled("Warnings", app.theme.style(Role::Warn)));
        for w in &app.warnings {
            right.push(Line::styled(
                format!("  ! {}", clean(w)),
                app.theme.style(Role::Warn),
            ));
        }
    }
    if wide {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .areas(inner);
        Paragraph::new(left)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(l, buf);
        Paragraph::new(right)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(r, buf);
    } else {
        left.append(&mut right);
        Paragraph::new(left)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(inner, buf);
    }
}
