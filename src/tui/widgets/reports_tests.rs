//! The Reports panel's rows, cell by cell (styles included).

use super::*;
use crate::model::{ReportStatus, TestCase};
use ratatui::style::Color;

fn unit(passed: u64, failed: u64, skipped: u64) -> TestReport {
    TestReport {
        group: "unit".into(),
        format: "JUNITXML".into(),
        status: if failed > 0 {
            ReportStatus::Failed
        } else {
            ReportStatus::Succeeded
        },
        files: vec![],
        body: ReportBody::Test(TestSummary {
            tests: passed + failed + skipped,
            passed,
            failed,
            skipped,
            errors: 0,
            duration_ms: 1500,
            failed_cases: vec![],
            failed_more: 0,
        }),
        warnings: vec![],
    }
}

fn row(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_owned())
        .collect()
}

fn draw(w: impl Widget, width: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
    w.render(buf.area, &mut buf);
    buf
}

#[test]
fn a_test_report_is_a_bar_of_passed_failed_and_skipped() {
    let theme = Theme::default();
    let r = unit(6, 2, 2);
    let buf = draw(
        ReportBar {
            report: &r,
            theme: &theme,
        },
        80,
    );
    let text = row(&buf, 0);
    assert!(text.starts_with(" unit "), "{text}");
    assert!(
        text.trim_end()
            .ends_with("6 passed 2 failed 2 skipped 1.5s"),
        "{text}"
    );
    // The bar: 60% green, 20% red, 20% dim, in that order, filling its width.
    let bar: Vec<(u16, Color)> = (0..80)
        .filter(|x| buf[(*x, 0)].symbol() == "█")
        .map(|x| (x, buf[(x, 0)].fg))
        .collect();
    let colors: Vec<Color> = bar.iter().map(|(_, c)| *c).collect();
    let green = colors.iter().filter(|c| **c == Color::Green).count();
    let red = colors.iter().filter(|c| **c == Color::Red).count();
    let gray = colors.iter().filter(|c| **c == Color::DarkGray).count();
    assert_eq!(green + red + gray, bar.len());
    assert_eq!(
        shares(&[6, 2, 2], 28),
        [17, 6, 5],
        "largest remainders first"
    );
    let cells = |n| u64::try_from(n).expect("cells");
    let w = shares(&[6, 2, 2], cells(bar.len()));
    assert_eq!([cells(green), cells(red), cells(gray)], [w[0], w[1], w[2]]);
    assert!(colors.windows(2).all(|w| w[0] == w[1]
        || (w[0], w[1]) == (Color::Green, Color::Red)
        || (w[0], w[1]) == (Color::Red, Color::DarkGray)));
    // The name is red: the report failed.
    assert_eq!(buf[(1, 0)].fg, Color::Red);
    let at = text.find("2 failed").expect("the count");
    let x = u16::try_from(text[..at].chars().count()).expect("x");
    assert_eq!(buf[(x, 0)].fg, Color::Red);
}

#[test]
fn one_failure_among_thousands_still_shows() {
    let theme = Theme::default();
    let r = unit(5000, 1, 0);
    let buf = draw(
        ReportBar {
            report: &r,
            theme: &theme,
        },
        60,
    );
    let red = (0..60)
        .filter(|x| buf[(*x, 0)].symbol() == "█" && buf[(*x, 0)].fg == Color::Red)
        .count();
    assert_eq!(red, 1);
}

#[test]
fn a_coverage_report_is_a_gauge_of_covered_lines() {
    let theme = Theme::default();
    let r = TestReport {
        group: "coverage".into(),
        format: "COBERTURAXML".into(),
        status: ReportStatus::Succeeded,
        files: vec![],
        body: ReportBody::Coverage(CoverageSummary {
            line_pct: 75.0,
            branch_pct: Some(50.0),
            ..CoverageSummary::default()
        }),
        warnings: vec![],
    };
    let buf = draw(
        ReportBar {
            report: &r,
            theme: &theme,
        },
        80,
    );
    let text = row(&buf, 0);
    assert!(
        text.trim_end().ends_with("75.0% lines 50.0% branches"),
        "{text}"
    );
    let cyan = (0..80)
        .filter(|x| buf[(*x, 0)].symbol() == "█" && buf[(*x, 0)].fg == Color::Cyan)
        .count();
    let dim = (0..80)
        .filter(|x| buf[(*x, 0)].symbol() == "█" && buf[(*x, 0)].fg == Color::DarkGray)
        .count();
    assert_eq!(
        cyan + dim,
        34,
        "the bar fills what the name and label leave"
    );
    assert_eq!((cyan, dim), (26, 8), "75% of 34 cells, rounded");
    assert_eq!(buf[(1, 0)].fg, Color::Green);
}

#[test]
fn a_case_row_is_sanitized_and_reversed_when_selected() {
    let theme = Theme::default();
    let c = TestCase {
        name: "adds\u{1b}]0;pwned\u{7}".into(),
        prefix: "calc".into(),
        status: CaseStatus::Failed,
        message: Some("\nexpected 4\u{1b}[2J\nreceived 5".into()),
        duration_ms: None,
    };
    let buf = draw(
        CaseRow {
            group: "unit",
            case: &c,
            theme: &theme,
            selected: true,
        },
        60,
    );
    let text = row(&buf, 0);
    assert!(
        text.starts_with("  ✘ unit calc › adds  expected 4"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}') && !text.contains("]0;"), "{text}");
    assert_eq!(buf[(2, 0)].fg, Color::Red);
    assert!(buf[(2, 0)].modifier.contains(Modifier::REVERSED));
    let plain = draw(
        CaseRow {
            group: "unit",
            case: &c,
            theme: &theme,
            selected: false,
        },
        60,
    );
    assert!(!plain[(2, 0)].modifier.contains(Modifier::REVERSED));
}
