//! The command line: clap definitions only. Validation of values that clap cannot check and
//! everything a command does live in [`crate::commands`] and [`crate::app`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::PullPolicy;

/// A terminal build dashboard for AWS CodeBuild.
///
/// With no command, opens the dashboard on the current directory's projects and the configured
/// cloud projects. Run a buildspec locally on Docker with `cbdash run`, check one with
/// `cbdash validate`.
#[derive(Debug, Parser)]
#[command(name = "cbdash", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every subcommand accepts.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// The run-history database (default: `cbdash/history.sqlite` in the user's data directory).
    #[arg(long, global = true, env = "CBDASH_HISTORY", value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// The config file (default: `cbdash/config.toml` in the user's config directory).
    #[arg(long, global = true, env = "CBDASH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where cbdash writes its own diagnostic log (never the terminal).
    #[arg(long, global = true, env = "CBDASH_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check buildspecs: YAML errors with `file:line:col`, CodeBuild's schema, shell pitfalls.
    Validate(ValidateArgs),
    /// Run a project's buildspec locally in a Docker container, as CodeBuild would.
    Run(Box<RunArgs>),
    /// Re-run a kept local build from its failed phase, in place (its container was kept).
    Resume(ResumeArgs),
    /// Open an interactive shell in a kept local build's container, in the failed phase's state.
    Shell(ShellArgs),
    /// Write a commented `.cbdash.toml` (every option once) and, when there is none, a starter
    /// `buildspec.yml`; never overwrites a file.
    Init(InitArgs),
    /// List past local runs and cloud builds, or show one (`cbdash history show BUILD_ID`).
    History(HistoryArgs),
    /// The layer-cache report of a project's Dockerfiles from the run history: hit ratio
    /// over time, each step's last runs and miss rate, the costliest misses, the reasons
    /// seen, and advice (how to reorder a Dockerfile).
    Cache(CacheArgs),
    /// AWS CodeBuild: list projects and builds, follow, start, retry and stop builds.
    Cloud(CloudArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `cbdash validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Buildspec files to check.
    #[arg(default_value = "buildspec.yml")]
    pub files: Vec<PathBuf>,
    /// Treat warnings as errors (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Print the diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cbdash run`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each bool is an independent command-line flag
pub struct RunArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The buildspec to run (default: DIR/buildspec.yml).
    #[arg(long, short = 'b', value_name = "FILE")]
    pub buildspec: Option<PathBuf>,
    /// The build image (default: the project config's, else CodeBuild's standard image).
    #[arg(long, short = 'i')]
    pub image: Option<String>,
    /// When to pull the image (default: the project's `pull`, else missing).
    #[arg(long, value_enum)]
    pub pull: Option<PullPolicy>,
    /// An environment variable, NAME=VALUE (highest precedence, literal). Repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// A file of NAME=VALUE lines (`#` comments and blank lines ignored, quotes kept).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// A secret variable, NAME=VALUE: set like --env, and masked as *** everywhere.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secret: Vec<String>,
    /// Bind-mount the source instead of copying it (the build can then change your files).
    #[arg(long)]
    pub mount_source: bool,
    /// Mount the host's Docker socket into the build, sharing the host's layer cache.
    #[arg(long)]
    pub docker_socket: bool,
    /// Privileged mode, as CodeBuild's: the container runs privileged (full access to this
    /// machine's devices and kernel) and the image's Docker daemon is started before the
    /// build (its /usr/local/bin/dockerd-entrypoint.sh, else dockerd), up to 60 s for `docker
    /// info`. Its /var/lib/docker is kept in a per-project volume (see --no-layer-cache).
    #[arg(long)]
    pub privileged: bool,
    /// With --privileged: do not keep the inner Docker's layers between runs (CodeBuild's
    /// `LOCAL_DOCKER_LAYER_CACHE` is on by default locally).
    #[arg(long)]
    pub no_layer_cache: bool,
    /// Keep the container after the build, for `cbdash resume` and `cbdash shell` (removed
    /// after `keep_idle` unused, 30 min by default).
    #[arg(long)]
    pub keep: bool,
    /// Pause after the first failing command, before its phase ends (a breakpoint on
    /// failure): `cbdash shell BUILD_ID` looks around in the build's state, `codebuild-resume`
    /// in the container goes on (the phase fails, `POST_BUILD` runs as usual).
    #[arg(long, conflicts_with = "batch")]
    pub debug: bool,
    /// Run again whenever a project file changes: from the failed phase if the last run
    /// failed, else the whole build. Ctrl-C stops.
    #[arg(long)]
    pub watch: bool,
    /// Where to copy artifacts (default: DIR/.cbdash/artifacts/<build-id>/).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// A testing aid (hidden): mount a tmpfs of SIZE at PATH in the build container, for
    /// example `/scratch:1m`, to see how a build behaves when its disk is full (not under
    /// /codebuild, where cbdash copies files: Docker cannot copy into a tmpfs).
    #[arg(long, hide = true, value_name = "PATH:SIZE")]
    pub tmpfs: Vec<String>,
    /// Build timeout, for example 90s, 30m, 2h (default: the project's `timeout`, else 60m).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Print the log and a phase summary instead of opening the dashboard.
    #[arg(long)]
    pub plain: bool,
    /// Print only NDJSON events on stdout.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// Run the buildspec's `batch:` section: each task a build of its own (a buildspec with a
    /// `batch:` section and no phases runs as a batch without this flag).
    #[arg(long, conflicts_with = "watch")]
    pub batch: bool,
    /// In a batch, how many builds run at the same time (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: Option<u16>,
}

/// `cbdash resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The build id (`project:uuid`), or a unique prefix of its uuid; or a batch id, whose
    /// failed tasks resume in place before the tasks they stopped run.
    pub build_id: String,
    /// For a batch: how many builds run at the same time (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: Option<u16>,
    /// The phase to run again (default: the one that failed), for example `BUILD` or `post_build`.
    #[arg(long, value_parser = parse_phase)]
    pub phase: Option<crate::model::PhaseKind>,
    /// Print the log and a phase summary (the default).
    #[arg(long)]
    pub plain: bool,
    /// Print only NDJSON events on stdout.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
}

/// `cbdash init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory (made when missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// `cbdash shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The build or batch id (`project:uuid`), or a unique prefix of its uuid.
    pub build_id: String,
}

/// `cbdash history [PROJECT]`, or `cbdash history show BUILD_ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    /// Only this project's runs and batches.
    pub project: Option<String>,
    /// Print one JSON object per run, then one per batch (a batch's has `batch_id`, no
    /// `build_id`).
    #[arg(long)]
    pub json: bool,
    /// How many runs (and how many batches) to list, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `cbdash cache [DIR]`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// The project directory (its name finds its builds; its Dockerfile and files sharpen
    /// the advice).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// A project by name instead (local and cloud builds of that name).
    #[arg(long)]
    pub project: Option<String>,
    /// How many of each Dockerfile's last docker builds to read.
    #[arg(long, default_value_t = crate::app::cache::DEFAULT_BUILDS)]
    pub limit: usize,
    /// Print the report as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// `cbdash history` subcommands.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Show one run (phases, cache reports, regressions, and with --log its log) or one
    /// batch (its builds in order, with their statuses, durations and attempts).
    Show(HistoryShowArgs),
}

/// `cbdash history show`.
#[derive(Debug, Args)]
pub struct HistoryShowArgs {
    /// The build or batch id (`project:uuid`), or a unique prefix of its uuid.
    pub build_id: String,
    /// Also print the stored log.
    #[arg(long)]
    pub log: bool,
    /// Print the run or batch as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cbdash cloud`.
#[derive(Debug, Args)]
pub struct CloudArgs {
    /// The AWS profile (default: the SDK's chain, or every `[[cloud]]` entry of the config).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The AWS region (default: the profile's, or `AWS_REGION`).
    #[arg(long, global = true)]
    pub region: Option<String>,
    #[command(subcommand)]
    pub command: CloudCommand,
}

/// The `cbdash cloud` subcommands.
#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// List projects (one group per profile/region) with their last build.
    Projects {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a project's recent builds.
    Builds {
        project: String,
        /// How many builds (newest first).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a project's recent batch builds, newest first.
    Batches {
        project: String,
        /// How many batches.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON (one line per batch).
        #[arg(long)]
        json: bool,
    },
    /// Follow a build (or a batch and every build in it) until it ends; exit code from its
    /// status.
    Watch(CloudWatchArgs),
    /// Start a build (or with --batch a batch build), with overrides.
    Start(CloudStartArgs),
    /// Retry a finished build (a new build with the same settings), or a failed batch (the
    /// same batch runs again).
    Retry(CloudRetryArgs),
    /// Stop a running build, or a running batch.
    Stop {
        /// A build id, or a batch id (or ARN).
        build_id: String,
        /// The id is a batch's (skips the lookup that tells batches from builds).
        #[arg(long)]
        batch: bool,
    },
    /// A build's test and coverage reports (summaries and failed cases), or with --group a
    /// report group's trends (`GetReportGroupTrend`).
    Reports(CloudReportsArgs),
    /// Run a cloud project's (or build's) image, variables and buildspec locally on the
    /// working tree: Parameter Store and Secrets Manager variables are resolved with your
    /// credentials and masked in every output.
    Reproduce(ReproduceArgs),
}

/// `cbdash cloud reports`.
#[derive(Debug, Args)]
pub struct CloudReportsArgs {
    /// The build whose reports to show (`project:uuid`).
    #[arg(required_unless_present = "group", conflicts_with = "group")]
    pub build_id: Option<String>,
    /// A report group's ARN: its trends (pass rate, duration, total; or the coverage fields).
    #[arg(long, value_name = "ARN")]
    pub group: Option<String>,
    /// How many of the group's latest reports the trends cover (1-100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100), requires = "group")]
    pub last: u8,
    /// Print NDJSON: the `report` lines of a build, or one `report_trend` line per field.
    #[arg(long)]
    pub json: bool,
}

/// `cbdash cloud reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// A project name, or a build id (`project:uuid`) to take that build's settings.
    pub target: String,
    /// The working tree to build (default: .).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Use this image instead of the project's (CodeBuild's curated images are not on a
    /// public registry: build one locally, or name one you have).
    #[arg(long, short = 'i')]
    pub image: Option<String>,
    /// When to pull the image (default: the working tree's `.cbdash.toml` `pull`, else missing).
    #[arg(long, value_enum)]
    pub pull: Option<PullPolicy>,
    /// Keep the container after the build, for `cbdash resume` and `cbdash shell`.
    #[arg(long)]
    pub keep: bool,
    /// Print the plain log and summary, even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// Print NDJSON events.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
}

/// `cbdash cloud watch`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each bool is an independent command-line flag
pub struct CloudWatchArgs {
    /// A build id, or a batch id (or ARN): a batch is followed with every build in it.
    pub build_id: String,
    /// The id is a batch's (skips the lookup that tells batches from builds).
    #[arg(long)]
    pub batch: bool,
    /// Print the log and a phase summary, as `cbdash run --plain` does (the default).
    #[arg(long)]
    pub plain: bool,
    /// Print NDJSON events instead of the plain log.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// Use CloudWatch Live Tail for the log (falls back to polling).
    #[arg(long)]
    pub live_tail: bool,
}

/// `cbdash cloud retry`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each bool is an independent command-line flag
pub struct CloudRetryArgs {
    /// A build id, or a batch id (or ARN).
    pub build_id: String,
    /// A batch: retry only its failed builds (`RETRY_FAILED_BUILDS`; default: all).
    #[arg(long)]
    pub failed_only: bool,
    /// The id is a batch's (skips the lookup that tells batches from builds).
    #[arg(long)]
    pub batch: bool,
    /// Follow the new build (the batch).
    #[arg(long)]
    pub watch: bool,
    /// Print NDJSON.
    #[arg(long)]
    pub json: bool,
}

/// `cbdash cloud start`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each bool is an independent command-line flag
pub struct CloudStartArgs {
    pub project: String,
    /// Source version (branch, tag, commit, `pr/N`).
    #[arg(long)]
    pub source_version: Option<String>,
    /// Environment override NAME=VALUE (plaintext). Repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// A local buildspec file sent as the buildspec override (checked first).
    #[arg(long, value_name = "FILE")]
    pub buildspec: Option<PathBuf>,
    /// Image override.
    #[arg(long)]
    pub image: Option<String>,
    /// Privileged mode override.
    #[arg(long)]
    pub privileged: bool,
    /// Enable a Session Manager debug session (StartBuild's `debugSessionEnabled`): the
    /// build pauses at `codebuild-breakpoint`, and `--watch` (or the dashboard) shows the
    /// `aws ssm start-session` command that joins it.
    #[arg(long, conflicts_with = "batch")]
    pub debug_session: bool,
    /// Start a batch build (StartBuildBatch: the project's `batch:` section) instead of a
    /// build; --watch follows the batch and every build in it.
    #[arg(long)]
    pub batch: bool,
    /// Follow the build until it ends.
    #[arg(long)]
    pub watch: bool,
    /// Print JSON (NDJSON events with --watch).
    #[arg(long)]
    pub json: bool,
    /// Use CloudWatch Live Tail for the log (with --watch).
    #[arg(long)]
    pub live_tail: bool,
}

/// Parses a phase name, in any case: `BUILD`, `post_build`, `Pre_Build`.
pub fn parse_phase(s: &str) -> Result<crate::model::PhaseKind, String> {
    crate::model::PhaseKind::from_api(&s.trim().to_ascii_uppercase().replace('-', "_")).ok_or_else(
        || {
            format!(
                "'{s}' is not a phase; use INSTALL, PRE_BUILD, BUILD, POST_BUILD, \
                 UPLOAD_ARTIFACTS or FINALIZING"
            )
        },
    )
}

/// Parses `90s`, `30m`, `2h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration; use for example 90s, 30m or 2h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit '{unit}' in '{s}'; use s, m or h")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(
            parse_duration("90s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert_eq!(parse_duration("2h"), Ok(std::time::Duration::from_hours(2)));
        assert_eq!(parse_duration("15"), Ok(std::time::Duration::from_secs(15)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn phases_parse_in_any_case() {
        use crate::model::PhaseKind;
        assert_eq!(parse_phase("post_build"), Ok(PhaseKind::PostBuild));
        assert_eq!(parse_phase("BUILD"), Ok(PhaseKind::Build));
        assert_eq!(parse_phase("pre-build"), Ok(PhaseKind::PreBuild));
        assert!(parse_phase("compile").is_err());
    }
}
