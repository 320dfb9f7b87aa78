//! The analyzer applied to a stream of `BuildEvent`s: one [`Analyzer`] per build, fed with
//! every log line, turning what it finds into `BuildEvent::Cache` events. Local and cloud
//! builds go through the same tap, so both get cache reports. Pure: the caller passes the
//! clock (milliseconds on any monotonic scale), which the legacy builder's step durations need.

use std::collections::HashMap;

use crate::model::{BuildEvent, BuildId, LogStream};

use super::Analyzer;

/// Derives cache events from log events.
#[derive(Debug, Default)]
pub struct CacheTap {
    analyzers: HashMap<BuildId, Analyzer>,
}

impl CacheTap {
    /// A tap with no build open.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The events to emit for `event`, in order: the event itself, with the cache reports its
    /// log lines produced after it; for `Finished`, the last reports come before it, so a
    /// consumer that stops at `build_finished` has seen every report.
    pub fn observe(&mut self, event: BuildEvent, now_ms: u64) -> Vec<BuildEvent> {
        match &event {
            BuildEvent::Logs { build_id, lines } => {
                let analyzer = self.analyzers.entry(build_id.clone()).or_default();
                let mut reports = Vec::new();
                for line in lines {
                    // The local engine's further lines of a multi-line command: command text.
                    if line.stream == LogStream::Agent && !line.text.starts_with("[Container]") {
                        analyzer.command_line(&line.text);
                        continue;
                    }
                    reports.extend(analyzer.feed_at(&line.text, now_ms));
                }
                let id = build_id.clone();
                let mut out = vec![event];
                out.extend(cache_events(&id, reports));
                out
            }
            BuildEvent::Finished { build_id, .. } => {
                let reports = self
                    .analyzers
                    .remove(build_id)
                    .map(|mut a| a.finish())
                    .unwrap_or_default();
                let mut out: Vec<_> = cache_events(build_id, reports).collect();
                out.push(event);
                out
            }
            _ => vec![event],
        }
    }
}

fn cache_events(
    build_id: &BuildId,
    reports: Vec<crate::model::CacheReport>,
) -> impl Iterator<Item = BuildEvent> {
    let build_id = build_id.clone();
    reports.into_iter().map(move |report| BuildEvent::Cache {
        build_id: build_id.clone(),
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogLine, Status};

    fn logs(id: &BuildId, text: &[&str]) -> BuildEvent {
        BuildEvent::Logs {
            build_id: id.clone(),
            lines: text
                .iter()
                .map(|t| LogLine {
                    phase: None,
                    stream: LogStream::Stdout,
                    text: (*t).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_legacy_build_in_the_log_becomes_cache_events_before_finished() {
        let id = BuildId("p:1".into());
        let mut tap = CacheTap::new();
        let mut all = Vec::new();
        all.extend(tap.observe(
            logs(
                &id,
                &[
                    "Step 1/3 : FROM base",
                    " ---> 1234",
                    "Step 2/3 : RUN echo one",
                    " ---> Using cache",
                    " ---> abcd",
                    "Step 3/3 : COPY a /a",
                    " ---> Running in 99",
                    " ---> ef01",
                    "Successfully built ef01",
                    "Successfully tagged app:1",
                ],
            ),
            10,
        ));
        all.extend(tap.observe(
            BuildEvent::Finished {
                build_id: id.clone(),
                status: Status::Succeeded,
                duration_ms: 5,
                at: chrono::DateTime::UNIX_EPOCH,
                exported_variables: std::collections::BTreeMap::new(),
            },
            20,
        ));
        let finished = all
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Cache { report, .. } if report.finished => Some(report),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert_eq!(finished.len(), 1, "one finished report: {all:?}");
        assert_eq!(finished[0].steps_total, 2);
        assert_eq!(finished[0].steps_cached, 1);
        assert_eq!(
            finished[0].first_miss.as_ref().map(|m| m.step),
            Some(3),
            "the COPY missed"
        );
        assert!(matches!(all.last(), Some(BuildEvent::Finished { .. })));
    }

    #[test]
    fn ordinary_output_makes_no_cache_events() {
        let id = BuildId("p:2".into());
        let mut tap = CacheTap::new();
        let out = tap.observe(logs(&id, &["hello", "world"]), 0);
        assert_eq!(out.len(), 1);
    }
}
