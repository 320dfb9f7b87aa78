//! The start-with-overrides form of a cloud project (`R`): four text fields, Tab/Down and
//! BackTab/Up to move, Enter to start, Esc to cancel. Part of the pure reducer: the typed text
//! becomes a [`StartOverrides`], checked here, before the driver sends StartBuild.

use super::keymap::{Key, KeyCode};
use super::msg::{Effect, StartOverrides};
use super::state::{Mode, StartForm, State};
use super::update::flash;
use crate::model::NoticeLevel;

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
}
