//! `cbdash history`: lists past runs and batches, or shows one run with its phases, cache
//! reports, test reports, regressions and (with `--log`) its stored log, or one batch with
//! its nodes.

use std::io::Write;

use anyhow::{Context, Result};

use crate::app::UsageError;
use crate::cli::{GlobalArgs, HistoryArgs, HistoryCommand, HistoryShowArgs};
use crate::history::{BatchDetail, BatchSummary, RunDetail, RunSummary, Store};

/// Runs `cbdash history ...`; returns the exit code.
pub fn run(global: &GlobalArgs, args: &HistoryArgs) -> Result<u8> {
    let path = match &global.history {
        Some(p) => p.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&path)?;
    let mut out = std::io::stdout().lock();
    match &args.command {
        Some(HistoryCommand::Show(show)) => self::show(&store, show, &mut out),
        None => list(&store, args, &mut out),
    }
}

fn list(store: &Store, args: &HistoryArgs, out: &mut impl Write) -> Result<u8> {
    let runs = store.list_runs(args.project.as_deref(), args.limit)?;
    let batches = store.recent_batches(args.project.as_deref(), args.limit)?;
    if args.json {
        // A batch's line has `batch_id` and `kind` and no `build_id`.
        for run in &runs {
            writeln!(out, "{}", serde_json::to_string(run)?)?;
        }
        for batch in &batches {
            writeln!(out, "{}", serde_json::to_string(batch)?)?;
        }
        return Ok(0);
    }
    if runs.is_empty() && batches.is_empty() {
        writeln!(out, "no runs recorded yet in {}", store.path().display())?;
        return Ok(0);
    }
    if !runs.is_empty() {
        write!(out, "{}", table(&runs))?;
    }
    if !batches.is_empty() {
        if !runs.is_empty() {
            writeln!(out)?;
        }
        write!(out, "{}", batch_table(&batches))?;
    }
    Ok(0)
}

/// The run list as an aligned table.
#[must_use]
pub fn table(runs: &[RunSummary]) -> String {
    let header = [
        "BUILD ID", "PROJECT", "BACKEND", "STATUS", "STARTED", "DURATION", "CACHE",
    ];
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|r| {
            [
                r.build_id.clone(),
                r.project.clone(),
                r.backend.clone(),
                status_cell(&r.status, r.interrupted),
                started_cell(&r.started_at),
                r.duration_ms.map_or_else(|| "-".into(), format_duration),
                r.cache_hit_pct
                    .map_or_else(|| "-".into(), |p| format!("{p:.0}%")),
            ]
        })
        .collect();
    aligned(&header, &rows)
}

/// The batch list as an aligned table: a row per batch, with its nodes by outcome.
#[must_use]
pub fn batch_table(batches: &[BatchSummary]) -> String {
    use std::fmt::Write as _;
    let header = [
        "BATCH ID",
        "PROJECT",
        "BACKEND",
        "KIND",
        "STATUS",
        "STARTED",
        "DURATION",
        "BUILDS",
        "SUCCEEDED",
        "FAILED",
        "STOPPED",
    ];
    let rows: Vec<[String; 11]> = batches
        .iter()
        .map(|b| {
            let mut status = status_cell(&b.status, b.interrupted);
            if b.attempts > 1 {
                let _ = write!(status, " (attempt {})", b.attempts);
            }
            [
                b.batch_id.clone(),
                b.project.clone(),
                b.backend.clone(),
                b.kind.clone(),
                status,
                started_cell(&b.started_at),
                b.duration_ms.map_or_else(|| "-".into(), format_duration),
                b.nodes.total.to_string(),
                b.nodes.succeeded.to_string(),
                b.nodes.failed.to_string(),
                b.nodes.stopped.to_string(),
            ]
        })
        .collect();
    aligned(&header, &rows)
}

fn status_cell(status: &str, interrupted: bool) -> String {
    if interrupted {
        format!("{status} (interrupted)")
    } else {
        status.to_owned()
    }
}

fn started_cell(started_at: &str) -> String {
    started_at
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_owned()
}

/// Left-aligned columns two spaces apart, each as wide as its widest cell. Cells are
/// sanitized: a batch's statuses and labels may come raw from the API or a buildspec.
fn aligned<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.each_ref().map(|c| crate::headless::plain::sanitize(c)))
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut line = |cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        text.push_str(parts.join("  ").trim_end());
        text.push('\n');
    };
    line(header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    text
}

/// `95000` → `1m35s`.
#[must_use]
pub fn format_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{}.{}s", secs, (ms % 1000) / 100),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// What `cbdash history show ID` found.
enum Shown {
    Run(Box<RunDetail>),
    Batch(Box<BatchDetail>),
}

/// A run or a batch by id: an exact id first (a run's, then a batch's), then a prefix.
fn find(store: &Store, id: &str) -> Result<Option<Shown>> {
    let run = store.run(id)?;
    if run.as_ref().is_some_and(|r| r.run.build_id == id) {
        return Ok(run.map(|r| Shown::Run(Box::new(r))));
    }
    let batch = store.batch(id)?;
    if batch.as_ref().is_some_and(|b| b.batch.batch_id == id) {
        return Ok(batch.map(|b| Shown::Batch(Box::new(b))));
    }
    Ok(run
        .map(|r| Shown::Run(Box::new(r)))
        .or_else(|| batch.map(|b| Shown::Batch(Box::new(b)))))
}

fn show(store: &Store, args: &HistoryShowArgs, out: &mut impl Write) -> Result<u8> {
    let detail = match find(store, &args.build_id)? {
        Some(Shown::Run(detail)) => detail,
        Some(Shown::Batch(batch)) => return show_batch(&batch, args, out),
        None => {
            return Err(UsageError(format!(
                "no run {} in the history {} (nor a batch); `cbdash history` lists the recorded runs and batches",
                args.build_id,
                store.path().display()
            ))
            .into());
        }
    };
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&detail)?)?;
    } else {
        // Context messages quote build commands, which may hold anything.
        for line in describe(&detail).lines() {
            writeln!(out, "{}", crate::headless::plain::sanitize(line))?;
        }
    }
    if args.log {
        match store.read_log(&detail.run.build_id)? {
            Some(log) => {
                writeln!(out, "\n--- log ---")?;
                // The log is the build's own output, untrusted: printed as plain mode does.
                for line in log.text.lines() {
                    writeln!(out, "{}", crate::headless::plain::sanitize(line))
                        .context("writing the log")?;
                }
                if log.truncated {
                    writeln!(
                        out,
                        "--- log truncated: cbdash was interrupted while writing it ---"
                    )?;
                }
            }
            None => writeln!(
                out,
                "\n(no log kept for this run: cloud builds keep theirs in CloudWatch; old local logs are pruned)"
            )?,
        }
    }
    Ok(0)
}

fn show_batch(batch: &BatchDetail, args: &HistoryShowArgs, out: &mut impl Write) -> Result<u8> {
    if args.json {
        writeln!(out, "{}", serde_json::to_string(batch)?)?;
    } else {
        for line in describe_batch(batch).lines() {
            writeln!(out, "{}", crate::headless::plain::sanitize(line))?;
        }
    }
    if args.log {
        writeln!(
            out,
            "\n(a batch has no log of its own: `cbdash history show BUILD_ID --log` prints a build's)"
        )?;
    }
    Ok(0)
}

/// The human view of one batch: its outcome, then its nodes in the batch's order with their
/// builds (earlier attempts under the node).
#[must_use]
pub fn describe_batch(d: &BatchDetail) -> String {
    use std::fmt::Write as _;
    let b = &d.batch;
    let mut s = String::new();
    let _ = writeln!(s, "batch    {}", b.batch_id);
    let _ = writeln!(s, "project  {} ({})", b.project, b.backend);
    let _ = writeln!(s, "kind     {}", b.kind);
    let _ = writeln!(s, "status   {}", status_cell(&b.status, b.interrupted));
    let _ = writeln!(s, "attempts {}", b.attempts);
    let _ = writeln!(s, "started  {}", b.started_at);
    if let Some(ms) = b.duration_ms {
        let _ = writeln!(s, "duration {}", format_duration(ms));
    }
    let n = &b.nodes;
    let _ = writeln!(
        s,
        "builds   {} succeeded, {} failed, {} stopped of {}\n",
        n.succeeded, n.failed, n.stopped, n.total
    );
    let header = [
        "IDENTIFIER",
        "STATUS",
        "ATTEMPT",
        "DURATION",
        "BUILD ID",
        "DEPENDS ON",
    ];
    let mut rows: Vec<[String; 6]> = Vec::new();
    for node in &d.builds {
        let mut name = node.identifier.clone();
        if let Some(label) = &node.label {
            let _ = write!(name, " ({label})");
        }
        if node.ignore_failure {
            name.push_str(" [ignore-failure]");
        }
        rows.push([
            name,
            node.status.clone(),
            node.attempt.to_string(),
            node.duration_ms.map_or_else(|| "-".into(), format_duration),
            node.build_id.clone().unwrap_or_else(|| "-".into()),
            node.depends_on.join(", "),
        ]);
        // Earlier attempts (a resume, a retry), under their node.
        for build in node.builds.iter().filter(|b| b.attempt < node.attempt) {
            rows.push([
                "  earlier".into(),
                build.status.clone(),
                build.attempt.to_string(),
                build
                    .duration_ms
                    .map_or_else(|| "-".into(), format_duration),
                build.build_id.clone(),
                String::new(),
            ]);
        }
    }
    s.push_str(&aligned(&header, &rows));
    s
}

/// The human view of one run.
#[must_use]
pub fn describe(d: &RunDetail) -> String {
    use std::fmt::Write as _;
    let r = &d.run;
    let mut s = String::new();
    let _ = writeln!(s, "build    {}", r.build_id);
    let _ = writeln!(s, "project  {} ({})", r.project, r.backend);
    if let (Some(batch), Some(identifier)) = (&r.batch_id, &r.identifier) {
        let _ = writeln!(s, "batch    {batch} (task {identifier})");
    }
    let interrupted = if r.interrupted { " (interrupted)" } else { "" };
    let _ = writeln!(s, "status   {}{interrupted}", r.status);
    if let Some(img) = &r.image {
        let _ = writeln!(s, "image    {img}");
    }
    if let Some(v) = &r.source_version {
        let _ = writeln!(s, "source   {v}");
    }
    let _ = writeln!(s, "started  {}", r.started_at);
    if let Some(ms) = r.duration_ms {
        let _ = writeln!(s, "duration {}", format_duration(ms));
    }
    if !d.phases.is_empty() {
        let _ = writeln!(s, "\nphases:");
        for p in &d.phases {
            let dur = p.duration_ms.map_or_else(|| "-".into(), format_duration);
            let _ = write!(
                s,
                "  {:<16} #{} {:<11} {dur:>8}",
                p.phase, p.attempt, p.status
            );
            if !p.context_code.is_empty() || !p.context_message.is_empty() {
                let _ = write!(s, "  {}: {}", p.context_code, p.context_message);
            }
            s.push('\n');
        }
    }
    for c in &d.cache_reports {
        let image = c.image.as_deref().unwrap_or("(untagged)");
        let _ = writeln!(
            s,
            "\ndocker build #{} {image} ({}): {}/{} cached",
            c.number(),
            c.builder.as_str(),
            c.steps_cached,
            crate::headless::count(c.steps_total, "step")
        );
        if let Some(m) = &c.first_miss {
            let _ = writeln!(s, "  first miss: step {} {}", m.step, m.instruction);
        }
    }
    // The same section as the plain summary of a live run (the caller sanitises every line).
    for line in crate::headless::plain_reports::section(&d.reports) {
        let _ = writeln!(s, "{line}");
    }
    for reg in &d.regressions {
        let _ = writeln!(s, "{}", reg.summary_line());
    }
    if !d.exported_variables.is_empty() {
        let _ = writeln!(s, "\nexported variables:");
        for (name, value) in &d.exported_variables {
            let line = crate::headless::plain::sanitize(&format!("{name}={value}"));
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_builds_are_numbered_from_1_as_in_plain_mode() {
        let mut report = crate::model::CacheReport::new(0, crate::model::Builder::Buildkit);
        report.image = Some("app:1".into());
        report.steps_total = 2;
        let detail = RunDetail {
            run: RunSummary {
                build_id: "p:1".into(),
                project: "p".into(),
                backend: "local".into(),
                image: None,
                docker: None,
                source_version: None,
                status: "SUCCEEDED".into(),
                interrupted: false,
                exit_code: Some(0),
                started_at: "2026-12-02T04:00:00Z".into(),
                ended_at: None,
                duration_ms: Some(1_000),
                cache_hit_pct: None,
                batch_id: None,
                identifier: None,
            },
            phases: Vec::new(),
            cache_reports: vec![report.clone()],
            reports: Vec::new(),
            regressions: Vec::new(),
            exported_variables: std::collections::BTreeMap::new(),
        };
        let text = describe(&detail);
        assert!(
            text.contains("docker build #1 app:1 (buildkit): 0/2 steps cached"),
            "{text}"
        );
        report.finished = true;
        let plain = crate::headless::plain::cache_line(&report);
        assert!(plain.starts_with("docker build #1 app:1:"), "{plain}");
    }

    #[test]
    fn a_run_shows_its_reports_as_the_plain_summary_does_and_in_json() {
        use crate::model::{BackendKind, BuildEvent, BuildId, ReportBody, TestReport};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rec =
            crate::history::Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
        let id = BuildId::new_for("p");
        let at = chrono::Utc::now();
        let report = TestReport {
            group: "unit".into(),
            format: "JUNITXML".into(),
            status: crate::model::ReportStatus::Failed,
            files: vec!["r.xml".into()],
            body: ReportBody::Test(crate::model::TestSummary {
                tests: 2,
                passed: 1,
                failed: 1,
                failed_cases: vec![crate::model::TestCase {
                    name: "adds".into(),
                    prefix: "calc".into(),
                    status: crate::model::CaseStatus::Failed,
                    // Report text is untrusted: printed sanitized.
                    message: Some("expected 3\u{1b}]0;owned\u{7}".into()),
                    duration_ms: None,
                }],
                ..crate::model::TestSummary::default()
            }),
            warnings: vec![],
        };
        for ev in [
            BuildEvent::Started {
                build_id: id.clone(),
                project: "p".into(),
                backend: BackendKind::Local,
                image: "img".into(),
                docker: crate::model::DockerAccess::default(),
                batch: None,
                at,
            },
            BuildEvent::Report {
                build_id: id.clone(),
                backend: BackendKind::Local,
                report: report.clone(),
            },
            BuildEvent::Finished {
                build_id: id.clone(),
                status: crate::model::Status::Failed,
                duration_ms: 5,
                at,
                exported_variables: std::collections::BTreeMap::new(),
            },
        ] {
            rec.record(&ev).expect("record");
        }
        let store = rec.finish().expect("finish");
        let args = |json| HistoryShowArgs {
            build_id: id.0.clone(),
            log: false,
            json,
        };
        let mut out = Vec::new();
        show(&store, &args(false), &mut out).expect("show");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains(
                "\nReports\nunit (JUNITXML) FAILED: 2 tests, 1 passed, 1 failed, 0 errors, 0 skipped, 0.0s\n  FAILED  calc.adds: expected 3"
            ),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let mut out = Vec::new();
        show(&store, &args(true), &mut out).expect("show --json");
        let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let shown: Vec<TestReport> =
            serde_json::from_value(json["reports"].clone()).expect("reports");
        assert_eq!(shown, [report]);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(1_250), "1.2s");
        assert_eq!(format_duration(95_000), "1m35s");
        assert_eq!(format_duration(7_500_000), "2h05m");
    }
}
