//! `cbdash validate` on a file with a `batch:` section: the buildspec files its tasks name
//! (task `buildspec`, matrix `dynamic.buildspec`) must exist and validate. They are read
//! relative to the directory of the batch file, the source root, as CodeBuild reads them
//! relative to `CODEBUILD_SRC_DIR` (reference §1.3).
//!
//! A task's problem is reported twice on purpose: an error at the task's `buildspec` in the
//! batch file (which task, which path), and the child file's own diagnostics under its name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::buildspec::{self, Batch, Diagnostic, Pos, Severity};
use crate::model::BatchKind;

/// One buildspec a batch names: who names it, the path as written, and where.
struct Named {
    who: String,
    path: String,
    pos: Pos,
}

/// What reading and parsing one child file gave.
enum Child {
    /// The batch file itself (a matrix may run the file that defines it): checked already.
    This,
    Missing,
    Unreadable(String),
    /// Parsed (as a plain build: batches do not nest): its diagnostics and whether it has
    /// phases to run.
    Read {
        diags: Vec<Diagnostic>,
        has_phases: bool,
    },
}

/// The errors to add to the batch file, and the child files' own results as `(path, diags)`.
#[must_use]
pub fn check_children(
    batch_file: &Path,
    batch: &Batch,
) -> (Vec<Diagnostic>, Vec<(String, Vec<Diagnostic>)>) {
    let root = batch_file.parent().unwrap_or(Path::new(""));
    let named = named(batch);
    let mut children: BTreeMap<&str, (PathBuf, Child)> = BTreeMap::new();
    for n in &named {
        children.entry(n.path.as_str()).or_insert_with(|| {
            let full = root.join(&n.path);
            let child = if same_file(&full, batch_file) {
                Child::This
            } else {
                read_child(&full)
            };
            (full, child)
        });
    }
    let shown_root = if root.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        root.display().to_string()
    };
    let errors = named
        .iter()
        .filter_map(|n| task_error(n, &children[n.path.as_str()].1, &shown_root))
        .collect();
    let mut files: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for n in &named {
        let (full, child) = &children[n.path.as_str()];
        let shown = full.display().to_string();
        if let Child::Read { diags, .. } = child
            && !files.iter().any(|(f, _)| *f == shown)
        {
            files.push((shown, diags.clone()));
        }
    }
    (errors, files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Every buildspec the batch names, in file order.
fn named(batch: &Batch) -> Vec<Named> {
    match batch.kind {
        Some(BatchKind::Matrix) => batch
            .matrix
            .iter()
            .flat_map(|m| &m.buildspecs)
            .map(|(path, pos)| Named {
                who: "the matrix".to_owned(),
                path: path.clone(),
                pos: *pos,
            })
            .collect(),
        _ => batch
            .tasks
            .iter()
            .filter_map(|t| {
                t.buildspec.as_ref().map(|path| Named {
                    who: format!("task `{}`", t.identifier),
                    path: path.clone(),
                    pos: t.buildspec_pos,
                })
            })
            .collect(),
    }
}

fn read_child(path: &Path) -> Child {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => match buildspec::parse(&text) {
                Ok(p) => Child::Read {
                    has_phases: !p.spec.phases.is_empty(),
                    diags: p.warnings,
                },
                Err(diags) => Child::Read {
                    diags,
                    has_phases: true,
                },
            },
            Err(_) => Child::Unreadable("it is not UTF-8 text".to_owned()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Child::Missing,
        Err(e) => Child::Unreadable(e.to_string()),
    }
}

/// The error at the naming task in the batch file, if its buildspec has a problem.
fn task_error(n: &Named, child: &Child, root: &str) -> Option<Diagnostic> {
    let (who, path) = (&n.who, &n.path);
    let d = match child {
        Child::This => return None,
        Child::Missing => Diagnostic::error(
            n.pos,
            format!("{who} names the buildspec `{path}`, which does not exist"),
        )
        .hint(format!(
            "task buildspecs are relative to the source root ({root}): create the file or fix the path"
        )),
        Child::Unreadable(why) => Diagnostic::error(
            n.pos,
            format!("{who} names the buildspec `{path}`, which cannot be read: {why}"),
        )
        .hint("make it a readable UTF-8 buildspec file"),
        Child::Read { diags, has_phases } => {
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            if errors > 0 {
                Diagnostic::error(
                    n.pos,
                    format!(
                        "{who} names the buildspec `{path}`, which is invalid ({errors} error{}, listed under that file)",
                        if errors == 1 { "" } else { "s" }
                    ),
                )
                .hint(format!(
                    "fix `{path}`: the build of this task would fail with YAML_FILE_ERROR"
                ))
            } else if !has_phases {
                Diagnostic::error(
                    n.pos,
                    format!("{who} names the buildspec `{path}`, which has no `phases` to run"),
                )
                .hint("a task's build runs its buildspec's phases (batches do not nest): add `phases:` to it")
            } else {
                return None;
            }
        }
    };
    Some(d)
}
