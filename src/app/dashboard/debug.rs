//! `e` on a cloud build with a Session Manager debug session (issue 18): runs the exact
//! `aws ssm start-session --target ...` command the build view shows, with the TUI suspended
//! (as a local shell is, see [`super::kept::shell`]), when the Session Manager plugin is
//! installed; otherwise a flash says how to install it and what to run.

use std::path::Path;

use tokio::sync::mpsc;

use super::executor::Task;
use crate::model::NoticeLevel;
use crate::tui::event_loop::Suspend;
use crate::tui::msg::Msg;

/// The plugin `aws ssm start-session` runs.
pub const PLUGIN: &str = "session-manager-plugin";

/// Where AWS says how to install the plugin.
pub const INSTALL_URL: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";

/// What `e` says when the plugin (or the AWS CLI) is missing: how to install it, and the
/// command to run once it is.
#[must_use]
pub fn missing(command: &str, path: Option<&std::ffi::OsStr>) -> Option<String> {
    let need: Vec<&str> = ["aws", PLUGIN]
        .into_iter()
        .filter(|name| !on_path(name, path))
        .collect();
    (!need.is_empty()).then(|| {
        format!(
            "{} not found on PATH: install the AWS CLI and the Session Manager plugin \
             ({INSTALL_URL}), then run: {command}",
            need.join(" and ")
        )
    })
}

/// Whether an executable file `name` is in one of the directories of `path` (`$PATH`).
#[must_use]
pub fn on_path(name: &str, path: Option<&std::ffi::OsStr>) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.is_some_and(|p| {
        std::env::split_paths(p).any(|dir| {
            Path::new(&dir)
                .join(name)
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Runs `command` (a command line [`crate::engine::cloud`] quoted) through `sh` with the
/// terminal, the dashboard suspended until it ends.
pub(super) fn join(
    command: String,
    suspend: mpsc::Sender<Suspend>,
    msgs: mpsc::Sender<Msg>,
) -> Task {
    Box::pin(async move {
        let path = std::env::var_os("PATH");
        if let Some(text) = missing(&command, path.as_deref()) {
            msgs.send(Msg::Flash(NoticeLevel::Warning, text)).await.ok();
            return;
        }
        let Some(done) = Suspend::terminal(&suspend).await else {
            return;
        };
        println!(
            "cbdash: {command}\r\ncodebuild-resume in the session lets the build go on; `exit` returns to the dashboard\r"
        );
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
            .await;
        let _ = done.send(());
        let failed = match status {
            Ok(s) if s.success() => return,
            Ok(s) => format!("the debug session ended with {s}"),
            Err(e) => format!("cannot run {command}: {e}"),
        };
        msgs.send(Msg::Flash(NoticeLevel::Warning, failed))
            .await
            .ok();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_plugin_is_named_with_how_to_install_it_and_the_command() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = dir.path().join("aws");
        std::fs::write(&bin, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let path = dir.path().as_os_str();
        let cmd = "aws ssm start-session --target codebuild:1";
        let text = missing(cmd, Some(path)).expect("the plugin is missing");
        assert!(
            text.starts_with("session-manager-plugin not found on PATH"),
            "{text}"
        );
        assert!(text.contains(INSTALL_URL), "{text}");
        assert!(text.ends_with(cmd), "{text}");
        let plugin = dir.path().join(PLUGIN);
        std::fs::write(&plugin, "#!/bin/sh\n").expect("write");
        // Not executable: still missing.
        assert!(missing(cmd, Some(path)).is_some());
        std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        assert_eq!(missing(cmd, Some(path)), None);
        assert!(
            missing(cmd, None).is_some_and(|t| t.starts_with("aws and session-manager-plugin"))
        );
    }
}
