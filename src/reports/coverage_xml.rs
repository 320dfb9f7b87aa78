//! The XML coverage formats, each to lines and branches per source file:
//! CLOVERXML (`<file name path>` → its own `<metrics statements coveredstatements
//! conditionals coveredconditionals>`), COBERTURAXML (`<class filename>` → `<lines>` →
//! `<line hits branch condition-coverage="50% (1/2)">`, classes of one file added up; the
//! copies of the lines under `<methods>` are skipped) and JACOCOXML (`<package name>` →
//! `<sourcefile name>` → `<counter type="LINE|BRANCH" missed covered>`).

use std::io::BufRead;

use quick_xml::events::BytesStart;

use super::FileError;
use super::tally::{CoverageTally, FileCoverage};
use super::xml::{Ev, Pull, attr, attr_is, bad_root, name, num, with_attr};

/// Reads a Clover XML file.
pub fn parse_clover<R: BufRead>(reader: R) -> Result<CoverageTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = CoverageTally::default();
    // The open `<file>`'s path and depth.
    let mut file: Option<(String, usize)> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, &["coverage"]) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), &file) {
                    ("file", None) => {
                        let path = attr(&e, "path").or_else(|| attr(&e, "name"));
                        file = Some((path.unwrap_or_default(), d));
                    }
                    // Only the file's own metrics (not those of its classes).
                    ("metrics", Some((path, fd))) if d == fd + 1 => {
                        t.add_to(path, clover_metrics(&e));
                    }
                    _ => {}
                }
            }
            Ev::End => {
                if file.as_ref().is_some_and(|(_, fd)| *fd == depth) {
                    file = None;
                }
                depth = depth.saturating_sub(1);
            }
            Ev::Text(_) | Ev::Other => {}
        }
    }
    Ok(t)
}

fn clover_metrics(e: &BytesStart<'_>) -> FileCoverage {
    let n = |k| num(e, k).unwrap_or(0);
    let (st, cst, co, cco) = (
        n("statements"),
        n("coveredstatements"),
        n("conditionals"),
        n("coveredconditionals"),
    );
    FileCoverage {
        lines_covered: cst.min(st),
        lines_missed: st.saturating_sub(cst),
        branches_covered: cco.min(co),
        branches_missed: co.saturating_sub(cco),
    }
}

/// Reads a Cobertura XML file.
pub fn parse_cobertura<R: BufRead>(reader: R) -> Result<CoverageTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = CoverageTally::default();
    // The open `<class>`: its file, depth and numbers so far.
    let mut class: Option<(String, usize, FileCoverage)> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, &["coverage"]) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), class.as_mut()) {
                    ("class", None) => {
                        let file = attr(&e, "filename").or_else(|| attr(&e, "name"));
                        class = Some((file.unwrap_or_default(), d, FileCoverage::default()));
                    }
                    // `<class>` → `<lines>` → `<line>`: the class's own lines.
                    ("line", Some((_, cd, c))) if d == *cd + 2 => cobertura_line(&e, c),
                    _ => {}
                }
            }
            Ev::End => {
                if let Some((file, _, c)) = class.take_if(|(_, cd, _)| *cd == depth) {
                    t.add_to(&file, c);
                }
                depth = depth.saturating_sub(1);
            }
            Ev::Text(_) | Ev::Other => {}
        }
    }
    Ok(t)
}

fn cobertura_line(e: &BytesStart<'_>, c: &mut FileCoverage) {
    // Hit counts can be large or written as floats by some tools.
    let hits: f64 = with_attr(e, "hits", |h| h.trim().parse().ok())
        .flatten()
        .unwrap_or(0.0);
    if hits > 0.0 {
        c.lines_covered += 1;
    } else {
        c.lines_missed += 1;
    }
    if attr_is(e, "branch", "true")
        && let Some((covered, total)) = with_attr(e, "condition-coverage", fraction).flatten()
    {
        c.branches_covered += covered.min(total);
        c.branches_missed += total.saturating_sub(covered);
    }
}

/// `50% (1/2)` → (1, 2).
fn fraction(text: &str) -> Option<(u64, u64)> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let (a, b) = inner.split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Reads a `JaCoCo` XML file.
pub fn parse_jacoco<R: BufRead>(reader: R) -> Result<CoverageTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = CoverageTally::default();
    let mut package = String::new();
    let mut source: Option<(String, usize, FileCoverage)> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, &["report"]) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), source.as_mut()) {
                    ("package", None) => package = attr(&e, "name").unwrap_or_default(),
                    ("sourcefile", None) => {
                        let file = attr(&e, "name").unwrap_or_default();
                        let path = if package.is_empty() {
                            file
                        } else {
                            format!("{package}/{file}")
                        };
                        source = Some((path, d, FileCoverage::default()));
                    }
                    ("counter", Some((_, sd, c))) if d == *sd + 1 => {
                        let (missed, covered) = (
                            num(&e, "missed").unwrap_or(0),
                            num(&e, "covered").unwrap_or(0),
                        );
                        match attr(&e, "type").as_deref() {
                            Some("LINE") => (c.lines_missed, c.lines_covered) = (missed, covered),
                            Some("BRANCH") => {
                                (c.branches_missed, c.branches_covered) = (missed, covered);
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            Ev::End => {
                if let Some((path, _, c)) = source.take_if(|(_, sd, _)| *sd == depth) {
                    t.add_to(&path, c);
                }
                depth = depth.saturating_sub(1);
            }
            Ev::Text(_) | Ev::Other => {}
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn condition_coverage_reads_the_fraction() {
        assert_eq!(super::fraction("50% (1/2)"), Some((1, 2)));
        assert_eq!(super::fraction("100%"), None);
    }
}
