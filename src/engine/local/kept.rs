//! The record of a kept build: what another cbdash process needs to resume it in place, or to
//! open a shell in it.
//!
//! A kept container carries the labels `cbdash.keep` and `cbdash.source-dir`; the record lives
//! next to the project's other state, in `<source-dir>/.cbdash/kept/<build-uuid>.json`. So the
//! Docker daemon is the index (find the container by its build-id label), and the record says
//! how the build stood: its container, request, start time and every phase's attempts and
//! last status. No secret value is written here: only the names of the variables to mask,
//! whose values are read back from the container's saved shell state on resume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Keep;
use crate::model::{PhaseKind, Status};

use super::LocalError;

/// How one phase stands after the runs so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// Attempts run, across the build and its resumes (the last one shown is this number).
    pub attempts: u32,
    /// How the last attempt ended.
    pub status: Status,
}

/// What a resume needs from the build it continues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptBuild {
    pub build_id: String,
    pub project: String,
    pub container_id: String,
    pub container_name: String,
    pub image: String,
    /// The project directory on the host (absolute).
    pub source_dir: PathBuf,
    /// The buildspec file on the host (absolute), reloaded on every resume.
    pub buildspec: PathBuf,
    /// `CODEBUILD_SRC_DIR` in the container.
    pub src_dir: String,
    pub artifacts_dir: PathBuf,
    /// When the build started (ms since the epoch); `CODEBUILD_START_TIME`.
    pub start_ms: i64,
    /// Host files changed after this time (ms) are copied in on the next resume: the build's
    /// start, then the start of each resume's copy.
    pub synced_ms: i64,
    pub mount_source: bool,
    pub keep: Keep,
    pub idle_secs: u64,
    pub timeout_secs: u64,
    /// The names of variables whose values are masked (`--secret`, Parameter Store, Secrets
    /// Manager); their values are in the container's shell state, never in this file.
    pub secret_names: Vec<String>,
    pub phases: BTreeMap<PhaseKind, PhaseRecord>,
    /// The build's status after its last run.
    pub status: Status,
    /// When the build was last run, resumed or shelled into (ms since the epoch).
    pub last_used_ms: i64,
    /// The pid of a process resuming it right now (the idle timer does not apply).
    #[serde(default)]
    pub busy_pid: Option<u32>,
    /// How long its runs took in all (ms): the build, then each resume. A resumed build's
    /// duration is this sum, not the time from its first start to its last end, which would
    /// count the time the container sat idle while the user fixed the failure. (0 in records
    /// written before it was kept: the resume then counts only itself.)
    #[serde(default)]
    pub run_ms: u64,
}

/// The phases a resume can start from: those that begin with a saved shell state.
pub const RESUMABLE: [PhaseKind; 6] = [
    PhaseKind::Install,
    PhaseKind::PreBuild,
    PhaseKind::Build,
    PhaseKind::PostBuild,
    PhaseKind::UploadArtifacts,
    PhaseKind::Finalizing,
];

impl KeptBuild {
    /// Where the record of `build_id` (`project:uuid`) is kept for a project.
    #[must_use]
    pub fn path(source_dir: &Path, build_id: &str) -> PathBuf {
        let uuid = build_id.rsplit_once(':').map_or(build_id, |(_, u)| u);
        let safe: String = uuid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        source_dir
            .join(".cbdash")
            .join("kept")
            .join(format!("{safe}.json"))
    }

    /// Reads a record; `None` when there is none (or it cannot be read).
    #[must_use]
    pub fn load(source_dir: &Path, build_id: &str) -> Option<Self> {
        let text = std::fs::read_to_string(Self::path(source_dir, build_id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the record (atomically: a reader never sees half of it).
    pub fn save(&self) -> Result<(), LocalError> {
        let path = Self::path(&self.source_dir, &self.build_id);
        let err =
            |e: super::Cause| LocalError::source_io(format!("cannot save {}", path.display()), e);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.into()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.into()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| err(e.into()))?;
        std::fs::rename(&tmp, &path).map_err(|e| err(e.into()))
    }

    /// Deletes the record of a build (its container is gone).
    pub fn forget(source_dir: &Path, build_id: &str) {
        let path = Self::path(source_dir, build_id);
        let _ = std::fs::remove_file(path.with_extension("files"));
        let _ = std::fs::remove_file(path);
    }

    /// Keeps the list of host files the container's source was last synced with (one path
    /// per line, beside the record: it can be long, and only a resume reads it).
    pub fn save_synced_files(&self, files: &[String]) -> Result<(), LocalError> {
        let path = Self::path(&self.source_dir, &self.build_id).with_extension("files");
        let mut text = String::new();
        for f in files {
            text.push_str(f);
            text.push('\n');
        }
        let tmp = path.with_extension("files.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| LocalError::source_io(format!("cannot save {}", path.display()), e))
    }

    /// The list [`KeptBuild::save_synced_files`] kept; `None` when there is none (a build
    /// kept by an older cbdash, or a bind-mounted source).
    #[must_use]
    pub fn synced_files(&self) -> Option<Vec<String>> {
        let path = Self::path(&self.source_dir, &self.build_id).with_extension("files");
        let text = std::fs::read_to_string(path).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }

    /// The phase a resume starts from by default: the first one whose last attempt failed.
    #[must_use]
    pub fn failed_phase(&self) -> Option<PhaseKind> {
        RESUMABLE.into_iter().find(|p| {
            self.phases
                .get(p)
                .is_some_and(|r| matches!(r.status, Status::Failed | Status::Fault))
        })
    }

    /// Whether a phase before `phase` ended badly (the resumed build keeps failing then).
    #[must_use]
    pub fn failing_before(&self, phase: PhaseKind) -> bool {
        self.phases
            .iter()
            .any(|(p, r)| *p < phase && r.status != Status::Succeeded)
    }

    /// Whether the idle time has passed at `now_ms` (never while a live process resumes it).
    #[must_use]
    pub fn expired(&self, now_ms: i64, alive: impl Fn(u32) -> bool) -> bool {
        if self.busy_pid.is_some_and(alive) {
            return false;
        }
        let idle_ms = i64::try_from(self.idle_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        now_ms.saturating_sub(self.last_used_ms) > idle_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path) -> KeptBuild {
        KeptBuild {
            build_id: "p:0123-abcd".into(),
            project: "p".into(),
            container_id: "c".into(),
            container_name: "cbdash-p-0123".into(),
            image: "img".into(),
            source_dir: dir.to_path_buf(),
            buildspec: dir.join("buildspec.yml"),
            src_dir: "/codebuild/output/src1/src".into(),
            artifacts_dir: dir.join(".cbdash/artifacts/0123-abcd"),
            start_ms: 1000,
            synced_ms: 1000,
            mount_source: false,
            keep: Keep::Failed,
            idle_secs: 60,
            timeout_secs: 3600,
            secret_names: vec!["TOKEN".into()],
            phases: BTreeMap::from([
                (
                    PhaseKind::PreBuild,
                    PhaseRecord {
                        attempts: 1,
                        status: Status::Succeeded,
                    },
                ),
                (
                    PhaseKind::Build,
                    PhaseRecord {
                        attempts: 1,
                        status: Status::Failed,
                    },
                ),
                (
                    PhaseKind::PostBuild,
                    PhaseRecord {
                        attempts: 1,
                        status: Status::Failed,
                    },
                ),
            ]),
            status: Status::Failed,
            last_used_ms: 10_000,
            busy_pid: None,
            run_ms: 0,
        }
    }

    #[test]
    fn saves_and_loads_by_build_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = record(dir.path());
        r.save().expect("save");
        assert!(dir.path().join(".cbdash/kept/0123-abcd.json").is_file());
        assert_eq!(KeptBuild::load(dir.path(), "p:0123-abcd"), Some(r.clone()));
        assert_eq!(r.synced_files(), None);
        r.save_synced_files(&[]).expect("save files");
        assert_eq!(r.synced_files(), Some(vec![]));
        let files = vec!["a b.txt".to_owned(), "src/x.rs".to_owned()];
        r.save_synced_files(&files).expect("save files");
        assert_eq!(r.synced_files(), Some(files));
        KeptBuild::forget(dir.path(), "p:0123-abcd");
        assert_eq!(KeptBuild::load(dir.path(), "p:0123-abcd"), None);
        assert_eq!(r.synced_files(), None);
    }

    #[test]
    fn the_failed_phase_is_the_first_that_failed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = record(dir.path());
        assert_eq!(r.failed_phase(), Some(PhaseKind::Build));
        assert!(!r.failing_before(PhaseKind::Build));
        assert!(r.failing_before(PhaseKind::PostBuild));
    }

    #[test]
    fn idle_time_expires_unless_a_live_process_resumes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = record(dir.path());
        assert!(!r.expired(70_000, |_| false), "exactly 60 s idle");
        assert!(r.expired(70_001, |_| false));
        r.busy_pid = Some(42);
        assert!(!r.expired(70_001, |pid| pid == 42));
        assert!(r.expired(70_001, |_| false), "the resuming process died");
    }
}
