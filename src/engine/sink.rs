//! The bounded channel backends emit into, and the batcher that keeps log floods cheap.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::model::{BuildEvent, BuildId, LogLine};

use super::EngineError;

/// The sending side of a bounded event channel. Sending waits when the receiver lags, which
/// is the back-pressure that keeps a flooding build from growing memory without bound.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: mpsc::Sender<BuildEvent>,
}

impl EventSink {
    /// A sink and its receiver, holding at most `capacity` events in flight.
    #[must_use]
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<BuildEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx }, rx)
    }

    /// Sends one event, waiting for room.
    pub async fn send(&self, event: BuildEvent) -> Result<(), EngineError> {
        self.tx
            .send(event)
            .await
            .map_err(|_| EngineError::SinkClosed)
    }
}

/// Collects log lines and flushes them as one `BuildEvent::Logs` every `max_lines` lines or
/// `max_delay`, whichever comes first.
#[derive(Debug)]
pub struct LogBatcher {
    build_id: BuildId,
    lines: Vec<LogLine>,
    first_at: Option<Instant>,
    max_lines: usize,
    max_delay: Duration,
}

impl LogBatcher {
    /// A batcher with the defaults (256 lines or 50 ms).
    #[must_use]
    pub fn new(build_id: BuildId) -> Self {
        Self {
            build_id,
            lines: Vec::new(),
            first_at: None,
            max_lines: 256,
            max_delay: Duration::from_millis(50),
        }
    }

    /// Adds a line; flushes into `sink` when the batch is full or old enough.
    pub async fn push(&mut self, sink: &EventSink, line: LogLine) -> Result<(), EngineError> {
        self.first_at.get_or_insert_with(Instant::now);
        self.lines.push(line);
        let old = self.first_at.is_some_and(|t| t.elapsed() >= self.max_delay);
        if self.lines.len() >= self.max_lines || old {
            self.flush(sink).await?;
        }
        Ok(())
    }

    /// Sends whatever is pending.
    pub async fn flush(&mut self, sink: &EventSink) -> Result<(), EngineError> {
        self.first_at = None;
        if self.lines.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.lines);
        sink.send(BuildEvent::Logs {
            build_id: self.build_id.clone(),
            lines,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(text: &str) -> LogLine {
        LogLine {
            phase: None,
            stream: LogStream::Stdout,
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn batches_lines_and_flushes_the_rest() {
        let (sink, mut rx) = EventSink::channel(16);
        let mut b = LogBatcher::new(BuildId("p:1".into()));
        for i in 0..300 {
            b.push(&sink, line(&i.to_string())).await.expect("push");
        }
        b.flush(&sink).await.expect("flush");
        drop(sink);
        let mut sizes = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let BuildEvent::Logs { lines, .. } = ev {
                sizes.push(lines.len());
            }
        }
        assert_eq!(sizes.iter().sum::<usize>(), 300);
        assert!(
            sizes.len() <= 2,
            "300 fast lines make at most 2 batches: {sizes:?}"
        );
    }
}
