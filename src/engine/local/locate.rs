//! Finding kept builds and deciding which cbdash containers go: the Docker daemon is the
//! index (every container is labelled with its build id, its cbdash pid and, when kept, its
//! project directory), the [`KeptBuild`] record says how a kept build stands.
//!
//! Cleanup rule: a container whose cbdash process died is removed unless it is kept; a kept
//! one is removed once its idle time has passed (whichever process notices first), or when
//! its record is missing and its process is gone.

use std::path::{Path, PathBuf};

use bollard::Docker;
use chrono::Utc;

use crate::model::Status;

use super::LocalError;
use super::docker::{self, LABEL_BUILD, LABEL_KEEP, LABEL_PID, LABEL_SOURCE_DIR};
use super::kept::KeptBuild;
use super::run::Build;

/// A kept build's container, found by build id.
#[derive(Clone, Debug)]
pub struct Found {
    pub container_id: String,
    pub build_id: String,
    pub source_dir: PathBuf,
    pub running: bool,
}

/// The record of a build that is being kept (its container lives on after the build).
#[must_use]
pub fn record(b: &Build, container_id: &str) -> KeptBuild {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let spec_path = b
        .req
        .buildspec
        .clone()
        .unwrap_or_else(|| b.source_dir.join("buildspec.yml"));
    let mut secret_names = b.secret_names.clone();
    if let Some(spec) = b.spec() {
        let env = &spec.env;
        secret_names.extend(env.parameter_store.iter().map(|(k, _)| k.clone()));
        secret_names.extend(env.secrets_manager.iter().map(|(k, _)| k.clone()));
    }
    secret_names.sort();
    secret_names.dedup();
    KeptBuild {
        build_id: b.emit.build_id().to_string(),
        project: b.req.project.clone(),
        container_id: container_id.to_owned(),
        container_name: b.container_name.clone(),
        image: b.image.clone(),
        source_dir: abs(&b.source_dir),
        buildspec: abs(&spec_path),
        src_dir: b.src_dir.clone(),
        artifacts_dir: b.artifacts_dir.clone(),
        start_ms: b.start_ms,
        synced_ms: b.synced_ms,
        mount_source: b.req.local.mount_source,
        keep: b.req.local.keep,
        idle_secs: b.req.local.keep_idle.as_secs(),
        timeout_secs: b.req.local.timeout.as_secs(),
        secret_names,
        phases: b.phases.clone(),
        status: b
            .phases
            .get(&crate::model::PhaseKind::Completed)
            .map_or(Status::Failed, |r| r.status),
        last_used_ms: Utc::now().timestamp_millis(),
        busy_pid: None,
        run_ms: b.run_ms,
    }
}

/// The container of `build_id` (`project:uuid`, or a unique prefix of the uuid). `Ok(None)`
/// when no cbdash container has that build id; an ambiguous prefix is an error.
pub async fn find(docker: &Docker, build_id: &str) -> Result<Option<Found>, LocalError> {
    let mut hits = Vec::new();
    for (id, labels, running) in docker::list_labelled(docker).await? {
        let Some(build) = labels.get(LABEL_BUILD) else {
            continue;
        };
        let uuid = build.split_once(':').map_or(build.as_str(), |(_, u)| u);
        if build == build_id || (build_id.len() >= 4 && uuid.starts_with(build_id)) {
            hits.push(Found {
                container_id: id,
                build_id: build.clone(),
                source_dir: labels
                    .get(LABEL_SOURCE_DIR)
                    .map(PathBuf::from)
                    .unwrap_or_default(),
                running,
            });
        }
    }
    match hits.len() {
        0 | 1 => Ok(hits.pop()),
        n => Err(LocalError::NotResumable(format!(
            "'{build_id}' matches {n} builds; give more of the build id"
        ))),
    }
}

/// Removes what the cleanup rule (module doc) says must go. Returns how many were removed.
pub async fn remove_stale(docker: &Docker) -> Result<usize, LocalError> {
    let now = Utc::now().timestamp_millis();
    let mut removed = 0;
    for (id, labels, _) in docker::list_labelled(docker).await? {
        let owner_alive = labels
            .get(LABEL_PID)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(pid_alive);
        let remove = match (labels.get(LABEL_KEEP), labels.get(LABEL_BUILD)) {
            (Some(_), Some(build)) => {
                let dir = labels.get(LABEL_SOURCE_DIR).map(PathBuf::from);
                match dir.as_deref().and_then(|d| KeptBuild::load(d, build)) {
                    Some(rec) if rec.container_id == id => {
                        let expired = rec.expired(now, pid_alive);
                        if expired {
                            KeptBuild::forget(&rec.source_dir, build);
                        }
                        expired
                    }
                    // No record: the build still runs, or its process died before keeping it.
                    _ => !owner_alive,
                }
            }
            _ => !owner_alive,
        };
        if remove {
            docker::remove_container(docker, &id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes a kept build's container and record (the user left it, or started it afresh).
/// A build with no container is no error.
pub async fn discard(docker: &Docker, build_id: &str) -> Result<bool, LocalError> {
    let Some(found) = find(docker, build_id).await? else {
        return Ok(false);
    };
    docker::remove_container(docker, &found.container_id).await?;
    KeptBuild::forget(&found.source_dir, &found.build_id);
    Ok(true)
}

/// Whether a process with this pid exists on this machine.
#[must_use]
pub fn pid_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// The build ids of the containers kept now, sorted.
pub async fn kept_ids(docker: &Docker) -> Result<Vec<String>, LocalError> {
    let mut ids: Vec<String> = docker::list_labelled(docker)
        .await?
        .into_iter()
        .filter(|(_, labels, _)| labels.contains_key(LABEL_KEEP))
        .filter_map(|(_, mut labels, _)| labels.remove(LABEL_BUILD))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The project directories of the containers kept now (where a batch's record is).
pub async fn kept_source_dirs() -> Result<Vec<PathBuf>, LocalError> {
    let docker = docker::connect().await?;
    let mut dirs: Vec<PathBuf> = docker::list_labelled(&docker)
        .await?
        .into_iter()
        .filter(|(_, labels, _)| labels.contains_key(LABEL_KEEP))
        .filter_map(|(_, mut labels, _)| labels.remove(LABEL_SOURCE_DIR).map(PathBuf::from))
        .collect();
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// The kept build's container and record (for a resume or a shell), or why there is none.
pub async fn kept_build(docker: &Docker, build_id: &str) -> Result<(Found, KeptBuild), LocalError> {
    let Some(found) = find(docker, build_id).await? else {
        return Err(LocalError::ContainerGone {
            build_id: build_id.to_owned(),
            kept: kept_ids(docker).await?,
        });
    };
    let rec = KeptBuild::load(&found.source_dir, &found.build_id)
        .filter(|r| r.container_id == found.container_id)
        .ok_or_else(|| {
            LocalError::NotResumable(format!(
                "build '{}' is still running (and not paused at a breakpoint), or was not kept",
                found.build_id
            ))
        })?;
    Ok((found, rec))
}
