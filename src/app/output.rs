//! Headless output of local builds, shared by `cbdash run`, `cbdash resume` and watch mode:
//! every backend event goes through the [`Pipeline`] (cache tap, history) and is printed as
//! the plain log (then a phase summary per build) or as NDJSON. From a `BatchStarted` to its
//! `BatchFinished` the plain text comes from a [`plain_batch::BatchPrinter`] instead: each
//! line prefixed by its task, then one table for the batch.

use std::io::Write as _;

use tokio::sync::mpsc;

use crate::headless::{ndjson, plain, plain_batch};
use crate::model::{BuildEvent, BuildId, NoticeLevel};

use super::pipeline::Pipeline;

/// Where a build's events are printed.
#[derive(Debug)]
pub struct Output {
    json: bool,
    printer: plain::Printer,
    /// The batch being printed, from its `BatchStarted` to its `BatchFinished`.
    batch: Option<plain_batch::BatchPrinter>,
}

impl Output {
    /// Plain text, or NDJSON with `json`.
    #[must_use]
    pub fn new(json: bool) -> Self {
        Self {
            json,
            printer: plain::Printer::default(),
            batch: None,
        }
    }

    /// Prints the events one backend event becomes.
    pub fn event(&mut self, pipeline: &mut Pipeline, backend_event: BuildEvent) {
        for ev in pipeline.process(backend_event) {
            self.print(&ev);
        }
    }

    /// Prints one event as it is (no pipeline): watch mode's own notices.
    pub fn notice(&mut self, build_id: Option<BuildId>, level: NoticeLevel, message: &str) {
        self.print(&BuildEvent::Notice {
            build_id,
            level,
            message: message.to_owned(),
        });
    }

    fn print(&mut self, ev: &BuildEvent) {
        let text = if self.json {
            ndjson::render(ev)
        } else {
            self.plain(ev)
        };
        let mut out = std::io::stdout();
        // A closed stdout (`| head`) must not stop the build or its cleanup.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// The plain text of an event: a batch's printer routes it while a batch runs.
    fn plain(&mut self, ev: &BuildEvent) -> String {
        if let BuildEvent::BatchStarted {
            batch_id,
            builds,
            backend,
            ..
        } = ev
        {
            self.batch =
                Some(plain_batch::BatchPrinter::new(batch_id.clone(), builds.clone()).on(*backend));
        }
        let Some(batch) = self.batch.as_mut() else {
            return self.printer.feed(ev);
        };
        let text = batch.feed(ev);
        if batch.is_finished() {
            self.batch = None;
        }
        text
    }

    /// After a build: the plain phase summary (when a phase ran), and a fresh printer for
    /// the next build.
    pub fn end_build(&mut self) {
        let printer = std::mem::take(&mut self.printer);
        if !self.json && !printer.rows().is_empty() {
            let mut out = std::io::stdout();
            let _ = out.write_all(printer.summary().as_bytes());
            let _ = out.flush();
        }
    }
}

/// Prints every event of one build until its sender is dropped, then the summary.
pub async fn consume(
    rx: &mut mpsc::Receiver<BuildEvent>,
    pipeline: &mut Pipeline,
    output: &mut Output,
) {
    while let Some(ev) = rx.recv().await {
        output.event(pipeline, ev);
    }
    output.end_build();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendKind, BatchId, BatchKind, BatchMember, BatchNode, DockerAccess};

    fn started(build: &str, batch: Option<&BatchId>) -> BuildEvent {
        BuildEvent::Started {
            build_id: BuildId(build.into()),
            project: "p".into(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: DockerAccess::None,
            batch: batch.map(|b| BatchMember {
                batch_id: b.clone(),
                identifier: "only".into(),
            }),
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_batch_is_printed_by_its_printer_and_what_follows_as_before() {
        let id = BatchId("p:b".into());
        let mut out = Output::new(false);
        let text = out.plain(&BuildEvent::BatchStarted {
            batch_id: id.clone(),
            project: "p".into(),
            backend: BackendKind::Local,
            kind: BatchKind::List,
            builds: vec![BatchNode {
                identifier: "only".into(),
                depends_on: Vec::new(),
                ignore_failure: false,
                label: None,
            }],
            at: chrono::Utc::now(),
        });
        assert_eq!(text, "cbdash: batch p:b (list, 1 build)\n");
        assert_eq!(
            out.plain(&started("p:1", Some(&id))),
            "[only] cbdash: build p:1 on image img\n"
        );
        let table = out.plain(&BuildEvent::BatchFinished {
            batch_id: id,
            status: crate::model::Status::Succeeded.into(),
            duration_ms: 1000,
            builds: Vec::new(),
            at: chrono::Utc::now(),
        });
        assert!(
            table.ends_with("\nBatch SUCCEEDED in 1.0s (p:b)\n"),
            "{table}"
        );
        assert!(out.batch.is_none());
        assert_eq!(
            out.plain(&started("p:2", None)),
            "cbdash: build p:2 on image img\n"
        );
    }
}
