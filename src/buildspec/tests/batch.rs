//! The `batch:` section: lowering of every key, the batch-mode checks of `check_batch` and
//! `batch_plan`, and the reference's three example buildspecs (§1.13, in
//! `tests/fixtures/batch/`).

use super::{assert_error, assert_no_warnings, assert_warning, ok};
use crate::buildspec::{BatchTask, Diagnostic, Parsed, Pos, batch_plan, check_batch, parse};
use crate::model::BatchKind;

const GRAPH: &str = include_str!("../../../tests/fixtures/batch/graph.yml");
const MATRIX: &str = include_str!("../../../tests/fixtures/batch/matrix.yml");
const FANOUT: &str = include_str!("../../../tests/fixtures/batch/fanout.yml");

/// Checks text in batch mode; it must be valid.
fn batch_ok(text: &str) -> Parsed {
    check_batch(text).unwrap_or_else(|d| panic!("expected a valid batch, got {d:#?}"))
}

/// Checks text in batch mode; it must be invalid.
fn batch_errs(text: &str) -> Vec<Diagnostic> {
    match check_batch(text) {
        Ok(p) => panic!("expected batch errors, got {p:#?}"),
        Err(d) => d,
    }
}

fn plan(p: &Parsed) -> Vec<BatchTask> {
    batch_plan(&p.spec).unwrap_or_else(|d| panic!("expected a plan, got {d:#?}"))
}

const PHASES: &str = "phases:\n  build:\n    commands: [echo hi]\n";

fn graph(tasks: &str) -> String {
    format!("version: 0.2\nbatch:\n  build-graph:\n{tasks}{PHASES}")
}

#[test]
fn the_reference_graph_example_lowers_every_task_key() {
    let p = batch_ok(GRAPH);
    let b = p.spec.batch.clone().expect("batch");
    assert_eq!(b.kind, Some(BatchKind::Graph));
    assert_eq!(b.kind_pos, Pos { line: 10, col: 3 });
    assert!(!b.fast_fail);
    let tasks = plan(&p);
    let ids: Vec<&str> = tasks.iter().map(|t| t.identifier.as_str()).collect();
    assert_eq!(ids, ["compile", "lint", "unit", "image", "e2e"]);
    let [compile, lint, unit, image, e2e] = &tasks[..] else {
        panic!("{tasks:#?}")
    };
    assert_eq!(compile.pos, Pos { line: 11, col: 19 });
    assert_eq!(
        compile.env.compute_type.as_deref(),
        Some("BUILD_GENERAL1_LARGE")
    );
    assert!(lint.ignore_failure && !compile.ignore_failure);
    assert_eq!(
        unit.depend_on,
        [("compile".into(), Pos { line: 18, col: 11 })]
    );
    assert_eq!(unit.env.variables, [("GOFLAGS".into(), "-count=1".into())]);
    assert_eq!(image.env.privileged_mode, Some(true));
    assert_eq!(
        image.env.image.as_deref(),
        Some("aws/codebuild/standard:7.0")
    );
    assert!(e2e.debug_session);
    let deps: Vec<&str> = e2e.depend_on.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(deps, ["unit", "image"]);
    assert!(tasks.iter().all(|t| t.buildspec.is_none()));
}

#[test]
fn the_reference_matrix_example_makes_six_builds() {
    let p = batch_ok(MATRIX);
    let b = p.spec.batch.clone().expect("batch");
    assert!(b.fast_fail);
    let m = b.matrix.clone().expect("matrix");
    assert_eq!(m.env_type.as_deref(), Some("LINUX_CONTAINER"));
    assert_eq!(m.privileged_mode, Some(false));
    assert!(!m.ignore_failure);
    assert_eq!(m.compute_types, ["BUILD_GENERAL1_SMALL"]);
    let tasks = plan(&p);
    assert_eq!(tasks.len(), 6);
    assert_eq!(tasks[0].identifier, "matrix_1");
    assert_eq!(
        tasks[5].label.as_deref(),
        Some(
            "compute-type=BUILD_GENERAL1_SMALL image=aws/codebuild/amazonlinux-x86_64-standard:5.0 NODE_MAJOR=22"
        )
    );
    assert!(
        tasks
            .iter()
            .all(|t| t.env.env_type.as_deref() == Some("LINUX_CONTAINER"))
    );
}

#[test]
fn the_reference_fanout_example_makes_four_shards() {
    let p = batch_ok(FANOUT);
    let f = p.spec.batch.clone().and_then(|b| b.fanout).expect("fanout");
    assert_eq!(f.parallelism, 4);
    assert_eq!(f.pos, Pos { line: 6, col: 18 });
    let ids: Vec<String> = plan(&p).into_iter().map(|t| t.identifier).collect();
    assert_eq!(ids, ["fanout_1", "fanout_2", "fanout_3", "fanout_4"]);
}

#[test]
fn a_cycle_is_reported_as_a_path_at_one_of_its_edges() {
    let text = graph(
        "    - identifier: a\n      depend-on: [c]\n    - identifier: b\n      depend-on: [a]\n    - identifier: c\n      depend-on: [b]\n    - identifier: d\n      depend-on: [a]\n",
    );
    let d = batch_errs(&text);
    // The search enters at `a`, follows a -> c -> b and closes the cycle at b's `depend-on: [a]`.
    assert_error(&d, 7, 19, "`depend-on` makes a cycle: a -> c -> b -> a");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].hint.as_deref().unwrap_or_default().contains("remove"));
    assert_eq!(
        batch_plan(&parse(&text).expect("plain parse").spec)
            .expect_err("a cycle has no plan")
            .len(),
        1
    );
}

#[test]
fn two_cycles_are_two_errors_and_a_self_dependency_is_its_own() {
    let text = graph(
        "    - identifier: a\n      depend-on: [b]\n    - identifier: b\n      depend-on: [a]\n    - identifier: c\n      depend-on: [c, d]\n    - identifier: d\n      depend-on: [c]\n",
    );
    let d = batch_errs(&text);
    assert_error(&d, 7, 19, "a -> b -> a");
    assert_error(&d, 9, 19, "task `c` depends on itself");
    assert_error(&d, 11, 19, "c -> d -> c");
    assert_eq!(d.len(), 3, "{d:#?}");
}

#[test]
fn bad_identifiers_are_refused_with_a_fixed_name() {
    let long = "x".repeat(128);
    let text = graph(&format!(
        "    - identifier: my-task\n    - identifier: {long}\n    - identifier: ok_{}\n    - buildspec: b.yml\n",
        "y".repeat(124)
    ));
    let d = batch_errs(&text);
    assert_error(&d, 4, 19, "invalid identifier `my-task`");
    let hint = d[0].hint.clone().unwrap_or_default();
    assert!(hint.contains("`my_task`"), "{hint}");
    assert_error(&d, 5, 19, "it is 128 characters long, the limit is 127");
    assert_error(&d, 7, 7, "this task has no `identifier`");
    assert_eq!(d.len(), 3, "127 characters are fine: {d:#?}");
}

#[test]
fn a_duplicate_identifier_names_both_positions() {
    let d = batch_errs(&graph(
        "    - identifier: build\n    - identifier: test\n    - identifier: build\n",
    ));
    assert_error(
        &d,
        6,
        19,
        "duplicate identifier `build`: line 4, column 19 names a task `build` too",
    );
    assert_eq!(d.len(), 1, "{d:#?}");
}

#[test]
fn depend_on_names_must_exist() {
    let d = batch_errs(&graph(
        "    - identifier: compile\n    - identifier: unit\n      depend-on:\n        - compil\n        - zzz\n",
    ));
    assert_error(&d, 7, 11, "`depend-on` names `compil`, which is no task");
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `compile`?"));
    assert_error(&d, 8, 11, "`zzz`");
    assert_eq!(
        d[1].hint.as_deref(),
        Some("the tasks of this graph are: compile, unit")
    );
}

#[test]
fn depend_on_in_a_list_is_a_warning_and_ignored() {
    let p = batch_ok(&format!(
        "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n    - identifier: b\n      depend-on: [a]\n{PHASES}"
    ));
    assert_warning(&p, 6, 7, "`depend-on` is ignored in a `build-list`");
    assert!(plan(&p).iter().all(|t| t.depend_on.is_empty()));
}

#[test]
fn a_scalar_is_a_one_value_axis() {
    let p = batch_ok(&format!(
        "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      buildspec: ci/a.yml\n      env:\n        compute-type: BUILD_GENERAL1_MEDIUM\n        image: img:1\n        variables:\n          NODE: 20\n          OS: [linux, mac]\n{PHASES}"
    ));
    let m = p.spec.batch.clone().and_then(|b| b.matrix).expect("matrix");
    assert_eq!(
        m.buildspecs,
        [("ci/a.yml".into(), Pos { line: 5, col: 18 })]
    );
    assert_eq!(m.compute_types, ["BUILD_GENERAL1_MEDIUM"]);
    assert_eq!(m.images, ["img:1"]);
    assert_eq!(
        m.variables,
        [
            ("NODE".into(), vec!["20".into()]),
            ("OS".into(), vec!["linux".into(), "mac".into()])
        ]
    );
    let tasks = plan(&p);
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1].buildspec.as_deref(), Some("ci/a.yml"));
    assert_eq!(tasks[1].buildspec_pos, Pos { line: 5, col: 18 });
}

#[test]
fn static_env_keys_codebuild_does_not_apply_are_warned_and_left_out() {
    let p = batch_ok(&format!(
        "version: 0.2\nbatch:\n  build-matrix:\n    static:\n      env:\n        image: img:static\n        compute-type: BUILD_GENERAL1_LARGE\n        variables:\n          A: b\n        privileged_mode: true\n        privileged-mode: true\n    dynamic:\n      env:\n        image: [img:1]\n{PHASES}"
    ));
    assert_warning(
        &p,
        6,
        9,
        "`static.env.image` is not applied by CodeBuild: only `privileged-mode` and `type` are",
    );
    assert_warning(&p, 7, 9, "`static.env.compute-type` is not applied");
    assert_warning(&p, 8, 9, "`static.env.variables` is not applied");
    assert_warning(&p, 10, 9, "unknown key `privileged_mode`");
    let hint = p
        .warnings
        .iter()
        .find(|d| d.line == 10)
        .and_then(|d| d.hint.clone());
    assert_eq!(hint.as_deref(), Some("did you mean `privileged-mode`?"));
    let tasks = plan(&p);
    assert_eq!(tasks[0].env.image.as_deref(), Some("img:1"));
    assert_eq!(tasks[0].env.privileged_mode, Some(true));
    assert!(tasks[0].env.variables.is_empty() && tasks[0].env.compute_type.is_none());
}

#[test]
fn a_string_version_warns_in_parse_and_fails_a_batch_run() {
    let text = format!("version: \"0.2\"\nbatch:\n  build-fanout:\n    parallelism: 2\n{PHASES}");
    let p = ok(&text);
    assert_warning(
        &p,
        1,
        10,
        "`version` is a string: CodeBuild's batch runs reject it",
    );
    let d = batch_errs(&text);
    assert_error(&d, 1, 10, "cannot unmarshal !!str `0.2` into float64");
    assert_eq!(d.len(), 1, "the warning became the error: {d:#?}");
    assert_eq!(
        d[0].hint.as_deref(),
        Some(super::super::batch_check::VERSION_STRING_HINT)
    );
    // Without a batch section a string version is fine, as for CodeBuild's single builds.
    assert_no_warnings(&ok(&format!("version: '0.2'\n{PHASES}")));
    assert_no_warnings(&batch_ok(&format!("version: '0.2'\n{PHASES}")));
}

#[test]
fn compute_type_and_fleet_exclude_each_other() {
    let d = batch_errs(&graph(
        "    - identifier: a\n      env:\n        compute-type: BUILD_GENERAL1_SMALL\n        fleet: my-fleet\n",
    ));
    assert_error(
        &d,
        4,
        19,
        "task `a` sets both `env.compute-type` and `env.fleet`",
    );
}

#[test]
fn a_batch_without_builds_is_an_error() {
    let cases = [
        (
            "batch:\n  fast-fail: true\n",
            2,
            1,
            "`batch` names no build type",
        ),
        (
            "batch:\n  build-list: []\n",
            3,
            3,
            "`build-list` has no task",
        ),
        (
            "batch:\n  build-graph:\n",
            3,
            3,
            "`build-graph` has no task",
        ),
        (
            "batch:\n  build-matrix:\n    static:\n      ignore-failure: true\n",
            3,
            3,
            "`build-matrix` has no `dynamic` values",
        ),
        (
            "batch:\n  build-fanout: {}\n",
            3,
            3,
            "`parallelism` above 0",
        ),
        (
            "batch:\n  build-fanout:\n    parallelism: 0\n",
            4,
            18,
            "`parallelism` above 0",
        ),
        (
            "batch:\n  build-fanout:\n    parallelism: -3\n",
            4,
            18,
            "`parallelism` above 0",
        ),
        (
            "batch:\n  build-fanout:\n    parallelism: 5000\n",
            4,
            18,
            "this batch makes 5000 builds; cbdash runs at most 1000",
        ),
    ];
    for (section, line, col, needle) in cases {
        let text = format!("version: 0.2\n{section}{PHASES}");
        let d = batch_errs(&text);
        assert_error(&d, line, col, needle);
        // A plain build of the same file runs its phases.
        ok(&text);
    }
}

#[test]
fn a_parallelism_that_is_not_a_number_is_a_type_error() {
    let d = super::errs(&format!(
        "version: 0.2\nbatch:\n  build-fanout:\n    parallelism: many\n{PHASES}"
    ));
    assert_error(&d, 4, 18, "`parallelism` must be a whole number above 0");
}

#[test]
fn a_batch_only_file_needs_a_buildspec_for_every_task() {
    let ok_text = "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      buildspec: a.yml\n    - identifier: b\n      buildspec: b.yml\n";
    let p = batch_ok(ok_text);
    let tasks = plan(&p);
    assert_eq!(tasks[1].buildspec_pos, Pos { line: 7, col: 18 });
    let d = batch_errs(
        "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      buildspec: a.yml\n    - identifier: b\n",
    );
    assert_error(
        &d,
        6,
        19,
        "task `b` runs this file's phases, but the file has no `phases`",
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    let d = batch_errs("version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 2\n");
    assert_error(&d, 3, 3, "fanout builds run this file's phases");
    let d = batch_errs(
        "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      env:\n        image: [a, b]\n",
    );
    assert_error(&d, 3, 3, "the matrix builds run this file's phases");
    batch_ok(
        "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      buildspec: [a.yml, b.yml]\n",
    );
}

#[test]
fn unknown_task_keys_get_did_you_mean() {
    let p = batch_ok(&graph(
        "    - identifier: a\n      depends-on: [b]\n      env:\n        imgae: x\n    - identifier: b\n",
    ));
    assert_warning(&p, 5, 7, "unknown key `depends-on` in `build-graph task`");
    assert_warning(&p, 7, 9, "unknown key `imgae` in `build-graph task.env`");
    let hints: Vec<String> = p.warnings.iter().filter_map(|d| d.hint.clone()).collect();
    assert!(
        hints.contains(&"did you mean `depend-on`?".to_owned()),
        "{hints:?}"
    );
    assert!(
        hints.contains(&"did you mean `image`?".to_owned()),
        "{hints:?}"
    );
}

#[test]
fn task_values_of_the_wrong_type_are_errors_at_their_token() {
    let d = super::errs(&graph(
        "    - identifier: a\n      env:\n        variables: [X]\n        privileged-mode: maybe\n      depend-on: {x: 1}\n",
    ));
    assert_error(&d, 6, 20, "`env.variables` must be a mapping");
    assert_error(&d, 7, 26, "`env.privileged-mode` must be yes or no");
    assert_error(&d, 8, 18, "`depend-on` must be a list of names");
    let d = super::errs("version: 0.2\nbatch:\n  build-graph:\n    a: 1\n");
    assert_error(&d, 4, 5, "`build-graph` must be a list of tasks");
}

#[test]
fn batch_mode_errors_do_not_stop_a_plain_build() {
    // A plain StartBuild runs the phases and ignores `batch` (reference §1.1 [INF]): `parse`
    // accepts the file, only batch mode refuses it.
    let text = graph("    - identifier: a\n      depend-on: [a]\n");
    assert!(parse(&text).is_ok());
    assert_error(&batch_errs(&text), 5, 19, "depends on itself");
    let no_batch = ok(PHASES.replace("phases", "version: 0.2\nphases").as_str());
    let d = batch_plan(&no_batch.spec).expect_err("no batch, no plan");
    assert!(d[0].message.contains("no `batch` section"), "{d:?}");
}
