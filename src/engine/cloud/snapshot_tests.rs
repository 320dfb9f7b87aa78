use super::*;

fn t(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0)
}

fn phase(kind: PhaseKind, status: Option<Status>, start: i64, end: Option<i64>) -> PhaseSnapshot {
    PhaseSnapshot {
        kind,
        status,
        start: t(start),
        end: end.and_then(t),
        duration_secs: end.map(|e| e - start),
        context: PhaseContext::default(),
    }
}

fn build(status: Status, phases: Vec<PhaseSnapshot>) -> BuildSnapshot {
    BuildSnapshot {
        id: BuildId("p:1".into()),
        project: "p".into(),
        build_number: Some(1),
        status,
        current_phase: phases.last().map(|p| p.kind.as_str().to_owned()),
        image: "img".into(),
        privileged: false,
        source_version: None,
        resolved_source_version: None,
        start: t(0),
        end: if status.is_terminal() { t(30) } else { None },
        phases,
        log: None,
        env_values: Vec::new(),
        exported: std::collections::BTreeMap::new(),
        report_arns: Vec::new(),
        debug: None,
    }
}

fn names(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            BuildEvent::Started { .. } => "started".into(),
            BuildEvent::PhaseStarted { phase, attempt, .. } => format!("+{phase}#{attempt}"),
            BuildEvent::PhaseFinished { phase, status, .. } => format!("-{phase}:{status}"),
            BuildEvent::Finished { status, .. } => format!("finished:{status}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn each_transition_is_emitted_once() {
    let s1 = build(
        Status::InProgress,
        vec![
            phase(PhaseKind::Submitted, Some(Status::Succeeded), 0, Some(1)),
            phase(PhaseKind::Queued, None, 1, None),
        ],
    );
    let mut s2 = s1.clone();
    s2.phases[1] = phase(PhaseKind::Queued, Some(Status::Succeeded), 1, Some(2));
    s2.phases
        .push(phase(PhaseKind::Provisioning, None, 2, None));
    assert_eq!(
        names(&diff(None, &s1)),
        [
            "started",
            "+SUBMITTED#1",
            "-SUBMITTED:SUCCEEDED",
            "+QUEUED#1"
        ]
    );
    assert_eq!(
        names(&diff(Some(&s1), &s2)),
        ["-QUEUED:SUCCEEDED", "+PROVISIONING#1"]
    );
    assert!(
        diff(Some(&s2), &s2).is_empty(),
        "an unchanged snapshot emits nothing"
    );
}

#[test]
fn failure_carries_its_context_and_completed_has_no_status() {
    let mut failed = phase(PhaseKind::Build, Some(Status::Failed), 5, Some(9));
    failed.context = PhaseContext {
        status_code: "COMMAND_EXECUTION_ERROR".into(),
        message: "Error while executing command: make. Reason: exit status 2".into(),
    };
    let s = build(
        Status::Failed,
        vec![failed, phase(PhaseKind::Completed, None, 9, None)],
    );
    let events = diff(None, &s);
    assert_eq!(
        names(&events),
        ["started", "+BUILD#1", "-BUILD:FAILED", "finished:FAILED"]
    );
    let Some(BuildEvent::PhaseFinished {
        context,
        duration_ms,
        ..
    }) = events.get(2)
    else {
        panic!("expected PhaseFinished, got {events:?}");
    };
    assert_eq!(context.status_code, "COMMAND_EXECUTION_ERROR");
    assert_eq!(*duration_ms, 4000);
}

#[test]
fn repeated_phases_count_attempts() {
    let s = build(
        Status::InProgress,
        vec![
            phase(PhaseKind::Build, Some(Status::Failed), 0, Some(1)),
            phase(PhaseKind::Build, None, 1, None),
        ],
    );
    assert_eq!(
        names(&diff(None, &s)),
        ["started", "+BUILD#1", "-BUILD:FAILED", "+BUILD#2"]
    );
}

#[test]
fn the_finished_event_carries_what_the_build_exported() {
    let running = build(Status::InProgress, vec![]);
    let mut done = build(Status::Succeeded, vec![]);
    done.exported = [("IMAGE_TAG".to_owned(), "abc1234".to_owned())].into();
    let events = diff(Some(&running), &done);
    let Some(BuildEvent::Finished {
        exported_variables, ..
    }) = events.last()
    else {
        panic!("no Finished: {events:?}");
    };
    assert_eq!(exported_variables, &done.exported);
    let sdk = aws_sdk_codebuild::types::Build::builder()
        .id("p:1")
        .exported_environment_variables(
            aws_sdk_codebuild::types::ExportedEnvironmentVariable::builder()
                .name("IMAGE_TAG")
                .value("abc1234")
                .build(),
        )
        .build();
    assert_eq!(BuildSnapshot::from_sdk(&sdk).exported, done.exported);
}

#[test]
fn null_log_locations_are_not_locations() {
    assert_eq!(log_location(Some("null"), Some("null"), None), None);
    assert_eq!(log_location(None, Some("s"), None), None);
    let l = log_location(
        Some("/aws/codebuild/p"),
        Some("u"),
        Some("arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/p:log-stream:u"),
    );
    assert_eq!(
        l.and_then(|l| l.group_arn),
        Some("arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/p".into())
    );
}

#[test]
fn a_debug_session_target_is_told_once_while_the_build_runs() {
    let running = build(
        Status::InProgress,
        vec![phase(PhaseKind::Build, None, 0, None)],
    );
    let mut joinable = running.clone();
    joinable.debug = Some(super::DebugTarget {
        target: "codebuild:1a2b-3c".into(),
        region: Some("eu-west-1".into()),
    });
    let events = diff(Some(&running), &joinable);
    let [
        BuildEvent::DebugSession {
            target, command, ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert_eq!(target, "codebuild:1a2b-3c");
    assert_eq!(
        command,
        "aws ssm start-session --target codebuild:1a2b-3c --region eu-west-1"
    );
    assert!(diff(Some(&joinable), &joinable).is_empty());
    // A finished build's target is no session to join.
    let mut done = joinable.clone();
    done.status = Status::Succeeded;
    assert!(
        !diff(Some(&running), &done)
            .iter()
            .any(|e| matches!(e, BuildEvent::DebugSession { .. }))
    );
}

#[test]
fn the_debug_target_comes_from_the_sdk_build_with_the_arn_region() {
    use aws_sdk_codebuild::types::{Build, DebugSession};
    let sdk = Build::builder()
        .id("p:1")
        .arn("arn:aws:codebuild:us-east-2:123456789012:build/p:1")
        .debug_session(
            DebugSession::builder()
                .session_enabled(true)
                .session_target("codebuild:1")
                .build(),
        )
        .build();
    let debug = BuildSnapshot::from_sdk(&sdk).debug.expect("a target");
    assert_eq!(debug.target, "codebuild:1");
    assert_eq!(debug.region.as_deref(), Some("us-east-2"));
    let odd = super::DebugTarget {
        target: "a b'c".into(),
        region: None,
    };
    assert_eq!(
        odd.command_line(),
        "aws ssm start-session --target 'a b'\\''c'"
    );
}

#[test]
fn the_resolved_source_version_is_said_once_before_the_phases() {
    let queued = build(
        Status::InProgress,
        vec![phase(
            PhaseKind::Submitted,
            Some(Status::Succeeded),
            0,
            Some(1),
        )],
    );
    let mut resolved = queued.clone();
    resolved.resolved_source_version = Some("0123abcd".into());
    resolved
        .phases
        .push(phase(PhaseKind::DownloadSource, None, 1, None));
    let version = |events: &[BuildEvent]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                BuildEvent::SourceVersion { version, .. } => Some(version.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(version(&diff(None, &queued)).is_empty(), "not known yet");
    let events = diff(Some(&queued), &resolved);
    assert_eq!(version(&events), ["0123abcd"]);
    assert!(
        matches!(events[0], BuildEvent::SourceVersion { .. }),
        "before the phases: {events:?}"
    );
    assert!(version(&diff(Some(&resolved), &resolved)).is_empty());
    // A build first seen finished says it after Started, before its phases.
    let first = diff(None, &resolved);
    assert!(matches!(first[0], BuildEvent::Started { .. }));
    assert!(matches!(first[1], BuildEvent::SourceVersion { .. }));
}
