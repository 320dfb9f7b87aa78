#!/usr/bin/env bash
# The issue-9 benchmark: the failure diagnosis tap on a ~100 MB synthetic build log against the
# layer-cache tap alone, same file, same run (tests/diagnose_bench.rs; prints the figures
# BENCHMARKS.md records). CBDASH_BENCH_MB sets the size.
#
# By default the code under test gets release settings while the rest of the dependency tree
# keeps the dev profile (so nothing else is rebuilt): cbdash and the regex crates (regex,
# regex-automata, aho-corasick) at opt-level 3 without debug assertions or overflow checks.
# BENCH_PROFILE=dev runs it in the plain test profile (cbdash at opt-level 0, dependencies 1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cfg=()
if [[ "${BENCH_PROFILE:-release-like}" != dev ]]; then
    for p in cbdash regex regex-automata aho-corasick; do
        cfg+=(--config "profile.dev.package.$p.opt-level=3"
              --config "profile.dev.package.$p.debug-assertions=false"
              --config "profile.dev.package.$p.overflow-checks=false")
    done
fi
cargo test "${cfg[@]}" --test integration bench_diagnosis_against_the_cache_analyzer \
    -- --ignored --nocapture --test-threads 1
