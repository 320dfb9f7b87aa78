//! Layout arithmetic shared by the reducer and the views: where each pane is, how many rows
//! the log pane has, how log lines wrap, and which lines the log pane shows.
//!
//! The reducer pages and scrolls by these numbers and the views draw with them, so what a key
//! moves over is exactly what is on screen. Pure functions of the state: no IO, no drawing
//! (the views in [`super::view`] and [`super::widgets`] draw; nothing here imports them).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use super::logbuf::LogStore;
use super::logview::LogView;
use super::sanitize;
use super::state::{Build, PhaseRow, State};
use crate::model::{PhaseKind, Status};

/// The screen's regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub projects: Rect,
    pub timeline: Rect,
    /// The Reports panel (empty without reports).
    pub reports: Rect,
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
    let (timeline_h, cache_h) = state.build().map_or((3, 0), |b| {
        let inner_w = right.width.saturating_sub(2);
        let notice = u16::try_from(notice_lines(b, inner_w).len()).unwrap_or(0)
            + super::debug::rows(b.debug.as_ref(), inner_w);
        let caches =
            u16::try_from(b.caches.len().min(CACHE_BUILDS)).unwrap_or(0) * cache_rows(inner_w);
        (
            timeline_rows(b).max(1) + notice + 2,
            if caches > 0 { caches + 2 } else { 0 },
        )
    });
    let timeline_h = timeline_h.min(right.height / 2);
    // The reports take at most half of what the phases leave, so the log keeps rows.
    let reports_h = state
        .build()
        .map_or(0, reports_rows)
        .min(right.height.saturating_sub(timeline_h) / 2);
    let left = right
        .height
        .saturating_sub(timeline_h + reports_h + cache_h);
    let cache_h = cache_h
        + state
            .build()
            .map_or(0, |b| cache_step_rows(b, right.height, left));
    let [timeline, reports, cache, log] = Layout::vertical([
        Constraint::Length(timeline_h),
        Constraint::Length(reports_h),
        Constraint::Length(cache_h),
        Constraint::Fill(1),
    ])
    .areas(right);
    Areas {
        projects,
        timeline,
        reports,
        cache,
        log,
        status,
    }
}

/// Failed cases the Reports panel shows at once (it scrolls through the rest).
pub const REPORT_CASE_ROWS: usize = 4;

/// Rows of the Reports panel: a row per report group and up to [`REPORT_CASE_ROWS`] failed
/// cases, inside its border; none without reports.
#[must_use]
pub fn reports_rows(b: &Build) -> u16 {
    if b.reports.is_empty() {
        return 0;
    }
    let cases = super::reports::cases(b).len().min(REPORT_CASE_ROWS);
    u16::try_from(b.reports.len() + cases + 2).unwrap_or(u16::MAX)
}

/// The docker builds the cache panel shows (the `x` report has every one).
pub const CACHE_BUILDS: usize = 4;

/// From this height (the panes right of the projects), the cache panel lists the steps that
/// ran under each docker build it shows.
pub const CACHE_TALL: u16 = 40;

/// Rows of step lines in the cache panel of a pane `height` rows tall, `left` rows not taken
/// by the other panels: one per step that ran in the docker builds it shows, at most a third
/// of what is left (the log keeps the rest); none below [`CACHE_TALL`] (80x24 keeps the rows
/// it had).
#[must_use]
pub fn cache_step_rows(b: &Build, height: u16, left: u16) -> u16 {
    if height < CACHE_TALL {
        return 0;
    }
    let wanted: usize = b
        .caches
        .iter()
        .take(CACHE_BUILDS)
        .map(|c| c.ran.len())
        .sum();
    u16::try_from(wanted).unwrap_or(u16::MAX).min(left / 3)
}

/// Below this width a cache report takes two rows: the gauge, then what it saved and missed.
pub const CACHE_WIDE: u16 = 90;

/// Rows one cache report takes at `width`.
#[must_use]
pub const fn cache_rows(width: u16) -> u16 {
    if width < CACHE_WIDE { 2 } else { 1 }
}

/// Most rows a notice takes under the timeline.
const NOTICE_ROWS: usize = 3;

/// The build's notice wrapped to `width`, its level's mark first (`ℹ` information, as the
/// plain output's `Info:`; `⚠` warning; `✘` error).
#[must_use]
pub fn notice_lines(b: &Build, width: u16) -> Vec<String> {
    let Some((level, msg)) = &b.notice else {
        return Vec::new();
    };
    let mark = match level {
        crate::model::NoticeLevel::Info => "ℹ",
        crate::model::NoticeLevel::Warning => "⚠",
        crate::model::NoticeLevel::Error => "✘",
    };
    let text = sanitize::plain(&sanitize::sanitize(msg)).into_owned();
    let w = usize::from(width).saturating_sub(4);
    let mut lines = super::fit::wrap(&text, w);
    if lines.len() > NOTICE_ROWS {
        lines.truncate(NOTICE_ROWS);
        if let Some(last) = lines.last_mut() {
            *last = super::fit::ellipsize(&format!("{last} …"), w);
        }
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| format!(" {} {l}", if i == 0 { mark } else { " " }))
        .collect()
}

/// The log pane's inside (its border taken off) on a `state.width` x `state.height` screen.
#[must_use]
pub fn log_inner(state: &State) -> Rect {
    let a = layout(state, Rect::new(0, 0, state.width, state.height));
    ratatui::widgets::Block::bordered().inner(a.log)
}

/// Number of log rows visible.
#[must_use]
pub fn log_rows(state: &State) -> usize {
    usize::from(log_inner(state).height).max(1)
}

/// Phases still to come while the build runs, so the whole timeline is visible.
#[must_use]
pub fn pending_phases(build: &Build) -> Vec<PhaseKind> {
    if build.status != Status::InProgress {
        return Vec::new();
    }
    let last = build.phases.last().map(|p| p.kind);
    PhaseKind::BUILDSPEC
        .into_iter()
        .chain([PhaseKind::UploadArtifacts, PhaseKind::Finalizing])
        .filter(|k| last.is_none_or(|l| *k > l))
        .collect()
}

/// Whether a phase gets a second row with its context message (why it failed).
#[must_use]
pub fn has_context(p: &PhaseRow) -> bool {
    !p.context.is_empty() && p.status != Status::Succeeded
}

/// Rows the phase timeline wants.
#[must_use]
pub fn timeline_rows(build: &Build) -> u16 {
    let contexts = build.phases.iter().filter(|p| has_context(p)).count();
    u16::try_from(build.phases.len() + contexts + pending_phases(build).len()).unwrap_or(u16::MAX)
}

/// Cells a character takes (controls never reach here: lines are sanitised).
fn cells(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Rows `text` takes when wrapped at `width` cells: a character that does not fit goes to
/// the next row, as a terminal wraps (not at words: a log is not prose).
#[must_use]
pub fn wrapped_rows(text: impl Iterator<Item = char>, width: usize) -> usize {
    let mut rows = 1;
    let mut col = 0;
    for c in text {
        let w = cells(c);
        if col + w > width && col > 0 {
            rows += 1;
            col = 0;
        }
        col += w;
    }
    rows
}

/// Splits a styled line into rows of at most `width` cells by the rule of [`wrapped_rows`].
#[must_use]
pub fn wrap_line(line: &Line<'_>, width: usize) -> Vec<Line<'static>> {
    let row = || Line::default().style(line.style);
    let mut rows = vec![row()];
    let mut col = 0;
    for span in &line.spans {
        let style: Style = span.style;
        let mut text = String::new();
        for c in span.content.chars() {
            let w = cells(c);
            if col + w > width && col > 0 {
                if !text.is_empty() {
                    push_span(&mut rows, std::mem::take(&mut text), style);
                }
                rows.push(row());
                col = 0;
            }
            text.push(c);
            col += w;
        }
        if !text.is_empty() {
            push_span(&mut rows, text, style);
        }
    }
    rows
}

fn push_span(rows: &mut [Line<'static>], text: String, style: Style) {
    if let Some(last) = rows.last_mut() {
        last.spans.push(Span::styled(text, style));
    }
}

/// Rows visible line `pos` takes in a pane `width` cells wide (1 without wrapping).
#[must_use]
pub fn line_rows(view: &LogView, store: &LogStore, pos: usize, width: usize) -> usize {
    if !view.wrap {
        return 1;
    }
    let n = view.line_at(pos);
    let mut rows = 1;
    store.for_each(n, n + 1, |_, safe, meta| {
        let stamp = if view.timestamps {
            meta.clock()
        } else {
            String::new()
        };
        rows = wrapped_rows(stamp.chars().chain(sanitize::plain(safe).chars()), width);
    });
    rows
}

/// Which lines the log pane shows: from visible position `first`, the first `skip` rows of
/// that line hidden (a long wrapped line cut at the top so the last line ends on the bottom
/// row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub first: usize,
    pub skip: usize,
}

/// The window of a pane of `rows` x `width`: following, the last line ends on the bottom
/// row; otherwise the window starts at `view.top`, moved so that the cursor line is wholly
/// on screen and the pane has no blank rows at the bottom while lines remain above.
#[must_use]
pub fn log_window(view: &LogView, store: &LogStore, rows: usize, width: usize) -> Window {
    let len = view.visible_len(store);
    if len == 0 || rows == 0 {
        return Window::default();
    }
    let height = |pos| line_rows(view, store, pos, width);
    // The window whose bottom row is the last row of line `last`.
    let ending_at = |last: usize| {
        let (mut first, mut used) = (last + 1, 0);
        while first > 0 && used < rows {
            first -= 1;
            used += height(first);
        }
        Window {
            first,
            skip: used.saturating_sub(rows),
        }
    };
    if view.follow {
        return ending_at(len - 1);
    }
    let cursor = view.cursor.min(len - 1);
    let first = view.top.min(cursor);
    let mut used = 0;
    for pos in first..=cursor {
        used += height(pos);
        if used > rows {
            return ending_at(cursor);
        }
    }
    let mut pos = cursor + 1;
    while used < rows && pos < len {
        used += height(pos);
        pos += 1;
    }
    if used < rows {
        // Blank rows below the end: show more of what is above instead.
        return ending_at(len - 1);
    }
    Window { first, skip: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogLine, LogStream};

    fn store(texts: &[&str]) -> LogStore {
        let mut s = LogStore::new();
        for t in texts {
            s.push(
                &LogLine {
                    phase: None,
                    stream: LogStream::Stdout,
                    text: (*t).into(),
                },
                0,
            );
        }
        s
    }

    #[test]
    fn wrapping_counts_cells_and_moves_wide_chars_whole() {
        assert_eq!(wrapped_rows("".chars(), 10), 1);
        assert_eq!(wrapped_rows("0123456789".chars(), 10), 1);
        assert_eq!(wrapped_rows("0123456789a".chars(), 10), 2);
        // Nine cells, then a two-cell character that does not fit: it starts row two.
        assert_eq!(wrapped_rows("012345678界".chars(), 10), 2);
        let rows = wrap_line(&Line::from("012345678界x"), 10);
        let texts: Vec<String> = rows.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["012345678", "界x"]);
    }

    #[test]
    fn following_ends_on_the_last_line_with_wrapping() {
        let long = "x".repeat(25);
        let s = store(&["a", "b", &long, "c", &long]);
        let mut v = LogView {
            wrap: true,
            ..LogView::default()
        };
        // 10 cells wide: the long lines take 3 rows each; 4 rows show "c" and all of the
        // last long line; 5 rows add the last row of the first long line.
        assert_eq!(log_window(&v, &s, 4, 10), Window { first: 3, skip: 0 });
        assert_eq!(log_window(&v, &s, 5, 10), Window { first: 2, skip: 2 });
        v.wrap = false;
        assert_eq!(log_window(&v, &s, 4, 10), Window { first: 1, skip: 0 });
    }

    #[test]
    fn a_paused_window_keeps_the_cursor_and_leaves_no_blank_rows() {
        let s = store(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let v = LogView {
            follow: false,
            cursor: 2,
            top: 8,
            ..LogView::default()
        };
        assert_eq!(
            log_window(&v, &s, 4, 10).first,
            2,
            "cursor above the window"
        );
        let v = LogView {
            cursor: 9,
            top: 8,
            ..v
        };
        assert_eq!(
            log_window(&v, &s, 4, 10).first,
            6,
            "no blank rows below the end"
        );
    }
}
