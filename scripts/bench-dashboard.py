#!/usr/bin/env python3
"""The dashboard and `run --plain` on the real cbdash binary (issue 15), two figures.

`keys`: key press to frame in a pseudo-terminal. The dashboard runs in a pty (120x32, TERM=xterm-256color) on a folder of two local projects,
with the run history recorded (CBDASH_HISTORY in a temporary directory). Two measures per key:

* `?` (the help overlay): from writing the key to the arrival of the output chunk that completes
  the overlay's title `Keys` (the frame that shows what the key did, not any frame); the
  overlay is closed with a second `?` and not timed.
* `j`/`k` (the selection moves to the other project, which loads its history): from writing the
  key to the first output bytes after it (the method of the figures measured before issue 15;
  while a build streams, a periodic frame may come first, so this one is a lower bound).

Phases: idle (no build), then streaming: `r` starts project `a`, whose buildspec prints
LINES lines per command (`seq`) in COMMANDS commands, and the keys are timed while it runs
(presses stop at the end-of-build notification). Baseline (same run, same pty code): `stty raw -echo; cat`
reading the key and writing it back.

`cpu`: CPU time (user + system, from wait4's rusage of the cbdash process) of one build that
prints LINES lines (`seq 1 LINES`), in `cbdash run --plain` (stdout to /dev/null) and in the
dashboard (in the pty: `r`, wait for the end-of-build notification, `q`), each minus the same build printing 0 lines
(the fixed cost: start-up, container, history), so the figure is CPU per LINES lines. The dashboard
records into a history of its own: opening on a project shows its latest recorded build, so with
the history `run --plain` wrote it would first replay that LINES-line build (figures before
2026-12-02 06:30 UTC included that replay). Baseline:
the docker CLI's own CPU and wall time for `docker run --rm IMAGE seq 1 LINES > /dev/null`.

Usage: scripts/bench-dashboard.py keys [--bin target/release/cbdash] [--image cbdash-test/base:2]
           [--presses 300] [--lines 1000000] [--commands 5]
       scripts/bench-dashboard.py cpu [--bin ...] [--image ...] [--lines 1000000] [--runs 3]
Needs Docker (DOCKER_HOST) and the image locally. Prints Markdown tables.
"""

import argparse
import fcntl
import os
import pty
import subprocess
import random
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time

ROWS, COLS = 32, 120
# The dashboard's end-of-build notification (OSC 9, written whole, unlike screen cells).
END = b"\x1b]9;cbdash: "


class Pty:
    """A child on a pty, its output drained by a thread into timestamped chunks."""

    def __init__(self, argv, env, cwd):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        self.pid, self.fd = pid, fd
        self.chunks = []  # (monotonic time, bytes)
        self.cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            now = time.monotonic()
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.chunks.append((now, data))
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.chunks)

    def text_since(self, mark):
        with self.cond:
            return b"".join(d for _, d in self.chunks[mark:])

    def press(self, key):
        """Writes `key`; returns (time written, index of the first chunk after it)."""
        with self.cond:
            mark = len(self.chunks)
            t0 = time.monotonic()
            os.write(self.fd, key)
        return t0, mark

    def first_after(self, mark, timeout=5.0):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.chunks) <= mark:
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)
            return self.chunks[mark][0]

    def until(self, mark, needle, timeout=5.0):
        """Arrival time of the chunk that completes `needle` in the output after `mark`."""
        end = time.monotonic() + timeout
        with self.cond:
            i, seen = mark, b""
            while True:
                while i < len(self.chunks):
                    t, d = self.chunks[i]
                    seen = seen[-len(needle):] + d
                    i += 1
                    if needle in seen:
                        return t
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)

    def wait_for(self, needle, timeout):
        return self.until(0, needle, timeout) is not None

    def quiet(self, seconds):
        """Waits until no output arrived for `seconds`."""
        while True:
            n = self.mark()
            time.sleep(seconds)
            if self.mark() == n:
                return

    def wait(self, timeout):
        """Waits for the child to exit; returns its rusage, or None on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, _, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return usage
            time.sleep(0.02)
        return None

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.wait(5) is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def fmt(xs):
    if not xs:
        return "n/a"
    return f"p50 {pct(xs, 50) * 1e3:.2f} ms, p99 {pct(xs, 99) * 1e3:.2f} ms (n={len(xs)})"


def time_keys(p, presses, running=lambda: True, help_needle=b"Keys", close=b"?"):
    """Alternates a timed help overlay and a timed j/k; returns (help times, j/k times)."""
    helps, moves = [], []
    down = True
    for _ in range(presses):
        if not running():
            break
        t0, mark = p.press(b"?")
        t1 = p.until(mark, help_needle)
        if t1 is None:
            raise SystemExit("the help overlay never came")
        helps.append(t1 - t0)
        time.sleep(0.005 + random.random() * 0.01)
        p.press(close)
        time.sleep(0.01 + random.random() * 0.01)
        if moves is not None:
            t0, mark = p.press(b"j" if down else b"k")
            down = not down
            t1 = p.first_after(mark)
            if t1 is not None:
                moves.append(t1 - t0)
            time.sleep(0.01 + random.random() * 0.01)
    return helps, moves


def baseline(presses):
    """The same pty round trip against `cat` in raw mode (the key read and written back)."""
    p = Pty(["sh", "-c", "stty raw -echo; echo ready; exec cat"], dict(os.environ), "/")
    p.wait_for(b"ready", 5)
    p.quiet(0.2)
    times = []
    for _ in range(presses):
        t0, mark = p.press(b"?")
        t1 = p.until(mark, b"?")
        times.append(t1 - t0)
        time.sleep(0.005 + random.random() * 0.01)
    p.stop()
    return times


def project(work, name, cmds, image):
    d = os.path.join(work, "projects", name)
    os.makedirs(d)
    with open(os.path.join(d, "buildspec.yml"), "w") as f:
        f.write("version: 0.2\nphases:\n  build:\n    commands:\n")
        f.writelines(f"      - {c}\n" for c in cmds)
    with open(os.path.join(d, ".cbdash.toml"), "w") as f:
        f.write(f'image = "{image}"\n')
    return d


def isolated_env(work):
    """cbdash's files (history, config, its own log) in the temporary directory."""
    env = dict(os.environ)
    env.update(
        TERM="xterm-256color",
        HOME=work,
        XDG_CONFIG_HOME=os.path.join(work, "config"),
        XDG_DATA_HOME=os.path.join(work, "data"),
        CBDASH_HISTORY=os.path.join(work, "history.sqlite"),
        CBDASH_CONFIG=os.path.join(work, "config.toml"),
        CBDASH_LOG_FILE=os.path.join(work, "cbdash.log"),
    )
    open(env["CBDASH_CONFIG"], "w").close()
    return env


def keys(args):
    work = tempfile.mkdtemp(prefix="cbdash-keys-")
    try:
        project(work, "a", [f"seq 1 {args.lines}"] * args.commands, args.image)
        project(work, "b", ["true"], args.image)
        env = isolated_env(work)

        base = baseline(args.presses)

        p = Pty([args.bin], env, os.path.join(work, "projects"))
        if not p.wait_for(b"Projects", 10):
            raise SystemExit("the dashboard did not draw")
        p.quiet(0.5)
        idle_help, idle_move = time_keys(p, args.presses)

        # Select project a (the first), start its build, wait for its lines.
        p.press(b"g")
        p.quiet(0.3)
        mark = p.mark()
        start = time.monotonic()
        p.press(b"r")
        done = threading.Event()

        def watch_end():
            if p.until(mark, END, 600) is not None:
                done.set()

        threading.Thread(target=watch_end, daemon=True).start()
        # ratatui writes only the cells that changed, so screen text is no reliable marker:
        # give the build time to start its command (about a second), then time keys until
        # the end-of-build notification.
        time.sleep(3.0)
        if done.is_set():
            raise SystemExit("the build ended before the keys were timed: raise --lines")
        streaming_from = time.monotonic()

        stream_help, stream_move = time_keys(p, args.presses, running=lambda: not done.is_set())
        measured_until = time.monotonic()
        done.wait(600)
        end = time.monotonic()
        tail = p.text_since(mark)
        ending = tail[tail.find(END):][:80] if END in tail else b"none"
        if b"SUCCEEDED" not in ending:
            raise SystemExit(f"the build did not succeed: {ending!r}")
        p.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"baseline `cat` (raw pty round trip): {fmt(base)}")
    print(f"idle, `?` → help frame: {fmt(idle_help)}")
    print(f"idle, `j`/`k` → first bytes: {fmt(idle_move)}")
    print(f"streaming, `?` → help frame: {fmt(stream_help)}")
    print(f"streaming, `j`/`k` → first bytes: {fmt(stream_move)}")
    print(
        f"build: {args.commands} x {args.lines} lines, {end - start:.1f} s from `r` to its end; "
        f"keys timed for {measured_until - streaming_from:.1f} s while it streamed"
    )
    b50 = pct(base, 50)
    print()
    print("| phase | key | p50 | p99 | p50 / baseline p50 |")
    print("|---|---|---|---|---|")
    print(f"| baseline | `cat` echo | {pct(base, 50) * 1e3:.2f} ms | {pct(base, 99) * 1e3:.2f} ms | 1.00 |")
    for phase, key, xs in (
        ("idle", "`?` → help frame", idle_help),
        ("idle", "`j`/`k` → first bytes", idle_move),
        ("streaming", "`?` → help frame", stream_help),
        ("streaming", "`j`/`k` → first bytes", stream_move),
    ):
        if xs:
            print(
                f"| {phase} | {key} | {pct(xs, 50) * 1e3:.2f} ms | {pct(xs, 99) * 1e3:.2f} ms "
                f"| {pct(xs, 50) / b50:.1f} |"
            )
    sys.stdout.flush()


def cpu_s(usage):
    return usage.ru_utime + usage.ru_stime


def plain_run(bin_, env, dir_, image):
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(
            [bin_, "run", dir_, "--plain", "--image", image, "--pull", "never"],
            env=env, stdout=null, stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"cbdash run failed: {proc.stderr.read().decode()}")
    return cpu_s(usage), time.monotonic() - t0


def dashboard_run(bin_, env, projects, name):
    p = Pty([bin_], env, projects)
    if not p.wait_for(b"Projects", 10):
        raise SystemExit("the dashboard did not draw")
    p.quiet(0.3)
    t0 = time.monotonic()
    mark = p.mark()
    p.press(b"r")
    if p.until(mark, END + name.encode() + b": SUCCEEDED", 600) is None:
        raise SystemExit("the build did not succeed")
    wall = time.monotonic() - t0
    p.quiet(0.3)
    p.press(b"q")
    usage = p.wait(10)
    if usage is None:
        p.press(b"y")
        usage = p.wait(10)
    if usage is None:
        p.stop()
        raise SystemExit("the dashboard did not quit")
    return cpu_s(usage), wall


def docker_run(image, lines):
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(["docker", "run", "--rm", image, "seq", "1", str(lines)], stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit("docker run failed")
    return cpu_s(usage), time.monotonic() - t0


def cpu(args):
    rows = {k: [] for k in ("docker", "plain", "plain0", "dash", "dash0")}
    for _ in range(args.runs):
        work = tempfile.mkdtemp(prefix="cbdash-cpu-")
        try:
            env = isolated_env(work)
            full = project(work, "full", [f"seq 1 {args.lines}"], args.image)
            empty = project(work, "empty", [f"seq 1 0"], args.image)
            rows["docker"].append(docker_run(args.image, args.lines))
            rows["plain"].append(plain_run(args.bin, env, full, args.image))
            rows["plain0"].append(plain_run(args.bin, env, empty, args.image))
            # The dashboard on one project at a time (the first is selected), with a history
            # of its own (not the plain runs' builds, which it would replay on opening).
            env = dict(env, CBDASH_HISTORY=os.path.join(work, "dash-history.sqlite"))
            os.rename(empty, os.path.join(work, "empty-away"))
            rows["dash"].append(dashboard_run(args.bin, env, os.path.join(work, "projects"), "full"))
            os.rename(full, os.path.join(work, "full-away"))
            os.rename(os.path.join(work, "empty-away"), empty)
            rows["dash0"].append(dashboard_run(args.bin, env, os.path.join(work, "projects"), "empty"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in rows.items()}
    for k, v in rows.items():
        print(k, " ".join(f"{c:.3f}s/{w:.2f}s" for c, w in v), file=sys.stderr)
    dcpu, dwall = med["docker"]
    print(f"| mode ({args.lines:,} lines, median of {args.runs}) | CPU | wall | CPU minus the 0-line build | "
          f"CPU / docker CLI's CPU | wall / docker run's wall |")
    print("|---|---|---|---|---|---|")
    print(f"| baseline: `docker run --rm IMAGE seq 1 {args.lines}` (the docker CLI) | {dcpu:.3f} s | {dwall:.2f} s | | 1.00 | 1.00 |")
    for name, k in (("`cbdash run --plain`", "plain"), ("dashboard (`r`, until the build ends, `q`)", "dash")):
        c, w = med[k]
        c0, w0 = med[k + "0"]
        print(f"| {name} | {c:.3f} s | {w:.2f} s | {c - c0:.3f} s (0 lines: {c0:.3f} s) | {c / dcpu:.2f} | {w / dwall:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("what", choices=["keys", "cpu"])
    ap.add_argument("--bin", default=os.path.join(root, "target/release/cbdash"))
    ap.add_argument("--image", default="cbdash-test/base:2")
    ap.add_argument("--presses", type=int, default=300)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--commands", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if args.what == "keys":
        keys(args)
    else:
        cpu(args)


if __name__ == "__main__":
    main()
