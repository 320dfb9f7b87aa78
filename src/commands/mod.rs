//! What each subcommand does, and how errors become exit codes.
//!
//! Exit codes: 0 success; 1 the build failed, timed out or was stopped; 2 invalid invocation
//! or invalid buildspec (and a build that cannot be resumed); 3 infrastructure fault (no
//! Docker daemon, a pull that failed).

pub mod history;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, Command};

mod cloud;
pub mod dashboard;
pub mod output;
pub mod pipeline;
mod reproduce;
pub mod resume;
pub mod run;
pub mod shell;
pub mod validate;
pub mod watch;

/// An error that decides its own exit code: 2 for bad input, 3 for infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The invocation or its input is invalid.
    #[error("{0}")]
    Usage(String),
}

/// Runs the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<u8> {
    let Cli { global, command } = cli;
    crate::logging::init(global.log_file.as_deref());
    match command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "cbdash", &mut std::io::stdout());
            Ok(0)
        }
        Some(Command::Validate(args)) => validate::run(&args),
        Some(Command::History(args)) => history::run(&global, &args),
        Some(Command::Cloud(args)) => cloud::run(&global, args),
        Some(Command::Run(args)) => run::run(&global, &args),
        Some(Command::Resume(args)) => resume::run(&global, &args),
        Some(Command::Shell(args)) => shell::run(&args),
        None => dashboard::open(&global),
    }
}

/// The exit code for an error: walks the whole cause chain for a typed error that says.
#[must_use]
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<CliError>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<crate::engine::local::LocalError>() {
            return local_exit_code(e);
        }
        if let Some(crate::engine::EngineError::Local(e)) = cause.downcast_ref() {
            return local_exit_code(e);
        }
        if let Some(e) = cause.downcast_ref::<crate::engine::cloud::CloudError>() {
            return cloud::exit_code(e);
        }
        if let Some(crate::engine::EngineError::Cloud(e)) = cause.downcast_ref() {
            return cloud::exit_code(e);
        }
    }
    1
}

/// A kept build that cannot be resumed as asked, an invalid buildspec, or a CodeBuild image
/// name that cannot run locally is bad input (2); every other local error is the
/// infrastructure's (3).
fn local_exit_code(e: &crate::engine::local::LocalError) -> u8 {
    use crate::engine::local::LocalError;
    match e {
        LocalError::ContainerGone(_)
        | LocalError::NotResumable(_)
        | LocalError::InvalidBuildspec(_)
        | LocalError::Image(_) => 2,
        _ => 3,
    }
}
