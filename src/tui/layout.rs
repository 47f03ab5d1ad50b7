//! Where each pane goes. At 120×40 (and anything at least 100×30) every pane is on screen; below
//! that the panes become tabs, one full-size pane at a time, so each stays reachable and nothing
//! overlaps. The template editor takes the place beside the preview.

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Pane};

/// Below this the console draws only a "too small" note.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The tab bar, in compact mode.
    pub tabs: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    pub editor: Option<Rect>,
    /// The notice line and the key hints.
    pub notice: Rect,
    pub hints: Rect,
    pub too_small: bool,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
}

/// Whether every pane fits at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 100 && area.height >= 30
}

pub fn compute(area: Rect, focus: Pane, editor_open: bool) -> Areas {
    let too_small = area.width < MIN_WIDTH || area.height < MIN_HEIGHT;
    let [header, body, notice, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut areas = Areas {
        header,
        tabs: None,
        panes: Vec::new(),
        editor: None,
        notice,
        hints,
        too_small,
    };
    if too_small {
        return areas;
    }
    if is_wide(area) {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
        if editor_open {
            areas.editor = Some(left);
        } else {
            let [services, attached, worker] = Layout::vertical([
                Constraint::Percentage(40),
                Constraint::Percentage(28),
                Constraint::Percentage(32),
            ])
            .areas(left);
            areas.panes.push((Pane::Services, services));
            areas.panes.push((Pane::Attached, attached));
            areas.panes.push((Pane::Worker, worker));
        }
        areas.panes.push((Pane::Preview, right));
        areas.panes.push((Pane::Deliveries, bottom));
    } else {
        let [tabs, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        areas.tabs = Some(tabs);
        if editor_open {
            let [editor, preview] =
                Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(rest);
            areas.editor = Some(editor);
            areas.panes.push((Pane::Preview, preview));
        } else {
            areas.panes.push((focus, rest));
        }
    }
    areas
}

/// The areas for the app's current size.
pub fn for_app(app: &App) -> Areas {
    let (w, h) = app.size;
    compute(Rect::new(0, 0, w, h), app.focus, app.editor.is_some())
}

/// The width the preview is drawn at (inside its border). In compact mode the preview takes
/// the whole width when it is shown.
pub fn preview_width(app: &App) -> u16 {
    let (w, h) = app.size;
    let area = Rect::new(0, 0, w, h);
    let areas = compute(area, Pane::Preview, app.editor.is_some());
    areas
        .pane(Pane::Preview)
        .map(|r| r.width.saturating_sub(2))
        .unwrap_or(w.saturating_sub(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: Rect, b: Rect) -> bool {
        a.intersects(b)
    }

    #[test]
    fn every_pane_is_on_screen_at_120_by_40_and_none_overlap() {
        let areas = compute(Rect::new(0, 0, 120, 40), Pane::Services, false);
        assert_eq!(areas.panes.len(), 5);
        for (i, (_, a)) in areas.panes.iter().enumerate() {
            assert!(a.width >= 20 && a.height >= 5, "{a:?}");
            for (_, b) in areas.panes.iter().skip(i + 1) {
                assert!(!overlaps(*a, *b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn at_80_by_24_the_focused_pane_fills_the_body_under_a_tab_bar() {
        for pane in Pane::ALL {
            let areas = compute(Rect::new(0, 0, 80, 24), pane, false);
            assert!(areas.tabs.is_some());
            assert_eq!(areas.panes.len(), 1);
            assert_eq!(areas.panes[0].0, pane);
            assert_eq!(areas.panes[0].1.width, 80);
        }
    }

    #[test]
    fn the_editor_sits_beside_the_preview() {
        let wide = compute(Rect::new(0, 0, 120, 40), Pane::Attached, true);
        let (editor, preview) = (wide.editor.unwrap(), wide.pane(Pane::Preview).unwrap());
        assert!(editor.right() <= preview.left());
        let narrow = compute(Rect::new(0, 0, 80, 24), Pane::Attached, true);
        assert!(narrow.editor.unwrap().bottom() <= narrow.pane(Pane::Preview).unwrap().top());
    }

    #[test]
    fn a_tiny_terminal_is_flagged_not_drawn_into() {
        assert!(compute(Rect::new(0, 0, 30, 8), Pane::Services, false).too_small);
    }
}
