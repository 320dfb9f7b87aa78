//! A batch's nodes: one row each, under a heading per level of `depends_on` for a graph (its
//! edges drawn simply, as `← what it waits for`) or one heading for a list, matrix or fanout
//! (a tree). Each row has the node's status (colour and symbol, an unknown API word as its
//! raw text), attempt, duration and label; the nodes of the critical path are highlighted
//! while the batch runs; the selected row is marked. It scrolls to keep the selection on
//! screen, saying how many rows are below.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::model::{BatchKind, NodeStatus};
use crate::tui::batch::{Batch, Node};
use crate::tui::fit::ellipsize;
use crate::tui::fmt::fmt_ms;
use crate::tui::theme::Theme;
use crate::tui::widgets::timeline::icon;

/// Rows narrower than this leave out a known status's word (its symbol and colour say it).
pub const NARROW: u16 = 60;
/// The widest an identifier column gets (longer ones are cut).
const ID_MAX: usize = 24;

/// The graph (or tree) of one batch.
pub struct BatchGraph<'a> {
    pub batch: &'a Batch,
    /// Each node's duration, in `batch.nodes` order (`None`: not started).
    pub durations: &'a [Option<u64>],
    /// Indices of the nodes on the critical path (empty: none highlighted).
    pub critical: &'a [usize],
    pub selected: Option<usize>,
    /// The pane has the keys: the selection is reversed, else bold.
    pub focused: bool,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

/// A node status's symbol: `·` not started, the build status icon, `?` an unknown word.
#[must_use]
pub fn node_icon(s: &NodeStatus, now: DateTime<Utc>) -> &'static str {
    match s {
        NodeStatus::Pending => "·",
        NodeStatus::Is(s) => icon(*s, now),
        NodeStatus::Other(_) => "?",
    }
}

/// A node status's style: an unknown word stands out in the accent colour.
#[must_use]
pub const fn node_style(theme: &Theme, s: &NodeStatus) -> Style {
    match s {
        NodeStatus::Pending => theme.dim,
        NodeStatus::Is(s) => theme.status(*s),
        NodeStatus::Other(_) => theme.accent,
    }
}

/// A row: a heading, or node `i`.
enum Row {
    Heading(String),
    Node(usize),
}

impl BatchGraph<'_> {
    /// Rows this widget wants: its headings and nodes.
    #[must_use]
    pub fn height(&self) -> u16 {
        u16::try_from(self.rows().len()).unwrap_or(u16::MAX)
    }

    fn rows(&self) -> Vec<Row> {
        let nodes = &self.batch.nodes;
        if self.batch.kind != BatchKind::Graph {
            let what = if self.batch.kind == BatchKind::Fanout {
                "shards"
            } else {
                "builds"
            };
            let head = format!(" {} · {} {what}", self.batch.kind.as_str(), nodes.len());
            return std::iter::once(Row::Heading(head))
                .chain((0..nodes.len()).map(Row::Node))
                .collect();
        }
        let mut out = Vec::new();
        let mut level = None;
        for (i, n) in nodes.iter().enumerate() {
            if level != Some(n.level) {
                let count = nodes.iter().filter(|m| m.level == n.level).count();
                let s = if count == 1 { "" } else { "s" };
                out.push(Row::Heading(format!(
                    " level {} · {count} build{s}",
                    n.level + 1
                )));
                level = Some(n.level);
            }
            out.push(Row::Node(i));
        }
        out
    }

    /// Whether node `i` is the last of its group (the tree's `└`).
    fn last_of_group(&self, i: usize) -> bool {
        self.batch
            .nodes
            .get(i + 1)
            .is_none_or(|next| next.level != self.batch.nodes[i].level)
    }

    fn node_line(&self, i: usize, width: usize, widths: (usize, usize)) -> Line<'static> {
        let t = self.theme;
        let n = &self.batch.nodes[i];
        let (id_w, status_w) = widths;
        let st = node_style(t, &n.status);
        let narrow = width < usize::from(NARROW);
        let gutter = if self.last_of_group(i) {
            " └ "
        } else {
            " ├ "
        };
        let id_style = if self.critical.contains(&i) {
            t.highlight.add_modifier(Modifier::BOLD)
        } else {
            st
        };
        let attempt = if n.attempt == 0 {
            "    ".to_owned()
        } else {
            format!(" #{:<2}", n.attempt)
        };
        let dur = self.durations.get(i).copied().flatten().map(fmt_ms);
        let mut spans = vec![
            Span::styled(gutter, t.dim),
            Span::styled(format!("{} ", node_icon(&n.status, self.now)), st),
            Span::styled(
                format!("{:<id_w$}", ellipsize(&n.identifier, id_w)),
                id_style,
            ),
            Span::styled(attempt, t.dim),
            Span::raw(format!("{:>8}", dur.unwrap_or_default())),
        ];
        // Narrow: a known status's word goes (its symbol and colour stay); a raw one stays.
        if !narrow || matches!(n.status, NodeStatus::Other(_)) {
            spans.push(Span::styled(
                format!("  {:<status_w$}", n.status.as_str()),
                st,
            ));
        }
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        spans.extend(self.tail(n, width.saturating_sub(used)));
        Line::from(spans)
    }

    /// The label and the edges, in what is left of the row.
    fn tail(&self, n: &Node, room: usize) -> Vec<Span<'static>> {
        let label = n.label.clone().unwrap_or_default();
        let deps = if n.depends_on.is_empty() {
            String::new()
        } else {
            format!("← {}", n.depends_on.join(", "))
        };
        if room < 4 || (label.is_empty() && deps.is_empty()) {
            return Vec::new();
        }
        let room = room - 2;
        let mut out = vec![Span::raw("  ")];
        let label = crate::tui::fit::fit_label(&label, room);
        let left = room.saturating_sub(label.chars().count());
        if !label.is_empty() {
            out.push(Span::raw(label));
        }
        if !deps.is_empty() && left > 3 {
            let sep = if out.len() > 1 { "  " } else { "" };
            let deps = ellipsize(&format!("{sep}{deps}"), left);
            out.push(Span::styled(deps, self.theme.dim));
        }
        out
    }

    fn column_widths(&self) -> (usize, usize) {
        let id_w = self
            .batch
            .nodes
            .iter()
            .map(|n| n.identifier.chars().count())
            .max()
            .unwrap_or(1)
            .min(ID_MAX);
        let status_w = self
            .batch
            .nodes
            .iter()
            .map(|n| n.status.as_str().chars().count())
            .max()
            .unwrap_or(0);
        (id_w, status_w)
    }
}

impl Widget for BatchGraph<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = self.rows();
        let height = usize::from(area.height);
        if height == 0 {
            return;
        }
        let width = usize::from(area.width);
        let widths = self.column_widths();
        let sel_row = self.selected.and_then(|s| {
            rows.iter()
                .position(|r| matches!(r, Row::Node(i) if *i == s))
        });
        // The selection stays on screen, one row above the "more" mark when there is one.
        let more_below = |skip: usize| rows.len() > skip + height;
        let mut skip = sel_row.map_or(0, |r| (r + 1).saturating_sub(height));
        if more_below(skip) && sel_row.is_some_and(|r| r + 1 == skip + height) {
            skip += 1;
        }
        let shown = if more_below(skip) { height - 1 } else { height };
        let mut lines: Vec<Line> = rows
            .iter()
            .skip(skip)
            .take(shown)
            .map(|r| match r {
                Row::Heading(h) => Line::styled(
                    ellipsize(h, width),
                    self.theme.accent.add_modifier(Modifier::BOLD),
                ),
                Row::Node(i) => {
                    let line = self.node_line(*i, width, widths);
                    if Some(*i) != self.selected {
                        line
                    } else if self.focused {
                        line.patch_style(Style::new().add_modifier(Modifier::REVERSED))
                    } else {
                        line.patch_style(Style::new().add_modifier(Modifier::BOLD))
                    }
                }
            })
            .collect();
        if more_below(skip) {
            let below = rows.len() - skip - shown;
            lines.push(Line::styled(format!(" ▼ {below} more"), self.theme.dim));
        }
        Paragraph::new(lines).render(area, buf);
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
