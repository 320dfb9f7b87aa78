//! One thin leaf per subcommand: each turns its parsed arguments into calls to [`crate::app`].
//! No leaf imports another (the layering test checks it); exit codes are [`crate::app::exit`]'s.

mod cache;
mod cloud;
mod dashboard;
mod history;
mod init;
mod resume;
mod run;
mod shell;
mod validate;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, Command};

/// Runs the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<u8> {
    let Cli { global, command } = cli;
    crate::logging::init(global.log_file.as_deref());
    match command {
        Some(Command::Completions { shell }) => {
            // Into a buffer first: `generate` panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cbdash", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(0)
        }
        Some(Command::Validate(args)) => validate::run(&args),
        Some(Command::History(args)) => history::run(&global, &args),
        Some(Command::Cache(args)) => cache::run(&global, &args),
        Some(Command::Cloud(args)) => cloud::run(&global, args),
        Some(Command::Run(args)) => run::run(&global, &args),
        Some(Command::Resume(args)) => resume::run(&global, &args),
        Some(Command::Shell(args)) => shell::run(&global, &args),
        Some(Command::Init(args)) => init::run(&args),
        None => dashboard::open(&global),
    }
}
