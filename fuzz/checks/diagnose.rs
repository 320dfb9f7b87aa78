//! The `diagnose` fuzz target's property, shared with the seed replay of the test suite
//! (`tests/fuzz_seeds.rs`). The failure diagnosis (`cbdash::diagnose::DiagnosisTap`) reads
//! untrusted build logs: any bytes, split into lines (those starting with `[Container]` marked
//! as the agent's, as the engines do), sent in batches whose size the first byte picks, then a
//! phase end and the build's end with a status the first byte picks too. No panic, each rule at
//! most once, and every finding comes back as a `Diagnosis` event of this build.

use cbdash::diagnose::DiagnosisTap;
use cbdash::model::{BuildEvent, BuildId, LogLine, PhaseContext, PhaseKind, Status};

/// Panics when `data` breaks the property.
pub fn check(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let id = BuildId("fuzz:1".into());
    let lines: Vec<LogLine> = text
        .split('\n')
        .map(|t| LogLine::from_log(Some(PhaseKind::Build), t))
        .collect();
    let mut tap = DiagnosisTap::builtin().expect("the embedded rules compile");
    let mut out = Vec::new();
    for chunk in lines.chunks(usize::from(pick % 16) + 1) {
        out.extend(tap.observe(BuildEvent::Logs {
            build_id: id.clone(),
            lines: chunk.to_vec(),
        }));
    }
    let status = if pick & 0x80 == 0 {
        Status::Failed
    } else {
        Status::Succeeded
    };
    out.extend(tap.observe(BuildEvent::PhaseFinished {
        build_id: id.clone(),
        phase: PhaseKind::Build,
        attempt: 1,
        status,
        duration_ms: 1,
        context: PhaseContext::default(),
        at: chrono::DateTime::default(),
    }));
    out.extend(tap.observe(BuildEvent::Finished {
        build_id: id.clone(),
        status,
        duration_ms: 1,
        at: chrono::DateTime::default(),
        exported_variables: std::collections::BTreeMap::new(),
    }));
    let mut rules: Vec<&str> = out
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Diagnosis {
                build_id,
                diagnosis,
            } => {
                assert_eq!(build_id, &id);
                Some(diagnosis.rule.as_str())
            }
            _ => None,
        })
        .collect();
    let n = rules.len();
    rules.sort_unstable();
    rules.dedup();
    assert_eq!(rules.len(), n, "a rule fired twice");
}
