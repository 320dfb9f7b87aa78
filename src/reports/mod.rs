//! Report files → [`TestReport`]: the parsers of every `file-format` a buildspec's `reports:`
//! section accepts (reference `batch-reports-debug.md` §3.5). Pure: each parser takes a
//! reader and streams it (`quick-xml`'s pull reader, `serde_json`, LCOV's lines); the local
//! engine hands them the raw files it selected and turns the [`GroupParse`] into the group's
//! `BuildEvent::Report`.
//!
//! Report files are untrusted: a file that cannot be read is a warning `file:line: why` and
//! the rest of the group is still counted. The one thing CodeBuild refuses outright is a
//! JUnit suite whose counts go negative (`tests` below `failures + errors + skipped`): the
//! group then carries [`GroupParse::rejected`], which the engine turns into CodeBuild's
//! `UPLOAD_ARTIFACTS` error.
//!
//! Files: `tally` (counts, cases, coverage by file, the line counter), `xml` (the pull-reader
//! helpers), `junit`, `nunit` (v2 and v3), `xunit` (`TestNG` and Visual Studio TRX),
//! `cucumber`, `coverage_xml` (Clover, Cobertura, `JaCoCo`), `coverage_text` (`SimpleCov` JSON,
//! LCOV), `merge` (a batch's shard reports of one group as one, §3.7).

mod coverage_text;
mod coverage_xml;
mod cucumber;
mod junit;
mod merge;
mod nunit;
pub mod tally;
mod xml;
mod xunit;

use std::io::BufRead;

pub use merge::merge;

use crate::model::{ReportBody, ReportStatus, TestReport};
use tally::{CoverageTally, TestTally};

/// A `file-format` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    JunitXml,
    CucumberJson,
    NunitXml,
    Nunit3Xml,
    TestngXml,
    VisualStudioTrx,
    CloverXml,
    CoberturaXml,
    JacocoXml,
    SimpleCov,
    LcovInfo,
}

impl Format {
    /// Every format, in the order the buildspec reference lists them.
    pub const ALL: [Self; 11] = [
        Self::JunitXml,
        Self::CucumberJson,
        Self::NunitXml,
        Self::Nunit3Xml,
        Self::TestngXml,
        Self::VisualStudioTrx,
        Self::CloverXml,
        Self::CoberturaXml,
        Self::JacocoXml,
        Self::SimpleCov,
        Self::LcovInfo,
    ];

    /// The buildspec's word (`JUNITXML`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::JunitXml => "JUNITXML",
            Self::CucumberJson => "CUCUMBERJSON",
            Self::NunitXml => "NUNITXML",
            Self::Nunit3Xml => "NUNIT3XML",
            Self::TestngXml => "TESTNGXML",
            Self::VisualStudioTrx => "VISUALSTUDIOTRX",
            Self::CloverXml => "CLOVERXML",
            Self::CoberturaXml => "COBERTURAXML",
            Self::JacocoXml => "JACOCOXML",
            Self::SimpleCov => "SIMPLECOV",
            Self::LcovInfo => "LCOVINFO",
        }
    }

    /// A buildspec value, case-insensitive as CodeBuild reads it.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// A coverage format (its group is a `CODE_COVERAGE` group).
    #[must_use]
    pub const fn is_coverage(self) -> bool {
        matches!(
            self,
            Self::CloverXml
                | Self::CoberturaXml
                | Self::JacocoXml
                | Self::SimpleCov
                | Self::LcovInfo
        )
    }
}

/// Why a file could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct FileError {
    /// 1-based.
    pub line: u64,
    pub why: String,
}

/// One raw file's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Test(TestTally),
    Coverage(CoverageTally),
}

/// CodeBuild's text for a report it rejects (reference §3.3).
pub const NEGATIVE_COUNT: &str = "error processing report: [InvalidInputException: Test summary: status count cannot be negative]";

/// Parses one raw file of `format`.
pub fn parse_file<R: BufRead>(format: Format, reader: R) -> Result<Parsed, FileError> {
    match format {
        Format::JunitXml => junit::parse(reader).map(Parsed::Test),
        Format::CucumberJson => cucumber::parse(reader).map(Parsed::Test),
        Format::NunitXml => nunit::parse_v2(reader).map(Parsed::Test),
        Format::Nunit3Xml => nunit::parse_v3(reader).map(Parsed::Test),
        Format::TestngXml => xunit::parse_testng(reader).map(Parsed::Test),
        Format::VisualStudioTrx => xunit::parse_trx(reader).map(Parsed::Test),
        Format::CloverXml => coverage_xml::parse_clover(reader).map(Parsed::Coverage),
        Format::CoberturaXml => coverage_xml::parse_cobertura(reader).map(Parsed::Coverage),
        Format::JacocoXml => coverage_xml::parse_jacoco(reader).map(Parsed::Coverage),
        Format::SimpleCov => coverage_text::parse_simplecov(reader).map(Parsed::Coverage),
        Format::LcovInfo => coverage_text::parse_lcov(reader).map(Parsed::Coverage),
    }
}

/// A report group being read, file by file.
#[derive(Debug)]
pub struct GroupParse {
    group: String,
    format: Format,
    files: Vec<String>,
    tests: TestTally,
    coverage: CoverageTally,
    read: usize,
    warnings: Vec<String>,
    /// The first file CodeBuild would refuse, with its error text.
    pub rejected: Option<String>,
}

impl GroupParse {
    #[must_use]
    pub fn new(group: &str, format: Format) -> Self {
        Self {
            group: group.to_owned(),
            format,
            files: Vec::new(),
            tests: TestTally::default(),
            coverage: CoverageTally::default(),
            read: 0,
            warnings: Vec::new(),
            rejected: None,
        }
    }

    /// Reads one raw file (`name` as the report lists it).
    pub fn add<R: BufRead>(&mut self, name: &str, reader: R) {
        self.files.push(name.to_owned());
        match parse_file(self.format, reader) {
            Ok(Parsed::Test(t)) => {
                if t.negative && self.rejected.is_none() {
                    self.rejected = Some(NEGATIVE_COUNT.to_owned());
                    self.warnings.push(format!("{name}: {NEGATIVE_COUNT}"));
                }
                self.read += 1;
                self.tests.add(t);
            }
            Ok(Parsed::Coverage(c)) => {
                self.read += 1;
                self.coverage.merge(c);
            }
            Err(e) => self.warnings.push(format!("{name}:{}: {}", e.line, e.why)),
        }
    }

    /// A file that could not be read at all (IO, not content).
    pub fn unreadable(&mut self, name: &str, why: &str) {
        self.files.push(name.to_owned());
        self.warnings.push(format!("{name}: {why}"));
    }

    /// The group's report. Status: `INCOMPLETE` when no file matched, none could be read, or
    /// CodeBuild would refuse one; else a test report is `FAILED` when a case failed or
    /// errored, and `SUCCEEDED` otherwise.
    #[must_use]
    pub fn finish(mut self) -> TestReport {
        if self.files.is_empty() {
            self.warnings
                .push("no matching report paths found".to_owned());
        }
        let body = if self.format.is_coverage() {
            ReportBody::Coverage(self.coverage.summary())
        } else {
            ReportBody::Test(self.tests.summary())
        };
        let status = match &body {
            _ if self.read == 0 || self.rejected.is_some() => ReportStatus::Incomplete,
            ReportBody::Test(t) if t.failed + t.errors > 0 => ReportStatus::Failed,
            _ => ReportStatus::Succeeded,
        };
        TestReport {
            group: self.group,
            format: self.format.as_str().to_owned(),
            status,
            files: self.files,
            body,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests;
