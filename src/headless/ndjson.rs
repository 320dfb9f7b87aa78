//! NDJSON: one JSON object per line, each with a `type`. The schema is documented in the
//! README; later versions add types and fields, never change these.
//!
//! Types: `build_started`, `phase_started`, `log` (one per line), `phase_finished`,
//! `artifacts`, `report`, `notice`, `cache_report`, `cache_key`, `regression`, `diagnosis`,
//! `breakpoint` and `resumed` (a local build paused and going on), `debug_session` (a cloud
//! build's Session Manager target), `build_finished`; for batches `batch_started`, `batch_build` and `batch_finished`, and a
//! child's `build_started` carries `batch_id` and `identifier`.

use serde_json::{Value, json};

use crate::model::{BuildEvent, BuildId, CacheLookup};

/// The JSON objects for one event (a log batch gives one object per line).
#[must_use]
pub fn objects(ev: &BuildEvent) -> Vec<Value> {
    match ev {
        BuildEvent::Started { .. } => vec![started_object(ev)],
        BuildEvent::BatchStarted { .. }
        | BuildEvent::BatchBuild { .. }
        | BuildEvent::BatchFinished { .. } => vec![batch_object(ev)],
        BuildEvent::PhaseStarted {
            build_id,
            phase,
            attempt,
            at,
        } => vec![json!({
            "type": "phase_started", "build_id": build_id, "phase": phase,
            "attempt": attempt, "at": at,
        })],
        BuildEvent::Logs { build_id, lines } => lines
            .iter()
            .map(|l| {
                json!({
                    "type": "log", "build_id": build_id, "phase": l.phase,
                    "stream": l.stream, "line": l.text,
                })
            })
            .collect(),
        BuildEvent::PhaseFinished {
            build_id,
            phase,
            attempt,
            status,
            duration_ms,
            context,
            at,
        } => vec![json!({
            "type": "phase_finished", "build_id": build_id, "phase": phase,
            "attempt": attempt, "status": status, "duration_ms": duration_ms,
            "context": { "status_code": context.status_code, "message": context.message },
            "at": at,
        })],
        BuildEvent::Artifacts {
            build_id,
            dir,
            files,
        } => vec![json!({
            "type": "artifacts", "build_id": build_id,
            "dir": dir.to_string_lossy(), "files": files,
        })],
        BuildEvent::Report {
            build_id,
            backend,
            report,
        } => vec![report.to_ndjson(build_id, *backend)],
        BuildEvent::Notice {
            build_id,
            level,
            message,
        } => vec![json!({
            "type": "notice", "build_id": build_id, "level": level, "message": message,
        })],
        // Live updates are for the dashboard; the stream gets one report per finished build.
        BuildEvent::Cache { build_id, report } if report.finished => {
            vec![report.to_ndjson(build_id)]
        }
        BuildEvent::Cache { .. } => Vec::new(),
        BuildEvent::Regression {
            build_id,
            regression,
        } => vec![regression.to_ndjson(build_id)],
        BuildEvent::Diagnosis {
            build_id,
            diagnosis,
        } => vec![diagnosis.to_ndjson(build_id)],
        BuildEvent::CacheKey {
            build_id,
            key,
            lookup,
        } => vec![cache_key(build_id, key, lookup)],
        BuildEvent::Breakpoint { .. }
        | BuildEvent::Resumed { .. }
        | BuildEvent::DebugSession { .. } => vec![debug_object(ev)],
        BuildEvent::SourceVersion { build_id, version } => vec![json!({
            "type": "source_version", "build_id": build_id, "version": version,
        })],
        BuildEvent::Finished {
            build_id,
            status,
            duration_ms,
            at,
            exported_variables,
        } => vec![json!({
            "type": "build_finished", "build_id": build_id, "status": status,
            "duration_ms": duration_ms, "at": at, "exported_variables": exported_variables,
        })],
    }
}

/// `breakpoint`, `resumed` and `debug_session`.
fn debug_object(ev: &BuildEvent) -> Value {
    match ev {
        BuildEvent::Breakpoint {
            build_id,
            phase,
            command,
            container,
            attach,
            on_failure,
        } => json!({
            "type": "breakpoint", "build_id": build_id, "phase": phase, "command": command,
            "container": container, "attach": attach, "on_failure": on_failure,
        }),
        BuildEvent::Resumed { build_id } => json!({ "type": "resumed", "build_id": build_id }),
        BuildEvent::DebugSession {
            build_id,
            target,
            command,
        } => json!({
            "type": "debug_session", "build_id": build_id, "target": target, "command": command,
        }),
        _ => Value::Null,
    }
}

/// `build_started` (with `batch_id` and `identifier` for a batch's build).
fn started_object(ev: &BuildEvent) -> Value {
    let BuildEvent::Started {
        build_id,
        project,
        backend,
        image,
        docker,
        batch,
        at,
    } = ev
    else {
        return Value::Null;
    };
    let mut o = json!({
        "type": "build_started", "build_id": build_id, "project": project,
        "backend": backend.as_str(), "image": image, "docker": docker, "at": at,
    });
    if let Some(member) = batch {
        o["batch_id"] = json!(member.batch_id);
        o["identifier"] = json!(member.identifier);
    }
    o
}

/// `batch_started`, `batch_build` and `batch_finished`.
fn batch_object(ev: &BuildEvent) -> Value {
    match ev {
        BuildEvent::BatchStarted {
            batch_id,
            project,
            backend,
            kind,
            builds,
            at,
        } => {
            let builds: Vec<Value> = builds
                .iter()
                .map(|n| {
                    json!({
                        "identifier": n.identifier, "depends_on": n.depends_on,
                        "ignore_failure": n.ignore_failure, "label": n.label,
                    })
                })
                .collect();
            json!({
                "type": "batch_started", "batch_id": batch_id, "project": project,
                "backend": backend.as_str(), "kind": kind.as_str(), "builds": builds, "at": at,
            })
        }
        BuildEvent::BatchBuild {
            batch_id,
            identifier,
            build_id,
            status,
            attempt,
            at,
        } => json!({
            "type": "batch_build", "batch_id": batch_id, "identifier": identifier,
            "build_id": build_id, "status": status, "attempt": attempt, "at": at,
        }),
        BuildEvent::BatchFinished {
            batch_id,
            status,
            duration_ms,
            builds,
            at,
        } => json!({
            "type": "batch_finished", "batch_id": batch_id, "status": status,
            "duration_ms": duration_ms, "builds": builds, "at": at,
        }),
        _ => Value::Null,
    }
}

/// A keyed cache's lookup: the key, the result and the key whose content was restored.
fn cache_key(build_id: &BuildId, key: &str, lookup: &CacheLookup) -> Value {
    let restored = match lookup {
        CacheLookup::Hit => Some(key),
        CacheLookup::Fallback { restored_key } => Some(restored_key.as_str()),
        CacheLookup::Miss | CacheLookup::NotRestored => None,
    };
    json!({
        "type": "cache_key", "build_id": build_id, "key": key,
        "result": lookup.as_str(), "restored_key": restored,
    })
}

/// The NDJSON text for one event (each object on its own line, newline-terminated).
#[must_use]
pub fn render(ev: &BuildEvent) -> String {
    let mut s = String::new();
    for o in objects(ev) {
        push_terminal_safe(&mut s, &o.to_string());
        s.push('\n');
    }
    s
}

/// Appends JSON text with DEL and the C1 controls (U+007F–U+009F) written as `\uXXXX`
/// escapes. JSON escapes C0 controls already; C1 ones are valid raw, but a terminal may act
/// on them (U+009B is CSI), and NDJSON is often read on one. The JSON value is unchanged.
fn push_terminal_safe(out: &mut String, json: &str) {
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DockerAccess, LogLine, LogStream, PhaseContext, PhaseKind, Status};

    #[test]
    fn c1_controls_are_escaped_and_the_value_kept() {
        let ev = BuildEvent::Logs {
            build_id: BuildId("p:1".into()),
            lines: vec![LogLine {
                phase: None,
                stream: LogStream::Stdout,
                text: "a\u{9b}2J\u{1b}[H\u{7f}b".into(),
            }],
        };
        let text = render(&ev);
        assert!(text.contains(r"a\u009b2J\u001b[H\u007fb"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        let v: Value = serde_json::from_str(text.trim_end()).expect("json");
        assert_eq!(v["line"], "a\u{9b}2J\u{1b}[H\u{7f}b");
    }

    #[test]
    fn cache_key_names_the_key_result_and_restored_key() {
        let id = BuildId("p:1".into());
        let ev = |lookup| BuildEvent::CacheKey {
            build_id: id.clone(),
            key: "npm-abc".into(),
            lookup,
        };
        let fallback = objects(&ev(CacheLookup::Fallback {
            restored_key: "npm-old".into(),
        }));
        assert_eq!(
            fallback,
            [
                json!({"type": "cache_key", "build_id": "p:1", "key": "npm-abc",
                    "result": "fallback", "restored_key": "npm-old"})
            ]
        );
        assert_eq!(objects(&ev(CacheLookup::Hit))[0]["restored_key"], "npm-abc");
        let miss = &objects(&ev(CacheLookup::Miss))[0];
        assert_eq!(miss["result"], "miss");
        assert!(miss["restored_key"].is_null());
        assert_eq!(
            objects(&ev(CacheLookup::NotRestored))[0]["result"],
            "not_restored"
        );
    }

    #[test]
    fn log_batches_become_one_line_each() {
        let ev = BuildEvent::Logs {
            build_id: BuildId("p:1".into()),
            lines: vec![
                LogLine {
                    phase: Some(PhaseKind::Build),
                    stream: LogStream::Stdout,
                    text: "a\u{1b}[31m\"b".into(),
                },
                LogLine {
                    phase: None,
                    stream: LogStream::Agent,
                    text: "c".into(),
                },
            ],
        };
        let text = render(&ev);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: Value = serde_json::from_str(lines[0]).expect("json");
        assert_eq!(v["type"], "log");
        assert_eq!(v["stream"], "stdout");
        assert_eq!(v["phase"], "BUILD");
        assert_eq!(v["line"], "a\u{1b}[31m\"b");
    }

    #[test]
    fn build_started_says_how_docker_is_reached() {
        let ev = |docker| BuildEvent::Started {
            build_id: BuildId("p:1".into()),
            project: "p".into(),
            backend: crate::model::BackendKind::Local,
            image: "img".into(),
            docker,
            batch: None,
            at: chrono::Utc::now(),
        };
        for (docker, name) in [
            (DockerAccess::None, "none"),
            (DockerAccess::HostSocket, "host_socket"),
            (DockerAccess::Privileged, "privileged"),
        ] {
            let o = objects(&ev(docker));
            assert_eq!(o[0]["type"], "build_started");
            assert_eq!(o[0]["docker"], name);
        }
    }

    #[test]
    fn phase_finished_has_the_context() {
        let ev = BuildEvent::PhaseFinished {
            build_id: BuildId("p:1".into()),
            phase: PhaseKind::UploadArtifacts,
            attempt: 1,
            status: Status::Failed,
            duration_ms: 5,
            context: PhaseContext {
                status_code: "CLIENT_ERROR".into(),
                message: "no matching artifact paths found".into(),
            },
            at: chrono::Utc::now(),
        };
        let v: Value = serde_json::from_str(render(&ev).trim()).expect("json");
        assert_eq!(v["type"], "phase_finished");
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["phase"], "UPLOAD_ARTIFACTS");
        assert_eq!(v["context"]["status_code"], "CLIENT_ERROR");
        assert_eq!(v["duration_ms"], 5);
    }

    #[test]
    fn build_finished_carries_the_exported_variables() {
        let ev = BuildEvent::Finished {
            build_id: BuildId("p:1".into()),
            status: Status::Succeeded,
            duration_ms: 7,
            at: chrono::Utc::now(),
            exported_variables: [("IMAGE_TAG".to_owned(), "abc1234".to_owned())].into(),
        };
        let v: Value = serde_json::from_str(render(&ev).trim()).expect("json");
        assert_eq!(v["type"], "build_finished");
        assert_eq!(v["exported_variables"], json!({"IMAGE_TAG": "abc1234"}));
    }

    #[test]
    fn a_diagnosis_is_one_object_with_its_rule_and_phase() {
        let ev = BuildEvent::Diagnosis {
            build_id: BuildId("p:1".into()),
            diagnosis: crate::model::Diagnosis {
                phase: Some(PhaseKind::UploadArtifacts),
                rule: "artifacts-no-match".into(),
                line: "no matching artifact paths found".into(),
                cause: "c".into(),
                fix: "f".into(),
                docs: "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html"
                    .into(),
            },
        };
        let text = render(&ev);
        assert_eq!(text.lines().count(), 1);
        let v: Value = serde_json::from_str(text.trim()).expect("json");
        assert_eq!(v["type"], "diagnosis");
        assert_eq!(v["phase"], "UPLOAD_ARTIFACTS");
        assert_eq!(v["rule"], "artifacts-no-match");
        assert_eq!(v["build_id"], "p:1");
    }

    #[test]
    fn a_breakpoint_says_where_and_how_to_attach_and_resumed_follows() {
        let ev = BuildEvent::Breakpoint {
            build_id: BuildId("p:1".into()),
            phase: PhaseKind::Build,
            command: "codebuild-breakpoint".into(),
            container: "cbdash-p-1".into(),
            attach: "cbdash shell p:1".into(),
            on_failure: false,
        };
        let v: Value = serde_json::from_str(render(&ev).trim()).expect("json");
        assert_eq!(
            v,
            json!({"type": "breakpoint", "build_id": "p:1", "phase": "BUILD",
                "command": "codebuild-breakpoint", "container": "cbdash-p-1",
                "attach": "cbdash shell p:1", "on_failure": false})
        );
        let v = objects(&BuildEvent::Resumed {
            build_id: BuildId("p:1".into()),
        });
        assert_eq!(v, [json!({"type": "resumed", "build_id": "p:1"})]);
        let v = objects(&BuildEvent::DebugSession {
            build_id: BuildId("p:1".into()),
            target: "codebuild:1".into(),
            command: "aws ssm start-session --target codebuild:1".into(),
        });
        assert_eq!(v[0]["type"], "debug_session");
        assert_eq!(
            v[0]["command"],
            "aws ssm start-session --target codebuild:1"
        );
    }
}
