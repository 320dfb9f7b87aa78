//! CodeBuild's curated image names (`aws/codebuild/standard:7.0`, ...) as a local build sees
//! them. Those names exist only inside CodeBuild: a local daemon cannot pull them. The table
//! in `images.toml` (data, with its sources) says, for each, the public image AWS publishes
//! for it, if any, and the folder of its Dockerfile in AWS's `aws-codebuild-docker-images`.
//!
//! [`plan`] is pure: a name in, what to run (or why it cannot run) out. [`choose`] adds the
//! one fact that needs the daemon: an image of that very name on this machine (built from
//! AWS's Dockerfile, say) is used as it is. `run_build` calls [`choose`] before any container
//! exists, so a name that cannot run stops the run with what to do ([`ImageError`]).

use std::sync::LazyLock;

use bollard::Docker;
use serde::Deserialize;

/// The prefix of CodeBuild's curated image identifiers.
pub const CURATED_PREFIX: &str = "aws/codebuild/";
/// Where AWS keeps the curated images' Dockerfiles.
pub const DOCKERFILES: &str = "https://github.com/aws/aws-codebuild-docker-images";

/// One curated image.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub identifier: String,
    /// The image AWS publishes for it.
    pub public: Option<String>,
    /// Its Dockerfile's folder in [`DOCKERFILES`].
    pub dockerfile: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    image: Vec<Entry>,
}

/// The table; a unit test checks that the compiled-in file parses.
static TABLE: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    toml::from_str::<Table>(include_str!("images.toml"))
        .map(|t| t.image)
        .unwrap_or_default()
});

/// The curated images cbdash knows.
#[must_use]
pub fn table() -> &'static [Entry] {
    &TABLE
}

/// What a local build does with an image name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Not a curated name: pulled or used as given.
    AsGiven,
    /// A curated name AWS publishes: this public image instead.
    Public(&'static str),
    /// A curated name with no public image: cannot run unless present locally.
    Unpublished {
        /// The table's entry (for a pinned version `5.0-1.0.0`, its major version's).
        entry: Option<&'static Entry>,
        /// The name is a pinned version of `entry`.
        pinned: bool,
    },
}

/// What to run for `image` (pure; see [`choose`] for the local-image case).
#[must_use]
pub fn plan(image: &str) -> Plan {
    let image = image.trim();
    if !image.starts_with(CURATED_PREFIX) {
        return Plan::AsGiven;
    }
    let find = |name: &str| table().iter().find(|e| e.identifier == name);
    if let Some(e) = find(image) {
        return match &e.public {
            Some(p) => Plan::Public(p),
            None => Plan::Unpublished {
                entry: Some(e),
                pinned: false,
            },
        };
    }
    // `aws/codebuild/amazonlinux-x86_64-standard:5.0-1.0.0`: a pinned image version, which
    // no public registry is documented to carry.
    let major = image
        .rsplit_once(':')
        .and_then(|(repo, tag)| tag.split_once('-').map(|(v, _)| format!("{repo}:{v}")));
    let entry = major.as_deref().and_then(find);
    Plan::Unpublished {
        pinned: entry.is_some(),
        entry,
    }
}

/// A curated image name that a local build cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImageError {
    pub image: String,
    message: String,
}

/// The image to run for `requested`: itself when an image of that name is on this machine or
/// it is not a curated name, AWS's public image for a curated one, else an error that says
/// what to do.
pub async fn choose(docker: &Docker, requested: &str) -> Result<String, ImageError> {
    match plan(requested) {
        Plan::AsGiven => Ok(requested.to_owned()),
        _ if super::docker::image_present(docker, requested).await => Ok(requested.to_owned()),
        Plan::Public(p) => Ok(p.to_owned()),
        Plan::Unpublished { entry, pinned } => Err(unpublished(requested, entry, pinned)),
    }
}

/// For the commands: a curated name that cannot run is reported before the dashboard opens
/// (`run_build` would report it too, inside it). Without a daemon this says nothing: the run
/// reports that.
pub async fn precheck(requested: Option<&str>) -> Result<(), super::LocalError> {
    let Some(name) = requested.filter(|n| matches!(plan(n), Plan::Unpublished { .. })) else {
        return Ok(());
    };
    let Ok(docker) = super::docker::connect().await else {
        return Ok(());
    };
    Ok(choose(&docker, name).await.map(|_| ())?)
}

/// The agent line that says a curated name runs as AWS's public image.
#[must_use]
pub fn mapped_line(requested: &str, chosen: &str) -> Option<String> {
    (requested != chosen).then(|| {
        format!(
            "Image {requested} is CodeBuild's name for {chosen}, the image AWS publishes: \
             using {chosen}"
        )
    })
}

fn unpublished(image: &str, entry: Option<&Entry>, pinned: bool) -> ImageError {
    use std::fmt::Write as _;
    let mut m = format!(
        "'{image}' is a CodeBuild image that exists only inside CodeBuild: AWS publishes no \
         image of that name that a local Docker daemon could pull, and none is on this \
         machine.\n  Run with an image you have: --image NAME (or `image = \"NAME\"` in \
         .cbdash.toml)"
    );
    // Writing into a String cannot fail.
    if let Some(e) = entry.filter(|_| pinned)
        && let Some(p) = e.public.as_deref()
    {
        let _ = write!(
            m,
            ", for example AWS's public {p} (the current {}, not this pinned version)",
            e.identifier
        );
    }
    let _ = match entry.and_then(|e| e.dockerfile.as_deref()) {
        Some(dir) => write!(
            m,
            ";\n  or build it from AWS's Dockerfile under this name, then run again:\n    \
             git clone {DOCKERFILES}\n    \
             docker build -t {image} aws-codebuild-docker-images/{dir}"
        ),
        None => write!(
            m,
            ";\n  or build it from its Dockerfile in {DOCKERFILES} under this name, then \
             run again"
        ),
    };
    ImageError {
        image: image.to_owned(),
        message: m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_row_says_where_to_get_the_image() {
        assert!(table().len() >= 10, "{}", table().len());
        for e in table() {
            assert!(e.identifier.starts_with(CURATED_PREFIX), "{e:?}");
            assert!(e.public.is_some() || e.dockerfile.is_some(), "{e:?}");
            if let Some(p) = &e.public {
                assert!(p.starts_with("public.ecr.aws/codebuild/"), "{e:?}");
                // The public image keeps the identifier's tag.
                assert_eq!(
                    p.rsplit_once(':').map(|x| x.1),
                    e.identifier.rsplit_once(':').map(|x| x.1)
                );
            }
        }
        let mut ids: Vec<&str> = table().iter().map(|e| e.identifier.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), table().len(), "an identifier is listed twice");
    }

    #[test]
    fn amazon_linux_names_map_to_the_public_images_under_both_aliases() {
        assert_eq!(
            plan("aws/codebuild/amazonlinux-x86_64-standard:5.0"),
            Plan::Public("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0")
        );
        assert_eq!(
            plan("aws/codebuild/amazonlinux2-x86_64-standard:5.0"),
            Plan::Public("public.ecr.aws/codebuild/amazonlinux2-x86_64-standard:5.0")
        );
        assert_eq!(
            plan(" aws/codebuild/amazonlinux-x86_64-standard:4.0 "),
            Plan::Public("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:4.0")
        );
    }

    #[test]
    fn other_names_are_used_as_given() {
        for name in [
            "busybox",
            "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/aws/codebuild/standard:7.0",
            "localhost:5000/aws/codebuild/standard:7.0",
        ] {
            assert_eq!(plan(name), Plan::AsGiven, "{name}");
        }
    }

    #[test]
    fn ubuntu_standard_is_unpublished_and_the_message_names_its_dockerfile() {
        let Plan::Unpublished { entry, pinned } = plan("aws/codebuild/standard:7.0") else {
            panic!("standard:7.0 is not published");
        };
        assert!(!pinned);
        let e = unpublished("aws/codebuild/standard:7.0", entry, pinned).to_string();
        assert!(e.contains("--image NAME"), "{e}");
        assert!(
            e.contains("git clone https://github.com/aws/aws-codebuild-docker-images"),
            "{e}"
        );
        assert!(
            e.contains("docker build -t aws/codebuild/standard:7.0 aws-codebuild-docker-images/ubuntu/standard/7.0"),
            "{e}"
        );
    }

    #[test]
    fn unknown_and_pinned_curated_names_stop_with_what_to_do() {
        let Plan::Unpublished { entry, pinned } = plan("aws/codebuild/windows-base:2019-3.0")
        else {
            panic!("unknown curated names cannot run");
        };
        assert!(entry.is_none() && !pinned);
        let e = unpublished("aws/codebuild/windows-base:2019-3.0", entry, pinned).to_string();
        assert!(
            e.contains("its Dockerfile in https://github.com/aws/aws-codebuild-docker-images"),
            "{e}"
        );

        let name = "aws/codebuild/amazonlinux-x86_64-standard:5.0-25.01.10";
        let Plan::Unpublished { entry, pinned } = plan(name) else {
            panic!("a pinned version is not published");
        };
        assert!(pinned);
        let e = unpublished(name, entry, pinned).to_string();
        assert!(
            e.contains("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0 (the current"),
            "{e}"
        );
        assert!(
            e.contains("aws-codebuild-docker-images/al/x86_64/standard/5.0"),
            "{e}"
        );
    }

    #[test]
    fn the_mapped_line_appears_only_when_the_name_changed() {
        assert_eq!(mapped_line("a", "a"), None);
        let l = mapped_line("aws/codebuild/x:1", "public.ecr.aws/codebuild/x:1").expect("line");
        assert!(l.contains("using public.ecr.aws/codebuild/x:1"), "{l}");
    }
}
