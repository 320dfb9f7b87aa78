//! Stepping into a build from the dashboard (issue 18): a local build paused at a breakpoint
//! (`codebuild-breakpoint`, or a failure under `--debug`) and a cloud build's Session Manager
//! debug session. The events set [`Build::debug`](super::state::Build::debug); the build
//! view shows [`DebugStop::status`] in its header, and `e` asks the executor to step in
//! (a shell in the paused container, or `aws ssm start-session` for the cloud target).

use crate::model::{BuildEvent, PhaseKind};

use super::msg::Effect;
use super::state::State;

/// How a build can be stepped into right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// A local build paused at a breakpoint, waiting for `codebuild-resume`.
    Paused {
        phase: PhaseKind,
        command: String,
        on_failure: bool,
    },
    /// A cloud build's debug session: `command` joins it.
    Session { command: String },
}

impl DebugStop {
    /// The first line the build view shows under the phases: what happened and what `e`
    /// does, the essentials first (an 80-column screen cuts the end).
    #[must_use]
    pub fn status(&self, shell_key: &str) -> String {
        match self {
            Self::Paused {
                phase,
                command,
                on_failure,
            } => {
                let why = if *on_failure { " on failure" } else { "" };
                format!(
                    "paused at breakpoint{why}: {shell_key} shell there · codebuild-resume goes \
                     on · {phase}: {command}"
                )
            }
            Self::Session { .. } => format!(
                "debug session: {shell_key} joins it (needs the Session Manager plugin), with"
            ),
        }
    }

    /// The lines under [`Self::status`], wrapped to `width`: a debug session's command in
    /// full (it is what a user copies), nothing for a pause.
    #[must_use]
    pub fn detail(&self, width: usize) -> Vec<String> {
        match self {
            Self::Paused { .. } => Vec::new(),
            Self::Session { command } => {
                let safe = super::sanitize::plain(&super::sanitize::sanitize(command)).into_owned();
                super::fit::wrap(&safe, width.saturating_sub(4).max(1))
            }
        }
    }
}

/// How many rows the build view gives the open build's debug line(s) at this inner width.
#[must_use]
pub fn rows(stop: Option<&DebugStop>, width: u16) -> u16 {
    stop.map_or(0, |s| {
        1 + u16::try_from(s.detail(usize::from(width)).len()).unwrap_or(0)
    })
}

/// Folds a `Breakpoint`, `Resumed` or `DebugSession` event into the build it is about (no
/// effect follows: `e` steps in when the user asks).
pub fn on_event(state: &mut State, ev: BuildEvent) -> Vec<Effect> {
    let Some(b) = ev.build_id().and_then(|id| state.builds.get_mut(id)) else {
        return Vec::new();
    };
    if b.ended.is_some() {
        return Vec::new();
    }
    b.debug = match ev {
        BuildEvent::Breakpoint {
            phase,
            command,
            on_failure,
            ..
        } => Some(DebugStop::Paused {
            phase,
            command,
            on_failure,
        }),
        BuildEvent::DebugSession { command, .. } => Some(DebugStop::Session { command }),
        _ => None,
    };
    Vec::new()
}

/// The open build's debug session command, when it is a cloud build that has one.
#[must_use]
pub fn session_command(state: &State) -> Option<String> {
    match &state.build()?.debug {
        Some(DebugStop::Session { command }) => Some(command.clone()),
        _ => None,
    }
}
