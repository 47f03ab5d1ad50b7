//! The whole screen, drawn from `&App` (STYLE.md habit 3): layout, panes, chrome, overlays.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::app::{App, Pane};
use super::layout;
use super::panes;
use super::theme::Role;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        panes::fill(buf, area, self.theme.style(Role::Text));
        let areas = layout::compute(area, self.focus, self.editor.is_some());
        if areas.too_small {
            ratatui::widgets::Paragraph::new(Line::styled(
                format!(
                    "terminal too small ({}×{}); need {}×{}",
                    area.width,
                    area.height,
                    layout::MIN_WIDTH,
                    layout::MIN_HEIGHT
                ),
                self.theme.style(Role::Warn),
            ))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(area, buf);
            return;
        }
        panes::chrome::header(self, areas.header, buf);
        if let Some(tabs) = areas.tabs {
            panes::chrome::tabs(self, tabs, buf);
        }
        for (pane, rect) in &areas.panes {
            let focused = self.editor.is_none() && *pane == self.focus;
            match pane {
                Pane::Services => panes::services::render(self, *rect, buf, focused),
                Pane::Attached => panes::attached::render(self, *rect, buf, focused),
                Pane::Preview => panes::preview::render(self, *rect, buf, focused),
                Pane::Worker => panes::worker::render(self, *rect, buf, focused),
                Pane::Deliveries => panes::deliveries::render(self, *rect, buf, focused),
            }
        }
        if let Some(editor_area) = areas.editor {
            panes::editor::render(self, editor_area, buf);
        }
        panes::chrome::notice(self, areas.notice, buf);
        panes::chrome::hints(self, areas.hints, buf);
        panes::overlays::render(self, area, buf);
    }
}
