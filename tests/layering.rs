//! The layering rule (ARCHITECTURE.md), checked on the source text: the TUI never imports the
//! Docker or AWS clients, the engine never imports the terminal libraries, and the pure modules
//! (model, buildspec, cache, diagnose, reports) do no IO.

use std::path::Path;

use crate::common::repo_root;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code under `module` that mention any of `forbidden` (comments excluded).
fn offenders(module: &str, forbidden: &[&str]) -> Vec<String> {
    let root = repo_root().join("src").join(module);
    let mut files = Vec::new();
    if root.is_dir() {
        rust_files(&root, &mut files);
    } else {
        files.push(root.with_extension("rs"));
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in forbidden {
                if code.contains(word) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn tui_never_imports_docker_or_aws() {
    let bad = offenders(
        "tui",
        &[
            "bollard",
            "aws_sdk_",
            "aws_config",
            "engine::local",
            "engine::cloud",
        ],
    );
    assert!(
        bad.is_empty(),
        "tui must speak to backends only through BuildEvent:\n{}",
        bad.join("\n")
    );
}

/// The reducer asks `tui::layout` how big the log pane is; it never calls drawing code.
#[test]
fn the_tui_reducer_never_imports_the_views() {
    let mut bad = Vec::new();
    for module in [
        "tui/update",
        "tui/actions",
        "tui/form",
        "tui/logview",
        "tui/logbuf",
        "tui/layout",
        "tui/state",
    ] {
        bad.extend(offenders(
            module,
            &[
                "super::view",
                "crate::tui::view",
                "super::widgets",
                "crate::tui::widgets",
            ],
        ));
    }
    assert!(
        bad.is_empty(),
        "the reducer and layout must not use the views:\n{}",
        bad.join("\n")
    );
}

#[test]
fn engine_never_imports_the_terminal() {
    let bad = offenders("engine", &["ratatui", "crossterm", "crate::tui"]);
    assert!(
        bad.is_empty(),
        "the engine must not know the TUI:\n{}",
        bad.join("\n")
    );
}

#[test]
fn parsers_and_model_do_no_io() {
    let io = [
        "std::fs",
        "tokio",
        "std::net",
        "std::process",
        "bollard",
        "aws_",
        "rusqlite",
        "File::",
    ];
    for module in ["model", "buildspec", "cache", "diagnose", "reports"] {
        let bad = offenders(module, &io);
        assert!(
            bad.is_empty(),
            "{module} must stay pure:\n{}",
            bad.join("\n")
        );
    }
}

/// Every `commands/` file but `mod.rs` is a leaf: it imports no other command (no `super::`,
/// no `crate::commands`), and nothing below it (`app`, `engine`, `tui`, ...) imports
/// `commands`. So no file cycle can cross `commands/`.
#[test]
fn commands_are_leaves_and_nothing_below_imports_them() {
    let dir = repo_root().join("src/commands");
    let mut leaves = Vec::new();
    rust_files(&dir, &mut leaves);
    let mut bad = Vec::new();
    for file in leaves.iter().filter(|f| !f.ends_with("mod.rs")) {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let imports_sibling = (code.contains("super::") && !code.contains("super::*"))
                || code.contains("crate::commands");
            if imports_sibling {
                bad.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    for module in [
        "app",
        "engine",
        "tui",
        "history",
        "headless",
        "config",
        "model",
        "buildspec",
        "cache",
        "diagnose",
        "watch",
    ] {
        bad.extend(offenders(module, &["crate::commands", "commands::"]));
    }
    assert!(
        bad.is_empty(),
        "commands/* are leaves over app/: move shared code into app/\n{}",
        bad.join("\n")
    );
}

/// The app layer never draws: it hands the TUI messages and runs its effects.
#[test]
fn the_app_layer_imports_no_terminal_library() {
    let bad = offenders("app", &["ratatui"]);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
