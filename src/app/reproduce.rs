//! `cbdash cloud reproduce`: a cloud project's (or build's) image, variables and buildspec,
//! run locally on the working tree with the same output as `cbdash run` (the dashboard on a
//! terminal, else the plain log or NDJSON) and the same exit codes.

use anyhow::{Context as _, Result};

use super::pipeline::Pipeline;
use super::request::{apply_local_settings, load_settings, validate_spec};
use super::{UsageError, dashboard, headless};
use crate::cli::{GlobalArgs, ReproduceArgs};
use crate::engine::cloud::{CloudClients, reproduce};

/// Runs the command with the clients of the first target; returns the exit code.
pub async fn run(global: &GlobalArgs, clients: &CloudClients, args: &ReproduceArgs) -> Result<u8> {
    if !args.dir.is_dir() {
        return Err(UsageError(format!(
            "'{}' is not a directory; give the working tree to build (default: .)",
            args.dir.display()
        ))
        .into());
    }
    let mut req = reproduce::reproduce(clients, &args.target, &args.dir)
        .await
        .with_context(|| format!("cannot reproduce {} locally", args.target))?;
    // The working tree's own settings (Docker access, timeout, secrets...) apply locally.
    apply_local_settings(&mut req, &load_settings(&args.dir)?)?;
    if let Some(image) = &args.image {
        req.image = Some(image.clone());
    }
    if let Some(pull) = args.pull {
        req.local.pull = pull;
    }
    if args.keep {
        // Kept like `cbdash run --keep`: for `cbdash resume` and `cbdash shell`.
        req.local.keep = crate::engine::Keep::Always;
        let config = crate::config::user::UserConfig::load(global.config.as_deref())?;
        req.local.keep_idle = config.options.keep_idle;
    }
    if let Some(spec) = &req.buildspec {
        validate_spec(spec)?;
    }
    crate::engine::local::images::precheck(req.image.as_deref()).await?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if tty && !args.plain && !args.json {
        return Box::pin(dashboard::open_on_build(global, req)).await;
    }
    headless::run(req, Pipeline::new(global.history.as_deref()), args.json).await
}
