//! The Reports panel's rows: a report group as a bar (passed green, failed and errored red,
//! skipped dim; or the line coverage), and a failed test case.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::model::{CaseStatus, CoverageSummary, ReportBody, TestCase, TestReport, TestSummary};
use crate::tui::fit::ellipsize;
use crate::tui::sanitize;
use crate::tui::theme::Theme;
use crate::tui::view::fmt_ms;

/// Columns of the group's name.
const NAME_W: u16 = 18;
/// Columns of the counts after the bar, at most.
const LABEL_W: u16 = 40;
/// Below this width the bar is left out: the name and the counts are what matter.
const BAR_MIN: u16 = 6;
/// The bar is given at least this many cells before the label is shortened.
const BAR_WIDE: u16 = 12;

/// One report group as a row.
pub struct ReportBar<'a> {
    pub report: &'a TestReport,
    pub theme: &'a Theme,
}

impl Widget for ReportBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let label = |compact| match &self.report.body {
            ReportBody::Test(s) => test_label(s, t, compact),
            ReportBody::Coverage(c) => coverage_label(c, t, compact),
        };
        // Short words and no duration when the full label would leave the bar too little.
        let full = label(false);
        let room = area.width.saturating_sub(NAME_W + 1);
        let wide = u16::try_from(full.width()).is_ok_and(|w| room >= w + BAR_WIDE);
        let label = if wide { full } else { label(true) };
        let label_w = u16::try_from(label.width()).unwrap_or(LABEL_W).min(LABEL_W);
        let [name, bar, rest] = Layout::horizontal([
            Constraint::Length(NAME_W.min(area.width)),
            Constraint::Fill(1),
            Constraint::Length(label_w + 1),
        ])
        .areas(area);
        let clean = sanitize::plain(&sanitize::sanitize(&self.report.group)).into_owned();
        let status = t.status(report_status(self.report));
        Paragraph::new(format!(" {}", ellipsize(&clean, usize::from(NAME_W) - 2)))
            .style(status)
            .render(name, buf);
        if bar.width >= BAR_MIN {
            let inner = Rect::new(bar.x + 1, bar.y, bar.width.saturating_sub(1), 1);
            let segments = match &self.report.body {
                ReportBody::Test(s) => test_segments(s, t),
                ReportBody::Coverage(c) => coverage_segments(c, t),
            };
            draw_bar(&segments, inner, buf);
        }
        Paragraph::new(Line::from(
            std::iter::once(Span::raw(" "))
                .chain(label.spans)
                .collect::<Vec<_>>(),
        ))
        .render(rest, buf);
    }
}

/// A report's word as a status, for its name's colour.
fn report_status(r: &TestReport) -> crate::model::Status {
    use crate::model::{ReportStatus, Status};
    match r.status {
        ReportStatus::Succeeded => Status::Succeeded,
        ReportStatus::Failed => Status::Failed,
        ReportStatus::Generating => Status::InProgress,
        ReportStatus::Incomplete => Status::Stopped,
    }
}

fn test_label(s: &TestSummary, t: &Theme, compact: bool) -> Line<'static> {
    let failed = s.failed + s.errors;
    let [pass, fail, skip] = if compact {
        ["pass", "fail", "skip"]
    } else {
        ["passed", "failed", "skipped"]
    };
    let mut spans = vec![Span::styled(format!("{} {pass}", s.passed), t.succeeded)];
    if failed > 0 {
        spans.push(Span::styled(format!(" {failed} {fail}"), t.failed));
    }
    if s.skipped > 0 {
        spans.push(Span::styled(format!(" {} {skip}", s.skipped), t.dim));
    }
    if !compact {
        spans.push(Span::styled(format!(" {}", fmt_ms(s.duration_ms)), t.dim));
    }
    Line::from(spans)
}

fn coverage_label(c: &CoverageSummary, t: &Theme, compact: bool) -> Line<'static> {
    let [lines, branches] = if compact {
        ["lines", "branch"]
    } else {
        ["lines", "branches"]
    };
    let mut spans = vec![Span::styled(
        format!("{:.1}% {lines}", c.line_pct),
        t.accent,
    )];
    if let Some(b) = c.branch_pct {
        spans.push(Span::styled(format!(" {b:.1}% {branches}"), t.dim));
    }
    Line::from(spans)
}

/// `(cells weight, style)` of each part of the bar.
fn test_segments(s: &TestSummary, t: &Theme) -> Vec<(u64, Style)> {
    vec![
        (s.passed, t.succeeded),
        (s.failed + s.errors, t.failed),
        (s.skipped, t.dim),
    ]
}

fn coverage_segments(c: &CoverageSummary, t: &Theme) -> Vec<(u64, Style)> {
    // Tenths of a percent, so 84.5% is drawn as such.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let covered = (c.line_pct.clamp(0.0, 100.0) * 10.0).round() as u64;
    vec![(covered, t.accent), (1000 - covered, t.dim)]
}

/// Draws the parts side by side, each as wide as its share (at least one cell when it is not
/// zero, so one failure among thousands still shows), `█` in the part's style.
fn draw_bar(parts: &[(u64, Style)], area: Rect, buf: &mut Buffer) {
    let total: u64 = parts.iter().map(|(n, _)| n).sum();
    let width = u64::from(area.width);
    if total == 0 || width == 0 {
        return;
    }
    let counts: Vec<u64> = parts.iter().map(|(n, _)| *n).collect();
    let widths = shares(&counts, width);
    let mut x = area.x;
    for ((_, style), w) in parts.iter().zip(widths) {
        for _ in 0..w {
            if x >= area.right() {
                return;
            }
            buf[(x, area.y)].set_symbol("█").set_style(*style);
            x += 1;
        }
    }
}

/// `width` cells shared out by `counts`: each its floor share, the cells left over to the
/// largest remainders, and at least one cell for a count that is not zero (taken from the
/// widest part), so one failure among thousands still shows.
#[must_use]
pub fn shares(counts: &[u64], width: u64) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut widths: Vec<u64> = counts.iter().map(|n| n * width / total).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(counts[*i] * width % total));
    let left = width.saturating_sub(widths.iter().sum());
    for i in order.into_iter().take(usize::try_from(left).unwrap_or(0)) {
        widths[i] += 1;
    }
    for i in 0..counts.len() {
        if counts[i] == 0 || widths[i] > 0 {
            continue;
        }
        let widest = (0..widths.len()).max_by_key(|j| widths[*j]);
        if let Some(big) = widest.filter(|j| widths[*j] > 1) {
            widths[big] -= 1;
            widths[i] = 1;
        }
    }
    widths
}

/// A failed test case as a row: its status mark, `prefix › name`, the first line of its
/// message (dim). The selected row is reversed while the panel has the keys.
pub struct CaseRow<'a> {
    pub group: &'a str,
    pub case: &'a TestCase,
    pub theme: &'a Theme,
    pub selected: bool,
}

impl Widget for CaseRow<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let c = self.case;
        let clean = |s: &str| sanitize::plain(&sanitize::sanitize(s)).into_owned();
        let mark = if c.status == CaseStatus::Error {
            "!"
        } else {
            "✘"
        };
        let name = if c.prefix.is_empty() || c.name.starts_with(&c.prefix) {
            clean(&c.name)
        } else {
            format!("{} › {}", clean(&c.prefix), clean(&c.name))
        };
        let first = c
            .message
            .as_deref()
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(clean)
            .unwrap_or_default();
        let mut spans = vec![
            Span::styled(format!("  {mark} "), t.failed),
            Span::styled(format!("{} ", clean(self.group)), t.dim),
            Span::raw(name),
        ];
        if !first.is_empty() {
            spans.push(Span::styled(format!("  {first}"), t.dim));
        }
        let mut line = Line::from(spans);
        if self.selected {
            line = line.patch_style(Style::new().add_modifier(Modifier::REVERSED));
        }
        // Cut at the edge: the whole message is one key away (`open`).
        Paragraph::new(line).render(area, buf);
    }
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;
