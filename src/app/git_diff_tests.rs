use super::*;

/// A checkout with two commits: the second changes files in and out of `app/`.
struct Repo {
    dir: tempfile::TempDir,
    first: String,
    second: String,
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (f, text) in files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn commit(dir: &Path) -> String {
    run(dir, &["add", "-A"]);
    run(dir, &["commit", "-q", "-m", "c"]);
    run(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn repo() -> Repo {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    run(p, &["init", "-q"]);
    write(
        p,
        &[
            ("README.md", "top"),
            ("app/.dockerignore", "*.log\n"),
            ("app/package.json", "{}"),
            ("app/src/a.js", "a"),
            ("app/src/b.js", "b"),
            ("app/old.txt", "old"),
            ("other/x.txt", "x"),
        ],
    );
    let first = commit(p);
    write(
        p,
        &[
            ("README.md", "top 2"),
            ("app/src/a.js", "a 2"),
            ("app/debug.log", "noise"),
            ("other/x.txt", "x 2"),
        ],
    );
    run(p, &["mv", "app/old.txt", "app/new.txt"]);
    let second = commit(p);
    Repo { dir, first, second }
}

#[test]
fn the_changed_files_under_the_copied_sources_relative_to_the_context() {
    let r = repo();
    let c = Checkout::find(&r.dir.path().join("app/src")).expect("in the checkout");
    let revs = (r.first.as_str(), r.second.as_str());
    // `COPY . .` in `app`: every change there but the ignored log; a rename is both names.
    let all = c.changed(revs, "app", &[String::new()]).expect("diff");
    assert_eq!(all, ["new.txt", "old.txt", "src/a.js"]);
    // `COPY src ./src`, the context named through the source directory's variable.
    let src = c
        .changed(revs, "$CODEBUILD_SRC_DIR/app/", &["src".into()])
        .expect("diff");
    assert_eq!(src, ["src/a.js"]);
    // `COPY package.json .`: nothing it copies changed.
    let manifest = c
        .changed(revs, "./app", &["package.json".into()])
        .expect("diff");
    assert!(manifest.is_empty(), "{manifest:?}");
    // The root as the context sees every directory.
    let root = c
        .changed(revs, ".", &["other".into(), "README.md".into()])
        .expect("diff");
    assert_eq!(root, ["README.md", "other/x.txt"]);
}

#[test]
fn a_folder_of_projects_finds_the_project_by_its_name() {
    let r = repo();
    let folder = tempfile::tempdir().expect("tempdir");
    let dir = folder.path().join("webapp");
    std::fs::rename(r.dir.path(), &dir).expect("move the checkout into the folder");
    let c = Checkout::find_for(folder.path(), "webapp").expect("found by name");
    assert_eq!(c.show(&r.first, "app/src/a.js").expect("show"), "a");
    assert!(matches!(
        Checkout::find_for(folder.path(), "other"),
        Err(GitDiffError::NotACheckout(_))
    ));
    assert!(
        matches!(
            Checkout::find_for(folder.path(), "../webapp"),
            Err(GitDiffError::NotACheckout(_))
        ),
        "a name is never a path"
    );
    std::fs::create_dir(folder.path().join("plain")).expect("mkdir");
    let err = Checkout::find_for(folder.path(), "plain").expect_err("not a checkout");
    assert!(err.to_string().starts_with("neither "), "{err}");
}

#[test]
fn a_file_as_of_a_commit() {
    let r = repo();
    let c = Checkout::find(r.dir.path()).expect("checkout");
    assert_eq!(c.show(&r.first, "app/src/a.js").expect("show"), "a");
    assert_eq!(c.show(&r.second, "app/src/a.js").expect("show"), "a 2");
    assert!(c.show(&r.second, "app/old.txt").is_err(), "renamed away");
    assert!(matches!(
        c.show("HEAD", "README.md"),
        Err(GitDiffError::NotACommitId(_))
    ));
}

#[test]
fn what_cannot_be_diffed_says_why() {
    let r = repo();
    let c = Checkout::find(r.dir.path()).expect("checkout");
    let all = [String::new()];
    assert_eq!(
        c.changed(("--output=/tmp/x", &r.second), "app", &all),
        Err(GitDiffError::NotACommitId("--output=/tmp/x".into())),
        "an option is never passed to git as a revision"
    );
    let absent = "0123456789abcdef0123456789abcdef01234567";
    let err = c
        .changed((absent, &r.second), "app", &all)
        .expect_err("absent");
    assert!(matches!(err, GitDiffError::MissingCommit(..)), "{err:?}");
    assert!(err.to_string().contains("fetch it"), "{err}");
    for outside in ["/abs", "../up", "app/../..", "$OTHER/app"] {
        assert_eq!(
            c.changed((&r.first, &r.second), outside, &all),
            Err(GitDiffError::ContextOutside(outside.into())),
        );
    }
    let plain = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        Checkout::find(plain.path()),
        Err(GitDiffError::NotACheckout(_))
    ));
}
