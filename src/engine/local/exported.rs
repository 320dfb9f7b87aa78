//! `env.exported-variables`: the values a build exports, read from the container's saved
//! shell state when the build ends (CodeBuild freezes them after `POST_BUILD`, and nothing
//! after `POST_BUILD` changes that state), masked like every other output.
//!
//! CodeBuild refuses to export names starting `AWS_` and variables that come from Parameter
//! Store or Secrets Manager: [`exportable`] leaves them out (`cbdash validate` warns about
//! them: `buildspec::lint::not_exportable`). A listed variable that is not set exports as empty.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::buildspec::Env;
use crate::buildspec::lint::not_exportable;

use super::driver::TMP_DIR;
use super::run::Build;
use super::{LocalError, phases, script};

/// The names a build exports: the listed ones CodeBuild accepts, each once.
#[must_use]
pub fn exportable(env: &Env) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &env.exported_variables {
        if not_exportable(env, n).is_none() && !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// The exported variables' values now, masked; empty when the buildspec exports none or the
/// build's shell is gone (a stopped build). A failure to read them is logged, not fatal: the
/// build's own status stands.
pub async fn values(b: &mut Build) -> BTreeMap<String, String> {
    let names = b.spec().map(|s| exportable(&s.env)).unwrap_or_default();
    if names.is_empty() || b.session.is_none() {
        return BTreeMap::new();
    }
    match read(b, &names).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("cannot read the exported variables: {e}");
            BTreeMap::new()
        }
    }
}

async fn read(b: &mut Build, names: &[String]) -> Result<BTreeMap<String, String>, LocalError> {
    let text = script::print_values(&format!("{TMP_DIR}/env.sh"), names);
    // The build's own shell reads the state it saved (bash saves `declare -x` lines).
    let (rc, lines) = phases::capture(b, &text).await?;
    if rc != 0 {
        return Err(LocalError::exec_msg(format!(
            "reading the saved state exited {rc}"
        )));
    }
    Ok(decode(names, &lines)
        .into_iter()
        .map(|(k, v)| (k, b.emit.mask(&v)))
        .collect())
}

/// Pairs each name with its base64 line from [`script::print_values`] (which prints one line
/// per valid name, in order).
fn decode(names: &[String], lines: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter(|n| script::is_name(n))
        .zip(lines)
        .map(|(n, line)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(line.trim())
                .unwrap_or_default();
            (n.clone(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            parameter_store: vec![("P".into(), "/p".into())],
            secrets_manager: vec![("S".into(), "s:k".into())],
            exported_variables: ["TAG", "AWS_X", "P", "S", "TAG", "URI"]
                .map(String::from)
                .to_vec(),
            ..Env::default()
        }
    }

    #[test]
    fn aws_names_and_secrets_are_not_exported() {
        let e = env();
        assert_eq!(exportable(&e), ["TAG", "URI"]);
        assert!(not_exportable(&e, "AWS_X").is_some_and(|w| w.contains("AWS_")));
        assert!(not_exportable(&e, "P").is_some_and(|w| w.contains("Parameter Store")));
        assert!(not_exportable(&e, "S").is_some_and(|w| w.contains("Secrets Manager")));
        assert_eq!(not_exportable(&e, "TAG"), None);
    }

    #[test]
    fn values_decode_in_order_and_skip_non_names() {
        let names = ["A".to_owned(), "bad name".to_owned(), "B".to_owned()];
        let lines = ["YSBi".to_owned(), String::new()];
        assert_eq!(
            decode(&names, &lines),
            [
                ("A".to_owned(), "a b".to_owned()),
                ("B".to_owned(), String::new())
            ]
        );
    }
}
