//! The scripts each command runs as, and the saved shell state they load and save.
//!
//! CodeBuild keeps the exported environment and the working directory in
//! `/codebuild/output/tmp/env.sh`: each 0.2 command sources it first and, in an EXIT trap,
//! saves `export -p` (with `PWD` exported) back, so `cd` and `export` carry over between
//! commands and phases while each command keeps its own exit status. A 0.1 command sources
//! the same initial state but never saves it: every command starts fresh.

use std::fmt::Write as _;

use crate::buildspec::Version;

use super::driver::TMP_DIR;

/// `value` as one single-quoted shell word.
#[must_use]
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The initial `env.sh`: every variable exported literally, and the working directory.
#[must_use]
pub fn initial_env(vars: &[(String, String)], src_dir: &str) -> String {
    let mut s = String::new();
    for (k, v) in vars {
        let _ = writeln!(s, "export {k}={}", quote(v));
    }
    let _ = writeln!(s, "export PWD={}", quote(src_dir));
    s
}

/// The script that runs `command`, with `succeeding` as `CODEBUILD_BUILD_SUCCEEDING`.
#[must_use]
pub fn wrap(command: &str, version: Version, succeeding: bool) -> String {
    let flag = u8::from(succeeding);
    let head = format!(
        ". {TMP_DIR}/env.sh\ncd \"$PWD\" 2>/dev/null\nexport CODEBUILD_BUILD_SUCCEEDING={flag}\n"
    );
    match version {
        Version::V01 => format!("{head}{command}\n"),
        Version::V02 => format!(
            "{head}trap '__cbdash_rc=$?; export PWD; export -p > {TMP_DIR}/env.sh; exit $__cbdash_rc' EXIT\n{command}\n"
        ),
    }
}

/// A script that prints the shell expansion of `text` (artifact names are shell-evaluated in
/// the build's environment), without saving state.
#[must_use]
pub fn expand(text: &str) -> String {
    let escaped = text.replace('\\', r"\\").replace('"', "\\\"");
    format!(". {TMP_DIR}/env.sh\ncd \"$PWD\" 2>/dev/null\nprintf '%s\\n' \"{escaped}\"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote("$PATH:/x"), "'$PATH:/x'");
    }

    #[test]
    fn initial_env_is_literal() {
        let s = initial_env(&[("PATH".into(), "$PATH:/x".into())], "/src");
        assert_eq!(s, "export PATH='$PATH:/x'\nexport PWD='/src'\n");
    }

    #[test]
    fn v02_saves_state_and_v01_does_not() {
        let s = wrap("echo hi", Version::V02, true);
        assert!(s.contains("export -p >"));
        assert!(s.contains("CODEBUILD_BUILD_SUCCEEDING=1"));
        assert!(s.ends_with("echo hi\n"));
        let s = wrap("echo hi", Version::V01, false);
        assert!(!s.contains("export -p"));
        assert!(s.contains("CODEBUILD_BUILD_SUCCEEDING=0"));
    }

    #[test]
    fn expand_escapes_quotes_but_keeps_substitutions() {
        let s = expand(r#"a"b-$(date)"#);
        assert!(s.contains(r#""a\"b-$(date)""#));
    }
}
