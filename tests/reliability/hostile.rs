//! Hostile build output: a real build prints every kind of escape sequence (cursor moves and
//! erases, screen resets, OSC 0/2 titles, OSC 8 hyperlinks, OSC 52 clipboard writes, OSC 9
//! notifications, DCS, 8-bit C1 controls, mode switches), invalid UTF-8, NUL bytes, CR-only
//! progress lines and one line of 10 MB. Then:
//! - plain output is printable text, TAB and newline only: no ESC, no other C0 or C1 control;
//! - every NDJSON line is JSON, and its stdout holds no raw ESC or C1 control either;
//! - the history's saved log has exactly the lines the NDJSON stream had, the 10 MB included;
//! - cbdash's memory stays bounded (peak RSS) and it does not panic;
//! - the dashboard under tmux shows the build finished, the pane title is unchanged, nothing
//!   reached tmux's clipboard, and the terminal is restored on quit.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{cbdash_bin, tmux::Tmux};
use crate::local_harness::{image, parse, project};

/// Bytes of the one long line.
const LONG: usize = 10 * 1024 * 1024;

/// The script the build runs (dash or busybox `printf` with octal escapes).
const SCRIPT: &str = r"printf 'cursor\033[2J\033[10;5Hmoved\033[A\033[K\033[?1049h\033[?1000h\033[?2004hafter\n'
printf 'reset\033c\0337\0338\033(0after\n'
printf 'title\033]0;PWNED-TITLE-0\007after\n'
printf 'title2\033]2;PWNED-TITLE-2\033\\after\n'
printf 'clip\033]52;c;UFdORUQtQ0xJUA==\007after\n'
printf 'link\033]8;;http://pwned.invalid/\033\\text\033]8;;\033\\after\n'
printf 'notify\033]9;PWNED-NOTIFY\007after\n'
printf 'dcs\033Pq#0;2;0;0;0#0~~\033\\after\n'
printf 'resize\033[8;5;20tafter\n'
printf 'c1 \302\233 2J \302\235 0;PWNED-C1 \302\234 after\n'
printf 'invalid \377\376\300 utf8\n'
printf 'nul\000byte\n'
printf 'unterminated osc \033]0;PWNED-UNTERMINATED\n'
printf 'progress 10%%\rprogress 50%%\rprogress 100%%\r'
printf '\n'
printf '\033[31mred\033[0m plain\n'
head -c 10485760 /dev/zero | tr '\000' 'x'
printf '\n'
echo hostile-done
";

fn hostile_project() -> tempfile::TempDir {
    project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - sh hostile.sh\n",
        ),
        ("hostile.sh", SCRIPT),
    ])
}

/// Runs cbdash with `args`, sampling its peak RSS (`VmHWM`) while it runs.
fn run_measured(args: &[&str], history: &Path) -> (std::process::Output, u64) {
    let mut child = Command::new(cbdash_bin())
        .args(args)
        .env("CBDASH_HISTORY", history)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cbdash");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).expect("read stdout");
        v
    });
    let mut peak_kb = 0;
    while child.try_wait().expect("poll").is_none() {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().expect("wait");
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    let stdout = reader.join().expect("reader");
    (
        std::process::Output {
            status,
            stdout,
            stderr,
        },
        peak_kb,
    )
}

/// What plain mode lets through: printable characters, TAB and newline. No ESC, no other
/// C0 control, no C1 control (U+0080–U+009F), and valid UTF-8.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for (i, c) in text.char_indices() {
        let ok = c == '\n' || c == '\t' || !c.is_control();
        assert!(
            ok,
            "{what}: control {:?} at byte {i}: {:?}",
            c,
            &text[i.saturating_sub(40)..(i + 10).min(text.len())]
        );
    }
}

/// Bytes in lines made only of `x`: the pieces of the 10 MB line.
fn x_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b == b'x'))
        .map(str::len)
        .sum()
}

#[test]
fn hostile_output_stays_contained_in_plain_ndjson_and_history() {
    let Some(img) = image() else { return };
    let dir = hostile_project();
    let work = tempfile::tempdir().expect("tempdir");
    let history = work.path().join("history.sqlite");
    let d = dir.path().to_str().expect("utf8");
    let common = ["--image", &img, "--pull", "never"];

    // Plain.
    let mut args = vec!["run", d, "--plain"];
    args.extend_from_slice(&common);
    let (plain, plain_kb) = run_measured(&args, &history);
    let text = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert_eq!(
        plain.status.code(),
        Some(0),
        "{}",
        &text[..text.len().min(4000)]
    );
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("panicked"));
    assert_terminal_safe("plain stdout", &plain.stdout);
    assert!(text.contains("hostile-done"));
    assert_eq!(
        x_count(&text),
        LONG,
        "every byte of the 10 MB line is printed"
    );
    for l in ["cursormovedafter", "progress 100%", "red plain", "nul?byte"] {
        assert!(text.contains(l), "'{l}' in the plain output");
    }
    assert!(!text.contains("PWNED-TITLE"), "OSC payloads are dropped");

    // NDJSON.
    let mut args = vec!["run", d, "--json"];
    args.extend_from_slice(&common);
    let (json, json_kb) = run_measured(&args, &history);
    let run = parse(&json); // every line must be a JSON object
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !json.stdout.contains(&0x1b),
        "NDJSON escapes ESC instead of writing it"
    );
    assert_terminal_safe("NDJSON stdout", &json.stdout);
    let lines = run.lines();
    assert_eq!(x_count(&lines.join("\n")), LONG, "the 10 MB line, whole");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("title\u{1b}]0;PWNED-TITLE-0\u{7}after")),
        "NDJSON keeps the raw text, escaped"
    );

    // The saved log has exactly the NDJSON stream's lines.
    let id = run.events[0]["build_id"].as_str().expect("id").to_owned();
    let show = Command::new(cbdash_bin())
        .args(["history", "show", &id, "--log"])
        .env("CBDASH_HISTORY", &history)
        .output()
        .expect("history show");
    assert!(show.status.success());
    let stored = crate::reliability::stored_log(&history, &id);
    assert_eq!(
        stored.lines().count(),
        lines.len(),
        "the saved log has every line"
    );
    assert_eq!(x_count(&stored), LONG);
    assert_terminal_safe("history show --log", &show.stdout);

    let peak_mb = plain_kb.max(json_kb) / 1024;
    eprintln!(
        "RELIABILITY hostile: {} log lines, 10 MB line intact, peak RSS plain {} MB, json {} MB",
        lines.len(),
        plain_kb / 1024,
        json_kb / 1024
    );
    assert!(peak_mb < 256, "peak RSS {peak_mb} MB for a 10 MB line");
}

#[test]
fn hostile_output_leaves_the_terminal_alone_in_the_dashboard() {
    let Some(img) = image() else { return };
    if !Tmux::available() {
        return;
    }
    let dir = hostile_project();
    let work = tempfile::tempdir().expect("tempdir");
    let vars = Tmux::isolated_vars(
        work.path(),
        std::env::var("DOCKER_HOST").unwrap_or_default(),
    );
    let shell = Tmux::clean_shell(&vars);
    let tmux = Tmux::start("hostile", dir.path(), &shell);
    // Let applications write tmux's clipboard, so a leaked OSC 52 would show as a buffer.
    tmux.cmd(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.cmd(&["set-option", "-g", "allow-rename", "on"]);
    tmux.wait("the prompt", |s| s.contains("READY$"));
    let title = tmux.format("#{pane_title}");
    let window = tmux.format("#{window_name}");
    tmux.keys(&[
        &format!(
            "{} run . --image {img} --pull never",
            cbdash_bin().display()
        ),
        "Enter",
    ]);
    // The build's own title (`✔ SUCCEEDED <id>`), not a phase row: until the build has
    // finished, `q` rightly asks whether to stop it (the flaky CI failures of this test).
    let s = tmux.wait_for("the finished build", Duration::from_mins(2), |s| {
        s.contains("✔ SUCCEEDED") && s.contains("hostile-done")
    });
    assert!(!s.contains("PWNED"), "no OSC payload is drawn:\n{s}");
    assert_eq!(
        tmux.format("#{pane_title}"),
        title,
        "the pane title changed"
    );
    // tmux names the window after the running program; an escape must not rename it.
    let renamed = tmux.format("#{window_name}");
    assert!(
        !renamed.contains("PWNED"),
        "renamed to {renamed} (was {window})"
    );
    let buffers = tmux.cmd(&["list-buffers"]);
    assert!(
        String::from_utf8_lossy(&buffers.stdout).trim().is_empty(),
        "something reached the clipboard: {}",
        String::from_utf8_lossy(&buffers.stdout)
    );
    // The dashboard still answers keys.
    tmux.keys(&["?"]);
    tmux.wait("help", |s| s.contains("Keys"));
    tmux.keys(&["Escape"]);
    // (Waited for: an Escape and a `q` read together are Alt+q, which does not quit.)
    tmux.wait("help closed", |s| !s.contains("half page down"));
    tmux.keys(&["q"]);
    let s = tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    assert!(!tmux.alternate_on(), "alternate screen left on:\n{s}");
    assert_eq!(tmux.format("#{pane_title}"), title);
    let mouse = tmux.format("#{mouse_any_flag}#{mouse_button_flag}#{mouse_all_flag}");
    assert_eq!(mouse, "000", "mouse reporting left on");
}
