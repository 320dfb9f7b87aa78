//! A project's own `.cbdash.toml`: every option of `cbdash run`, kept with the project so the
//! dashboard, watch mode, resume and `cloud reproduce` run it the same way.
//!
//! ```toml
//! name = "hello"
//! image = "cbdash-test/codebuild:1"
//! docker_socket = true          # the build's `docker` talks to the host's daemon
//! timeout = "30m"
//! env_files = ["ci.env"]        # relative to the project
//! secrets = ["NPM_TOKEN"]       # values come from cbdash's own environment, masked
//! [env]
//! GREETING = "hi"
//! ```
//! Pure: [`ProjectConfig::parse`] takes text; `app::request` reads the file and layers the
//! command line (or the dashboard's run form) over it. [`save_docker_and_image`] edits the text
//! in place, keeping the user's comments and order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::engine::PullPolicy;
use crate::model::DockerAccess;

/// The file name, in the project directory.
pub const FILE_NAME: &str = ".cbdash.toml";

/// Every key the file takes, for "did you mean" and the `cbdash init` template's test.
pub const KEYS: &[&str] = &[
    "name",
    "image",
    "buildspec",
    "pull",
    "docker_socket",
    "privileged",
    "mount_source",
    "batch",
    "timeout",
    "artifacts",
    "env_files",
    "secrets",
    "env",
];

/// A project's settings. Every field is optional: the command line, then CodeBuild's own
/// defaults, fill what the file leaves out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Project name (default: the directory's name).
    pub name: Option<String>,
    /// Build image (below `--image`).
    pub image: Option<String>,
    /// The buildspec, relative to the project (default `buildspec.yml`).
    pub buildspec: Option<PathBuf>,
    /// When to pull the image: `always`, `missing` or `never`.
    pub pull: Option<PullPolicy>,
    /// Mount the host's Docker socket into the build.
    pub docker_socket: Option<bool>,
    /// CodeBuild's privileged mode (the image's own Docker daemon).
    pub privileged: Option<bool>,
    /// Bind-mount the source instead of copying it.
    pub mount_source: Option<bool>,
    /// Run the buildspec's `batch:` section (as `run --batch` and StartBuildBatch do), also
    /// from the dashboard's `r`.
    pub batch: Option<bool>,
    /// Build timeout: `90s`, `30m`, `2h`.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Where artifacts go, relative to the project.
    pub artifacts: Option<PathBuf>,
    /// Files of `NAME=VALUE` lines, relative to the project; below `[env]`.
    #[serde(default)]
    pub env_files: Vec<PathBuf>,
    /// Names of variables whose values come from cbdash's own environment at run time and are
    /// masked everywhere. Values never sit in this file.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Variables, literal; above the buildspec's and the env files', below `--env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// A `.cbdash.toml` that cannot be used: where, what, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}\n{snippet}")]
pub struct ProjectConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The offending line with a caret under the column.
    pub snippet: String,
}

impl ProjectConfig {
    /// Parses the file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ProjectConfigError> {
        toml::from_str(text).map_err(|e| error_at(text, file, &e))
    }

    /// How the build reaches Docker, as the file says.
    #[must_use]
    pub fn docker(&self) -> DockerAccess {
        DockerAccess::from_flags(
            self.docker_socket.unwrap_or(false),
            self.privileged.unwrap_or(false),
        )
    }
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    crate::cli::parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Turns a TOML error into `file:line:col: message` with a snippet; an unknown key gets the
/// closest known one.
fn error_at(text: &str, file: &str, e: &toml::de::Error) -> ProjectConfigError {
    let span = e.span().unwrap_or(0..0);
    let (line, col) = line_col(text, span.start);
    let raw = e.message().trim_end();
    let message = if raw.starts_with("unknown field") {
        let key = text
            .get(span.clone())
            .unwrap_or("")
            .trim_matches(['"', '\'']);
        let hint = did_you_mean(key).map_or_else(String::new, |k| format!("; did you mean `{k}`?"));
        format!(
            "unknown key `{key}`{hint} (keys: {}; `cbdash init` writes a commented example)",
            KEYS.join(", ")
        )
    } else {
        raw.to_owned()
    };
    let src_line = text.lines().nth(line - 1).unwrap_or("");
    let width = span
        .end
        .saturating_sub(span.start)
        .clamp(1, src_line.len().max(1));
    let snippet = format!(
        "{line:>4} | {src_line}\n     | {}{}",
        " ".repeat(col - 1),
        "^".repeat(width)
    );
    ProjectConfigError {
        file: file.to_owned(),
        line,
        col,
        message,
        snippet,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The known key closest to `key`, when it is close enough to be a typo.
#[must_use]
pub fn did_you_mean(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Writes `image` and how the build reaches Docker into the file's text, keeping every other
/// line and comment (the run form's "save to .cbdash.toml"). `None` leaves that key alone.
pub fn save_docker_and_image(
    text: &str,
    image: Option<&str>,
    docker: Option<DockerAccess>,
) -> Result<String, toml_edit::TomlError> {
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    if let Some(image) = image {
        doc["image"] = toml_edit::value(image);
    }
    if let Some(docker) = docker {
        doc["docker_socket"] = toml_edit::value(docker == DockerAccess::HostSocket);
        doc["privileged"] = toml_edit::value(docker == DockerAccess::Privileged);
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = ProjectConfig::parse(
            "name = \"x\"\nimage = \"busybox\"\nbuildspec = \"ci/b.yml\"\npull = \"never\"\n\
             docker_socket = true\nprivileged = false\nmount_source = true\ntimeout = \"30m\"\n\
             artifacts = \"out\"\nenv_files = [\"a.env\"]\nsecrets = [\"TOKEN\"]\n\
             [env]\nA = \"$PATH:/y\"\n",
            "f",
        )
        .expect("parse");
        assert_eq!(c.name.as_deref(), Some("x"));
        assert_eq!(c.pull, Some(PullPolicy::Never));
        assert_eq!(c.timeout, Some(Duration::from_mins(30)));
        assert_eq!(c.docker(), DockerAccess::HostSocket);
        assert_eq!(c.secrets, ["TOKEN"]);
        assert_eq!(c.env_files, [PathBuf::from("a.env")]);
        assert_eq!(c.env.get("A").map(String::as_str), Some("$PATH:/y"));
    }

    #[test]
    fn an_unknown_key_names_its_place_and_the_closest_key() {
        let e = ProjectConfig::parse("image = \"x\"\ndocker_sockt = true\n", ".cbdash.toml")
            .expect_err("error");
        assert_eq!((e.line, e.col), (2, 1));
        let s = e.to_string();
        assert!(
            s.starts_with(
                ".cbdash.toml:2:1: unknown key `docker_sockt`; did you mean `docker_socket`?"
            ),
            "{s}"
        );
        assert!(
            s.contains("   2 | docker_sockt = true\n     | ^^^^^^^^^^^^"),
            "{s}"
        );
    }

    #[test]
    fn a_key_far_from_every_known_one_gets_the_list_only() {
        let e = ProjectConfig::parse("colour = 1\n", "f").expect_err("error");
        let s = e.to_string();
        assert!(!s.contains("did you mean"), "{s}");
        assert!(s.contains("keys: name, image"), "{s}");
    }

    #[test]
    fn a_bad_value_says_what_was_expected_at_its_place() {
        let e = ProjectConfig::parse("timeout = \"5 weeks\"\n", "f").expect_err("error");
        assert_eq!(e.line, 1);
        assert!(
            e.message.contains("use s, m or h") || e.message.contains("not a duration"),
            "{e}"
        );
        let e = ProjectConfig::parse("pull = \"sometimes\"\n", "f").expect_err("error");
        assert!(e.message.contains("always"), "{e}");
    }

    #[test]
    fn saving_keeps_comments_and_other_keys() {
        let text = "# my project\nname = \"x\" # short\n[env]\nA = \"1\"\n";
        let out = save_docker_and_image(text, Some("img:1"), Some(DockerAccess::Privileged))
            .expect("save");
        assert!(
            out.starts_with("# my project\nname = \"x\" # short\n"),
            "{out}"
        );
        let c = ProjectConfig::parse(&out, "f").expect("reparse");
        assert_eq!(c.image.as_deref(), Some("img:1"));
        assert_eq!(c.docker(), DockerAccess::Privileged);
        assert_eq!(c.env.get("A").map(String::as_str), Some("1"));
    }
}
