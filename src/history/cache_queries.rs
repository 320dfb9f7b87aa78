//! Reading the layer-cache history of one Dockerfile: which Dockerfiles a project built (told
//! apart by the image they tagged), and the last builds of one, step by step, for
//! `cache::overview`. Reads only: the rows are those `writes::save_cache_report` keeps
//! (`cache_reports` with the report as JSON, `cache_steps` per finished step).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::error::Result;
use super::store::{Store, uint};
use crate::cache::{DockerfileHistory, PastDockerBuild, PastStep};
use crate::model::CacheReport;

/// A Dockerfile a project built: the image its builds tagged, or, for builds without a tag,
/// which docker build of the log it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DockerfileKey {
    pub image: Option<String>,
    /// For builds without a tag: which docker build of its log (from 0).
    pub docker_build: Option<u32>,
    /// Finished docker builds recorded.
    pub builds: u32,
    /// When the newest started.
    pub last_started_at: String,
}

/// Which Dockerfile's builds to read: a project's (on a backend), told apart by the image
/// they tagged or, without one, by which docker build of the log it was.
struct Which<'a> {
    project: &'a str,
    backend: Option<&'a str>,
    image: Option<&'a str>,
    docker_build: Option<u32>,
}

/// The last build to read: a run (by when it started) and its docker build.
struct Until<'a> {
    started_at: &'a str,
    build_id: &'a str,
    docker_build: u32,
}

impl Store {
    /// The Dockerfiles of a project's runs on `backend`, most recently built first.
    pub fn dockerfiles(&self, project: &str, backend: Option<&str>) -> Result<Vec<DockerfileKey>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.image, CASE WHEN c.image IS NULL THEN c.docker_build END AS nth,
                     COUNT(*), MAX(r.started_at)
                 FROM cache_reports c JOIN runs r ON r.build_id = c.build_id
                 WHERE r.project = ?1 AND (?2 IS NULL OR r.backend = ?2) AND c.finished = 1
                 GROUP BY c.image, nth ORDER BY MAX(r.started_at) DESC",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![project, backend], |r| {
            Ok(DockerfileKey {
                image: r.get(0)?,
                docker_build: r.get(1)?,
                builds: r.get(2)?,
                last_started_at: r.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.db(e))
    }

    /// The project, backend and Dockerfiles of one run (what the dashboard's `x` shows);
    /// `None` when the run is not in the history.
    pub fn run_dockerfiles(
        &self,
        build_id: &str,
    ) -> Result<Option<(String, String, Vec<DockerfileKey>)>> {
        let run: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT project, backend FROM runs WHERE build_id = ?1",
                params![build_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((project, backend)) = run else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT image, docker_build FROM cache_reports
                 WHERE build_id = ?1 AND finished = 1 ORDER BY docker_build",
            )
            .map_err(|e| self.db(e))?;
        let built: Vec<(Option<String>, u32)> = stmt
            .query_map(params![build_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        let all = self.dockerfiles(&project, Some(&backend))?;
        let keys = built
            .into_iter()
            .filter_map(|(image, nth)| {
                all.iter()
                    .find(|k| match &image {
                        Some(_) => k.image == image,
                        None => k.image.is_none() && k.docker_build == Some(nth),
                    })
                    .cloned()
            })
            .fold(Vec::new(), |mut acc: Vec<DockerfileKey>, k| {
                if !acc.contains(&k) {
                    acc.push(k);
                }
                acc
            });
        Ok(Some((project, backend, keys)))
    }

    /// The last `n` finished docker builds of one Dockerfile of a project, oldest first,
    /// with their steps.
    pub fn dockerfile_history(
        &self,
        project: &str,
        backend: Option<&str>,
        key: &DockerfileKey,
        n: usize,
    ) -> Result<DockerfileHistory> {
        let which = Which {
            project,
            backend,
            image: key.image.as_deref(),
            docker_build: key.docker_build,
        };
        self.history_of(&which, None, n)
    }

    /// The history of one docker build's Dockerfile up to it (it is the newest of the `n`
    /// builds, the earlier ones before it): what the dashboard's cache panel shows for a build,
    /// live or opened from the history. `None` when the run or that finished docker build is
    /// not recorded.
    pub fn docker_build_history(
        &self,
        build_id: &str,
        docker_build: u32,
        n: usize,
    ) -> Result<Option<DockerfileHistory>> {
        let row: Option<(String, String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT r.project, r.backend, r.started_at, c.image
                 FROM cache_reports c JOIN runs r ON r.build_id = c.build_id
                 WHERE c.build_id = ?1 AND c.docker_build = ?2 AND c.finished = 1",
                params![build_id, docker_build],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((project, backend, started_at, image)) = row else {
            return Ok(None);
        };
        let which = Which {
            project: &project,
            backend: Some(&backend),
            docker_build: image.is_none().then_some(docker_build),
            image: image.as_deref(),
        };
        let until = Until {
            started_at: &started_at,
            build_id,
            docker_build,
        };
        self.history_of(&which, Some(&until), n).map(Some)
    }

    /// The last `n` finished docker builds of `which` (up to `until`), oldest first.
    fn history_of(
        &self,
        which: &Which<'_>,
        until: Option<&Until<'_>>,
        n: usize,
    ) -> Result<DockerfileHistory> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.build_id, c.docker_build, r.started_at, r.status, c.steps_total,
                     c.steps_cached, c.report
                 FROM cache_reports c JOIN runs r ON r.build_id = c.build_id
                 WHERE r.project = ?1 AND (?2 IS NULL OR r.backend = ?2) AND c.finished = 1
                     AND c.image IS ?3 AND (?3 IS NOT NULL OR c.docker_build = ?4)
                     AND (?6 IS NULL OR r.started_at < ?6
                          OR (r.build_id = ?7 AND c.docker_build <= ?8))
                 ORDER BY r.started_at DESC, c.docker_build DESC LIMIT ?5",
            )
            .map_err(|e| self.db(e))?;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let rows: Vec<(String, u32, String, String, u32, u32, String)> = stmt
            .query_map(
                params![
                    which.project,
                    which.backend,
                    which.image,
                    which.docker_build,
                    n,
                    until.map(|u| u.started_at),
                    until.map(|u| u.build_id),
                    until.map(|u| u.docker_build),
                ],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        let mut builds = Vec::with_capacity(rows.len());
        for (build_id, nth, started_at, status, total, cached, json) in rows.into_iter().rev() {
            // The stored report says what the step rows do not: stages, platforms, the first
            // miss and its reason. A report an older or newer cbdash wrote may not parse:
            // its steps still count.
            let report: Option<CacheReport> = serde_json::from_str(&json).ok();
            let steps = self.past_steps(&build_id, nth, report.as_ref())?;
            let miss = report.as_ref().and_then(|r| r.first_miss.as_ref());
            builds.push(PastDockerBuild {
                build_id,
                started_at,
                status,
                steps_total: total,
                steps_cached: cached,
                steps,
                first_miss: miss.map(|m| m.instruction.clone()),
                reason: miss.and_then(|m| m.reason.clone()),
            });
        }
        Ok(DockerfileHistory {
            project: which.project.to_owned(),
            image: which.image.map(str::to_owned),
            docker_build: which.docker_build,
            builds,
        })
    }

    fn past_steps(
        &self,
        build_id: &str,
        docker_build: u32,
        report: Option<&CacheReport>,
    ) -> Result<Vec<PastStep>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT position, instruction, cached, duration_ms FROM cache_steps
                 WHERE build_id = ?1 AND docker_build = ?2 ORDER BY position",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![build_id, docker_build], |r| {
            let position: u32 = r.get(0)?;
            let step = report.and_then(|rep| rep.steps.get(position as usize));
            Ok(PastStep {
                position,
                stage: step.and_then(|s| s.stage.clone()),
                platform: step.and_then(|s| s.platform.clone()),
                instruction: r.get(1)?,
                cached: r.get(2)?,
                duration_ms: r.get::<_, Option<i64>>(3)?.map(uint),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.db(e))
    }
}
