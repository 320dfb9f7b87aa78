//! The plain output: the build log as CodeBuild shows it, then a phase summary table and the
//! failure diagnosis, if any. Log text is untrusted: control characters and escape sequences
//! are neutralised so a build cannot drive the terminal.

use std::fmt::Write as _;

use super::plain_reports;
use crate::model::{BuildEvent, Diagnosis, PhaseKind, Status, TestReport};

/// One row of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub phase: PhaseKind,
    pub status: Option<Status>,
    pub attempt: u32,
    pub duration_ms: Option<u64>,
    pub context: String,
}

/// Folds events into text and remembers the phases for the summary.
#[derive(Debug, Default)]
pub struct Printer {
    rows: Vec<Row>,
    diagnoses: Vec<Diagnosis>,
    status: Option<Status>,
    exported: std::collections::BTreeMap<String, String>,
    /// One per report group, for the summary's `Reports` section.
    reports: Vec<TestReport>,
}

/// `text` with control characters replaced: ESC sequences (CSI/OSC) dropped, other C0/C1
/// controls except TAB shown as `?`. Carriage returns are a progress display's overwrites
/// (docker's legacy builder writes `Sending build context to Docker daemon  5.12kB\r\r`):
/// the last part that shows something is kept, as a terminal would leave it.
#[must_use]
pub fn sanitize(text: &str) -> String {
    if text.contains('\r') {
        return text
            .split('\r')
            .rev()
            .map(sanitize_part)
            .find(|part| !part.trim().is_empty())
            .unwrap_or_default();
    }
    sanitize_part(text)
}

/// [`sanitize`] of a text with no carriage return.
fn sanitize_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => out.push(c),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` holds a C0 or C1 control character or DEL (ESC included), the only
/// characters [`sanitize`] changes: a line with none (nearly every line) is printed as it is,
/// with no copy. Reads bytes: C1 controls are `0xC2 0x80..=0x9F` in UTF-8.
fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b < 0x20 || b == 0x7f || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| *n <= 0x9f))
    })
}

/// A batch of log lines, sanitised, one per line.
fn push_lines(out: &mut String, lines: &[crate::model::LogLine]) {
    out.reserve(lines.iter().map(|l| l.text.len() + 1).sum());
    for l in lines {
        if has_control(&l.text) {
            out.push_str(&sanitize(&l.text));
        } else {
            out.push_str(&l.text);
        }
        out.push('\n');
    }
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        // CSI: parameters then a final byte in @..~
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        // OSC: until BEL or ESC \
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

impl Printer {
    /// The text to print for this event (possibly empty).
    pub fn feed(&mut self, ev: &BuildEvent) -> String {
        let mut out = String::new();
        match ev {
            BuildEvent::Started {
                build_id, image, ..
            } => {
                let _ = writeln!(out, "cbdash: build {build_id} on image {image}");
            }
            BuildEvent::Logs { lines, .. } => push_lines(&mut out, lines),
            BuildEvent::PhaseStarted { phase, attempt, .. } => {
                if *phase == PhaseKind::Completed {
                    self.rows.push(Row {
                        phase: *phase,
                        status: None,
                        attempt: *attempt,
                        duration_ms: None,
                        context: String::new(),
                    });
                }
            }
            BuildEvent::PhaseFinished {
                phase,
                attempt,
                status,
                duration_ms,
                context,
                ..
            } => self.rows.push(Row {
                phase: *phase,
                status: Some(*status),
                attempt: *attempt,
                duration_ms: Some(*duration_ms),
                context: if context.is_empty() {
                    String::new()
                } else {
                    sanitize(&format!("{}: {}", context.status_code, context.message))
                },
            }),
            BuildEvent::Artifacts { dir, files, .. } => {
                let _ = writeln!(
                    out,
                    "cbdash: {} in {}",
                    super::count(files.len(), "artifact file"),
                    dir.display()
                );
            }
            BuildEvent::Report { report, .. } => {
                let _ = writeln!(
                    out,
                    "cbdash: {}",
                    sanitize(&plain_reports::report_line(report))
                );
                self.reports.push(report.clone());
            }
            BuildEvent::Notice { level, message, .. } => {
                let _ = writeln!(out, "cbdash: {level:?}: {}", sanitize(message));
            }
            BuildEvent::Cache { report, .. } if report.finished => {
                let _ = writeln!(out, "cbdash: {}", sanitize(&cache_line(report)));
            }
            // The agent line of the lookup already says it in the log.
            // The commit is in the NDJSON and the history (`history show`), not the log.
            BuildEvent::Cache { .. }
            | BuildEvent::SourceVersion { .. }
            | BuildEvent::CacheKey { .. }
            | BuildEvent::BatchStarted { .. }
            | BuildEvent::BatchBuild { .. }
            | BuildEvent::BatchFinished { .. } => {}
            BuildEvent::Regression { regression, .. } => {
                let _ = writeln!(
                    out,
                    "cbdash: regression: {}",
                    sanitize(&regression.summary_line())
                );
            }
            BuildEvent::Diagnosis { diagnosis, .. } => {
                let _ = writeln!(
                    out,
                    "cbdash: diagnosis: {} {}: {}",
                    diagnosis.phase_name(),
                    sanitize(&diagnosis.rule),
                    sanitize(&diagnosis.cause)
                );
                self.diagnoses.push(diagnosis.clone());
            }
            BuildEvent::Breakpoint { .. }
            | BuildEvent::Resumed { .. }
            | BuildEvent::DebugSession { .. } => {
                if let Some(text) = super::debug::debug_line(ev) {
                    let _ = writeln!(out, "cbdash: {}", sanitize(&text));
                }
            }
            BuildEvent::Finished {
                status,
                exported_variables,
                ..
            } => {
                self.status = Some(*status);
                self.exported.clone_from(exported_variables);
            }
        }
        out
    }

    /// The summary table (after the build).
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<17} {:<10} {:>7} {:>10}  CONTEXT",
            "PHASE", "STATUS", "ATTEMPT", "DURATION"
        );
        for r in &self.rows {
            let status = r.status.map_or("", Status::as_str);
            let dur = r
                .duration_ms
                .map_or_else(String::new, |d| format!("{:.1}s", ms_to_s(d)));
            let _ = writeln!(
                out,
                "{:<17} {:<10} {:>7} {:>10}  {}",
                r.phase.as_str(),
                status,
                r.attempt,
                dur,
                r.context.lines().next().unwrap_or("")
            );
        }
        for line in plain_reports::section(&self.reports) {
            let _ = writeln!(out, "{}", sanitize(&line));
        }
        if !self.exported.is_empty() {
            let _ = writeln!(out, "\nExported variables");
            for (name, value) in &self.exported {
                let _ = writeln!(out, "{}={}", sanitize(name), sanitize(value));
            }
        }
        if !self.diagnoses.is_empty() {
            let _ = writeln!(out, "\nDiagnosis");
            for d in &self.diagnoses {
                for line in d.summary_lines() {
                    let _ = writeln!(out, "{}", sanitize(&line));
                }
            }
        }
        if let Some(s) = self.status {
            let _ = writeln!(out, "\nBuild {s}");
        }
        out
    }

    /// The summary rows so far.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

#[allow(clippy::cast_precision_loss)] // durations are far below 2^52 ms
fn ms_to_s(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// One line about a finished docker build: how much of it came from the layer cache.
pub(crate) fn cache_line(report: &crate::model::CacheReport) -> String {
    let image = report.image.as_deref().unwrap_or("(untagged)");
    let miss = report.first_miss.as_ref().map_or_else(
        || "no miss".to_owned(),
        |m| {
            let why = m
                .reason
                .as_ref()
                .map_or_else(String::new, |r| format!(" ({})", r.summary()));
            format!("first miss at step {}: {}{why}", m.step, m.instruction)
        },
    );
    let saved = approx_secs(", saved", report.time_saved_ms);
    let lost = approx_secs(", lost", report.time_lost_ms);
    format!(
        "docker build #{} {image}: {}/{} cached, {miss}{saved}{lost}",
        report.number(),
        report.steps_cached,
        super::count(report.steps_total, "step")
    )
}
/// `, saved ~1.2s` for a positive duration, nothing otherwise.
fn approx_secs(label: &str, ms: Option<u64>) -> String {
    ms.filter(|ms| *ms > 0).map_or_else(String::new, |ms| {
        format!(
            "{label} ~{:.1}s",
            std::time::Duration::from_millis(ms).as_secs_f64()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BuildId, Builder, CacheReport};

    #[test]
    fn a_single_artifact_file_and_step_are_counted_in_the_singular() {
        let line = Printer::default().feed(&BuildEvent::Artifacts {
            build_id: BuildId("b".into()),
            dir: "out".into(),
            files: vec!["app.zip".into()],
        });
        assert_eq!(line, "cbdash: 1 artifact file in out\n");
        let mut report = CacheReport::new(0, Builder::Buildkit);
        report.steps_total = 1;
        report.steps_cached = 1;
        assert_eq!(
            cache_line(&report),
            "docker build #1 (untagged): 1/1 step cached, no miss"
        );
        report.steps_total = 3;
        assert!(cache_line(&report).contains(": 1/3 steps cached,"));
    }
}
