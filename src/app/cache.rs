//! The layer-cache report of a project (`cbdash cache`) or of one build's Dockerfiles (the
//! dashboard's `x`), and the per-step history of one docker build (the dashboard's cache
//! panel): the history read through `history::Store`, the IO the advice needs
//! (the Dockerfile's text, the names at the build context's top level) done here, the report
//! computed by the pure `cache::CacheOverview`.
//!
//! Choice (kept here): the build context is taken to be the project directory and the
//! Dockerfile `DIR/Dockerfile`, as the guide's `docker build -t ... .` has it. The Dockerfile's
//! text is only used when the project built one Dockerfile: with several, which file built
//! which image is not known.

use std::path::Path;

use crate::cache::{AdviceError, AdviceInput, AdviceRules, CacheOverview, StepSeries, step_series};
use crate::history::{DockerfileKey, HistoryError, Store};

/// Why a cache report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CacheReportError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Rules(#[from] AdviceError),
}

type Result<T> = std::result::Result<T, CacheReportError>;

/// How many of a Dockerfile's last docker builds the report reads by default.
pub const DEFAULT_BUILDS: usize = 10;

/// What was read from the project directory.
#[derive(Debug, Default)]
struct ProjectFiles {
    dockerfile: Option<String>,
    names: Option<Vec<String>>,
}

impl ProjectFiles {
    fn read(dir: Option<&Path>) -> Self {
        let Some(dir) = dir else {
            return Self::default();
        };
        // Unreadable is the same as unknown: the advice then names the default manifests.
        let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).ok();
        let names = std::fs::read_dir(dir).ok().map(|entries| {
            entries
                .filter_map(std::result::Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        });
        Self { dockerfile, names }
    }
}

/// The report on each Dockerfile a project built (`backend`: `local`, `cloud`, or `None`
/// for both), most recently built first; empty when the history has none.
///
/// # Errors
/// The history cannot be read.
pub fn project_report(
    store: &Store,
    project: &str,
    backend: Option<&str>,
    dir: Option<&Path>,
    builds: usize,
) -> Result<Vec<CacheOverview>> {
    let keys = store.dockerfiles(project, backend)?;
    overviews(store, project, backend, &keys, dir, builds)
}

/// The report on the Dockerfiles one build built, over their history in its project;
/// `None` when the build is not in the history.
///
/// # Errors
/// The history cannot be read.
pub fn build_report(
    store: &Store,
    build_id: &str,
    dir: Option<&Path>,
    builds: usize,
) -> Result<Option<Vec<CacheOverview>>> {
    let Some((project, backend, keys)) = store.run_dockerfiles(build_id)? else {
        return Ok(None);
    };
    let all = store.dockerfiles(&project, Some(&backend))?.len();
    let dir = dir.filter(|_| all == 1);
    overviews(store, &project, Some(&backend), &keys, dir, builds).map(Some)
}

fn overviews(
    store: &Store,
    project: &str,
    backend: Option<&str>,
    keys: &[DockerfileKey],
    dir: Option<&Path>,
    builds: usize,
) -> Result<Vec<CacheOverview>> {
    let rules = AdviceRules::builtin()?;
    let files = ProjectFiles::read(dir);
    let input = AdviceInput {
        dockerfile: files.dockerfile.as_deref().filter(|_| keys.len() == 1),
        context_files: files.names.as_deref(),
    };
    keys.iter()
        .map(|k| {
            let history = store.dockerfile_history(project, backend, k, builds)?;
            Ok(CacheOverview::build(&history, &rules, &input))
        })
        .collect()
}

/// The steps of one docker build of a build, each over its Dockerfile's last `builds` builds up
/// to this one (the dashboard's cache panel: a sparkline and a miss rate per step, the same
/// series as the report's); `None` when that docker build is not in the history.
///
/// # Errors
/// The history cannot be read.
pub fn step_history(
    store: &Store,
    build_id: &str,
    docker_build: u32,
    builds: usize,
) -> Result<Option<Vec<StepSeries>>> {
    let history = store.docker_build_history(build_id, docker_build, builds)?;
    Ok(history.map(|h| step_series(&h)))
}
