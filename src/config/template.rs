//! What `cbdash init` writes: a commented `.cbdash.toml` that shows every option of
//! [`ProjectConfig`](super::project::ProjectConfig) once (all commented out but the image), and
//! a starter `buildspec.yml`. Text only; `commands::init` writes the files.

/// The commented `.cbdash.toml`. Each option is a `# key = value` line that works as it is
/// once uncommented (the tests check both forms parse).
pub const PROJECT_TOML: &str = r#"# cbdash settings for this project: the options of `cbdash run`, kept with the project so the
# dashboard, `cbdash run`, watch mode, `cbdash resume` and `cbdash cloud reproduce` run it the
# same way. The command line overrides what is set here. Uncomment what you need.

# Project name (default: the directory's name).
# name = "my-app"

# The build image: a CodeBuild image name (aws/codebuild/standard:7.0) or any Docker image.
image = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0"

# The buildspec, relative to this directory.
# buildspec = "buildspec.yml"

# When to pull the image: "always", "missing" or "never".
# pull = "missing"

# Let the build's `docker` commands use the host's Docker daemon (its socket is mounted in).
# docker_socket = true

# CodeBuild's privileged mode: the image's own Docker daemon starts in the build.
# privileged = true

# Bind-mount this directory into the build instead of copying it.
# mount_source = true

# Run the buildspec's `batch:` section, each task a build (as `cbdash run --batch`).
# batch = true

# Build timeout: "90s", "30m", "2h" (CodeBuild's default is 60 minutes).
# timeout = "60m"

# Where artifacts are copied, relative to this directory.
# artifacts = ".cbdash/artifacts"

# Files of NAME=VALUE lines, relative to this directory.
# env_files = ["ci.env"]

# Names of variables whose values come from cbdash's own environment when the build runs;
# they are masked in every output. Never write their values in this file.
# secrets = ["NPM_TOKEN"]

# Variables for the build (the buildspec's `env.variables` come below them).
# [env]
# GREETING = "hello"
"#;

/// A starter buildspec, for a project that has none.
pub const BUILDSPEC_YML: &str = r#"version: 0.2

phases:
  install:
    commands:
      - echo "Installing tools"
  build:
    commands:
      - echo "Build started on $(date)"
  post_build:
    commands:
      - echo "Build completed"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::project::{KEYS, ProjectConfig};

    /// The template with every commented option line uncommented.
    fn uncommented() -> String {
        PROJECT_TOML
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest
                            .split_once(" = ")
                            .is_some_and(|(k, _)| !k.contains(' ')) =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_template_parses_and_sets_only_the_image() {
        let config = ProjectConfig::parse(PROJECT_TOML, ".cbdash.toml").expect("parses");
        assert_eq!(
            config,
            ProjectConfig {
                image: Some("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0".into()),
                ..ProjectConfig::default()
            }
        );
    }

    #[test]
    fn the_template_shows_every_option_once_and_each_works_uncommented() {
        for key in KEYS {
            let forms = [
                format!("# {key} = "),
                format!("{key} = "),
                format!("# [{key}]"),
            ];
            let count: usize = PROJECT_TOML
                .lines()
                .filter(|l| forms.iter().any(|f| l.starts_with(f.as_str())))
                .count();
            assert_eq!(count, 1, "`{key}` once in the template");
        }
        let all = uncommented();
        let config =
            ProjectConfig::parse(&all, ".cbdash.toml").unwrap_or_else(|e| panic!("{e}\n{all}"));
        assert!(config.name.is_some() && config.buildspec.is_some() && config.pull.is_some());
        assert!(config.docker_socket.is_some() && config.privileged.is_some());
        assert!(config.mount_source.is_some() && config.timeout.is_some());
        assert!(config.artifacts.is_some() && config.batch.is_some());
        assert!(!config.env_files.is_empty() && !config.secrets.is_empty());
        assert!(!config.env.is_empty());
    }

    #[test]
    fn the_starter_buildspec_passes_the_validator() {
        assert!(crate::buildspec::parse(BUILDSPEC_YML).is_ok());
    }
}
