//! The miss explainer's rows: what each docker build was given (`docker_inputs`: the
//! Dockerfile and image that identify it, its `BuildInputs` and the reason for its first
//! miss) and, per `COPY`/`ADD` step that ran, the content hash of every file it copied
//! (`copy_hashes`; no contents). Writes and queries in one place, as `writes` / `queries`.

use rusqlite::{OptionalExtension, params};

use super::error::Result;
use super::store::{Store, int};
use crate::cache::{BuildInputs, FileHashes};
use crate::model::{CacheReport, MissReason};

/// The last build of a Dockerfile and image, as the miss explainer compares with it.
#[derive(Clone, Debug)]
pub struct PreviousDockerBuild {
    pub report: CacheReport,
    pub inputs: BuildInputs,
    /// The commit its source resolved to (a cloud build's `resolvedSourceVersion`).
    pub source_version: Option<String>,
}

impl Store {
    /// Records a finished docker build's inputs and the reason found for its first miss.
    pub fn save_docker_inputs(
        &self,
        build_id: &str,
        docker_build: u32,
        image: &str,
        inputs: &BuildInputs,
        reason: Option<&MissReason>,
    ) -> Result<()> {
        let json = serde_json::to_string(inputs).map_err(|e| self.corrupt(e.to_string()))?;
        let reason = reason
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.corrupt(e.to_string()))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO docker_inputs (build_id, docker_build, dockerfile, image,
                     inputs, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    build_id,
                    docker_build,
                    inputs.dockerfile,
                    image,
                    json,
                    reason
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Records the files a `COPY`/`ADD` step (at `position` in the report) copied.
    pub fn save_copy_hashes(
        &self,
        build_id: &str,
        docker_build: u32,
        position: usize,
        instruction: &str,
        files: &FileHashes,
    ) -> Result<()> {
        let json = serde_json::to_string(files).map_err(|e| self.corrupt(e.to_string()))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO copy_hashes (build_id, docker_build, position,
                     instruction, files)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![build_id, docker_build, int(position), instruction, json],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The most recent other build of the same project, Dockerfile and image: its finished
    /// report, its inputs and the commit its source resolved to.
    pub fn previous_docker_build(
        &self,
        project: &str,
        dockerfile: &str,
        image: &str,
        exclude_build: &str,
    ) -> Result<Option<PreviousDockerBuild>> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT c.report, d.inputs, r.source_version FROM docker_inputs d
                 JOIN runs r ON r.build_id = d.build_id
                 JOIN cache_reports c ON c.build_id = d.build_id
                     AND c.docker_build = d.docker_build
                 WHERE r.project = ?1 AND d.dockerfile = ?2 AND d.image = ?3
                     AND d.build_id <> ?4 AND c.finished = 1
                 ORDER BY r.started_at DESC, d.docker_build DESC LIMIT 1",
                params![project, dockerfile, image, exclude_build],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((report, inputs, source_version)) = row else {
            return Ok(None);
        };
        let report = serde_json::from_str(&report)
            .map_err(|e| self.corrupt(format!("cache report: {e}")))?;
        let inputs = serde_json::from_str(&inputs)
            .map_err(|e| self.corrupt(format!("docker inputs: {e}")))?;
        Ok(Some(PreviousDockerBuild {
            report,
            inputs,
            source_version,
        }))
    }

    /// The commit a run's source resolved to, when the history has it.
    pub fn source_version(&self, build_id: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT source_version FROM runs WHERE build_id = ?1",
                params![build_id],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.db(e))
    }

    /// The file hashes recorded the last time another build of the same Dockerfile and image
    /// ran `instruction` (a step that hit since copied the same files).
    pub fn last_copy_hashes(
        &self,
        project: &str,
        dockerfile: &str,
        image: &str,
        instruction: &str,
        exclude_build: &str,
    ) -> Result<Option<FileHashes>> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT h.files FROM copy_hashes h
                 JOIN docker_inputs d ON d.build_id = h.build_id
                     AND d.docker_build = h.docker_build
                 JOIN runs r ON r.build_id = h.build_id
                 WHERE r.project = ?1 AND d.dockerfile = ?2 AND d.image = ?3
                     AND h.instruction = ?4 AND h.build_id <> ?5
                 ORDER BY r.started_at DESC, h.docker_build DESC LIMIT 1",
                params![project, dockerfile, image, instruction, exclude_build],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| self.corrupt(format!("copy hashes: {e}")))
        })
        .transpose()
    }

    /// The reasons recorded for a run's docker builds, by docker build (for views).
    pub fn miss_reasons(&self, build_id: &str) -> Result<Vec<(u32, MissReason)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT docker_build, reason FROM docker_inputs
                 WHERE build_id = ?1 AND reason IS NOT NULL ORDER BY docker_build",
            )
            .map_err(|e| self.db(e))?;
        let rows: Vec<(u32, String)> = stmt
            .query_map(params![build_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        rows.into_iter()
            .map(|(n, j)| {
                serde_json::from_str(&j)
                    .map(|r| (n, r))
                    .map_err(|e| self.corrupt(format!("miss reason: {e}")))
            })
            .collect()
    }
}
