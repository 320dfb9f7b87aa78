//! What CodeBuild's batch validation rejects (`BATCH_SPEC_VALIDATION_ERROR`, reference §1.3,
//! §1.7, §1.12), checked on a lowered [`Buildspec`]. Pure.
//!
//! These are errors in batch mode only (`cbdash validate` on a file with a `batch:` section,
//! `cbdash run --batch`, a batch-only file): a plain build of a file that also has `phases`
//! runs its phases and ignores the section, as a plain StartBuild does (reference §1.1 [INF]).
//! [`batch_errors`] is the one place that decides what a batch run refuses.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::walk::suggest;
use super::{Batch, BatchTask, Buildspec, Pos};
use crate::model::BatchKind;

/// The message for `version: "0.2"` beside a `batch:` section: a warning from `parse`, an error
/// in batch mode (reference §1.12: batch runs fail in `DOWNLOAD_SOURCE`, single builds accept it).
pub const VERSION_STRING: &str = "`version` is a string: CodeBuild's batch runs reject it \
     (cannot unmarshal !!str `0.2` into float64); single builds accept it";
pub const VERSION_STRING_HINT: &str = "write the version as a number: `version: 0.2`, no quotes";

/// The most builds one batch may make locally. CodeBuild documents no service maximum (only the
/// project's `maximumBuildsAllowed`, 100 in its examples); cbdash's choice bounds what a typo
/// (`parallelism: 10000`, a huge matrix) would start on one machine.
pub const MAX_BATCH_BUILDS: u64 = 1000;

/// Longest identifier CodeBuild accepts ("less than 128 characters").
const MAX_IDENTIFIER: usize = 127;

/// Every batch-mode error of `spec`, sorted by position (empty when there is no batch).
#[must_use]
pub fn batch_errors(spec: &Buildspec) -> Vec<Diagnostic> {
    let Some(batch) = &spec.batch else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(pos) = batch.version_string {
        out.push(Diagnostic::error(pos, VERSION_STRING).hint(VERSION_STRING_HINT));
    }
    let has_phases = !spec.phases.is_empty();
    match batch.kind {
        None => out.push(
            Diagnostic::error(
                batch.pos,
                "`batch` names no build type, so it makes no build",
            )
            .hint("add one of build-list, build-graph, build-matrix or build-fanout"),
        ),
        Some(BatchKind::Graph | BatchKind::List) => tasks(batch, has_phases, &mut out),
        Some(BatchKind::Matrix) => matrix(batch, has_phases, &mut out),
        Some(BatchKind::Fanout) => fanout(batch, has_phases, &mut out),
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
}

fn no_builds(batch: &Batch, what: &str, hint: &str) -> Diagnostic {
    Diagnostic::error(batch.kind_pos, format!("a batch with no build: {what}")).hint(hint)
}

fn tasks(batch: &Batch, has_phases: bool, out: &mut Vec<Diagnostic>) {
    let key = batch.kind.map_or("build-list", BatchKind::key);
    if batch.tasks.is_empty() {
        out.push(no_builds(
            batch,
            &format!("`{key}` has no task"),
            "add a task: `- identifier: build1`",
        ));
    }
    if batch.tasks.len() as u64 > MAX_BATCH_BUILDS {
        out.push(too_many(batch.kind_pos, batch.tasks.len() as u64));
    }
    identifiers(&batch.tasks, out);
    for t in &batch.tasks {
        task_env(t, out);
        if t.buildspec.is_none() && !has_phases {
            out.push(
                Diagnostic::error(
                    t.pos,
                    format!(
                        "task `{}` runs this file's phases, but the file has no `phases`",
                        t.identifier
                    ),
                )
                .hint("give the task its own `buildspec:`, or add `phases:` to this file"),
            );
        }
    }
    if batch.kind == Some(BatchKind::Graph) {
        depend_on(&batch.tasks, out);
    }
}

/// Present, `[A-Za-z0-9_]{1,127}` and unique.
fn identifiers(tasks: &[BatchTask], out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    for t in tasks {
        let id = t.identifier.as_str();
        if id.is_empty() {
            out.push(
                Diagnostic::error(
                    t.pos,
                    "this task has no `identifier`: CodeBuild requires one",
                )
                .hint("add `identifier: NAME` (letters, digits and `_`)"),
            );
            continue;
        }
        if !valid_identifier(id) {
            out.push(bad_identifier(t.pos, id));
        }
        if let Some(first) = seen.get(id) {
            out.push(
                Diagnostic::error(
                    t.pos,
                    format!(
                        "duplicate identifier `{id}`: line {}, column {} names a task `{id}` too",
                        first.line, first.col
                    ),
                )
                .hint("identifiers name one build each in a batch: rename one of the two"),
            );
        } else {
            seen.insert(id, t.pos);
        }
    }
}

/// CodeBuild's rule for build identifiers (reference §1.3, from its own error text).
#[must_use]
pub fn valid_identifier(id: &str) -> bool {
    (1..=MAX_IDENTIFIER).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn bad_identifier(pos: Pos, id: &str) -> Diagnostic {
    let fixed: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(MAX_IDENTIFIER)
        .collect();
    let why = if id.len() > MAX_IDENTIFIER {
        format!(
            "it is {} characters long, the limit is {MAX_IDENTIFIER}",
            id.len()
        )
    } else {
        "identifiers may only have letters, digits and `_`".to_owned()
    };
    Diagnostic::error(pos, format!("invalid identifier `{id}`: {why}"))
        .hint(format!("CodeBuild refuses the batch: write `{fixed}`"))
}

fn task_env(t: &BatchTask, out: &mut Vec<Diagnostic>) {
    if t.env.compute_type.is_some() && t.env.fleet.is_some() {
        out.push(
            Diagnostic::error(
                t.pos,
                format!(
                    "task `{}` sets both `env.compute-type` and `env.fleet`",
                    t.identifier
                ),
            )
            .hint("a task runs on one: keep `compute-type` (on-demand) or `fleet` (reserved capacity)"),
        );
    }
}

/// Every `depend-on` name exists and is not the task itself, and the graph has no cycle.
fn depend_on(tasks: &[BatchTask], out: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = tasks.iter().map(|t| t.identifier.as_str()).collect();
    for t in tasks {
        for (dep, pos) in &t.depend_on {
            if *dep == t.identifier {
                out.push(
                    Diagnostic::error(*pos, format!("task `{dep}` depends on itself"))
                        .hint("remove it from its own `depend-on`"),
                );
            } else if !names.contains(&dep.as_str()) {
                let hint = suggest(dep, &names).map_or_else(
                    || format!("the tasks of this graph are: {}", names.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                out.push(
                    Diagnostic::error(
                        *pos,
                        format!("`depend-on` names `{dep}`, which is no task of this build-graph"),
                    )
                    .hint(hint),
                );
            }
        }
    }
    for (cycle, pos) in cycles(tasks) {
        out.push(
            Diagnostic::error(
                pos,
                format!(
                    "`depend-on` makes a cycle: {} (each task waits for the next, so none can start)",
                    cycle.join(" -> ")
                ),
            )
            .hint("remove one of these `depend-on` entries"),
        );
    }
}

/// The cycles of the graph (self-dependencies and unknown names left out), each written from
/// the task where the search entered it back to that task, with the position of its closing
/// `depend-on` entry. A depth-first search in file order, so the report is stable.
fn cycles(tasks: &[BatchTask]) -> Vec<(Vec<String>, Pos)> {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| (t.identifier.as_str(), i))
        .collect();
    let edges: Vec<Vec<(usize, Pos)>> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.depend_on
                .iter()
                .filter_map(|(d, pos)| index.get(d.as_str()).map(|&j| (j, *pos)))
                .filter(|&(j, _)| j != i)
                .collect()
        })
        .collect();
    let mut search = CycleSearch {
        edges: &edges,
        state: vec![Mark::New; tasks.len()],
        stack: Vec::new(),
        found: Vec::new(),
    };
    for i in 0..tasks.len() {
        if search.state[i] == Mark::New {
            search.visit(i);
        }
    }
    search
        .found
        .into_iter()
        .map(|(path, pos)| {
            let mut names: Vec<String> =
                path.iter().map(|&i| tasks[i].identifier.clone()).collect();
            names.push(tasks[path[0]].identifier.clone());
            (names, pos)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Open,
    Done,
}

struct CycleSearch<'e> {
    edges: &'e [Vec<(usize, Pos)>],
    state: Vec<Mark>,
    stack: Vec<usize>,
    found: Vec<(Vec<usize>, Pos)>,
}

impl CycleSearch<'_> {
    fn visit(&mut self, i: usize) {
        self.state[i] = Mark::Open;
        self.stack.push(i);
        for &(j, pos) in &self.edges[i] {
            match self.state[j] {
                Mark::New => self.visit(j),
                Mark::Open => {
                    let from = self.stack.iter().position(|&s| s == j).unwrap_or(0);
                    self.found.push((self.stack[from..].to_vec(), pos));
                }
                Mark::Done => {}
            }
        }
        self.stack.pop();
        self.state[i] = Mark::Done;
    }
}

fn matrix(batch: &Batch, has_phases: bool, out: &mut Vec<Diagnostic>) {
    let Some(m) = &batch.matrix else { return };
    let axes = [m.buildspecs.len(), m.compute_types.len(), m.images.len()]
        .into_iter()
        .chain(m.variables.iter().map(|(_, v)| v.len()))
        .filter(|&n| n > 0)
        .map(|n| n as u64)
        .collect::<Vec<_>>();
    if axes.is_empty() {
        out.push(no_builds(
            batch,
            "`build-matrix` has no `dynamic` values",
            "list the values under `dynamic` (buildspec, env.image, env.compute-type or env.variables)",
        ));
        return;
    }
    let builds = axes.iter().fold(1_u64, |acc, n| acc.saturating_mul(*n));
    if builds > MAX_BATCH_BUILDS {
        out.push(too_many(m.pos, builds));
    }
    if m.buildspecs.is_empty() && !has_phases {
        out.push(
            Diagnostic::error(
                m.pos,
                "the matrix builds run this file's phases, but the file has no `phases`",
            )
            .hint("add `phases:` to this file, or list buildspecs under `dynamic.buildspec`"),
        );
    }
}

fn fanout(batch: &Batch, has_phases: bool, out: &mut Vec<Diagnostic>) {
    let Some(f) = &batch.fanout else { return };
    if f.parallelism == 0 {
        out.push(
            Diagnostic::error(
                f.pos,
                "`build-fanout` needs `parallelism` above 0: it is the number of builds",
            )
            .hint("write `parallelism: N`, N the number of shards (for example 4)"),
        );
    } else if u64::from(f.parallelism) > MAX_BATCH_BUILDS {
        out.push(too_many(f.pos, u64::from(f.parallelism)));
    }
    if !has_phases {
        out.push(
            Diagnostic::error(
                batch.kind_pos,
                "fanout builds run this file's phases, but the file has no `phases`",
            )
            .hint("add `phases:` to this file"),
        );
    }
}

fn too_many(pos: Pos, builds: u64) -> Diagnostic {
    Diagnostic::error(
        pos,
        format!("this batch makes {builds} builds; cbdash runs at most {MAX_BATCH_BUILDS}"),
    )
    .hint("split it into several batches, or shorten the lists")
}
