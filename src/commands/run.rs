//! `cbdash run`: the command line as [`RunOverrides`] above the project's `.cbdash.toml`, then
//! the build in the dashboard (on a terminal), in watch mode, or printed headlessly.

use anyhow::Result;

use crate::app::explain::LocalSource;
use crate::app::request::{RunOverrides, build_request};
use crate::app::{batch, dashboard, headless, pipeline::Pipeline, rerun};
use crate::cli::{GlobalArgs, RunArgs};
use crate::config::user::UserConfig;
use crate::engine::Keep;

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &RunArgs) -> Result<u8> {
    let mut req = build_request(&args.dir, &overrides(args))?;
    req.local.debug = args.debug;
    if args.keep || args.watch {
        req.local.keep_idle = UserConfig::load(global.config.as_deref())?
            .options
            .keep_idle;
    }
    let runtime = headless::runtime()?;
    runtime.block_on(crate::engine::local::images::precheck(req.image.as_deref()))?;
    if batch::runs_as_batch(&req, args.batch) {
        let max = args
            .max_parallel
            .map_or_else(batch::default_max_parallel, usize::from);
        let batch_id = crate::model::BatchId::new_for(&req.project);
        let req = batch::batch_request(req, batch_id, max)?;
        let pipeline = Pipeline::new(global.history.as_deref());
        return runtime.block_on(batch::run(req, pipeline, args.json));
    }
    if args.watch {
        return runtime.block_on(rerun::run(global, req, args.json));
    }
    // On a terminal, without --plain or --json, the build opens in the dashboard.
    if !args.plain && !args.json && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return runtime.block_on(dashboard::open_on_build(global, req));
    }
    let buildspec = req
        .buildspec
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok());
    let source = LocalSource::of(&req, buildspec.as_deref());
    let pipeline = Pipeline::new(global.history.as_deref())
        .with_buildspec(buildspec)
        .with_source(source);
    runtime.block_on(headless::run(req, pipeline, args.json))
}

/// The flags as overrides: a flag not given leaves the project's setting.
fn overrides(args: &RunArgs) -> RunOverrides {
    RunOverrides {
        buildspec: args.buildspec.clone(),
        image: args.image.clone(),
        pull: args.pull,
        docker_socket: args.docker_socket.then_some(true),
        privileged: args.privileged.then_some(true),
        mount_source: args.mount_source.then_some(true),
        timeout: args.timeout,
        artifacts: args.artifacts.clone(),
        env_files: args.env_file.clone(),
        env: args.env.clone(),
        secrets: args.secret.clone(),
        // Watch mode resumes a failed build in place, so it keeps failed ones.
        keep: if args.keep {
            Keep::Always
        } else if args.watch {
            Keep::Failed
        } else {
            Keep::Never
        },
        tmpfs: args.tmpfs.clone(),
        no_layer_cache: args.no_layer_cache,
    }
}
