#!/usr/bin/env bash
# Local-engine benchmarks (issue 3), printed as a Markdown table for BENCHMARKS.md:
#  1. time from `cbdash run` to its first command running, vs `docker run --rm IMAGE sh -c true`
#     (the baseline: starting a container and running one command in it);
#  2. per-command overhead over 200 trivial commands (median gap between consecutive
#     `Running command` agent timestamps), and the whole run vs `docker run --rm IMAGE sh -c
#     'true; true; ...'` with the same 200 commands.
# Usage: scripts/bench-local.sh [IMAGE] [RUNS]   (needs DOCKER_HOST; image present locally)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${1:-${CBDASH_TEST_IMAGE:-cbdash-test/base:2}}
RUNS=${2:-5}
BIN="$ROOT/target/release/cbdash"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/one" "$WORK/many"
printf 'version: 0.2\nphases:\n  build:\n    commands:\n      - "true"\n' > "$WORK/one/buildspec.yml"
{ printf 'version: 0.2\nphases:\n  build:\n    commands:\n'; for _ in $(seq 200); do printf '      - "true"\n'; done; } > "$WORK/many/buildspec.yml"
SCRIPT=$(for _ in $(seq 200); do printf 'true; '; done)

python3 - "$BIN" "$IMAGE" "$RUNS" "$WORK" "$SCRIPT" <<'PY'
import json, statistics, subprocess, sys, time, datetime
bin_, image, runs, work, script = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def agent_ts(line):
    # "[Container] 2025/10/12 15:45:10.800318 Running command ..."
    parts = line.split(" ")
    return datetime.datetime.strptime(parts[1] + " " + parts[2], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()

def cbdash(dir_):
    t0 = time.time()
    out = subprocess.run([bin_, "run", dir_, "--json", "--image", image, "--pull", "never"],
                         capture_output=True, text=True, check=True).stdout
    total = time.time() - t0
    runs_at = [agent_ts(e["line"]) for e in map(json.loads, out.splitlines())
               if e["type"] == "log" and e["stream"] == "agent" and " Running command " in e["line"]]
    return t0, total, runs_at

def docker(cmd):
    t0 = time.time()
    subprocess.run(["docker", "run", "--rm", image, "sh", "-c", cmd], check=True, capture_output=True)
    return time.time() - t0

first, base_first, gaps, many, base_many = [], [], [], [], []
for _ in range(runs):
    t0, _, at = cbdash(work + "/one"); first.append(at[0] - t0)
    base_first.append(docker("true"))
    _, total, at = cbdash(work + "/many"); many.append(total)
    gaps.extend(b - a for a, b in zip(at, at[1:]))
    base_many.append(docker(script))
med = statistics.median
print(f"| metric | cbdash (median of {runs}) | baseline | ratio | target |")
print("|---|---|---|---|---|")
print(f"| start to first command | {med(first)*1000:.0f} ms | `docker run --rm` + `true`: {med(base_first)*1000:.0f} ms | {med(first)/med(base_first):.2f} | <= 1000 ms |")
print(f"| per-command overhead (200 x `true`) | {med(gaps)*1000:.1f} ms median | - | - | <= 15 ms |")
print(f"| whole run, 200 commands | {med(many)*1000:.0f} ms | `docker run --rm` + 200 x `true`: {med(base_many)*1000:.0f} ms | {med(many)/med(base_many):.2f} | - |")
PY
