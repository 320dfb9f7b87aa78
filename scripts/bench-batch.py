#!/usr/bin/env python3
"""A local graph batch against its critical path run alone (issue 16), on the real binary.

The batch: 8 small builds, two levels of 3-way fan-out and a join:

    root -> a1, a2, a3 -> b1 (a1), b2 (a2), b3 (a3) -> join (b1, b2, b3)

Every build's BUILD phase sleeps SLEEP seconds (the work) after the usual phases, so a build
costs the engine's per-build overhead (container, copy of the source, phases) plus SLEEP.
The critical path is root -> a1 -> b1 -> join: four builds one after the other.

Measured in the same run, alternately (RUNS times each, median of wall times):
* batch: `cbdash run --batch --max-parallel 4` on the 8-build graph;
* baseline: the critical path alone: a 4-build chain graph `cbdash run --batch` (root -> a1 ->
  b1 -> join), which runs them one at a time by construction.

Target (issue 16): batch / baseline <= 1.3.

Usage: scripts/bench-batch.py [--bin target/release/cbdash] [--image cbdash-test/base:2]
           [--sleep 2] [--runs 3]
Needs Docker (DOCKER_HOST) and the image locally. Prints a Markdown table.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

PHASES = """phases:
  build:
    commands:
      - echo "task=$CODEBUILD_BATCH_BUILD_IDENTIFIER"
      - sleep {sleep}
"""


def task(identifier, deps):
    text = f"    - identifier: {identifier}\n"
    if deps:
        text += "      depend-on:\n" + "".join(f"        - {d}\n" for d in deps)
    return text


def graph(tasks, sleep):
    body = "".join(task(i, d) for i, d in tasks)
    return f"version: 0.2\nbatch:\n  build-graph:\n{body}" + PHASES.format(sleep=sleep)


FULL = [
    ("root", []),
    ("a1", ["root"]),
    ("a2", ["root"]),
    ("a3", ["root"]),
    ("b1", ["a1"]),
    ("b2", ["a2"]),
    ("b3", ["a3"]),
    ("join", ["b1", "b2", "b3"]),
]
CHAIN = [("root", []), ("a1", ["root"]), ("b1", ["a1"]), ("join", ["b1"])]


def run(binary, image, project, extra):
    # The history lives beside the project, not in it: its files change while the builds copy
    # the project's source.
    env = dict(os.environ, CBDASH_HISTORY=project + ".history.sqlite")
    start = time.monotonic()
    out = subprocess.run(
        [binary, "run", project, "--batch", "--json", "--image", image, "--pull", "never"]
        + extra,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.monotonic() - start
    if out.returncode != 0:
        raise SystemExit(f"{project}: exit {out.returncode}\n{out.stderr}\n{out.stdout[-2000:]}")
    builds = out.stdout.count('"type":"build_started"')
    return wall, builds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="target/release/cbdash")
    p.add_argument("--image", default="cbdash-test/base:2")
    p.add_argument("--sleep", type=float, default=2)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full")
        chain = os.path.join(tmp, "chain")
        for d, tasks in ((full, FULL), (chain, CHAIN)):
            os.makedirs(d)
            with open(os.path.join(d, "buildspec.yml"), "w") as f:
                f.write(graph(tasks, a.sleep))
        walls = {"batch": [], "chain": []}
        for _ in range(a.runs):
            w, n = run(a.bin, a.image, full, ["--max-parallel", "4"])
            assert n == 8, n
            walls["batch"].append(w)
            w, n = run(a.bin, a.image, chain, [])
            assert n == 4, n
            walls["chain"].append(w)
    batch = statistics.median(walls["batch"])
    chain = statistics.median(walls["chain"])
    print(f"| what | wall, median of {a.runs} (s) | runs (s) |")
    print("|---|---|---|")
    print(f"| graph batch, 8 builds, --max-parallel 4 | {batch:.2f} | "
          + ", ".join(f"{w:.2f}" for w in walls["batch"]) + " |")
    print(f"| critical path alone (4-build chain) | {chain:.2f} | "
          + ", ".join(f"{w:.2f}" for w in walls["chain"]) + " |")
    print(f"| **ratio batch / critical path** | **{batch / chain:.2f}x** | target <= 1.3x |")


if __name__ == "__main__":
    main()
