//! The dashboard: an Elm-style core inside a small async event loop.
//!
//! - [`state`]: everything shown, as plain data; [`msg`]: what comes in (`Msg`) and goes out
//!   (`Effect`).
//! - [`update`] (with [`actions`], [`modal`], [`form`] and [`logview`]): the pure reducer
//!   `update(&mut State, &Keymap, Msg) -> Vec<Effect>`. No IO; the clock arrives as `Msg::Tick`.
//! - [`layout`]: the arithmetic of where panes go and which log rows show, used by both the
//!   reducer and the views (the reducer never imports the views); [`fmt`]: short formats;
//!   [`fit`]: text fitted to narrow rows (ellipsis, word wrap, title parts by priority);
//!   [`spark`]: the one sparkline bar mapping (projects pane, cache panel, cache report).
//! - [`view`] and [`widgets`]: draw from the state alone; [`theme`]: every style.
//! - [`batch`]: batches, as the batch events describe them (one row under their project, a
//!   graph of their nodes, each node's build opened with the usual panes), and
//!   [`batch_actions`]: what keys do to them.
//! - [`reports`]: the Reports panel's data (each build's test and coverage reports, local or
//!   cloud) and keys: the failed cases one list, `open` on one shows its message and jumps
//!   the log to its first mention.
//! - [`cache_panel`]: the Layer cache panel's data (a summary per docker build, the steps that
//!   ran, each step's record over its Dockerfile's last builds, asked of the executor).
//! - [`logbuf`] holds logs of any size in bounded memory; [`sanitize`] makes untrusted build
//!   output safe to draw.
//! - [`keymap`]: keys are data (config/default.toml), help and hints come from it.
//! - [`term`] restores the terminal on every exit path; [`event_loop`] is the async loop (input
//!   first, events drained in batches, frames only when dirty).
//!
//! Never imports bollard, the AWS SDK or `engine::{local, cloud}`: builds arrive as
//! `BuildEvent`s from the executor (`app::dashboard`), which also runs the build effects.

pub mod actions;
pub mod batch;
pub mod batch_actions;
pub mod cache_panel;
pub mod cache_report;
pub mod debug;
pub mod event_loop;
pub mod files;
pub mod fit;
pub mod fmt;
pub mod form;
pub mod keymap;
pub mod layout;
pub mod logbuf;
pub mod logview;
pub mod modal;
pub mod msg;
pub mod reports;
pub mod sanitize;
pub mod spark;
pub mod state;
pub mod term;
pub mod theme;
pub mod update;
pub mod view;
pub mod widgets;
