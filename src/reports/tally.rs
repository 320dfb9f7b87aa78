//! What the parsers add up: a test tally (counts, the first failed cases, duration) and a
//! coverage tally (per source file, so that a file met twice is counted once), and the
//! line counter that turns a byte position of an unreadable file into a line number.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use crate::model::{CaseStatus, CoverageSummary, MAX_FAILED_CASES, TestCase, TestSummary};

/// CodeBuild keeps at most this many characters of a test case's message (reference §3.2).
pub const MAX_MESSAGE_CHARS: usize = 5_000;
/// ... and of its name.
pub const MAX_NAME_CHARS: usize = 1_000;

/// The counts of test cases read so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestTally {
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub errors: u64,
    /// `UNKNOWN` cases (counted in `tests` only, as CodeBuild's fifth status).
    pub unknown: u64,
    pub duration_ns: u128,
    pub failed_cases: Vec<TestCase>,
    pub failed_more: u64,
    /// A suite's counts went negative (JUnit `tests` below the others): CodeBuild refuses
    /// the report (reference §3.3).
    pub negative: bool,
}

impl TestTally {
    /// Counts one case; a failed or errored one is kept while there is room.
    pub fn case(
        &mut self,
        prefix: &str,
        name: &str,
        status: CaseStatus,
        duration_ns: u128,
        message: Option<String>,
    ) {
        self.tests += 1;
        self.duration_ns += duration_ns;
        match status {
            CaseStatus::Succeeded => self.passed += 1,
            CaseStatus::Failed => self.failed += 1,
            CaseStatus::Error => self.errors += 1,
            CaseStatus::Skipped => self.skipped += 1,
            CaseStatus::Unknown => self.unknown += 1,
        }
        if !status.is_failure() {
            return;
        }
        if self.failed_cases.len() >= MAX_FAILED_CASES {
            self.failed_more += 1;
            return;
        }
        self.failed_cases.push(TestCase {
            name: cut(name, MAX_NAME_CHARS),
            prefix: cut(prefix, MAX_NAME_CHARS),
            status,
            message: message
                .map(|m| cut(m.trim(), MAX_MESSAGE_CHARS))
                .filter(|m| !m.is_empty()),
            duration_ms: Some(ns_to_ms(duration_ns)),
        });
    }

    /// Adds another file's tally.
    pub fn add(&mut self, other: Self) {
        self.tests += other.tests;
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.errors += other.errors;
        self.unknown += other.unknown;
        self.duration_ns += other.duration_ns;
        self.failed_more += other.failed_more;
        self.negative |= other.negative;
        for c in other.failed_cases {
            if self.failed_cases.len() < MAX_FAILED_CASES {
                self.failed_cases.push(c);
            } else {
                self.failed_more += 1;
            }
        }
    }

    /// The model's summary.
    #[must_use]
    pub fn summary(self) -> TestSummary {
        TestSummary {
            tests: self.tests,
            passed: self.passed,
            failed: self.failed,
            skipped: self.skipped,
            errors: self.errors,
            duration_ms: ns_to_ms(self.duration_ns),
            failed_cases: self.failed_cases,
            failed_more: self.failed_more,
        }
    }
}

/// Lines and branches of one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCoverage {
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branches_covered: u64,
    pub branches_missed: u64,
}

impl FileCoverage {
    fn line_ratio(&self) -> (u64, u64) {
        (self.lines_covered, self.lines_covered + self.lines_missed)
    }

    fn branch_ratio(&self) -> (u64, u64) {
        (
            self.branches_covered,
            self.branches_covered + self.branches_missed,
        )
    }

    /// Higher line coverage, then higher branch coverage (the rule CodeBuild uses when a
    /// file appears in several merged reports, reference §3.7; used for several raw files
    /// of one group too).
    fn better_than(&self, other: &Self) -> bool {
        let cmp = |(a, b): (u64, u64), (c, d): (u64, u64)| {
            // a/b vs c/d without floats; an empty file counts as 0%.
            u128::from(a) * u128::from(d.max(1)) > u128::from(c) * u128::from(b.max(1))
        };
        let (l, ol) = (self.line_ratio(), other.line_ratio());
        if cmp(l, ol) {
            return true;
        }
        if cmp(ol, l) {
            return false;
        }
        cmp(self.branch_ratio(), other.branch_ratio())
    }
}

/// Coverage by source file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageTally {
    pub files: BTreeMap<String, FileCoverage>,
    /// Whether any file had branch data.
    pub has_branches: bool,
}

impl CoverageTally {
    /// Adds to a file's numbers (one file in several classes or records of one raw file).
    pub fn add_to(&mut self, path: &str, c: FileCoverage) {
        if c.branches_covered + c.branches_missed > 0 {
            self.has_branches = true;
        }
        let e = self.files.entry(path.to_owned()).or_default();
        e.lines_covered += c.lines_covered;
        e.lines_missed += c.lines_missed;
        e.branches_covered += c.branches_covered;
        e.branches_missed += c.branches_missed;
    }

    /// Adds another raw file's tally: a source file in both keeps the better numbers.
    pub fn merge(&mut self, other: Self) {
        self.has_branches |= other.has_branches;
        for (path, c) in other.files {
            match self.files.get_mut(&path) {
                Some(old) if !c.better_than(old) => {}
                Some(old) => *old = c,
                None => {
                    self.files.insert(path, c);
                }
            }
        }
    }

    /// The totals.
    #[must_use]
    pub fn summary(&self) -> CoverageSummary {
        let mut s = CoverageSummary {
            files: self.files.len() as u64,
            ..CoverageSummary::default()
        };
        for c in self.files.values() {
            s.lines_covered += c.lines_covered;
            s.lines_missed += c.lines_missed;
            s.branches_covered += c.branches_covered;
            s.branches_missed += c.branches_missed;
        }
        s.line_pct = pct(s.lines_covered, s.lines_missed);
        s.branch_pct = self
            .has_branches
            .then(|| pct(s.branches_covered, s.branches_missed));
        s
    }
}

/// covered / (covered + missed) × 100, 0 when there is nothing to cover.
#[must_use]
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
pub fn pct(covered: u64, missed: u64) -> f64 {
    let all = covered + missed;
    if all == 0 {
        0.0
    } else {
        covered as f64 * 100.0 / all as f64
    }
}

/// Nanoseconds to whole milliseconds (rounded).
#[must_use]
pub fn ns_to_ms(ns: u128) -> u64 {
    u64::try_from((ns + 500_000) / 1_000_000).unwrap_or(u64::MAX)
}

/// Seconds as a decimal string (`0.015`, `1e-3`) to nanoseconds; bad text counts as 0.
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to >= 0
pub fn secs_to_ns(text: &str) -> u128 {
    let s: f64 = text.trim().replace(',', "").parse().unwrap_or(0.0);
    if s.is_finite() && s > 0.0 {
        (s * 1e9).round() as u128
    } else {
        0
    }
}

/// At most `max` characters of `s`.
#[must_use]
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// A reader that counts the lines its consumer has consumed, and remembers where the recent
/// newlines were, so that an error at a byte position can be given as a line.
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    consumed: u64,
    newlines: u64,
    /// Offsets of the newlines in the last [`Self::WINDOW`] consumed bytes.
    recent: std::collections::VecDeque<u64>,
}

impl<R: BufRead> LineCounter<R> {
    const WINDOW: u64 = 1 << 16;

    pub fn new(inner: R) -> Self {
        Self {
            inner,
            consumed: 0,
            newlines: 0,
            recent: std::collections::VecDeque::new(),
        }
    }

    /// The 1-based line of byte `pos` (exact within the last 64 KiB consumed; before that,
    /// the line the reader had reached).
    #[must_use]
    pub fn line_of(&self, pos: u64) -> u64 {
        let after = self.recent.iter().filter(|&&o| o >= pos).count() as u64;
        self.newlines - after.min(self.newlines) + 1
    }

    /// The 1-based line the reader has reached.
    #[must_use]
    pub const fn line(&self) -> u64 {
        self.newlines + 1
    }
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            for i in memchr::memchr_iter(b'\n', &buf[..amt]) {
                self.newlines += 1;
                self.recent.push_back(self.consumed + i as u64);
            }
            self.consumed += amt as u64;
            let keep_from = self.consumed.saturating_sub(Self::WINDOW);
            while self.recent.front().is_some_and(|&o| o < keep_from) {
                self.recent.pop_front();
            }
            self.inner.consume(amt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counter_finds_the_line_of_a_byte() {
        let mut r = LineCounter::new(&b"a\nbb\nccc\n"[..]);
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(r.line_of(0), 1);
        assert_eq!(r.line_of(3), 2);
        assert_eq!(r.line_of(6), 3);
        assert_eq!(r.line(), 4);
    }

    #[test]
    fn failed_cases_stop_at_the_limit_and_are_counted_beyond() {
        let mut t = TestTally::default();
        for i in 0..(MAX_FAILED_CASES + 3) {
            t.case("p", &format!("c{i}"), CaseStatus::Failed, 1_000_000, None);
        }
        t.case("p", "ok", CaseStatus::Succeeded, 0, None);
        let s = t.summary();
        assert_eq!(s.failed_cases.len(), MAX_FAILED_CASES);
        assert_eq!(s.failed_more, 3);
        assert_eq!(s.tests, MAX_FAILED_CASES as u64 + 4);
        assert_eq!(s.duration_ms, MAX_FAILED_CASES as u64 + 3);
    }

    #[test]
    fn a_file_in_two_raw_files_keeps_the_better_coverage() {
        let mut a = CoverageTally::default();
        a.add_to(
            "x",
            FileCoverage {
                lines_covered: 1,
                lines_missed: 3,
                ..FileCoverage::default()
            },
        );
        let mut b = CoverageTally::default();
        b.add_to(
            "x",
            FileCoverage {
                lines_covered: 3,
                lines_missed: 1,
                ..FileCoverage::default()
            },
        );
        a.merge(b);
        let s = a.summary();
        assert_eq!((s.lines_covered, s.lines_missed, s.files), (3, 1, 1));
        assert!((s.line_pct - 75.0).abs() < 1e-9);
        assert_eq!(s.branch_pct, None);
    }

    #[test]
    fn messages_and_times_are_bounded() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(secs_to_ns("0.015"), 15_000_000);
        assert_eq!(secs_to_ns("-1"), 0);
        assert_eq!(secs_to_ns("NaN"), 0);
        assert_eq!(ns_to_ms(1_499_999), 1);
    }
}
