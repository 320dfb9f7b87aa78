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

use crate::tui::layout::CACHE_WIDE as WIDE;

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
        let [name, gauge, rest] = Layout::horizontal([
            Constraint::Length(22),
            if compact {
                Constraint::Fill(1)
            } else {
                Constraint::Length(30)
            },
            Constraint::Fill(u16::from(!compact)),
        ])
        .areas(first);
        // A gap before the gauge; a long name is cut with a mark.
        Paragraph::new(format!(" {}", crate::tui::fit::ellipsize(&r.target, 20)))
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
        if compact {
            spans[0] = Span::raw(format!("   saved ~{}", fmt_ms(r.saved_ms)));
            Paragraph::new(Line::from(spans)).render(second, buf);
        } else {
            Paragraph::new(Line::from(spans)).render(rest, buf);
        }
    }
}
