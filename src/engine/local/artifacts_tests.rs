use super::*;

fn files() -> Vec<String> {
    s(&[
        "a.txt",
        "dist/app.js",
        "dist/lib/util.js",
        "dist/lib/skip.map",
        "src/main.rs",
    ])
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn root() -> Vec<String> {
    vec![String::new()]
}

fn dests(sel: &[(String, String)]) -> Vec<&str> {
    sel.iter().map(|(_, d)| d.as_str()).collect()
}

#[test]
fn everything_with_double_star() {
    let sel = select(&files(), &s(&["**/*"]), &root(), &[], false).expect("select");
    assert_eq!(sel.len(), 5);
}

#[test]
fn base_directory_strips_itself() {
    let sel = select(&files(), &s(&["**/*"]), &s(&["dist"]), &[], false).expect("select");
    assert_eq!(dests(&sel), ["app.js", "lib/skip.map", "lib/util.js"]);
}

#[test]
fn exclude_paths_are_relative_to_the_base_directory() {
    let sel = select(
        &files(),
        &s(&["**/*"]),
        &s(&["dist"]),
        &s(&["lib/*.map"]),
        false,
    )
    .expect("select");
    assert_eq!(dests(&sel), ["app.js", "lib/util.js"]);
    // The same pattern written from the source root matches nothing under the base.
    let sel = select(
        &files(),
        &s(&["**/*"]),
        &s(&["dist"]),
        &s(&["dist/lib/*.map"]),
        false,
    )
    .expect("select");
    assert_eq!(sel.len(), 3);
}

#[test]
fn a_plain_base_directory_is_itself_and_a_pattern_matches_directories() {
    let dirs = s(&["dist-a", "dist-b", "dist-b/inner", "docs", "x/dist-c"]);
    assert_eq!(
        base_dirs(Some("./out/"), &dirs).expect("base"),
        ["out"],
        "a plain path, existing or not"
    );
    assert_eq!(base_dirs(Some("."), &dirs).expect("base"), [""]);
    assert_eq!(base_dirs(None, &dirs).expect("base"), [""]);
    assert_eq!(
        base_dirs(Some("dist*"), &dirs).expect("base"),
        ["dist-a", "dist-b"],
        "one component per *"
    );
    assert_eq!(
        base_dirs(Some("*/dist-?"), &dirs).expect("base"),
        ["x/dist-c"]
    );
    assert!(base_dirs(Some("nothing*"), &dirs).expect("base").is_empty());
}

#[test]
fn several_base_directories_merge_and_the_first_wins() {
    let files = s(&["b1/same.txt", "b1/one.txt", "b2/same.txt", "b2/two.txt"]);
    let sel = select(&files, &s(&["**/*"]), &s(&["b1", "b2"]), &[], false).expect("select");
    assert_eq!(
        sel,
        [
            ("b1/one.txt".to_owned(), "one.txt".to_owned()),
            ("b1/same.txt".to_owned(), "same.txt".to_owned()),
            ("b2/two.txt".to_owned(), "two.txt".to_owned()),
        ]
    );
    assert!(
        select(&files, &s(&["**/*"]), &[], &[], false)
            .expect("select")
            .is_empty(),
        "no base directory matched: nothing"
    );
}

#[test]
fn symlinks_are_candidates_only_when_enabled() {
    let idx = Index {
        files: s(&["out/app"]),
        links: s(&["out/current"]),
        dirs: s(&["out"]),
    };
    let mut a = Artifact {
        files: s(&["**/*"]),
        base_directory: Some("out".into()),
        ..Artifact::default()
    };
    assert_eq!(dests(&select_artifact(&idx, &a).expect("sel")), ["app"]);
    a.enable_symlinks = true;
    assert_eq!(
        dests(&select_artifact(&idx, &a).expect("sel")),
        ["app", "current"]
    );
}

#[test]
fn paths_under_bases_are_relative_to_them() {
    assert_eq!(
        paths_under(&files(), &s(&["dist"])),
        ["app.js", "lib/skip.map", "lib/util.js"]
    );
    assert!(paths_under(&files(), &s(&["nope"])).is_empty());
    assert_eq!(paths_under(&files(), &root()).len(), files().len());
}

#[test]
fn single_star_does_not_cross_directories() {
    let sel = select(&files(), &s(&["dist/*"]), &root(), &[], false).expect("select");
    assert_eq!(sel, [("dist/app.js".into(), "dist/app.js".into())]);
}

#[test]
fn discard_paths_and_exclude() {
    let sel = select(
        &files(),
        &s(&["dist/**/*"]),
        &root(),
        &s(&["**/*.map"]),
        true,
    )
    .expect("select");
    assert_eq!(dests(&sel), ["app.js", "util.js"]);
}

#[test]
fn no_match_is_empty() {
    let sel = select(&files(), &s(&["nothing/*"]), &root(), &[], false).expect("select");
    assert!(sel.is_empty());
}

/// A tar as `docker cp` makes it: the directory's own name first.
fn tar_of(entries: &[(&str, tar::EntryType, u32, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, mode, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        if *kind == tar::EntryType::Symlink {
            h.set_size(0);
            b.append_link(&mut h, path, data).expect("link");
        } else {
            h.set_size(data.len() as u64);
            b.append_data(&mut h, path, data.as_bytes())
                .expect("append");
        }
    }
    b.into_inner().expect("tar")
}

#[test]
fn index_and_extract_keep_modes_and_links_without_writing_through_them() {
    use std::os::unix::fs::PermissionsExt;
    let tar = tar_of(&[
        ("src/", tar::EntryType::Directory, 0o755, ""),
        ("src/out/", tar::EntryType::Directory, 0o755, ""),
        (
            "src/out/run.sh",
            tar::EntryType::Regular,
            0o755,
            "#!/bin/sh\n",
        ),
        ("src/out/data", tar::EntryType::Regular, 0o640, "d"),
        ("src/out/link", tar::EntryType::Symlink, 0o777, "run.sh"),
        ("src/out/escape", tar::EntryType::Symlink, 0o777, "/etc"),
    ]);
    let idx = index(tar.as_slice()).expect("index");
    assert_eq!(idx.files, ["out/run.sh", "out/data"]);
    assert_eq!(idx.links, ["out/link", "out/escape"]);
    assert_eq!(idx.dirs, ["out"]);
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path();
    let wanted: HashMap<String, Vec<PathBuf>> = HashMap::from([
        (
            "out/run.sh".into(),
            vec![o.join("run.sh"), o.join("copy/run.sh")],
        ),
        ("out/data".into(), vec![o.join("data")]),
        ("out/link".into(), vec![o.join("link")]),
        // A link whose place a file already took stays out: nothing is written through it.
        ("out/escape".into(), vec![o.join("data")]),
    ]);
    extract(tar.as_slice(), &wanted).expect("extract");
    let mode = |p: &str| {
        std::fs::metadata(o.join(p))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("run.sh"), 0o755);
    assert_eq!(mode("copy/run.sh"), 0o755);
    assert_eq!(mode("data"), 0o640);
    assert_eq!(
        std::fs::read_link(o.join("link")).expect("a link"),
        PathBuf::from("run.sh")
    );
    assert!(
        !std::fs::symlink_metadata(o.join("data"))
            .expect("meta")
            .file_type()
            .is_symlink()
    );
}
