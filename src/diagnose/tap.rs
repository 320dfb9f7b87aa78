//! The diagnosers applied to a stream of `BuildEvent`s: one [`Diagnoser`] per build, fed with
//! every log line and phase event, turning findings into `BuildEvent::Diagnosis` events right
//! after the event that revealed them. Local and cloud builds go through the same tap.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::model::{BackendKind, BuildEvent, BuildId, Diagnosis, Status};

use super::diagnoser::Diagnoser;
use super::rules::{DiagnoseError, RULES_TOML, Rules};

static BUILTIN: LazyLock<Result<Rules, DiagnoseError>> = LazyLock::new(|| Rules::parse(RULES_TOML));

/// The embedded rule table, compiled once per process.
pub fn builtin() -> Result<&'static Rules, &'static DiagnoseError> {
    BUILTIN.as_ref()
}

/// Derives diagnosis events from build events.
#[derive(Debug)]
pub struct DiagnosisTap {
    rules: &'static Rules,
    builds: HashMap<BuildId, Diagnoser>,
    buildspec: Option<Arc<str>>,
}

impl DiagnosisTap {
    /// A tap with the embedded rules.
    pub fn builtin() -> Result<Self, &'static DiagnoseError> {
        Ok(Self::new(builtin()?))
    }

    /// A tap with these rules.
    #[must_use]
    pub fn new(rules: &'static Rules) -> Self {
        Self {
            rules,
            builds: HashMap::new(),
            buildspec: None,
        }
    }

    /// The buildspec text the builds run (the YAML rule runs the validator on it).
    #[must_use]
    pub fn with_buildspec(mut self, text: Option<String>) -> Self {
        self.buildspec = text.map(Arc::from);
        self
    }

    /// The events to emit for `event`, in order: the event, then the findings it revealed
    /// (findings from a phase's context, and from output read when a phase or the build ends,
    /// come before its `PhaseFinished` or `Finished`).
    pub fn observe(&mut self, event: BuildEvent) -> Vec<BuildEvent> {
        let (found, before) = self.findings(&event);
        if found.is_empty() {
            return vec![event];
        }
        let id = event
            .build_id()
            .cloned()
            .unwrap_or_else(|| BuildId(String::new()));
        Self::with_findings(&id, found, event, before)
    }

    /// What `event` revealed, and whether it goes before the event. (Called for every log
    /// batch: no allocation unless a build is new or something was found.)
    fn findings(&mut self, event: &BuildEvent) -> (Vec<Diagnosis>, bool) {
        let mut found = Vec::new();
        let Some(id) = event.build_id() else {
            return (found, false);
        };
        if let BuildEvent::Finished { status, .. } = event {
            // What the build's last command printed is read now, before the build ends.
            if let Some(mut d) = self.builds.remove(id) {
                d.finish(*status == Status::Succeeded, &mut found);
            }
            return (found, true);
        }
        if !self.builds.contains_key(id) {
            let d = Diagnoser::new(self.rules, self.buildspec.clone());
            self.builds.insert(id.clone(), d);
        }
        if let (
            BuildEvent::Started {
                backend: BackendKind::Local,
                ..
            },
            Some(d),
        ) = (event, self.builds.get_mut(id))
        {
            d.marks_command_lines();
        }
        let Some(d) = self.builds.get_mut(id) else {
            return (found, false);
        };
        let before = match event {
            BuildEvent::PhaseStarted { phase, .. } => {
                d.phase_started(*phase);
                false
            }
            BuildEvent::Logs { lines, .. } => {
                d.lines(lines, &mut found);
                false
            }
            BuildEvent::PhaseFinished {
                phase,
                status,
                context,
                ..
            } => {
                d.phase_finished(*phase, *status, context, &mut found);
                true
            }
            _ => false,
        };
        (found, before)
    }

    /// `event` with the findings it revealed, `before` it or after.
    fn with_findings(
        id: &BuildId,
        found: Vec<Diagnosis>,
        event: BuildEvent,
        before: bool,
    ) -> Vec<BuildEvent> {
        let diagnoses = found.into_iter().map(|diagnosis| BuildEvent::Diagnosis {
            build_id: id.clone(),
            diagnosis,
        });
        if before {
            diagnoses.chain([event]).collect()
        } else {
            std::iter::once(event).chain(diagnoses).collect()
        }
    }
}

/// Every finding in a whole log (the lines of one build, in order), read in batches of
/// `batch` lines as the engine sends them.
#[must_use]
pub fn diagnose_log<'a>(
    rules: &'static Rules,
    lines: impl IntoIterator<Item = &'a crate::model::LogLine>,
    batch: usize,
) -> Vec<Diagnosis> {
    let lines: Vec<_> = lines.into_iter().cloned().collect();
    let mut d = Diagnoser::new(rules, None);
    let mut out = Vec::new();
    for chunk in lines.chunks(batch.max(1)) {
        d.lines(chunk, &mut out);
    }
    // A log that ends inside a command: its exit status is unknown, so every rule may read it.
    d.finish(false, &mut out);
    out
}
