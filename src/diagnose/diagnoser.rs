//! One build's diagnoser: reads its log line by line and reports each rule at most once.
//!
//! Besides the rule patterns it follows just enough of the log's structure for the rules that
//! need context: the phase, the command that is running (from the agent's `Running command`
//! lines, whose end is the next agent line), the BuildKit vertices importing a cache, and the
//! artifact listing the local engine prints when nothing matched.
//!
//! A command's output is held (in one buffer, up to [`OUTPUT_CAP`]) until the command ends,
//! because its exit status decides what may be evidence: after a failure every rule reads it;
//! after exit 0 only the rules with an `after_success` literal do, and only if a line starts
//! with one (a look at each line's first bytes: with holding the lines, the whole cost of
//! diagnosing healthy output). Lines outside any command and the agent's own lines are read
//! at once.

use crate::model::{Diagnosis, LogLine, LogStream, PhaseContext, PhaseKind, Status};

use super::context::{self, Found, Shape};
use super::output::Output;
use super::rules::{Context, Marker, Owner, Rules};

/// Past this many bytes of held output, a command's output is read before it ends (its
/// findings still wait for the exit status), so memory stays bounded.
pub const OUTPUT_CAP: usize = 1 << 20;

/// The command that is running, and what its output revealed so far.
#[derive(Debug)]
struct Command {
    text: String,
    /// A shell error it printed (a hidden failure if the command exits 0).
    shell_error: Option<Found>,
    /// Whether the engine showed more lines of its text than the first (see
    /// [`Diagnoser::marks_command_lines`]).
    multi_line: bool,
    /// The first finding of each rule in output read early, until the exit status is known.
    found: Vec<Found>,
}

/// How much of the held output to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Every rule may report from it: a failed command's output, or lines outside commands.
    All,
    /// The output of a command that exited 0: read only if it holds an `after_success` literal.
    AfterSuccess,
}

/// Diagnoses one build.
#[derive(Debug)]
pub struct Diagnoser {
    rules: &'static Rules,
    /// The phase from `PhaseStarted` events, for lines that carry none.
    phase: Option<PhaseKind>,
    fired: Vec<bool>,
    command: Option<Command>,
    /// Output lines not read yet (the running command's, or a batch's lines outside commands).
    output: Output,
    /// Whether a held line opens the output to the `after_success` rules.
    opened: bool,
    /// BuildKit vertices (`#N`) of the current command that import a cache manifest.
    cache_vertices: Vec<u32>,
    /// What the local engine listed under the artifacts' base directory.
    artifact_listing: Option<String>,
    buildspec: Option<std::sync::Arc<str>>,
    /// Whether the log marks every line of a command's text as the agent's (the local
    /// engine's continuation lines): then a command without such lines is known to be one line.
    marks_command_lines: bool,
}

impl Diagnoser {
    /// A diagnoser with these rules; `buildspec` is the buildspec's text when known.
    #[must_use]
    pub fn new(rules: &'static Rules, buildspec: Option<std::sync::Arc<str>>) -> Self {
        Self {
            rules,
            phase: None,
            fired: vec![false; rules.rules.len()],
            command: None,
            output: Output::default(),
            opened: false,
            cache_vertices: Vec::new(),
            artifact_listing: None,
            buildspec,
            marks_command_lines: false,
        }
    }

    /// The log comes from an engine that logs each further line of a multi-line command as
    /// an agent line without the `[Container]` prefix (the local engine). CodeBuild's own log
    /// shows them as output, so there a command's shape is not known.
    pub fn marks_command_lines(&mut self) {
        self.marks_command_lines = true;
    }

    /// A phase began.
    pub fn phase_started(&mut self, phase: PhaseKind) {
        self.phase = Some(phase);
    }

    /// A phase ended: a command still running ended with it, and the phase's context message
    /// is evidence too (a cloud build's log may be missing, its phases never are).
    pub fn phase_finished(
        &mut self,
        phase: PhaseKind,
        status: Status,
        context: &PhaseContext,
        out: &mut Vec<Diagnosis>,
    ) {
        self.end_command(status == Status::Succeeded, out);
        if context.is_empty() {
            return;
        }
        let text = format!(
            "Phase context status code: {} Message: {}",
            context.status_code, context.message
        );
        self.check(&text, context::evidence_part(&text), Some(phase), out);
    }

    /// The build ended: what is still held is read, as the build's status says.
    pub fn finish(&mut self, succeeded: bool, out: &mut Vec<Diagnosis>) {
        self.end_command(succeeded, out);
    }

    /// Reads a batch of log lines, in order. Output lines are held (see the module docs); the
    /// agent's lines carry the log's structure and are read one by one.
    pub fn lines(&mut self, lines: &[LogLine], out: &mut Vec<Diagnosis>) {
        for l in lines {
            if l.stream == LogStream::Agent {
                self.agent_line(l, out);
                continue;
            }
            self.opened = self.opened || self.rules.opens_after_success(&l.text);
            self.output.push(&l.text, l.phase.or(self.phase));
            if self.command.is_some() && self.output.len() > OUTPUT_CAP {
                self.read(Read::All, out);
            }
        }
        if self.command.is_none() {
            self.read(Read::All, out);
        }
    }

    /// Bytes of output held.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.output.len()
    }

    /// Reads one agent line. (Agent lines without the `[Container]` prefix are the local
    /// engine's continuation lines of a multi-line command: command text, not output.)
    fn agent_line(&mut self, line: &LogLine, out: &mut Vec<Diagnosis>) {
        let Some(message) = context::agent_message(&line.text) else {
            // A further line of the running command's text: the command is multi-line.
            if let Some(cmd) = &mut self.command
                && !line.text.trim().is_empty()
            {
                cmd.multi_line = true;
            }
            return;
        };
        // Any agent line ends the running command.
        self.end_command(!ends_in_failure(message), out);
        if let Some(cmd) = message.strip_prefix("Running command ") {
            self.cache_vertices.clear();
            self.command = Some(Command {
                text: cmd.to_owned(),
                shell_error: None,
                multi_line: false,
                found: Vec::new(),
            });
            return;
        }
        if let Some(listing) = context::artifact_listing(message) {
            self.artifact_listing = Some(listing.to_owned());
            return;
        }
        let text = line.text.as_str();
        self.check(
            text,
            context::evidence_part(text),
            line.phase.or(self.phase),
            out,
        );
    }

    /// Reads the held output, as far as `how` allows, and forgets it.
    fn read(&mut self, how: Read, out: &mut Vec<Diagnosis>) {
        if self.output.is_empty() {
            return;
        }
        let output = std::mem::take(&mut self.output);
        if how == Read::All || self.opened {
            for (text, phase) in output.lines_at(self.rules.needle_starts(output.text())) {
                self.check(text, text, phase, out);
            }
        }
        self.output = output;
        self.output.clear();
        self.opened = false;
    }

    /// The running command ended (or the build did): its output is read as its exit status
    /// allows, and what it revealed is reported.
    fn end_command(&mut self, succeeded: bool, out: &mut Vec<Diagnosis>) {
        let how = if succeeded && self.command.is_some() {
            Read::AfterSuccess
        } else {
            Read::All
        };
        self.read(how, out);
        let Some(cmd) = self.command.take() else {
            return;
        };
        for found in cmd.found {
            if !succeeded || self.rules.rules[found.rule].after_success.is_some() {
                self.emit(found, out);
            }
        }
        if let (true, Some(found)) = (succeeded, cmd.shell_error) {
            let shape = match (cmd.multi_line, self.marks_command_lines) {
                (true, _) => Shape::MultiLine,
                (false, true) => Shape::OneLine,
                (false, false) => Shape::Unknown,
            };
            // The rule's own text is about multi-line blocks; other shapes get what is true
            // of them.
            let text = context::hidden_failure_text(shape, found.evidence());
            self.emit_as(found, text, out);
        }
    }

    /// Runs the rules on `hay`, the part of the log line `text` that can be evidence.
    fn check(&mut self, text: &str, hay: &str, phase: Option<PhaseKind>, out: &mut Vec<Diagnosis>) {
        if !self.rules.may_match(hay) {
            return;
        }
        for i in &self.rules.matches(hay) {
            let (re, owner) = &self.rules.patterns[i];
            match *owner {
                Owner::Marker(Marker::CacheImport) => {
                    if let Some(v) = context::vertex(text) {
                        self.cache_vertices.push(v);
                    }
                }
                Owner::Rule(r) => {
                    if let Some(found) = self.applies(r, re, text, hay, phase) {
                        self.fire(found, out);
                    }
                }
            }
        }
    }

    /// The finding, if rule `r` (whose pattern `re` matched) applies here.
    fn applies(
        &self,
        r: usize,
        re: &regex::Regex,
        text: &str,
        hay: &str,
        phase: Option<PhaseKind>,
    ) -> Option<Found> {
        let rule = &self.rules.rules[r];
        if self.fired[r] {
            return None;
        }
        // An unknown phase does not rule anything out.
        if phase.is_some_and(|p| !rule.phases.is_empty() && !rule.phases.contains(&p)) {
            return None;
        }
        if let Some(cmd) = &self.rules.commands[r]
            && !self.command.as_ref().is_some_and(|c| cmd.is_match(&c.text))
        {
            return None;
        }
        if rule.context == Some(Context::CacheImport)
            && context::vertex(text).is_some_and(|v| !self.cache_vertices.contains(&v))
        {
            return None;
        }
        Some(Found::new(r, re, text, hay, phase))
    }

    fn fire(&mut self, found: Found, out: &mut Vec<Diagnosis>) {
        if self.rules.rules[found.rule].context == Some(Context::HiddenFailure) {
            // Known only when the command ends: keep the first shell error it printed.
            if let Some(cmd) = &mut self.command
                && cmd.shell_error.is_none()
            {
                cmd.shell_error = Some(found);
            }
            return;
        }
        match &mut self.command {
            // Known only when the command ends: keep the first finding of each rule.
            Some(cmd) => {
                if !cmd.found.iter().any(|f| f.rule == found.rule) {
                    cmd.found.push(found);
                }
            }
            None => self.emit(found, out),
        }
    }

    fn emit(&mut self, found: Found, out: &mut Vec<Diagnosis>) {
        self.emit_as(found, None, out);
    }

    /// Emits `found`, with `text` (cause, fix) instead of the rule's when given.
    fn emit_as(&mut self, found: Found, text: Option<(String, String)>, out: &mut Vec<Diagnosis>) {
        if self.fired[found.rule] {
            return;
        }
        self.fired[found.rule] = true;
        let rule = &self.rules.rules[found.rule];
        let extra = match rule.context {
            Some(Context::Artifacts) => context::artifacts_hint(self.artifact_listing.as_deref()),
            Some(Context::Buildspec) => context::buildspec_hint(self.buildspec.as_deref()),
            _ => String::new(),
        };
        let mut d = found.into_diagnosis(rule, &extra);
        if let Some((cause, fix)) = text {
            d.cause = cause;
            d.fix = fix;
        }
        out.push(d);
    }
}

/// Whether an agent line says the running command failed: its exit status, or its phase
/// ending in anything but success (a timeout, a stop).
fn ends_in_failure(message: &str) -> bool {
    message.starts_with("Command did not exit successfully")
        || (message.starts_with("Phase complete: ") && !message.ends_with("State: SUCCEEDED"))
}
