//! The build's environment: CodeBuild's own `CODEBUILD_*` variables with realistic values, then
//! the user's variables by precedence (buildspec < project config < `--env`/`--secret`), all
//! literal. Parameter Store and Secrets Manager values are resolved through the AWS SDK (the
//! default chain, so `AWS_ENDPOINT_URL` points it at an emulator) and added to the masker.

use std::path::Path;

use crate::buildspec::Env;

/// The account id used in ARNs of a local build.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// Facts about this build that the `CODEBUILD_*` variables describe.
#[derive(Clone, Debug)]
pub struct BuildFacts {
    pub build_id: String,
    pub project: String,
    pub uuid: String,
    pub number: u64,
    pub start_ms: i64,
    pub src_dir: String,
    pub image: String,
    pub region: String,
    pub initiator: String,
    pub source_version: Option<String>,
    /// The batch this build is a task of.
    pub batch: Option<crate::engine::BatchContext>,
}

/// The variables that name a fanout shard for `codebuild-tests-run`: CodeBuild sets a shard
/// number and count in fanout builds but does not document their names, so these are cbdash's.
pub const SHARD_NUMBER: &str = "CBDASH_SHARD_NUMBER";
/// See [`SHARD_NUMBER`].
pub const SHARD_COUNT: &str = "CBDASH_SHARD_COUNT";

/// The region for ARNs and `AWS_REGION`: the host's, else `us-east-1`.
#[must_use]
pub fn region() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".into())
}

/// CodeBuild's variables (semantics §4). `CODEBUILD_RESOLVED_SOURCE_VERSION` is included only
/// when known; the runner adds these after `DOWNLOAD_SOURCE`.
#[must_use]
pub fn codebuild_vars(f: &BuildFacts) -> Vec<(String, String)> {
    let r = &f.region;
    let mut v = vec![
        ("CODEBUILD_BUILD_ID", f.build_id.clone()),
        (
            "CODEBUILD_BUILD_ARN",
            format!("arn:aws:codebuild:{r}:{LOCAL_ACCOUNT}:build/{}", f.build_id),
        ),
        ("CODEBUILD_BUILD_NUMBER", f.number.to_string()),
        ("CODEBUILD_START_TIME", f.start_ms.to_string()),
        ("CODEBUILD_SRC_DIR", f.src_dir.clone()),
        ("CODEBUILD_BUILD_IMAGE", f.image.clone()),
        ("CODEBUILD_INITIATOR", f.initiator.clone()),
        ("CODEBUILD_LOG_PATH", f.uuid.clone()),
        (
            "CODEBUILD_PROJECT_ARN",
            format!(
                "arn:aws:codebuild:{r}:{LOCAL_ACCOUNT}:project/{}",
                f.project
            ),
        ),
        (
            "CODEBUILD_KMS_KEY_ID",
            format!("arn:aws:kms:{r}:{LOCAL_ACCOUNT}:alias/aws/s3"),
        ),
        ("CODEBUILD_BUILD_SUCCEEDING", "1".into()),
        ("CODEBUILD_LAST_EXIT", "0".into()),
        ("AWS_REGION", r.clone()),
        ("AWS_DEFAULT_REGION", r.clone()),
        ("HOME", "/root".into()),
    ];
    if let Some(batch) = &f.batch {
        v.push((
            "CODEBUILD_BATCH_BUILD_IDENTIFIER",
            batch.member.identifier.clone(),
        ));
        if let Some((number, count)) = batch.shard {
            v.push((SHARD_NUMBER, number.to_string()));
            v.push((SHARD_COUNT, count.to_string()));
        }
    }
    if let Some(sv) = &f.source_version {
        v.push(("CODEBUILD_SOURCE_VERSION", sv.clone()));
        v.push(("CODEBUILD_RESOLVED_SOURCE_VERSION", sv.clone()));
    }
    v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// `CODEBUILD_INITIATOR`: the user who started the build, or in a batch the batch's id,
/// shared by all its builds (CodeBuild shares one initiator across a batch and tools use it as
/// a run id; its exact text for a batch child is not documented).
#[must_use]
pub fn initiator(batch: Option<&crate::engine::BatchContext>) -> String {
    match batch {
        Some(b) => b.member.batch_id.to_string(),
        None => std::env::var("USER").unwrap_or_else(|_| "cbdash".into()),
    }
}

/// Sets `name=value` in `vars`, replacing an earlier value (later layers win).
pub fn set(vars: &mut Vec<(String, String)>, name: &str, value: &str) {
    if let Some(slot) = vars.iter_mut().find(|(k, _)| k == name) {
        value.clone_into(&mut slot.1);
    } else {
        vars.push((name.to_owned(), value.to_owned()));
    }
}

/// Layers the user's variables over CodeBuild's: buildspec, resolved secrets, project config,
/// then the command line.
#[must_use]
pub fn layered(
    base: Vec<(String, String)>,
    buildspec: &Env,
    resolved: &[(String, String)],
    project: &[(String, String)],
    cli: &[(String, String)],
) -> Vec<(String, String)> {
    let mut vars = base;
    for layer in [&buildspec.variables[..], resolved, project, cli] {
        for (k, v) in layer {
            set(&mut vars, k, v);
        }
    }
    vars
}

/// The commit checked out in `dir`, if it is a git work tree.
pub async fn git_head(dir: &Path) -> Option<String> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    let head = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !head.is_empty()).then_some(head)
}

/// Why a Parameter Store or Secrets Manager variable could not be resolved: CodeBuild's
/// `Decrypted Variables Error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError(pub String);

/// Resolves `env.parameter-store` and `env.secrets-manager` into literal values.
pub async fn resolve_secrets(env: &Env) -> Result<Vec<(String, String)>, SecretError> {
    if env.parameter_store.is_empty() && env.secrets_manager.is_empty() {
        return Ok(Vec::new());
    }
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region()))
        .load()
        .await;
    resolve_secrets_with(env, &conf).await
}

/// [`resolve_secrets`] with a given AWS config (a cloud group's profile and region).
pub async fn resolve_secrets_with(
    env: &Env,
    conf: &aws_config::SdkConfig,
) -> Result<Vec<(String, String)>, SecretError> {
    let mut out = Vec::new();
    if !env.parameter_store.is_empty() {
        let ssm = aws_sdk_ssm::Client::new(conf);
        for (var, name) in &env.parameter_store {
            let got = ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| ssm_error(name, &e))?;
            let value = got
                .parameter
                .and_then(|p| p.value)
                .ok_or_else(|| SecretError(format!("parameter does not exist: {name}")))?;
            out.push((var.clone(), value));
        }
    }
    if !env.secrets_manager.is_empty() {
        let sm = aws_sdk_secretsmanager::Client::new(conf);
        for (var, reference) in &env.secrets_manager {
            let r = SecretRef::parse(reference);
            let mut req = sm.get_secret_value().secret_id(&r.id);
            if let Some(stage) = &r.stage {
                req = req.version_stage(stage);
            }
            if let Some(vid) = &r.version_id {
                req = req.version_id(vid);
            }
            let text = req
                .send()
                .await
                .map_err(|e| secrets_manager_error(&r.id, &e))?
                .secret_string
                .ok_or_else(|| {
                    SecretError(format!(
                        "secret {} has no text value (a binary secret cannot be a variable)",
                        r.id
                    ))
                })?;
            let value = match &r.json_key {
                None => text,
                Some(key) => json_field(&text, key).ok_or_else(|| {
                    SecretError(format!("key {key} not found in secret {}", r.id))
                })?,
            };
            out.push((var.clone(), value));
        }
    }
    Ok(out)
}

/// What a failed `GetParameter` means: "does not exist" only when SSM says so; anything else
/// (access denied, throttling, no credentials, an unreachable endpoint) is said as it is.
fn ssm_error(
    name: &str,
    e: &aws_sdk_ssm::error::SdkError<aws_sdk_ssm::operation::get_parameter::GetParameterError>,
) -> SecretError {
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    use aws_sdk_ssm::operation::get_parameter::GetParameterError as E;
    let service = e.as_service_error();
    let missing = matches!(service, Some(E::ParameterNotFound(_)));
    let meta = service.map(|s| (s.code(), s.message()));
    let detail = aws_sdk_ssm::error::DisplayErrorContext(e).to_string();
    SecretError(describe("parameter", name, missing, meta, &detail))
}

/// [`ssm_error`] for `GetSecretValue`.
fn secrets_manager_error(
    id: &str,
    e: &aws_sdk_secretsmanager::error::SdkError<
        aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
    >,
) -> SecretError {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError as E;
    let service = e.as_service_error();
    let missing = matches!(service, Some(E::ResourceNotFoundException(_)));
    let meta = service.map(|s| (s.code(), s.message()));
    let detail = aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string();
    SecretError(describe("secret", id, missing, meta, &detail))
}

/// The message for a value that could not be read: `<what> does not exist: <name>` (as
/// CodeBuild says it) when the service said so, else the service's error code and message,
/// or, when no service answered, the SDK's own account (credentials, network, endpoint).
fn describe(
    what: &str,
    name: &str,
    missing: bool,
    service: Option<(Option<&str>, Option<&str>)>,
    detail: &str,
) -> String {
    if missing {
        return format!("{what} does not exist: {name}");
    }
    let why = match service {
        Some((code, message)) => {
            let code = code.unwrap_or("service error");
            match message.filter(|m| !m.is_empty()) {
                Some(m) => format!("{code}: {m}"),
                None => code.to_owned(),
            }
        }
        None => detail.to_owned(),
    };
    format!("cannot read {what} {name}: {why}")
}

fn json_field(text: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `secret-id[:json-key[:version-stage[:version-id]]]`, where the id may be an ARN (which has
/// colons of its own: its first seven fields).
#[derive(Debug, PartialEq, Eq)]
struct SecretRef {
    id: String,
    json_key: Option<String>,
    stage: Option<String>,
    version_id: Option<String>,
}

impl SecretRef {
    fn parse(s: &str) -> Self {
        let parts: Vec<&str> = s.split(':').collect();
        let id_len = if s.starts_with("arn:") {
            7.min(parts.len())
        } else {
            1
        };
        let rest = &parts[id_len..];
        let field = |i: usize| {
            rest.get(i)
                .filter(|v| !v.is_empty())
                .map(|v| (*v).to_owned())
        };
        Self {
            id: parts[..id_len].join(":"),
            json_key: field(0),
            stage: field(1),
            version_id: field(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> BuildFacts {
        BuildFacts {
            build_id: "p:u".into(),
            project: "p".into(),
            uuid: "u".into(),
            number: 3,
            start_ms: 1_538_752_095_466,
            src_dir: "/codebuild/output/src1/src".into(),
            image: "img".into(),
            region: "eu-west-1".into(),
            initiator: "me".into(),
            source_version: None,
            batch: None,
        }
    }

    #[test]
    fn a_batch_task_knows_its_identifier_and_shard() {
        let member = crate::model::BatchMember {
            batch_id: crate::model::BatchId("p:b".into()),
            identifier: "fanout_2".into(),
        };
        let ctx = crate::engine::BatchContext {
            member,
            shard: Some((2, 4)),
            build_id: None,
        };
        let v = codebuild_vars(&BuildFacts {
            batch: Some(ctx.clone()),
            ..facts()
        });
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CODEBUILD_BATCH_BUILD_IDENTIFIER"), Some("fanout_2"));
        assert_eq!(get(SHARD_NUMBER), Some("2"));
        assert_eq!(get(SHARD_COUNT), Some("4"));
        assert_eq!(initiator(Some(&ctx)), "p:b");
        let alone = codebuild_vars(&facts());
        assert!(
            !alone
                .iter()
                .any(|(n, _)| n == "CODEBUILD_BATCH_BUILD_IDENTIFIER")
        );
    }

    #[test]
    fn codebuild_vars_have_realistic_values() {
        let v = codebuild_vars(&facts());
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("CODEBUILD_BUILD_ARN"),
            Some("arn:aws:codebuild:eu-west-1:000000000000:build/p:u")
        );
        assert_eq!(get("HOME"), Some("/root"));
        assert_eq!(get("CODEBUILD_START_TIME"), Some("1538752095466"));
        assert_eq!(get("CODEBUILD_RESOLVED_SOURCE_VERSION"), None);
    }

    #[test]
    fn precedence_is_cli_over_project_over_buildspec() {
        let env = Env {
            variables: vec![("A".into(), "spec".into()), ("B".into(), "spec".into())],
            ..Env::default()
        };
        let v = layered(
            vec![],
            &env,
            &[],
            &[("A".into(), "proj".into()), ("C".into(), "proj".into())],
            &[("C".into(), "cli".into())],
        );
        assert_eq!(
            v,
            [
                ("A".to_owned(), "proj".to_owned()),
                ("B".to_owned(), "spec".to_owned()),
                ("C".to_owned(), "cli".to_owned())
            ]
        );
    }

    #[test]
    fn only_a_not_found_answer_reads_as_does_not_exist() {
        assert_eq!(
            describe(
                "parameter",
                "/p",
                true,
                Some((Some("ParameterNotFound"), None)),
                ""
            ),
            "parameter does not exist: /p"
        );
        assert_eq!(
            describe(
                "parameter",
                "/p",
                false,
                Some((Some("AccessDeniedException"), Some("not authorized"))),
                "",
            ),
            "cannot read parameter /p: AccessDeniedException: not authorized"
        );
        assert_eq!(
            describe(
                "secret",
                "db",
                false,
                Some((Some("ThrottlingException"), None)),
                ""
            ),
            "cannot read secret db: ThrottlingException"
        );
        assert_eq!(
            describe(
                "secret",
                "db",
                false,
                None,
                "dispatch failure: connection refused"
            ),
            "cannot read secret db: dispatch failure: connection refused"
        );
    }

    #[test]
    fn secret_refs_parse_with_arns() {
        assert_eq!(
            SecretRef::parse("db:password"),
            SecretRef {
                id: "db".into(),
                json_key: Some("password".into()),
                stage: None,
                version_id: None
            }
        );
        let r = SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC::AWSPREVIOUS");
        assert_eq!(r.id, "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC");
        assert_eq!(r.json_key, None);
        assert_eq!(r.stage.as_deref(), Some("AWSPREVIOUS"));
    }
}
