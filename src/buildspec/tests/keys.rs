//! Every key of versions 0.1 and 0.2 lowers into the typed [`Buildspec`].

use super::{assert_no_warnings, assert_warning, ok};
use crate::buildspec::{CacheAction, Command, OnFailure, Pos, Shell, Version};
use crate::model::PhaseKind;

const FULL: &str = r#"version: 0.2
run-as: builder
env:
  shell: bash
  variables:
    NAME: "value"
    NUM: 090123
    FLAG: yes
    FLOAT: 1.50
    EMPTY:
  parameter-store:
    DB: /app/db
  secrets-manager:
    TOKEN: "arn:secret:tok:key"
  exported-variables:
    - NAME
  git-credential-helper: no
phases:
  install:
    run-as: root
    on-failure: ABORT
    runtime-versions:
      python: "3.12"
      nodejs: 20
    commands:
      - echo install
  pre_build:
    on-failure: CONTINUE
    commands:
  build:
    on-failure: RETRY-2-timed out
    commands:
      - echo one
      - |
        set -e
        echo two
        echo three
      - 'echo "quoted: colon"'
    finally:
      - echo done
  post_build:
    on-failure: RETRY
    commands: []
reports:
  unit:
    files:
      - "**/*.xml"
    base-directory: build/reports
    discard-paths: yes
artifacts:
  files: dist/**/*
  name: out-$(date +%F)
  base-directory: dist
  discard-paths: no
  exclude-paths:
    - "*.map"
  enable-symlinks: yes
  secondary-artifacts:
    logs:
      files:
        - logs/*
cache:
  key: npm-$(codebuild-hash-files package-lock.json)
  fallback-keys:
    - npm-
  action: restore
  paths:
    - node_modules/**/*
"#;

#[test]
fn every_v02_key_lowers() {
    let p = ok(FULL);
    // The only warning: a report group's discard-paths changes nothing locally
    // (runtime-versions and the cache key run locally).
    assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
    assert_warning(&p, 49, 5, "does not export them");
    let s = p.spec;
    assert_eq!(s.version, Version::V02);
    assert_eq!(s.run_as.as_deref(), Some("builder"));
    assert_eq!(s.env.shell, Shell::Bash);
    let vars: Vec<(&str, &str)> = s
        .env
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [
            ("NAME", "value"),
            ("NUM", "090123"),
            ("FLAG", "yes"),
            ("FLOAT", "1.50"),
            ("EMPTY", "")
        ]
    );
    assert_eq!(s.env.parameter_store, [("DB".into(), "/app/db".into())]);
    assert_eq!(s.env.secrets_manager[0].1, "arn:secret:tok:key");
    assert_eq!(s.env.exported_variables, ["NAME"]);
    assert!(!s.env.git_credential_helper);

    let install = s.phase(PhaseKind::Install).expect("install");
    assert_eq!(install.run_as.as_deref(), Some("root"));
    assert_eq!(install.on_failure, OnFailure::Abort);
    // In file order: the order they install in.
    assert_eq!(
        install.runtime_versions,
        [
            ("python".to_owned(), "3.12".to_owned()),
            ("nodejs".to_owned(), "20".to_owned())
        ]
    );
    assert_eq!(install.pos, Pos { line: 19, col: 3 });
    let pre = s.phase(PhaseKind::PreBuild).expect("pre_build");
    assert_eq!(pre.on_failure, OnFailure::Continue);
    assert!(pre.commands.is_empty());

    let build = s.phase(PhaseKind::Build).expect("build");
    assert_eq!(
        build.on_failure,
        OnFailure::Retry {
            count: 2,
            pattern: Some("timed out".into())
        }
    );
    assert_eq!(
        build.commands[0],
        Command {
            text: "echo one".into(),
            pos: Pos { line: 33, col: 9 }
        }
    );
    // A `|` block is one command, positioned at its first content line.
    assert_eq!(build.commands[1].text, "set -e\necho two\necho three\n");
    assert_eq!(build.commands[1].pos, Pos { line: 35, col: 9 });
    assert_eq!(build.commands[2].text, "echo \"quoted: colon\"");
    assert_eq!(build.finally[0].text, "echo done");
    let post = s.phase(PhaseKind::PostBuild).expect("post_build");
    assert_eq!(
        post.on_failure,
        OnFailure::Retry {
            count: 3,
            pattern: None
        }
    );

    let unit = &s.reports["unit"];
    assert_eq!(unit.files, ["**/*.xml"]);
    assert_eq!(unit.base_directory.as_deref(), Some("build/reports"));
    assert!(unit.discard_paths);
    assert_eq!(unit.file_format, "JUNITXML");

    let a = s.artifacts.expect("artifacts");
    assert_eq!(a.primary.files, ["dist/**/*"]);
    assert_eq!(a.primary.name.as_deref(), Some("out-$(date +%F)"));
    assert_eq!(a.primary.base_directory.as_deref(), Some("dist"));
    assert!(!a.primary.discard_paths);
    assert_eq!(a.primary.exclude_paths, ["*.map"]);
    assert!(a.primary.enable_symlinks);
    assert_eq!(a.secondary["logs"].files, ["logs/*"]);

    let c = s.cache.expect("cache");
    assert_eq!(
        c.key.as_deref(),
        Some("npm-$(codebuild-hash-files package-lock.json)")
    );
    assert_eq!(c.fallback_keys, ["npm-"]);
    assert_eq!(c.action, CacheAction::Restore);
    assert_eq!(c.paths, ["node_modules/**/*"]);
    assert!(s.batch.is_none());
}

#[test]
fn version_as_string_and_v01_legacy_env() {
    let p = ok(
        "version: \"0.1\"\nenvironment_variables:\n  plaintext:\n    A: one\n    B: 2\nphases:\n  build:\n    commands:\n      - echo $A\n",
    );
    assert_eq!(p.spec.version, Version::V01);
    assert_eq!(
        p.spec.env.variables,
        [("A".into(), "one".into()), ("B".into(), "2".into())]
    );
    assert_eq!(
        ok("version: '0.2'\nphases: {build: {commands: [x]}}\n")
            .spec
            .version,
        Version::V02
    );
}

#[test]
fn null_commands_and_null_phase_are_accepted() {
    let p = ok("version: 0.2\nphases:\n  install:\n    commands:\n  build:\n");
    assert!(
        p.spec
            .phase(PhaseKind::Install)
            .expect("install")
            .commands
            .is_empty()
    );
    assert!(
        p.spec
            .phase(PhaseKind::Build)
            .expect("build")
            .commands
            .is_empty()
    );
}

#[test]
fn commands_as_a_string_is_one_command_with_a_warning() {
    let p = ok("version: 0.2\nphases:\n  build:\n    commands: echo hi\n");
    let build = p.spec.phase(PhaseKind::Build).expect("build");
    assert_eq!(build.commands[0].text, "echo hi");
    assert_warning(&p, 4, 15, "single string");
}

#[test]
fn scalar_commands_keep_their_text() {
    let p = ok("version: 0.2\nphases:\n  build:\n    commands:\n      - true\n      - 42\n");
    let texts: Vec<&str> = p.spec.phases[&PhaseKind::Build]
        .commands
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(texts, ["true", "42"]);
}

#[test]
fn on_failure_forms() {
    use crate::buildspec::parse_on_failure as f;
    assert_eq!(
        f("RETRY-5"),
        Ok(OnFailure::Retry {
            count: 5,
            pattern: None
        })
    );
    assert_eq!(
        f("RETRY-.*timeout.*"),
        Ok(OnFailure::Retry {
            count: 3,
            pattern: Some(".*timeout.*".into())
        })
    );
    assert_eq!(
        f("RETRY-2-exit [0-9]+"),
        Ok(OnFailure::Retry {
            count: 2,
            pattern: Some("exit [0-9]+".into())
        })
    );
    assert!(f("RETRY-0").is_err());
    assert!(f("RETRY-(").is_err());
    assert!(f("abort").is_err());
}

#[test]
fn batch_only_file_needs_no_phases() {
    let p = ok(
        "version: 0.2\nbatch:\n  fast-fail: true\n  build-list:\n    - identifier: a\n      buildspec: a.yml\n",
    );
    let b = p.spec.batch.clone().expect("batch");
    assert!(b.fast_fail);
    assert_eq!(b.kind, Some(crate::model::BatchKind::List));
    // cbdash runs batches: no local-limit warning any more.
    assert_no_warnings(&p);
}

#[test]
fn merge_keys_and_aliases_are_applied() {
    let p = ok(
        "version: 0.2\nx-common: &c\n  commands:\n    - echo shared\nphases:\n  build:\n    <<: *c\n",
    );
    let build = &p.spec.phases[&PhaseKind::Build];
    assert_eq!(build.commands[0].text, "echo shared");
    assert!(build.commands[0].pos.line > 0);
}

#[test]
fn crlf_files_parse() {
    let p = ok("version: 0.2\r\nphases:\r\n  build:\r\n    commands:\r\n      - echo hi\r\n");
    assert_eq!(p.spec.phases[&PhaseKind::Build].commands[0].text, "echo hi");
}

#[test]
fn every_batch_kind_is_recognised() {
    for (kind, empty) in [
        ("build-list", "[]"),
        ("build-matrix", "{}"),
        ("build-graph", "[]"),
        ("build-fanout", "{}"),
    ] {
        let p = ok(&format!("version: 0.2\nbatch:\n  {kind}: {empty}\n"));
        assert_eq!(
            p.spec
                .batch
                .and_then(|b| b.kind)
                .map(crate::model::BatchKind::key),
            Some(kind)
        );
    }
    let d = super::errs("version: 0.2\nbatch:\n  build-list: []\n  build-graph: []\n");
    super::assert_error(&d, 4, 3, "second build kind `build-graph`");
}
