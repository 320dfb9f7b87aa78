//! `cbdash` with no command: the dashboard on the current directory's projects.

use anyhow::{Context as _, Result};

use crate::app::dashboard::{self, Setup};
use crate::cli::GlobalArgs;

/// Opens the dashboard; the exit code is 1 when a local build of the session failed.
pub fn open(global: &GlobalArgs) -> Result<u8> {
    let dir = std::env::current_dir().context("cannot read the current directory")?;
    let setup = Setup::load(global, &dir)?;
    crate::app::headless::runtime()?.block_on(dashboard::run_dashboard(setup, Vec::new()))
}
