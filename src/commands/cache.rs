//! `cbdash cache [DIR]`: the layer-cache report of a project's Dockerfiles from the run
//! history (hit ratio over time, each step's last runs and miss rate, the most expensive
//! misses, the reasons seen, the advice), as text or one JSON document.

use std::io::Write;

use anyhow::Result;

use crate::app::cache::project_report;
use crate::app::request::{load_settings, project_name};
use crate::cli::{CacheArgs, GlobalArgs};
use crate::history::Store;

/// The width the text report fits.
const WIDTH: usize = 80;

/// Runs `cbdash cache ...`; returns the exit code.
pub fn run(global: &GlobalArgs, args: &CacheArgs) -> Result<u8> {
    let path = match &global.history {
        Some(p) => p.clone(),
        None => Store::default_path()?,
    };
    let (project, backend) = if let Some(name) = &args.project {
        (name.clone(), None)
    } else {
        if !args.dir.is_dir() {
            return Err(crate::app::UsageError(format!(
                "'{}' is not a directory; give the project directory (default: .)",
                args.dir.display()
            ))
            .into());
        }
        let config = load_settings(&args.dir)?;
        (project_name(&args.dir, &config), Some("local"))
    };
    let store = Store::open(&path)?;
    let dir = args.dir.is_dir().then_some(args.dir.as_path());
    let overviews = project_report(&store, &project, backend, dir, args.limit)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({
            "project": project,
            "history": path,
            "limit": args.limit,
            "dockerfiles": overviews,
        });
        writeln!(out, "{doc}")?;
        return Ok(0);
    }
    if overviews.is_empty() {
        writeln!(
            out,
            "no docker build of project '{project}' in the history ({})\nthe report reads the \
             builds cbdash recorded: run one whose buildspec runs `docker build`",
            path.display()
        )?;
        return Ok(0);
    }
    for line in crate::tui::cache_report::report_lines(&overviews, WIDTH) {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(0)
}
