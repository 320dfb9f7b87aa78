//! The rule table against its own examples, against logs of healthy builds, and the context
//! rules' edge cases.

use super::context::printable;
use super::*;
use crate::model::{Diagnosis, LogLine, LogStream, PhaseContext, PhaseKind, Status};

fn rules() -> &'static Rules {
    builtin().expect("the embedded rules.toml parses and compiles")
}

/// A log as the backends emit it: `[Container]` lines from the agent, the rest output.
fn log(text: &str, phase: Option<PhaseKind>) -> Vec<LogLine> {
    text.lines().map(|t| LogLine::from_log(phase, t)).collect()
}

#[test]
fn the_table_parses_and_every_rule_is_complete() {
    let r = rules();
    assert!(r.rules.len() >= 15, "{} rules", r.rules.len());
    for rule in &r.rules {
        assert!(
            !rule.cause.is_empty() && !rule.fix.is_empty(),
            "{}",
            rule.id
        );
        assert!(
            !rule.example.contains("FILLED-BELOW"),
            "{}: no example",
            rule.id
        );
        assert!(
            !rule.fix.contains('\n') && !rule.fix.contains("  "),
            "{}: folded",
            rule.id
        );
    }
}

#[test]
fn every_rule_fires_on_its_own_example_at_its_line_and_nothing_else_does() {
    for rule in &rules().rules {
        let phase = rule.phases.first().copied();
        let found = diagnose_log(rules(), &log(&rule.example, phase), 256);
        let ids: Vec<&str> = found.iter().map(|d| d.rule.as_str()).collect();
        assert_eq!(ids, [rule.id.as_str()], "rule {}: {found:#?}", rule.id);
        let evidence = rule
            .example
            .lines()
            .nth(rule.example_line - 1)
            .expect("example_line is checked at parse time");
        assert_eq!(found[0].line, printable(evidence), "rule {}", rule.id);
        assert_eq!(found[0].phase, phase);
        assert!(
            !found[0].fix.contains('{'),
            "{}: unfilled placeholder",
            rule.id
        );
    }
}

/// Real `docker build` logs (BuildKit and legacy) recorded for the cache analyzer's tests,
/// including two builds that fail for an ordinary reason (a `RUN` exiting 3).
const DOCKER_BUILD_LOGS: [&str; 11] = [
    include_str!("../../tests/fixtures/docker-build/bk-cached.log"),
    include_str!("../../tests/fixtures/docker-build/bk-fail.log"),
    include_str!("../../tests/fixtures/docker-build/bk-first.log"),
    include_str!("../../tests/fixtures/docker-build/bk-middle-miss.log"),
    include_str!("../../tests/fixtures/docker-build/bk-multi.log"),
    include_str!("../../tests/fixtures/docker-build/legacy-cached.log"),
    include_str!("../../tests/fixtures/docker-build/legacy-fail.log"),
    include_str!("../../tests/fixtures/docker-build/legacy-first.log"),
    include_str!("../../tests/fixtures/docker-build/legacy-middle-miss.log"),
    include_str!("../../tests/fixtures/docker-build/legacy-multi.log"),
    include_str!("../../tests/fixtures/docker-build/two-builds.log"),
];

#[test]
fn no_rule_fires_on_recorded_docker_builds() {
    for (i, text) in DOCKER_BUILD_LOGS.iter().enumerate() {
        let found = diagnose_log(rules(), &log(text, Some(PhaseKind::Build)), 256);
        assert!(found.is_empty(), "log {i}: {found:#?}");
    }
}

/// A multi-line block whose first line fails but whose last line succeeds.
const HIDDEN: &str = "[Container] 2025/10/12 15:45:10.842032 Running command npm ci
/codebuild/output/tmp/script.sh: 4: npm: not found
done
[Container] 2025/10/12 15:45:10.851690 Running command echo next";

#[test]
fn batches_of_any_size_find_the_same_as_single_lines() {
    for rule in &rules().rules {
        let lines = log(&rule.example, rule.phases.first().copied());
        let one_by_one = diagnose_log(rules(), &lines, 1);
        for batch in [2, 3, 7, 256] {
            assert_eq!(
                diagnose_log(rules(), &lines, batch),
                one_by_one,
                "rule {} in batches of {batch}",
                rule.id
            );
        }
    }
}

#[test]
fn a_shell_error_is_hidden_only_when_its_command_exits_0() {
    let found = diagnose_log(rules(), &log(HIDDEN, Some(PhaseKind::Build)), 256);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "hidden-failure");
    assert_eq!(
        found[0].line,
        "/codebuild/output/tmp/script.sh: 4: npm: not found"
    );
    // The same error, but the command's exit status says so: nothing is hidden.
    let failed = HIDDEN.replace(
        "Running command echo next",
        "Command did not exit successfully npm ci exit status 127",
    );
    assert!(diagnose_log(rules(), &log(&failed, Some(PhaseKind::Build)), 256).is_empty());
    // The log ends inside the command (a stopped build): its status is unknown.
    let cut: String = HIDDEN.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(diagnose_log(rules(), &log(&cut, Some(PhaseKind::Build)), 256).is_empty());
}

#[test]
fn command_text_is_not_evidence() {
    let text = "[Container] 2025/10/12 15:45:10.842032 Running command echo 'no space left on device'
[Container] 2025/10/12 15:45:10.842032 Running command grep -c 'Cannot connect to the Docker daemon' x.log
[Container] 2025/10/12 15:45:10.842032 Command did not exit successfully grep -c 'Cannot connect to the Docker daemon' x.log exit status 1
[Container] 2025/10/12 15:45:10.842032 Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: grep -c 'Cannot connect to the Docker daemon' x.log. Reason: exit status 1";
    assert!(diagnose_log(rules(), &log(text, Some(PhaseKind::Build)), 256).is_empty());
    // The local engine's continuation lines of a multi-line command are agent lines too.
    let cont = LogLine {
        phase: Some(PhaseKind::Build),
        stream: LogStream::Agent,
        text: "echo 'no space left on device'".into(),
    };
    assert!(diagnose_log(rules(), [&cont], 256).is_empty());
}

#[test]
fn a_cache_error_counts_only_on_a_vertex_importing_a_cache() {
    let base_missing =
        "#4 [1/2] FROM docker.io/library/nope:1\n#4 ERROR: docker.io/library/nope:1: not found";
    assert!(diagnose_log(rules(), &log(base_missing, None), 256).is_empty());
    // A new command forgets the vertices of the previous one.
    let text = "#6 importing cache manifest from r/x:cache\n[Container] 2025/10/12 15:45:10.842032 Running command docker build .\n#6 ERROR: r/y: not found";
    assert!(diagnose_log(rules(), &log(text, None), 256).is_empty());
}

#[test]
fn get_login_is_blamed_only_when_the_command_is_get_login() {
    let text = "[Container] 2025/10/12 15:45:10.842032 Running command aws ecr describe-things\naws: error: argument operation: Invalid choice, valid choices are:";
    assert!(diagnose_log(rules(), &log(text, Some(PhaseKind::Build)), 256).is_empty());
}

#[test]
fn phases_limit_rules_and_each_rule_fires_once() {
    let text = "[Container] 2025/10/12 15:45:10.842032 Phase context status code: CLIENT_ERROR Message: no matching artifact paths found";
    assert!(diagnose_log(rules(), &log(text, Some(PhaseKind::Build)), 256).is_empty());
    let twice = format!("{text}\n{text}");
    let found = diagnose_log(rules(), &log(&twice, Some(PhaseKind::UploadArtifacts)), 256);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].fix.contains("ls -R <base-directory>"),
        "no listing: say how to list: {}",
        found[0].fix
    );
}

#[test]
fn the_engine_listing_goes_into_the_artifacts_fix() {
    let listing = listing_line("dist", &["app.txt".into(), "lib/x.so".into()]);
    let text = format!(
        "[Container] 2025/10/12 15:45:10.842032 {listing}\n[Container] 2025/10/12 15:45:10.842032 Phase context status code: CLIENT_ERROR Message: no matching artifact paths found"
    );
    let found = diagnose_log(rules(), &log(&text, Some(PhaseKind::UploadArtifacts)), 256);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .fix
            .ends_with("Paths under the base directory dist: app.txt, lib/x.so."),
        "{}",
        found[0].fix
    );
}

#[test]
fn a_phase_context_is_evidence_and_names_the_permission() {
    let mut d = Diagnoser::new(rules(), None);
    let mut out = Vec::new();
    d.phase_finished(
        PhaseKind::DownloadSource,
        Status::Failed,
        &PhaseContext {
            status_code: "YAML_FILE_ERROR".into(),
            message: "YAML file does not exist".into(),
        },
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].rule, "yaml-file-error");
    assert_eq!(
        out[0].line,
        "Phase context status code: YAML_FILE_ERROR Message: YAML file does not exist"
    );
    let text = "denied: User: arn:aws:sts::1:assumed-role/r/AWSCodeBuild-x is not authorized to perform: ecr:CompleteLayerUpload on resource: arn:aws:ecr:eu-west-1:1:repository/s";
    let found = diagnose_log(rules(), &log(text, Some(PhaseKind::PostBuild)), 256);
    assert_eq!(found[0].rule, "ecr-permission");
    assert!(
        found[0].cause.contains("`ecr:CompleteLayerUpload`"),
        "{}",
        found[0].cause
    );
    assert!(found[0].fix.starts_with("Add `ecr:CompleteLayerUpload`"));
}

#[test]
fn the_yaml_rule_runs_the_validator_on_the_buildspec() {
    let spec: std::sync::Arc<str> =
        std::sync::Arc::from("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n");
    let mut d = Diagnoser::new(rules(), Some(spec));
    let mut out = Vec::new();
    d.phase_finished(
        PhaseKind::DownloadSource,
        Status::Failed,
        &PhaseContext {
            status_code: "YAML_FILE_ERROR".into(),
            message: "Expected Commands[0] to be of string type: found subkeys instead at line 5, value of the key tag on line 4 might be empty".into(),
        },
        &mut out,
    );
    assert!(
        out[0].fix.contains("buildspec.yml:5:"),
        "the validator's line: {}",
        out[0].fix
    );
}

/// `until docker info` while dockerd starts, as the semantics reference's custom-image recipe
/// does: the daemon's absence is printed, and the command succeeds.
const DOCKERD_WAIT: &str = "[Container] 2025/10/12 15:45:10.842032 Running command timeout 15 sh -c \"until docker info; do echo .; sleep 1; done\"
Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?
.
Client: Docker Engine - Community";

#[test]
fn output_of_a_command_that_exits_0_is_evidence_only_for_what_exit_0_hides() {
    let ok =
        format!("{DOCKERD_WAIT}\n[Container] 2025/10/12 15:45:12.1 Running command docker build .");
    let found = diagnose_log(rules(), &log(&ok, Some(PhaseKind::Install)), 256);
    assert!(found.is_empty(), "{found:#?}");
    let failed = format!(
        "{DOCKERD_WAIT}\n[Container] 2025/10/12 15:45:25.1 Command did not exit successfully timeout 15 sh -c \"until docker info; do echo .; sleep 1; done\" exit status 124"
    );
    let found = diagnose_log(rules(), &log(&failed, Some(PhaseKind::Install)), 256);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "docker-daemon");
    // `if [[ ... ]]` under sh: the error is printed and the command exits 0.
    let swallowed =
        "[Container] 2025/10/12 15:45:10.842032 Running command if [[ -f x ]]; then echo x; fi
/codebuild/output/tmp/script.sh: 4: [[: not found
[Container] 2025/10/12 15:45:10.851690 Running command echo next";
    let found = diagnose_log(rules(), &log(swallowed, Some(PhaseKind::Build)), 256);
    let ids: Vec<&str> = found.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(ids, ["shell-not-bash", "hidden-failure"], "{found:#?}");
}

#[test]
fn a_phase_that_ends_badly_ends_its_command_as_failed() {
    let lines = |t: &str| log(t, Some(PhaseKind::Build));
    let running = "[Container] 2025/10/12 15:45:10.842032 Running command docker pull node:22\ntoomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit";
    // The agent says so: a timed-out phase prints no exit status.
    let timed_out = format!(
        "{running}\n[Container] 2025/10/12 15:55:10.1 Phase complete: BUILD State: TIMED_OUT"
    );
    let found = diagnose_log(rules(), &lines(&timed_out), 256);
    assert_eq!(found.len(), 1, "{found:#?}");
    // Or only the phase event does (a cloud build whose log stops early): the findings come
    // before the event that revealed them.
    let mut tap = DiagnosisTap::builtin().expect("rules");
    let id = crate::model::BuildId("b:1".into());
    let at = chrono::Utc::now();
    assert_eq!(
        tap.observe(crate::model::BuildEvent::Logs {
            build_id: id.clone(),
            lines: lines(running),
        })
        .len(),
        1,
        "held until the command ends"
    );
    let events = tap.observe(crate::model::BuildEvent::PhaseFinished {
        build_id: id,
        phase: PhaseKind::Build,
        attempt: 1,
        status: Status::TimedOut,
        duration_ms: 1,
        context: PhaseContext::default(),
        at,
    });
    assert!(
        matches!(&events[..], [crate::model::BuildEvent::Diagnosis { diagnosis, .. }, crate::model::BuildEvent::PhaseFinished { .. }] if diagnosis.rule == "dockerhub-rate-limit"),
        "{events:#?}"
    );
}

#[test]
fn held_output_is_bounded_and_early_evidence_still_counts() {
    let mut d = Diagnoser::new(rules(), None);
    let mut out = Vec::new();
    d.phase_started(PhaseKind::Build);
    let start = "[Container] 2025/10/12 15:45:10.842032 Running command make";
    d.lines(&log(start, Some(PhaseKind::Build)), &mut out);
    d.lines(
        &log("/bin/sh: 1: cannot create x: No space left on device", None),
        &mut out,
    );
    let filler = log(&"compiling module\n".repeat(1000), None);
    for _ in 0..(4 * super::diagnoser::OUTPUT_CAP / 17_000) {
        d.lines(&filler, &mut out);
        assert!(d.held_bytes() <= super::diagnoser::OUTPUT_CAP + 17_000);
    }
    assert!(out.is_empty(), "the command has not ended: {out:#?}");
    let failed =
        "[Container] 2025/10/12 15:46:10.1 Command did not exit successfully make exit status 2";
    d.lines(&log(failed, Some(PhaseKind::Build)), &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].rule, "disk-full");
    assert_eq!(out[0].phase, Some(PhaseKind::Build));
}

/// One line of a build log in the shapes the diagnoser reacts to: agent lines that start and
/// end commands and phases, shell errors, BuildKit vertex lines, evidence of several rules,
/// and anything at all.
fn log_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    const AGENT: &str = "[Container] 2025/10/12 15:45:10.842032";
    prop_oneof![
        "[a-z ;|&\\[\\]-]{0,20}".prop_map(|c| format!("{AGENT} Running command {c}")),
        (0u8..200)
            .prop_map(|rc| format!("{AGENT} Command did not exit successfully x exit status {rc}")),
        "(SUCCEEDED|FAILED|TIMED_OUT)"
            .prop_map(|s| format!("{AGENT} Phase complete: BUILD State: {s}")),
        Just(format!(
            "{AGENT} Phase context status code: CLIENT_ERROR Message: no matching artifact paths found"
        )),
        "[a-z: ]{0,20}".prop_map(|e| format!("/codebuild/output/tmp/script.sh: 4: {e}")),
        Just("/codebuild/output/tmp/script.sh: 5: [[: not found".to_owned()),
        (1u8..4).prop_map(|v| format!("#{v} importing cache manifest from r/x:cache")),
        (1u8..4, "[a-z: ]{0,12}").prop_map(|(v, e)| format!("#{v} ERROR: {e}")),
        Just("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.".to_owned()),
        Just("dd: error writing '/t/f': No space left on device".to_owned()),
        Just("toomanyrequests: You have reached your pull rate limit.".to_owned()),
        "#[0-9]{0,3}.{0,30}",
        ".{0,40}",
    ]
}

proptest::proptest! {
    /// Whatever the log, no panic, each rule at most once, and the findings do not depend on
    /// how the lines are batched (the engines batch by time and count).
    #[test]
    fn any_log_in_any_batches_gives_the_same_findings(
        lines in proptest::collection::vec(log_line(), 0..60),
        batch in 2usize..20,
    ) {
        let log: Vec<LogLine> = lines
            .iter()
            .map(|t| LogLine::from_log(Some(PhaseKind::Build), t))
            .collect();
        let one_by_one = diagnose_log(rules(), &log, 1);
        let mut ids: Vec<&str> = one_by_one.iter().map(|d| d.rule.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        proptest::prop_assert_eq!(ids.len(), n, "a rule fired twice");
        proptest::prop_assert_eq!(&diagnose_log(rules(), &log, batch), &one_by_one);
        proptest::prop_assert_eq!(&diagnose_log(rules(), &log, 256), &one_by_one);
    }
}

/// The diagnoses of `log` read through the tap, as a build of `backend` (the local engine logs a
/// multi-line command's further lines as agent lines without the `[Container]` prefix).
fn through_tap(backend: crate::model::BackendKind, lines: Vec<LogLine>) -> Vec<Diagnosis> {
    let mut tap = DiagnosisTap::builtin().expect("rules");
    let id = crate::model::BuildId("p:1".into());
    let at = chrono::Utc::now();
    let mut events = tap.observe(crate::model::BuildEvent::Started {
        build_id: id.clone(),
        project: "p".into(),
        backend,
        image: "img".into(),
        docker: crate::model::DockerAccess::None,
        batch: None,
        at,
    });
    events.extend(tap.observe(crate::model::BuildEvent::Logs {
        build_id: id,
        lines,
    }));
    events
        .into_iter()
        .filter_map(|e| match e {
            crate::model::BuildEvent::Diagnosis { diagnosis, .. } => Some(diagnosis),
            _ => None,
        })
        .collect()
}

fn hidden(found: &[Diagnosis]) -> &Diagnosis {
    found
        .iter()
        .find(|d| d.rule == "hidden-failure")
        .unwrap_or_else(|| panic!("hidden-failure fired: {found:#?}"))
}

#[test]
fn a_hidden_failure_says_what_is_true_of_the_command_it_names() {
    use crate::model::BackendKind;
    let build = Some(PhaseKind::Build);
    // The command: one line, `[[` under dash inside an `if`.
    let one_line = log(
        "[Container] 2026/11/28 02:02:47.7 Running command if [[ -n \"$HOME\" ]]; then echo home; fi
/codebuild/output/tmp/script.sh: 5: [[: not found
[Container] 2026/11/28 02:02:47.8 Running command echo next",
        build,
    );
    let found = through_tap(BackendKind::Local, one_line.clone());
    let d = hidden(&found);
    assert!(!d.cause.contains("multi-line"), "{d:#?}");
    assert!(
        d.cause
            .contains("`[[` is a bash keyword, not a command of dash"),
        "{d:#?}"
    );
    assert!(d.cause.contains("false test"), "{d:#?}");
    assert!(d.fix.contains("[ -n \"$HOME\" ]"), "{d:#?}");
    // The same log from CodeBuild (shape unknown): still no claim of a multi-line block.
    let found = through_tap(BackendKind::Cloud, one_line);
    assert!(!hidden(&found).cause.contains("multi-line"), "{found:#?}");

    // Another one-line command whose failing part does not count.
    let list = log(
        "[Container] 2026/11/28 02:02:47.7 Running command npm ci; echo done
/codebuild/output/tmp/script.sh: 4: npm: not found
done
[Container] 2026/11/28 02:02:47.8 Running command echo next",
        build,
    );
    let found = through_tap(BackendKind::Local, list);
    let d = hidden(&found);
    assert!(d.cause.starts_with("This one-line command"), "{d:#?}");
    assert!(!d.cause.contains("multi-line"), "{d:#?}");

    // A real multi-line block, as the local engine logs it: the rule's own text.
    let mut block = log(
        "[Container] 2026/11/28 02:02:47.7 Running command npm ci",
        build,
    );
    block.push(LogLine {
        phase: build,
        stream: LogStream::Agent,
        text: "echo installed".into(),
    });
    block.extend(log(
        "/codebuild/output/tmp/script.sh: 4: npm: not found
installed
[Container] 2026/11/28 02:02:47.8 Running command echo next",
        build,
    ));
    let found = through_tap(BackendKind::Local, block);
    let d = hidden(&found);
    assert!(d.cause.contains("multi-line command"), "{d:#?}");
}
