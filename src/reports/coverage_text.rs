//! The text coverage formats: SIMPLECOV (simplecov's own JSON: `coverage` maps each file to
//! its `lines`, one slot per source line: `null` not executable, `0` missed, `n` hit; an
//! optional `branches`) and LCOVINFO (LCOV's tracefile: `SF:`, `DA:`, `BRDA:`, `LF/LH`,
//! `BRF/BRH`, `end_of_record`).

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::FileError;
use super::tally::{CoverageTally, FileCoverage};

#[derive(Deserialize)]
struct SimpleCov {
    coverage: BTreeMap<String, SimpleEntry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SimpleEntry {
    /// `{"lines": [...], "branches": [...]}` (simplecov ≥ 0.18).
    Lines {
        lines: Vec<Option<IgnoredNumber>>,
        #[serde(default)]
        branches: Option<Vec<SimpleBranch>>,
    },
    /// The bare array of older versions.
    Legacy(Vec<Option<IgnoredNumber>>),
}

/// A hit count, or a string such as `"ignored"` (nocov lines), which is not executable.
#[derive(Deserialize)]
#[serde(untagged)]
enum IgnoredNumber {
    Hits(f64),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct SimpleBranch {
    #[serde(default)]
    coverage: Option<IgnoredNumber>,
}

fn hit(n: Option<&IgnoredNumber>) -> Option<bool> {
    match n {
        Some(IgnoredNumber::Hits(h)) => Some(*h > 0.0),
        _ => None,
    }
}

/// Reads one `SimpleCov` JSON file (`{"coverage": {...}}`).
pub fn parse_simplecov<R: BufRead>(reader: R) -> Result<CoverageTally, FileError> {
    let doc: SimpleCov = serde_json::from_reader(reader).map_err(|e| FileError {
        line: e.line() as u64,
        why: e.to_string(),
    })?;
    let mut t = CoverageTally::default();
    for (path, f) in doc.coverage {
        let (lines, branches) = match &f {
            SimpleEntry::Lines { lines, branches } => (lines, branches.as_deref().unwrap_or(&[])),
            SimpleEntry::Legacy(lines) => (lines, &[][..]),
        };
        let mut c = FileCoverage::default();
        for slot in lines {
            match hit(slot.as_ref()) {
                Some(true) => c.lines_covered += 1,
                Some(false) => c.lines_missed += 1,
                None => {}
            }
        }
        for b in branches {
            match hit(b.coverage.as_ref()) {
                Some(true) => c.branches_covered += 1,
                Some(false) => c.branches_missed += 1,
                None => {}
            }
        }
        t.add_to(&path, c);
    }
    Ok(t)
}

/// One LCOV record while it is read.
#[derive(Default)]
struct Record {
    path: Option<String>,
    da: FileCoverage,
    brda: FileCoverage,
    lf: Option<u64>,
    lh: Option<u64>,
    brf: Option<u64>,
    brh: Option<u64>,
}

impl Record {
    /// The totals (`LF/LH`, `BRF/BRH`) when given, else counted from `DA`/`BRDA`.
    fn coverage(&self) -> FileCoverage {
        let (lc, lm) = match (self.lf, self.lh) {
            (Some(f), Some(h)) => (h.min(f), f - h.min(f)),
            _ => (self.da.lines_covered, self.da.lines_missed),
        };
        let (bc, bm) = match (self.brf, self.brh) {
            (Some(f), Some(h)) => (h.min(f), f - h.min(f)),
            _ => (self.brda.branches_covered, self.brda.branches_missed),
        };
        FileCoverage {
            lines_covered: lc,
            lines_missed: lm,
            branches_covered: bc,
            branches_missed: bm,
        }
    }
}

/// Reads one LCOV tracefile.
pub fn parse_lcov<R: BufRead>(reader: R) -> Result<CoverageTally, FileError> {
    let mut t = CoverageTally::default();
    let mut rec = Record::default();
    for (i, line) in reader.split(b'\n').enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| FileError {
            line: n,
            why: e.to_string(),
        })?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        let bad = |what: &str| FileError {
            line: n,
            why: format!("bad {what} line `{}`", super::tally::cut(line, 80)),
        };
        if line == "end_of_record" {
            let path = rec
                .path
                .take()
                .ok_or_else(|| bad("end_of_record (no SF:)"))?;
            t.add_to(&path, rec.coverage());
            rec = Record::default();
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            if line.is_empty() {
                continue;
            }
            return Err(bad("LCOV"));
        };
        let num = |v: &str| v.trim().parse::<u64>().map_err(|_| bad(key));
        match key {
            "SF" => rec.path = Some(value.to_owned()),
            "DA" => {
                let hits = value.split(',').nth(1).ok_or_else(|| bad("DA"))?;
                // Some tools write hit counts as floats or negative numbers: anything not
                // positive is a miss.
                if hits.trim().parse::<f64>().map_err(|_| bad("DA"))? > 0.0 {
                    rec.da.lines_covered += 1;
                } else {
                    rec.da.lines_missed += 1;
                }
            }
            "BRDA" => match value.rsplit(',').next().map(str::trim) {
                Some("-" | "0") => rec.brda.branches_missed += 1,
                Some(_) => rec.brda.branches_covered += 1,
                None => return Err(bad("BRDA")),
            },
            "LF" => rec.lf = Some(num(value)?),
            "LH" => rec.lh = Some(num(value)?),
            "BRF" => rec.brf = Some(num(value)?),
            "BRH" => rec.brh = Some(num(value)?),
            // TN, FN, FNDA, FNF, FNH, VER, ...: not kept by CodeBuild.
            _ => {}
        }
    }
    if let Some(path) = rec.path.take() {
        // A last record without `end_of_record`: counted, as genhtml does.
        t.add_to(&path, rec.coverage());
    }
    Ok(t)
}
