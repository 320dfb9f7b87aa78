//! The log pane: a window over a [`LogStore`] through a [`LogView`]. Only the visible rows
//! are read, so drawing costs the same for ten lines or a million. SGR colours become
//! styles; search matches are highlighted on the plain text; the cursor row is marked when
//! the pane has focus.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::model::LogStream;
use crate::tui::logbuf::{LineMeta, LogStore};
use crate::tui::logview::LogView;
use crate::tui::sanitize;
use crate::tui::theme::Theme;

/// The visible part of a log.
pub struct LogPane<'a> {
    pub store: &'a LogStore,
    pub view: &'a LogView,
    pub theme: &'a Theme,
    pub focused: bool,
}

impl LogPane<'_> {
    fn line(&self, safe: &str, meta: LineMeta, cursor: bool) -> Line<'static> {
        let t = self.theme;
        let base = match meta.stream {
            LogStream::Agent => t.dim,
            LogStream::Stdout | LogStream::Stderr => Style::new(),
        };
        let mut spans = Vec::new();
        if self.view.timestamps {
            spans.push(Span::styled(
                format!("+{:02}:{:02} ", meta.secs / 60, meta.secs % 60),
                t.dim,
            ));
        }
        match &self.view.search {
            Some(m) if m.is_match(&sanitize::plain(safe)) => {
                let plain = sanitize::plain(safe).into_owned();
                let mut at = 0;
                for (a, b) in m.ranges(&plain) {
                    spans.push(Span::styled(plain[at..a].to_owned(), base));
                    spans.push(Span::styled(plain[a..b].to_owned(), t.highlight));
                    at = b;
                }
                spans.push(Span::styled(plain[at..].to_owned(), base));
            }
            _ => {
                for (style, text) in sanitize::spans(safe, base, t.colors) {
                    spans.push(Span::styled(text.to_owned(), style));
                }
            }
        }
        let line = Line::from(spans);
        if cursor {
            line.patch_style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            line
        }
    }
}

impl Widget for LogPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = area.height as usize;
        let v = self.view;
        let mut lines = Vec::with_capacity(rows);
        let show_cursor = self.focused && !v.follow;
        for pos in v.top..(v.top + rows).min(v.visible_len(self.store)) {
            let n = v.line_at(pos);
            self.store.for_each(n, n + 1, |_, safe, meta| {
                lines.push(self.line(safe, meta, show_cursor && pos == v.cursor));
            });
        }
        let mut p = Paragraph::new(lines);
        if v.wrap {
            p = p.wrap(Wrap { trim: false });
        }
        p.render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogLine;
    use crate::tui::logview::Matcher;
    use ratatui::style::Color;

    fn store() -> LogStore {
        let mut s = LogStore::new();
        for text in [
            "plain",
            "\x1b[31merror\x1b[0m: bad\x1b]0;pwned\x07",
            "find me here",
        ] {
            s.push(
                &LogLine {
                    phase: None,
                    stream: LogStream::Stdout,
                    text: text.into(),
                },
                65,
            );
        }
        s
    }

    fn render(view: &LogView, store: &LogStore) -> Buffer {
        let theme = Theme::default();
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 3));
        LogPane {
            store,
            view,
            theme: &theme,
            focused: true,
        }
        .render(buf.area, &mut buf);
        buf
    }

    #[test]
    fn sgr_is_coloured_and_other_escapes_are_gone() {
        let s = store();
        let buf = render(&LogView::default(), &s);
        let mut expected = Buffer::with_lines([
            "plain               ",
            "error: bad          ",
            "find me here        ",
        ]);
        expected.set_style(Rect::new(0, 1, 5, 1), Style::new().fg(Color::Red));
        assert_eq!(buf, expected);
    }

    #[test]
    fn search_matches_are_highlighted_and_timestamps_shown() {
        let s = store();
        let v = LogView {
            search: Matcher::new("me"),
            timestamps: true,
            ..LogView::default()
        };
        let buf = render(&v, &s);
        let row: String = (0..20).map(|x| buf[(x, 2)].symbol().to_owned()).collect();
        assert_eq!(row, "+01:05 find me here ");
        assert_eq!(buf[(12, 2)].bg, Color::Yellow);
        assert_eq!(buf[(11, 2)].bg, Color::Reset);
    }
}
