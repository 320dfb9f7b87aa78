//! Artifact and report selection, on a tar of the build's source directory copied out of the
//! container: `files` globs relative to `base-directory` (whose own name is not kept),
//! `exclude-paths`, `discard-paths`; and the JUnit summary of report files. Pure except for
//! [`extract`], which writes the selected files into the output folder.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::buildspec::Artifact;

use super::LocalError;

/// Regular files of a tar downloaded from the container, as paths relative to the
/// downloaded directory (its own name, the first component, is dropped).
pub fn index(tar: &[u8]) -> Result<Vec<String>, LocalError> {
    let mut out = Vec::new();
    let mut a = tar::Archive::new(tar);
    for e in a
        .entries()
        .map_err(|e| LocalError::Artifacts(e.to_string()))?
    {
        let e = e.map_err(|e| LocalError::Artifacts(e.to_string()))?;
        if !matches!(e.header().entry_type(), tar::EntryType::Regular) {
            continue;
        }
        if let Some(rel) = rel_path(&e) {
            out.push(rel);
        }
    }
    Ok(out)
}

fn rel_path<R: Read>(e: &tar::Entry<'_, R>) -> Option<String> {
    let p = e.path().ok()?;
    let s = p.to_string_lossy();
    s.split_once('/').map(|(_, rest)| rest.to_owned())
}

/// The files an artifact (or report) selects: `(path in the source dir, path in the output)`.
pub fn select(
    files: &[String],
    patterns: &[String],
    base_directory: Option<&str>,
    exclude: &[String],
    discard_paths: bool,
) -> Result<Vec<(String, String)>, LocalError> {
    let base = normalise_base(base_directory);
    let include = globs(patterns)?;
    let exclude = globs(exclude)?;
    let mut out = Vec::new();
    for f in files {
        let rel = if base.is_empty() {
            f.as_str()
        } else if let Some(r) = f.strip_prefix(&base).and_then(|r| r.strip_prefix('/')) {
            r
        } else {
            continue;
        };
        if !include.is_match(rel) || exclude.is_match(rel) {
            continue;
        }
        let dest = if discard_paths {
            rel.rsplit('/').next().unwrap_or(rel).to_owned()
        } else {
            rel.to_owned()
        };
        out.push((f.clone(), dest));
    }
    out.sort();
    Ok(out)
}

/// Selection for an artifact definition.
pub fn select_artifact(
    files: &[String],
    a: &Artifact,
) -> Result<Vec<(String, String)>, LocalError> {
    select(
        files,
        &a.files,
        a.base_directory.as_deref(),
        &a.exclude_paths,
        a.discard_paths,
    )
}

/// The files under `base_directory`, relative to it (what a user can put in `files`), sorted.
#[must_use]
pub fn paths_under(files: &[String], base_directory: Option<&str>) -> Vec<String> {
    let base = normalise_base(base_directory);
    let mut out: Vec<String> = files
        .iter()
        .filter_map(|f| {
            if base.is_empty() {
                Some(f.clone())
            } else {
                f.strip_prefix(&base)
                    .and_then(|r| r.strip_prefix('/'))
                    .map(str::to_owned)
            }
        })
        .collect();
    out.sort();
    out
}

fn normalise_base(base: Option<&str>) -> String {
    let b = base.unwrap_or("").trim();
    let b = b.strip_prefix("./").unwrap_or(b).trim_end_matches('/');
    if b == "." {
        String::new()
    } else {
        b.to_owned()
    }
}

fn globs(patterns: &[String]) -> Result<GlobSet, LocalError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.strip_prefix("./").unwrap_or(p);
        let g = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| LocalError::Artifacts(format!("invalid path pattern '{p}': {e}")))?;
        b.add(g);
        // `dir` alone means everything under it, as in CodeBuild.
        if !p.contains('*')
            && let Ok(g) = Glob::new(&format!("{}/**", p.trim_end_matches('/')))
        {
            b.add(g);
        }
    }
    b.build().map_err(|e| LocalError::Artifacts(e.to_string()))
}

/// Writes the selected files (`source path → output paths`) from the tar into `out_dir`.
pub fn extract<S: std::hash::BuildHasher>(
    tar: &[u8],
    wanted: &HashMap<String, Vec<std::path::PathBuf>, S>,
) -> Result<(), LocalError> {
    let mut a = tar::Archive::new(tar);
    for e in a
        .entries()
        .map_err(|e| LocalError::Artifacts(e.to_string()))?
    {
        let mut e = e.map_err(|e| LocalError::Artifacts(e.to_string()))?;
        let Some(rel) = rel_path(&e) else { continue };
        let Some(targets) = wanted.get(&rel) else {
            continue;
        };
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|e| LocalError::Artifacts(e.to_string()))?;
        for t in targets {
            write_file(t, &data)?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), LocalError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| LocalError::Artifacts(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(path, data)
        .map_err(|e| LocalError::Artifacts(format!("{}: {e}", path.display())))
}

/// Reads the contents of these files from the tar.
pub fn read_files(tar: &[u8], names: &[String]) -> Result<BTreeMap<String, Vec<u8>>, LocalError> {
    let mut out = BTreeMap::new();
    let mut a = tar::Archive::new(tar);
    for e in a
        .entries()
        .map_err(|e| LocalError::Artifacts(e.to_string()))?
    {
        let mut e = e.map_err(|e| LocalError::Artifacts(e.to_string()))?;
        let Some(rel) = rel_path(&e) else { continue };
        if names.contains(&rel) {
            let mut data = Vec::new();
            e.read_to_end(&mut data)
                .map_err(|e| LocalError::Artifacts(e.to_string()))?;
            out.insert(rel, data);
        }
    }
    Ok(out)
}

/// Test counts of a JUnit XML report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JunitSummary {
    pub tests: u64,
    pub failures: u64,
    pub skipped: u64,
}

/// Sums the `tests`, `failures` + `errors` and `skipped` attributes of every `<testsuite>`;
/// without suites, counts `<testcase>` elements. A hand parse: reports are untrusted input and
/// a malformed one just counts as zero.
#[must_use]
pub fn junit_summary(xml: &str) -> JunitSummary {
    let mut s = JunitSummary::default();
    let mut suites = 0;
    for tag in xml.split("<testsuite").skip(1) {
        if tag.starts_with('s') {
            continue; // <testsuites>
        }
        suites += 1;
        let head = tag.split('>').next().unwrap_or("");
        s.tests += attr(head, "tests");
        s.failures += attr(head, "failures") + attr(head, "errors");
        s.skipped += attr(head, "skipped");
    }
    if suites == 0 {
        s.tests = xml.matches("<testcase").count() as u64;
        s.failures = xml.matches("<failure").count() as u64 + xml.matches("<error").count() as u64;
        s.skipped = xml.matches("<skipped").count() as u64;
    }
    s
}

fn attr(head: &str, name: &str) -> u64 {
    let pat = format!(" {name}=");
    head.find(&pat)
        .and_then(|i| {
            let rest = &head[i + pat.len()..];
            let q = rest.chars().next()?;
            rest[1..].split(q).next()?.trim().parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<String> {
        [
            "a.txt",
            "dist/app.js",
            "dist/lib/util.js",
            "dist/lib/skip.map",
            "src/main.rs",
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn everything_with_double_star() {
        let sel = select(&files(), &s(&["**/*"]), None, &[], false).expect("select");
        assert_eq!(sel.len(), 5);
    }

    #[test]
    fn base_directory_strips_itself() {
        let sel = select(&files(), &s(&["**/*"]), Some("dist"), &[], false).expect("select");
        let dest: Vec<_> = sel.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(dest, ["app.js", "lib/skip.map", "lib/util.js"]);
    }

    #[test]
    fn paths_under_a_base_are_relative_to_it() {
        assert_eq!(
            paths_under(&files(), Some("./dist/")),
            ["app.js", "lib/skip.map", "lib/util.js"]
        );
        assert!(paths_under(&files(), Some("nope")).is_empty());
        assert_eq!(paths_under(&files(), Some(".")).len(), files().len());
    }

    #[test]
    fn single_star_does_not_cross_directories() {
        let sel = select(&files(), &s(&["dist/*"]), None, &[], false).expect("select");
        assert_eq!(sel, [("dist/app.js".into(), "dist/app.js".into())]);
    }

    #[test]
    fn discard_paths_and_exclude() {
        let sel =
            select(&files(), &s(&["dist/**/*"]), None, &s(&["**/*.map"]), true).expect("select");
        let dest: Vec<_> = sel.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(dest, ["app.js", "util.js"]);
    }

    #[test]
    fn no_match_is_empty() {
        let sel = select(&files(), &s(&["nothing/*"]), None, &[], false).expect("select");
        assert!(sel.is_empty());
    }

    #[test]
    fn junit_sums_suites() {
        let xml = r#"<?xml version="1.0"?><testsuites tests="9"><testsuite name="a" tests="3" failures="1" errors="1" skipped="0"><testcase/></testsuite><testsuite name='b' tests='2' skipped='1'></testsuite></testsuites>"#;
        assert_eq!(
            junit_summary(xml),
            JunitSummary {
                tests: 5,
                failures: 2,
                skipped: 1
            }
        );
        assert_eq!(junit_summary("not xml at all").tests, 0);
        assert_eq!(
            junit_summary("<testcase/><testcase><failure/></testcase>").failures,
            1
        );
    }
}
