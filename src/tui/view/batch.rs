//! The main pane while a batch's graph is shown: a title with the batch's status, kind, id,
//! progress and time; its nodes ([`BatchGraph`]); and a footer with the critical path while it
//! runs, or what became of its nodes once it ended (and the key that resumes or retries it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::Ctx;
use crate::model::NodeStatus;
use crate::tui::batch::{self, Batch, BatchView};
use crate::tui::fit::ellipsize;
use crate::tui::fmt::fmt_ms;
use crate::tui::keymap::Action;
use crate::tui::state::{Focus, State};
use crate::tui::widgets::graph::{BatchGraph, node_icon, node_style};

pub fn render(frame: &mut Frame, area: Rect, state: &State, ctx: &Ctx) {
    let Some((b, view)) = batch::shown(state) else {
        return;
    };
    let t = ctx.theme;
    let focused = state.focus == Focus::Log;
    let title = title(state, b, usize::from(area.width.saturating_sub(4)), ctx);
    let block = Block::bordered()
        .title(title)
        .border_style(if focused { t.accent } else { t.dim });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let durations: Vec<Option<u64>> = b.nodes.iter().map(|n| batch::node_ms(state, n)).collect();
    let critical = batch::live_critical_path(state, b);
    let graph = BatchGraph {
        batch: b,
        durations: &durations,
        critical: &critical,
        selected: Some(view.selected),
        focused,
        theme: t,
        now: state.now,
    };
    // On a tall pane, the selected node's phases under the graph (what `open` shows whole).
    let selected = b.nodes.get(view.selected).and_then(|n| {
        n.build_id
            .as_ref()
            .and_then(|id| state.builds.get(id))
            .map(|b| (n, b))
    });
    let rows = graph.height();
    let preview = selected.filter(|_| inner.height >= rows + 1 + PREVIEW_MIN);
    let preview_h = preview.map_or(0, |(_, b)| crate::tui::layout::timeline_rows(b).max(1) + 2);
    let [graph_area, preview_area, _, footer] = Layout::vertical([
        Constraint::Length(if preview.is_some() {
            rows
        } else {
            inner.height.saturating_sub(1)
        }),
        Constraint::Length(preview_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(graph, graph_area);
    if let Some((node, build)) = preview {
        phases(frame, preview_area, state, ctx, &node.identifier, build);
    }
    let width = usize::from(footer.width);
    let line = if critical.is_empty() {
        outcome(b, view, state.now, width, ctx)
    } else {
        critical_line(b, &critical, &durations, width, ctx)
    };
    frame.render_widget(Paragraph::new(line), footer);
}

/// Rows the node preview needs at least (its border, a few phases).
const PREVIEW_MIN: u16 = 8;

/// The selected node's phase timeline, as its build's own view shows it.
fn phases(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    ctx: &Ctx,
    identifier: &str,
    build: &crate::tui::state::Build,
) {
    let open = ctx.keymap.label(Action::Open);
    let block = Block::bordered()
        .title(format!(" {identifier} · phases · {open} opens its build "))
        .border_style(ctx.theme.dim);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let empty = std::collections::BTreeMap::new();
    let medians = state.project().map_or(&empty, |p| &p.phase_medians);
    frame.render_widget(
        crate::tui::widgets::timeline::PhaseTimeline {
            build,
            medians,
            theme: ctx.theme,
            now: state.now,
            diagnosis_key: "",
        },
        inner,
    );
}

/// ` ⣾ IN_PROGRESS · 1m02s · 2/5 done · graph batch · api:3f1c2a9e `: what matters most
/// first, cut to `width`.
fn title(state: &State, b: &Batch, width: usize, ctx: &Ctx) -> Line<'static> {
    let status = format!("{} {}", node_icon(&b.status, state.now), b.status);
    let rest = format!(
        " · {} · {}/{} done · {} batch · {} ",
        fmt_ms(b.elapsed_ms(state.now)),
        b.done(),
        b.nodes.len(),
        b.kind.as_str(),
        batch::short_id(&b.id),
    );
    let room = width.saturating_sub(status.chars().count() + 1);
    Line::from(vec![
        Span::raw(" "),
        Span::styled(status, node_style(ctx.theme, &b.status)),
        Span::raw(ellipsize(&rest, room)),
    ])
}

/// ` critical path  build1 → build3 → build5 · 34.0s`.
fn critical_line(
    b: &Batch,
    path: &[usize],
    durations: &[Option<u64>],
    width: usize,
    ctx: &Ctx,
) -> Line<'static> {
    let names: Vec<&str> = path
        .iter()
        .map(|&i| b.nodes[i].identifier.as_str())
        .collect();
    let total: u64 = path
        .iter()
        .map(|&i| durations.get(i).copied().flatten().unwrap_or(0))
        .sum();
    let head = " critical path ";
    let rest = format!(" {} · {}", names.join(" → "), fmt_ms(total));
    let room = width.saturating_sub(head.chars().count() + 1);
    Line::from(vec![
        Span::raw(" "),
        Span::styled(head, ctx.theme.highlight),
        Span::raw(ellipsize(&rest, room)),
    ])
}

/// What became of the nodes (`✔ 2 succeeded  ✘ 1 failed  ✘ 1 failed (ignored)  ■ 2 stopped`,
/// the status words left out when the row is short), and the key that resumes or retries a
/// failed batch. A failed node whose failure the batch ignores (`ignore-failure: true`) is
/// counted apart, dimmed: it does not fail the batch, so it is not one more ✘ in red.
fn outcome(
    b: &Batch,
    view: &BatchView,
    now: chrono::DateTime<chrono::Utc>,
    width: usize,
    ctx: &Ctx,
) -> Line<'static> {
    let t = ctx.theme;
    // (status, an ignored failure) and how many nodes ended so.
    let mut counts: Vec<((NodeStatus, bool), usize)> = Vec::new();
    for n in &b.nodes {
        let key = (n.status.clone(), n.failed() && n.ignore_failure);
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, c)) => *c += 1,
            None => counts.push((key, 1)),
        }
    }
    let style = |(s, ignored): &(NodeStatus, bool)| {
        if *ignored { t.dim } else { node_style(t, s) }
    };
    // `(ignored)` stays when the status words go: without it the two ✘ counts read alike.
    let ignored = |i: bool| if i { " (ignored)" } else { "" };
    let hint = if b.failed() {
        let key = ctx.keymap.label(Action::Rerun);
        let what = if b.backend == crate::model::BackendKind::Local {
            "resume failed nodes"
        } else {
            "retry failed builds"
        };
        Some(Span::styled(format!("· {key} {what}"), t.accent))
    } else if b.running() {
        let open = ctx.keymap.label(Action::Open);
        let node = b
            .nodes
            .get(view.selected)
            .map_or("", |n| n.identifier.as_str());
        Some(Span::styled(format!(" {open} opens {node}"), t.dim))
    } else {
        None
    };
    for words in [true, false] {
        let mut spans: Vec<Span> = counts
            .iter()
            .map(|(k, c)| {
                let word = if words {
                    format!(" {}", k.0.as_str().to_lowercase().replace('_', " "))
                } else {
                    String::new()
                };
                Span::styled(
                    format!(" {} {c}{word}{} ", node_icon(&k.0, now), ignored(k.1)),
                    style(k),
                )
            })
            .collect();
        spans.extend(hint.clone());
        let line = Line::from(spans);
        if line.width() <= width {
            return line;
        }
    }
    let text = counts
        .iter()
        .map(|(k, c)| format!("{} {c}{}", node_icon(&k.0, now), ignored(k.1)))
        .collect::<Vec<_>>()
        .join(" ");
    Line::styled(ellipsize(&text, width), t.dim)
}
