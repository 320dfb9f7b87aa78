//! Drawing: `render(frame, state, ctx)` reads the state and nothing else (no IO, no clock).
//! The layout is a pure function of the state too, so the reducer can ask how many log
//! rows are visible ([`log_rows`]) and page by exactly that much.

mod build;
mod diagnosis;
mod overlay;
mod projects;
mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::keymap::Keymap;
use super::state::State;
use super::theme::Theme;
use super::widgets::timeline::PhaseTimeline;

/// What the views need besides the state.
pub struct Ctx<'a> {
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
}

/// The screen's regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub projects: Rect,
    pub timeline: Rect,
    pub cache: Rect,
    pub log: Rect,
    pub status: Rect,
}

/// Width of the projects pane.
const LEFT: u16 = 32;

/// Splits `area` for `state`.
#[must_use]
pub fn layout(state: &State, area: Rect) -> Areas {
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let [projects, right] = Layout::horizontal([
        Constraint::Length(LEFT.min(main.width / 3)),
        Constraint::Fill(1),
    ])
    .areas(main);
    let empty = std::collections::BTreeMap::new();
    let (timeline_h, cache_h) = state.build().map_or((3, 0), |b| {
        let medians = state.project().map_or(&empty, |p| &p.phase_medians);
        let theme = Theme::default();
        let t = PhaseTimeline {
            build: b,
            medians,
            theme: &theme,
            now: state.now,
            diagnosis_key: "",
        };
        let notice = u16::from(b.notice.is_some());
        let caches = u16::try_from(b.caches.len()).unwrap_or(4).min(4);
        (
            t.height().max(1) + notice + 2,
            if caches > 0 { caches + 2 } else { 0 },
        )
    });
    let timeline_h = timeline_h.min(right.height / 2);
    let [timeline, cache, log] = Layout::vertical([
        Constraint::Length(timeline_h),
        Constraint::Length(cache_h),
        Constraint::Fill(1),
    ])
    .areas(right);
    Areas {
        projects,
        timeline,
        cache,
        log,
        status,
    }
}

/// Number of log lines visible.
#[must_use]
pub fn log_rows(state: &State) -> usize {
    let a = layout(state, Rect::new(0, 0, state.width, state.height));
    usize::from(a.log.height.saturating_sub(2)).max(1)
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx) {
    let a = layout(state, frame.area());
    projects::render(frame, a.projects, state, ctx);
    build::render(frame, &a, state, ctx);
    status::render(frame, a.status, state, ctx);
    overlay::render(frame, state, ctx);
}

/// `850ms`, `12.3s`, `4m05s`, `1h02m`.
#[must_use]
pub fn fmt_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", ms / 1000, ms % 1000 / 100),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_ms;

    #[test]
    fn durations_format() {
        assert_eq!(fmt_ms(850), "850ms");
        assert_eq!(fmt_ms(12_345), "12.3s");
        assert_eq!(fmt_ms(245_000), "4m05s");
        assert_eq!(fmt_ms(3_720_000), "1h02m");
    }
}
