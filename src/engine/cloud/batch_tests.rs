use super::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time")
}

fn summary(build: &str, status: &str) -> SummarySnapshot {
    SummarySnapshot {
        build_id: Some(BuildId(build.into())),
        status: NodeStatus::from_api(status),
        requested_on: Some(t(0)),
    }
}

fn group(id: &str, deps: &[&str], current: Option<SummarySnapshot>) -> GroupSnapshot {
    GroupSnapshot {
        identifier: id.into(),
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        current,
        prior: Vec::new(),
    }
}

fn batch(status: &str, complete: bool, groups: Vec<GroupSnapshot>) -> BatchSnapshot {
    BatchSnapshot {
        id: BatchId("demo:b1".into()),
        project: "demo".into(),
        number: Some(3),
        status: NodeStatus::from_api(status),
        current_phase: None,
        complete,
        source_version: None,
        start: Some(t(0)),
        end: complete.then(|| t(90)),
        groups,
    }
}

fn names(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            BuildEvent::BatchStarted { builds, kind, .. } => format!(
                "started {} [{}]",
                kind.as_str(),
                builds
                    .iter()
                    .map(|b| b.identifier.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            BuildEvent::BatchBuild {
                identifier,
                status,
                attempt,
                ..
            } => format!("{identifier}={status}#{attempt}"),
            BuildEvent::BatchFinished { status, .. } => format!("finished {status}"),
            BuildEvent::Notice { level, .. } => format!("notice {level:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_graph_is_told_node_by_node_each_change_once() {
    let mut tr = BatchTracker::new(BatchId("demo:b1".into()));
    // Right after StartBuildBatch: no groups yet, nothing to tell.
    assert!(
        tr.absorb(&batch("IN_PROGRESS", false, vec![]), t(1))
            .is_empty()
    );
    let dl = group(DOWNLOAD_SOURCE, &[], Some(summary("demo:dl", "SUCCEEDED")));
    let s1 = batch(
        "IN_PROGRESS",
        false,
        vec![
            dl.clone(),
            group("compile", &[], Some(summary("demo:c", "IN_PROGRESS"))),
            group("unit", &["compile"], Some(summary("demo:u", "PENDING"))),
        ],
    );
    assert_eq!(
        names(&tr.absorb(&s1, t(2))),
        [
            "started graph [compile,unit]",
            "notice Info",
            "compile=IN_PROGRESS#1",
            "unit=PENDING#1"
        ]
    );
    assert!(tr.absorb(&s1, t(3)).is_empty(), "nothing changed");
    assert_eq!(
        tr.member(&BuildId("demo:u".into())).map(|m| m.identifier),
        Some("unit".into())
    );
    let s2 = batch(
        "IN_PROGRESS",
        false,
        vec![
            dl.clone(),
            group("compile", &[], Some(summary("demo:c", "SUCCEEDED"))),
            group("unit", &["compile"], Some(summary("demo:u", "IN_PROGRESS"))),
        ],
    );
    assert_eq!(
        names(&tr.absorb(&s2, t(4))),
        ["compile=SUCCEEDED#1", "unit=IN_PROGRESS#1"]
    );
    // The summary still says IN_PROGRESS; the child's own end wins and is told first.
    let s3 = batch("SUCCEEDED", true, s2.groups.clone());
    let end = |id: &BuildId| {
        (id.0 == "demo:u").then_some(ChildEnd {
            status: Status::Succeeded,
            duration_ms: 40_000,
        })
    };
    let fin = tr.finish(&s3, end, t(5));
    assert_eq!(names(&fin), ["unit=SUCCEEDED#1", "finished SUCCEEDED"]);
    let BuildEvent::BatchFinished {
        builds,
        duration_ms,
        ..
    } = &fin[1]
    else {
        unreachable!()
    };
    assert_eq!(*duration_ms, 90_000);
    assert_eq!(builds.len(), 2);
    assert_eq!(builds[1].duration_ms, Some(40_000));
    assert_eq!(
        builds[0].duration_ms, None,
        "compile's end was not asked for"
    );
    assert!(tr.finish(&s3, end, t(6)).is_empty(), "once");
    assert_eq!(exit_code(&s3.status), 0);
}

#[test]
fn unknown_words_are_kept_and_retries_count_attempts() {
    let mut tr = BatchTracker::new(BatchId("demo:b1".into()));
    let mut g = group("lint", &[], Some(summary("demo:l2", "CLIENT_ERROR")));
    g.prior = vec![summary("demo:l1", "FAILED")];
    let evs = tr.absorb(&batch("RETRY", false, vec![g]), t(1));
    assert_eq!(names(&evs), ["started list [lint]", "lint=CLIENT_ERROR#2"]);
    assert_eq!(
        tr.member(&BuildId("demo:l1".into())).map(|m| m.identifier),
        Some("lint".into()),
        "earlier attempts belong to the node too"
    );
    assert_eq!(exit_code(&NodeStatus::from_api("RETRY")), 3);
    assert_eq!(exit_code(&NodeStatus::from_api("STOPPED")), 1);
    assert_eq!(exit_code(&NodeStatus::from_api("FAULT")), 3);
}

#[test]
fn a_batch_that_ends_before_its_groups_is_still_started_and_finished() {
    let mut tr = BatchTracker::new(BatchId("demo:b1".into()));
    let dl = group(DOWNLOAD_SOURCE, &[], Some(summary("demo:dl", "FAILED")));
    let s = batch("FAILED", true, vec![dl]);
    let evs = tr.finish(&s, |_| None, t(1));
    assert_eq!(
        names(&evs),
        ["started list []", "notice Error", "finished FAILED"]
    );
}

#[test]
fn ids_come_out_of_arns() {
    assert_eq!(
        build_id_of_arn("arn:aws:codebuild:us-east-1:1:build/demo:abc"),
        Some(BuildId("demo:abc".into()))
    );
    assert_eq!(
        build_id_of_arn("demo:abc"),
        Some(BuildId("demo:abc".into()))
    );
    assert_eq!(
        build_id_of_arn("arn:aws:codebuild:us-east-1:1:project/x"),
        None
    );
    assert_eq!(
        batch_id_of("arn:aws:codebuild:us-east-1:1:build-batch/demo:abc"),
        Some(BatchId("demo:abc".into()))
    );
    assert_eq!(
        batch_id_of("arn:aws:codebuild:us-east-1:1:build/demo:abc"),
        None
    );
}
