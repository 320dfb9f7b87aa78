//! One project identity, `(group, name)`: two cloud projects with one name in two profiles or
//! regions never share builds, history, selection or sidebar rows; and a selected cloud
//! project opens its newest build from CodeBuild, as the console does.

use std::collections::HashSet;
use std::path::PathBuf;

use cbdash::model::{BackendKind, BuildEvent, BuildId, Status};
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::{Group, PastBuild, ProjectKey, State};

use super::fixtures::{cloud, dashboard, keymap, keys, send, t};

fn in_group(name: &str, profile: &str, region: &str) -> ProjectKey {
    ProjectKey {
        name: name.into(),
        group: Group::Cloud {
            profile: profile.into(),
            region: region.into(),
        },
        dir: None,
    }
}

fn past(id: &str, status: Status, at: i64) -> PastBuild {
    PastBuild {
        build_id: BuildId(id.into()),
        status,
        started: t(at),
        duration_ms: 60_000,
    }
}

fn history(project: &ProjectKey, builds: Vec<PastBuild>) -> Msg {
    Msg::History {
        project: project.clone(),
        builds,
        phase_medians: Vec::new(),
    }
}

fn started(project: &ProjectKey, id: &str) -> Msg {
    Msg::ProjectBuild {
        project: project.clone(),
        event: BuildEvent::Started {
            build_id: BuildId(id.into()),
            project: project.name.clone(),
            backend: BackendKind::Cloud,
            image: "aws/codebuild/standard:7.0".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at: t(0),
        },
    }
}

/// The index of `key` in the sidebar.
fn index(s: &State, key: &ProjectKey) -> usize {
    s.projects
        .iter()
        .position(|p| p.key == *key)
        .expect("project listed")
}

#[test]
fn the_identity_is_group_and_name_only() {
    let prod = in_group("api", "prod", "eu-west-1");
    let dev = in_group("api", "dev", "eu-west-1");
    let other_region = in_group("api", "prod", "us-east-1");
    assert_ne!(prod, dev);
    assert_ne!(prod, other_region);
    // Where a local project lives is data, not identity: a key made without it is the same.
    let with_dir = ProjectKey {
        dir: Some(PathBuf::from("/src/api")),
        ..super::fixtures::local("api")
    };
    assert_eq!(with_dir, super::fixtures::local("api"));
    let set: HashSet<ProjectKey> = [prod.clone(), dev, other_region, prod, with_dir]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 4, "hashing agrees with equality: {set:?}");
}

#[test]
fn one_name_in_two_profiles_never_mixes() {
    let km = keymap();
    let mut s = State::new(t(0));
    let prod = in_group("api", "prod", "eu-west-1");
    let dev = in_group("api", "dev", "eu-west-1");
    let west = in_group("api", "dev", "us-west-2");
    send(
        &mut s,
        &km,
        Msg::Projects(vec![prod.clone(), dev.clone(), west.clone()]),
    );
    assert_eq!(s.projects.len(), 3, "three projects in the sidebar");
    let ordered: Vec<&ProjectKey> = s.ordered().iter().map(|i| &s.projects[*i].key).collect();
    assert_eq!(ordered, vec![&dev, &west, &prod], "one row each, by group");

    // History goes to its own group only.
    send(
        &mut s,
        &km,
        history(&dev, vec![past("api:dev-1", Status::Failed, -60)]),
    );
    assert_eq!(s.projects[index(&s, &dev)].history.len(), 1);
    assert!(s.projects[index(&s, &prod)].history.is_empty());
    assert!(s.projects[index(&s, &west)].history.is_empty());

    // A build the driver says is dev's is dev's, whatever its name says.
    send(&mut s, &km, started(&dev, "api:dev-2"));
    send(&mut s, &km, started(&prod, "api:prod-1"));
    let builds = |k: &ProjectKey| s.projects[index(&s, k)].builds.clone();
    assert_eq!(builds(&dev), vec![BuildId("api:dev-2".into())]);
    assert_eq!(builds(&prod), vec![BuildId("api:prod-1".into())]);
    assert!(builds(&west).is_empty());
    let owner = |id: &str| s.builds[&BuildId(id.into())].key.clone();
    assert_eq!(owner("api:dev-2"), Some(dev.clone()));
    assert_eq!(owner("api:prod-1"), Some(prod.clone()));

    // An event that names only "api" matches three projects: it is filed under none.
    send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Started {
            build_id: BuildId("api:unknown".into()),
            project: "api".into(),
            backend: BackendKind::Cloud,
            image: "img".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at: t(1),
        }),
    );
    for k in [&prod, &dev, &west] {
        assert!(
            !s.projects[index(&s, k)]
                .builds
                .contains(&BuildId("api:unknown".into())),
            "{k:?}"
        );
    }

    // Selecting each shows its own newest build.
    let fx = {
        let i = index(&s, &prod);
        cbdash::tui::actions::select(&mut s, i)
    };
    assert_eq!(s.open_build, Some(BuildId("api:prod-1".into())));
    assert_eq!(fx, vec![Effect::LoadHistory(prod.clone())]);
    {
        let i = index(&s, &dev);
        cbdash::tui::actions::select(&mut s, i)
    };
    assert_eq!(s.open_build, Some(BuildId("api:dev-2".into())));
    // us-west-2 has no build of its own: it does not show dev's or prod's.
    let fx = {
        let i = index(&s, &west);
        cbdash::tui::actions::select(&mut s, i)
    };
    assert_eq!(s.open_build, None);
    assert_eq!(fx, vec![Effect::LoadHistory(west)]);
}

#[test]
fn a_selected_cloud_project_opens_its_newest_build_once_listed() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    let api = cloud("api-prod");
    assert_eq!(s.project().map(|p| &p.key), Some(&api));
    assert_eq!(s.open_build, None);
    // Its builds come back from ListBuildsForProject, newest first: the newest is followed.
    let fx = send(
        &mut s,
        &km,
        history(
            &api,
            vec![
                past("api-prod:new", Status::InProgress, -30),
                past("api-prod:old", Status::Succeeded, -3600),
            ],
        ),
    );
    assert_eq!(
        fx,
        vec![Effect::FollowBuild {
            project: api.clone(),
            build: BuildId("api-prod:new".into()),
        }]
    );
    // Its Started, from the driver, opens it.
    send(&mut s, &km, started(&api, "api-prod:new"));
    assert_eq!(s.open_build, Some(BuildId("api-prod:new".into())));
    // Followed to its end, it is one bar of the sparkline, not two (history and session).
    send(
        &mut s,
        &km,
        Msg::ProjectBuild {
            project: api.clone(),
            event: BuildEvent::Finished {
                build_id: BuildId("api-prod:new".into()),
                status: Status::Succeeded,
                duration_ms: 42_000,
                at: t(42),
                exported_variables: std::collections::BTreeMap::new(),
            },
        },
    );
    let p = s.project().expect("selected");
    assert_eq!(p.durations(&s.builds), vec![60_000, 42_000]);
    // Listed again (on a later selection): it is on screen already, nothing more to follow.
    let fx = send(
        &mut s,
        &km,
        history(&api, vec![past("api-prod:new", Status::InProgress, -30)]),
    );
    assert!(fx.is_empty(), "{fx:?}");
}

#[test]
fn selecting_a_listed_cloud_project_follows_its_newest_build_at_once() {
    let (mut s, km) = dashboard();
    let nightly = cloud("nightly");
    // Listed at discovery while another project is selected: nothing is followed yet.
    let fx = send(
        &mut s,
        &km,
        history(&nightly, vec![past("nightly:7", Status::Failed, -600)]),
    );
    assert!(fx.is_empty(), "{fx:?}");
    let i = index(&s, &nightly);
    let fx = cbdash::tui::actions::select(&mut s, i);
    assert_eq!(
        fx,
        vec![
            Effect::LoadHistory(nightly.clone()),
            Effect::FollowBuild {
                project: nightly,
                build: BuildId("nightly:7".into()),
            },
        ]
    );
    // A local project with history opens its newest past build too: replayed from the run
    // history by the executor (never followed from the cloud).
    let fx = cbdash::tui::actions::select(&mut s, 0);
    let local = s.projects[0].key.clone();
    assert_eq!(local.group, cbdash::tui::state::Group::Local);
    assert!(
        fx.iter().all(|f| match f {
            Effect::LoadHistory(p) => *p == local,
            Effect::FollowBuild { project, .. } => *project == local,
            _ => false,
        }),
        "{fx:?}"
    );
}
