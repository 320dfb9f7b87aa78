//! The left pane: projects grouped Local / Cloud (one group per profile + region), each with
//! its last status and a sparkline of recent build durations.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::Ctx;
use crate::tui::state::{Focus, Group, State};
use crate::tui::widgets::graph::{node_icon, node_style};
use crate::tui::widgets::timeline::icon;

/// Sparkline width.
const SPARK: u16 = 8;

/// One row of the pane.
enum Row {
    Header(String),
    Project(usize),
    /// The project's newest batch of this session, under it.
    Batch(crate::model::BatchId),
    /// A dim line under a header (how to fill an empty group).
    Hint(&'static str),
}

fn rows(state: &State) -> Vec<Row> {
    let mut out = Vec::new();
    let mut group = None;
    for i in state.ordered() {
        let g = &state.projects[i].key.group;
        if group != Some(g) {
            out.push(Row::Header(g.to_string()));
            group = Some(g);
        }
        out.push(Row::Project(i));
        if let Some(b) = crate::tui::batch::of_project(state, i).last() {
            out.push(Row::Batch(b.id.clone()));
        }
    }
    let has_cloud = state.projects.iter().any(|p| p.key.group != Group::Local);
    if !out.is_empty() && !has_cloud {
        out.push(Row::Header("Cloud".to_owned()));
        out.push(Row::Hint("  add [[cloud]] profile and"));
        out.push(Row::Hint("  region to the config"));
    }
    out
}

use crate::tui::spark::BARS;

/// The newest `width` durations as bars scaled between the shortest and the longest, so
/// every build shows (ratatui's sparkline scales from zero and draws a short build, or a row
/// of zeros, as blanks). Equal durations are mid-height bars.
#[must_use]
pub fn sparkline(data: &[u64], width: usize) -> String {
    let data = &data[data.len().saturating_sub(width)..];
    let (Some(&min), Some(&max)) = (data.iter().min(), data.iter().max()) else {
        return String::new();
    };
    let top: u64 = 7; // the highest index of BARS
    data.iter()
        .map(|&v| {
            let level = if max == min {
                top / 2
            } else {
                u64::try_from(
                    (u128::from(v - min) * u128::from(top) + u128::from(max - min) / 2)
                        / u128::from(max - min),
                )
                .unwrap_or(top)
            };
            BARS[usize::try_from(level.min(top)).unwrap_or(0)]
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, ctx: &Ctx) {
    let t = ctx.theme;
    let border = if state.focus == Focus::Projects {
        t.accent
    } else {
        t.dim
    };
    let block = Block::bordered().title(" Projects ").border_style(border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let all = rows(state);
    let sel = all
        .iter()
        .position(|r| matches!(r, Row::Project(i) if *i == state.selected))
        .unwrap_or(0);
    let skip = (sel + 1).saturating_sub(usize::from(inner.height));
    let name_w = usize::from(inner.width.saturating_sub(SPARK + 4));
    for (y, row) in (inner.y..inner.bottom()).zip(all.iter().skip(skip)) {
        let line_area = Rect::new(inner.x, y, inner.width, 1);
        match row {
            Row::Header(g) => {
                let style = t.accent.add_modifier(Modifier::BOLD);
                frame.render_widget(Paragraph::new(Span::styled(g.clone(), style)), line_area);
            }
            Row::Hint(text) => {
                frame.render_widget(Paragraph::new(Span::styled(*text, t.dim)), line_area);
            }
            Row::Batch(id) => batch_row(frame, line_area, state, ctx, id),
            Row::Project(i) => {
                let p = &state.projects[*i];
                // Its newest batch, when newer than its newest build, says how it went.
                let status = crate::tui::batch::newest(state, *i)
                    .map(crate::tui::batch::Batch::build_status)
                    .or_else(|| p.last_status(&state.builds));
                let (mark, st) =
                    status.map_or(("·", t.dim), |s| (icon(s, state.now), t.status(s)));
                let mut name = Style::new();
                if *i == state.selected {
                    name = name.add_modifier(Modifier::BOLD);
                    if state.focus == Focus::Projects {
                        name = name.add_modifier(Modifier::REVERSED);
                    }
                }
                let line = Line::from(vec![
                    Span::styled(format!(" {mark} "), st),
                    Span::styled(format!("{:<name_w$.name_w$}", p.key.name), name),
                ]);
                frame.render_widget(Paragraph::new(line), line_area);
                let data = p.durations(&state.builds);
                if !data.is_empty() && inner.width > SPARK {
                    let spark = Rect::new(inner.right() - SPARK, y, SPARK, 1);
                    let bars = sparkline(&data, usize::from(SPARK));
                    frame.render_widget(Paragraph::new(Span::styled(bars, t.dim)), spark);
                }
            }
        }
    }
    if all.is_empty() {
        let hint = Paragraph::new("no projects: add a buildspec.yml\nor [[cloud]] to the config")
            .style(t.dim);
        frame.render_widget(hint, inner);
    }
}

/// `  └ ⣾ graph batch 2/5`: the batch's status and progress, bold when it is shown.
fn batch_row(frame: &mut Frame, area: Rect, state: &State, ctx: &Ctx, id: &crate::model::BatchId) {
    let Some(b) = state.batches.get(id) else {
        return;
    };
    let t = ctx.theme;
    let shown = state.batch.as_ref().is_some_and(|v| v.id == *id);
    let text = if shown {
        Style::new().add_modifier(Modifier::BOLD)
    } else {
        t.dim
    };
    let line = Line::from(vec![
        Span::styled("   └ ", t.dim),
        Span::styled(
            format!("{} ", node_icon(&b.status, state.now)),
            node_style(t, &b.status),
        ),
        Span::styled(
            format!("{} batch {}/{}", b.kind.as_str(), b.done(), b.nodes.len()),
            text,
        ),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn every_build_has_a_visible_bar() {
        // A 50 ms build beside one-minute builds, zeros, and equal values: never a blank.
        assert_eq!(sparkline(&[60_000, 50, 61_000], 8), "█▁█");
        assert_eq!(sparkline(&[0, 0, 0], 8), "▄▄▄");
        assert_eq!(sparkline(&[5, 5], 8), "▄▄");
        assert_eq!(sparkline(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 8), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[], 8), "");
        assert!(!sparkline(&[0, 1, u64::MAX], 8).contains(' '));
    }
}
