//! The JUnit summary of a report group's files: test, failure and skip counts, read by hand
//! (reports are untrusted input; a malformed one counts as zero).

/// Test counts of a JUnit XML report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JunitSummary {
    pub tests: u64,
    pub failures: u64,
    pub skipped: u64,
}

/// Sums the `tests`, `failures` + `errors` and `skipped` attributes of every `<testsuite>`;
/// without suites, counts `<testcase>` elements.
#[must_use]
pub fn junit_summary(xml: &str) -> JunitSummary {
    let mut s = JunitSummary::default();
    let mut suites = 0;
    for tag in xml.split("<testsuite").skip(1) {
        if tag.starts_with('s') {
            continue; // <testsuites>
        }
        suites += 1;
        let head = tag.split('>').next().unwrap_or("");
        s.tests += attr(head, "tests");
        s.failures += attr(head, "failures") + attr(head, "errors");
        s.skipped += attr(head, "skipped");
    }
    if suites == 0 {
        s.tests = xml.matches("<testcase").count() as u64;
        s.failures = xml.matches("<failure").count() as u64 + xml.matches("<error").count() as u64;
        s.skipped = xml.matches("<skipped").count() as u64;
    }
    s
}

fn attr(head: &str, name: &str) -> u64 {
    let pat = format!(" {name}=");
    head.find(&pat)
        .and_then(|i| {
            let rest = &head[i + pat.len()..];
            let q = rest.chars().next()?;
            rest[1..].split(q).next()?.trim().parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_sums_suites() {
        let xml = r#"<?xml version="1.0"?><testsuites tests="9"><testsuite name="a" tests="3" failures="1" errors="1" skipped="0"><testcase/></testsuite><testsuite name='b' tests='2' skipped='1'></testsuite></testsuites>"#;
        assert_eq!(
            junit_summary(xml),
            JunitSummary {
                tests: 5,
                failures: 2,
                skipped: 1
            }
        );
        assert_eq!(junit_summary("not xml at all").tests, 0);
        assert_eq!(
            junit_summary("<testcase/><testcase><failure/></testcase>").failures,
            1
        );
    }
}
