//! The cache panel's row: one `docker build` with its hit ratio as a gauge, the first step
//! that missed (what invalidated the cache) and the time the cached steps saved.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Widget};

use crate::tui::state::CacheSummary;
use crate::tui::theme::Theme;
use crate::tui::view::fmt_ms;

/// One cache report as a row.
pub struct CacheGauge<'a> {
    pub report: &'a CacheSummary,
    pub theme: &'a Theme,
}

impl CacheGauge<'_> {
    /// Hit ratio, 0..=1.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        if self.report.steps == 0 {
            0.0
        } else {
            f64::from(self.report.cached) / f64::from(self.report.steps)
        }
    }
}

impl Widget for CacheGauge<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let r = self.report;
        let t = self.theme;
        let [name, gauge, rest] = Layout::horizontal([
            Constraint::Length(22),
            Constraint::Length(30),
            Constraint::Fill(1),
        ])
        .areas(area);
        Paragraph::new(format!(" {:.21}", r.target))
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
        let mut spans = vec![Span::raw(format!("  saved ~{}", fmt_ms(r.saved_ms)))];
        if let Some(miss) = &r.first_miss {
            spans.push(Span::styled("  first miss: ", t.dim));
            spans.push(Span::styled(miss.clone(), t.in_progress));
        }
        Paragraph::new(Line::from(spans)).render(rest, buf);
    }
}
