//! The log pane: a window over a [`LogStore`] through a [`LogView`]. Only the visible rows
//! are read, so drawing costs the same for ten lines or a million. Which lines show, and how
//! they wrap, is [`layout::log_window`]'s arithmetic (following, the last line always ends on
//! the bottom row, whatever the size, wrapping or timestamps). SGR colours become styles;
//! search matches are highlighted on the plain text; the cursor row is marked when the pane
//! has focus.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::model::LogStream;
use crate::tui::layout;
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
            spans.push(Span::styled(meta.clock(), t.dim));
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
        let (rows, width) = (usize::from(area.height), usize::from(area.width));
        let v = self.view;
        let window = layout::log_window(v, self.store, rows, width);
        let show_cursor = self.focused && !v.follow;
        let mut skip = window.skip;
        let mut y = 0;
        for pos in window.first..v.visible_len(self.store) {
            if y >= rows {
                break;
            }
            let n = v.line_at(pos);
            let mut line = None;
            self.store.for_each(n, n + 1, |_, safe, meta| {
                line = Some(self.line(safe, meta, show_cursor && pos == v.cursor));
            });
            let Some(line) = line else { break };
            let pieces = if v.wrap {
                layout::wrap_line(&line, width)
            } else {
                vec![line]
            };
            for piece in pieces.iter().skip(skip) {
                if y >= rows {
                    break;
                }
                let row = area.y + u16::try_from(y).unwrap_or(u16::MAX);
                buf.set_line(area.x, row, piece, area.width);
                y += 1;
            }
            skip = 0;
        }
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
        // The arrival time of day (UTC), no `+` offset.
        assert_eq!(row, "00:01:05 find me her");
        assert_eq!(buf[(14, 2)].bg, Color::Yellow);
        assert_eq!(buf[(13, 2)].bg, Color::Reset);
    }
}
