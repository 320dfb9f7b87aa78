//! The main pane: the open build's phase timeline, its cache panel and its log.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Areas, Ctx, fmt_ms};
use crate::tui::state::{Build, Focus, State};
use crate::tui::widgets::cache::{CacheGauge, StepRow};
use crate::tui::widgets::logpane::LogPane;
use crate::tui::widgets::timeline::{PhaseTimeline, icon};

pub fn render(frame: &mut Frame, a: &Areas, state: &State, ctx: &Ctx) {
    let Some(b) = state.build() else {
        let msg = state.project().map_or_else(
            || "no project selected".to_owned(),
            |p| match p.history.first() {
                // Its newest past build is being fetched or replayed (`latest_past_build`).
                Some(newest) => format!("{}: opening {} …", p.key.name, newest.build_id),
                _ => format!(
                    "{}: no build yet — press {} to run one",
                    p.key.name,
                    ctx.keymap.label(crate::tui::keymap::Action::Rerun)
                ),
            },
        );
        let block = Block::bordered()
            .title(" Build ")
            .border_style(ctx.theme.dim);
        frame.render_widget(Paragraph::new(msg).block(block), a.timeline.union(a.log));
        return;
    };
    timeline(frame, a.timeline, state, b, ctx);
    if a.reports.height > 0 {
        super::reports::render(frame, a.reports, state, b, ctx);
    }
    if a.cache.height > 0 {
        cache(frame, a.cache, b, ctx);
    }
    log(frame, a.log, state, b, ctx);
}

fn timeline(frame: &mut Frame, area: Rect, state: &State, b: &Build, ctx: &Ctx) {
    let t = ctx.theme;
    let elapsed = b.duration_ms.unwrap_or_else(|| {
        u64::try_from((state.now - b.started).num_milliseconds().max(0)).unwrap_or(0)
    });
    let watching = b.backend == crate::model::BackendKind::Local
        && state.watching.iter().any(|k| b.belongs_to(k));
    let status = format!("{} {}", icon(b.status, state.now), b.status);
    // The id as far as a person needs it to tell builds apart (and as `cbdash resume` takes
    // it: a unique prefix of the uuid); the whole id is in the builds list and the history.
    let short_id = format!(
        "{}:{}",
        b.id.project(),
        b.id.uuid().get(..8).unwrap_or(b.id.uuid())
    );
    let mut optional = vec![short_id, b.backend.as_str().to_owned()];
    if watching {
        optional.push("watching".to_owned());
    }
    let parts = crate::tui::fit::TitleParts {
        duration: fmt_ms(elapsed),
        docker: docker_parts(b),
        image: b.image.clone(),
        optional,
    };
    // Borders, the status, and a space either side of each.
    // A batch's node is named first: which of the batch's builds this is.
    let node = crate::tui::batch::node_of(state, &b.id)
        .map(|(_, n)| format!("{} · ", n.identifier))
        .unwrap_or_default();
    let room = usize::from(area.width)
        .saturating_sub(status.chars().count() + 6)
        .saturating_sub(node.chars().count());
    let title = Line::from(vec![
        Span::raw(" "),
        Span::styled(node, t.accent),
        Span::styled(status, t.status(b.status)),
        Span::raw(format!(" {} ", parts.fit(room))),
    ]);
    let block = Block::bordered().title(title).border_style(t.dim);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let notice_lines = crate::tui::layout::notice_lines(b, inner.width);
    let notice_h = u16::try_from(notice_lines.len()).unwrap_or(0);
    let [rows, paused, notice] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(crate::tui::debug::rows(b.debug.as_ref(), inner.width)),
        Constraint::Length(notice_h),
    ])
    .areas(inner);
    if let Some(stop) = &b.debug {
        let key = ctx.keymap.label(crate::tui::keymap::Action::Shell);
        let text = crate::tui::sanitize::plain(&crate::tui::sanitize::sanitize(&stop.status(&key)))
            .into_owned();
        let w = usize::from(paused.width).saturating_sub(4);
        let mut lines = vec![Line::from(format!(
            " ⏸ {}",
            crate::tui::fit::ellipsize(&text, w)
        ))];
        lines.extend(
            stop.detail(usize::from(paused.width))
                .into_iter()
                .map(|l| Line::from(format!("   {l}"))),
        );
        frame.render_widget(Paragraph::new(lines).style(t.accent), paused);
    }
    let empty = BTreeMap::new();
    let medians = state.project().map_or(&empty, |p| &p.phase_medians);
    let explain = ctx.keymap.label(crate::tui::keymap::Action::Diagnosis);
    frame.render_widget(
        PhaseTimeline {
            build: b,
            medians,
            theme: t,
            now: state.now,
            diagnosis_key: &explain,
        },
        rows,
    );
    if let Some((level, _)) = &b.notice {
        let lines: Vec<Line> = notice_lines.into_iter().map(Line::from).collect();
        frame.render_widget(Paragraph::new(lines).style(t.level(*level)), notice);
    }
}

/// How the build reaches Docker, in full and compact (a cloud build only says privileged).
fn docker_parts(b: &Build) -> (String, String) {
    use crate::model::DockerAccess;
    let compact = match b.docker {
        DockerAccess::None => "no docker",
        DockerAccess::HostSocket => "docker sock",
        DockerAccess::Privileged => "privileged",
    };
    match (b.backend, b.docker) {
        (crate::model::BackendKind::Cloud, DockerAccess::None) => (String::new(), String::new()),
        _ => (format!("docker: {}", b.docker), compact.to_owned()),
    }
}

/// Each docker build's row(s), and under each, while the panel has rows for them (a tall
/// screen: `layout::cache_step_rows`), the steps that ran; a docker build whose steps do not
/// all fit ends with how many more ran.
fn cache(frame: &mut Frame, area: Rect, b: &Build, ctx: &Ctx) {
    let block = Block::bordered()
        .title(" Layer cache ")
        .border_style(ctx.theme.dim);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let h = CacheGauge::rows(inner.width);
    let shown = &b.caches[..b.caches.len().min(crate::tui::layout::CACHE_BUILDS)];
    let summaries = u16::try_from(shown.len()).unwrap_or(u16::MAX) * h;
    let mut steps_left = usize::from(inner.height.saturating_sub(summaries));
    let mut y = inner.y;
    let row = |y: u16, rows: u16| Rect::new(inner.x, y, inner.width, rows.min(inner.bottom() - y));
    for report in shown {
        if y >= inner.bottom() {
            break;
        }
        frame.render_widget(
            CacheGauge {
                report,
                theme: ctx.theme,
            },
            row(y, h),
        );
        y = y.saturating_add(h);
        let ran = &report.ran;
        let fits = ran.len() <= steps_left;
        let listed = if fits {
            ran.len()
        } else {
            steps_left.saturating_sub(1)
        };
        let spark_w = ran
            .iter()
            .filter_map(|s| report.trend(s.position))
            .map(|t| t.runs.len())
            .max()
            .unwrap_or(0);
        let text_w = ran[..listed]
            .iter()
            .map(|s| s.instruction.chars().count())
            .max()
            .unwrap_or(0);
        for step in &ran[..listed] {
            if y >= inner.bottom() {
                break;
            }
            frame.render_widget(
                StepRow {
                    step,
                    trend: report.trend(step.position),
                    first_miss: report.first_miss_at == Some(step.position),
                    text_w,
                    spark_w,
                    theme: ctx.theme,
                },
                row(y, 1),
            );
            y += 1;
        }
        if !fits && steps_left > 0 && y < inner.bottom() {
            let key = ctx.keymap.label(crate::tui::keymap::Action::CacheReport);
            let more = format!(
                "   … {} more ran ({key}: the cache report)",
                ran.len() - listed
            );
            let text = crate::tui::fit::ellipsize(&more, usize::from(inner.width));
            frame.render_widget(Paragraph::new(text).style(ctx.theme.dim), row(y, 1));
            y += 1;
        }
        steps_left = steps_left.saturating_sub(ran.len().min(steps_left));
    }
}

fn log(frame: &mut Frame, area: Rect, state: &State, b: &Build, ctx: &Ctx) {
    let t = ctx.theme;
    let v = &state.log;
    let mut title = format!(
        " Log {}/{} ",
        v.line_at(v.cursor).saturating_add(1).min(b.log.len()),
        b.log.len()
    );
    if v.follow {
        title.push_str("· follow ");
    }
    if v.wrap {
        title.push_str("· wrap ");
    }
    if let Some(m) = &v.search {
        let _ = write!(title, "· /{} ", m.query);
        if let Some(c) = v.match_count(&b.log) {
            let more = if c.complete { "" } else { "+" };
            let _ = write!(title, "{}/{}{more} matches ", c.current, c.total);
        }
    }
    if let Some(f) = &v.filter {
        let kind = if f.inverse { "hiding" } else { "only" };
        let _ = write!(
            title,
            "· {kind} '{}' ({} lines) ",
            f.matcher.query,
            v.visible_len(&b.log)
        );
    }
    let focused = state.focus == Focus::Log;
    let block = Block::bordered()
        .title(title)
        .border_style(if focused { t.accent } else { t.dim });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        LogPane {
            store: &b.log,
            view: v,
            theme: t,
            focused,
        },
        inner,
    );
}
