//! Gathering what the miss explainer (`cache::explain`) compares, for each finished docker
//! build: the command line's Dockerfile, context and build arguments, the Dockerfile's
//! instructions, the content hashes of the files each missed `COPY`/`ADD` copies, and the
//! last build of the same Dockerfile and image from the history. Then the reason and the time
//! lost go into the report, and this build's inputs into the history for the next one.
//!
//! Where the files are read (the one place this choice is made): a local build's context is
//! the project directory on this machine, copied unchanged into the build container, so its
//! files are hashed here on the host, at the end of the docker build; a context outside the
//! project, or named through a shell variable other than `$CODEBUILD_SRC_DIR`, is not
//! known (`unknown`). Nothing is hashed when the build has no miss: a `COPY` that hits copies
//! the same files as when it last ran, whose hashes the history already has.
//!
//! A cloud build's context is not here: when the directory cbdash runs in (or its
//! subdirectory named after the project) is a git checkout that holds both builds' resolved
//! source versions, `git diff --name-only` between them names the changed files under the
//! step's sources (`app::git_diff`); otherwise the files are unknown, and the reason's detail
//! says why.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::dockerfile::{matches_or_parent, split_glob};
use crate::cache::{
    BuildInputs, DockerIgnore, FileHashes, Files, Previous, copy_sources, dockerfile_text, explain,
    invocation, time_lost,
};
use crate::history::Store;
use crate::model::{CacheReport, MissKind, StepState};

use super::git_diff::Checkout;

/// A local build's project on this machine, and the environment its commands start with.
#[derive(Clone, Debug, Default)]
pub struct LocalSource {
    /// The project directory (what the build container's `CODEBUILD_SRC_DIR` holds).
    pub dir: PathBuf,
    /// Variables known to the build's shell: the buildspec's `env.variables`, then `--env`.
    pub env: Vec<(String, String)>,
}

impl LocalSource {
    /// The source of a local build request, with its buildspec's text when read.
    #[must_use]
    pub fn of(req: &crate::engine::BuildRequest, buildspec: Option<&str>) -> Option<Self> {
        let dir = req.source_dir.clone()?;
        let mut env: Vec<(String, String)> = buildspec
            .and_then(|t| crate::buildspec::parse(t).ok())
            .map(|p| p.spec.env.variables)
            .unwrap_or_default();
        env.extend(req.env.iter().cloned());
        Some(Self { dir, env })
    }

    fn var(&self, name: &str) -> Option<String> {
        // The last definition wins, as in the shell.
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Where the miss explainer finds the files a build's missed `COPY`/`ADD` copies.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FilesAt<'a> {
    /// A local build: its project on this machine, when known.
    Local(Option<&'a LocalSource>),
    /// A cloud build: the git checkout cbdash runs in, when it is one.
    Cloud(Option<&'a Path>),
}

/// Where a docker build's context and Dockerfile are on this machine.
struct Context {
    dir: PathBuf,
    dockerfile: PathBuf,
    /// The project's `.cbdash` folder: cbdash's own state, never copied into the build
    /// container (`engine::local::source`), so never in the build's context either.
    state: PathBuf,
}

/// Fills `report`'s miss reason and time lost, and records its inputs. Errors are logged,
/// never in the build's way.
pub(crate) fn explain_report(
    store: &Store,
    build_id: &str,
    project: &str,
    at: FilesAt<'_>,
    report: &mut CacheReport,
) {
    if let Err(e) = explain_inner(store, build_id, project, at, report) {
        tracing::warn!("cache miss explainer: {e}");
    }
}

fn explain_inner(
    store: &Store,
    build_id: &str,
    project: &str,
    at: FilesAt<'_>,
    report: &mut CacheReport,
) -> crate::history::Result<()> {
    let source = match at {
        FilesAt::Local(source) => source,
        FilesAt::Cloud(_) => None,
    };
    let inv = report
        .inputs
        .command
        .as_deref()
        .and_then(invocation::parse)
        .unwrap_or_default();
    let ctx = source.and_then(|s| locate(s, &inv));
    let mut inputs = BuildInputs {
        dockerfile: identity(&inv),
        base_images: report.inputs.base_images.clone(),
        cache_import_failed: report.inputs.cache_import_failed,
        ..BuildInputs::default()
    };
    // A cloud build's commit, and its Dockerfile as of that commit in the checkout.
    let version = match at {
        FilesAt::Cloud(_) => store.source_version(build_id)?,
        FilesAt::Local(_) => None,
    };
    let text = match (at, &version) {
        (FilesAt::Cloud(Some(dir)), Some(v)) => Checkout::find_for(dir, project)
            .and_then(|c| c.show(v, &inputs.dockerfile))
            .ok(),
        _ => ctx
            .as_ref()
            .and_then(|c| std::fs::read_to_string(&c.dockerfile).ok()),
    };
    if let Some(text) = text {
        inputs.instructions = dockerfile_text(&text);
    }
    let env = |name: &str| source.and_then(|s| s.var(name));
    inputs.build_args = invocation::resolve(&inv.build_args, &env);
    let image = report.image.clone().unwrap_or_default();
    let mut reason = None;
    if report.first_miss.is_some() {
        let prev = store.previous_docker_build(project, &inputs.dockerfile, &image, build_id)?;
        let files = match at {
            FilesAt::Local(_) => {
                copy_hashes(store, build_id, project, report, &inputs, ctx.as_ref())?
            }
            FilesAt::Cloud(checkout) => {
                let versions = (
                    prev.as_ref().and_then(|p| p.source_version.clone()),
                    version.clone(),
                );
                cloud_files(checkout, project, versions, &inv, report)
            }
        };
        let previous = prev.as_ref().map(|p| Previous {
            report: &p.report,
            inputs: &p.inputs,
        });
        let evidence = match &files {
            FirstFiles::NotACopy => Files::NotACopy,
            FirstFiles::Unknown(_) => Files::Unknown,
            FirstFiles::Hashes(current, previous) => Files::Hashes {
                current,
                previous: previous.as_ref(),
            },
            FirstFiles::Changed(list) => Files::Changed(list),
        };
        reason = explain(report, &inputs, previous, evidence);
        if let (Some(r), FirstFiles::Unknown(Some(why))) = (reason.as_mut(), &files)
            && r.kind == MissKind::Unknown
        {
            r.detail = Some(match r.detail.take() {
                Some(d) => format!("{d}; {why}"),
                None => why.clone(),
            });
        }
        let last_cached = store.last_step_durations(project, crate::history::StepRun::Cached)?;
        report.time_lost_ms = time_lost(report, |i| last_cached.get(i).copied());
        if let Some(m) = report.first_miss.as_mut() {
            m.reason.clone_from(&reason);
        }
    }
    store.save_docker_inputs(
        build_id,
        report.docker_build,
        &image,
        &inputs,
        reason.as_ref(),
    )
}

/// The files of the first missed step: their hashes now and when it last ran, or (a cloud
/// build) the ones that changed between the two builds' commits.
enum FirstFiles {
    NotACopy,
    /// Not known, and why when there is more to say than "not read".
    Unknown(Option<String>),
    Hashes(FileHashes, Option<FileHashes>),
    Changed(Vec<String>),
}

/// A cloud build's first missed step: the files its sources select that changed between the
/// previous build's commit and this one's, from the git checkout cbdash runs in.
fn cloud_files(
    checkout: Option<&Path>,
    project: &str,
    (before, now): (Option<String>, Option<String>),
    inv: &invocation::BuildInvocation,
    report: &CacheReport,
) -> FirstFiles {
    let Some(step) = report
        .steps
        .iter()
        .find(|s| matches!(s.state, StepState::Built | StepState::Failed))
    else {
        return FirstFiles::NotACopy;
    };
    let Some(sources) = copy_sources(&step.instruction) else {
        return FirstFiles::NotACopy;
    };
    let unknown = |why: &str| FirstFiles::Unknown(Some(why.to_owned()));
    let (Some(before), Some(now)) = (before, now) else {
        return unknown("the source versions of both builds are needed to diff them");
    };
    let Some(dir) = checkout else {
        return unknown("no git checkout to diff the source versions in");
    };
    let Some(context) = inv.context.as_deref() else {
        return unknown("the docker build command names no context");
    };
    match Checkout::find_for(dir, project)
        .and_then(|c| c.changed((&before, &now), context, &sources))
    {
        Ok(files) => FirstFiles::Changed(files),
        Err(e) => FirstFiles::Unknown(Some(e.to_string())),
    }
}

/// Hashes the sources of every missed `COPY`/`ADD` (recorded for the next build), and returns
/// the first missed step's hashes with those recorded when it last ran.
fn copy_hashes(
    store: &Store,
    build_id: &str,
    project: &str,
    report: &CacheReport,
    inputs: &BuildInputs,
    ctx: Option<&Context>,
) -> crate::history::Result<FirstFiles> {
    let image = report.image.clone().unwrap_or_default();
    let ignore = ctx.map(|c| {
        std::fs::read_to_string(c.dir.join(".dockerignore"))
            .map(|t| DockerIgnore::parse(&t))
            .unwrap_or_default()
    });
    let mut first = None;
    for (pos, step) in report.steps.iter().enumerate() {
        if !matches!(step.state, StepState::Built | StepState::Failed) {
            continue;
        }
        let is_first = first.is_none();
        let Some(sources) = copy_sources(&step.instruction) else {
            first.get_or_insert(FirstFiles::NotACopy);
            continue;
        };
        let read = match (ctx, &ignore) {
            (Some(c), Some(ig)) => hash_sources(&c.dir, &sources, ig, Some(&c.state)).ok(),
            _ => None,
        };
        let Some(hashes) = read else {
            first.get_or_insert(FirstFiles::Unknown(None));
            continue;
        };
        if is_first {
            let before = store.last_copy_hashes(
                project,
                &inputs.dockerfile,
                &image,
                &step.instruction,
                build_id,
            )?;
            first = Some(FirstFiles::Hashes(hashes.clone(), before));
        }
        store.save_copy_hashes(
            build_id,
            report.docker_build,
            pos,
            &step.instruction,
            &hashes,
        )?;
    }
    Ok(first.unwrap_or(FirstFiles::Unknown(None)))
}

/// `-f` as written, else `<context>/Dockerfile`: with the image, what makes two docker builds
/// builds "of the same Dockerfile".
fn identity(inv: &invocation::BuildInvocation) -> String {
    if let Some(f) = &inv.file {
        return clean_rel(f);
    }
    let ctx = inv.context.as_deref().map(clean_rel).unwrap_or_default();
    if ctx.is_empty() {
        "Dockerfile".into()
    } else {
        format!("{ctx}/Dockerfile")
    }
}

fn clean_rel(p: &str) -> String {
    let p = p
        .strip_prefix("$CODEBUILD_SRC_DIR")
        .or_else(|| p.strip_prefix("${CODEBUILD_SRC_DIR}"))
        .unwrap_or(p);
    p.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The context and Dockerfile on this machine, when the command names them relative to the
/// source directory (where CodeBuild's commands start) or through `$CODEBUILD_SRC_DIR`.
fn locate(source: &LocalSource, inv: &invocation::BuildInvocation) -> Option<Context> {
    let on_host = |p: &str| -> Option<PathBuf> {
        let rel = p
            .strip_prefix("$CODEBUILD_SRC_DIR")
            .or_else(|| p.strip_prefix("${CODEBUILD_SRC_DIR}"))
            .unwrap_or(p);
        if rel.contains('$') || (p == rel && p.starts_with('/')) || rel.contains("..") {
            return None;
        }
        Some(source.dir.join(rel.trim_start_matches('/')))
    };
    let dir = on_host(inv.context.as_deref()?)?;
    let dockerfile = match &inv.file {
        Some(f) => on_host(f)?,
        None => dir.join("Dockerfile"),
    };
    Some(Context {
        dir,
        dockerfile,
        state: source.dir.join(".cbdash"),
    })
}

/// The content hash (sha256 of the mode and the bytes; a symlink's target) of every file
/// the sources select in the context, honouring `.dockerignore` and leaving out `skip` (the
/// project's `.cbdash` folder, which the build's copy of the source does not have).
pub fn hash_sources(
    context: &Path,
    sources: &[String],
    ignore: &DockerIgnore,
    skip: Option<&Path>,
) -> std::io::Result<FileHashes> {
    let mut out = FileHashes::new();
    for source in sources {
        let (root, glob) = split_glob(source);
        let walker = ignore::WalkBuilder::new(context.join(root))
            .standard_filters(false)
            .hidden(false)
            .follow_links(false)
            .filter_entry({
                let skip = skip.map(Path::to_path_buf);
                move |e| skip.as_deref().is_none_or(|s| e.path() != s)
            })
            .build();
        for entry in walker {
            let entry = entry.map_err(std::io::Error::other)?;
            let Some(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(context) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            if glob.as_ref().is_some_and(|g| !matches_or_parent(g, &rel))
                || ignore.excludes(&rel)
                || out.contains_key(&rel)
            {
                continue;
            }
            out.insert(rel, hash_file(entry.path(), kind.is_symlink())?);
        }
    }
    Ok(out)
}

fn hash_file(path: &Path, symlink: bool) -> std::io::Result<String> {
    let mut h = Sha256::new();
    if symlink {
        h.update(b"symlink:");
        h.update(std::fs::read_link(path)?.to_string_lossy().as_bytes());
    } else {
        let mut f = std::fs::File::open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = f.metadata()?.permissions().mode() & 0o7777;
            h.update(format!("mode:{mode:o}\n").as_bytes());
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    let mut hex = String::with_capacity(64);
    for b in &h.finalize() {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_hashed_honouring_dockerignore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        for (f, text) in [
            ("src/a.c", "a"),
            ("src/b.h", "b"),
            ("src/sub/c.c", "c"),
            ("src/skip.log", "x"),
            ("top.txt", "t"),
        ] {
            std::fs::create_dir_all(p.join(f).parent().expect("parent")).expect("mkdir");
            std::fs::write(p.join(f), text).expect("write");
        }
        let ig = DockerIgnore::parse("src/*.log\n");
        let all = hash_sources(p, &["src".into()], &ig, None).expect("hash");
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["src/a.c", "src/b.h", "src/sub/c.c"]
        );
        let c_files = hash_sources(p, &["src/*.c".into()], &ig, None).expect("hash");
        assert_eq!(c_files.keys().collect::<Vec<_>>(), ["src/a.c"]);
        let whole = hash_sources(p, &[String::new()], &ig, None).expect("hash");
        assert_eq!(whole.len(), 4);
        std::fs::write(p.join("src/a.c"), "changed").expect("write");
        let again = hash_sources(p, &["src".into()], &ig, None).expect("hash");
        assert_ne!(again["src/a.c"], all["src/a.c"]);
        assert_eq!(again["src/b.h"], all["src/b.h"]);
        // cbdash's own state folder is not in the build's copy of the source.
        std::fs::create_dir_all(p.join(".cbdash")).expect("mkdir");
        std::fs::write(p.join(".cbdash/state.json"), "{}").expect("write");
        let state = p.join(".cbdash");
        let skipped = hash_sources(p, &[String::new()], &ig, Some(&state)).expect("hash");
        assert_eq!(skipped.len(), 4, "{skipped:?}");
    }

    #[test]
    fn the_dockerfile_identity_and_location() {
        let inv = invocation::parse("docker build -t a ctx").expect("build");
        assert_eq!(identity(&inv), "ctx/Dockerfile");
        let inv = invocation::parse("docker build -f ./d/Dockerfile.x .").expect("build");
        assert_eq!(identity(&inv), "d/Dockerfile.x");
        let src = LocalSource {
            dir: PathBuf::from("/p"),
            env: vec![("V".into(), "1".into()), ("V".into(), "2".into())],
        };
        assert_eq!(src.var("V").as_deref(), Some("2"));
        let inv = invocation::parse("docker build $CODEBUILD_SRC_DIR/ctx").expect("build");
        let c = locate(&src, &inv).expect("on the host");
        assert_eq!(c.dir, PathBuf::from("/p/ctx"));
        assert_eq!(c.dockerfile, PathBuf::from("/p/ctx/Dockerfile"));
        let inv = invocation::parse("docker build /elsewhere").expect("build");
        assert!(locate(&src, &inv).is_none());
        let inv = invocation::parse("docker build $DIR").expect("build");
        assert!(locate(&src, &inv).is_none());
    }
}
