//! A project's own `.cbdash.toml`: its name, build image and environment variables.
//!
//! ```toml
//! name = "hello"
//! image = "public.ecr.aws/docker/library/busybox:stable"
//! [env]
//! GREETING = "hi"
//! ```
//! Pure: [`ProjectConfig::parse`] takes text; the `run` command reads the file.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The file name, in the project directory.
pub const FILE_NAME: &str = ".cbdash.toml";

/// A project's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Project name (default: the directory's name).
    pub name: Option<String>,
    /// Build image (below `--image`).
    pub image: Option<String>,
    /// Variables, literal; above the buildspec's, below `--env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// A `.cbdash.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ProjectConfigError {
    pub file: String,
    pub message: String,
}

impl ProjectConfig {
    /// Parses the file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ProjectConfigError> {
        toml::from_str(text).map_err(|e| ProjectConfigError {
            file: file.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_image_env() {
        let c = ProjectConfig::parse(
            "name = \"x\"\nimage = \"busybox\"\n[env]\nA = \"$PATH:/y\"\n",
            "f",
        )
        .expect("parse");
        assert_eq!(c.name.as_deref(), Some("x"));
        assert_eq!(c.env.get("A").map(String::as_str), Some("$PATH:/y"));
    }

    #[test]
    fn unknown_keys_are_reported_with_the_file() {
        let e = ProjectConfig::parse("nmae = \"x\"\n", ".cbdash.toml").expect_err("error");
        let s = e.to_string();
        assert!(s.starts_with(".cbdash.toml:"), "{s}");
        assert!(s.contains("nmae"), "{s}");
    }
}
