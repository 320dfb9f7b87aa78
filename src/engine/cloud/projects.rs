//! Reading projects and builds: ListProjects (every page) + BatchGetProjects (100 at a time),
//! `ListBuildsForProject` (every page) + `BatchGetBuilds`. One [`ProjectGroup`] per target: an
//! error (expired credentials, access denied, unknown region) stays in its group.

use futures_util::StreamExt;
use serde::Serialize;

use super::client::classify;
use super::snapshot::BuildSnapshot;
use super::{CloudClients, CloudError, CloudTarget, ConnectOptions};

/// What the dashboard shows of a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProjectInfo {
    pub name: String,
    pub description: Option<String>,
    pub source_type: Option<String>,
    pub source_location: Option<String>,
    pub image: Option<String>,
    pub compute_type: Option<String>,
    pub privileged: bool,
    pub cache: Option<String>,
    /// Plaintext environment values (for the ECR repository hint).
    #[serde(skip)]
    pub env_values: Vec<String>,
    pub last_build: Option<LastBuild>,
}

/// The newest build of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastBuild {
    pub id: String,
    pub status: String,
    pub number: Option<i64>,
}

/// One target's projects, or why they could not be read.
#[derive(Debug)]
pub struct ProjectGroup {
    pub target: CloudTarget,
    pub name: String,
    pub projects: Result<Vec<ProjectInfo>, CloudError>,
}

/// Every project name, following `nextToken`.
pub async fn list_project_names(cb: &aws_sdk_codebuild::Client) -> Result<Vec<String>, CloudError> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = cb
            .list_projects()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("ListProjects", "", &e))?;
        names.extend(out.projects().iter().cloned());
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// Details of `names`, 100 per BatchGetProjects call, in the order given.
pub async fn get_projects(
    cb: &aws_sdk_codebuild::Client,
    names: &[String],
) -> Result<Vec<ProjectInfo>, CloudError> {
    let mut infos = Vec::with_capacity(names.len());
    for chunk in names.chunks(100) {
        let out = cb
            .batch_get_projects()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| classify("BatchGetProjects", "", &e))?;
        infos.extend(out.projects().iter().map(project_info));
    }
    Ok(infos)
}

fn project_info(p: &aws_sdk_codebuild::types::Project) -> ProjectInfo {
    let env = p.environment();
    ProjectInfo {
        name: p.name().unwrap_or_default().to_owned(),
        description: p.description().map(str::to_owned),
        source_type: p.source().map(|s| s.r#type().as_str().to_owned()),
        source_location: p.source().and_then(|s| s.location()).map(str::to_owned),
        image: env.map(|e| e.image().to_owned()),
        compute_type: env.map(|e| e.compute_type().as_str().to_owned()),
        privileged: env
            .and_then(aws_sdk_codebuild::types::ProjectEnvironment::privileged_mode)
            .unwrap_or(false),
        cache: p.cache().map(|c| c.r#type().as_str().to_owned()),
        env_values: env
            .map(|e| {
                e.environment_variables()
                    .iter()
                    .map(|v| v.value().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        last_build: None,
    }
}

/// Build ids of a project, newest first, every page (stops after `limit` ids).
pub async fn list_build_ids(
    cb: &aws_sdk_codebuild::Client,
    project: &str,
    limit: usize,
) -> Result<Vec<String>, CloudError> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let out = cb
            .list_builds_for_project()
            .project_name(project)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("ListBuildsForProject", "", &e))?;
        ids.extend(out.ids().iter().cloned());
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() || ids.len() >= limit {
            ids.truncate(limit);
            return Ok(ids);
        }
    }
}

/// Snapshots of `ids`, 100 per BatchGetBuilds call.
pub async fn get_builds(
    cb: &aws_sdk_codebuild::Client,
    ids: &[String],
) -> Result<Vec<BuildSnapshot>, CloudError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let res = cb
            .batch_get_builds()
            .set_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| classify("BatchGetBuilds", "", &e))?;
        out.extend(res.builds().iter().map(BuildSnapshot::from_sdk));
    }
    Ok(out)
}

/// Projects with details and their last build, for one target's clients.
pub async fn load_projects(clients: &CloudClients) -> Result<Vec<ProjectInfo>, CloudError> {
    let cb = &clients.codebuild;
    let names = list_project_names(cb)
        .await
        .map_err(|e| regroup(e, &clients.group))?;
    let mut infos = get_projects(cb, &names).await?;
    // One ListBuildsForProject per project (8 at a time), then BatchGetBuilds by hundreds.
    let firsts: Vec<Option<String>> = futures_util::stream::iter(infos.iter().map(|p| {
        let name = p.name.clone();
        async move {
            list_build_ids(cb, &name, 1)
                .await
                .ok()
                .and_then(|v| v.into_iter().next())
        }
    }))
    .buffered(8)
    .collect()
    .await;
    let ids: Vec<String> = firsts.iter().flatten().cloned().collect();
    let builds = get_builds(cb, &ids).await?;
    for (info, first) in infos.iter_mut().zip(&firsts) {
        info.last_build = first.as_ref().and_then(|id| {
            builds.iter().find(|b| &b.id.0 == id).map(|b| LastBuild {
                id: id.clone(),
                status: b.status.as_str().to_owned(),
                number: b.build_number,
            })
        });
    }
    Ok(infos)
}

/// One group per target; each group's failure is its own.
pub async fn load_groups(targets: &[CloudTarget], opts: &ConnectOptions) -> Vec<ProjectGroup> {
    let mut groups = Vec::with_capacity(targets.len());
    for target in targets {
        let clients = CloudClients::connect(target, opts).await;
        let projects = load_projects(&clients).await;
        groups.push(ProjectGroup {
            target: target.clone(),
            name: clients.group,
            projects,
        });
    }
    groups
}

/// Names the group in a credentials error raised below the group level.
fn regroup(e: CloudError, group: &str) -> CloudError {
    match e {
        CloudError::Credentials { message, .. } => CloudError::Credentials {
            group: group.to_owned(),
            message,
        },
        other => other,
    }
}
