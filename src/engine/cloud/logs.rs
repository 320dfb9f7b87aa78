//! The CloudWatch Logs tailer of one build.
//!
//! GetLogEvents from the head (`startFromHead=true`), following `nextForwardToken`. Pages may
//! be empty before the end of the stream, so only a token that comes back unchanged means
//! "caught up"; the tail ends when that happens AFTER the build has ended. The build's state
//! (log location, ended or not) comes from the poller through a `watch` channel.
//!
//! `--live-tail` first catches up with GetLogEvents, then reads StartLiveTail's event stream;
//! any error there falls back to GetLogEvents polling from the last token, with a `Notice`.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineError, EventSink, LogBatcher};
use crate::model::{BuildEvent, BuildId, LogLine, NoticeLevel, PhaseKind};

use super::CloudError;
use super::client::classify;
use super::schedule::{Intervals, backoff_delay, random_jitter};
use super::snapshot::LogLocation;

/// What the tailer knows about its build, published by the poller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TailInfo {
    pub location: Option<LogLocation>,
    pub ended: bool,
}

/// Turns CloudWatch messages into log lines, remembering the phase from the agent's
/// `[Container] ... Entering phase X` lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    phase: Option<PhaseKind>,
}

impl LineSplitter {
    /// The lines of one CloudWatch event (which may hold several, and ends with a newline).
    pub fn lines(&mut self, message: &str) -> Vec<LogLine> {
        message
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(i, l)| !(l.is_empty() && *i > 0))
            .map(|(_, text)| {
                if text.starts_with("[Container]")
                    && let Some(rest) = text.split("Entering phase ").nth(1)
                {
                    self.phase = PhaseKind::from_api(rest.trim()).or(self.phase);
                }
                LogLine::from_log(self.phase, text)
            })
            .collect()
    }
}

/// One GetLogEvents page.
#[derive(Debug)]
pub struct Page {
    pub messages: Vec<(i64, String)>,
    pub token: Option<String>,
    /// The token came back as sent: the stream has nothing more for now.
    pub caught_up: bool,
}

/// Reads one page after `token` (from the head when `None`).
pub async fn get_page(
    client: &aws_sdk_cloudwatchlogs::Client,
    group_label: &str,
    loc: &LogLocation,
    token: Option<&str>,
) -> Result<Page, CloudError> {
    let out = client
        .get_log_events()
        .log_group_name(&loc.group)
        .log_stream_name(&loc.stream)
        .start_from_head(true)
        .set_next_token(token.map(str::to_owned))
        .send()
        .await
        .map_err(|e| classify("GetLogEvents", group_label, &e))?;
    let next = out.next_forward_token().map(str::to_owned);
    Ok(Page {
        caught_up: next.is_none() || next.as_deref() == token,
        messages: out
            .events()
            .iter()
            .map(|e| {
                (
                    e.timestamp().unwrap_or_default(),
                    e.message().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        token: next.or_else(|| token.map(str::to_owned)),
    })
}

/// Tail settings.
#[derive(Clone, Copy, Debug)]
pub struct TailOptions {
    /// Pause between polls once caught up.
    pub poll: Duration,
    pub live_tail: bool,
    pub backoff: Intervals,
}

impl Default for TailOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            live_tail: false,
            backoff: Intervals::default(),
        }
    }
}

/// Tails the log of `build_id` until it is complete (token repeats after the build ended) or
/// `cancel` fires.
pub async fn tail(
    clients: &super::CloudClients,
    build_id: BuildId,
    mut info: watch::Receiver<TailInfo>,
    opts: TailOptions,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<(), EngineError> {
    let Some(loc) = wait_for_location(&mut info, &cancel).await else {
        return Ok(());
    };
    let mut t = Tailer {
        clients,
        loc,
        token: None,
        batcher: LogBatcher::new(build_id.clone()),
        splitter: LineSplitter::default(),
        build_id,
        sink,
        failures: 0,
        gone_noticed: false,
        live_seen: std::collections::HashSet::new(),
    };
    let mut live = opts.live_tail;
    loop {
        let ended_before = info.borrow().ended;
        let page = match get_page(&clients.logs, &clients.group, &t.loc, t.token.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                t.on_error(&e, ended_before, &opts, &mut info, &cancel)
                    .await?;
                if ended_before && matches!(e, CloudError::NotFound { .. }) {
                    break;
                }
                continue;
            }
        };
        t.failures = 0;
        t.gone_noticed = false;
        for (ts, m) in &page.messages {
            // After a live-tail session, its events come again in GetLogEvents: skip them.
            if !t.live_seen.remove(&(*ts, m.clone())) {
                t.emit(m).await?;
            }
        }
        t.token.clone_from(&page.token);
        if !page.caught_up {
            continue; // more pages, possibly after empty ones
        }
        t.batcher.flush(&t.sink).await?;
        if ended_before {
            break;
        }
        if live {
            live = false; // one attempt: on any error the loop polls from here on
            if let Err(e) = t.live(&mut info, &cancel).await {
                t.notice(
                    NoticeLevel::Warning,
                    format!("live tail unavailable ({e}); polling GetLogEvents instead"),
                )
                .await?;
            }
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(opts.poll) => {}
        }
    }
    t.batcher.flush(&t.sink).await
}

async fn wait_for_location(
    info: &mut watch::Receiver<TailInfo>,
    cancel: &CancellationToken,
) -> Option<LogLocation> {
    loop {
        let now = info.borrow_and_update().clone();
        if let Some(loc) = now.location {
            return Some(loc);
        }
        if now.ended {
            return None; // a build that never got a log stream (failed in PROVISIONING)
        }
        tokio::select! {
            () = cancel.cancelled() => return None,
            r = info.changed() => if r.is_err() { return None },
        }
    }
}

struct Tailer<'a> {
    clients: &'a super::CloudClients,
    loc: LogLocation,
    token: Option<String>,
    batcher: LogBatcher,
    splitter: LineSplitter,
    build_id: BuildId,
    sink: EventSink,
    failures: u32,
    /// The stream vanished after it was read, and a notice said so.
    gone_noticed: bool,
    /// (timestamp, message) of events shown by live tail.
    live_seen: std::collections::HashSet<(i64, String)>,
}

impl Tailer<'_> {
    async fn emit(&mut self, message: &str) -> Result<(), EngineError> {
        for line in self.splitter.lines(message) {
            self.batcher.push(&self.sink, line).await?;
        }
        Ok(())
    }

    async fn notice(&self, level: NoticeLevel, message: String) -> Result<(), EngineError> {
        self.sink
            .send(BuildEvent::Notice {
                build_id: Some(self.build_id.clone()),
                level,
                message,
            })
            .await
    }

    /// A failed page: wait (the stream may not exist yet; throttles back off) or give up.
    /// The wait ends early when the build's state changes (it ended: the tail can stop).
    async fn on_error(
        &mut self,
        e: &CloudError,
        ended: bool,
        opts: &TailOptions,
        info: &mut watch::Receiver<TailInfo>,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let delay = match e {
            // Before the first page: the stream is created during PROVISIONING.
            CloudError::NotFound { .. } if self.token.is_none() => opts.poll,
            // It was read before and is gone (deleted mid-tail): say so once, back off.
            CloudError::NotFound { .. } => {
                self.failures += 1;
                let d = backoff_delay(&opts.backoff, self.failures, random_jitter());
                if !self.gone_noticed {
                    self.gone_noticed = true;
                    let msg = format!(
                        "the log stream {}/{} is gone (deleted?): backing off {:.1}s and \
                         retrying until the build ends",
                        self.loc.group,
                        self.loc.stream,
                        d.as_secs_f64()
                    );
                    self.notice(NoticeLevel::Warning, msg).await?;
                }
                d
            }
            e if e.is_retryable() => {
                self.failures += 1;
                let d = backoff_delay(&opts.backoff, self.failures, random_jitter());
                self.notice(
                    NoticeLevel::Warning,
                    format!("{e}: log backing off {:.1}s", d.as_secs_f64()),
                )
                .await?;
                d
            }
            e => return Err(e.clone().into()),
        };
        if !ended {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(delay) => {}
                Ok(()) = info.changed() => {}
            }
        }
        Ok(())
    }

    /// Reads StartLiveTail until the build ends; events at or before the last GetLogEvents
    /// page were already shown, so the live stream only adds what is new.
    async fn live(
        &mut self,
        info: &mut watch::Receiver<TailInfo>,
        cancel: &CancellationToken,
    ) -> Result<(), CloudError> {
        use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream as S;
        let arn = self.loc.group_arn.clone().ok_or_else(|| {
            CloudError::InvalidInput("the build reported no log group ARN".into())
        })?;
        let mut out = self
            .clients
            .logs
            .start_live_tail()
            .log_group_identifiers(arn)
            .log_stream_names(&self.loc.stream)
            .send()
            .await
            .map_err(|e| classify("StartLiveTail", &self.clients.group, &e))?;
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                r = info.changed() => {
                    if r.is_err() || info.borrow().ended { return Ok(()) }
                    continue;
                }
                n = out.response_stream.recv() => n,
            };
            match next {
                Ok(Some(S::SessionUpdate(u))) => {
                    for ev in u.session_results() {
                        let msg = ev.message().unwrap_or_default().to_owned();
                        self.live_seen
                            .insert((ev.timestamp().unwrap_or_default(), msg.clone()));
                        self.emit(&msg).await.map_err(|e| CloudError::Api {
                            operation: "emit".into(),
                            message: e.to_string(),
                        })?;
                    }
                    self.batcher
                        .flush(&self.sink)
                        .await
                        .map_err(|e| CloudError::Api {
                            operation: "emit".into(),
                            message: e.to_string(),
                        })?;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(CloudError::Api {
                        operation: "StartLiveTail".into(),
                        message: "the stream ended".into(),
                    });
                }
                Err(e) => {
                    return Err(CloudError::Api {
                        operation: "StartLiveTail".into(),
                        message: aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e).to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    #[test]
    fn agent_lines_are_tagged_and_phases_followed() {
        let mut s = LineSplitter::default();
        let l = s.lines("[Container] 2024/01/01 00:00:00.1 Entering phase BUILD\n");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].stream, LogStream::Agent);
        assert_eq!(l[0].phase, Some(PhaseKind::Build));
        let l = s.lines("make: ok\r\nsecond\n");
        assert_eq!(
            l.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["make: ok", "second"]
        );
        assert!(
            l.iter()
                .all(|l| l.stream == LogStream::Stdout && l.phase == Some(PhaseKind::Build))
        );
        assert_eq!(s.lines("").len(), 1, "an empty event is one empty line");
    }
}
