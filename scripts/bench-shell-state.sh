#!/usr/bin/env bash
# The shell-state cost per command (issue 14), measured inside one container so that only the
# shells' work differs: 1000 commands run as the 0.2 wrapper that saves `export -p` (the old
# state, exported variables only: the baseline) and as the wrapper that saves every variable
# through src/engine/local/state.sh, alternating in ROUNDS rounds. Prints a Markdown table.
# Usage: scripts/bench-shell-state.sh [IMAGE] [ROUNDS]   (needs DOCKER_HOST; image present)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${1:-${CBDASH_TEST_IMAGE:-cbdash-test/base:2}}
ROUNDS=${2:-5}
OUT=$(docker run --rm -i "$IMAGE" /bin/sh -s "$(cat "$ROOT/src/engine/local/state.sh")" "$ROUNDS" <<'SH'
T=/codebuild/output/tmp; mkdir -p $T; printf '%s\n' "$1" > $T/state.sh
( . $T/state.sh && __cbdash_base )
seed() { i=0; : > $T/env.sh; while [ $i -lt 40 ]; do echo "export CODEBUILD_VAR_$i='value $i'" >> $T/env.sh; i=$((i+1)); done; echo "export PWD='/tmp'" >> $T/env.sh; }
printf '. %s/env.sh; cd "$PWD" 2>/dev/null\nexport CODEBUILD_BUILD_SUCCEEDING=1\ntrap '"'"'__cbdash_rc=$?; export PWD; export -p > %s/env.sh; exit $__cbdash_rc'"'"' EXIT\nX=$((X+1))\n' $T $T > $T/old.sh
printf '. %s/env.sh; cd "$PWD" 2>/dev/null\nexport CODEBUILD_BUILD_SUCCEEDING=1\ntrap '"'"'__cbdash_rc=$?; [ -f %s/state.sh ] && . %s/state.sh && __cbdash_save; exit $__cbdash_rc'"'"' EXIT\nX=$((X+1))\n' $T $T $T > $T/new.sh
r=0; old=; new=
while [ $r -lt "$2" ]; do
  for kind in old new; do
    # /proc/uptime counts centiseconds: 1000 commands take seconds, so that is fine enough.
    seed; t0=$(cut -d' ' -f1 /proc/uptime | tr -d .); n=0
    while [ $n -lt 1000 ]; do /bin/sh $T/$kind.sh; n=$((n+1)); done
    t1=$(cut -d' ' -f1 /proc/uptime | tr -d .)
    echo "$kind $(( (t1 - t0) * 10 ))"   # microseconds per command
  done
  r=$((r+1))
done
. $T/env.sh; echo "check $X"
SH
)
python3 - "$OUT" "$IMAGE" "$ROUNDS" <<'PY'
import statistics, sys
out, image, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
per = {"old": [], "new": []}
for line in out.splitlines():
    kind, value = line.split()
    if kind == "check":
        assert value == "1000", f"the plain variable did not carry over: X={value}"
    else:
        per[kind].append(int(value) / 1000)
old, new = statistics.median(per["old"]), statistics.median(per["new"])
print(f"| shell state, 1000 commands x {rounds} rounds, {image} | median per command | ratio |")
print("|---|---|---|")
print(f"| `export -p` only (baseline, before issue 14) | {old:.2f} ms | 1.00 |")
print(f"| every variable (`state.sh`) | {new:.2f} ms | {new/old:.2f} |")
print(f"| added per command | {new-old:.2f} ms | - |")
PY
