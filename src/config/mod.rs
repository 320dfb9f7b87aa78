//! Configuration: the user's config file (keymap, theme, cloud profiles, projects) and a
//! project's own `.cbdash.toml`, layered as defaults < file < command line.

pub mod project;
pub mod template;
pub mod user;
