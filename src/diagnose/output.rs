//! The output of the running command, held until its exit status says which rules may read
//! it (see `diagnoser.rs`): the lines joined by `\n` in one buffer, so the prefilter scans
//! them in one call, and the phase of each line kept as runs.

use crate::model::PhaseKind;

/// Lines not read yet.
#[derive(Debug, Default)]
pub struct Output {
    text: String,
    lines: usize,
    /// (index of the first line, phase) wherever the phase changes.
    phases: Vec<(usize, Option<PhaseKind>)>,
}

impl Output {
    /// Appends a line (which holds no newline: the engines split on them).
    #[inline]
    pub fn push(&mut self, line: &str, phase: Option<PhaseKind>) {
        if self.phases.last().is_none_or(|&(_, p)| p != phase) {
            self.phases.push((self.lines, phase));
        }
        self.text.push_str(line);
        self.text.push('\n');
        self.lines += 1;
    }

    /// The lines joined, each ending in `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Forgets the lines, keeping the allocations.
    pub fn clear(&mut self) {
        self.text.clear();
        self.phases.clear();
        self.lines = 0;
    }

    /// The lines holding the byte offsets `starts` (ascending, none on a newline), each
    /// once, in order, with their phases.
    pub fn lines_at(&self, starts: impl Iterator<Item = usize>) -> Vec<(&str, Option<PhaseKind>)> {
        let mut picked: Vec<(&str, Option<PhaseKind>)> = Vec::new();
        let (mut line, mut counted, mut last_end) = (0, 0, None);
        let mut run = 0;
        for at in starts {
            if last_end.is_some_and(|end| at < end) {
                continue; // another hit in the line just picked
            }
            // Hits are rare: counting newlines up to each is cheaper than indexing every line.
            line += self.text[counted..at].matches('\n').count();
            counted = at;
            while run + 1 < self.phases.len() && self.phases[run + 1].0 <= line {
                run += 1;
            }
            let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |i| at + i);
            last_end = Some(end);
            picked.push((
                &self.text[start..end],
                self.phases.get(run).and_then(|p| p.1),
            ));
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_map_to_their_lines_and_phases() {
        let mut o = Output::default();
        o.push("one hit", Some(PhaseKind::Install));
        o.push("two hit hit", Some(PhaseKind::Install));
        o.push("three", Some(PhaseKind::Build));
        o.push("four hit", Some(PhaseKind::Build));
        let starts: Vec<usize> = o.text().match_indices("hit").map(|(i, _)| i).collect();
        assert_eq!(
            o.lines_at(starts.into_iter()),
            [
                ("one hit", Some(PhaseKind::Install)),
                ("two hit hit", Some(PhaseKind::Install)),
                ("four hit", Some(PhaseKind::Build)),
            ]
        );
        o.clear();
        assert!(o.is_empty());
        o.push("x hit", None);
        assert_eq!(o.lines_at([2].into_iter()), [("x hit", None)]);
    }
}
