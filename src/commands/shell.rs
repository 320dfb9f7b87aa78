//! `cbdash shell BUILD_ID`: an interactive shell in a kept build's container, connected to
//! this terminal (see [`crate::app::attach`]).

use anyhow::Result;

use crate::app::{attach, exit, headless};
use crate::cli::{GlobalArgs, ShellArgs};
use crate::engine::local::{KeptBuilds as _, LocalBackend};

/// Runs the command; the exit code is the shell's (capped at 255).
pub fn run(global: &GlobalArgs, args: &ShellArgs) -> Result<u8> {
    headless::runtime()?.block_on(async {
        let session = LocalBackend
            .open_shell(&attach::request(&args.build_id))
            .await
            .map_err(|e| exit::explain_missing_build(global.history.as_deref(), e.into()))?;
        let code = attach::attach(session).await?;
        Ok(u8::try_from(code.clamp(0, 255)).unwrap_or(255))
    })
}
