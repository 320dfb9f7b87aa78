//! Interim buildspec loading for the local engine, used until `buildspec::parse` (written on
//! the `buildspec` branch) lands: YAML through serde-saphyr into a generic value, lowered into
//! [`Buildspec`]. It checks only what the engine needs to run; the validator gives positions.
//! TODO(merge): replace the body of [`parse`] with `crate::buildspec::parse`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::buildspec::{
    Artifact, Artifacts, Buildspec, Cache, Command, Env, OnFailure, Phase, Pos, Report, Shell,
    Version,
};
use crate::model::PhaseKind;

/// Parses buildspec text; the error is a one-line explanation.
pub fn parse(text: &str) -> Result<Buildspec, String> {
    let v: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let top = v.as_object().ok_or("the buildspec must be a mapping")?;
    let version = match top.get("version").map(scalar).as_deref() {
        Some("0.2") => Version::V02,
        Some("0.1") => Version::V01,
        Some(other) => return Err(format!("unsupported version '{other}'; use 0.2")),
        None => return Err("missing 'version'; add `version: 0.2`".into()),
    };
    let phases_v = top
        .get("phases")
        .and_then(Value::as_object)
        .ok_or("missing 'phases'")?;
    let mut phases = BTreeMap::new();
    for kind in PhaseKind::BUILDSPEC {
        let key = kind.buildspec_key().unwrap_or_default();
        if let Some(p) = phases_v.get(key) {
            phases.insert(kind, phase(p)?);
        }
    }
    Ok(Buildspec {
        version,
        run_as: top.get("run-as").map(scalar),
        env: env(top.get("env")),
        phases,
        artifacts: top.get("artifacts").map(artifacts),
        reports: reports(top.get("reports")),
        cache: top.get("cache").map(|c| Cache {
            paths: strings(c.get("paths")),
            ..Cache::default()
        }),
        batch: None,
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(scalar).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![scalar(other)],
    }
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
        .unwrap_or_default()
}

fn flag(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
        || v.is_some_and(|v| matches!(scalar(v).as_str(), "yes" | "true" | "on"))
}

fn commands(v: Option<&Value>) -> Vec<Command> {
    strings(v)
        .into_iter()
        .map(|text| Command {
            text,
            pos: Pos::default(),
        })
        .collect()
}

fn phase(v: &Value) -> Result<Phase, String> {
    let on_failure = match v.get("on-failure").map(scalar).as_deref() {
        None => OnFailure::Default,
        Some("ABORT") => OnFailure::Abort,
        Some("CONTINUE") => OnFailure::Continue,
        Some(r) if r.starts_with("RETRY") => retry(r),
        Some(other) => return Err(format!("invalid on-failure '{other}'")),
    };
    Ok(Phase {
        run_as: v.get("run-as").map(scalar),
        on_failure,
        runtime_versions: pairs(v.get("runtime-versions")).into_iter().collect(),
        commands: commands(v.get("commands")),
        finally: commands(v.get("finally")),
        pos: Pos::default(),
    })
}

fn retry(r: &str) -> OnFailure {
    let rest = r.strip_prefix("RETRY").unwrap_or("");
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if rest.is_empty() {
        return OnFailure::Retry {
            count: 3,
            pattern: None,
        };
    }
    let (head, tail) = rest.split_once('-').unwrap_or((rest, ""));
    match head.parse::<u32>() {
        Ok(count) => OnFailure::Retry {
            count,
            pattern: (!tail.is_empty()).then(|| tail.to_owned()),
        },
        Err(_) => OnFailure::Retry {
            count: 3,
            pattern: Some(rest.to_owned()),
        },
    }
}

fn env(v: Option<&Value>) -> Env {
    let Some(v) = v else { return Env::default() };
    Env {
        shell: match v.get("shell").map(scalar).as_deref() {
            None | Some("/bin/sh" | "sh") => Shell::Sh,
            Some("bash" | "/bin/bash") => Shell::Bash,
            Some(other) => Shell::Other(other.to_owned()),
        },
        variables: pairs(v.get("variables")),
        parameter_store: pairs(v.get("parameter-store")),
        secrets_manager: pairs(v.get("secrets-manager")),
        exported_variables: strings(v.get("exported-variables")),
        git_credential_helper: flag(v.get("git-credential-helper")),
    }
}

fn artifact(v: &Value) -> Artifact {
    Artifact {
        files: strings(v.get("files")),
        name: v.get("name").map(scalar),
        base_directory: v.get("base-directory").map(scalar),
        discard_paths: flag(v.get("discard-paths")),
        exclude_paths: strings(v.get("exclude-paths")),
        enable_symlinks: flag(v.get("enable-symlinks")),
        s3_prefix: v.get("s3-prefix").map(scalar),
    }
}

fn artifacts(v: &Value) -> Artifacts {
    Artifacts {
        primary: artifact(v),
        secondary: v
            .get("secondary-artifacts")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, a)| (k.clone(), artifact(a))).collect())
            .unwrap_or_default(),
    }
}

fn reports(v: Option<&Value>) -> BTreeMap<String, Report> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, r)| {
                    let rep = Report {
                        files: strings(r.get("files")),
                        base_directory: r.get("base-directory").map(scalar),
                        discard_paths: flag(r.get("discard-paths")),
                        file_format: r.get("file-format").map(scalar).unwrap_or_default(),
                    };
                    (k.clone(), rep)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_buildspec() {
        let s = parse(
            "version: 0.2\nenv:\n  shell: bash\n  variables:\n    PATH: \"$PATH:/x\"\nphases:\n  build:\n    on-failure: RETRY-2-exit status 4\n    commands:\n      - echo hi\n      - |\n        false\n        true\nartifacts:\n  files: ['**/*']\n  discard-paths: yes\n",
        )
        .expect("parse");
        assert_eq!(s.version, Version::V02);
        assert_eq!(s.env.shell, Shell::Bash);
        assert_eq!(s.env.variables, [("PATH".into(), "$PATH:/x".into())]);
        let b = s.phase(PhaseKind::Build).expect("build");
        assert_eq!(b.commands.len(), 2);
        assert_eq!(b.commands[1].text, "false\ntrue\n");
        assert_eq!(
            b.on_failure,
            OnFailure::Retry {
                count: 2,
                pattern: Some("exit status 4".into())
            }
        );
        assert!(s.artifacts.expect("artifacts").primary.discard_paths);
    }

    #[test]
    fn retry_forms() {
        assert_eq!(
            retry("RETRY"),
            OnFailure::Retry {
                count: 3,
                pattern: None
            }
        );
        assert_eq!(
            retry("RETRY-foo.*"),
            OnFailure::Retry {
                count: 3,
                pattern: Some("foo.*".into())
            }
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse("version: 0.2\nphases: [").is_err());
        assert!(parse("phases: {}").is_err());
        assert!(parse("- a list").is_err());
    }
}
