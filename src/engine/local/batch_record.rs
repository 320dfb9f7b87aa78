//! The record of a local batch run, for `cbdash resume BATCH_ID`: which task ran as which
//! build and how it ended. It lives with the project's other state, in
//! `<source-dir>/.cbdash/batches/<batch-uuid>.json`, and holds no secret (only ids, statuses
//! and paths). It is rewritten after every task's end, so a killed cbdash leaves what had
//! finished.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{BatchId, BatchKind, BatchResult};

use super::LocalError;

/// A batch run as a resume needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub batch_id: BatchId,
    pub project: String,
    pub source_dir: PathBuf,
    /// The buildspec holding the `batch:` section.
    pub buildspec: PathBuf,
    pub kind: BatchKind,
    pub fast_fail: bool,
    /// Every task's last build, in batch order.
    pub nodes: Vec<BatchResult>,
    /// How long the batch's runs took so far (ms), resumes included.
    pub run_ms: u64,
    /// The run's own settings (what the command line set over the project's), so that a
    /// resume starts the tasks that never ran as the first run would have. Variables are not
    /// kept: their values may be secrets.
    pub settings: RunSettings,
}

/// A batch run's settings a resume reuses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSettings {
    pub image: Option<String>,
    pub privileged: bool,
    pub docker_socket: bool,
    pub mount_source: bool,
    pub timeout_secs: u64,
    pub artifacts_dir: Option<PathBuf>,
}

impl RunSettings {
    /// The settings of `req`.
    #[must_use]
    pub fn of(req: &crate::engine::BuildRequest) -> Self {
        Self {
            image: req.image.clone(),
            privileged: req.privileged,
            docker_socket: req.local.docker_socket,
            mount_source: req.local.mount_source,
            timeout_secs: req.local.timeout.as_secs(),
            artifacts_dir: req.local.artifacts_dir.clone(),
        }
    }

    /// Applies these settings to a request made from the project's settings.
    pub fn apply(&self, req: &mut crate::engine::BuildRequest) {
        req.image.clone_from(&self.image);
        req.privileged = self.privileged;
        req.local.docker_socket = self.docker_socket;
        req.local.mount_source = self.mount_source;
        if self.timeout_secs > 0 {
            req.local.timeout = std::time::Duration::from_secs(self.timeout_secs);
        }
        req.local.artifacts_dir.clone_from(&self.artifacts_dir);
    }
}

impl BatchRecord {
    /// Where the record of `batch_id` lives in `source_dir`.
    #[must_use]
    pub fn path(source_dir: &Path, batch_id: &BatchId) -> PathBuf {
        source_dir
            .join(".cbdash/batches")
            .join(format!("{}.json", batch_id.uuid()))
    }

    /// Writes the record (through a temporary file, so a reader never sees half of it).
    pub fn save(&self) -> Result<(), LocalError> {
        let path = Self::path(&self.source_dir, &self.batch_id);
        let err = |what: &str, e: std::io::Error| LocalError::Source {
            what: format!("{what} {}", path.display()),
            source: Some(Box::new(e)),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err("cannot create", e))?;
        }
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| err("cannot write", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("cannot write", e))
    }

    /// Reads the record of `batch_id` in `source_dir`, if there is one.
    pub fn load(source_dir: &Path, batch_id: &BatchId) -> Result<Option<Self>, LocalError> {
        let path = Self::path(source_dir, batch_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(LocalError::Source {
                    what: format!("cannot read {}", path.display()),
                    source: Some(Box::new(e)),
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| LocalError::NotResumable(format!("{} is damaged: {e}", path.display())))
    }
}

/// The batches recorded in `source_dir` whose id is `id` or whose uuid starts with it
/// (4 characters or more), as for build ids.
#[must_use]
pub fn matching(source_dir: &Path, id: &str) -> Vec<BatchId> {
    let uuid = id.split_once(':').map_or(id, |(_, u)| u);
    if uuid.len() < 4 {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(source_dir.join(".cbdash/batches")) else {
        return Vec::new();
    };
    let mut found: Vec<BatchId> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?.to_owned();
            stem.starts_with(uuid).then_some(stem)
        })
        .filter_map(|stem| {
            let path = source_dir
                .join(".cbdash/batches")
                .join(format!("{stem}.json"));
            let text = std::fs::read_to_string(path).ok()?;
            serde_json::from_str::<BatchRecord>(&text)
                .ok()
                .map(|r| r.batch_id)
        })
        .filter(|b| !id.contains(':') || b.as_str() == id)
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BuildId, NodeStatus, Status};

    #[test]
    fn a_record_round_trips_and_is_found_by_prefix() {
        let dir = tempfile::tempdir().expect("tmp");
        let batch_id = BatchId("demo:0f3a9c1e-0000-4000-8000-000000000001".into());
        let rec = BatchRecord {
            batch_id: batch_id.clone(),
            project: "demo".into(),
            source_dir: dir.path().to_path_buf(),
            buildspec: dir.path().join("buildspec.yml"),
            kind: BatchKind::Graph,
            fast_fail: false,
            nodes: vec![BatchResult {
                identifier: "compile".into(),
                build_id: Some(BuildId("demo:1".into())),
                status: NodeStatus::Is(Status::Failed),
                attempt: 1,
                duration_ms: Some(12),
            }],
            run_ms: 12,
            settings: RunSettings::default(),
        };
        rec.save().expect("save");
        assert_eq!(
            BatchRecord::load(dir.path(), &batch_id).expect("load"),
            Some(rec)
        );
        assert_eq!(
            matching(dir.path(), "0f3a9c"),
            std::slice::from_ref(&batch_id)
        );
        assert_eq!(matching(dir.path(), batch_id.as_str()), [batch_id]);
        assert!(matching(dir.path(), "0f3").is_empty(), "too short a prefix");
        assert!(matching(dir.path(), "other:0f3a9c1e").is_empty());
    }
}
