//! `Diagnosis`: a known way a build fails, recognised in its log by [`crate::diagnose`], with
//! the line that gave it away, why it happens and how to fix it. The headless printers show it
//! with [`Diagnosis::to_ndjson`] and [`Diagnosis::summary_lines`]; the dashboard marks its
//! phase in the timeline and explains it in an overlay.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event::BuildId;
use super::phase::PhaseKind;

/// One finding: a rule of the diagnosis table matched a line of the build's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The phase the evidence line belongs to (`None` when the log had not said yet).
    pub phase: Option<PhaseKind>,
    /// The rule's id, for example `docker-daemon`.
    pub rule: String,
    /// The evidence: the log line as it appears in the log (secrets already masked),
    /// with escape sequences removed.
    pub line: String,
    /// Why the build failed, in a sentence or two.
    pub cause: String,
    /// What to change, naming the setting.
    pub fix: String,
    /// The AWS or Docker documentation page that explains it.
    pub docs: String,
}

impl Diagnosis {
    /// The NDJSON line (`{"type":"diagnosis",...}`).
    #[must_use]
    pub fn to_ndjson(&self, build_id: &BuildId) -> serde_json::Value {
        json!({
            "type": "diagnosis",
            "build_id": build_id.as_str(),
            "phase": self.phase,
            "rule": self.rule,
            "line": self.line,
            "cause": self.cause,
            "fix": self.fix,
            "docs": self.docs,
        })
    }

    /// The phase's API name, or `-` when unknown.
    #[must_use]
    pub fn phase_name(&self) -> &'static str {
        self.phase.map_or("-", PhaseKind::as_str)
    }

    /// The lines the plain summary prints for this finding:
    /// `BUILD docker-daemon`, then the evidence, the cause, the fix and the docs, indented.
    #[must_use]
    pub fn summary_lines(&self) -> Vec<String> {
        vec![
            format!("{} {}", self.phase_name(), self.rule),
            format!("  line:  {}", self.line),
            format!("  cause: {}", self.cause),
            format!("  fix:   {}", self.fix),
            format!("  docs:  {}", self.docs),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Diagnosis {
        Diagnosis {
            phase: Some(PhaseKind::Build),
            rule: "docker-daemon".into(),
            line: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.".into(),
            cause: "no daemon".into(),
            fix: "privilegedMode".into(),
            docs: "https://docs.aws.amazon.com/codebuild/latest/userguide/troubleshooting.html"
                .into(),
        }
    }

    #[test]
    fn ndjson_has_the_documented_fields() {
        let v = sample().to_ndjson(&BuildId("p:1".into()));
        assert_eq!(v["type"], "diagnosis");
        assert_eq!(v["build_id"], "p:1");
        assert_eq!(v["phase"], "BUILD");
        assert_eq!(v["rule"], "docker-daemon");
        for key in ["line", "cause", "fix", "docs"] {
            assert!(v[key].is_string(), "{key}");
        }
    }

    #[test]
    fn summary_names_phase_and_rule_first() {
        let lines = sample().summary_lines();
        assert_eq!(lines[0], "BUILD docker-daemon");
        assert!(lines[3].contains("privilegedMode"));
        let none = Diagnosis {
            phase: None,
            ..sample()
        };
        assert_eq!(none.summary_lines()[0], "- docker-daemon");
    }
}
