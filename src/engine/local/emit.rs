//! The emitter: the one place the local backend turns what happens into `BuildEvent`s. Every
//! line passes the [`Masker`] here, agent lines get CodeBuild's `[Container] <timestamp>`
//! prefix, and log lines are batched by the [`LogBatcher`].

use chrono::{DateTime, Utc};

use crate::engine::mask::Masker;
use crate::engine::{EventSink, LogBatcher};
use crate::model::{
    BuildEvent, BuildId, LogLine, LogStream, NoticeLevel, PhaseContext, PhaseKind, Status,
};

use super::LocalError;

/// `[Container] 2025/10/12 15:45:10.800318 <text>`, CodeBuild's agent line format.
#[must_use]
pub fn agent_line(at: DateTime<Utc>, text: &str) -> String {
    format!("[Container] {} {text}", at.format("%Y/%m/%d %H:%M:%S%.6f"))
}

/// Sends a build's events, masked and batched.
#[derive(Debug)]
pub struct Emitter {
    sink: EventSink,
    batcher: LogBatcher,
    masker: Masker,
    build_id: BuildId,
    phase: Option<PhaseKind>,
}

impl Emitter {
    /// An emitter for `build_id` into `sink`.
    #[must_use]
    pub fn new(sink: EventSink, build_id: BuildId, masker: Masker) -> Self {
        Self {
            sink,
            batcher: LogBatcher::new(build_id.clone()),
            masker,
            build_id,
            phase: None,
        }
    }

    /// The build's id.
    #[must_use]
    pub const fn build_id(&self) -> &BuildId {
        &self.build_id
    }

    /// The phase running now, if any.
    #[must_use]
    pub const fn phase(&self) -> Option<PhaseKind> {
        self.phase
    }

    /// Adds a secret value to mask from now on (values resolved during the build).
    pub fn add_secret(&mut self, value: &str) {
        self.masker.add(value);
    }

    /// `text` with every secret masked (`***`), for values that leave in an event.
    #[must_use]
    pub fn mask(&self, text: &str) -> String {
        self.masker.mask(text)
    }

    /// Emits a line of command output.
    pub async fn line(&mut self, stream: LogStream, text: &str) -> Result<(), LocalError> {
        self.owned_line(stream, text.to_owned()).await
    }

    /// Emits a line of command output the caller owns (the shell driver's lines: no copy
    /// unless a secret is masked in it).
    pub async fn owned_line(&mut self, stream: LogStream, text: String) -> Result<(), LocalError> {
        let line = LogLine {
            phase: self.phase,
            stream,
            text: self.masker.mask_owned(text),
        };
        self.batcher
            .push(&self.sink, line)
            .await
            .map_err(|_| LocalError::SinkClosed)
    }

    /// Emits an agent line (one per line of `text`, the first with the `[Container]` prefix).
    pub async fn agent(&mut self, text: &str) -> Result<(), LocalError> {
        let mut lines = text.split('\n');
        let first = lines.next().unwrap_or_default();
        let head = agent_line(Utc::now(), first);
        self.line(LogStream::Agent, &head).await?;
        for rest in lines {
            self.line(LogStream::Agent, rest).await?;
        }
        Ok(())
    }

    /// Sends any non-log event, after flushing pending lines so that order is kept.
    pub async fn event(&mut self, ev: BuildEvent) -> Result<(), LocalError> {
        self.flush().await?;
        self.sink.send(ev).await.map_err(|_| LocalError::SinkClosed)
    }

    /// Flushes pending log lines.
    pub async fn flush(&mut self) -> Result<(), LocalError> {
        self.batcher
            .flush(&self.sink)
            .await
            .map_err(|_| LocalError::SinkClosed)
    }

    /// A notice for the user.
    pub async fn notice(&mut self, level: NoticeLevel, message: &str) -> Result<(), LocalError> {
        let message = self.masker.mask(message);
        self.event(BuildEvent::Notice {
            build_id: Some(self.build_id.clone()),
            level,
            message,
        })
        .await
    }

    /// Enters a phase: the event and the `Entering phase` line.
    pub async fn phase_started(
        &mut self,
        phase: PhaseKind,
        attempt: u32,
    ) -> Result<DateTime<Utc>, LocalError> {
        let at = Utc::now();
        self.phase = Some(phase);
        self.event(BuildEvent::PhaseStarted {
            build_id: self.build_id.clone(),
            phase,
            attempt,
            at,
        })
        .await?;
        self.agent(&format!("Entering phase {phase}")).await?;
        Ok(at)
    }

    /// Ends a phase: the `Phase complete` and `Phase context` lines, then the event.
    pub async fn phase_finished(
        &mut self,
        phase: PhaseKind,
        attempt: u32,
        started: DateTime<Utc>,
        status: Status,
        context: PhaseContext,
    ) -> Result<(), LocalError> {
        let context = PhaseContext {
            status_code: context.status_code,
            message: self.masker.mask(&context.message),
        };
        self.agent(&format!("Phase complete: {phase} State: {status}"))
            .await?;
        self.agent(&format!(
            "Phase context status code: {} Message: {}",
            context.status_code, context.message
        ))
        .await?;
        let at = Utc::now();
        let duration_ms = u64::try_from((at - started).num_milliseconds()).unwrap_or(0);
        self.event(BuildEvent::PhaseFinished {
            build_id: self.build_id.clone(),
            phase,
            attempt,
            status,
            duration_ms,
            context,
            at,
        })
        .await
    }
}

impl super::driver::Lines for Emitter {
    async fn line(&mut self, stream: LogStream, text: String) -> Result<(), LocalError> {
        self.owned_line(stream, text).await
    }

    async fn idle(&mut self) -> Result<(), LocalError> {
        self.flush().await
    }
}

/// Keeps a command's stdout and sends its stderr to the log (artifact name expansion).
#[derive(Debug)]
pub struct Capture<'a> {
    pub emit: &'a mut Emitter,
    pub stdout: Vec<String>,
}

impl super::driver::Lines for Capture<'_> {
    async fn line(&mut self, stream: LogStream, text: String) -> Result<(), LocalError> {
        if stream == LogStream::Stdout {
            self.stdout.push(text);
            Ok(())
        } else {
            self.emit.owned_line(stream, text).await
        }
    }

    async fn idle(&mut self) -> Result<(), LocalError> {
        self.emit.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_lines_have_codebuild_timestamps() {
        let at = DateTime::parse_from_rfc3339("2025-10-12T15:45:10.800318Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(
            agent_line(at, "Entering phase BUILD"),
            "[Container] 2025/10/12 15:45:10.800318 Entering phase BUILD"
        );
    }

    #[tokio::test]
    async fn lines_are_masked_before_they_leave() {
        let (sink, mut rx) = EventSink::channel(8);
        let mut e = Emitter::new(sink, BuildId("p:1".into()), Masker::new(["topsecret"]));
        e.line(LogStream::Stdout, "value=topsecret")
            .await
            .expect("line");
        e.agent("Running command echo topsecret")
            .await
            .expect("agent");
        e.flush().await.expect("flush");
        let Some(BuildEvent::Logs { lines, .. }) = rx.recv().await else {
            panic!("expected logs");
        };
        assert_eq!(lines[0].text, "value=***");
        assert!(lines[1].text.ends_with("Running command echo ***"));
        assert!(lines.iter().all(|l| !l.text.contains("topsecret")));
    }
}
