//! Reproducing a cloud build locally: the project's (or one build's) environment image,
//! variables and buildspec become a local [`BuildRequest`] on the working tree, so the failing
//! phase can be fixed and re-run locally.
//!
//! [`Reproduction::from_parts`] is pure (SDK values in, a plan out); [`reproduce`] reads the
//! project or build, resolves Parameter Store and Secrets Manager variables with the user's
//! credentials (their values are masked in every output, like `--secret`), and writes an
//! inline buildspec under `.cbdash/reproduce/` (never into the user's files).

use std::path::{Path, PathBuf};

use aws_sdk_codebuild::types::{
    CacheMode, CacheType, EnvironmentVariableType, ProjectCache, ProjectEnvironment, ProjectSource,
};

use super::client::classify;
use super::{CloudClients, CloudError};
use crate::buildspec::Env;
use crate::engine::local::envvars::resolve_secrets_with;
use crate::engine::{BuildRequest, DindOptions, LocalOptions};

/// Where the buildspec comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecSource {
    /// The project's inline buildspec text.
    Inline(String),
    /// A file in the source, relative to its root (`buildspec.yml` when the project names
    /// none).
    File(PathBuf),
}

/// What a local run needs from a cloud project or build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reproduction {
    pub project: String,
    pub image: Option<String>,
    pub privileged: bool,
    /// PLAINTEXT variables, literal.
    pub plaintext: Vec<(String, String)>,
    /// `PARAMETER_STORE` (name → parameter) and `SECRETS_MANAGER` (name → reference) variables.
    pub secret_refs: Env,
    pub buildspec: SpecSource,
    /// The project's cache has `LOCAL_DOCKER_LAYER_CACHE`: a privileged local run keeps the
    /// inner Docker's layers between runs only then.
    pub layer_cache: bool,
}

impl Reproduction {
    /// The plan from a project's (or build's) environment and source.
    #[must_use]
    pub fn from_parts(
        project: &str,
        env: Option<&ProjectEnvironment>,
        source: Option<&ProjectSource>,
    ) -> Self {
        let mut plaintext = Vec::new();
        let mut secret_refs = Env::default();
        for v in env
            .map(ProjectEnvironment::environment_variables)
            .unwrap_or_default()
        {
            let pair = (v.name().to_owned(), v.value().to_owned());
            match v.r#type() {
                Some(EnvironmentVariableType::ParameterStore) => {
                    secret_refs.parameter_store.push(pair);
                }
                Some(EnvironmentVariableType::SecretsManager) => {
                    secret_refs.secrets_manager.push(pair);
                }
                _ => plaintext.push(pair),
            }
        }
        Self {
            project: project.to_owned(),
            image: env.map(|e| e.image().to_owned()).filter(|i| !i.is_empty()),
            privileged: env
                .and_then(ProjectEnvironment::privileged_mode)
                .unwrap_or(false),
            plaintext,
            secret_refs,
            buildspec: spec_source(source.and_then(ProjectSource::buildspec)),
            layer_cache: false,
        }
    }

    /// The plan with the project's (or build's) cache settings.
    #[must_use]
    pub fn with_cache(mut self, cache: Option<&ProjectCache>) -> Self {
        self.layer_cache = cache.is_some_and(|c| {
            c.r#type() == &CacheType::Local && c.modes().contains(&CacheMode::LocalDockerLayerCache)
        });
        self
    }

    /// The local request on `dir`, with the resolved secret values; an inline buildspec is
    /// written to `dir/.cbdash/reproduce/<project>.buildspec.yml`.
    pub fn request(
        &self,
        dir: &Path,
        secrets: Vec<(String, String)>,
    ) -> Result<BuildRequest, CloudError> {
        let spec = match &self.buildspec {
            SpecSource::File(rel) => dir.join(rel),
            SpecSource::Inline(text) => {
                let folder = dir.join(".cbdash").join("reproduce");
                let path = folder.join(format!("{}.buildspec.yml", safe_name(&self.project)));
                std::fs::create_dir_all(&folder)
                    .and_then(|()| std::fs::write(&path, text))
                    .map_err(|e| {
                        CloudError::InvalidInput(format!("cannot write {}: {e}", path.display()))
                    })?;
                path
            }
        };
        let mut env = self.plaintext.clone();
        env.extend(secrets.iter().cloned());
        Ok(BuildRequest {
            project: self.project.clone(),
            source_dir: Some(dir.to_path_buf()),
            buildspec: Some(spec),
            image: self.image.clone(),
            env,
            secrets,
            privileged: self.privileged,
            debug_session: false,
            source_version: None,
            batch: None,
            local: LocalOptions {
                dind: DindOptions {
                    layer_cache: self.layer_cache,
                    ..DindOptions::default()
                },
                ..LocalOptions::default()
            },
        })
    }
}

/// An inline buildspec has a newline or a `version:` key; anything else names a file (an S3
/// buildspec cannot be read locally and is treated as a path, which then fails to load with
/// its name in the message).
fn spec_source(spec: Option<&str>) -> SpecSource {
    match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => SpecSource::File(PathBuf::from("buildspec.yml")),
        Some(s) if s.contains('\n') || s.starts_with("version") => {
            SpecSource::Inline(spec.unwrap_or_default().to_owned())
        }
        Some(path) => SpecSource::File(PathBuf::from(path)),
    }
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Reads `target` (a build id `project:uuid`, or a project name), resolves its secret
/// variables and returns the local request on `dir`.
pub async fn reproduce(
    clients: &CloudClients,
    target: &str,
    dir: &Path,
) -> Result<BuildRequest, CloudError> {
    let plan = if target.contains(':') {
        let out = clients
            .codebuild
            .batch_get_builds()
            .ids(target)
            .send()
            .await
            .map_err(|e| classify("BatchGetBuilds", &clients.group, &e))?;
        let b = out.builds().first().ok_or_else(|| CloudError::NotFound {
            what: format!("build {target}"),
        })?;
        Reproduction::from_parts(
            b.project_name().unwrap_or_default(),
            b.environment(),
            b.source(),
        )
        .with_cache(b.cache())
    } else {
        let out = clients
            .codebuild
            .batch_get_projects()
            .names(target)
            .send()
            .await
            .map_err(|e| classify("BatchGetProjects", &clients.group, &e))?;
        let p = out.projects().first().ok_or_else(|| CloudError::NotFound {
            what: format!("project {target}"),
        })?;
        Reproduction::from_parts(target, p.environment(), p.source()).with_cache(p.cache())
    };
    let secrets = resolve_secrets_with(&plan.secret_refs, &clients.config)
        .await
        .map_err(|e| CloudError::InvalidInput(format!("Decrypted Variables Error: {}", e.0)))?;
    plan.request(dir, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codebuild::types::{ComputeType, EnvironmentType, EnvironmentVariable, SourceType};

    fn env() -> ProjectEnvironment {
        let var = |n: &str, v: &str, t| {
            EnvironmentVariable::builder()
                .name(n)
                .value(v)
                .r#type(t)
                .build()
                .expect("var")
        };
        ProjectEnvironment::builder()
            .r#type(EnvironmentType::LinuxContainer)
            .image("img:1")
            .compute_type(ComputeType::BuildGeneral1Small)
            .privileged_mode(true)
            .environment_variables(var("STAGE", "prod", EnvironmentVariableType::Plaintext))
            .environment_variables(var(
                "TOKEN",
                "/app/token",
                EnvironmentVariableType::ParameterStore,
            ))
            .environment_variables(var(
                "DB",
                "db:password",
                EnvironmentVariableType::SecretsManager,
            ))
            .build()
            .expect("env")
    }

    fn source(spec: Option<&str>) -> ProjectSource {
        ProjectSource::builder()
            .r#type(SourceType::NoSource)
            .set_buildspec(spec.map(str::to_owned))
            .build()
            .expect("source")
    }

    #[test]
    fn variables_are_split_by_type_and_the_image_kept() {
        let r = Reproduction::from_parts("api", Some(&env()), None);
        assert_eq!(r.image.as_deref(), Some("img:1"));
        assert!(r.privileged);
        assert_eq!(r.plaintext, vec![("STAGE".to_owned(), "prod".to_owned())]);
        assert_eq!(
            r.secret_refs.parameter_store,
            vec![("TOKEN".to_owned(), "/app/token".to_owned())]
        );
        assert_eq!(
            r.secret_refs.secrets_manager,
            vec![("DB".to_owned(), "db:password".to_owned())]
        );
        assert_eq!(r.buildspec, SpecSource::File("buildspec.yml".into()));
    }

    #[test]
    fn an_inline_buildspec_is_written_under_dot_cbdash_and_a_path_is_kept() {
        let inline = "version: 0.2\nphases:\n  build:\n    commands: [make]\n";
        let r = Reproduction::from_parts("my/api", Some(&env()), Some(&source(Some(inline))));
        assert_eq!(r.buildspec, SpecSource::Inline(inline.to_owned()));
        let dir = tempfile::tempdir().expect("tempdir");
        let req = r
            .request(dir.path(), vec![("TOKEN".into(), "s3cret".into())])
            .expect("request");
        let spec = req.buildspec.expect("spec");
        assert!(spec.starts_with(dir.path().join(".cbdash/reproduce")));
        assert_eq!(std::fs::read_to_string(spec).expect("read"), inline);
        assert_eq!(req.secrets, vec![("TOKEN".to_owned(), "s3cret".to_owned())]);
        assert!(req.env.contains(&("TOKEN".to_owned(), "s3cret".to_owned())));
        assert!(req.env.contains(&("STAGE".to_owned(), "prod".to_owned())));

        let r = Reproduction::from_parts("api", None, Some(&source(Some("ci/buildspec.yml"))));
        assert_eq!(r.buildspec, SpecSource::File("ci/buildspec.yml".into()));
        assert_eq!(r.image, None);
    }

    #[test]
    fn the_layer_cache_follows_the_projects_local_docker_layer_cache_mode() {
        let cache = |t: CacheType, modes: &[CacheMode]| {
            ProjectCache::builder()
                .r#type(t)
                .set_modes(Some(modes.to_vec()))
                .build()
                .expect("cache")
        };
        let plan =
            |c: Option<&ProjectCache>| Reproduction::from_parts("p", None, None).with_cache(c);
        let on = cache(
            CacheType::Local,
            &[
                CacheMode::LocalSourceCache,
                CacheMode::LocalDockerLayerCache,
            ],
        );
        assert!(plan(Some(&on)).layer_cache);
        let dir = tempfile::tempdir().expect("tempdir");
        let req = plan(Some(&on))
            .request(dir.path(), Vec::new())
            .expect("request");
        assert!(req.local.dind.layer_cache);
        for off in [
            cache(CacheType::Local, &[CacheMode::LocalCustomCache]),
            cache(CacheType::S3, &[]),
            cache(CacheType::NoCache, &[]),
        ] {
            assert!(!plan(Some(&off)).layer_cache, "{off:?}");
        }
        assert!(!plan(None).layer_cache);
        let req = plan(None).request(dir.path(), Vec::new()).expect("request");
        assert!(!req.local.dind.layer_cache);
    }
}
