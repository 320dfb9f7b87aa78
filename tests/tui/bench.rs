//! Figures for BENCHMARKS.md (issue 6), not timed tests: each prints a measurement and the
//! baseline measured in the same run, and asserts only that the work was done. Run with
//! `cargo test --release --test integration tui::bench -- --ignored --nocapture --test-threads 1`.

use std::time::{Duration, Instant};

use cbdash::model::{BackendKind, BuildEvent, BuildId, LogLine, LogStream, PhaseKind};
use cbdash::tui::keymap::{Key, Keymap};
use cbdash::tui::msg::Msg;
use cbdash::tui::state::{Focus, State};
use cbdash::tui::theme::Theme;
use cbdash::tui::update::update;
use cbdash::tui::view::{self, Ctx};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::fixtures::{self, local, t};

const ID: &str = "big:00000000-0000-0000-0000-000000000000";

fn line(i: usize) -> LogLine {
    LogLine {
        phase: Some(PhaseKind::Build),
        stream: LogStream::Stdout,
        text: format!(
            "#{i} 12.345 \x1b[32mstep\x1b[0m compiling module_{i} of the build: src/lib/module_{}.rs ok",
            i % 977
        ),
    }
}

fn state_with(projects: usize, lines: usize) -> (State, Keymap) {
    let km = fixtures::keymap();
    let mut s = State::new(t(0));
    let keys = (0..projects)
        .map(|i| local(&format!("project-{i:03}")))
        .collect();
    update(&mut s, &km, Msg::Projects(keys));
    update(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Started {
            build_id: BuildId(ID.into()),
            project: "project-000".into(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at: t(0),
        }),
    );
    push(&mut s, &km, 0, lines);
    (s, km)
}

fn push(s: &mut State, km: &Keymap, from: usize, n: usize) {
    for start in (from..from + n).step_by(256) {
        let lines = (start..(start + 256).min(from + n)).map(line).collect();
        update(
            s,
            km,
            Msg::Build(BuildEvent::Logs {
                build_id: BuildId(ID.into()),
                lines,
            }),
        );
    }
}

fn median_frame(s: &State, km: &Keymap, frames: usize) -> Duration {
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(120, 32)).expect("terminal");
    let mut times: Vec<Duration> = (0..frames)
        .map(|_| {
            let at = Instant::now();
            term.draw(|f| {
                view::render(
                    f,
                    s,
                    &Ctx {
                        keymap: km,
                        theme: &theme,
                    },
                );
            })
            .expect("draw");
            at.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn frame_time_with_a_million_lines_and_200_projects() {
    let (base, km) = state_with(1, 0);
    let baseline = median_frame(&base, &km, 200);
    let (mut big, km) = state_with(200, 1_000_000);
    let following = median_frame(&big, &km, 200);
    // Scrolled into the cold (compressed) middle of the log.
    big.focus = Focus::Log;
    update(&mut big, &km, Msg::Key(Key::char('g')));
    for _ in 0..20 {
        update(&mut big, &km, Msg::Key(Key::char(']')));
    }
    for _ in 0..4000 {
        update(&mut big, &km, Msg::Key(Key::ctrl('d')));
    }
    let middle = median_frame(&big, &km, 200);
    // Search across the whole log: a match behind the cursor (it wraps), then no match at all.
    let (hit, hit_slice) = run_search(&mut big, &km, "module_3 of");
    let (miss, miss_slice) = run_search(&mut big, &km, "no such text");
    assert_eq!(big.build().expect("build").log.len(), 1_000_000);
    println!(
        "FIGURE frame_median baseline(1 project, empty log)={baseline:?} following(200 projects, 1M lines)={following:?} scrolled_to_middle={middle:?} ratio_following={:.2} ratio_middle={:.2}",
        following.as_secs_f64() / baseline.as_secs_f64(),
        middle.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "FIGURE search_1M_lines first_hit_after_wrap={hit:?} (longest slice {hit_slice:?}) no_match_full_scan={miss:?} (longest slice {miss_slice:?})"
    );
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn keypress_to_frame_while_streaming() {
    let (quiet, km) = state_with(20, 10_000);
    let (q50, q99) = key_latency(quiet, &km, 0);
    let (busy, km) = state_with(20, 10_000);
    // 100,000 lines/s arriving in 256-line batches, as the engine's LogBatcher sends them:
    // 2,000 lines between two 20 ms key presses.
    let (b50, b99) = key_latency(busy, &km, 2_000);
    println!(
        "FIGURE key_to_frame baseline(no stream) p50={q50:?} p99={q99:?}; streaming 100k lines/s p50={b50:?} p99={b99:?} ratio_p99={:.2}",
        b99.as_secs_f64() / q99.as_secs_f64()
    );
}

/// Per key press: the lines that arrived since the last frame are folded in (as the shell
/// does before drawing), then the key, then one frame. Measures key → frame done.
fn key_latency(mut s: State, km: &Keymap, lines_per_key: usize) -> (Duration, Duration) {
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(120, 32)).expect("terminal");
    s.focus = Focus::Log;
    let mut next = 10_000;
    let mut times = Vec::new();
    for i in 0..500 {
        push(&mut s, km, next, lines_per_key);
        next += lines_per_key;
        let at = Instant::now();
        update(
            &mut s,
            km,
            Msg::Key(Key::char(if i % 2 == 0 { 'k' } else { 'j' })),
        );
        term.draw(|f| {
            view::render(
                f,
                &s,
                &Ctx {
                    keymap: km,
                    theme: &theme,
                },
            );
        })
        .expect("draw");
        times.push(at.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn memory_after_a_million_lines() {
    let before = rss_kb();
    let raw: usize = (0..1_000_000).map(|i| line(i).text.len()).sum();
    let (s, _km) = state_with(1, 1_000_000);
    let after = rss_kb();
    let store = s.build().expect("build").log.heap_bytes();
    println!(
        "FIGURE memory raw_text={}MB store_heap={}MB ratio={:.3} rss_before={}MB rss_after={}MB",
        raw >> 20,
        store >> 20,
        ratio(store, raw),
        before >> 10,
        after >> 10
    );
    assert!(store < raw);
}

#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
fn ratio(a: usize, b: usize) -> f64 {
    a as f64 / b as f64
}

/// Types `/query` Enter and runs the search to its end as the shell does (one slice per
/// `ContinueSearch`); returns the total time and the longest slice (how long input waits).
fn run_search(s: &mut State, km: &Keymap, query: &str) -> (Duration, Duration) {
    let total = Instant::now();
    for c in std::iter::once('/').chain(query.chars()) {
        update(s, km, Msg::Key(Key::char(c)));
    }
    let mut at = Instant::now();
    let mut fx = update(
        s,
        km,
        Msg::Key(Key::new(cbdash::tui::keymap::KeyCode::Enter)),
    );
    let mut longest = at.elapsed();
    while fx.contains(&cbdash::tui::msg::Effect::ContinueSearch) {
        at = Instant::now();
        fx = update(s, km, Msg::ContinueSearch);
        longest = longest.max(at.elapsed());
    }
    (total.elapsed(), longest)
}
