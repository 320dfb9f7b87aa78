//! The incremental analyzer: one line in, the reports that changed out.

use std::collections::HashMap;

use super::lines::{self, BkLine};
use super::tally::Tally;
use crate::model::{Builder, CacheReport, StepState};

/// What BuildKit vertex `#N` turned out to be.
#[derive(Clone, Copy, Debug)]
enum Vertex {
    /// A cacheable step, at this position in the report.
    Step(usize),
    /// A `FROM` step: its resolution is `inputs.base_images[i]`.
    From(usize),
    /// `importing cache manifest from ...` (`--cache-from`): an error there is no build error.
    CacheImport,
    /// An internal vertex.
    Ignored,
    /// `exporting to image`.
    Export,
}

/// The docker build being read.
#[derive(Debug)]
struct Current {
    tally: Tally,
    /// BuildKit: vertex number → what it is.
    vertices: HashMap<u32, Vertex>,
    /// Legacy: the step in progress (position, when it started, whether cacheable).
    legacy_step: Option<(Option<usize>, Option<u64>)>,
    /// Legacy: the current stage key.
    legacy_stage: u32,
    /// Legacy: `Successfully built` seen, a `Successfully tagged` may follow.
    awaiting_tag: bool,
    /// Legacy: the image a `FROM` step names, until its ` ---> <id>` line.
    legacy_from: Option<String>,
}

/// Reads a build log line by line and reports the cache verdict of every `docker build` in it.
///
/// Feed every line of every phase, in order ([`Analyzer::feed`]); lines that are not docker
/// build output cost a byte comparison or two. Each call returns the reports that changed:
/// a running build's report (`finished: false`) when a step starts or gets its verdict, and
/// the final report (`finished: true`) when the build ends. Call [`Analyzer::finish`] at the
/// end of the log to close a build whose end was not seen.
#[derive(Debug, Default)]
pub struct Analyzer {
    next_build: u32,
    current: Option<Current>,
    /// An image named by the `Running command docker build -t ...` line, for the next build.
    pending_image: Option<String>,
    /// The text of that command, for the miss explainer.
    pending_command: Option<String>,
    now_ms: Option<u64>,
    /// Whether the running command is known not to build an image (`docker pull x || true`):
    /// then no report starts, whatever its output looks like.
    no_build: bool,
}

impl Analyzer {
    /// An analyzer at the start of a log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one line (a trailing `\r`/`\n` is ignored).
    pub fn feed(&mut self, line: &str) -> Vec<CacheReport> {
        let mut out = Vec::new();
        self.feed_into(line, &mut out);
        out
    }

    /// Reads one line that arrived `now_ms` milliseconds into the build: the legacy builder
    /// prints no durations, so they are measured from the arrival times of its lines.
    pub fn feed_at(&mut self, line: &str, now_ms: u64) -> Vec<CacheReport> {
        self.now_ms = Some(now_ms);
        self.feed(line)
    }

    /// Reads one line, appending changed reports to `out` (no allocation when none changed).
    pub fn feed_into(&mut self, line: &str, out: &mut Vec<CacheReport>) {
        let line = line.trim_end_matches(['\r', '\n']);
        if self.current.as_ref().is_some_and(|c| c.awaiting_tag)
            && !line.starts_with("Successfully tagged ")
        {
            self.end_build(None, out);
        }
        match line.as_bytes().first() {
            Some(b'#') => {
                if let Some((n, rest)) = lines::buildkit_vertex(line) {
                    self.buildkit(n, rest, out);
                }
            }
            Some(b'S' | b' ' | b'T') => self.legacy(line, out),
            Some(0x1b) => self.legacy(lines::strip_leading_sgr(line), out),
            Some(b'[') => {
                if let Some(cmd) = lines::running_command(line) {
                    // A new command: the docker build of the last one (if any) is over.
                    self.end_build(None, out);
                    self.pending_image = None;
                    self.pending_command = None;
                    self.no_build = lines::classify_command(cmd) == lines::Invocation::NoBuild;
                    self.command_line(cmd);
                }
            }
            // A multi-line command's further lines are output in CodeBuild's log: one that
            // runs a docker build lifts `no_build`.
            Some(b'd' | b'D' | b'/') if self.no_build => {
                if let lines::Invocation::DockerBuild(_) = lines::classify_command(line) {
                    self.command_line(line);
                }
            }
            _ => {}
        }
        self.emit(out);
    }

    /// Reads one line of the running command's text (the local engine logs a multi-line
    /// command's further lines as its own, so they are known to be command text).
    pub fn command_line(&mut self, text: &str) {
        match lines::classify_command(text) {
            lines::Invocation::DockerBuild(cmd) => {
                self.pending_image = cmd.tag.map(str::to_owned);
                self.pending_command = Some(text.trim().to_owned());
                self.no_build = false;
            }
            lines::Invocation::NoBuild => {}
            lines::Invocation::Unknown => self.no_build = false,
        }
    }

    /// Ends the log: a build still open is reported finished.
    pub fn finish(&mut self) -> Vec<CacheReport> {
        let mut out = Vec::new();
        self.end_build(None, &mut out);
        out
    }

    /// The report of the build being read, if one is open.
    #[must_use]
    pub fn current(&self) -> Option<&CacheReport> {
        self.current.as_ref().map(|c| &c.tally.report)
    }

    fn start_build(&mut self, builder: Builder, out: &mut Vec<CacheReport>) {
        self.end_build(None, out);
        if self.no_build {
            return;
        }
        let mut tally = Tally::new(self.next_build, builder, self.pending_image.take());
        tally.report.inputs.command = self.pending_command.take();
        self.next_build += 1;
        self.current = Some(Current {
            tally,
            vertices: HashMap::new(),
            legacy_step: None,
            legacy_stage: 0,
            awaiting_tag: false,
            legacy_from: None,
        });
    }

    fn end_build(&mut self, error: Option<&str>, out: &mut Vec<CacheReport>) {
        if let Some(mut c) = self.current.take() {
            c.tally.finish(error);
            out.push(c.tally.report);
        }
    }

    /// Pushes the open build's report when it changed.
    fn emit(&mut self, out: &mut Vec<CacheReport>) {
        if let Some(c) = self.current.as_mut()
            && c.tally.dirty
        {
            c.tally.dirty = false;
            out.push(c.tally.report.clone());
        }
    }

    fn buildkit(&mut self, n: u32, rest: &str, out: &mut Vec<CacheReport>) {
        if let Some(digest) = rest.strip_prefix("sha256:") {
            // 20.10 prints each vertex's digest: a FROM's changes with the image it resolved.
            if let Some(c) = self.current.as_mut()
                && let Some(Vertex::From(i)) = c.vertices.get(&n)
                && let Some(base) = c.tally.report.inputs.base_images.get_mut(*i)
                && !base.contains('@')
            {
                base.push_str("@vertex-sha256:");
                base.push_str(digest.trim());
            }
            return;
        }
        let kind = lines::classify_buildkit(rest);
        if matches!(kind, BkLine::Other) {
            return;
        }
        let is_header = matches!(kind, BkLine::Step(_) | BkLine::Export | BkLine::Internal);
        let open = self
            .current
            .as_ref()
            .filter(|c| matches!(c.tally.report.builder, Builder::Buildkit));
        // Vertex #1 again means a new `docker build`; so does BuildKit output after legacy.
        let new_build = match open {
            None => is_header,
            Some(c) => is_header && n == 1 && c.vertices.contains_key(&1),
        };
        if new_build {
            self.start_build(Builder::Buildkit, out);
        }
        let Some(c) = self.current.as_mut() else {
            return;
        };
        if !matches!(c.tally.report.builder, Builder::Buildkit) {
            return;
        }
        match kind {
            BkLine::Step(h) if !c.vertices.contains_key(&n) => {
                let v = if lines::is_from(h.instruction) {
                    let bases = &mut c.tally.report.inputs.base_images;
                    bases.push(lines::from_image(h.instruction).to_owned());
                    Vertex::From(bases.len() - 1)
                } else {
                    let key = c.tally.stage_key(h.stage, h.platform);
                    Vertex::Step(c.tally.add_step(h.index, key, h.instruction))
                };
                c.vertices.insert(n, v);
            }
            BkLine::Export => {
                c.vertices.insert(n, Vertex::Export);
            }
            BkLine::Internal => {
                c.vertices.entry(n).or_insert(Vertex::Ignored);
            }
            BkLine::CacheImport => {
                c.vertices.insert(n, Vertex::CacheImport);
            }
            BkLine::Error(_) if matches!(c.vertices.get(&n), Some(Vertex::CacheImport)) => {
                // BuildKit goes on without the cache: the build is not over.
                c.tally.report.inputs.cache_import_failed = true;
                c.tally.dirty = true;
            }
            BkLine::Cached => c.set_vertex(n, StepState::Cached, None),
            BkLine::Done(ms) => {
                if matches!(c.vertices.get(&n), Some(Vertex::Export)) {
                    self.end_build(None, out);
                } else {
                    c.set_vertex(n, StepState::Built, ms);
                }
            }
            BkLine::Canceled => c.set_vertex(n, StepState::Canceled, None),
            BkLine::Error(msg) => {
                c.set_vertex(n, StepState::Failed, None);
                let msg = msg.to_owned();
                self.end_build(Some(&msg), out);
            }
            BkLine::NamingTo(name) => c.tally.set_image(lines::short_image_name(name)),
            BkLine::Step(_) | BkLine::Other => {}
        }
    }

    fn legacy(&mut self, line: &str, out: &mut Vec<CacheReport>) {
        if line.starts_with("Sending build context to Docker daemon") {
            self.start_build(Builder::Legacy, out);
        } else if let Some(h) = lines::legacy_step(line) {
            let open_legacy = self.current.as_ref().filter(|c| {
                c.tally.report.builder == Builder::Legacy
                    && !(h.index == 1 && c.legacy_step.is_some())
            });
            if open_legacy.is_none() {
                self.start_build(Builder::Legacy, out);
            }
            let now = self.now_ms;
            if let Some(c) = self.current.as_mut() {
                c.close_legacy_step(now);
                c.legacy_from = None;
                let pos = if lines::is_from(h.instruction) {
                    c.legacy_stage = c.tally.new_stage(lines::from_stage_name(h.instruction));
                    c.legacy_from = Some(lines::from_image(h.instruction).to_owned());
                    None
                } else {
                    Some(c.tally.add_step(h.index, c.legacy_stage, h.instruction))
                };
                c.legacy_step = Some((pos, now));
            }
        } else if let Some(c) = self
            .current
            .as_mut()
            .filter(|c| c.tally.report.builder == Builder::Legacy)
        {
            let now = self.now_ms;
            if let Some(arrow) = line.strip_prefix(" ---> ") {
                c.legacy_arrow(arrow, now);
            } else if line.starts_with("Successfully built ") {
                c.close_legacy_step(now);
                c.awaiting_tag = true;
            } else if let Some(tag) = line.strip_prefix("Successfully tagged ") {
                c.tally.set_image(tag.trim());
                self.end_build(None, out);
            } else if line.starts_with("The command '") && line.contains("returned a non-zero code")
            {
                if let Some((Some(pos), _)) = c.legacy_step.take() {
                    c.tally.set_state(pos, StepState::Failed, None);
                }
                self.end_build(Some(line), out);
            }
        }
    }
}

impl Current {
    fn set_vertex(&mut self, n: u32, state: StepState, ms: Option<u64>) {
        if let Some(Vertex::Step(pos)) = self.vertices.get(&n) {
            self.tally.set_state(*pos, state, ms);
        }
    }

    /// ` ---> Using cache`, ` ---> Running in x`, ` ---> <id>` (the step's layer is done).
    fn legacy_arrow(&mut self, arrow: &str, now: Option<u64>) {
        if let Some(from) = self.legacy_from.take() {
            // ` ---> 508ba30a5eb6`: the image id the FROM resolved to.
            let id = arrow.trim();
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.tally
                    .report
                    .inputs
                    .base_images
                    .push(format!("{from}@{id}"));
            } else {
                self.legacy_from = Some(from);
            }
            return;
        }
        let Some((Some(pos), _)) = self.legacy_step else {
            return;
        };
        if arrow == "Using cache" {
            self.tally.set_state(pos, StepState::Cached, None);
        } else if arrow.starts_with("Running in ") {
            self.tally.set_state(pos, StepState::Running, None);
        } else if !arrow.starts_with('[') {
            self.close_legacy_step(now);
        }
    }

    /// The legacy step in progress has produced its layer: built unless it came from cache.
    fn close_legacy_step(&mut self, now: Option<u64>) {
        if let Some((Some(pos), started)) = self.legacy_step.take() {
            let cached = self.tally.report.steps.get(pos).is_some_and(|s| s.cached);
            let ms = now.zip(started).map(|(n, s)| n.saturating_sub(s));
            let state = if cached {
                StepState::Cached
            } else {
                StepState::Built
            };
            self.tally.set_state(pos, state, ms);
        }
    }
}
