//! An interactive shell in a kept build's container (`cbdash shell`, `e` in the dashboard): a
//! `docker exec` with a TTY, started in the working directory and with the variables (exported or not)
//! saved at the start of the failed phase (or the last state, when no phase failed). A build
//! paused at a breakpoint (see [`super::breakpoint`]) is no kept build yet: its shell starts in
//! the state the breakpoint saved (the build's variables and working directory there).
//!
//! The engine only opens the exec and hands back its byte streams and a [`ShellControl`] to
//! resize and finish it; putting the host terminal in raw mode and pumping bytes is the
//! caller's job (the engine knows no terminal library).

use std::pin::Pin;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::ExecConfig;
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use crate::model::PhaseKind;

use super::driver::TMP_DIR;
use super::kept::KeptBuild;
use super::{LocalError, breakpoint, docker, locate, script, source};

/// What to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellRequest {
    /// `project:uuid`, or a unique prefix of the uuid.
    pub build_id: String,
    /// The terminal's size.
    pub cols: u16,
    pub rows: u16,
    /// `TERM` in the shell.
    pub term: String,
}

/// Bytes the shell prints (the TTY merges stdout and stderr).
pub type ShellOutput = Pin<Box<dyn Stream<Item = Result<Vec<u8>, LocalError>> + Send>>;
/// Bytes typed into the shell.
pub type ShellInput = Pin<Box<dyn AsyncWrite + Send>>;

/// An open shell.
pub struct ShellSession {
    pub input: ShellInput,
    pub output: ShellOutput,
    pub control: ShellControl,
    /// The phase whose starting state the shell has, if a phase failed.
    pub phase: Option<PhaseKind>,
    /// The shell is in a build paused at a breakpoint (with the breakpoint's state).
    pub at_breakpoint: bool,
}

impl std::fmt::Debug for ShellSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellSession")
            .field("control", &self.control)
            .field("phase", &self.phase)
            .field("at_breakpoint", &self.at_breakpoint)
            .finish_non_exhaustive()
    }
}

/// Resizes and ends a shell.
#[derive(Debug, Clone)]
pub struct ShellControl {
    docker: Docker,
    exec_id: String,
    /// The kept build's record (none for a build paused at a breakpoint).
    record: Option<KeptBuild>,
}

impl ShellControl {
    /// Tells the TTY the terminal's new size.
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), LocalError> {
        let opts = bollard::query_parameters::ResizeExecOptions {
            h: i32::from(rows),
            w: i32::from(cols),
        };
        self.docker
            .resize_exec(&self.exec_id, opts)
            .await
            .map_err(|e| LocalError::exec("", e))
    }

    /// After the output ended: the shell's exit code; the kept build counts as used now.
    pub async fn finish(mut self) -> Result<i64, LocalError> {
        if let Some(record) = &mut self.record {
            record.last_used_ms = Utc::now().timestamp_millis();
            let _ = record.save();
        }
        let info = self
            .docker
            .inspect_exec(&self.exec_id)
            .await
            .map_err(|e| LocalError::exec("", e))?;
        Ok(info.exit_code.unwrap_or(0))
    }
}

/// Opens the shell; see the module doc.
pub async fn open_shell(req: &ShellRequest) -> Result<ShellSession, LocalError> {
    let docker = docker::connect().await?;
    let target = target(&docker, &req.build_id).await?;
    let found = &target.found;
    let rc = script::shell_rc(&target.state, &target.label, &req.term);
    let path = script::SHELL_RC.trim_start_matches('/');
    let tar = source::files_tar(&[], &[(path, &rc, 0o644)])?;
    docker::upload(&docker, &found.container_id, tar).await?;
    let exec = docker
        .create_exec(
            &found.container_id,
            ExecConfig {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(true),
                console_size: Some(vec![usize::from(req.rows), usize::from(req.cols)]),
                user: Some("0:0".into()),
                cmd: Some(script::interactive()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| LocalError::exec("", e))?
        .id;
    let started = docker
        .start_exec(&exec, None)
        .await
        .map_err(|e| LocalError::exec("", e))?;
    let bollard::exec::StartExecResults::Attached { output, input } = started else {
        return Err(LocalError::exec_msg("the shell did not attach"));
    };
    let output = output.map(|frame| match frame {
        Ok(
            LogOutput::StdOut { message }
            | LogOutput::StdErr { message }
            | LogOutput::Console { message },
        ) => Ok(message.to_vec()),
        Ok(LogOutput::StdIn { .. }) => Ok(Vec::new()),
        Err(e) => Err(LocalError::exec("", e)),
    });
    let control = ShellControl {
        docker,
        exec_id: exec,
        record: target.record,
    };
    // The size given at creation is not always applied before the shell draws its prompt.
    let _ = control.resize(req.cols, req.rows).await;
    Ok(ShellSession {
        input,
        output: Box::pin(output),
        control,
        phase: target.phase,
        at_breakpoint: target.at_breakpoint,
    })
}

/// Which container a shell opens in, and with which state.
struct Target {
    found: locate::Found,
    record: Option<KeptBuild>,
    state: String,
    label: String,
    phase: Option<PhaseKind>,
    at_breakpoint: bool,
}

/// A kept build (restarted if stopped; with the failed phase's state), or a running build
/// paused at a breakpoint (with the breakpoint's state).
async fn target(docker: &Docker, build_id: &str) -> Result<Target, LocalError> {
    if let Some(found) = locate::find(docker, build_id).await?
        && found.running
        && docker::path_exists(docker, &found.container_id, breakpoint::PAUSED_PATH).await?
    {
        return Ok(Target {
            label: format!(
                "{} breakpoint",
                found.build_id.split(':').next().unwrap_or("")
            ),
            found,
            record: None,
            state: breakpoint::STATE_PATH.to_owned(),
            phase: None,
            at_breakpoint: true,
        });
    }
    let (found, mut record) = locate::kept_build(docker, build_id).await?;
    if !found.running {
        docker::restart(docker, &found.container_id).await?;
    }
    record.last_used_ms = Utc::now().timestamp_millis();
    let _ = record.save();
    let phase = record.failed_phase();
    let state = phase.map_or_else(|| format!("{TMP_DIR}/env.sh"), script::phase_state);
    let label = phase.map_or_else(|| record.project.clone(), |p| p.to_string());
    Ok(Target {
        found,
        record: Some(record),
        state,
        label,
        phase,
        at_breakpoint: false,
    })
}
