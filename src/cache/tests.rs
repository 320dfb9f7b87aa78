//! The analyzer on real `docker build` output captured from docker 20.10 (BuildKit
//! `--progress=plain` and the legacy builder): tests/fixtures/docker-build/.

use super::*;
use crate::model::{Builder, CacheReport, StepState};

fn fixture(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/docker-build/");
    // Fixtures are compiled in so the module itself stays free of IO.
    let all: &[(&str, &str)] = &[
        (
            "bk-first",
            include_str!("../../tests/fixtures/docker-build/bk-first.log"),
        ),
        (
            "bk-cached",
            include_str!("../../tests/fixtures/docker-build/bk-cached.log"),
        ),
        (
            "bk-middle-miss",
            include_str!("../../tests/fixtures/docker-build/bk-middle-miss.log"),
        ),
        (
            "bk-fail",
            include_str!("../../tests/fixtures/docker-build/bk-fail.log"),
        ),
        (
            "bk-multi",
            include_str!("../../tests/fixtures/docker-build/bk-multi.log"),
        ),
        (
            "bk-multi-platform",
            include_str!("../../tests/fixtures/docker-build/bk-multi-platform.log"),
        ),
        (
            "legacy-first",
            include_str!("../../tests/fixtures/docker-build/legacy-first.log"),
        ),
        (
            "legacy-cached",
            include_str!("../../tests/fixtures/docker-build/legacy-cached.log"),
        ),
        (
            "legacy-middle-miss",
            include_str!("../../tests/fixtures/docker-build/legacy-middle-miss.log"),
        ),
        (
            "legacy-fail",
            include_str!("../../tests/fixtures/docker-build/legacy-fail.log"),
        ),
        (
            "legacy-multi",
            include_str!("../../tests/fixtures/docker-build/legacy-multi.log"),
        ),
        (
            "two-builds",
            include_str!("../../tests/fixtures/docker-build/two-builds.log"),
        ),
    ];
    let found = all.iter().find(|(n, _)| *n == name);
    found.map_or_else(
        || panic!("no fixture {name} in {path}"),
        |(_, t)| (*t).to_owned(),
    )
}

/// Feeds a whole log; returns (every update, the finished reports).
fn analyze(text: &str) -> (Vec<CacheReport>, Vec<CacheReport>) {
    let mut a = Analyzer::new();
    let mut all = Vec::new();
    for line in text.lines() {
        all.extend(a.feed(line));
    }
    all.extend(a.finish());
    let done = all.iter().filter(|r| r.finished).cloned().collect();
    (all, done)
}

fn only(name: &str) -> CacheReport {
    let (_, mut done) = analyze(&fixture(name));
    assert_eq!(done.len(), 1, "{name}: {done:#?}");
    done.remove(0)
}

fn summary(r: &CacheReport) -> String {
    serde_json::to_string_pretty(r).expect("serialize")
}

#[test]
fn buildkit_first_run_misses_everything() {
    let r = only("bk-first");
    assert_eq!(r.builder, Builder::Buildkit);
    assert_eq!((r.steps_total, r.steps_cached), (4, 0));
    assert_eq!(r.image.as_deref(), Some("cbdashfx18102/simple:bk"));
    let miss = r.first_miss.as_ref().expect("a first miss");
    assert_eq!(
        (miss.step, miss.instruction.as_str()),
        (2, "COPY a.txt /a.txt")
    );
    let durations: Vec<_> = r.steps.iter().map(|s| s.duration_ms).collect();
    assert_eq!(durations, [Some(200), Some(300), Some(100), Some(400)]);
    let invalidated: Vec<_> = r.steps.iter().map(|s| s.invalidated_by).collect();
    assert_eq!(invalidated, [None, Some(2), Some(2), Some(2)]);
    insta::assert_snapshot!(summary(&r));
}

#[test]
fn buildkit_second_run_is_fully_cached() {
    let r = only("bk-cached");
    assert_eq!((r.steps_total, r.steps_cached), (4, 4));
    assert_eq!(r.first_miss, None);
    assert_eq!(r.hit_ratio(), Some(1.0));
    insta::assert_snapshot!(summary(&r));
}

#[test]
fn buildkit_middle_miss_invalidates_the_rest() {
    let r = only("bk-middle-miss");
    assert_eq!((r.steps_total, r.steps_cached), (4, 2));
    let miss = r.first_miss.as_ref().expect("a first miss");
    assert_eq!(
        (miss.step, miss.instruction.as_str()),
        (4, "COPY b.txt /b.txt")
    );
    assert_eq!(r.steps[3].invalidated_by, Some(4));
    insta::assert_snapshot!(summary(&r));
}

#[test]
fn buildkit_failing_step_ends_the_build() {
    let r = only("bk-fail");
    assert!(r.finished);
    assert_eq!(r.steps[1].state, StepState::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some("executor failed running [/bin/sh -c echo failing now && exit 3]: exit code: 3")
    );
    assert_eq!(r.first_miss.as_ref().map(|m| m.step), Some(2));
    insta::assert_snapshot!(summary(&r));
}

#[test]
fn buildkit_multi_stage_with_interleaved_vertices() {
    let r = only("bk-multi");
    // builder 2,3; other 2; stage-2 2,3,4: FROM vertices are not counted, and vertex #5
    // (interrupted by `#5 ...` and printed twice) is one step.
    assert_eq!(r.steps_total, 6);
    let stages: Vec<_> = r.steps.iter().map(|s| s.stage.as_deref()).collect();
    assert_eq!(
        stages,
        [
            Some("builder"),
            Some("other"),
            Some("builder"),
            Some("stage-2"),
            Some("stage-2"),
            Some("stage-2")
        ]
    );
    // Invalidation stays within a stage.
    assert_eq!(r.steps[1].invalidated_by, None);
    assert_eq!(r.steps[2].invalidated_by, Some(2));
    insta::assert_snapshot!(summary(&r));
}

/// `docker buildx build --platform linux/amd64,linux/arm64 --progress=plain`: each platform
/// builds its own steps (`[linux/arm64 2/3] ...`), and a miss on one platform invalidates
/// only that platform's later steps.
#[test]
fn buildkit_multi_platform_steps_carry_their_platform() {
    let r = only("bk-multi-platform");
    assert_eq!((r.steps_total, r.steps_cached), (4, 2));
    let steps: Vec<_> = r
        .steps
        .iter()
        .map(|s| (s.platform.as_deref(), s.index, s.cached, s.duration_ms))
        .collect();
    assert_eq!(
        steps,
        [
            (Some("linux/amd64"), 2, true, None),
            (Some("linux/arm64"), 2, true, None),
            (Some("linux/arm64"), 3, false, Some(400)),
            (Some("linux/amd64"), 3, false, Some(200)),
        ]
    );
    assert!(
        r.steps
            .iter()
            .all(|s| s.stage.is_none() && s.invalidated_by.is_none())
    );
    assert_eq!(r.image.as_deref(), Some("app:multi"));
    let first = r.first_miss.as_ref().expect("a miss");
    assert_eq!(first.instruction, "RUN chmod +x /app.sh && /app.sh");
    // NDJSON names each step's platform.
    let line = r.to_ndjson(&crate::model::BuildId("p:u".into()));
    assert_eq!(line["steps"][2]["platform"], "linux/arm64");
}

#[test]
fn legacy_first_cached_and_middle_miss() {
    let first = only("legacy-first");
    assert_eq!(first.builder, Builder::Legacy);
    assert_eq!((first.steps_total, first.steps_cached), (4, 0));
    assert_eq!(first.image.as_deref(), Some("cbdashfx18102/simple:legacy"));
    let cached = only("legacy-cached");
    assert_eq!((cached.steps_total, cached.steps_cached), (4, 4));
    let miss = only("legacy-middle-miss");
    assert_eq!((miss.steps_total, miss.steps_cached), (4, 2));
    let m = miss.first_miss.as_ref().expect("a first miss");
    assert_eq!((m.step, m.instruction.as_str()), (4, "COPY b.txt /b.txt"));
    insta::assert_snapshot!(summary(&miss));
}

#[test]
fn legacy_failure_and_multi_stage() {
    let fail = only("legacy-fail");
    assert_eq!(fail.steps.last().map(|s| s.state), Some(StepState::Failed));
    assert!(
        fail.error
            .as_deref()
            .is_some_and(|e| e.contains("non-zero code: 3"))
    );
    insta::assert_snapshot!(summary(&fail));
    let multi = only("legacy-multi");
    assert_eq!(multi.steps_total, 6);
    let stages: Vec<_> = multi.steps.iter().map(|s| s.stage.as_deref()).collect();
    assert_eq!(
        stages,
        [
            Some("builder"),
            Some("builder"),
            Some("other"),
            None,
            None,
            None
        ]
    );
    assert_eq!(multi.steps[2].invalidated_by, None);
}

#[test]
fn two_builds_in_one_log() {
    let (_, done) = analyze(&fixture("two-builds"));
    assert_eq!(done.len(), 2);
    assert_eq!(
        (done[0].docker_build, done[0].builder),
        (0, Builder::Buildkit)
    );
    assert_eq!(
        (done[1].docker_build, done[1].builder),
        (1, Builder::Legacy)
    );
    assert_eq!(done[0].steps_cached, 2);
    assert_eq!(done[1].steps_cached, 4);
    assert_eq!(
        done[1].image.as_deref(),
        Some("cbdashfx18102/simple:legacy")
    );
}

#[test]
fn live_updates_precede_the_final_report() {
    let (all, _) = analyze(&fixture("bk-middle-miss"));
    let live: Vec<_> = all.iter().filter(|r| !r.finished).collect();
    assert!(
        live.len() >= 8,
        "one update per step start and verdict: {}",
        live.len()
    );
    assert!(all.last().is_some_and(|r| r.finished));
    // Totals only grow while the build runs.
    assert!(
        live.windows(2)
            .all(|w| w[0].steps_total <= w[1].steps_total)
    );
}

#[test]
fn image_from_the_command_line_when_no_tag_is_printed() {
    let mut a = Analyzer::new();
    a.feed("[Container] 2026/11/27 Running command docker build -t app:7 .");
    a.feed("#4 [2/2] RUN true");
    a.feed("#4 CACHED");
    let done = a.finish();
    assert_eq!(done[0].image.as_deref(), Some("app:7"));
}

#[test]
fn legacy_durations_come_from_line_times() {
    let mut a = Analyzer::new();
    for (t, line) in [
        (0, "Step 1/2 : FROM x"),
        (10, " ---> abc"),
        (20, "Step 2/2 : RUN make"),
        (25, " ---> Running in 123"),
        (1520, " ---> def"),
        (1530, "Successfully built def"),
    ] {
        a.feed_at(line, t);
    }
    let done = a.finish();
    assert_eq!(done[0].steps[0].duration_ms, Some(1500));
}

#[test]
fn garbage_never_panics_and_reports_nothing() {
    let mut a = Analyzer::new();
    for line in [
        "#",
        "#1",
        "#1 ",
        "#99999999999 DONE",
        "#1 [",
        "#1 [a/b] x",
        "Step x",
        " ---> ",
        "\x1b[",
        "\x1b[9",
    ] {
        let _ = a.feed(line);
    }
    assert!(a.finish().iter().all(|r| r.steps.is_empty()));
}

#[test]
fn time_saved_sums_known_durations() {
    let r = only("bk-cached");
    let saved = time_saved(&r, |i| (i == "COPY a.txt /a.txt").then_some(200));
    assert_eq!(saved.total_ms, 200);
    assert_eq!(saved.steps, [(2, 200)]);
    assert_eq!(saved.unknown, 3);
}

proptest::proptest! {
    #[test]
    fn any_input_is_safe(lines in proptest::collection::vec(".{0,40}", 0..40)) {
        let mut a = Analyzer::new();
        for l in &lines {
            for r in a.feed(l) {
                proptest::prop_assert!(r.steps_cached <= r.steps_total);
            }
        }
        let _ = a.finish();
    }
}

/// One line in the grammar of `docker build` output (BuildKit and legacy), with small
/// numbers so that vertices, steps and stages collide often.
fn docker_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let n = 1u32..6;
    prop_oneof![
        (
            n.clone(),
            n.clone(),
            n.clone(),
            "(RUN|COPY|FROM|ADD) [a-z ./]{0,12}"
        )
            .prop_map(|(v, i, t, ins)| format!("#{v} [{i}/{t}] {ins}")),
        (
            n.clone(),
            n.clone(),
            "(builder|app|stage-[0-9])",
            "(RUN|COPY) [a-z]{0,6}"
        )
            .prop_map(|(v, i, s, ins)| format!("#{v} [{s} {i}/5] {ins}")),
        n.clone().prop_map(|v| format!("#{v} CACHED")),
        (n.clone(), 0u32..99).prop_map(|(v, d)| format!("#{v} DONE 0.{d}s")),
        (n.clone(), "[a-z ]{0,20}").prop_map(|(v, e)| format!("#{v} ERROR: {e}")),
        (n.clone(), "[a-z ]{0,20}").prop_map(|(v, t)| format!("#{v} {t}")),
        (n.clone(), n.clone(), "(RUN|COPY|FROM) [a-z]{0,8}")
            .prop_map(|(i, t, ins)| format!("Step {i}/{t} : {ins}")),
        Just(" ---> Using cache".to_owned()),
        Just(" ---> Running in 0123456789ab".to_owned()),
        Just("Successfully built 0123456789ab".to_owned()),
        Just("Successfully tagged app:latest".to_owned()),
        "(#[0-9] )?writing image sha256:[0-9a-f]{0,8}( done)?",
        "naming to [a-z./:]{0,16}( done)?",
        "\\[Container\\] 2025/01/01 00:00:00.000000 Running command docker build -t [a-z:]{1,8} \\.",
        ".{0,30}",
    ]
}

proptest::proptest! {
    #[test]
    fn docker_like_logs_give_consistent_reports(
        lines in proptest::collection::vec(docker_line(), 0..60),
    ) {
        let mut a = Analyzer::new();
        let mut reports = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            reports.extend(a.feed_at(l, u64::try_from(i).unwrap_or(0) * 10));
        }
        reports.extend(a.finish());
        for r in &reports {
            proptest::prop_assert!(r.steps_cached <= r.steps_total, "{r:?}");
            proptest::prop_assert!(r.hit_ratio().is_none_or(|h| (0.0..=1.0).contains(&h)));
            // A first miss means not every step came from the cache.
            proptest::prop_assert!(r.first_miss.is_none() || r.steps_cached < r.steps_total, "{r:?}");
        }
    }
}

/// A failed `--cache-from` import is no build error: BuildKit goes on, so the report does too
/// (one report, not two), and it says the import failed; the FROM's vertex digest is kept.
#[test]
fn a_failed_cache_import_is_noted_and_the_build_goes_on() {
    let mut a = Analyzer::new();
    let mut finished = Vec::new();
    for line in [
        "#1 [internal] load build definition from Dockerfile",
        "#1 DONE 0.0s",
        "#6 importing cache manifest from 127.0.0.1:59515/missing:cache",
        "#6 ERROR: 127.0.0.1:59515/missing:cache: not found",
        "#4 [1/2] FROM docker.io/cbdash-test/base:2",
        "#4 sha256:e8b9ba70",
        "#5 [2/2] RUN echo hi",
        "#5 DONE 0.1s",
        "#7 exporting to image",
        "#7 DONE 0.1s",
    ] {
        finished.extend(a.feed(line).into_iter().filter(|r| r.finished));
    }
    finished.extend(a.finish());
    assert_eq!(finished.len(), 1, "{finished:?}");
    let r = &finished[0];
    assert_eq!(r.error, None);
    assert_eq!(r.steps_total, 1);
    assert!(r.inputs.cache_import_failed);
    assert_eq!(
        r.inputs.base_images,
        ["docker.io/cbdash-test/base:2@vertex-sha256:e8b9ba70"]
    );
}
