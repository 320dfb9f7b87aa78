//! Cloud test and coverage reports on the scripted endpoint (moto does not implement the
//! report APIs): a followed build's reports read when it ends (summaries, FAILED then ERROR
//! cases paged, coverage files paged, a throttle and a GENERATING report waited out), and
//! `cbdash cloud reports` for a build and for a report group's trends, as a user runs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cbdash::engine::EventSink;
use cbdash::engine::cloud::follow::follow_build;
use cbdash::model::{BackendKind, BuildEvent, BuildId, CaseStatus, ReportBody, Status};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cloud_cli::cbdash;
use crate::cloud_fake::{FakeAws, Reply, Req, build, phase};
use crate::cloud_scripted::{clients_for, fast, log_page};

pub const ID: &str = "demo:11111111-2222-3333-4444-555555555555";
const TEST_ARN: &str = "arn:aws:codebuild:us-east-1:123456789012:report/demo-unit:aaaa";
const COV_ARN: &str = "arn:aws:codebuild:us-east-1:123456789012:report/demo-cov:bbbb";
const GROUP_ARN: &str = "arn:aws:codebuild:us-east-1:123456789012:report-group/demo-unit";

/// The build, finished (FAILED in BUILD) with its two reports.
fn finished_build() -> Value {
    let mut b = phase("BUILD", Some("FAILED"), 5.0, Some(9.0));
    b["contexts"] = json!([{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "exit status 1"}]);
    let phases = vec![
        phase("SUBMITTED", Some("SUCCEEDED"), 0.0, Some(1.0)),
        b,
        phase("UPLOAD_ARTIFACTS", Some("SUCCEEDED"), 9.0, Some(10.0)),
        json!({"phaseType": "COMPLETED", "startTime": 10.0}),
    ];
    let mut v = build(ID, "FAILED", phases, Some(("/aws/codebuild/demo", "s")));
    v["reportArns"] = json!([TEST_ARN, COV_ARN]);
    v
}

fn test_report(status: &str) -> Value {
    json!({"arn": TEST_ARN, "type": "TEST", "name": "demo-unit", "reportGroupArn": GROUP_ARN,
        "executionId": format!("arn:aws:codebuild:us-east-1:123456789012:build/{ID}"),
        "status": status, "created": 1_700_000_050.0, "truncated": false,
        "testSummary": {"total": 6, "durationInNanoSeconds": 1_250_000_000_i64,
            "statusCounts": {"SUCCEEDED": 2, "FAILED": 2, "ERROR": 1, "SKIPPED": 1, "UNKNOWN": 0}}})
}

fn coverage_report() -> Value {
    json!({"arn": COV_ARN, "type": "CODE_COVERAGE", "name": "demo-cov",
        "reportGroupArn": "arn:aws:codebuild:us-east-1:123456789012:report-group/demo-cov",
        "status": "SUCCEEDED", "created": 1_700_000_050.0,
        "codeCoverageSummary": {"lineCoveragePercentage": 84.5, "linesCovered": 169,
            "linesMissed": 31, "branchCoveragePercentage": 62.5, "branchesCovered": 10,
            "branchesMissed": 6}})
}

fn case(name: &str, status: &str, message: &str) -> Value {
    json!({"reportArn": TEST_ARN, "prefix": "calc.Tests", "name": name, "status": status,
        "durationInNanoSeconds": 3_000_000, "message": message,
        "testRawDataPath": "reports/junit.xml", "testSuiteName": "calc"})
}

/// `DescribeTestCases`: FAILED in two pages, ERROR in one.
fn test_cases(body: &Value) -> Reply {
    let status = body["filter"]["status"].as_str().unwrap_or_default();
    match (status, body["nextToken"].as_str()) {
        ("FAILED", None) => Reply::ok(json!({"testCases": [
            case("adds", "FAILED", "expected 4\nreceived 5\n\u{1b}]0;pwned\u{7}")],
            "nextToken": "p2"})),
        ("FAILED", Some("p2")) => {
            Reply::ok(json!({"testCases": [case("divides", "FAILED", "division by zero")]}))
        }
        ("ERROR", None) => Reply::ok(
            json!({"testCases": [case("calc.Tests.loads", "ERROR", "No arguments were provided")]}),
        ),
        _ => Reply::error(400, "InvalidInputException", "unexpected filter"),
    }
}

/// `DescribeCodeCoverages`: 3 files in two pages.
fn coverages(body: &Value) -> Reply {
    let file = |p: &str| json!({"id": p, "reportARN": COV_ARN, "filePath": p, "lineCoveragePercentage": 80.0});
    match body["nextToken"].as_str() {
        None => {
            Reply::ok(json!({"codeCoverages": [file("a.rs"), file("b.rs")], "nextToken": "c2"}))
        }
        _ => Reply::ok(json!({"codeCoverages": [file("c.rs")]})),
    }
}

/// The scripted world: the first `BatchGetReports` is throttled, the second says the test
/// report is still GENERATING, the rest say FAILED.
pub fn endpoint() -> impl Fn(&Req) -> Reply + Send + Sync + 'static {
    let reports = Arc::new(AtomicUsize::new(0));
    move |r: &Req| match r.op.as_str() {
        "BatchGetBuilds" => Reply::ok(json!({"builds": [finished_build()], "buildsNotFound": []})),
        "GetLogEvents" => log_page(&r.body),
        "BatchGetReports" => match reports.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::error(400, "ThrottlingException", "Rate exceeded"),
            1 => Reply::ok(json!({"reports": [test_report("GENERATING"), coverage_report()]})),
            _ => Reply::ok(json!({"reports": [test_report("FAILED"), coverage_report()]})),
        },
        "DescribeTestCases" => test_cases(&r.body),
        "DescribeCodeCoverages" => coverages(&r.body),
        "BatchGetReportGroups" => Reply::ok(json!({"reportGroups": [
            {"arn": GROUP_ARN, "name": "demo-unit", "type": "TEST"}], "reportGroupsNotFound": []})),
        "GetReportGroupTrend" => trend(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    }
}

fn trend(body: &Value) -> Reply {
    let (avg, vals) = match body["trendField"].as_str().unwrap_or_default() {
        "PASS_RATE" => ("75.0", ["50.0", "100.0"]),
        "DURATION" => ("1100", ["1250", "950"]),
        _ => ("6", ["6", "6"]),
    };
    Reply::ok(
        json!({"stats": {"average": avg, "min": vals[1].min(vals[0]), "max": vals[0].max(vals[1])},
        "rawData": [{"reportArn": TEST_ARN, "data": vals[0]},
                    {"reportArn": "arn:aws:codebuild:us-east-1:123456789012:report/demo-unit:older", "data": vals[1]}]}),
    )
}

#[tokio::test]
async fn a_followed_build_emits_its_cloud_reports_before_it_ends() {
    let fake = FakeAws::start(endpoint()).await;
    let clients = clients_for(&fake, "us-east-1").await;
    let (sink, mut rx) = EventSink::channel(16);
    let collect = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let outcome = follow_build(
        &clients,
        BuildId(ID.into()),
        &fast(),
        sink,
        CancellationToken::new(),
    )
    .await
    .expect("follow");
    let events = collect.await.expect("join");
    assert_eq!(outcome.status, Status::Failed);
    let reports: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Report {
                backend, report, ..
            } => Some((*backend, report.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 2, "one event per report group: {events:?}");
    assert!(reports.iter().all(|(b, _)| *b == BackendKind::Cloud));
    let last = events
        .iter()
        .rposition(|e| matches!(e, BuildEvent::Report { .. }));
    assert!(
        matches!(events.last(), Some(BuildEvent::Finished { .. })) && last < Some(events.len() - 1),
        "the reports come before the end"
    );
    let (_, unit) = &reports[0];
    assert_eq!(
        (unit.group.as_str(), unit.format.as_str()),
        ("demo-unit", "TEST")
    );
    assert_eq!(
        unit.status.as_str(),
        "FAILED",
        "the GENERATING report was asked again"
    );
    let ReportBody::Test(t) = &unit.body else {
        panic!("a test report: {unit:?}")
    };
    assert_eq!(
        (t.tests, t.passed, t.failed, t.errors, t.skipped),
        (6, 2, 2, 1, 1)
    );
    assert_eq!(t.duration_ms, 1250);
    let names: Vec<(&str, CaseStatus)> = t
        .failed_cases
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        names,
        [
            ("adds", CaseStatus::Failed),
            ("divides", CaseStatus::Failed),
            ("calc.Tests.loads", CaseStatus::Error)
        ],
        "FAILED first (both pages), then ERROR"
    );
    assert_eq!(t.failed_more, 0);
    assert_eq!(t.failed_cases[0].duration_ms, Some(3));
    let (_, cov) = &reports[1];
    let ReportBody::Coverage(c) = &cov.body else {
        panic!("a coverage report: {cov:?}")
    };
    assert_eq!((c.lines_covered, c.lines_missed, c.files), (169, 31, 3));
    assert_eq!(c.branch_pct, Some(62.5));
    // The calls: a throttle retried, a GENERATING report asked again, two pages of FAILED.
    assert_eq!(fake.count("BatchGetReports"), 3);
    assert_eq!(fake.count("DescribeTestCases"), 3);
    assert_eq!(fake.count("DescribeCodeCoverages"), 2);
    let filters: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|(op, _)| op == "DescribeTestCases")
        .map(|(_, b)| {
            b["filter"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(filters, ["FAILED", "FAILED", "ERROR"]);
}

#[tokio::test]
async fn a_build_whose_reports_cannot_be_read_still_ends_with_a_warning() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "BatchGetBuilds" => Reply::ok(json!({"builds": [finished_build()]})),
        "GetLogEvents" => log_page(&r.body),
        _ => Reply::error(
            400,
            "AccessDeniedException",
            "not authorized to perform codebuild:BatchGetReports",
        ),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let (sink, mut rx) = EventSink::channel(16);
    let collect = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let outcome = follow_build(
        &clients,
        BuildId(ID.into()),
        &fast(),
        sink,
        CancellationToken::new(),
    )
    .await
    .expect("the build is still followed to its end");
    let events = collect.await.expect("join");
    assert_eq!(outcome.status, Status::Failed);
    let warning = events.iter().find_map(|e| match e {
        BuildEvent::Notice { message, .. } if message.contains("reports") => Some(message.clone()),
        _ => None,
    });
    assert!(
        warning
            .as_deref()
            .is_some_and(|m| m.contains("access denied")),
        "{warning:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, BuildEvent::Report { .. }))
    );
}

#[tokio::test]
async fn cloud_reports_prints_the_ndjson_report_lines() {
    let fake = FakeAws::start(endpoint()).await;
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "reports", ID, "--json"]).await;
    assert_eq!(code, 1, "a FAILED report exits 1; stderr: {stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let unit = &lines[0];
    assert_eq!(
        (
            &unit["type"],
            &unit["backend"],
            &unit["kind"],
            &unit["build_id"]
        ),
        (
            &json!("report"),
            &json!("cloud"),
            &json!("test"),
            &json!(ID)
        )
    );
    assert_eq!(
        (&unit["failed"], &unit["errors"], &unit["failures"]),
        (&json!(2), &json!(1), &json!(3))
    );
    assert_eq!(
        unit["failed_cases"][0]["message"], "expected 4\nreceived 5\n\u{1b}]0;pwned\u{7}",
        "JSON keeps the raw text, escaped"
    );
    assert_eq!(lines[1]["kind"], "coverage");
    assert_eq!(lines[1]["line_pct"], 84.5);
    assert_eq!(lines[1]["files_covered"], 3);
}

#[tokio::test]
async fn cloud_reports_plain_lists_groups_and_failed_cases_sanitized() {
    let fake = FakeAws::start(endpoint()).await;
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "reports", ID]).await;
    assert_eq!(code, 1, "{stderr}");
    // The same lines as a run's summary under `Reports` (headless::plain_reports::lines).
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "demo-unit (TEST) FAILED: 6 tests, 2 passed, 2 failed, 1 error, 1 skipped, 1.2s",
            "  FAILED  calc.Tests.adds: expected 4",
            "  FAILED  calc.Tests.divides: division by zero",
            "  ERROR   calc.Tests.loads: No arguments were provided",
            "demo-cov (CODE_COVERAGE) SUCCEEDED: lines 84.5% (169/200), branches 62.5% (10/16), 3 files",
        ],
        "{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "control characters are dropped"
    );
}

#[tokio::test]
async fn cloud_reports_of_a_group_prints_its_trends() {
    let fake = FakeAws::start(endpoint()).await;
    let (code, stdout, stderr) =
        cbdash(&fake, &["cloud", "reports", "--group", GROUP_ARN, "--json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let fields: Vec<&str> = lines.iter().filter_map(|l| l["field"].as_str()).collect();
    assert_eq!(
        fields,
        ["PASS_RATE", "DURATION", "TOTAL"],
        "a test group's fields"
    );
    assert_eq!(lines[0]["type"], "report_trend");
    assert_eq!(lines[0]["average"], "75.0");
    assert_eq!(lines[0]["reports"][0]["value"], "50.0");
    let asked: Vec<(String, Value)> = fake
        .calls()
        .into_iter()
        .filter(|(op, _)| op == "GetReportGroupTrend")
        .collect();
    assert_eq!(asked.len(), 3);
    assert_eq!(asked[0].1["reportGroupArn"], GROUP_ARN);
    assert_eq!(asked[0].1["numOfReports"], 10);
    let (code, plain, _) = cbdash(
        &fake,
        &["cloud", "reports", "--group", GROUP_ARN, "--last", "2"],
    )
    .await;
    assert_eq!(code, 0);
    let row = plain
        .lines()
        .find(|l| l.starts_with("PASS_RATE"))
        .expect("a row per field");
    assert!(row.contains("75.0") && row.ends_with("50.0 100.0"), "{row}");
    let (code, _, stderr) = cbdash(&fake, &["cloud", "reports"]).await;
    assert_eq!(
        code, 2,
        "neither a build nor a group is a usage error: {stderr}"
    );
}
