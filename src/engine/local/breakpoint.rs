//! Breakpoints in local builds (issue 18): `codebuild-breakpoint` in a command pauses the
//! build until `codebuild-resume` runs in the container, as in a CodeBuild build with a debug
//! session; `cbdash run --debug` pauses the same way after the first failing command, before
//! its phase ends.
//!
//! How: the pause happens inside the container. The helper (`helpers/codebuild-breakpoint`,
//! installed with the others) saves the state a shell attached to the pause starts in
//! ([`STATE_PATH`]), prints one line with the build's token and polls for the resume file
//! that `codebuild-resume` creates. The command is simply still running, so nothing in the
//! engine changes state: the build's timeout, Ctrl-C and the daemon watchdog apply to a
//! paused build as to any running command ([`super::steps::drive`]). While a command runs,
//! [`Watch`] reads its output: the token's lines become `Breakpoint` and `Resumed` events
//! instead of log lines. The token is made from the build's id, so a resume (a new driver on
//! the same container) knows it without storing it; a log that merely mentions it by
//! accident would need to contain the build's uuid.

use crate::buildspec::Buildspec;
use crate::model::{BuildEvent, BuildId, LogStream};

use super::driver::{Job, Lines};
use super::emit::Emitter;
use super::run::Build;
use super::{LocalError, script};

/// Where the token file is (read by the helper).
pub const TOKEN_PATH: &str = "/codebuild/output/tmp/breakpoint.token";
/// Where a paused build's attach state is (the build's variables and working directory at
/// the breakpoint); it exists only while the build is paused.
pub const STATE_PATH: &str = "/codebuild/output/tmp/breakpoint/state.sh";
/// Exists only while the build is paused.
pub const PAUSED_PATH: &str = "/codebuild/output/tmp/breakpoint/paused";

/// The build's breakpoint token.
#[must_use]
pub fn token(build_id: &BuildId) -> String {
    format!("@@cbdash-breakpoint-{}@@", build_id.uuid())
}

/// The token file as `(path without the leading /, text, mode)` for
/// [`super::source::files_tar`].
#[must_use]
pub fn token_file(build_id: &BuildId) -> (String, String, u32) {
    let path = TOKEN_PATH.trim_start_matches('/').to_owned();
    (path, format!("{}\n", token(build_id)), 0o644)
}

/// The command line that attaches to a paused build.
#[must_use]
pub fn attach_command(build_id: &BuildId) -> String {
    format!("cbdash shell {build_id}")
}

/// What a line of command output is, for the breakpoint.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Output; the token's line with its text before the token, if any.
    Output(String),
    Paused(Option<String>),
    Resumed(Option<String>),
}

/// Sorts one stdout line: the helper's `<token> paused` / `<token> resumed` (the command's
/// last output may precede it on the same line, without a newline), or output.
fn classify(token: &str, line: String) -> Seen {
    let Some(idx) = line.rfind(token) else {
        return Seen::Output(line);
    };
    let before = (idx > 0).then(|| line[..idx].to_owned());
    match line[idx + token.len()..].trim() {
        "paused" => Seen::Paused(before),
        "resumed" => Seen::Resumed(before),
        _ => Seen::Output(line),
    }
}

/// A command's output on its way to the log, with the breakpoint helper's lines turned into
/// events.
pub struct Watch<'a> {
    pub emit: &'a mut Emitter,
    pub token: String,
    /// The buildspec command shown in the event.
    pub command: &'a str,
    pub container: &'a str,
    pub on_failure: bool,
}

impl Watch<'_> {
    /// A watcher of `command`'s output in build `b`.
    pub fn new<'a>(b: &'a mut Build, command: &'a str, on_failure: bool) -> Watch<'a> {
        Watch {
            token: token(b.emit.build_id()),
            emit: &mut b.emit,
            command,
            container: &b.container_name,
            on_failure,
        }
    }

    async fn paused(&mut self) -> Result<(), LocalError> {
        let build_id = self.emit.build_id().clone();
        let Some(phase) = self.emit.phase() else {
            return Ok(());
        };
        let ev = BuildEvent::Breakpoint {
            attach: attach_command(&build_id),
            build_id,
            phase,
            command: self.emit.mask(self.command),
            container: self.container.to_owned(),
            on_failure: self.on_failure,
        };
        self.emit.event(ev).await
    }
}

impl Lines for Watch<'_> {
    async fn line(&mut self, stream: LogStream, text: String) -> Result<(), LocalError> {
        if stream != LogStream::Stdout {
            return self.emit.owned_line(stream, text).await;
        }
        let (before, ev) = match classify(&self.token, text) {
            Seen::Output(text) => return self.emit.owned_line(stream, text).await,
            Seen::Paused(before) => (before, true),
            Seen::Resumed(before) => (before, false),
        };
        if let Some(text) = before {
            self.emit.owned_line(stream, text).await?;
        }
        if ev {
            self.paused().await
        } else {
            let build_id = self.emit.build_id().clone();
            self.emit.event(BuildEvent::Resumed { build_id }).await
        }
    }

    async fn idle(&mut self) -> Result<(), LocalError> {
        self.emit.flush().await
    }
}

/// `--debug`: after `command` failed, pauses the build where it stands (the failed command's
/// state is saved, as after any command) until `codebuild-resume`. Runs once per build: the
/// first failure only.
pub async fn pause_on_failure(
    b: &mut Build,
    spec: &Buildspec,
    command: &str,
) -> Result<(), LocalError> {
    if !b.req.local.debug || b.debug_paused {
        return Ok(());
    }
    b.debug_paused = true;
    let script = script::wrap("codebuild-breakpoint", spec.version, false);
    let shell = super::phases::shell_of(spec);
    let mut session = b.session.take().ok_or(LocalError::NoContainer)?;
    let job = Job {
        script: &script,
        shell,
        user: None,
    };
    let result = session.run(job, &mut Watch::new(b, command, true)).await;
    b.session = Some(session);
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "@@cbdash-breakpoint-u@@";

    #[test]
    fn the_token_is_made_from_the_build_uuid() {
        let id = BuildId("demo:1234-abcd".into());
        assert_eq!(token(&id), "@@cbdash-breakpoint-1234-abcd@@");
        let (path, text, mode) = token_file(&id);
        assert_eq!(path, "codebuild/output/tmp/breakpoint.token");
        assert_eq!(text, "@@cbdash-breakpoint-1234-abcd@@\n");
        assert_eq!(mode, 0o644);
        assert_eq!(attach_command(&id), "cbdash shell demo:1234-abcd");
    }

    #[test]
    fn the_helper_lines_are_told_from_output() {
        assert_eq!(classify(T, format!("{T} paused")), Seen::Paused(None));
        assert_eq!(classify(T, format!("{T} resumed")), Seen::Resumed(None));
        assert_eq!(
            classify(T, format!("no newline{T} paused")),
            Seen::Paused(Some("no newline".into()))
        );
        assert_eq!(
            classify(T, "plain output".into()),
            Seen::Output("plain output".into())
        );
        // The token followed by anything else is output, shown as it is.
        assert_eq!(
            classify(T, format!("{T} something")),
            Seen::Output(format!("{T} something"))
        );
    }
}
