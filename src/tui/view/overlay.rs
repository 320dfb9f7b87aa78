//! Overlays drawn over the screen: help (generated from the keymap), the project palette,
//! the builds list, and the failure diagnosis (`super::diagnosis`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{Ctx, fmt_ms};
use crate::tui::actions::{build_list, palette_matches};
use crate::tui::keymap::Action;
use crate::tui::state::{Mode, StartForm, State};
use crate::tui::widgets::timeline::icon;

pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx) {
    match &state.mode {
        Mode::Help => help(frame, ctx),
        Mode::Palette { query, selected } => palette(frame, state, ctx, query, *selected),
        Mode::Builds { selected } => builds(frame, state, ctx, *selected),
        Mode::StartForm(form) => start_form(frame, ctx, form),
        Mode::Diagnosis { selected } => super::diagnosis::render(frame, state, ctx, *selected),
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

fn help(frame: &mut Frame, ctx: &Ctx) {
    let half = Action::ALL.len().div_ceil(2);
    let h = u16::try_from(half + 2).unwrap_or(20);
    let inner = boxed(frame, 84, h, " Keys ", ctx);
    let entry = |a: Action| {
        vec![
            Span::styled(format!(" {:<14}", ctx.keymap.label(a)), ctx.theme.accent),
            Span::raw(format!("{:<26}", a.describe())),
        ]
    };
    let lines: Vec<Line> = (0..half)
        .map(|i| {
            let mut spans = entry(Action::ALL[i]);
            if let Some(a) = Action::ALL.get(i + half) {
                spans.extend(entry(*a));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
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
    let list = build_list(state);
    let title = state.project().map_or_else(
        || " Builds ".to_owned(),
        |p| format!(" Builds of {} ", p.key.name),
    );
    let inner = boxed(frame, 80, 14, &title, ctx);
    let mut lines = Vec::new();
    for (n, (id, status, live)) in list.iter().enumerate().take(usize::from(inner.height)) {
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
                if *live { "" } else { "(history)" }
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
