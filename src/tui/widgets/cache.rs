//! The cache panel's rows. [`CacheGauge`]: one `docker build` with its hit ratio as a gauge,
//! the time the cached steps saved, the first step that missed (what invalidated the cache,
//! and why) and that step's last runs as a sparkline with its miss rate (when nothing missed:
//! the slowest step's). [`StepRow`]: one step that ran, with its duration, sparkline and miss
//! rate (the rows a tall screen lists under its docker build). Text is fitted to the row
//! (`fit`): a long instruction is cut with `…`, never wrapped or run into the next part.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Widget};

use crate::tui::fit::ellipsize;
use crate::tui::spark::step_runs;
use crate::tui::state::{CacheSummary, StepLine, StepTrend};
use crate::tui::theme::Theme;
use crate::tui::view::fmt_ms;

use crate::tui::layout::CACHE_WIDE as WIDE;

/// The least of a first miss's text kept before the sparkline gives way to it.
const MIN_MISS: usize = 12;

/// One cache report as a row.
pub struct CacheGauge<'a> {
    pub report: &'a CacheSummary,
    pub theme: &'a Theme,
}

impl CacheGauge<'_> {
    /// Rows one report takes at `width`.
    #[must_use]
    pub const fn rows(width: u16) -> u16 {
        crate::tui::layout::cache_rows(width)
    }

    /// Hit ratio, 0..=1.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        if self.report.steps == 0 {
            0.0
        } else {
            f64::from(self.report.cached) / f64::from(self.report.steps)
        }
    }

    /// `  saved ~41.0s`, or nothing when nothing was saved (no cached step, or not known).
    fn saved(&self) -> String {
        match self.report.saved_ms {
            0 => String::new(),
            ms => format!("  saved ~{}", fmt_ms(ms)),
        }
    }

    /// The first miss and why (or, when none, the slowest step) and its trend, fitted to
    /// `width` columns after `lead` (what the row already says before it). What gives way
    /// first when the row is short: the sparkline, then the instruction's end; the reason
    /// last, since it is what the user asks the panel.
    fn detail(&self, lead: &str, width: usize, compact: bool) -> Line<'static> {
        let (r, t) = (self.report, self.theme);
        let mut spans = vec![Span::raw(lead.to_owned())];
        let followed = r.followed();
        let (label, text, style) = match (&r.first_miss, followed) {
            (Some(miss), _) if compact => ("  missed ", miss.clone(), t.in_progress),
            (Some(miss), _) => ("  first miss: ", miss.clone(), t.in_progress),
            (None, Some((trend, _))) => ("  slowest: ", trend.instruction.clone(), t.dim),
            (None, None) => return Line::from(spans),
        };
        let why = r
            .first_miss
            .as_ref()
            .and(r.miss_reason.as_ref())
            .map(|w| format!(" - {w}"));
        let why_w = why.as_ref().map_or(0, |w| w.chars().count());
        let tail = followed.map(|(trend, _)| trend_spans(trend, t));
        let tail_w: usize = tail
            .as_ref()
            .map_or(0, |s| s.iter().map(Span::width).sum::<usize>() + 2);
        let before = lead.chars().count() + label.chars().count();
        let mut room = width.saturating_sub(before);
        // The sparkline only while the step's own text and its reason keep their room.
        let need = MIN_MISS.min(text.chars().count()) + why_w;
        let tail = tail.filter(|_| room.saturating_sub(tail_w) >= need);
        if tail.is_some() {
            room -= tail_w;
        }
        spans.push(Span::styled(label, t.dim));
        let text_room = room.saturating_sub(why_w).max(MIN_MISS.min(room)).min(room);
        let text = ellipsize(&text, text_room);
        let left = room.saturating_sub(text.chars().count());
        spans.push(Span::styled(text, style));
        if let Some(why) = why.filter(|_| left > 0) {
            spans.push(Span::styled(ellipsize(&why, left), style));
        }
        if let Some(tail) = tail {
            // Right after the text: a short miss leaves the rest of the row blank.
            spans.push(Span::raw("  "));
            spans.extend(tail);
        }
        Line::from(spans)
    }
}

/// A step's trend: its sparkline and its miss rate (`▁▃·█ misses 3/4`).
fn trend_spans(trend: &StepTrend, t: &Theme) -> Vec<Span<'static>> {
    vec![
        Span::styled(step_runs(&trend.runs), t.in_progress),
        Span::styled(format!(" {}", trend.rate()), t.dim),
    ]
}

impl Widget for CacheGauge<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let r = self.report;
        let t = self.theme;
        let compact = area.width < WIDE && area.height >= 2;
        let (first, second) = if compact {
            let [a, b] =
                Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
            (a, b)
        } else {
            (area, Rect::default())
        };
        let saved = self.saved();
        // Compact: the saved time ends the gauge's row, the first miss has the second to itself.
        let saved_w = u16::try_from(saved.chars().count()).unwrap_or(0);
        let [name, gauge, rest] = Layout::horizontal([
            Constraint::Length(22),
            if compact {
                Constraint::Fill(1)
            } else {
                Constraint::Length(30)
            },
            if compact {
                Constraint::Length(saved_w)
            } else {
                Constraint::Fill(1)
            },
        ])
        .areas(first);
        // A gap before the gauge; a long name is cut with a mark.
        Paragraph::new(format!(" {}", ellipsize(&r.target, 20)))
            .style(t.accent)
            .render(name, buf);
        let style = if self.ratio() >= 0.999 {
            t.succeeded
        } else {
            t.in_progress
        };
        LineGauge::default()
            .ratio(self.ratio().clamp(0.0, 1.0))
            .filled_style(style)
            .unfilled_style(t.dim)
            .label(format!("{}/{} cached", r.cached, r.steps))
            .render(gauge, buf);
        if compact {
            Paragraph::new(saved).render(rest, buf);
            let line = self.detail("", usize::from(second.width), true);
            Paragraph::new(line).render(second, buf);
        } else {
            let line = self.detail(&saved, usize::from(rest.width), false);
            Paragraph::new(line).render(rest, buf);
        }
    }
}

/// A step that ran, as a row under its docker build: its number and instruction, how long it
/// took this time, its last runs and its miss rate (blank until the history answers).
pub struct StepRow<'a> {
    pub step: &'a StepLine,
    pub trend: Option<&'a StepTrend>,
    /// Whether it is the docker build's first miss (drawn as the summary's first miss is).
    pub first_miss: bool,
    /// Columns of the instructions and of the sparklines of this docker build's steps, so the
    /// durations, sparklines and rates line up right after the longest instruction.
    pub text_w: usize,
    pub spark_w: usize,
    pub theme: &'a Theme,
}

impl Widget for StepRow<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let s = self.step;
        let number = format!("   step {:<3} ", s.step);
        let mut duration = format!(" {:>7}", s.duration_ms.map_or_else(String::new, fmt_ms));
        let (spark, rate) = self.trend.map_or_else(
            || (String::new(), String::new()),
            |tr| (step_runs(&tr.runs), tr.rate()),
        );
        let spark = format!("  {spark:<w$}", w = self.spark_w);
        // `misses 10/10` at most: rates line up.
        let rate = format!(" {rate:<12}");
        let fixed = |duration: &str| {
            [number.as_str(), duration, spark.as_str(), rate.as_str()]
                .iter()
                .map(|p| p.chars().count())
                .sum::<usize>()
        };
        let mut room = usize::from(area.width).saturating_sub(fixed(&duration));
        if room < MIN_MISS {
            // A narrow row keeps the instruction before this run's duration.
            duration.clear();
            room = usize::from(area.width).saturating_sub(fixed(&duration));
        }
        let room = room.min(self.text_w.max(1));
        let text = ellipsize(&s.instruction, room);
        let text = format!("{text:<room$}");
        let style = if self.first_miss {
            t.in_progress
        } else {
            ratatui::style::Style::new()
        };
        let line = Line::from(vec![
            Span::styled(number, t.dim),
            Span::styled(text, style),
            Span::styled(duration, t.dim),
            Span::styled(spark, t.in_progress),
            Span::styled(rate, t.dim),
        ]);
        Paragraph::new(line).render(area, buf);
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
