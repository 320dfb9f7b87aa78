//! A local batch: every task of a `batch:` section run as a build of its own (its container,
//! build id, log, phases, history row), in the order the [`Scheduler`] decides, at most
//! `max_parallel` at a time.
//!
//! A task's build is the project's request with the task's settings layered over it (the
//! reference's §1.6 order): its `buildspec`, `env.image`, `env.privileged-mode` and
//! `env.variables` (above the project's and `--env` variables), its own artifacts folder
//! `<artifacts>/<identifier>/`, and the batch's variables (`CODEBUILD_BATCH_BUILD_IDENTIFIER`,
//! `CODEBUILD_INITIATOR` shared). Failed tasks' containers are kept, so `cbdash resume
//! BATCH_ID` resumes each in place from its failed phase and then runs the dependents that were
//! skipped; the batch keeps its id and each node counts its attempts.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::buildspec::BatchTask;
use crate::engine::batch::{Action, Scheduler, Task};
use crate::engine::{BatchContext, BuildRequest, EventSink, Keep};
use crate::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    BuildOutcome, NodeStatus, NoticeLevel, Status,
};

use super::LocalError;
use super::batch_record::BatchRecord;
use super::resume::{ResumeRequest, resume_build};

/// What to run as a batch.
#[derive(Clone, Debug)]
pub struct BatchRequest {
    /// The project's request: its buildspec is the file with the `batch:` section.
    pub base: BuildRequest,
    pub batch_id: BatchId,
    pub kind: BatchKind,
    pub fast_fail: bool,
    pub max_parallel: usize,
    /// Every build of the batch, expanded and validated (`buildspec::Batch::expand`).
    pub tasks: Vec<BatchTask>,
}

/// How a batch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    pub batch_id: BatchId,
    pub status: NodeStatus,
    pub nodes: Vec<BatchResult>,
}

impl BatchOutcome {
    /// The exit code: 0 when the batch succeeded, 1 when it failed or was stopped, 3 when a
    /// task ended in a fault and none failed.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match &self.status {
            NodeStatus::Is(Status::Succeeded) => 0,
            NodeStatus::Is(Status::Failed)
                if self
                    .nodes
                    .iter()
                    .any(|n| n.status == NodeStatus::Is(Status::Fault))
                    && !self
                        .nodes
                        .iter()
                        .any(|n| n.status == NodeStatus::Is(Status::Failed)) =>
            {
                3
            }
            _ => 1,
        }
    }
}

/// Runs a batch from the start.
pub async fn run_batch(
    req: BatchRequest,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BatchOutcome, LocalError> {
    let nodes = req
        .tasks
        .iter()
        .map(|t| BatchResult {
            identifier: t.identifier.clone(),
            build_id: None,
            status: NodeStatus::Pending,
            attempt: 0,
            duration_ms: None,
        })
        .collect();
    let scheduler = Scheduler::new(scheduled(&req.tasks), req.fast_fail, req.max_parallel);
    Runner::new(req, nodes, 0, sink)
        .run(scheduler, &cancel)
        .await
}

/// Resumes a recorded batch: failed tasks resume in place (a fresh build when their
/// container is gone), skipped ones run, succeeded ones stay.
pub async fn resume_batch(
    req: BatchRequest,
    record: BatchRecord,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BatchOutcome, LocalError> {
    let ids: Vec<&str> = req.tasks.iter().map(|t| t.identifier.as_str()).collect();
    let recorded: Vec<&str> = record.nodes.iter().map(|n| n.identifier.as_str()).collect();
    if ids != recorded {
        return Err(LocalError::NotResumable(format!(
            "the batch section changed since batch {} ran (tasks {} then, {} now); run the batch \
             again instead",
            record.batch_id,
            recorded.join(", "),
            ids.join(", ")
        )));
    }
    let previous: Vec<Status> = record
        .nodes
        .iter()
        .map(|n| match &n.status {
            NodeStatus::Is(s) if s.is_terminal() => *s,
            _ => Status::Stopped,
        })
        .collect();
    let scheduler = Scheduler::resuming(
        scheduled(&req.tasks),
        &previous,
        req.fast_fail,
        req.max_parallel,
    );
    Runner::new(req, record.nodes, record.run_ms, sink)
        .run(scheduler, &cancel)
        .await
}

/// The tasks as the scheduler sees them (`depend-on` names as indices; validation has made
/// sure every name exists).
fn scheduled(tasks: &[BatchTask]) -> Vec<Task> {
    tasks
        .iter()
        .map(|t| Task {
            identifier: t.identifier.clone(),
            depends_on: t
                .depend_on
                .iter()
                .filter_map(|(name, _)| tasks.iter().position(|o| &o.identifier == name))
                .collect(),
            ignore_failure: t.ignore_failure,
        })
        .collect()
}

/// One batch run in progress.
struct Runner {
    req: BatchRequest,
    sink: EventSink,
    nodes: Vec<BatchResult>,
    tokens: Vec<CancellationToken>,
    started: Vec<Option<Instant>>,
    running: JoinSet<(usize, Result<BuildOutcome, LocalError>)>,
    clock: Instant,
    earlier_ms: u64,
}

impl Runner {
    fn new(req: BatchRequest, nodes: Vec<BatchResult>, earlier_ms: u64, sink: EventSink) -> Self {
        let n = req.tasks.len();
        Self {
            req,
            sink,
            nodes,
            tokens: vec![CancellationToken::new(); n],
            started: vec![None; n],
            running: JoinSet::new(),
            clock: Instant::now(),
            earlier_ms,
        }
    }

    async fn run(
        mut self,
        mut scheduler: Scheduler,
        cancel: &CancellationToken,
    ) -> Result<BatchOutcome, LocalError> {
        self.send(self.started_event()).await?;
        let mut actions = scheduler.ready_to_start();
        let mut stopping = false;
        loop {
            for action in std::mem::take(&mut actions) {
                self.act(action).await?;
            }
            if scheduler.is_done() && self.running.is_empty() {
                break;
            }
            if self.running.is_empty() && !stopping {
                // Nothing runs and nothing can start: tasks wait for each other. Validation
                // rejects such a graph; this keeps a missed case from waiting forever.
                return Err(LocalError::InvalidBuildspec(
                    "the batch's remaining tasks wait for each other (a depend-on cycle)".into(),
                ));
            }
            tokio::select! {
                () = cancel.cancelled(), if !stopping => {
                    stopping = true;
                    actions = scheduler.stop();
                }
                Some(joined) = self.running.join_next() => {
                    let (i, result) = joined.map_err(|e| LocalError::Exec {
                        what: format!("a batch task panicked: {e}"),
                        source: None,
                    })?;
                    let status = self.ended(i, result).await?;
                    actions = scheduler.finished(i, status);
                }
            }
        }
        self.finish(scheduler.status()).await
    }

    async fn act(&mut self, action: Action) -> Result<(), LocalError> {
        match action {
            Action::Start(i) => self.start(i).await,
            Action::Cancel(i) => {
                self.tokens[i].cancel();
                Ok(())
            }
            Action::Skip(i, status) => {
                self.nodes[i].status = status.into();
                self.node_event(i).await?;
                self.save();
                Ok(())
            }
        }
    }

    /// Starts task `i`: a resume in place when its last build failed and was kept, else a
    /// fresh build.
    async fn start(&mut self, i: usize) -> Result<(), LocalError> {
        let resume = match (&self.nodes[i].status, &self.nodes[i].build_id) {
            (NodeStatus::Is(s), Some(id)) if *s != Status::Stopped && *s != Status::Succeeded => {
                Some(id.clone())
            }
            _ => None,
        };
        let token = CancellationToken::new();
        self.tokens[i] = token.clone();
        self.started[i] = Some(Instant::now());
        let node = &mut self.nodes[i];
        node.attempt += 1;
        node.status = Status::InProgress.into();
        let build_id = resume
            .clone()
            .unwrap_or_else(|| BuildId::new_for(&self.req.base.project));
        node.build_id = Some(build_id.clone());
        let req = self.child_request(i, build_id.clone());
        self.node_event(i).await?;
        let sink = self.sink.clone();
        self.running.spawn(async move {
            let outcome = match resume {
                Some(id) => {
                    let resumed = ResumeRequest {
                        build_id: id.to_string(),
                        phase: None,
                        batch: req.batch.clone(),
                    };
                    match Box::pin(resume_build(resumed, sink.clone(), token.clone())).await {
                        // The kept container is gone: the task runs again from the start.
                        Err(e) if e.needs_fresh_build() => {
                            Box::pin(super::run_build(req, sink, token)).await
                        }
                        other => other,
                    }
                }
                None => Box::pin(super::run_build(req, sink, token)).await,
            };
            (i, outcome)
        });
        Ok(())
    }

    /// The build of task `i`: the project's request with the task's settings over it.
    fn child_request(&self, i: usize, build_id: BuildId) -> BuildRequest {
        let task = &self.req.tasks[i];
        let base = &self.req.base;
        let source_dir = base
            .source_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let mut req = base.clone();
        if let Some(spec) = &task.buildspec {
            req.buildspec = Some(source_dir.join(spec));
        }
        if let Some(image) = &task.env.image {
            req.image = Some(image.clone());
        }
        if let Some(p) = task.env.privileged_mode {
            req.privileged = p;
        }
        for (name, value) in &task.env.variables {
            super::envvars::set(&mut req.env, name, value);
        }
        let root = base.local.artifacts_dir.clone().unwrap_or_else(|| {
            source_dir
                .join(".cbdash/artifacts")
                .join(self.req.batch_id.uuid())
        });
        req.local.artifacts_dir = Some(root.join(&task.identifier));
        // A failed task is kept for `cbdash resume BATCH_ID`; one whose failure is ignored is
        // never resumed, so nothing of it stays.
        if req.local.keep == Keep::Never && !task.ignore_failure {
            req.local.keep = Keep::Failed;
        }
        let shard = (self.req.kind == BatchKind::Fanout).then(|| {
            let count = u32::try_from(self.req.tasks.len()).unwrap_or(u32::MAX);
            (u32::try_from(i + 1).unwrap_or(u32::MAX), count)
        });
        req.batch = Some(BatchContext {
            member: BatchMember {
                batch_id: self.req.batch_id.clone(),
                identifier: task.identifier.clone(),
            },
            shard,
            build_id: Some(build_id),
        });
        req
    }

    /// Task `i`'s build ended: its status (an engine error is a fault of that task, said in a
    /// notice; the batch goes on).
    async fn ended(
        &mut self,
        i: usize,
        result: Result<BuildOutcome, LocalError>,
    ) -> Result<Status, LocalError> {
        let status = match result {
            Ok(outcome) => outcome.status,
            Err(e) => {
                let message = format!(
                    "task {} could not run: {}",
                    self.req.tasks[i].identifier,
                    crate::engine::error_chain(&e)
                );
                self.send(BuildEvent::Notice {
                    build_id: self.nodes[i].build_id.clone(),
                    level: NoticeLevel::Error,
                    message,
                })
                .await?;
                Status::Fault
            }
        };
        let node = &mut self.nodes[i];
        node.status = status.into();
        node.duration_ms = self.started[i].map(|t| millis(t.elapsed()));
        self.node_event(i).await?;
        self.save();
        Ok(status)
    }

    async fn finish(mut self, status: NodeStatus) -> Result<BatchOutcome, LocalError> {
        self.save();
        let duration_ms = self.earlier_ms + millis(self.clock.elapsed());
        self.send(BuildEvent::BatchFinished {
            batch_id: self.req.batch_id.clone(),
            status: status.clone(),
            duration_ms,
            builds: self.nodes.clone(),
            at: Utc::now(),
        })
        .await?;
        Ok(BatchOutcome {
            batch_id: self.req.batch_id.clone(),
            status,
            nodes: std::mem::take(&mut self.nodes),
        })
    }

    fn started_event(&self) -> BuildEvent {
        BuildEvent::BatchStarted {
            batch_id: self.req.batch_id.clone(),
            project: self.req.base.project.clone(),
            backend: BackendKind::Local,
            kind: self.req.kind,
            builds: self
                .req
                .tasks
                .iter()
                .map(|t| BatchNode {
                    identifier: t.identifier.clone(),
                    depends_on: t.depend_on.iter().map(|(n, _)| n.clone()).collect(),
                    ignore_failure: t.ignore_failure,
                    label: t.label.clone(),
                })
                .collect(),
            at: Utc::now(),
        }
    }

    async fn node_event(&self, i: usize) -> Result<(), LocalError> {
        let node = &self.nodes[i];
        self.send(BuildEvent::BatchBuild {
            batch_id: self.req.batch_id.clone(),
            identifier: node.identifier.clone(),
            build_id: node.build_id.clone().filter(|_| node.attempt > 0),
            status: node.status.clone(),
            attempt: node.attempt,
            at: Utc::now(),
        })
        .await
    }

    async fn send(&self, ev: BuildEvent) -> Result<(), LocalError> {
        self.sink.send(ev).await.map_err(|_| LocalError::Exec {
            what: "the event receiver went away".into(),
            source: None,
        })
    }

    /// Writes the batch record; a failure is logged (the batch goes on, only its resume is
    /// lost).
    fn save(&self) {
        let base = &self.req.base;
        let source_dir = base
            .source_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let abs = std::fs::canonicalize(&source_dir).unwrap_or(source_dir);
        let record = BatchRecord {
            batch_id: self.req.batch_id.clone(),
            project: base.project.clone(),
            buildspec: base
                .buildspec
                .clone()
                .unwrap_or_else(|| abs.join("buildspec.yml")),
            source_dir: abs,
            kind: self.req.kind,
            fast_fail: self.req.fast_fail,
            nodes: self.nodes.clone(),
            run_ms: self.earlier_ms + millis(self.clock.elapsed()),
            settings: super::batch_record::RunSettings::of(base),
        };
        if let Err(e) = record.save() {
            tracing::warn!("the batch record was not saved: {e}");
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
