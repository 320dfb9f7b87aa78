//! The phase timeline: one row per phase attempt, in CodeBuild's order, with status colour,
//! attempt number, duration, a progress bar for the running phase against its median in the
//! history, the context message of a failed phase, a regression flag, and a diagnosis marker
//! (`⚑ rule · d why`) on a phase whose log showed a known failure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::model::{PhaseKind, Status};
use crate::tui::fmt::fmt_ms;
use crate::tui::layout;
use crate::tui::state::{Build, PhaseRow};
use crate::tui::theme::Theme;

const SPINNER: [&str; 8] = ["⣾", "⣽", "⣻", "⢿", "⡿", "⣟", "⣯", "⣷"];
const BAR: usize = 16;
/// The bar on a narrow row (an 80-column screen), which also leaves out the median.
const BAR_NARROW: usize = 3;
/// Rows narrower than this get the narrow progress bar (the row, the bar and its median
/// take 84 columns).
const NARROW: u16 = 84;

/// The timeline of one build.
pub struct PhaseTimeline<'a> {
    pub build: &'a Build,
    pub medians: &'a BTreeMap<PhaseKind, u64>,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    /// The key(s) that open the diagnosis overlay, named in the marker (empty: not named).
    pub diagnosis_key: &'a str,
}

/// The status icon; the running one spins with the clock.
#[must_use]
pub fn icon(status: Status, now: DateTime<Utc>) -> &'static str {
    match status {
        Status::Succeeded => "✔",
        Status::Failed | Status::Fault | Status::TimedOut => "✘",
        Status::Stopped => "■",
        Status::InProgress => {
            let frame = usize::try_from(now.timestamp_subsec_millis() / 125).unwrap_or(0);
            SPINNER[frame % SPINNER.len()]
        }
    }
}

impl PhaseTimeline<'_> {
    /// Phases still to come while the build runs, so the whole timeline is visible.
    fn pending(&self) -> Vec<PhaseKind> {
        layout::pending_phases(self.build)
    }

    /// Whether a phase gets a second row with its context message (why it failed).
    fn has_context(p: &PhaseRow) -> bool {
        layout::has_context(p)
    }

    /// Rows this widget wants.
    #[must_use]
    pub fn height(&self) -> u16 {
        layout::timeline_rows(self.build)
    }

    fn row(&self, p: &PhaseRow, narrow: bool) -> Line<'static> {
        let t = self.theme;
        let st = t.status(p.status);
        let clock = self.build.clock(self.now);
        let elapsed = p.duration_ms.unwrap_or_else(|| {
            u64::try_from((clock - p.started).num_milliseconds().max(0)).unwrap_or(0)
        });
        let mut spans = vec![
            Span::styled(format!(" {} ", icon(p.status, self.now)), st),
            Span::styled(format!("{:<17}", p.kind.as_str()), st),
            Span::styled(format!("#{:<2} ", p.attempt), t.dim),
            Span::styled(format!("{:<12}", p.status.as_str()), st),
            // Narrow: two columns fewer, so the running phase's bar and percentage fit 52.
            Span::raw(if narrow {
                format!("{:>7} ", fmt_ms(elapsed))
            } else {
                format!("{:>8}  ", fmt_ms(elapsed))
            }),
        ];
        if p.status == Status::InProgress {
            spans.extend(self.progress(p.kind, elapsed, narrow));
        }
        if let Some(r) = &p.regression {
            spans.push(Span::styled(format!("  ▲ {r}"), t.highlight));
        }
        if let Some(d) = self.build.diagnosed(p) {
            let rule =
                crate::tui::sanitize::plain(&crate::tui::sanitize::sanitize(&d.rule)).into_owned();
            spans.push(Span::styled(
                format!("  ⚑ {rule}"),
                t.failed.add_modifier(Modifier::BOLD),
            ));
            if !self.diagnosis_key.is_empty() {
                spans.push(Span::styled(
                    format!(" · {} why", self.diagnosis_key),
                    t.dim,
                ));
            }
        }
        Line::from(spans)
    }

    #[allow(clippy::cast_precision_loss)] // durations in ms are far below 2^52
    fn progress(&self, kind: PhaseKind, elapsed: u64, narrow: bool) -> Vec<Span<'static>> {
        let Some(&median) = self.medians.get(&kind).filter(|m| **m > 0) else {
            return vec![Span::styled("(no history)", self.theme.dim)];
        };
        let ratio = elapsed as f64 / median as f64;
        let bar = if narrow { BAR_NARROW } else { BAR };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to 0..=BAR
        let filled = ((ratio.min(1.0) * bar as f64).round() as usize).min(bar);
        let style = if ratio > 1.0 {
            self.theme.failed
        } else {
            self.theme.in_progress
        };
        vec![
            Span::styled("█".repeat(filled), style),
            Span::styled("░".repeat(bar - filled), self.theme.dim),
            Span::raw(if narrow {
                format!(" {:>3.0}%", ratio * 100.0)
            } else {
                format!(" {:>3.0}% of median {}", ratio * 100.0, fmt_ms(median))
            }),
        ]
    }
}

impl Widget for PhaseTimeline<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // Each line, and whether it must stay when space is short (a failure and its cause).
        let mut lines: Vec<(Line, bool)> = Vec::new();
        let narrow = area.width < NARROW;
        for p in &self.build.phases {
            let failed = Self::has_context(p)
                || matches!(p.status, Status::Failed | Status::Fault | Status::TimedOut);
            lines.push((self.row(p, narrow), failed));
            if Self::has_context(p) {
                // The cause first: a narrow row keeps why it failed.
                let text = format!(
                    "   └ {} · {}",
                    crate::tui::fit::cause_first(&p.context.message),
                    p.context.status_code
                );
                lines.push((Line::styled(text, self.theme.failed), true));
            }
        }
        for k in self.pending() {
            lines.push((
                Line::styled(format!(" ·  {:<17}    pending", k.as_str()), self.theme.dim),
                false,
            ));
        }
        let height = usize::from(area.height);
        if lines.len() <= height || height < 2 {
            let skip = lines.len().saturating_sub(height);
            let shown: Vec<Line> = lines.into_iter().skip(skip).map(|(l, _)| l).collect();
            Paragraph::new(shown).render(area, buf);
            return;
        }
        // Space is short: the oldest rows go first, a failure and its cause last; a first row
        // says how many are hidden.
        let mut hide = lines.len() - height + 1;
        let hidden = hide;
        for keep in [false, true] {
            let mut i = 0;
            while hide > 0 && i < lines.len() {
                if lines[i].1 == keep {
                    lines.remove(i);
                    hide -= 1;
                } else {
                    i += 1;
                }
            }
        }
        let mut shown = vec![Line::styled(
            format!(" ▲ {hidden} more (earlier phases)"),
            self.theme.dim,
        )];
        shown.extend(lines.into_iter().map(|(l, _)| l));
        Paragraph::new(shown).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendKind, BuildId, PhaseContext, StatusCode};
    use crate::tui::logbuf::LogStore;
    use chrono::TimeZone;
    use ratatui::style::Color;

    fn build(phases: Vec<PhaseRow>, status: Status) -> Build {
        Build {
            id: BuildId("p:1".into()),
            project: "p".into(),
            key: None,
            backend: BackendKind::Local,
            image: "img".into(),
            docker: crate::model::DockerAccess::None,
            started: Utc.timestamp_opt(0, 0).unwrap(),
            ended: None,
            status,
            duration_ms: None,
            phases,
            log: LogStore::new(),
            caches: Vec::new(),
            notice: None,
            diagnoses: Vec::new(),
            reports: Vec::new(),
            debug: None,
        }
    }

    fn row(kind: PhaseKind, status: Status, ms: Option<u64>) -> PhaseRow {
        PhaseRow {
            kind,
            attempt: 1,
            status,
            started: Utc.timestamp_opt(0, 0).unwrap(),
            duration_ms: ms,
            context: PhaseContext::default(),
            regression: None,
        }
    }

    #[test]
    fn failed_phase_is_red_with_its_context_and_running_one_yellow() {
        let mut failed = row(PhaseKind::Build, Status::Failed, Some(2500));
        failed.context = PhaseContext::new(StatusCode::CommandExecutionError, "exit status 2");
        let b = build(
            vec![
                row(PhaseKind::Install, Status::Succeeded, Some(1000)),
                failed,
            ],
            Status::Failed,
        );
        let theme = Theme::default();
        let medians = BTreeMap::new();
        let w = PhaseTimeline {
            build: &b,
            medians: &medians,
            theme: &theme,
            now: Utc.timestamp_opt(10, 0).unwrap(),
            diagnosis_key: "d",
        };
        assert_eq!(w.height(), 3);
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 3));
        w.render(buf.area, &mut buf);
        let row1: String = (0..100).map(|x| buf[(x, 1)].symbol().to_owned()).collect();
        assert!(
            row1.starts_with(" ✘ BUILD            #1  FAILED          2.5s"),
            "{row1}"
        );
        for x in (1..20).chain(24..30) {
            assert_eq!(buf[(x, 1)].fg, Color::Red, "cell {x} of the failed row");
        }
        assert_eq!(
            buf[(20, 1)].fg,
            Color::DarkGray,
            "the attempt number is dim"
        );
        let row2: String = (0..100).map(|x| buf[(x, 2)].symbol().to_owned()).collect();
        assert!(
            row2.starts_with("   └ exit status 2 · COMMAND_EXECUTION_ERROR"),
            "{row2}"
        );
        assert_eq!(buf[(6, 2)].fg, Color::Red);
        assert_eq!(buf[(3, 0)].fg, Color::Green);

        let b = build(
            vec![row(PhaseKind::Build, Status::InProgress, None)],
            Status::InProgress,
        );
        let mut medians = BTreeMap::new();
        medians.insert(PhaseKind::Build, 20_000);
        let w = PhaseTimeline {
            build: &b,
            medians: &medians,
            theme: &theme,
            now: Utc.timestamp_opt(10, 0).unwrap(),
            diagnosis_key: "d",
        };
        assert_eq!(
            w.height(),
            4,
            "BUILD + POST_BUILD, UPLOAD_ARTIFACTS, FINALIZING pending"
        );
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 4));
        w.render(buf.area, &mut buf);
        let row0: String = (0..100).map(|x| buf[(x, 0)].symbol().to_owned()).collect();
        assert!(
            row0.contains("████████░░░░░░░░  50% of median 20.0s"),
            "{row0}"
        );
        assert_eq!(buf[(3, 0)].fg, Color::Yellow);
        let row1: String = (0..30).map(|x| buf[(x, 1)].symbol().to_owned()).collect();
        assert!(row1.contains("POST_BUILD"), "{row1}");
        assert_eq!(buf[(5, 1)].fg, Color::DarkGray);
    }

    fn diagnosis(phase: PhaseKind) -> crate::model::Diagnosis {
        crate::model::Diagnosis {
            phase: Some(phase),
            rule: "docker-daemon".into(),
            line: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.".into(),
            cause: "no daemon".into(),
            fix: "privileged mode".into(),
            docs: "https://docs.aws.amazon.com/codebuild/latest/userguide/troubleshooting.html"
                .into(),
        }
    }

    fn cells(buf: &Buffer, y: u16, xs: std::ops::Range<u16>) -> String {
        xs.map(|x| buf[(x, y)].symbol().to_owned()).collect()
    }

    #[test]
    fn a_diagnosed_phase_row_carries_the_marker_and_the_key() {
        let mut failed = row(PhaseKind::Build, Status::Failed, Some(2500));
        failed.context = PhaseContext::new(StatusCode::CommandExecutionError, "exit status 1");
        let mut b = build(
            vec![
                row(PhaseKind::Install, Status::Succeeded, Some(1000)),
                failed,
            ],
            Status::Failed,
        );
        b.diagnoses.push(diagnosis(PhaseKind::Build));
        let theme = Theme::default();
        let medians = BTreeMap::new();
        let w = PhaseTimeline {
            build: &b,
            medians: &medians,
            theme: &theme,
            now: Utc.timestamp_opt(10, 0).single().expect("time"),
            diagnosis_key: "d",
        };
        assert_eq!(w.height(), 3, "the marker needs no row of its own");
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 3));
        w.render(buf.area, &mut buf);
        // Columns: icon 3, phase 17, attempt 4, status 12, duration 10 = 46, then `  ⚑ rule`.
        assert_eq!(
            cells(&buf, 1, 0..71),
            " ✘ BUILD            #1  FAILED          2.5s    ⚑ docker-daemon · d why"
        );
        assert_eq!(buf[(48, 1)].symbol(), "⚑");
        for x in 48..63 {
            assert_eq!(buf[(x, 1)].fg, Color::Red, "marker cell {x}");
            assert!(
                buf[(x, 1)].modifier.contains(Modifier::BOLD),
                "marker cell {x} is bold"
            );
        }
        for x in 64..71 {
            assert_eq!(buf[(x, 1)].fg, Color::DarkGray, "key hint cell {x}");
        }
        assert_eq!(cells(&buf, 0, 44..60).trim(), "", "INSTALL has no finding");

        // A retried phase: only its latest attempt is marked.
        let mut first = row(PhaseKind::Build, Status::Failed, Some(1000));
        first.context = PhaseContext::new(StatusCode::CommandExecutionError, "exit status 1");
        let mut second = row(PhaseKind::Build, Status::Failed, Some(1000));
        second.attempt = 2;
        let mut b = build(vec![first, second], Status::Failed);
        b.diagnoses.push(diagnosis(PhaseKind::Build));
        let w = PhaseTimeline {
            build: &b,
            medians: &medians,
            theme: &theme,
            now: Utc.timestamp_opt(10, 0).single().expect("time"),
            diagnosis_key: "",
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 3));
        w.render(buf.area, &mut buf);
        assert!(!cells(&buf, 0, 0..100).contains('⚑'), "attempt 1");
        assert_eq!(cells(&buf, 2, 46..63), "  ⚑ docker-daemon", "attempt 2");
        assert_eq!(cells(&buf, 2, 63..70).trim(), "", "no key named");
    }

    #[test]
    fn when_space_is_short_a_failure_stays_and_the_hidden_rows_are_counted() {
        let mut failed = row(PhaseKind::Build, Status::Failed, Some(2500));
        failed.context = PhaseContext::new(StatusCode::CommandExecutionError, "exit status 2");
        let b = build(
            vec![
                row(PhaseKind::Install, Status::Succeeded, Some(1000)),
                failed,
                row(PhaseKind::PostBuild, Status::Succeeded, Some(10)),
                row(PhaseKind::UploadArtifacts, Status::Succeeded, Some(10)),
                row(PhaseKind::Finalizing, Status::Succeeded, Some(10)),
            ],
            Status::Failed,
        );
        let theme = Theme::default();
        let medians = BTreeMap::new();
        let w = PhaseTimeline {
            build: &b,
            medians: &medians,
            theme: &theme,
            now: Utc.timestamp_opt(10, 0).unwrap(),
            diagnosis_key: "d",
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 4));
        w.render(buf.area, &mut buf);
        let text: Vec<String> = (0..4).map(|y| cells(&buf, y, 0..40)).collect();
        assert_eq!(text[0].trim_end(), " ▲ 3 more (earlier phases)");
        assert!(
            text[1].contains("BUILD") && text[1].contains("FAILED"),
            "{text:?}"
        );
        assert!(text[2].contains("exit status 2"), "{text:?}");
        assert!(text[3].contains("FINALIZING"), "{text:?}");
    }
}
