//! The scripts each command runs as, and the saved shell state they load and save.
//!
//! CodeBuild runs each command as its own script (`/codebuild/output/tmp/script.sh`, the
//! command on its line 4) and keeps the shell state in `/codebuild/output/tmp/env.sh`, so
//! that in 0.2 every variable (exported or not), `cd`, `export` and `unset` carry over
//! between commands and phases while each command keeps its own exit status. Each 0.2
//! command here sources env.sh first and, from an EXIT trap, writes every variable back
//! ([`STATE_SH`], installed by the build shell's loop). A 0.1 command sources the same
//! initial state but never saves it: every command starts fresh.

use std::fmt::Write as _;

use crate::buildspec::Version;

use super::driver::TMP_DIR;

/// `value` as one single-quoted shell word.
#[must_use]
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Deletes `files` (relative to `src_dir`) if they exist, a few hundred per `rm`, so no
/// argument list gets too long.
#[must_use]
pub fn remove_files(src_dir: &str, files: &[String]) -> String {
    let mut s = format!("cd {} || exit 1\n", quote(src_dir));
    for chunk in files.chunks(500) {
        s.push_str("rm -f --");
        for f in chunk {
            let _ = write!(s, " {}", quote(f));
        }
        s.push_str(" || exit 1\n");
    }
    s
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

/// The shell functions that save and replay the state (see the file's own comments).
pub const STATE_SH: &str = include_str!("state.sh");

/// Where the build shell's loop installs [`STATE_SH`].
pub const STATE_PATH: &str = "/codebuild/output/tmp/state.sh";

/// The faster save of bash 4 and later, installed beside [`STATE_SH`], which sources it under
/// bash. Its syntax is bash's alone, so it is a file of its own that dash never parses.
pub const STATE_BASH_SH: &str = include_str!("state-bash.sh");

/// The script that runs `command`, with `succeeding` as `CODEBUILD_BUILD_SUCCEEDING`. The
/// command stands on line 4, as in CodeBuild's `script.sh` (`script.sh: 4: [[: not found`).
#[must_use]
pub fn wrap(command: &str, version: Version, succeeding: bool) -> String {
    let flag = u8::from(succeeding);
    let head = format!(
        ". {TMP_DIR}/env.sh; cd \"$PWD\" 2>/dev/null\nexport CODEBUILD_BUILD_SUCCEEDING={flag}\n"
    );
    match version {
        Version::V01 => format!("{head}\n{command}\n"),
        // A missing state file must not turn the command's status into the shell's own.
        Version::V02 => format!(
            "{head}trap '__cbdash_rc=$?; [ -f {STATE_PATH} ] && . {STATE_PATH} && __cbdash_save; \
             exit $__cbdash_rc' EXIT\n{command}\n"
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

/// Where the shell state at the start of `phase` is saved (`<tmp>/phase-state/BUILD.sh`).
#[must_use]
pub fn phase_state(phase: crate::model::PhaseKind) -> String {
    format!("{TMP_DIR}/phase-state/{phase}.sh")
}

/// Saves the current shell state as the state at the start of `phase`. Before
/// `DOWNLOAD_SOURCE` wrote the first state there is nothing to save, which is no error.
#[must_use]
pub fn snapshot(phase: crate::model::PhaseKind) -> String {
    let to = phase_state(phase);
    format!(
        "[ -f {TMP_DIR}/env.sh ] || exit 0\nmkdir -p {TMP_DIR}/phase-state && cp {TMP_DIR}/env.sh {to}\n"
    )
}

/// Makes the state saved at the start of `phase` the current one again (a resume); exits 3
/// when that phase never started in this container.
#[must_use]
pub fn restore(phase: crate::model::PhaseKind) -> String {
    let from = phase_state(phase);
    format!("[ -f {from} ] || exit 3\ncp {from} {TMP_DIR}/env.sh\n")
}

/// Prints each variable of `names` in the state file `state`, base64-encoded, one per line
/// (a resume masks these values again without ever writing them to the host).
#[must_use]
pub fn print_values(state: &str, names: &[String]) -> String {
    let mut s = format!(". {state}\n");
    for name in names.iter().filter(|n| is_name(n)) {
        let _ = writeln!(
            s,
            "printf '%s' \"${{{name}:-}}\" | base64 | tr -d '\\n'; echo"
        );
    }
    s
}

/// Where the interactive shell's startup file goes.
pub const SHELL_RC: &str = "/codebuild/output/tmp/shell-rc.sh";

/// The startup file of `cbdash shell`: loads the state file `state` (working directory and
/// exported variables) and sets a prompt that says which build phase this is.
#[must_use]
pub fn shell_rc(state: &str, label: &str, term: &str) -> String {
    let bash_prompt = quote(&format!("[cbdash {label}] \\w\\$ "));
    let sh_prompt = quote(&format!("[cbdash {label}] $ "));
    format!(
        "[ -f {state} ] && . {state}\ncd \"$PWD\" 2>/dev/null\nexport TERM={}\n\
         if [ -n \"$BASH_VERSION\" ]; then PS1={bash_prompt}; else PS1={sh_prompt}; fi\n",
        quote(term)
    )
}

/// The command line of `cbdash shell`: bash with [`SHELL_RC`] if the image has bash (bash
/// also reads the `declare -x` state a bash build saves), else an interactive `sh`, which
/// reads `$ENV`.
#[must_use]
pub fn interactive() -> Vec<String> {
    let script = format!(
        "if command -v bash >/dev/null 2>&1; then exec bash --rcfile {SHELL_RC} -i; fi\n\
         ENV={SHELL_RC} exec sh -i\n"
    );
    vec!["/bin/sh".into(), "-c".into(), script]
}

/// A shell variable name (letters, digits, `_`, not starting with a digit).
#[must_use]
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
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
        assert!(s.contains("__cbdash_save"));
        assert_eq!(s.lines().nth(3), Some("echo hi"));
        assert!(s.contains("CODEBUILD_BUILD_SUCCEEDING=1"));
        assert!(s.ends_with("echo hi\n"));
        let s = wrap("echo hi", Version::V01, false);
        assert!(!s.contains("__cbdash_save"));
        assert_eq!(s.lines().nth(3), Some("echo hi"));
        assert!(s.contains("CODEBUILD_BUILD_SUCCEEDING=0"));
    }

    #[test]
    fn phase_state_is_saved_and_restored_by_phase() {
        use crate::model::PhaseKind;
        let snap = snapshot(PhaseKind::Build);
        assert!(snap.contains(
            "cp /codebuild/output/tmp/env.sh /codebuild/output/tmp/phase-state/BUILD.sh"
        ));
        let back = restore(PhaseKind::Build);
        assert!(back.contains(
            "cp /codebuild/output/tmp/phase-state/BUILD.sh /codebuild/output/tmp/env.sh"
        ));
        assert!(back.contains("|| exit 3"));
    }

    #[test]
    fn print_values_skips_what_is_not_a_name() {
        let s = print_values("/s.sh", &["TOKEN".into(), "$(rm -rf /)".into()]);
        assert!(s.contains("${TOKEN:-}"));
        assert!(!s.contains("rm -rf"));
    }

    #[test]
    fn expand_escapes_quotes_but_keeps_substitutions() {
        let s = expand(r#"a"b-$(date)"#);
        assert!(s.contains(r#""a\"b-$(date)""#));
    }
}
