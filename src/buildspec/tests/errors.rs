//! Every error, at the token that caused it.

use super::{assert_error, errs};

#[test]
fn tab_indentation() {
    let d = errs("version: 0.2\nphases:\n\tbuild:\n    commands: [x]\n");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].line, d[0].col), (3, 1));
    assert!(d[0].message.contains("invalid YAML"), "{d:?}");
    assert!(d[0].hint.as_deref().unwrap_or("").contains("tabs"), "{d:?}");
}

#[test]
fn unclosed_quote() {
    let d = errs("version: 0.2\nphases:\n  build:\n    commands:\n      - \"echo hi\n");
    assert_eq!(d[0].line, 5, "{d:?}");
    assert!(
        d[0].hint.as_deref().unwrap_or("").contains("quote"),
        "{d:?}"
    );
}

#[test]
fn duplicate_keys() {
    let d =
        errs("version: 0.2\nphases:\n  build:\n    commands: [a]\n  build:\n    commands: [b]\n");
    assert_error(&d, 5, 3, "duplicate");
}

#[test]
fn bad_indentation() {
    let d = errs("version: 0.2\nphases:\n  build:\n    commands:\n      - a\n   post_build:\n");
    assert_eq!(d[0].line, 6, "{d:?}");
    assert!(d[0].message.contains("invalid YAML"));
}

#[test]
fn command_read_as_mapping() {
    let d = errs(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n      - echo this is URI: $URI\n",
    );
    assert_error(&d, 6, 9, "read by YAML as a mapping");
    let hint = d[0].hint.as_deref().unwrap_or("");
    assert!(
        hint.contains("a command containing ': ' must be quoted"),
        "{hint}"
    );
}

#[test]
fn missing_phases() {
    let d = errs("# header\nversion: 0.2\nenv:\n  variables: {A: b}\n");
    assert_error(&d, 2, 1, "missing `phases`");
}

#[test]
fn missing_version() {
    let d = errs("# header\nphases:\n  build:\n    commands: [x]\n");
    assert_error(&d, 2, 1, "missing `version`");
    assert_eq!(
        d[0].hint.as_deref(),
        Some("add `version: 0.2` as the first line")
    );
}

#[test]
fn unknown_version() {
    let d = errs("version: 0.0\nphases:\n  build:\n    commands: [x]\n");
    assert_error(&d, 1, 10, "unknown buildspec version `0.0`");
    assert!(d[0].hint.as_deref().unwrap_or("").contains("0.2"));
    let d = errs("version: [1]\nphases: {build: {commands: [x]}}\n");
    assert_error(&d, 1, 10, "unknown buildspec version a list");
}

#[test]
fn invalid_on_failure() {
    let d = errs("version: 0.2\nphases:\n  build:\n    on-failure: STOP\n    commands: [x]\n");
    assert_error(&d, 4, 17, "invalid `on-failure` value `STOP`");
    assert!(d[0].hint.as_deref().unwrap_or("").contains("RETRY-<count>"));
    let d = errs("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-0\n    commands: [x]\n");
    assert_error(&d, 4, 17, "at least 1");
}

#[test]
fn commands_neither_list_nor_string() {
    let d = errs("version: 0.2\nphases:\n  build:\n    commands:\n      a: b\n");
    assert_error(
        &d,
        5,
        7,
        "`phases.build.commands` must be a list of commands, found a mapping",
    );
}

#[test]
fn wrong_types() {
    let d = errs("version: 0.2\nphases:\n  - build\n");
    assert_error(&d, 3, 3, "`phases` must be a mapping, found a list");
    let d =
        errs("version: 0.2\nenv:\n  variables:\n    A: [1, 2]\nphases: {build: {commands: [x]}}\n");
    assert_error(&d, 4, 8, "`env.variables.A` must be a string, found a list");
    let d = errs(
        "version: 0.2\nphases: {build: {commands: [x]}}\nartifacts:\n  discard-paths: maybe\n  files: [a]\n",
    );
    assert_error(&d, 4, 18, "`discard-paths` must be yes or no");
    let d = errs("version: 0.2\nphases: {build: {commands: [x]}}\ncache:\n  action: sometimes\n");
    assert_error(&d, 4, 11, "invalid `cache.action`");
    let d = errs(
        "version: 0.2\nphases: {build: {commands: [x]}}\nreports:\n  r:\n    files: [a]\n    file-format: XML\n",
    );
    assert_error(&d, 6, 18, "unknown report `file-format`");
}

#[test]
fn not_a_mapping_or_empty() {
    assert_error(&errs(""), 1, 1, "empty");
    assert_error(&errs("- a\n- b\n"), 1, 1, "must be a mapping");
}

#[test]
fn all_errors_are_reported_in_one_pass() {
    let d = errs(
        "version: 0.3\nphases:\n  build:\n    on-failure: NOPE\n    commands:\n      - a: b\n",
    );
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(
        d.windows(2)
            .all(|w| (w[0].line, w[0].col) <= (w[1].line, w[1].col))
    );
    assert!(d.iter().all(|x| !x.snippet.is_empty()));
}

#[test]
fn key_without_space_after_colon() {
    let d = errs(
        "version: 0.2\nenv:\n  variables:\n    A: b\n    IMAGE:name\n    B: c\nphases: {build: {commands: [x]}}\n",
    );
    assert_eq!(d[0].line, 5, "{d:?}");
    assert_eq!(
        d[0].hint.as_deref(),
        Some("a key needs a space after its colon: write `IMAGE: name`")
    );
}
