//! Lowering of `batch:` (reference §1.2–1.5): the build type and its tasks, with the position
//! of every name and value so that the batch checks (`batch_check.rs`) can point at them.
//!
//! Same rules as `lower.rs`: a value of the wrong type is an error at its token, an unknown
//! key a warning with "did you mean". What CodeBuild's batch validation rejects (identifiers,
//! the graph, an empty batch) is not decided here but in batch mode.

use super::lower::{reserved_names, string_map};
use super::node::{Node, Value};
use super::walk::Walker;
use super::{Batch, BatchTask, Fanout, Matrix, Pos, TaskEnv};
use crate::model::BatchKind;

const BATCH_KEYS: &[&str] = &[
    "fast-fail",
    "build-list",
    "build-matrix",
    "build-graph",
    "build-fanout",
];
const TASK_KEYS: &[&str] = &[
    "identifier",
    "buildspec",
    "env",
    "debug-session",
    "ignore-failure",
    "depend-on",
];
const TASK_ENV_KEYS: &[&str] = &[
    "compute-type",
    "fleet",
    "image",
    "privileged-mode",
    "type",
    "variables",
];
const MATRIX_KEYS: &[&str] = &["static", "dynamic"];
const STATIC_KEYS: &[&str] = &["ignore-failure", "env"];
/// `static.env`: the two keys CodeBuild applies, then the ones it reads but does not apply
/// (reference §1.4: `image`, `compute-type` and `variables` there have no effect).
const STATIC_ENV_KEYS: &[&str] = &[
    "privileged-mode",
    "type",
    "compute-type",
    "fleet",
    "image",
    "variables",
];
const DYNAMIC_KEYS: &[&str] = &["buildspec", "env"];
const DYNAMIC_ENV_KEYS: &[&str] = &["compute-type", "image", "variables"];
const FANOUT_KEYS: &[&str] = &["parallelism", "ignore-failure"];

/// `batch`: its build type and tasks.
pub fn batch(w: &mut Walker<'_>, key_pos: Pos, node: &Node) -> Batch {
    let mut b = Batch {
        pos: key_pos,
        kind_pos: key_pos,
        ..Batch::default()
    };
    for e in w.entries(node, "batch", BATCH_KEYS) {
        if e.key == "fast-fail" {
            b.fast_fail = w.flag(e.value, "fast-fail");
            continue;
        }
        if b.kind.is_some() {
            w.error(
                e.key_pos,
                format!("`batch` has a second build kind `{}`", e.key),
                "keep one of build-list, build-matrix, build-graph or build-fanout",
            );
            continue;
        }
        let Some(kind) = BatchKind::from_key(e.key) else {
            continue;
        };
        b.kind = Some(kind);
        b.kind_pos = e.key_pos;
        match kind {
            BatchKind::Graph | BatchKind::List => b.tasks = tasks(w, e.value, kind),
            BatchKind::Matrix => b.matrix = Some(matrix(w, e.key_pos, e.value)),
            BatchKind::Fanout => b.fanout = Some(fanout(w, e.key_pos, e.value)),
        }
    }
    b
}

/// The tasks of a `build-list` or `build-graph`.
fn tasks(w: &mut Walker<'_>, node: &Node, kind: BatchKind) -> Vec<BatchTask> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Seq(items) => items.iter().map(|item| task(w, item, kind)).collect(),
        _ => {
            w.wrong_type(node, kind.key(), "a list of tasks");
            Vec::new()
        }
    }
}

fn task(w: &mut Walker<'_>, item: &Node, kind: BatchKind) -> BatchTask {
    let what = format!("{} task", kind.key());
    let mut t = BatchTask {
        pos: item.pos,
        buildspec_pos: item.pos,
        ..BatchTask::default()
    };
    for e in w.entries(item, &what, TASK_KEYS) {
        match e.key {
            "identifier" => {
                if let Some(id) = w.string(e.value, "identifier") {
                    t.identifier = id;
                    t.pos = e.value.pos;
                }
            }
            "buildspec" => {
                t.buildspec = w.string(e.value, "buildspec");
                t.buildspec_pos = e.value.pos;
            }
            "env" => t.env = task_env(w, e.value, &format!("{what}.env")),
            "debug-session" => t.debug_session = w.flag(e.value, "debug-session"),
            "ignore-failure" => t.ignore_failure = w.flag(e.value, "ignore-failure"),
            _ if kind == BatchKind::List => depend_on_in_list(w, e.key_pos),
            _ => t.depend_on = positioned_list(w, e.value, "depend-on"),
        }
    }
    if t.buildspec.is_none() {
        t.buildspec_pos = t.pos;
    }
    t
}

/// `depend-on` in a `build-list`: CodeBuild documents it for graphs only, and a list starts
/// every task at once. cbdash's choice: warn and ignore it (as an unknown key), so a file
/// CodeBuild runs is not refused; the warning says how to get the order.
fn depend_on_in_list(w: &mut Walker<'_>, pos: Pos) {
    w.warn(
        pos,
        "`depend-on` is ignored in a `build-list`: every task of a list starts at once",
        Some("change `build-list` to `build-graph` to make this task wait, or remove `depend-on`"),
    );
}

fn task_env(w: &mut Walker<'_>, node: &Node, what: &str) -> TaskEnv {
    let mut env = TaskEnv::default();
    for e in w.entries(node, what, TASK_ENV_KEYS) {
        let key = format!("env.{}", e.key);
        match e.key {
            "compute-type" => env.compute_type = w.string(e.value, &key),
            "fleet" => env.fleet = w.string(e.value, &key),
            "image" => env.image = w.string(e.value, &key),
            "privileged-mode" => env.privileged_mode = Some(w.flag(e.value, &key)),
            "type" => env.env_type = w.string(e.value, &key),
            _ => {
                env.variables = string_map(w, e.value, &key);
                reserved_names(w, e.value);
            }
        }
    }
    env
}

fn matrix(w: &mut Walker<'_>, key_pos: Pos, node: &Node) -> Matrix {
    let mut m = Matrix {
        pos: key_pos,
        ..Matrix::default()
    };
    for e in w.entries(node, "build-matrix", MATRIX_KEYS) {
        if e.key == "static" {
            matrix_static(w, e.value, &mut m);
        } else {
            matrix_dynamic(w, e.value, &mut m);
        }
    }
    m
}

fn matrix_static(w: &mut Walker<'_>, node: &Node, m: &mut Matrix) {
    for e in w.entries(node, "build-matrix.static", STATIC_KEYS) {
        if e.key == "ignore-failure" {
            m.ignore_failure = w.flag(e.value, "ignore-failure");
            continue;
        }
        for env in w.entries(e.value, "build-matrix.static.env", STATIC_ENV_KEYS) {
            match env.key {
                "privileged-mode" => {
                    m.privileged_mode = Some(w.flag(env.value, "static.env.privileged-mode"));
                }
                "type" => m.env_type = w.string(env.value, "static.env.type"),
                other => static_not_applied(w, env.key_pos, other),
            }
        }
    }
}

/// A `static.env` key CodeBuild reads but does not apply (reference §1.4, a 2021 report): the
/// emulator warns and leaves it out, so a local run does what CodeBuild does.
fn static_not_applied(w: &mut Walker<'_>, pos: Pos, key: &str) {
    let hint = if key == "fleet" {
        "set the fleet in the project's settings".to_owned()
    } else {
        format!("move it to `dynamic.env.{key}` (a one-value list applies it to every build)")
    };
    w.warn(
        pos,
        format!(
            "`static.env.{key}` is not applied by CodeBuild: only `privileged-mode` and `type` are"
        ),
        Some(&hint),
    );
}

fn matrix_dynamic(w: &mut Walker<'_>, node: &Node, m: &mut Matrix) {
    for e in w.entries(node, "build-matrix.dynamic", DYNAMIC_KEYS) {
        if e.key == "buildspec" {
            m.buildspecs = positioned_list(w, e.value, "dynamic.buildspec");
            continue;
        }
        for env in w.entries(e.value, "build-matrix.dynamic.env", DYNAMIC_ENV_KEYS) {
            let what = format!("dynamic.env.{}", env.key);
            match env.key {
                "compute-type" => m.compute_types = w.string_list(env.value, &what),
                "image" => m.images = w.string_list(env.value, &what),
                _ => {
                    for (name, _, values) in w.pairs(env.value, &what) {
                        let axis = w.string_list(values, &format!("{what}.{name}"));
                        m.variables.push((name.to_owned(), axis));
                    }
                    reserved_names(w, env.value);
                }
            }
        }
    }
}

fn fanout(w: &mut Walker<'_>, key_pos: Pos, node: &Node) -> Fanout {
    let mut f = Fanout {
        pos: key_pos,
        ..Fanout::default()
    };
    for e in w.entries(node, "build-fanout", FANOUT_KEYS) {
        if e.key == "ignore-failure" {
            f.ignore_failure = w.flag(e.value, "ignore-failure");
            continue;
        }
        f.pos = e.value.pos;
        match &e.value.value {
            // Zero and below stay 0: the batch check reports them with the rule.
            Value::Int(n) => f.parallelism = u32::try_from((*n).max(0)).unwrap_or(u32::MAX),
            _ => w.wrong_type(e.value, "parallelism", "a whole number above 0"),
        }
    }
    f
}

/// A list of scalars with the position of each (a lone scalar is a list of one).
fn positioned_list(w: &mut Walker<'_>, node: &Node, what: &str) -> Vec<(String, Pos)> {
    let items = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items.iter().collect(),
        Value::Map(_) => {
            w.wrong_type(node, what, "a list of names");
            return Vec::new();
        }
        _ => vec![node],
    };
    items
        .into_iter()
        .filter_map(|i| w.scalar(i, what).map(|s| (s, i.pos)))
        .collect()
}
