//! cbdash: a terminal build dashboard for AWS CodeBuild.
//!
//! How the pieces fit (see `ARCHITECTURE.md` for the map and the layering rule):
//! - [`model`]: the shared vocabulary (phases, statuses, `BuildEvent`), no IO.
//! - [`buildspec`] and [`cache`]: pure parsers (buildspec YAML, `docker build` output).
//! - [`diagnose`]: pure failure diagnosis: known ways builds fail, recognised in the log.
//! - [`reports`]: pure parsers of test and coverage report files (every `file-format`).
//! - [`engine`]: the `Backend` trait and its two implementations, local Docker and cloud
//!   CodeBuild, which emit `BuildEvent`s into a bounded channel.
//! - [`history`]: the SQLite run history.
//! - [`headless`]: plain and NDJSON printers of the event stream.
//! - [`tui`]: the ratatui dashboard, which sees builds only through `BuildEvent`s.
//! - [`watch`]: the project watcher behind watch mode (notify, debounced, `.gitignore`-aware).
//! - [`app`]: what the commands and the dashboard do with all of the above: requests from
//!   settings, the event pipeline, headless output, the dashboard's executor.
//! - [`cli`], [`commands`], [`config`]: the command line, one thin leaf per subcommand, settings.

pub mod app;
pub mod buildspec;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnose;
pub mod engine;
pub mod headless;
pub mod history;
pub mod logging;
pub mod model;
pub mod reports;
pub mod tui;
pub mod watch;
