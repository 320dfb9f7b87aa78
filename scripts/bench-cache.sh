#!/usr/bin/env bash
# The issue-4 benchmark: layer-cache analyzer throughput over a 100 MB synthetic log against
# `wc -l` on the same file, in the same run. Prints the figures BENCHMARKS.md records.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --example bench_cache
for run in 1 2 3; do
    echo "--- run $run"
    target/release/examples/bench_cache "${1:-100}" target/bench-cache.log
done
rm -f target/bench-cache.log
