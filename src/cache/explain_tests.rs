//! The explainer, one test per kind of reason.

use super::*;
use crate::model::Builder;

fn step(index: u32, instruction: &str, state: StepState) -> CacheStep {
    CacheStep {
        index,
        stage: None,
        instruction: instruction.into(),
        cached: state == StepState::Cached,
        state,
        duration_ms: Some(100),
        platform: None,
        invalidated_by: None,
    }
}

fn report(steps: Vec<CacheStep>) -> CacheReport {
    let mut r = CacheReport::new(0, Builder::Buildkit);
    r.steps = steps;
    r.finished = true;
    r
}

const DOCKERFILE: [&str; 5] = [
    "FROM busybox",
    "ARG V",
    "ENV MODE=fast",
    "COPY src /src",
    "RUN make",
];

fn inputs(instructions: &[&str], args: &[(&str, &str)]) -> BuildInputs {
    BuildInputs {
        dockerfile: "Dockerfile".into(),
        instructions: instructions.iter().map(|s| (*s).to_owned()).collect(),
        build_args: args
            .iter()
            .map(|(n, v)| {
                (
                    (*n).to_owned(),
                    ArgValue {
                        raw: (*v).to_owned(),
                        value: Some((*v).to_owned()),
                    },
                )
            })
            .collect(),
        base_images: vec!["busybox@sha256:aa".into()],
        cache_import_failed: false,
    }
}

fn hashes(pairs: &[(&str, &str)]) -> FileHashes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The previous build: every step built.
fn before() -> CacheReport {
    report(vec![
        step(2, "COPY src /src", StepState::Built),
        step(3, "RUN make", StepState::Built),
    ])
}

/// Now: the RUN missed after the COPY hit.
fn run_missed() -> CacheReport {
    report(vec![
        step(2, "COPY src /src", StepState::Cached),
        step(3, "RUN make", StepState::Built),
    ])
}

fn copy_missed() -> CacheReport {
    report(vec![
        step(2, "COPY src /src", StepState::Built),
        step(3, "RUN make", StepState::Built),
    ])
}

#[test]
fn no_miss_no_reason() {
    let r = report(vec![step(2, "COPY src /src", StepState::Cached)]);
    let i = inputs(&DOCKERFILE, &[]);
    assert_eq!(explain(&r, &i, None, Files::NotACopy), None);
}

#[test]
fn no_previous_build() {
    let i = inputs(&DOCKERFILE, &[]);
    let got = explain(&copy_missed(), &i, None, Files::Unknown).expect("a reason");
    assert_eq!(got.kind, MissKind::NoPreviousBuild);
}

#[test]
fn files_changed_names_them_and_counts_beyond_fifty() {
    let i = inputs(&DOCKERFILE, &[]);
    let prev = before();
    let previous = Previous {
        report: &prev,
        inputs: &i,
    };
    let old = hashes(&[("src/a.c", "1"), ("src/b.c", "2"), ("src/gone.c", "3")]);
    let now = hashes(&[("src/a.c", "1"), ("src/b.c", "9"), ("src/new.c", "4")]);
    let got = explain(
        &copy_missed(),
        &i,
        Some(previous),
        Files::Hashes {
            current: &now,
            previous: Some(&old),
        },
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::FilesChanged);
    assert_eq!(got.files, ["src/b.c", "src/gone.c", "src/new.c"]);
    assert_eq!(got.files_more, 0);

    let many: Vec<String> = (0..60).map(|n| format!("f{n:02}")).collect();
    let got = explain(&copy_missed(), &i, Some(previous), Files::Changed(&many)).expect("reason");
    assert_eq!(got.files.len(), MAX_FILES);
    assert_eq!(got.files_more, 10);
}

#[test]
fn instruction_changed_gives_both_texts() {
    let i = inputs(&DOCKERFILE, &[]);
    let prev = before();
    let mut now = run_missed();
    now.steps[1].instruction = "RUN make -j2".into();
    let got = explain(
        &now,
        &i,
        Some(Previous {
            report: &prev,
            inputs: &i,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::InstructionChanged);
    assert_eq!(got.previous.as_deref(), Some("RUN make"));
    assert_eq!(got.current.as_deref(), Some("RUN make -j2"));
}

#[test]
fn a_build_arg_the_step_declares() {
    let old = inputs(&DOCKERFILE, &[("V", "1")]);
    let now = inputs(&DOCKERFILE, &[("V", "2")]);
    let prev = before();
    let got = explain(
        &run_missed(),
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::BuildArgChanged);
    assert_eq!(got.detail.as_deref(), Some("--build-arg V"));
    assert_eq!(
        (got.previous.as_deref(), got.current.as_deref()),
        (Some("1"), Some("2"))
    );
}

#[test]
fn an_unresolved_build_arg_is_not_a_guess() {
    let mut old = inputs(&DOCKERFILE, &[("V", "$V")]);
    let mut now = old.clone();
    for i in [&mut old, &mut now] {
        i.build_args.get_mut("V").expect("V").value = None;
    }
    let prev = before();
    let got = explain(
        &run_missed(),
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::Unknown);
    assert!(got.detail.expect("detail").contains("--build-arg"));
}

#[test]
fn env_changed_names_the_variable() {
    let old = inputs(&DOCKERFILE, &[]);
    let mut lines = DOCKERFILE;
    lines[2] = "ENV MODE=slow";
    let now = inputs(&lines, &[]);
    let prev = before();
    let got = explain(
        &run_missed(),
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::EnvChanged);
    assert_eq!(got.detail.as_deref(), Some("ENV MODE"));
    assert_eq!(got.current.as_deref(), Some("slow"));
}

#[test]
fn base_image_changed_when_nothing_before_hit() {
    let old = inputs(&DOCKERFILE, &[]);
    let mut now = old.clone();
    now.base_images = vec!["busybox@sha256:bb".into()];
    let prev = before();
    let same = hashes(&[("src/a.c", "1")]);
    let got = explain(
        &copy_missed(),
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::Hashes {
            current: &same,
            previous: Some(&same),
        },
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::BaseImageChanged);
    assert_eq!(got.previous.as_deref(), Some("busybox@sha256:aa"));
    assert_eq!(got.current.as_deref(), Some("busybox@sha256:bb"));
}

#[test]
fn cache_import_failed() {
    let old = inputs(&DOCKERFILE, &[]);
    let mut now = old.clone();
    now.cache_import_failed = true;
    let prev = before();
    let got = explain(
        &run_missed(),
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::CacheImportFailed);
    let got = explain(&run_missed(), &now, None, Files::NotACopy).expect("a reason");
    assert_eq!(got.kind, MissKind::CacheImportFailed);
}

#[test]
fn cache_pruned_when_every_input_is_the_same() {
    let i = inputs(&DOCKERFILE, &[("V", "1")]);
    let prev = report(vec![
        step(2, "COPY src /src", StepState::Cached),
        step(3, "RUN make", StepState::Cached),
    ]);
    let same = hashes(&[("src/a.c", "1")]);
    let got = explain(
        &copy_missed(),
        &i,
        Some(Previous {
            report: &prev,
            inputs: &i,
        }),
        Files::Hashes {
            current: &same,
            previous: Some(&same),
        },
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::CachePruned);
}

#[test]
fn unknown_says_what_was_not_known() {
    let i = inputs(&DOCKERFILE, &[]);
    let prev = before();
    let now = hashes(&[("src/a.c", "1")]);
    let got = explain(
        &copy_missed(),
        &i,
        Some(Previous {
            report: &prev,
            inputs: &i,
        }),
        Files::Hashes {
            current: &now,
            previous: None,
        },
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::Unknown);
    assert_eq!(
        got.detail.as_deref(),
        Some("not known: the files copied last time")
    );
}

#[test]
fn buildkit_prints_build_args_substituted_in_the_step() {
    let lines = ["FROM busybox", "ARG V", "RUN echo $V"];
    let old = inputs(&lines, &[("V", "1")]);
    let now = inputs(&lines, &[("V", "2")]);
    let prev = report(vec![step(2, "RUN echo 1", StepState::Built)]);
    let cur = report(vec![step(2, "RUN echo 2", StepState::Built)]);
    let got = explain(
        &cur,
        &now,
        Some(Previous {
            report: &prev,
            inputs: &old,
        }),
        Files::NotACopy,
    )
    .expect("a reason");
    assert_eq!(got.kind, MissKind::BuildArgChanged, "{got:?}");
    assert_eq!(got.detail.as_deref(), Some("--build-arg V"));
}
