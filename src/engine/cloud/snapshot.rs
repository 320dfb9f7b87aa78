//! A CodeBuild build as cbdash sees it ([`BuildSnapshot`]), and the diff of two successive
//! snapshots as `BuildEvent`s. Pure: the poller feeds it SDK values, the tests feed it values
//! built by hand.
//!
//! Why a diff: BatchGetBuilds returns the whole phase list every time. Comparing with the
//! previous snapshot emits each `PhaseStarted`/`PhaseFinished` exactly once, whatever the
//! polling rate, and a build first seen half-way through gets its past phases replayed.

use chrono::{DateTime, Utc};

use crate::model::{BackendKind, BuildEvent, BuildId, PhaseContext, PhaseKind, Status};

/// Where a build's log is in CloudWatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLocation {
    pub group: String,
    pub stream: String,
    /// The log group's ARN (needed by StartLiveTail), when CodeBuild reported one.
    pub group_arn: Option<String>,
}

/// One phase of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseSnapshot {
    pub kind: PhaseKind,
    /// `None` while it runs, and for COMPLETED, which never has one.
    pub status: Option<Status>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub duration_secs: Option<i64>,
    pub context: PhaseContext,
}

impl PhaseSnapshot {
    /// Whether this phase has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.kind != PhaseKind::Completed
            && (self.end.is_some() || self.status.is_some_and(Status::is_terminal))
    }
}

/// What BatchGetBuilds says about one build, reduced to what cbdash shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSnapshot {
    pub id: BuildId,
    pub project: String,
    pub build_number: Option<i64>,
    pub status: Status,
    pub current_phase: Option<String>,
    pub image: String,
    /// `environment.privilegedMode`: the image's own daemon runs in the build.
    pub privileged: bool,
    pub source_version: Option<String>,
    /// `resolvedSourceVersion`: the commit the source resolved to (known once
    /// `DOWNLOAD_SOURCE` has run).
    pub resolved_source_version: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub phases: Vec<PhaseSnapshot>,
    pub log: Option<LogLocation>,
    /// Environment variable values of the build (plaintext only), for ECR repository hints.
    pub env_values: Vec<String>,
    /// `exportedEnvironmentVariables`: what the build exported (set when it has ended).
    pub exported: std::collections::BTreeMap<String, String>,
    /// `reportArns`: the build's test and coverage reports (read when it has ended).
    pub report_arns: Vec<String>,
    /// `debugSession.sessionTarget` (a build started with `debugSessionEnabled` whose
    /// session can be joined), and the region of the build's ARN, for the command that joins.
    pub debug: Option<DebugTarget>,
}

/// Where a cloud build's Session Manager debug session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugTarget {
    pub target: String,
    pub region: Option<String>,
}

impl DebugTarget {
    /// The exact command that joins the session (`aws ssm start-session`, which needs the
    /// Session Manager plugin), as words; the target is opaque and passed as it is.
    #[must_use]
    pub fn command(&self) -> Vec<String> {
        let mut words: Vec<String> = ["aws", "ssm", "start-session", "--target"]
            .map(str::to_owned)
            .to_vec();
        words.push(self.target.clone());
        if let Some(region) = &self.region {
            words.extend(["--region".to_owned(), region.clone()]);
        }
        words
    }

    /// [`Self::command`] as one line to show and paste (each word quoted when it must be).
    #[must_use]
    pub fn command_line(&self) -> String {
        self.command()
            .iter()
            .map(|w| {
                if !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.:/=@".contains(c))
                {
                    w.clone()
                } else {
                    format!("'{}'", w.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The region of a CodeBuild ARN (`arn:aws:codebuild:<region>:<account>:build/...`).
fn arn_region(arn: &str) -> Option<String> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty()).then(|| region.to_owned())
}

impl BuildSnapshot {
    /// Whether the build has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.status.is_terminal()
    }

    /// Build duration in ms (start to end, or 0 when unknown).
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        span_ms(self.start, self.end)
    }

    /// From the SDK's `Build`.
    #[must_use]
    pub fn from_sdk(b: &aws_sdk_codebuild::types::Build) -> Self {
        let id = b.id().unwrap_or_default().to_owned();
        let env = b.environment();
        Self {
            project: b
                .project_name()
                .map_or_else(|| BuildId(id.clone()).project().to_owned(), str::to_owned),
            id: BuildId(id),
            build_number: b.build_number(),
            status: b
                .build_status()
                .and_then(|s| Status::from_api(s.as_str()))
                .unwrap_or(Status::InProgress),
            current_phase: b.current_phase().map(str::to_owned),
            image: env.map(|e| e.image().to_owned()).unwrap_or_default(),
            privileged: env
                .and_then(aws_sdk_codebuild::types::ProjectEnvironment::privileged_mode)
                .unwrap_or(false),
            source_version: b.source_version().map(str::to_owned),
            resolved_source_version: b
                .resolved_source_version()
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            start: b.start_time().and_then(to_chrono),
            end: b.end_time().and_then(to_chrono),
            phases: b.phases().iter().filter_map(phase_from_sdk).collect(),
            log: b.logs().and_then(|l| {
                log_location(l.group_name(), l.stream_name(), l.cloud_watch_logs_arn())
            }),
            env_values: env
                .map(|e| {
                    e.environment_variables()
                        .iter()
                        .filter(|v| v.r#type().is_none_or(|t| t.as_str() == "PLAINTEXT"))
                        .map(|v| v.value().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            exported: b
                .exported_environment_variables()
                .iter()
                .filter_map(|v| Some((v.name()?.to_owned(), v.value().unwrap_or("").to_owned())))
                .collect(),
            report_arns: b.report_arns().to_vec(),
            debug: b
                .debug_session()
                .and_then(|d| d.session_target())
                .filter(|t| !t.is_empty())
                .map(|t| DebugTarget {
                    target: t.to_owned(),
                    region: b.arn().and_then(arn_region),
                }),
        }
    }
}

/// A log location, unless CodeBuild has not made one yet: before PROVISIONING ends the
/// group and stream are absent or the literal string `"null"`.
#[must_use]
pub fn log_location(
    group: Option<&str>,
    stream: Option<&str>,
    arn: Option<&str>,
) -> Option<LogLocation> {
    let real = |s: Option<&str>| {
        s.filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_owned)
    };
    let group_arn = arn
        .and_then(|a| a.split_once(":log-stream:").map(|(g, _)| g.to_owned()))
        .filter(|g| !g.ends_with(":null"));
    Some(LogLocation {
        group: real(group)?,
        stream: real(stream)?,
        group_arn,
    })
}

fn phase_from_sdk(p: &aws_sdk_codebuild::types::BuildPhase) -> Option<PhaseSnapshot> {
    // A phase type newer than this build of cbdash is skipped rather than fatal.
    let kind = PhaseKind::from_api(p.phase_type()?.as_str())?;
    let context = p
        .contexts()
        .iter()
        .find(|c| c.status_code().is_some_and(|s| !s.is_empty()) || c.message().is_some())
        .map(|c| PhaseContext {
            status_code: c.status_code().unwrap_or_default().to_owned(),
            message: c.message().unwrap_or_default().to_owned(),
        })
        .unwrap_or_default();
    Some(PhaseSnapshot {
        kind,
        status: p.phase_status().and_then(|s| Status::from_api(s.as_str())),
        start: p.start_time().and_then(to_chrono),
        end: p.end_time().and_then(to_chrono),
        duration_secs: p.duration_in_seconds(),
        context,
    })
}

fn to_chrono(t: &aws_sdk_codebuild::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn span_ms(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> u64 {
    match (start, end) {
        (Some(s), Some(e)) => u64::try_from((e - s).num_milliseconds()).unwrap_or(0),
        _ => 0,
    }
}

/// The events that take a viewer from `prev` (nothing seen yet when `None`) to `next`:
/// `Started` once, each phase's start and end once (attempts counted per phase kind),
/// `SourceVersion` once the resolved source version is known (before the phases, so it is
/// recorded before any log line of the build's docker builds), `Finished` once, and
/// `DebugSession` when a session target appears on a running build. The COMPLETED marker
/// phase is not a phase of its own: `Finished` says it.
#[must_use]
pub fn diff(prev: Option<&BuildSnapshot>, next: &BuildSnapshot) -> Vec<BuildEvent> {
    let mut events = Vec::new();
    let id = &next.id;
    if prev.is_none() {
        events.push(BuildEvent::Started {
            build_id: id.clone(),
            project: next.project.clone(),
            backend: BackendKind::Cloud,
            image: next.image.clone(),
            docker: crate::model::DockerAccess::from_flags(false, next.privileged),
            batch: None,
            at: next.start.unwrap_or_else(Utc::now),
        });
    }
    if let Some(version) = &next.resolved_source_version
        && prev.and_then(|p| p.resolved_source_version.as_ref()) != Some(version)
    {
        events.push(BuildEvent::SourceVersion {
            build_id: id.clone(),
            version: version.clone(),
        });
    }
    let old = prev.map_or(&[][..], |p| p.phases.as_slice());
    let mut attempts = std::collections::HashMap::new();
    for (i, phase) in next.phases.iter().enumerate() {
        let attempt: &mut u32 = attempts.entry(phase.kind).or_default();
        *attempt += 1;
        if phase.kind == PhaseKind::Completed {
            continue;
        }
        let before = old.get(i).filter(|o| o.kind == phase.kind);
        if before.is_none() {
            events.push(BuildEvent::PhaseStarted {
                build_id: id.clone(),
                phase: phase.kind,
                attempt: *attempt,
                at: phase.start.unwrap_or_else(Utc::now),
            });
        }
        if phase.is_finished() && !before.is_some_and(PhaseSnapshot::is_finished) {
            events.push(phase_finished(id, phase, *attempt));
        }
    }
    // A session target that appears (or changes) while the build runs can be joined.
    if let Some(debug) = next.debug.as_ref().filter(|_| !next.is_finished())
        && prev.and_then(|p| p.debug.as_ref()) != Some(debug)
    {
        events.push(BuildEvent::DebugSession {
            build_id: id.clone(),
            target: debug.target.clone(),
            command: debug.command_line(),
        });
    }
    if next.is_finished() && !prev.is_some_and(BuildSnapshot::is_finished) {
        events.push(BuildEvent::Finished {
            build_id: id.clone(),
            status: next.status,
            duration_ms: next.duration_ms(),
            at: next.end.unwrap_or_else(Utc::now),
            exported_variables: next.exported.clone(),
        });
    }
    events
}

fn phase_finished(id: &BuildId, phase: &PhaseSnapshot, attempt: u32) -> BuildEvent {
    let duration_ms = phase.duration_secs.map_or_else(
        || span_ms(phase.start, phase.end),
        |s| u64::try_from(s).unwrap_or(0) * 1000,
    );
    // A finished phase without a status is treated by its context: empty means it passed.
    let status = phase.status.unwrap_or(if phase.context.is_empty() {
        Status::Succeeded
    } else {
        Status::Failed
    });
    BuildEvent::PhaseFinished {
        build_id: id.clone(),
        phase: phase.kind,
        attempt,
        status,
        duration_ms,
        context: phase.context.clone(),
        at: phase.end.unwrap_or_else(Utc::now),
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
