//! `phases.install.runtime-versions` as CodeBuild's curated images do it: the image carries
//! [`RUNTIMES_FILE`] (`runtimes: <runtime>: versions: <version>: commands: [...]`, with a
//! `default` entry whose commands use `$VERSION` for versions the file does not list), and
//! the agent runs the commands of each requested runtime and version at the start of INSTALL,
//! in the build's own shell.
//!
//! This module is pure: it parses the file's text and picks the commands for a request.
//! [`super::install`] reads the file from the container and runs the commands as build
//! commands.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Deserialize;

/// Where the curated images keep their runtime table.
pub const RUNTIMES_FILE: &str = "/codebuild/image/config/runtimes.yml";

/// The version entry used for versions the file does not list.
const DEFAULT: &str = "default";

/// What goes wrong with a runtime request (the messages are CodeBuild's where known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimesError {
    #[error("the image's {RUNTIMES_FILE} does not parse: {0}")]
    Parse(String),
    #[error(
        "Unknown runtime named '{name}'. This build image has the following runtimes: {available}"
    )]
    UnknownRuntime { name: String, available: String },
    #[error(
        "Unknown runtime version named '{version}' of {name}. This build image has the \
         following versions: {available}"
    )]
    UnknownVersion {
        name: String,
        version: String,
        available: String,
    },
}

#[derive(Debug, Deserialize)]
struct FileDoc {
    #[serde(default)]
    runtimes: BTreeMap<String, RuntimeDoc>,
}

#[derive(Debug, Deserialize)]
struct RuntimeDoc {
    #[serde(default)]
    versions: BTreeMap<String, VersionDoc>,
}

#[derive(Debug, Deserialize)]
struct VersionDoc {
    #[serde(default)]
    commands: Vec<String>,
}

/// A parsed `runtimes.yml`: runtime → version → commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Runtimes {
    runtimes: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// The commands one requested runtime runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub runtime: String,
    /// The version asked for, with `latest` resolved to the highest listed one.
    pub version: String,
    pub commands: Vec<String>,
    /// Whether these are the `default` entry's commands (run with `VERSION` set).
    pub by_default: bool,
}

impl Runtimes {
    /// Parses the file's text. Version keys keep the text the file wrote (`3.10` stays
    /// `3.10`, not the number 3.1).
    pub fn parse(text: &str) -> Result<Self, RuntimesError> {
        let doc: Option<FileDoc> =
            serde_saphyr::from_str(text).map_err(|e| RuntimesError::Parse(e.to_string()))?;
        let runtimes = doc
            .map(|d| d.runtimes)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, r)| {
                let versions = r
                    .versions
                    .into_iter()
                    .map(|(v, d)| (v, d.commands))
                    .collect();
                (name, versions)
            })
            .collect();
        Ok(Self { runtimes })
    }

    /// The commands for `runtime` at `version` (`latest`: the highest listed version; an
    /// unlisted version: the `default` entry).
    pub fn select(&self, runtime: &str, version: &str) -> Result<Selection, RuntimesError> {
        let Some(versions) = self.runtimes.get(runtime) else {
            return Err(RuntimesError::UnknownRuntime {
                name: runtime.to_owned(),
                available: join(self.runtimes.keys()),
            });
        };
        let listed = || versions.keys().filter(|v| *v != DEFAULT);
        let unknown = || {
            let mut names: Vec<&String> = listed().collect();
            names.sort_by(|a, b| compare_versions(a, b));
            RuntimesError::UnknownVersion {
                name: runtime.to_owned(),
                version: version.to_owned(),
                available: join(names.into_iter()),
            }
        };
        let wanted = if version == "latest" {
            listed()
                .max_by(|a, b| compare_versions(a, b))
                .ok_or_else(unknown)?
        } else {
            version
        };
        if let Some(commands) = versions.get(wanted).filter(|_| wanted != DEFAULT) {
            return Ok(Selection {
                runtime: runtime.to_owned(),
                version: wanted.to_owned(),
                commands: commands.clone(),
                by_default: false,
            });
        }
        let commands = versions.get(DEFAULT).ok_or_else(unknown)?;
        Ok(Selection {
            runtime: runtime.to_owned(),
            version: wanted.to_owned(),
            commands: commands.clone(),
            by_default: true,
        })
    }
}

fn join<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// Orders version names as people read them: dot-separated parts, each compared as runs of
/// digits (by value) and other text (`3.12` > `3.9`, `corretto21` > `corretto8`).
#[must_use]
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    let (mut lefts, mut rights) = (chunks(left), chunks(right));
    loop {
        match (lefts.next(), rights.next()) {
            (None, None) => return left.cmp(right),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => {
                let ord = match (l.parse::<u128>(), r.parse::<u128>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Greater,
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Err(_), Err(_)) => l.cmp(r),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// `3.12-rc1` → `3`, `12`, `rc`, `1`: runs of digits and runs of other characters, the
/// separators `.`, `-`, `_` dropped.
fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(['.', '-', '_']);
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit || matches!(c, '.' | '-' | '_'))
            .unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// A `runtime-versions` value the build's shell must expand first (`"$PYTHON_VERSION"`).
#[must_use]
pub fn needs_expansion(value: &str) -> bool {
    value.contains('$')
}

/// The script one runtime command runs as: the command as written, with `VERSION` set for a
/// `default` entry's commands. `VERSION` is the build's own again afterwards (the build's
/// variables carry over between commands, and a buildspec may well have a `VERSION` of its
/// own), while what the command exported stays.
#[must_use]
pub fn command_script(sel: &Selection, command: &str) -> String {
    if sel.by_default {
        format!(
            "__cbdash_version=${{VERSION-__cbdash_unset}}\nVERSION={}\n{command}\n\
             __cbdash_rc=$?\n\
             if [ \"$__cbdash_version\" = __cbdash_unset ]; then unset VERSION; \
             else VERSION=$__cbdash_version; fi\n\
             exit $__cbdash_rc",
            super::script::quote(&sel.version)
        )
    } else {
        command.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
version: 0.1
runtimes:
  python:
    versions:
      3.9:
        commands:
          - echo "Installing Python 3.9"
      3.12:
        commands:
          - echo "Installing Python 3.12"
          - export PY=3.12
      3.10:
        commands:
          - echo "Installing Python 3.10"
      default:
        commands:
          - echo "Installing custom Python $VERSION"
  nodejs:
    versions:
      "18":
        commands: [echo node18]
      20:
        commands: [echo node20]
"#;

    fn rt() -> Runtimes {
        Runtimes::parse(FILE).expect("parses")
    }

    #[test]
    fn listed_versions_keep_their_text() {
        let sel = rt().select("python", "3.10").expect("3.10");
        assert_eq!(sel.commands, ["echo \"Installing Python 3.10\""]);
        assert!(!sel.by_default);
        assert_eq!(
            rt().select("nodejs", "20").expect("20").commands,
            ["echo node20"]
        );
    }

    #[test]
    fn latest_is_the_highest_listed_version() {
        let sel = rt().select("python", "latest").expect("latest");
        assert_eq!(sel.version, "3.12");
        assert_eq!(sel.commands.len(), 2);
        assert_eq!(rt().select("nodejs", "latest").expect("n").version, "20");
    }

    #[test]
    fn an_unlisted_version_runs_default_with_version_set() {
        let sel = rt().select("python", "3.11").expect("default");
        assert!(sel.by_default);
        assert_eq!(sel.version, "3.11");
        let script = command_script(&sel, &sel.commands[0]);
        assert!(
            script.contains("VERSION='3.11'\necho \"Installing custom Python $VERSION\"\n"),
            "{script}"
        );
        assert!(
            script.contains("else VERSION=$__cbdash_version; fi"),
            "{script}"
        );
        assert!(script.ends_with("exit $__cbdash_rc"), "{script}");
    }

    #[test]
    fn unknown_runtime_and_version_say_what_the_image_has() {
        let e = rt().select("ruby", "3").expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "Unknown runtime named 'ruby'. This build image has the following runtimes: \
             nodejs, python"
        );
        let e = rt().select("nodejs", "16").expect_err("no default");
        assert!(e.to_string().contains("following versions: 18, 20"), "{e}");
    }

    #[test]
    fn unquoted_number_keys_as_the_curated_images_write_them() {
        // The layout of aws-codebuild-docker-images' ubuntu/standard/8.0 table: plain `10.0:`,
        // `8.0:`, `24:` keys and corretto names.
        let table = Runtimes::parse(
            "version: 0.1\nruntimes:\n  dotnet:\n    versions:\n      10.0:\n        commands: [a]\n      8.0:\n        commands: [b]\n  nodejs:\n    versions:\n      24:\n        commands: [c]\n      22:\n        commands: [d]\n  java:\n    versions:\n      corretto8:\n        commands: [e]\n      corretto25:\n        commands: [f]\n      corretto17:\n        commands: [g]\n",
        )
        .expect("parses");
        assert_eq!(table.select("dotnet", "latest").expect("d").version, "10.0");
        assert_eq!(table.select("dotnet", "8.0").expect("d").commands, ["b"]);
        assert_eq!(table.select("nodejs", "latest").expect("n").version, "24");
        assert_eq!(
            table.select("java", "latest").expect("j").version,
            "corretto25"
        );
        let e = table.select("nodejs", "18").expect_err("no default");
        assert!(e.to_string().contains("following versions: 22, 24"), "{e}");
        let e = table.select("dotnet", "6.0").expect_err("no default");
        assert!(
            e.to_string().contains("following versions: 8.0, 10.0"),
            "{e}"
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("3.12", "3.9"), Ordering::Greater);
        assert_eq!(
            compare_versions("corretto21", "corretto8"),
            Ordering::Greater
        );
        assert_eq!(compare_versions("1.0", "1"), Ordering::Greater);
        assert_eq!(compare_versions("8.1", "8.1"), Ordering::Equal);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
    }

    #[test]
    fn a_broken_file_is_an_error_and_an_empty_one_has_no_runtimes() {
        assert!(matches!(
            Runtimes::parse("runtimes: [1"),
            Err(RuntimesError::Parse(_))
        ));
        let empty = Runtimes::parse("").expect("empty");
        assert!(matches!(
            empty.select("python", "3"),
            Err(RuntimesError::UnknownRuntime { .. })
        ));
    }

    #[test]
    fn dollar_values_need_the_shell() {
        assert!(needs_expansion("$PY_VERSION"));
        assert!(!needs_expansion("3.12"));
    }
}
