//! Watching a project for the changes that should re-run its build (`cbdash run --watch`,
//! `w` in the dashboard).
//!
//! notify's debounced watcher (notify-debouncer-full) reports changed paths on its own thread;
//! [`ChangeFilter`] drops what is not the project's source (`.git`, cbdash's own `.cbdash/`
//! and `.cbdash.toml`, artifact folders, what `.gitignore` files ignore, and mere reads, such
//! as the build's own copy of the source); [`ProjectWatcher::next`] then folds every batch
//! that arrives until the project has been quiet for one debounce window into ONE
//! [`Change`], so one save (or a burst of them) gives one re-run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ignore::gitignore::Gitignore;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// The debounce window of watch mode.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// The watcher could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch '{path}' for changes: {reason}")]
pub struct WatchError {
    pub path: PathBuf,
    pub reason: String,
}

/// What changed in one quiet window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// The buildspec itself changed (validate it before running).
    pub buildspec: bool,
    /// The changed files (the buildspec included), relative to the project.
    pub files: Vec<PathBuf>,
}

/// Which paths of a project count as its source.
#[derive(Debug)]
pub struct ChangeFilter {
    root: PathBuf,
    buildspec: PathBuf,
    skip: Vec<PathBuf>,
    ignores: Vec<Gitignore>,
}

impl ChangeFilter {
    /// A filter for the project at `root` (absolute), whose buildspec is `buildspec`; paths
    /// under `skip` (artifact folders) never count. Reads the project's `.gitignore` files.
    #[must_use]
    pub fn new(root: &Path, buildspec: &Path, skip: &[PathBuf]) -> Self {
        let root = absolute(root);
        // cbdash's own files never count: `.cbdash/` (kept builds, state, reproductions) and
        // `.cbdash.toml`, which the run form saves as it starts a build (a re-run on top of
        // that build would run it twice). Saved logs go to cbdash's data directory.
        let mut dirs = vec![
            root.join(".git"),
            root.join(".cbdash"),
            root.join(".cbdash.toml"),
        ];
        dirs.extend(skip.iter().map(|p| absolute(p)));
        let ignores = ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .hidden(false)
            .git_ignore(true)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".cbdash")
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_name() == ".gitignore")
            .filter_map(|e| {
                let (gi, err) = Gitignore::new(e.path());
                err.is_none().then_some(gi)
            })
            .collect();
        Self {
            buildspec: absolute(buildspec),
            root,
            skip: dirs,
            ignores,
        }
    }

    /// The project path of a changed `path`, or `None` when the change does not count.
    #[must_use]
    pub fn relevant(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix(&self.root).ok()?;
        if rel.as_os_str().is_empty() || self.skip.iter().any(|s| path.starts_with(s)) {
            return None;
        }
        let is_dir = path.is_dir();
        let ignored = self.ignores.iter().any(|gi| {
            path.starts_with(gi.path()) && gi.matched_path_or_any_parents(path, is_dir).is_ignore()
        });
        (!ignored).then(|| rel.to_path_buf())
    }

    /// Whether `path` is the buildspec.
    #[must_use]
    pub fn is_buildspec(&self, path: &Path) -> bool {
        path == self.buildspec
    }
}

/// Whether an event kind is a change of content (not a mere open or read).
#[must_use]
pub fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(_)
            | EventKind::Remove(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

/// A running watcher on one project.
pub struct ProjectWatcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    batches: mpsc::UnboundedReceiver<Vec<PathBuf>>,
    filter: ChangeFilter,
    window: Duration,
}

impl std::fmt::Debug for ProjectWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectWatcher")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl ProjectWatcher {
    /// Starts watching `root` recursively, with the debounce `window`.
    pub fn start(
        root: &Path,
        buildspec: &Path,
        skip: &[PathBuf],
        window: Duration,
    ) -> Result<Self, WatchError> {
        let filter = ChangeFilter::new(root, buildspec, skip);
        let err = |reason: String| WatchError {
            path: root.to_path_buf(),
            reason,
        };
        let (tx, batches) = mpsc::unbounded_channel();
        let handler = move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| is_change(&e.event.kind))
                .flat_map(|e| e.event.paths)
                .collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        };
        let mut debouncer = new_debouncer(window, None, handler).map_err(|e| err(e.to_string()))?;
        debouncer
            .watch(&filter.root, RecursiveMode::Recursive)
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            _debouncer: debouncer,
            batches,
            filter,
            window,
        })
    }

    /// Waits for the next change that counts, then for the project to be quiet for one
    /// window, and returns everything that changed meanwhile as one `Change`.
    pub async fn next(&mut self) -> Option<Change> {
        let mut change = Change::default();
        loop {
            let batch = self.batches.recv().await?;
            self.fold(&mut change, batch);
            if !change.files.is_empty() {
                break;
            }
        }
        while let Ok(Some(batch)) = tokio::time::timeout(self.window, self.batches.recv()).await {
            self.fold(&mut change, batch);
        }
        change.files.sort();
        change.files.dedup();
        Some(change)
    }

    /// Drops the changes reported so far (a build that writes into the project, with
    /// `--mount-source`, must not re-trigger itself).
    pub fn discard_pending(&mut self) {
        while self.batches.try_recv().is_ok() {}
    }

    fn fold(&self, change: &mut Change, batch: Vec<PathBuf>) {
        for path in batch {
            if let Some(rel) = self.filter.relevant(&path) {
                change.buildspec |= self.filter.is_buildspec(&path);
                change.files.push(rel);
            }
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_skips_git_cbdash_artifacts_and_ignored_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = absolute(dir.path());
        std::fs::write(root.join(".gitignore"), "target/\n*.tmp\n").expect("write");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("sub/.gitignore"), "local.txt\n").expect("write");
        std::fs::write(root.join("buildspec.yml"), "version: 0.2\n").expect("write");
        let f = ChangeFilter::new(&root, &root.join("buildspec.yml"), &[root.join("out")]);
        assert_eq!(
            f.relevant(&root.join("src/main.rs")),
            Some("src/main.rs".into())
        );
        assert!(f.is_buildspec(&root.join("buildspec.yml")));
        for skipped in [
            ".git/index",
            ".cbdash/kept/x.json",
            ".cbdash.toml",
            "out/app.zip",
            "target/debug/app",
            "notes.tmp",
            "sub/local.txt",
        ] {
            assert_eq!(f.relevant(&root.join(skipped)), None, "{skipped}");
        }
        assert_eq!(
            f.relevant(&root.join("local.txt")),
            Some("local.txt".into())
        );
        assert_eq!(f.relevant(Path::new("/elsewhere/file")), None);
    }

    #[test]
    fn reads_do_not_count_as_changes() {
        use notify_debouncer_full::notify::event::{CreateKind, ModifyKind};
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
    }

    #[tokio::test]
    async fn a_burst_of_writes_is_one_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = absolute(dir.path());
        std::fs::write(root.join("buildspec.yml"), "version: 0.2\n").expect("write");
        let window = Duration::from_millis(200);
        let mut w =
            ProjectWatcher::start(&root, &root.join("buildspec.yml"), &[], window).expect("watch");
        for i in 0..5 {
            std::fs::write(root.join("a.txt"), format!("{i}")).expect("write");
            std::fs::write(root.join(".cbdash-not-top.txt"), "x").expect("write");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let change = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("a change within 5 s")
            .expect("watching");
        assert!(!change.buildspec);
        assert_eq!(
            change.files,
            [PathBuf::from(".cbdash-not-top.txt"), PathBuf::from("a.txt")]
        );
        let more = tokio::time::timeout(window * 3, w.next()).await;
        assert!(more.is_err(), "no second change: {more:?}");
    }
}
