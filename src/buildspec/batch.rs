//! A batch section's builds: every kind (`build-list`, `build-graph`, `build-matrix`,
//! `build-fanout`) expanded into one list of tasks, which the local runner schedules and the
//! dashboard draws. Pure.
//!
//! Names of generated builds are cbdash's choice (CodeBuild does not document its own): matrix
//! builds are `matrix_1`, `matrix_2`, ... in product order (the buildspec axis outermost, then
//! compute type, image, then the variables in file order), each labelled with its values;
//! fanout builds are `fanout_1` ... `fanout_N`, labelled `shard i/N`.

use super::types::{Batch, BatchTask, Fanout, Matrix, Pos, TaskEnv};
use crate::model::BatchKind;

/// The builds of `spec`'s batch section, expanded and checked: the batch runner's input. Every
/// identifier is valid and unique, every `depend-on` names another task and the graph has no
/// cycle ([`batch_errors`](super::batch_check::batch_errors), the batch-mode rules).
///
/// # Errors
/// The batch-mode errors, sorted by position (without source snippets: [`super::check_batch`]
/// adds them from the text), or one error when the spec has no batch section.
pub fn batch_plan(spec: &super::Buildspec) -> Result<Vec<BatchTask>, Vec<super::Diagnostic>> {
    let Some(batch) = &spec.batch else {
        return Err(vec![
            super::Diagnostic::error(
                Pos { line: 1, col: 1 },
                "the buildspec has no `batch` section",
            )
            .hint("add a `batch:` section (build-list, build-graph, build-matrix or build-fanout)"),
        ]);
    };
    let errors = super::batch_check::batch_errors(spec);
    if errors.is_empty() {
        Ok(batch.expand())
    } else {
        Err(errors)
    }
}

impl Batch {
    /// Every build of the batch as a task, in a stable order.
    #[must_use]
    pub fn expand(&self) -> Vec<BatchTask> {
        match self.kind {
            Some(BatchKind::Graph | BatchKind::List) | None => self.tasks.clone(),
            Some(BatchKind::Matrix) => self.matrix.as_ref().map(matrix).unwrap_or_default(),
            Some(BatchKind::Fanout) => self.fanout.as_ref().map(fanout).unwrap_or_default(),
        }
    }
}

/// One axis value of a matrix combination.
#[derive(Clone)]
enum Axis<'a> {
    Buildspec(&'a str, Pos),
    ComputeType(&'a str),
    Image(&'a str),
    Variable(&'a str, &'a str),
}

fn matrix(m: &Matrix) -> Vec<BatchTask> {
    let mut axes: Vec<Vec<Axis<'_>>> = vec![
        m.buildspecs
            .iter()
            .map(|(b, pos)| Axis::Buildspec(b, *pos))
            .collect(),
        m.compute_types
            .iter()
            .map(|c| Axis::ComputeType(c))
            .collect(),
        m.images.iter().map(|i| Axis::Image(i)).collect(),
    ];
    for (name, values) in &m.variables {
        axes.push(values.iter().map(|v| Axis::Variable(name, v)).collect());
    }
    axes.retain(|values| !values.is_empty());
    let mut combos: Vec<Vec<Axis<'_>>> = vec![Vec::new()];
    for axis in &axes {
        combos = combos
            .iter()
            .flat_map(|c| {
                axis.iter().map(move |v| {
                    let mut next = c.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    if axes.is_empty() {
        return Vec::new();
    }
    combos
        .into_iter()
        .enumerate()
        .map(|(i, combo)| combination(m, i + 1, &combo))
        .collect()
}

fn combination(m: &Matrix, n: usize, combo: &[Axis<'_>]) -> BatchTask {
    let mut task = BatchTask {
        identifier: format!("matrix_{n}"),
        pos: m.pos,
        buildspec_pos: m.pos,
        ignore_failure: m.ignore_failure,
        env: TaskEnv {
            privileged_mode: m.privileged_mode,
            env_type: m.env_type.clone(),
            ..TaskEnv::default()
        },
        ..BatchTask::default()
    };
    let mut label = Vec::new();
    for axis in combo {
        match axis {
            Axis::Buildspec(b, pos) => {
                task.buildspec = Some((*b).to_owned());
                task.buildspec_pos = *pos;
                label.push(format!("buildspec={b}"));
            }
            Axis::ComputeType(c) => {
                task.env.compute_type = Some((*c).to_owned());
                label.push(format!("compute-type={c}"));
            }
            Axis::Image(i) => {
                task.env.image = Some((*i).to_owned());
                label.push(format!("image={i}"));
            }
            Axis::Variable(name, v) => {
                task.env
                    .variables
                    .push(((*name).to_owned(), (*v).to_owned()));
                label.push(format!("{name}={v}"));
            }
        }
    }
    task.label = Some(label.join(" "));
    task
}

fn fanout(f: &Fanout) -> Vec<BatchTask> {
    (1..=f.parallelism)
        .map(|i| BatchTask {
            identifier: format!("fanout_{i}"),
            pos: f.pos,
            buildspec_pos: f.pos,
            ignore_failure: f.ignore_failure,
            label: Some(format!("shard {i}/{}", f.parallelism)),
            ..BatchTask::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_is_the_product_of_its_axes_in_order() {
        let m = Matrix {
            images: vec!["img:a".into(), "img:b".into()],
            variables: vec![("NODE".into(), vec!["18".into(), "20".into(), "22".into()])],
            privileged_mode: Some(true),
            ..Matrix::default()
        };
        let b = Batch {
            kind: Some(BatchKind::Matrix),
            matrix: Some(m),
            ..Batch::default()
        };
        let tasks = b.expand();
        let labels: Vec<_> = tasks
            .iter()
            .map(|t| t.label.clone().expect("label"))
            .collect();
        assert_eq!(
            labels,
            [
                "image=img:a NODE=18",
                "image=img:a NODE=20",
                "image=img:a NODE=22",
                "image=img:b NODE=18",
                "image=img:b NODE=20",
                "image=img:b NODE=22",
            ]
        );
        assert_eq!(tasks[4].identifier, "matrix_5");
        assert_eq!(tasks[4].env.image.as_deref(), Some("img:b"));
        assert_eq!(tasks[4].env.variables, [("NODE".into(), "20".into())]);
        assert_eq!(tasks[4].env.privileged_mode, Some(true));
    }

    #[test]
    fn a_fanout_is_parallelism_shards() {
        let b = Batch {
            kind: Some(BatchKind::Fanout),
            fanout: Some(Fanout {
                parallelism: 3,
                ignore_failure: true,
                ..Fanout::default()
            }),
            ..Batch::default()
        };
        let tasks = b.expand();
        let ids: Vec<_> = tasks.iter().map(|t| t.identifier.as_str()).collect();
        assert_eq!(ids, ["fanout_1", "fanout_2", "fanout_3"]);
        assert!(
            tasks
                .iter()
                .all(|t| t.ignore_failure && t.buildspec.is_none())
        );
        assert_eq!(tasks[1].label.as_deref(), Some("shard 2/3"));
    }
}
