//! The cache report and its advice on histories recorded in a real SQLite file: every
//! advice rule on a history of its own example Dockerfile, written through the store as a
//! build writes it, read back by `cache_queries`.

use chrono::{TimeZone, Utc};

use super::*;
use crate::cache::{AdviceInput, AdviceRules, CacheOverview, FIRST_MISS_OFTEN, printed_steps};
use crate::model::{
    BackendKind, Builder, CacheReport, CacheStep, FirstMiss, MissKind, MissReason, Status,
    StepState,
};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("h.sqlite")).expect("open");
    (dir, store)
}

/// A finished report of `steps` where the steps from `first_miss` on ran (each taking
/// `ms` milliseconds) and the ones before it came from the cache.
fn report(image: &str, steps: &[String], first_miss: usize, ms: u64) -> CacheReport {
    let mut r = CacheReport::new(0, Builder::Buildkit);
    r.image = Some(image.to_owned());
    r.finished = true;
    for (i, text) in steps.iter().enumerate() {
        let cached = i < first_miss;
        r.steps.push(CacheStep {
            index: u32::try_from(i + 2).expect("small"),
            stage: None,
            platform: None,
            instruction: text.clone(),
            cached,
            state: if cached {
                StepState::Cached
            } else {
                StepState::Built
            },
            duration_ms: Some(if cached { 0 } else { ms }),
            invalidated_by: None,
        });
    }
    r.steps_total = u32::try_from(steps.len()).expect("small");
    r.steps_cached = u32::try_from(first_miss.min(steps.len())).expect("small");
    r.first_miss = steps.get(first_miss).map(|s| FirstMiss {
        step: u32::try_from(first_miss + 2).expect("small"),
        instruction: s.clone(),
        reason: Some(MissReason {
            files: vec!["src/app.js".into()],
            ..MissReason::bare(MissKind::FilesChanged)
        }),
    });
    r
}

/// Records one run of project `p` holding `report`, `n` minutes into the day.
fn record(store: &mut Store, p: &str, n: i64, report: &CacheReport) {
    let id = format!("{p}:{n:08}-0000-0000-0000-000000000000");
    let at = Utc
        .timestamp_opt(1_800_000_000 + n * 60, 0)
        .single()
        .expect("time");
    store
        .begin_run(&NewRun {
            build_id: &id,
            project: p,
            backend: BackendKind::Local,
            image: "img",
            docker: crate::model::DockerAccess::default(),
            batch: None,
            started_at: at,
        })
        .expect("begin");
    store.save_cache_report(&id, report).expect("cache report");
    store
        .finish_run(&id, Status::Succeeded, 1000, at)
        .expect("finish");
}

/// The report of the only Dockerfile of project `p`.
fn overview(store: &Store, p: &str, input: &AdviceInput) -> CacheOverview {
    let keys = store.dockerfiles(p, Some("local")).expect("dockerfiles");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let h = store
        .dockerfile_history(p, Some("local"), &keys[0], 10)
        .expect("history");
    CacheOverview::build(&h, &AdviceRules::builtin().expect("rules"), input)
}

/// The position of the step that copies the whole context in an example.
fn copy_all(steps: &[String]) -> usize {
    steps
        .iter()
        .position(|s| {
            let w: Vec<&str> = s.split_whitespace().collect();
            matches!(w[0].to_ascii_uppercase().as_str(), "COPY" | "ADD")
                && w[1..w.len() - 1]
                    .iter()
                    .any(|x| matches!(*x, "." | "./" | "/"))
        })
        .expect("the example copies the whole context")
}

#[test]
fn every_reorder_rule_fires_on_a_recorded_history_of_its_example() {
    let rules = AdviceRules::builtin().expect("rules");
    for rule in &rules.reorder {
        let (_dir, mut store) = store();
        let steps = printed_steps(&rule.example);
        let miss = copy_all(&steps);
        // The first build misses everything, then three builds change a source file.
        record(&mut store, &rule.id, 0, &report("app:1", &steps, 0, 2000));
        for n in 1..=3 {
            record(
                &mut store,
                &rule.id,
                n,
                &report("app:1", &steps, miss, 1000),
            );
        }
        let o = overview(&store, &rule.id, &AdviceInput::default());
        let advice = o
            .advice
            .iter()
            .find(|a| a.rule == rule.id)
            .unwrap_or_else(|| panic!("{} did not fire: {:#?}", rule.id, o.advice));
        assert_eq!(advice.lines, rule.expected, "{}", rule.id);
        assert_eq!(advice.builds, 4, "{}", rule.id);
        assert_eq!(advice.cost_ms, 2000 + 3 * 1000, "{}", rule.id);
        // Only this rule recognises its example.
        let others: Vec<&str> = o
            .advice
            .iter()
            .map(|a| a.rule.as_str())
            .filter(|r| *r != rule.id && *r != FIRST_MISS_OFTEN)
            .collect();
        assert!(others.is_empty(), "{}: also {others:?}", rule.id);
        // With the Dockerfile already reordered, the history's old pattern is not advised on.
        let fixed = rule.expected.join("\n");
        let o = overview(
            &store,
            &rule.id,
            &AdviceInput {
                dockerfile: Some(&fixed),
                context_files: None,
            },
        );
        assert!(
            o.advice.iter().all(|a| a.rule != rule.id),
            "{}: advised on a fixed Dockerfile",
            rule.id
        );
    }
}

#[test]
fn no_advice_without_three_builds_of_evidence() {
    let (_dir, mut store) = store();
    let steps = printed_steps("FROM node\nWORKDIR /app\nCOPY . .\nRUN npm ci\n");
    record(&mut store, "p", 0, &report("web", &steps, 0, 2000));
    record(&mut store, "p", 1, &report("web", &steps, 1, 1000));
    let o = overview(&store, "p", &AdviceInput::default());
    assert!(o.advice.is_empty(), "{:#?}", o.advice);
    // Series, miss rates and costs are there all the same.
    assert_eq!(o.builds, 2);
    let npm = o
        .steps
        .iter()
        .find(|s| s.instruction == "RUN npm ci")
        .expect("step");
    assert_eq!((npm.builds, npm.misses, npm.miss_cost_ms), (2, 2, 3000));
    assert_eq!(o.steps[0].misses, 1, "WORKDIR hit the second time");
    // A third build that hits everything is no evidence either.
    record(&mut store, "p", 2, &report("web", &steps, 9, 0));
    assert!(
        overview(&store, "p", &AdviceInput::default())
            .advice
            .is_empty()
    );
}

#[test]
fn manifests_present_in_the_context_are_the_ones_copied() {
    let (_dir, mut store) = store();
    let steps = printed_steps("FROM node\nCOPY . .\nRUN npm install\n");
    for n in 0..3 {
        record(&mut store, "p", n, &report("web", &steps, 0, 500));
    }
    let names = vec!["package.json".to_owned(), "src".to_owned()];
    let o = overview(
        &store,
        "p",
        &AdviceInput {
            dockerfile: Some("FROM node\nCOPY  . .\nrun npm install\n"),
            context_files: Some(&names),
        },
    );
    let a = o
        .advice
        .iter()
        .find(|a| a.rule == "npm-after-copy-all")
        .expect("advice");
    assert_eq!(
        a.lines,
        ["COPY package.json ./", "RUN npm install", "COPY . ."]
    );
    assert_eq!(a.replaces, ["COPY . .", "RUN npm install"]);
}

#[test]
fn the_step_that_is_most_often_the_first_miss_is_named_with_its_cost() {
    let (_dir, mut store) = store();
    let steps: Vec<String> = ["RUN apk add git", "COPY src /src", "RUN make"]
        .map(str::to_owned)
        .to_vec();
    record(&mut store, "p", 0, &report("tool", &steps, 0, 100));
    for n in 1..=3 {
        record(&mut store, "p", n, &report("tool", &steps, 1, 1000));
    }
    record(&mut store, "p", 4, &report("tool", &steps, 3, 0));
    let o = overview(&store, "p", &AdviceInput::default());
    assert_eq!(o.advice.len(), 1, "{:#?}", o.advice);
    let a = &o.advice[0];
    assert_eq!(a.rule, FIRST_MISS_OFTEN);
    assert_eq!(
        a.title,
        "`COPY src /src` is the first miss in 3 of 5 builds"
    );
    assert_eq!(a.cost_ms, 3 * 2000);
    // The report around it.
    let ratios: Vec<Option<f64>> = o.hit_ratio.iter().map(|p| p.ratio).collect();
    assert_eq!(
        ratios,
        [
            Some(0.0),
            Some(1.0 / 3.0),
            Some(1.0 / 3.0),
            Some(1.0 / 3.0),
            Some(1.0)
        ]
    );
    assert_eq!(o.expensive_misses[0].instruction, "COPY src /src");
    assert_eq!(o.expensive_misses[0].cost_ms, 100 + 3 * 1000);
    assert_eq!(o.reasons.len(), 1);
    assert_eq!(
        (o.reasons[0].kind, o.reasons[0].count),
        (MissKind::FilesChanged, 4)
    );
    assert_eq!(o.reasons[0].evidence, ["src/app.js"]);
}

#[test]
fn dockerfiles_are_told_apart_by_image_and_a_builds_own_are_found() {
    let (_dir, mut store) = store();
    let steps = vec!["RUN true".to_owned()];
    record(&mut store, "p", 0, &report("api", &steps, 0, 10));
    let mut untagged = report("x", &steps, 0, 10);
    untagged.image = None;
    record(&mut store, "p", 1, &untagged);
    let keys = store.dockerfiles("p", None).expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0].image.as_deref(), keys[0].docker_build),
        (None, Some(0))
    );
    assert_eq!(keys[1].image.as_deref(), Some("api"));
    let (project, backend, own) = store
        .run_dockerfiles("p:00000000-0000-0000-0000-000000000000")
        .expect("read")
        .expect("known run");
    assert_eq!((project.as_str(), backend.as_str()), ("p", "local"));
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].image.as_deref(), Some("api"));
    assert!(store.run_dockerfiles("p:nope").expect("read").is_none());
    assert!(store.dockerfiles("other", None).expect("keys").is_empty());
}

#[test]
fn one_docker_builds_history_ends_at_it_and_follows_its_steps() {
    let (_dir, mut store) = store();
    let steps: Vec<String> = ["COPY . .", "RUN make"].map(String::from).to_vec();
    record(&mut store, "svc", 0, &report("app:1", &steps, 0, 2000));
    record(&mut store, "svc", 1, &report("app:1", &steps, 2, 0));
    record(&mut store, "svc", 2, &report("app:1", &steps, 1, 900));
    // Another image of the project is another Dockerfile.
    record(&mut store, "svc", 3, &report("other:1", &steps, 0, 10));
    let second = "svc:00000001-0000-0000-0000-000000000000";
    let h = store
        .docker_build_history(second, 0, 10)
        .expect("read")
        .expect("recorded");
    let ids: Vec<&str> = h.builds.iter().map(|b| b.build_id.as_str()).collect();
    assert_eq!(
        ids,
        ["svc:00000000-0000-0000-0000-000000000000", second],
        "the builds up to it, not the newer one"
    );
    let series = crate::cache::step_series(&h);
    let misses: Vec<(&str, u32, u32)> = series
        .iter()
        .map(|s| (s.instruction.as_str(), s.misses, s.builds))
        .collect();
    assert_eq!(misses, [("COPY . .", 1, 2), ("RUN make", 1, 2)]);
    let third = store
        .docker_build_history("svc:00000002-0000-0000-0000-000000000000", 0, 2)
        .expect("read")
        .expect("recorded");
    assert_eq!(third.builds.len(), 2, "at most n");
    assert_eq!(third.image.as_deref(), Some("app:1"));
    assert!(
        store
            .docker_build_history(second, 1, 10)
            .expect("read")
            .is_none(),
        "no such docker build"
    );
    assert!(
        store
            .docker_build_history("svc:nope", 0, 10)
            .expect("read")
            .is_none()
    );
}
