#!/usr/bin/env bash
# The issue-4 benchmark: layer-cache analyzer throughput over a 100 MB synthetic log against
# `wc -l` on the same file, in the same run. Prints the figures BENCHMARKS.md records.
#
# By default the example is built in the dev profile with the crate at opt-level 3
# (dependencies keep their opt-level 1 override, so nothing else is rebuilt; the analyzer only
# uses std). BENCH_RELEASE=1 builds it with --release instead (a full LTO rebuild).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ "${BENCH_RELEASE:-0}" == 1 ]]; then
    cargo build --release --example bench_cache
    bin=target/release/examples/bench_cache
else
    CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo build --example bench_cache
    bin=target/debug/examples/bench_cache
fi
for run in 1 2 3; do
    echo "--- run $run"
    "$bin" "${1:-100}" target/bench-cache.log
done
rm -f target/bench-cache.log
