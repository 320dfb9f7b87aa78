//! Every warning, at its token.

use super::{assert_no_warnings, assert_warning, ok};

fn build(cmds: &str) -> String {
    format!("version: 0.2\nphases:\n  build:\n    commands:\n{cmds}")
}

#[test]
fn unknown_keys_with_did_you_mean() {
    let p = ok(
        "version: 0.2\nenvironment_variabls:\n  plaintext: {A: b}\nbatch:\n  fail-fast: true\n  build-list: []\nphases:\n  biuld:\n    commands: [x]\n  build:\n    comands: [y]\n",
    );
    assert_warning(&p, 2, 1, "unknown key `environment_variabls`");
    let hint = |line: u32| {
        p.warnings
            .iter()
            .find(|d| d.line == line)
            .and_then(|d| d.hint.clone())
            .unwrap_or_default()
    };
    assert_eq!(hint(2), "did you mean `environment_variables`?");
    assert_warning(&p, 5, 3, "unknown key `fail-fast` in `batch`");
    assert_eq!(hint(5), "did you mean `fast-fail`?");
    assert_warning(&p, 8, 3, "unknown key `biuld` in `phases`");
    assert_eq!(hint(8), "did you mean `build`?");
    assert_warning(&p, 11, 5, "unknown key `comands`");
}

#[test]
fn bash_only_syntax_under_sh() {
    let p = ok(&build(
        "      - if [[ -f x ]]; then echo y; fi\n      - set -o pipefail\n      - source env.sh\n      - function f { echo; }\n      - printf $'a\\tb'\n      - arr=(a b)\n",
    ));
    assert_warning(&p, 5, 12, "`[[ ... ]]` is bash syntax");
    assert_warning(&p, 6, 9, "pipefail");
    assert_warning(&p, 7, 9, "`source` is a bash builtin");
    assert_warning(&p, 8, 9, "`function name` is bash syntax");
    assert_warning(&p, 9, 16, "`$'...'` quoting");
    assert_warning(&p, 10, 9, "arrays");
}

#[test]
fn bash_only_syntax_is_fine_under_bash() {
    let p = ok(
        "version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n      - if [[ -f x ]]; then echo y; fi\n      - source env.sh\n",
    );
    assert_no_warnings(&p);
}

#[test]
fn posix_lookalikes_are_not_flagged() {
    let p = ok(&build(
        "      - X=$(date)\n      - . ./env.sh\n      - echo resource list\n      - echo Installing source NPM deps\n      - echo the function f is here\n      - '[ -f x ] && echo y'\n",
    ));
    assert_no_warnings(&p);
}

#[test]
fn multi_line_block_without_set_e() {
    let p = ok(&build(
        "      - |\n        make\n        make test\n      - |\n        set -e\n        make\n        make test\n      - |\n        docker build \\\n          -t x .\n",
    ));
    assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
    assert_warning(&p, 6, 9, "without `set -e`");
}

#[test]
fn local_run_limits() {
    let p = ok(
        "version: 0.2\nenv:\n  git-credential-helper: yes\nproxy:\n  upload-artifacts: yes\n  logs: no\nphases:\n  install:\n    runtime-versions:\n      python: 3.10\n    commands: [x]\nreports:\n  r:\n    files: [a]\n    file-format: CucumberJson\nartifacts:\n  files: [a]\n  s3-prefix: out\n",
    );
    assert_warning(&p, 3, 3, "`git-credential-helper` is not available");
    assert_warning(&p, 4, 1, "`proxy` settings are ignored");
    assert!(
        !p.warnings
            .iter()
            .any(|w| w.message.contains("runtime-versions")),
        "runtime-versions runs locally as on CodeBuild: {:#?}",
        p.warnings
    );
    assert_warning(&p, 10, 15, "`3.10` is a YAML number");
    // Every report format is parsed locally: no warning.
    assert!(
        !p.warnings.iter().any(|w| w.message.contains("report")),
        "{:#?}",
        p.warnings
    );
    assert_warning(&p, 18, 3, "`s3-prefix`");
    assert_eq!(p.spec.reports["r"].file_format, "CUCUMBERJSON");
}

#[test]
fn reserved_and_unexportable_variables() {
    let p = ok(
        "version: 0.2\nenv:\n  variables:\n    CODEBUILD_BUILD_ID: mine\n    PLAIN: x\n  parameter-store:\n    DB: /db\n  secrets-manager:\n    TOKEN: tok\n  exported-variables:\n    - PLAIN\n    - AWS_REGION\n    - DB\n    - TOKEN\n    - my-var\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(p.warnings.len(), 5, "{:#?}", p.warnings);
    assert_warning(
        &p,
        15,
        7,
        "`my-var` is not exported: it is not a shell variable name",
    );
    assert_warning(
        &p,
        4,
        5,
        "`CODEBUILD_BUILD_ID`: names starting `CODEBUILD_` are reserved",
    );
    assert_warning(&p, 12, 7, "`AWS_REGION` is not exported");
    assert_warning(&p, 13, 7, "not export Parameter Store variables");
    assert_warning(&p, 14, 7, "not export Secrets Manager variables");
}

#[test]
fn windows_shells() {
    let p = ok(
        "version: 0.2\nenv:\n  shell: powershell.exe\nphases:\n  build:\n    commands:\n      - |\n        Write-Host a\n        Write-Host b\n      - if [[ x ]]; then y; fi\n",
    );
    assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
    assert_warning(&p, 3, 10, "Windows shells cannot run in a Linux container");
}

#[test]
fn runtime_versions_outside_install() {
    let p = ok(
        "version: 0.2\nphases:\n  build:\n    runtime-versions:\n      java: corretto17\n    commands: [x]\n",
    );
    assert_warning(&p, 4, 5, "only works in the `install` phase");
}

#[test]
fn empty_command_entry() {
    let p = ok(&build("      - echo a\n      -\n"));
    assert!(
        p.warnings.iter().any(|d| d.message.contains("empty entry")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn bash_only_after_then_and_in_chains() {
    let p = ok(&build(
        "      - if true; then source a.sh; fi\n      - make && source b.sh\n",
    ));
    assert_warning(&p, 5, 23, "`source` is a bash builtin");
    assert_warning(&p, 6, 17, "`source` is a bash builtin");
}

#[test]
fn heredoc_bodies_are_not_shell() {
    let p = ok(&build(
        "      - |\n        cat > f.json << EOF\n        [[ not shell ]]\n        source: here\n        EOF\n",
    ));
    assert_no_warnings(&p);
}
