//! The dashboard without a terminal: whole screens rendered on a `TestBackend` (120x32) from
//! states built by replaying recorded event sequences through the real reducer, and
//! snapshotted with insta (durations masked). Key handling is driven through the same
//! `update` the shell uses.

mod batch;
mod batch_events;
mod bench;
mod cache_panel;
mod cache_report;
mod chrome;
mod cloud;
mod debug;
mod events;
mod fixtures;
mod identity;
mod logpane;
mod reports;
mod resume;
mod screen;
mod screens;
mod tmux;
mod tmux_cloud;
mod tmux_debug;
mod tmux_docker;
mod tmux_errors;
mod tmux_follow;
mod tmux_reports;
mod tmux_resume;
