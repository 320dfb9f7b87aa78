//! One build's diagnoser: reads its log line by line and reports each rule at most once.
//!
//! Besides the rule patterns it follows just enough of the log's structure for the rules that
//! need context: the phase, the command that is running (from the agent's `Running command`
//! lines, whose end is the next agent line), the BuildKit vertices importing a cache, and the
//! artifact listing the local engine prints when nothing matched.

use crate::model::{Diagnosis, LogLine, LogStream, PhaseContext, PhaseKind};

use super::context::{self, Found};
use super::rules::{Context, Marker, Owner, Rules};

/// The command that is running, and a shell error it printed (a hidden failure until the
/// command turns out to have exited 0).
#[derive(Debug)]
struct Command {
    text: String,
    shell_error: Option<Found>,
}

/// Diagnoses one build.
#[derive(Debug)]
pub struct Diagnoser {
    rules: &'static Rules,
    /// The phase from `PhaseStarted` events, for lines that carry none.
    phase: Option<PhaseKind>,
    fired: Vec<bool>,
    command: Option<Command>,
    /// BuildKit vertices (`#N`) of the current command that import a cache manifest.
    cache_vertices: Vec<u32>,
    /// What the local engine listed under the artifacts' base directory.
    artifact_listing: Option<String>,
    buildspec: Option<std::sync::Arc<str>>,
    /// Scratch for [`Diagnoser::lines`]: a batch's lines joined, and the lines the prefilter
    /// picked.
    joined: String,
    picked: Vec<usize>,
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
            cache_vertices: Vec::new(),
            artifact_listing: None,
            buildspec,
            joined: String::new(),
            picked: Vec::new(),
        }
    }

    /// A phase began.
    pub fn phase_started(&mut self, phase: PhaseKind) {
        self.phase = Some(phase);
    }

    /// A phase ended: its context message is evidence too (a cloud build's log may be
    /// missing, its phases never are).
    pub fn phase_finished(
        &mut self,
        phase: PhaseKind,
        context: &PhaseContext,
        out: &mut Vec<Diagnosis>,
    ) {
        if context.is_empty() {
            return;
        }
        let text = format!(
            "Phase context status code: {} Message: {}",
            context.status_code, context.message
        );
        self.check(&text, context::evidence_part(&text), Some(phase), out);
    }

    /// Reads a batch of log lines, in order. The prefilter runs once over the whole batch
    /// (a call per line would cost more than the scan itself): only the lines it picks, and
    /// the agent's lines (which carry the log's structure), are looked at one by one.
    pub fn lines(&mut self, lines: &[LogLine], out: &mut Vec<Diagnosis>) {
        self.joined.clear();
        for l in lines {
            self.joined.push_str(&l.text);
            self.joined.push('\n');
        }
        self.picked.clear();
        let (mut line, mut counted) = (0, 0);
        for at in self.rules.needle_starts(&self.joined) {
            // No needle holds a newline, so a hit lies inside one line: the one after as many
            // newlines as precede it. (Hits are rare; counting is cheaper than an index.)
            line += self.joined[counted..at].matches('\n').count();
            counted = at;
            if self.picked.last() != Some(&line) {
                self.picked.push(line);
            }
        }
        let mut next = 0;
        for (i, l) in lines.iter().enumerate() {
            let picked = self.picked.get(next) == Some(&i);
            next += usize::from(picked);
            // Agent lines carry the log's structure (commands starting and ending).
            if picked || l.stream == LogStream::Agent {
                self.line(l, out);
            }
        }
    }

    /// Reads one log line.
    pub fn line(&mut self, line: &LogLine, out: &mut Vec<Diagnosis>) {
        let text = line.text.as_str();
        let phase = line.phase.or(self.phase);
        if let Some(message) = context::agent_message(text) {
            if self.agent(message, out) {
                return;
            }
            if let Some(listing) = context::artifact_listing(message) {
                self.artifact_listing = Some(listing.to_owned());
                return;
            }
            self.check(text, context::evidence_part(text), phase, out);
        } else if line.stream != LogStream::Agent {
            // (Agent lines without the prefix are the local engine's continuation lines of a
            // multi-line command: command text, not output.)
            self.check(text, text, phase, out);
        }
    }

    /// Follows the commands; `true` when the line is only structure (a command starting),
    /// whose text must not be read as evidence.
    fn agent(&mut self, message: &str, out: &mut Vec<Diagnosis>) -> bool {
        if let Some(cmd) = message.strip_prefix("Running command ") {
            self.end_command(true, out);
            self.cache_vertices.clear();
            self.command = Some(Command {
                text: cmd.to_owned(),
                shell_error: None,
            });
            return true;
        }
        let succeeded = !message.starts_with("Command did not exit successfully");
        self.end_command(succeeded, out);
        false
    }

    /// The running command ended (the next agent line came): a shell error it printed was
    /// hidden if it exited 0.
    fn end_command(&mut self, succeeded: bool, out: &mut Vec<Diagnosis>) {
        let Some(cmd) = self.command.take() else {
            return;
        };
        if let (true, Some(found)) = (succeeded, cmd.shell_error)
            && !self.fired[found.rule]
        {
            self.emit(found, out);
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
        self.emit(found, out);
    }

    fn emit(&mut self, found: Found, out: &mut Vec<Diagnosis>) {
        self.fired[found.rule] = true;
        let rule = &self.rules.rules[found.rule];
        let extra = match rule.context {
            Some(Context::Artifacts) => context::artifacts_hint(self.artifact_listing.as_deref()),
            Some(Context::Buildspec) => context::buildspec_hint(self.buildspec.as_deref()),
            _ => String::new(),
        };
        out.push(found.into_diagnosis(rule, &extra));
    }
}
