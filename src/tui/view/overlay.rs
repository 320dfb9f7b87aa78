//! Overlays drawn over the screen: help (generated from the keymap), the project palette,
//! the builds list, and the failure diagnosis (`super::diagnosis`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{Ctx, fmt_ms};
use crate::tui::actions::palette_matches;
use crate::tui::batch_actions::{Entry, entries};
use crate::tui::keymap::Action;
use crate::tui::state::{Mode, RunForm, StartForm, State};
use crate::tui::widgets::timeline::icon;

pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx) {
    match &state.mode {
        Mode::Help { .. } => help(frame, state, ctx),
        Mode::Messages { scroll } => messages(frame, state, ctx, *scroll),
        Mode::Palette { query, selected } => palette(frame, state, ctx, query, *selected),
        Mode::Builds { selected } => builds(frame, state, ctx, *selected),
        Mode::StartForm(form) => start_form(frame, ctx, form),
        Mode::RunForm(form) => run_form(frame, ctx, form),
        Mode::Diagnosis { selected } => super::diagnosis::render(frame, state, ctx, *selected),
        Mode::Case { index } => super::case::render(frame, state, ctx, *index),
        Mode::CacheReport { scroll } => cache_report(frame, state, ctx, *scroll),
        _ => {}
    }
}

fn boxed(frame: &mut Frame, w: u16, h: u16, title: &str, ctx: &Ctx) -> Rect {
    let area = frame
        .area()
        .centered(Constraint::Length(w), Constraint::Length(h));
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(title)
        .border_style(ctx.theme.accent);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The widest the help box gets.
const HELP_MAX_W: u16 = 100;

/// The help overlay, generated from the keymap: two columns of `keys  description`, the keys
/// column as wide as its longest label allows, a longer key list wrapped at its `/`, so keys
/// never run into their description.
fn help(frame: &mut Frame, state: &State, ctx: &Ctx) {
    let screen = frame.area();
    let width = HELP_MAX_W.min(screen.width);
    let col = usize::from(width.saturating_sub(2)) / 2;
    let entries = help_entries(ctx, col);
    let half = entries.len().div_ceil(2);
    let (left, right) = entries.split_at(half);
    let left: Vec<Line> = left.iter().flatten().cloned().collect();
    let right: Vec<Line> = right.iter().flatten().cloned().collect();
    let rows = left.len().max(right.len());
    let height = u16::try_from(rows + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height.saturating_sub(1));
    let inner = boxed(frame, width, height, " Keys ", ctx);
    let [l, r] = ratatui::layout::Layout::horizontal([Constraint::Fill(1); 2]).areas(inner);
    let scroll = help_scroll(state, rows, inner.height);
    frame.render_widget(Paragraph::new(left).scroll((scroll, 0)), l);
    frame.render_widget(Paragraph::new(right).scroll((scroll, 0)), r);
}

/// How far the help is scrolled (it scrolls only when the screen is too short for it).
fn help_scroll(state: &State, rows: usize, height: u16) -> u16 {
    let max = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_sub(height);
    match state.mode {
        Mode::Help { scroll } => scroll.min(max),
        _ => 0,
    }
}

/// Each action's lines for a column `col` wide: keys (wrapped at `/`) beside the description
/// (wrapped at spaces).
fn help_entries(ctx: &Ctx, col: usize) -> Vec<Vec<Line<'static>>> {
    let longest = Action::ALL
        .iter()
        .map(|a| ctx.keymap.label(*a).chars().count())
        .max()
        .unwrap_or(1);
    // Keys get up to 40% of the column; the description the rest, after a gap of two.
    let keys_w = longest.min(col * 2 / 5).max(3);
    let desc_w = col.saturating_sub(keys_w + 3).max(8);
    Action::ALL
        .iter()
        .map(|a| {
            let keys = wrap_keys(&ctx.keymap.label(*a), keys_w);
            let desc = crate::tui::fit::wrap(a.describe(), desc_w);
            (0..keys.len().max(desc.len()))
                .map(|i| {
                    let k = keys.get(i).map_or("", String::as_str);
                    let d = desc.get(i).map_or("", String::as_str);
                    Line::from(vec![
                        Span::styled(format!(" {k:<keys_w$}  "), ctx.theme.accent),
                        Span::raw(d.to_owned()),
                    ])
                })
                .collect()
        })
        .collect()
}

/// A key list (`l/h/right/left`) in lines of at most `width`, broken after a `/`.
fn wrap_keys(label: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let keys: Vec<&str> = label.split('/').collect();
    for (i, k) in keys.iter().enumerate() {
        let piece = if i + 1 < keys.len() {
            format!("{k}/")
        } else {
            (*k).to_owned()
        };
        if !line.is_empty() && line.chars().count() + piece.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        line.push_str(&piece);
    }
    out.push(line);
    out
}

fn palette(frame: &mut Frame, state: &State, ctx: &Ctx, query: &str, selected: usize) {
    let hits = palette_matches(state, query);
    let inner = boxed(frame, 50, 12, " Jump to project ", ctx);
    let mut lines = vec![Line::from(format!(":{query}▏"))];
    for (n, i) in hits.iter().take(9).enumerate() {
        let p = &state.projects[*i];
        let mut line = Line::from(format!("  {}  ({})", p.key.name, p.key.group));
        if n == selected.min(hits.len().saturating_sub(1)) {
            line = line.patch_style(ctx.theme.accent.add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    if hits.is_empty() {
        lines.push(Line::styled("  no match", ctx.theme.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn builds(frame: &mut Frame, state: &State, ctx: &Ctx, selected: usize) {
    let list = entries(state);
    let title = state.project().map_or_else(
        || " Builds ".to_owned(),
        |p| format!(" Builds of {} ", p.key.name),
    );
    let inner = boxed(frame, 80, 14, &title, ctx);
    let mut lines = Vec::new();
    for (n, entry) in list.iter().enumerate().take(usize::from(inner.height)) {
        let (id, status, is_live) = match entry {
            Entry::Build(id, status, is_live) => (id, status, is_live),
            Entry::Batch(id) => {
                lines.push(batch_row(state, ctx, id, n == selected));
                continue;
            }
        };
        let dur = state
            .builds
            .get(id)
            .and_then(|b| b.duration_ms)
            .or_else(|| {
                state
                    .project()
                    .and_then(|p| p.history.iter().find(|h| &h.build_id == id))
                    .map(|h| h.duration_ms)
            });
        let mut line = Line::from(vec![
            Span::styled(
                format!(" {} {:<12}", icon(*status, state.now), status.as_str()),
                ctx.theme.status(*status),
            ),
            Span::raw(format!(
                "{:<42} {:>8} {}",
                id.as_str(),
                dur.map(fmt_ms).unwrap_or_default(),
                if *is_live { "" } else { "(history)" }
            )),
        ]);
        if n == selected {
            line = line.patch_style(ratatui::style::Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    if list.is_empty() {
        lines.push(Line::styled(" no builds yet", ctx.theme.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A batch in the builds list: one row for all its builds.
fn batch_row(
    state: &State,
    ctx: &Ctx,
    id: &crate::model::BatchId,
    selected: bool,
) -> Line<'static> {
    use crate::tui::widgets::graph::{node_icon, node_style};
    let Some(b) = state.batches.get(id) else {
        return Line::raw("");
    };
    let mut line = Line::from(vec![
        Span::styled(
            format!(
                " {} {:<12}",
                node_icon(&b.status, state.now),
                b.status.as_str()
            ),
            node_style(ctx.theme, &b.status),
        ),
        Span::raw(format!(
            "{:<42} {:>8} ",
            id.as_str(),
            fmt_ms(b.elapsed_ms(state.now))
        )),
        Span::styled(
            format!("({}, {})", b.kind.as_str(), b.nodes.len()),
            ctx.theme.accent,
        ),
    ]);
    if selected {
        line = line.patch_style(ratatui::style::Style::new().add_modifier(Modifier::REVERSED));
    }
    line
}

/// The local run form: one line per field, the focused one marked; the Docker mode shows
/// every choice with the chosen one highlighted.
fn run_form(frame: &mut Frame, ctx: &Ctx, form: &RunForm) {
    let title = format!(" Run {} ", form.project.name);
    let width = 76.min(frame.area().width);
    let inner = boxed(frame, width, 10, &title, ctx);
    let mut lines: Vec<Line> = RunForm::LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let focused = i == form.focus;
            let label_style = if focused {
                ctx.theme.accent.add_modifier(Modifier::BOLD)
            } else {
                ctx.theme.dim
            };
            let cursor = if focused { "▏" } else { "" };
            let mut spans = vec![Span::styled(format!(" {label:>20}: "), label_style)];
            match i {
                0 => spans.push(Span::raw(format!("{}{cursor}", form.image))),
                1 => {
                    for d in crate::model::DockerAccess::ALL {
                        let style = if d == form.docker {
                            ctx.theme.accent.add_modifier(Modifier::REVERSED)
                        } else {
                            ctx.theme.dim
                        };
                        spans.push(Span::styled(format!(" {d} "), style));
                        spans.push(Span::raw(" "));
                    }
                }
                2 => spans.push(Span::raw(format!("{}{cursor}", form.vars))),
                3 => spans.push(Span::raw(if form.debug {
                    "[x] yes (e: a shell where it failed)"
                } else {
                    "[ ] no"
                })),
                _ => spans.push(Span::raw(if form.save { "[x] yes" } else { "[ ] no" })),
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " unchanged: the project's settings · space: docker mode, pause, save",
        ctx.theme.dim,
    ));
    lines.push(Line::styled(
        " variables: NAME=VALUE, NAME2=VALUE (this run only, never saved)",
        ctx.theme.dim,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The start-with-overrides form: one line per field, the focused one marked.
fn start_form(frame: &mut Frame, ctx: &Ctx, form: &StartForm) {
    let title = format!(" Start {} in CodeBuild ", form.project.name);
    let inner = boxed(frame, 72, 8, &title, ctx);
    let mut lines: Vec<Line> = StartForm::LABELS
        .iter()
        .zip(&form.fields)
        .enumerate()
        .map(|(i, (label, value))| {
            let focused = i == form.focus;
            let label_style = if focused {
                ctx.theme.accent.add_modifier(Modifier::BOLD)
            } else {
                ctx.theme.dim
            };
            let cursor = if focused { "▏" } else { "" };
            Line::from(vec![
                Span::styled(format!(" {label:>15}: "), label_style),
                Span::raw(format!("{value}{cursor}")),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " empty: the project's setting · variables: NAME=VALUE NAME2=VALUE",
        ctx.theme.dim,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The messages overlay: every warning and error of this session in full, newest first
/// (an invalid buildspec's `file:line:col`, its snippet and hint), scrolled with j/k.
fn messages(frame: &mut Frame, state: &State, ctx: &Ctx, scroll: u16) {
    let screen = frame.area();
    let width = 110.min(screen.width);
    let text_w = usize::from(width.saturating_sub(4));
    let lines = message_lines(state, ctx, text_w);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height.saturating_sub(1));
    let inner = boxed(frame, width, height, " Messages, newest first ", ctx);
    let max = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(inner.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll.min(max), 0)), inner);
}

/// `x`: the layer-cache report of the open build's Dockerfiles, the lines `cbdash cache`
/// prints, scrolled; headings in the accent colour.
fn cache_report(frame: &mut Frame, state: &State, ctx: &Ctx, scroll: u16) {
    let screen = frame.area();
    let width = 100.min(screen.width);
    let text_w = usize::from(width.saturating_sub(2));
    let lines: Vec<Line> = match state.cache_report.as_ref().and_then(|v| v.report.as_ref()) {
        None => vec![Line::raw(" loading the run history …")],
        Some(Err(e)) => vec![Line::styled(format!(" {e}"), ctx.theme.failed)],
        Some(Ok(o)) if o.is_empty() => vec![Line::raw(
            " no finished docker build of this build in the run history",
        )],
        Some(Ok(o)) => crate::tui::cache_report::report_lines(o, text_w)
            .into_iter()
            .map(|l| {
                if l.starts_with(' ') || l.is_empty() {
                    Line::raw(l)
                } else {
                    Line::styled(l, ctx.theme.accent.add_modifier(Modifier::BOLD))
                }
            })
            .collect(),
    };
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height.saturating_sub(1));
    let inner = boxed(frame, width, height, " Layer cache report ", ctx);
    let max = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(inner.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll.min(max), 0)), inner);
}

const fn level_name(level: crate::model::NoticeLevel) -> &'static str {
    match level {
        crate::model::NoticeLevel::Info => "info",
        crate::model::NoticeLevel::Warning => "warning",
        crate::model::NoticeLevel::Error => "error",
    }
}

/// The lines of the messages overlay: a heading per message, then its text, line by line,
/// cut into rows of `width` (spaces kept: a snippet's caret stays under its column).
#[must_use]
pub fn message_lines(state: &State, ctx: &Ctx, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for m in state.messages.iter().rev() {
        let style = ctx.theme.level(m.level);
        lines.push(Line::styled(
            format!(" {} · {}", level_name(m.level), m.at.format("%H:%M:%S")),
            style.add_modifier(Modifier::BOLD),
        ));
        for raw in m.text.lines() {
            let safe = crate::tui::sanitize::sanitize(raw);
            let plain = crate::tui::sanitize::plain(&safe).into_owned();
            if plain.chars().count() <= width {
                lines.push(Line::raw(format!("  {plain}")));
                continue;
            }
            // A long line wraps at spaces, under its own indentation.
            let body = plain.trim_start();
            let indent = " ".repeat(plain.len() - body.len());
            let w = width.saturating_sub(indent.len());
            for l in crate::tui::fit::wrap(body, w) {
                lines.push(Line::raw(format!("  {indent}{l}")));
            }
        }
        lines.push(Line::raw(""));
    }
    if lines.is_empty() {
        lines.push(Line::styled(" no warnings or errors yet", ctx.theme.dim));
    }
    lines
}
