//! What the plain output says about stepping into a build (issue 18): a local build paused at
//! a breakpoint (where, how to attach, how to go on), its resume, and a cloud build's debug
//! session (the command that joins it). One line each, printed by [`super::plain::Printer`].

use crate::model::BuildEvent;

/// What the plain log says about a pause, its end, or a cloud debug session: where the build
/// stopped and how to get in and out.
#[must_use]
pub fn debug_line(ev: &BuildEvent) -> Option<String> {
    match ev {
        BuildEvent::Breakpoint {
            phase,
            command,
            attach,
            on_failure,
            ..
        } => {
            let why = if *on_failure {
                format!("--debug: {phase} failed at '{command}'; paused before the phase ends")
            } else {
                format!("paused at a breakpoint in {phase} ('{command}')")
            };
            Some(format!(
                "{why}. Attach with `{attach}`; run `codebuild-resume` there (or in any \
                 `docker exec`) to go on. The build's timeout keeps running; Ctrl-C stops it."
            ))
        }
        BuildEvent::Resumed { .. } => Some("resumed: the build goes on".to_owned()),
        BuildEvent::DebugSession { command, .. } => Some(format!(
            "debug session ready: `{command}` (needs the Session Manager plugin); \
             `codebuild-resume` there continues the build"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headless::plain::Printer;
    use crate::model::{BuildId, PhaseKind};

    #[test]
    fn a_pause_says_how_to_attach_and_resume() {
        let mut p = Printer::default();
        let text = p.feed(&BuildEvent::Breakpoint {
            build_id: BuildId("p:1".into()),
            phase: PhaseKind::Build,
            command: "npm test".into(),
            container: "cbdash-p-1".into(),
            attach: "cbdash shell p:1".into(),
            on_failure: true,
        });
        assert!(
            text.starts_with(
                "cbdash: --debug: BUILD failed at 'npm test'; paused before the phase ends. \
                 Attach with `cbdash shell p:1`; run `codebuild-resume` there"
            ),
            "{text}"
        );
        assert!(text.contains("timeout keeps running"), "{text}");
        let text = p.feed(&BuildEvent::Resumed {
            build_id: BuildId("p:1".into()),
        });
        assert_eq!(text, "cbdash: resumed: the build goes on\n");
    }
}
