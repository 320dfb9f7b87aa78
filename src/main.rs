//! The `cbdash` binary: parse the command line, run the command, print the whole error chain
//! and map it to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cbdash::cli::Cli::parse();
    match cbdash::commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        // Whoever reads our output stopped (`cbdash history show ID | head`): not an error.
        Err(err) if cbdash::app::exit::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints every cause: "cannot read 'x': permission denied".
            eprintln!("cbdash: error: {err:#}");
            ExitCode::from(cbdash::app::exit::exit_code_for(&err))
        }
    }
}
