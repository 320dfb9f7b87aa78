//! The user's configuration: options, theme, keymap, cloud targets and extra projects.
//!
//! The built-in defaults are `config/default.toml`, embedded with `include_str!`. The user's
//! file (`--config`, else `cbdash/config.toml` in the config directory) is merged over them
//! table by table and key by key, so a file with only `[keys] quit = ["z"]` changes only that.
//! Parsing is pure (`parse`); `load` is the one function here that reads a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The embedded defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Errors reading or parsing the config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config '{path}': {message}")]
    Parse { path: String, message: String },
}

/// The resolved configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub options: Options,
    pub theme: BTreeMap<String, String>,
    pub keys: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub cloud: Vec<CloudTarget>,
    #[serde(default)]
    pub projects: Vec<ExtraProject>,
}

/// `[options]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub mouse: bool,
    pub notify: bool,
    pub desktop_notify: bool,
    pub max_fps: u16,
    /// How long a kept build container may sit unused before it is removed (`"30m"`).
    #[serde(deserialize_with = "duration")]
    pub keep_idle: std::time::Duration,
}

/// A duration written as `90s`, `30m` or `2h`.
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let text = String::deserialize(d)?;
    crate::cli::parse_duration(&text).map_err(serde::de::Error::custom)
}

/// `[[cloud]]`: a profile + region to follow. Both are optional: without them the AWS SDK's
/// default chain decides (`AWS_PROFILE`, `AWS_REGION`, SSO, container and instance roles),
/// which is the common case, as it is for `cbdash cloud`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloudTarget {
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub projects: Vec<String>,
}

/// `[[projects]]`: a local project outside the current directory.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExtraProject {
    pub name: String,
    pub path: PathBuf,
}

impl UserConfig {
    /// The built-in defaults.
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::parse("", "<none>")
    }

    /// The defaults with `user` (TOML text from `origin`) merged over them.
    pub fn parse(user: &str, origin: &str) -> Result<Self, ConfigError> {
        let err = |path: &str, e: &dyn std::fmt::Display| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        };
        let mut base: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| err("<built-in>", &e))?;
        let over: toml::Table = toml::from_str(user).map_err(|e| err(origin, &e))?;
        merge(&mut base, over);
        toml::Value::Table(base)
            .try_into()
            .map_err(|e| err(origin, &e))
    }

    /// Reads `path`, or the default location; a missing default file means defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, required) = match path {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_path(), false),
        };
        let Some(path) = path else {
            return Self::defaults();
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Self::defaults(),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }
}

/// `cbdash/config.toml` in the user's config directory.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "cbdash").map(|d| d.config_dir().join("config.toml"))
}

/// Merges `over` into `base`: tables recursively, everything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Action, Key, Keymap};

    #[test]
    fn defaults_bind_every_action() {
        let cfg = UserConfig::defaults().expect("defaults parse");
        let km = Keymap::from_bindings(&cfg.keys).expect("default keymap is valid");
        for a in Action::ALL {
            assert!(!km.keys(a).is_empty(), "{a:?} has no default key");
        }
        assert_eq!(km.action(Key::char('q')), Some(Action::Quit));
        // No destructive action on ctrl-d.
        assert_eq!(km.action(Key::ctrl('d')), Some(Action::HalfPageDown));
        assert!(cfg.options.notify && !cfg.options.mouse);
        assert_eq!(cfg.options.keep_idle, crate::engine::DEFAULT_KEEP_IDLE);
    }

    #[test]
    fn keep_idle_is_a_duration() {
        let cfg = UserConfig::parse("[options]\nkeep_idle = \"2h\"\n", "c.toml").expect("parse");
        assert_eq!(cfg.options.keep_idle, std::time::Duration::from_hours(2));
        let err =
            UserConfig::parse("[options]\nkeep_idle = \"soon\"\n", "c.toml").expect_err("bad");
        assert!(err.to_string().contains("soon"), "{err}");
    }

    #[test]
    fn user_file_overrides_per_key() {
        let cfg = UserConfig::parse(
            "[keys]\nquit = [\"z\"]\n[options]\nmouse = true\n",
            "u.toml",
        )
        .expect("parse");
        let km = Keymap::from_bindings(&cfg.keys).expect("keymap");
        assert_eq!(km.action(Key::char('z')), Some(Action::Quit));
        assert_eq!(km.action(Key::char('q')), None);
        assert_eq!(km.action(Key::char('j')), Some(Action::Down));
        assert!(cfg.options.mouse && cfg.options.notify);
    }

    #[test]
    fn bad_config_names_the_file_and_the_problem() {
        let err = UserConfig::parse("[option]\nmouse = true\n", "/home/u/c.toml").expect_err("bad");
        let msg = err.to_string();
        assert!(
            msg.contains("/home/u/c.toml") && msg.contains("option"),
            "{msg}"
        );
        let err = UserConfig::parse("[options\n", "c.toml").expect_err("bad");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn cloud_targets_parse() {
        let cfg = UserConfig::parse(
            "[[cloud]]\nprofile = \"p\"\nregion = \"eu-west-1\"\nprojects = [\"api\"]\n",
            "c.toml",
        )
        .expect("parse");
        assert_eq!(cfg.cloud[0].region.as_deref(), Some("eu-west-1"));
        assert_eq!(cfg.cloud[0].profile.as_deref(), Some("p"));
    }

    #[test]
    fn a_cloud_target_without_profile_uses_the_default_chain() {
        // The default credential chain (environment, SSO, instance roles) is the common case.
        let cfg = UserConfig::parse("[[cloud]]\nregion = \"eu-west-1\"\n", "c.toml")
            .expect("a target without a profile parses");
        assert_eq!(cfg.cloud[0].profile, None);
        let cfg = UserConfig::parse("[[cloud]]\n", "c.toml").expect("nor a region");
        assert_eq!(cfg.cloud[0], CloudTarget::default());
        let err = UserConfig::parse("[[cloud]]\nprofil = \"x\"\n", "c.toml").expect_err("typo");
        assert!(err.to_string().contains("profil"), "{err}");
    }
}
