//! The shared domain model: what a build is, independent of where it runs.
//!
//! Both backends (local Docker and cloud CodeBuild) describe builds with these types, the
//! headless printers and the TUI read them, and the history database stores them. Nothing
//! here does IO or knows about tokio, bollard, the AWS SDK or ratatui: that is what lets the
//! engine and the dashboard be built and tested apart.

mod batch;
mod cache_report;
mod diagnosis;
mod docker;
mod event;
mod phase;
mod regression;
mod report;

pub use batch::{BatchId, BatchKind, BatchMember, BatchNode, BatchResult, NodeStatus};
pub use cache_report::{
    Builder, CacheReport, CacheStep, FirstMiss, LogInputs, MissKind, MissReason, StepState,
};
pub use diagnosis::Diagnosis;
pub use docker::DockerAccess;
pub use event::{
    BackendKind, BuildEvent, BuildId, BuildOutcome, CacheLookup, LogLine, LogStream, NoticeLevel,
};
pub use phase::{PhaseContext, PhaseKind, Status, StatusCode};
pub use regression::{Regression, RegressionKind};
pub use report::{
    CaseStatus, CoverageSummary, MAX_FAILED_CASES, ReportBody, ReportStatus, TestCase, TestReport,
    TestSummary,
};
