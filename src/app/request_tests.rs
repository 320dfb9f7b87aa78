use super::*;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

const SPEC: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";

#[test]
fn pairs_are_literal_and_validated() {
    assert_eq!(
        parse_pair("PATH=$PATH:/x", "--env").expect("pair"),
        ("PATH".into(), "$PATH:/x".into())
    );
    assert_eq!(
        parse_pair("A=b=c", "--env").expect("pair"),
        ("A".into(), "b=c".into())
    );
    assert!(parse_pair("novalue", "--env").is_err());
    assert!(parse_pair("1A=x", "--env").is_err());
    assert!(parse_pair("A-B=x", "--env").is_err());
}

#[test]
fn a_bad_secret_is_not_repeated_in_the_error() {
    for bad in ["hunter2-value", "BAD-NAME=hunter2-value"] {
        let e = parse_pair(bad, "--secret").expect_err("invalid");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}

#[test]
fn tmpfs_needs_an_absolute_path_and_a_size() {
    assert_eq!(
        parse_tmpfs("/scratch:1m").expect("tmpfs"),
        ("/scratch".into(), "1m".into())
    );
    for bad in [
        "rel:1m",
        "/x",
        "/x:",
        "/x:1q",
        "/x:mm",
        "/a,b:1m",
        "/codebuild/output:1m",
    ] {
        assert!(parse_tmpfs(bad).is_err(), "{bad}");
    }
}

#[test]
fn env_files_keep_quotes_and_skip_comments() {
    let dir = project(&[("e", "# c\n\nA=\"q\"\nB=2\n")]);
    assert_eq!(
        read_env_file(&dir.path().join("e")).expect("read"),
        [("A".into(), "\"q\"".into()), ("B".into(), "2".into())]
    );
}

#[test]
fn the_file_gives_every_run_option_and_the_run_overrides_it() {
    let dir = project(&[
        ("buildspec.yml", SPEC),
        ("ci.yml", SPEC),
        ("a.env", "FROM_FILE=1\nB=file\n"),
        (
            FILE_NAME,
            "name = \"svc\"\nimage = \"img:1\"\nbuildspec = \"ci.yml\"\npull = \"never\"\n\
             docker_socket = true\nmount_source = true\ntimeout = \"5m\"\nartifacts = \"out\"\n\
             env_files = [\"a.env\"]\n[env]\nB = \"env\"\n",
        ),
    ]);
    let req = build_request(dir.path(), &RunOverrides::default()).expect("request");
    assert_eq!(req.project, "svc");
    assert_eq!(req.image.as_deref(), Some("img:1"));
    assert_eq!(req.buildspec, Some(dir.path().join("ci.yml")));
    assert_eq!(req.local.pull, PullPolicy::Never);
    assert!(req.local.docker_socket && !req.privileged);
    assert!(req.local.mount_source);
    assert_eq!(req.local.timeout, Duration::from_mins(5));
    assert_eq!(req.local.artifacts_dir, Some(dir.path().join("out")));
    // env_files below [env]: B from [env] comes later, so it wins.
    assert_eq!(
        req.local.project_env,
        [
            ("FROM_FILE".into(), "1".into()),
            ("B".into(), "file".into()),
            ("B".into(), "env".into())
        ]
    );
    let over = RunOverrides {
        image: Some("other:2".into()),
        timeout: Some(Duration::from_secs(9)),
        env: vec!["B=cli".into()],
        ..RunOverrides::default()
    }
    .with_docker(DockerAccess::None);
    let req = build_request(dir.path(), &over).expect("request");
    assert_eq!(req.image.as_deref(), Some("other:2"));
    assert_eq!(req.local.timeout, Duration::from_secs(9));
    assert!(!req.local.docker_socket && !req.privileged);
    assert_eq!(req.env, [("B".into(), "cli".into())]);
}

#[test]
fn secrets_come_from_the_environment_and_are_masked() {
    // PATH is set in every test process; the other name in none (no env mutation needed).
    let path = std::env::var("PATH").expect("PATH");
    let dir = project(&[
        ("buildspec.yml", SPEC),
        (FILE_NAME, "secrets = [\"PATH\"]\n"),
    ]);
    let req = build_request(dir.path(), &RunOverrides::default()).expect("request");
    assert_eq!(req.secrets, [("PATH".into(), path.clone())]);
    assert!(req.env.contains(&("PATH".into(), path)));
    let unset = "CBDASH_REQUEST_TEST_NEVER_SET";
    std::fs::write(
        dir.path().join(FILE_NAME),
        format!("secrets = [\"{unset}\"]\n"),
    )
    .expect("write");
    let e = build_request(dir.path(), &RunOverrides::default()).expect_err("unset");
    assert!(e.to_string().contains(&format!("export {unset}=")), "{e}");
}

#[test]
fn a_missing_buildspec_is_refused_up_front_with_what_to_do() {
    let dir = project(&[("README", "no buildspec")]);
    let e = build_request(dir.path(), &RunOverrides::default()).expect_err("missing");
    let s = e.to_string();
    assert!(
        s.contains("no buildspec at") && s.contains("cbdash init"),
        "{s}"
    );
}

#[test]
fn a_bad_settings_file_names_its_line_and_the_closest_key() {
    let dir = project(&[("buildspec.yml", SPEC), (FILE_NAME, "imgae = \"x\"\n")]);
    let e = build_request(dir.path(), &RunOverrides::default()).expect_err("bad key");
    let s = e.to_string();
    assert!(
        s.contains(".cbdash.toml:1:1: unknown key `imgae`; did you mean `image`?"),
        "{s}"
    );
}
