//! The `R` forms. A cloud project's start-with-overrides form: four text fields, Tab/Down and
//! BackTab/Up to move, Enter to start, Esc to cancel; the typed text becomes a
//! [`StartOverrides`], checked here, before the executor sends StartBuild. A local project's run
//! form ([`run_key`]): image, Docker mode (space or the side arrows cycle), extra variables,
//! "pause on failure" (`--debug`) and "save to .cbdash.toml", becoming [`LocalOverrides`] for `Effect::StartLocal`. Part of
//! the pure reducer.

use super::keymap::{Key, KeyCode};
use super::msg::{Effect, LocalOverrides, StartOverrides};
use super::state::{Mode, RunForm, StartForm, State};
use super::update::flash;
use crate::model::{DockerAccess, NoticeLevel};

/// A key typed into the form.
pub fn key(state: &mut State, key: Key, typed: Option<char>, mut form: StartForm) -> Vec<Effect> {
    let last = StartForm::LABELS.len() - 1;
    match (key.code, typed) {
        (KeyCode::Esc, _) => {
            flash(state, NoticeLevel::Info, "cancelled");
            return Vec::new();
        }
        (KeyCode::Enter, _) => match overrides(&form) {
            Ok(overrides) => {
                flash(
                    state,
                    NoticeLevel::Info,
                    format!("starting {}", form.project.name),
                );
                return vec![Effect::StartCloud {
                    project: form.project,
                    overrides,
                }];
            }
            Err(e) => flash(state, NoticeLevel::Warning, e),
        },
        (KeyCode::Tab | KeyCode::Down, _) => form.focus = (form.focus + 1).min(last),
        (KeyCode::BackTab | KeyCode::Up, _) => form.focus = form.focus.saturating_sub(1),
        (KeyCode::Backspace, _) => {
            form.fields[form.focus].pop();
        }
        (_, Some(c)) => form.fields[form.focus].push(c),
        _ => {}
    }
    state.mode = Mode::StartForm(form);
    Vec::new()
}

/// The overrides the form says, or why they are not valid.
pub fn overrides(form: &StartForm) -> Result<StartOverrides, String> {
    let field = |i: usize| Some(form.fields[i].trim().to_owned()).filter(|s| !s.is_empty());
    let env = form.fields[1]
        .split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_name(k) => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!(
                "variables: '{pair}' is not NAME=VALUE (separate variables with spaces)"
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(StartOverrides {
        source_version: field(0),
        env,
        buildspec: field(2).map(Into::into),
        image: field(3),
    })
}

/// A key typed into the local run form.
pub fn run_key(state: &mut State, key: Key, typed: Option<char>, mut form: RunForm) -> Vec<Effect> {
    let last = RunForm::LABELS.len() - 1;
    match (key.code, typed, form.focus) {
        (KeyCode::Esc, _, _) => {
            flash(state, NoticeLevel::Info, "cancelled");
            return Vec::new();
        }
        (KeyCode::Enter, _, _) => match local_overrides(&form) {
            Ok(overrides) => {
                flash(
                    state,
                    NoticeLevel::Info,
                    format!("starting {}", form.project.name),
                );
                return vec![Effect::StartLocal {
                    project: form.project,
                    overrides,
                }];
            }
            Err(e) => flash(state, NoticeLevel::Warning, e),
        },
        (KeyCode::Tab | KeyCode::Down, _, _) => form.focus = (form.focus + 1).min(last),
        (KeyCode::BackTab | KeyCode::Up, _, _) => form.focus = form.focus.saturating_sub(1),
        (KeyCode::Right, _, 1) | (_, Some(' '), 1) => form.docker = cycle(form.docker, 1),
        (KeyCode::Left, _, 1) => form.docker = cycle(form.docker, DockerAccess::ALL.len() - 1),
        (_, Some(' '), 3) => form.debug = !form.debug,
        (_, Some(' '), 4) => form.save = !form.save,
        (KeyCode::Backspace, _, 0) => {
            form.image.pop();
        }
        (KeyCode::Backspace, _, 2) => {
            form.vars.pop();
        }
        (_, Some(c), 0) => form.image.push(c),
        (_, Some(c), 2) => form.vars.push(c),
        _ => {}
    }
    state.mode = Mode::RunForm(form);
    Vec::new()
}

/// The Docker mode `by` steps after `d` in [`DockerAccess::ALL`], wrapping around.
fn cycle(d: DockerAccess, by: usize) -> DockerAccess {
    let all = DockerAccess::ALL;
    let i = all.iter().position(|x| *x == d).unwrap_or(0);
    all[(i + by) % all.len()]
}

/// What the run form says: an image or Docker mode left as prefilled overrides nothing (the
/// project's setting stays), unless it is to be saved; variables are `NAME=VALUE`, separated
/// by commas or spaces.
pub fn local_overrides(form: &RunForm) -> Result<LocalOverrides, String> {
    let image = form.image.trim();
    let env = form
        .vars
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_name(k) => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!(
                "variables: '{pair}' is not NAME=VALUE (separate variables with commas or spaces)"
            )),
        })
        .collect::<Result<_, _>>()?;
    let changed_image = image != form.prefill.0.trim() || form.save;
    Ok(LocalOverrides {
        image: Some(image.to_owned()).filter(|i| !i.is_empty() && changed_image),
        docker: Some(form.docker).filter(|d| *d != form.prefill.1 || form.save),
        env,
        debug: form.debug,
        save: form.save,
    })
}

fn is_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::state::{Group, ProjectKey};

    fn form(fields: [&str; 4]) -> StartForm {
        let mut f = StartForm::new(ProjectKey {
            name: "api".into(),
            group: Group::Cloud {
                profile: "p".into(),
                region: "r".into(),
            },
            dir: None,
        });
        f.fields = fields.map(str::to_owned);
        f
    }

    #[test]
    fn empty_fields_override_nothing() {
        assert_eq!(
            overrides(&form(["", " ", "", ""])),
            Ok(StartOverrides::default())
        );
    }

    #[test]
    fn fields_become_overrides_and_bad_variables_are_refused() {
        let o = overrides(&form(["main", "A=1 B_2=x=y", "ci/spec.yml", "img:2"])).expect("ok");
        assert_eq!(o.source_version.as_deref(), Some("main"));
        assert_eq!(
            o.env,
            vec![("A".into(), "1".into()), ("B_2".into(), "x=y".into())]
        );
        assert_eq!(o.buildspec, Some("ci/spec.yml".into()));
        assert_eq!(o.image.as_deref(), Some("img:2"));
        let e = overrides(&form(["", "A=1 oops", "", ""])).expect_err("refused");
        assert!(e.contains("'oops' is not NAME=VALUE"), "{e}");
        assert!(overrides(&form(["", "1A=x", "", ""])).is_err());
    }

    fn run_form(image: &str, vars: &str) -> RunForm {
        let mut f = RunForm::new(
            ProjectKey {
                name: "api".into(),
                group: Group::Local,
                dir: None,
            },
            Some(("img:1", DockerAccess::HostSocket)),
        );
        image.clone_into(&mut f.image);
        vars.clone_into(&mut f.vars);
        f
    }

    #[test]
    fn the_run_form_overrides_only_what_changed_unless_saved() {
        assert_eq!(
            local_overrides(&run_form("img:1", "")),
            Ok(LocalOverrides::default())
        );
        let mut f = run_form("img:2", "A=1,B=2 C=x=y,, ");
        f.docker = DockerAccess::None;
        let o = local_overrides(&f).expect("ok");
        assert_eq!(o.image.as_deref(), Some("img:2"));
        assert_eq!(o.docker, Some(DockerAccess::None));
        assert_eq!(
            o.env,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "2".into()),
                ("C".into(), "x=y".into())
            ]
        );
        let mut f = run_form("img:1", "");
        f.save = true;
        let o = local_overrides(&f).expect("ok");
        assert_eq!(
            (o.image.as_deref(), o.docker, o.save),
            (Some("img:1"), Some(DockerAccess::HostSocket), true),
            "saving writes what the form shows"
        );
        let mut f = run_form("img:1", "");
        f.debug = true;
        assert_eq!(
            local_overrides(&f),
            Ok(LocalOverrides {
                debug: true,
                ..LocalOverrides::default()
            }),
            "pausing on failure overrides nothing else"
        );
        assert!(local_overrides(&run_form("", "=1")).is_err());
        assert_eq!(cycle(DockerAccess::Privileged, 1), DockerAccess::None);
        assert_eq!(cycle(DockerAccess::None, 2), DockerAccess::Privileged);
    }
}
