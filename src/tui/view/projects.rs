//! The left pane: projects grouped Local / Cloud (one group per profile + region), each with
//! its last status and a sparkline of recent build durations.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::Ctx;
use crate::tui::state::{Focus, Group, State};
use crate::tui::widgets::timeline::icon;

/// Sparkline width.
const SPARK: u16 = 8;

/// One row of the pane.
enum Row {
    Header(String),
    Project(usize),
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
    }
    let has_cloud = state.projects.iter().any(|p| p.key.group != Group::Local);
    if !out.is_empty() && !has_cloud {
        out.push(Row::Header("Cloud".to_owned()));
        out.push(Row::Hint("  add [[cloud]] profile and"));
        out.push(Row::Hint("  region to the config"));
    }
    out
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
            Row::Project(i) => {
                let p = &state.projects[*i];
                let status = p.last_status(&state.builds);
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
                    frame.render_widget(Sparkline::default().data(&data).style(t.dim), spark);
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
