//! Headless output of local builds, shared by `cbdash run`, `cbdash resume` and watch mode:
//! every backend event goes through the [`Pipeline`] (cache tap, history) and is printed as
//! the plain log (then a phase summary per build) or as NDJSON.

use std::io::Write as _;

use tokio::sync::mpsc;

use crate::headless::{ndjson, plain};
use crate::model::{BuildEvent, BuildId, NoticeLevel};

use super::pipeline::Pipeline;

/// Where a build's events are printed.
#[derive(Debug)]
pub struct Output {
    json: bool,
    printer: plain::Printer,
}

impl Output {
    /// Plain text, or NDJSON with `json`.
    #[must_use]
    pub fn new(json: bool) -> Self {
        Self {
            json,
            printer: plain::Printer::default(),
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
            self.printer.feed(ev)
        };
        let mut out = std::io::stdout();
        // A closed stdout (`| head`) must not stop the build or its cleanup.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
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
