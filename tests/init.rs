//! `cbdash init [DIR]` on real directories: the template and a starter buildspec are written,
//! an existing file is never overwritten.

use std::process::Command;

use crate::common::cbdash_bin;

fn init(dir: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(cbdash_bin())
        .arg("init")
        .arg(dir)
        .output()
        .expect("run cbdash");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn init_writes_the_template_and_a_buildspec_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("new-project");
    let (code, out, err) = init(&dir);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("wrote") && out.contains(".cbdash.toml"),
        "{out}"
    );
    let toml = std::fs::read_to_string(dir.join(".cbdash.toml")).expect("the settings");
    assert_eq!(toml, cbdash::config::template::PROJECT_TOML);
    cbdash::config::project::ProjectConfig::parse(&toml, ".cbdash.toml").expect("it parses");
    let spec = std::fs::read_to_string(dir.join("buildspec.yml")).expect("the buildspec");
    assert!(cbdash::buildspec::parse(&spec).is_ok(), "{spec}");

    // Both exist now: nothing is written, and the error says how to get the template.
    std::fs::write(dir.join(".cbdash.toml"), "name = \"mine\"\n").expect("edit");
    let (code, _, err) = init(&dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("never overwrites"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join(".cbdash.toml")).expect("read"),
        "name = \"mine\"\n"
    );

    // A project with its own buildspec: the settings are written, the buildspec kept.
    let other = tmp.path().join("has-spec");
    std::fs::create_dir(&other).expect("mkdir");
    let own = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n";
    std::fs::write(other.join("buildspec.yml"), own).expect("write");
    let (code, out, err) = init(&other);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("kept") && out.contains("buildspec.yml"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(other.join("buildspec.yml")).expect("read"),
        own
    );
    assert!(other.join(".cbdash.toml").exists());
}
