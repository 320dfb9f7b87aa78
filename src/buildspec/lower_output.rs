//! Lowering of the sections around the phases: `artifacts`, `reports`, `cache`, `proxy`
//! (`batch` is `lower_batch.rs`). Same rules as `lower.rs`: errors at the token, unknown keys
//! as warnings.

use std::collections::BTreeMap;

use super::node::Node;
use super::walk::Walker;
use super::{Artifact, Artifacts, Cache, CacheAction, Pos, Report};

const ARTIFACT_KEYS: &[&str] = &[
    "files",
    "name",
    "base-directory",
    "discard-paths",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
];
const REPORT_KEYS: &[&str] = &["files", "base-directory", "discard-paths", "file-format"];
const CACHE_KEYS: &[&str] = &["paths", "key", "fallback-keys", "action"];
const PROXY_KEYS: &[&str] = &["upload-artifacts", "logs"];

/// The report formats CodeBuild accepts.
pub const REPORT_FORMATS: &[&str] = &[
    "JUNITXML",
    "CUCUMBERJSON",
    "NUNITXML",
    "NUNIT3XML",
    "TESTNGXML",
    "VISUALSTUDIOTRX",
    "CLOVERXML",
    "COBERTURAXML",
    "JACOCOXML",
    "SIMPLECOV",
    // "LCOV INFO" in the coverage guide; the buildspec word is not documented: the naming
    // pattern's, as `crate::reports::Format` reads it (README fidelity table).
    "LCOVINFO",
];

pub fn artifacts(w: &mut Walker<'_>, node: &Node) -> Artifacts {
    let mut out = Artifacts::default();
    out.primary = artifact(w, node, "artifacts", Some(&mut out.secondary));
    out
}

fn artifact(
    w: &mut Walker<'_>,
    node: &Node,
    what: &str,
    mut secondary: Option<&mut BTreeMap<String, Artifact>>,
) -> Artifact {
    let mut a = Artifact::default();
    let keys = if secondary.is_some() {
        ARTIFACT_KEYS
    } else {
        &ARTIFACT_KEYS[..ARTIFACT_KEYS.len() - 1]
    };
    for e in w.entries(node, what, keys) {
        match e.key {
            "files" => a.files = w.string_list(e.value, &format!("{what}.files")),
            "name" => a.name = w.string(e.value, &format!("{what}.name")),
            "base-directory" => {
                a.base_directory = w.string(e.value, &format!("{what}.base-directory"));
            }
            "discard-paths" => a.discard_paths = w.flag(e.value, "discard-paths"),
            "exclude-paths" => {
                a.exclude_paths = w.string_list(e.value, &format!("{what}.exclude-paths"));
            }
            "enable-symlinks" => a.enable_symlinks = w.flag(e.value, "enable-symlinks"),
            "s3-prefix" => {
                a.s3_prefix = w.string(e.value, &format!("{what}.s3-prefix"));
                w.local_limit("s3-prefix", e.key_pos);
            }
            "secondary-artifacts" => {
                if let Some(sec) = secondary.as_deref_mut() {
                    for (id, _, value) in w.pairs(e.value, "secondary-artifacts") {
                        let art = artifact(w, value, &format!("secondary-artifacts.{id}"), None);
                        sec.insert(id.to_owned(), art);
                    }
                }
            }
            _ => {}
        }
    }
    a
}

pub fn reports(w: &mut Walker<'_>, node: &Node) -> BTreeMap<String, Report> {
    let mut out = BTreeMap::new();
    for (group, _, value) in w.pairs(node, "reports") {
        let what = format!("reports.{group}");
        let mut r = Report {
            file_format: "JUNITXML".into(),
            ..Report::default()
        };
        for e in w.entries(value, &what, REPORT_KEYS) {
            match e.key {
                "files" => r.files = w.string_list(e.value, &format!("{what}.files")),
                "base-directory" => {
                    r.base_directory = w.string(e.value, &format!("{what}.base-directory"));
                }
                "discard-paths" => {
                    r.discard_paths = w.flag(e.value, "discard-paths");
                    if r.discard_paths {
                        w.local_limit("report-discard-paths", e.key_pos);
                    }
                }
                _ => {
                    if let Some(f) = w.string(e.value, "file-format") {
                        r.file_format = report_format(w, e.value.pos, &f);
                    }
                }
            }
        }
        out.insert(group.to_owned(), r);
    }
    out
}

fn report_format(w: &mut Walker<'_>, pos: Pos, text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    if !REPORT_FORMATS.contains(&upper.as_str()) {
        w.error(
            pos,
            format!("unknown report `file-format` `{text}`"),
            format!("use one of {}", REPORT_FORMATS.join(", ")),
        );
    }
    upper
}

pub fn cache(w: &mut Walker<'_>, node: &Node) -> Cache {
    let mut c = Cache::default();
    for e in w.entries(node, "cache", CACHE_KEYS) {
        match e.key {
            "paths" => c.paths = w.string_list(e.value, "cache.paths"),
            "key" => c.key = w.string(e.value, "cache.key"),
            "fallback-keys" => c.fallback_keys = w.string_list(e.value, "cache.fallback-keys"),
            _ => {
                let Some(action) = w.string(e.value, "cache.action") else {
                    continue;
                };
                match action.as_str() {
                    "restore" => c.action = CacheAction::Restore,
                    "save" => c.action = CacheAction::Save,
                    other => w.error(
                        e.value.pos,
                        format!("invalid `cache.action` `{other}`"),
                        "use `restore` or `save`, or leave `action` out to do both",
                    ),
                }
            }
        }
    }
    c
}

/// `proxy`: checked, then ignored by a local run.
pub fn proxy(w: &mut Walker<'_>, key_pos: Pos, node: &Node) {
    for e in w.entries(node, "proxy", PROXY_KEYS) {
        w.flag(e.value, e.key);
    }
    w.local_limit("proxy", key_pos);
}
