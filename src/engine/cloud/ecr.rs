//! The ECR image a build produced: found in its log (`docker push <acct>.dkr.ecr.<region>.
//! amazonaws.com/<repo>:<tag>`, or docker's "The push refers to repository [...]") or in its
//! project's environment values, then described with `DescribeImages` and
//! `DescribeImageScanFindings`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Serialize;

use super::CloudError;
use super::client::classify;

/// An image reference in ECR.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EcrRef {
    pub account: String,
    pub region: String,
    pub repository: String,
    /// `None`: the repository's newest image.
    pub tag: Option<String>,
}

/// What ECR says about an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EcrImage {
    pub reference: EcrRef,
    pub tags: Vec<String>,
    pub digest: Option<String>,
    pub size_bytes: Option<i64>,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Scan findings by severity (`CRITICAL` → 2), or `None` when the image was not scanned.
    pub findings: Option<BTreeMap<String, i32>>,
}

static ECR_URI: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern, checked by the unit tests
    Regex::new(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9][a-z0-9._/-]*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?")
        .expect("valid regex")
});

/// The first ECR reference in `text`.
#[must_use]
pub fn parse_ref(text: &str) -> Option<EcrRef> {
    let c = ECR_URI.captures(text)?;
    Some(EcrRef {
        account: c[1].to_owned(),
        region: c[2].to_owned(),
        repository: c[3].to_owned(),
        tag: c.get(4).map(|m| m.as_str().to_owned()),
    })
}

/// Whether a log line may name a pushed image (the lines [`pushes_in_log`] reads).
#[must_use]
pub fn is_push_line(line: &str) -> bool {
    line.contains("docker push") || line.contains("push refers to repository")
}

/// References pushed according to log lines: `docker push URI` and docker's own
/// `The push refers to repository [URI]` lines. Log lines are untrusted: only the regex's
/// narrow character set gets through.
#[must_use]
pub fn pushes_in_log<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<EcrRef> {
    let mut refs: Vec<EcrRef> = lines
        .into_iter()
        .filter(|l| is_push_line(l))
        .filter_map(parse_ref)
        .collect();
    refs.sort();
    refs.dedup();
    // A tagless reference is dropped when the same repository also appears with a tag.
    let tagged: Vec<(String, String)> = refs
        .iter()
        .filter(|r| r.tag.is_some())
        .map(|r| (r.account.clone(), r.repository.clone()))
        .collect();
    refs.retain(|r| {
        r.tag.is_some() || !tagged.contains(&(r.account.clone(), r.repository.clone()))
    });
    refs
}

/// The images to show for a build: pushes in its log, else repositories named by its
/// environment values (`IMAGE_REPO=<acct>.dkr.ecr.<region>.amazonaws.com/app`).
#[must_use]
pub fn refs_for_build<'a>(
    log: impl IntoIterator<Item = &'a str>,
    env_values: &[String],
) -> Vec<EcrRef> {
    let pushed = pushes_in_log(log);
    if !pushed.is_empty() {
        return pushed;
    }
    let mut refs: Vec<EcrRef> = env_values.iter().filter_map(|v| parse_ref(v)).collect();
    refs.sort();
    refs.dedup();
    refs
}

/// `DescribeImages` (+ `DescribeImageScanFindings` when not summarised) for `r`.
pub async fn describe(ecr: &aws_sdk_ecr::Client, r: &EcrRef) -> Result<EcrImage, CloudError> {
    let mut call = ecr
        .describe_images()
        .registry_id(&r.account)
        .repository_name(&r.repository);
    if let Some(tag) = &r.tag {
        call = call.image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
        );
    }
    let out = call
        .send()
        .await
        .map_err(|e| classify("DescribeImages", "", &e))?;
    let detail = out
        .image_details()
        .iter()
        .max_by_key(|d| {
            d.image_pushed_at()
                .map(aws_sdk_ecr::primitives::DateTime::secs)
        })
        .ok_or_else(|| CloudError::NotFound {
            what: format!("image {}", r.repository),
        })?;
    let mut image = EcrImage {
        reference: r.clone(),
        tags: detail.image_tags().to_vec(),
        digest: detail.image_digest().map(str::to_owned),
        size_bytes: detail.image_size_in_bytes(),
        pushed_at: detail
            .image_pushed_at()
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        findings: detail.image_scan_findings_summary().map(|s| {
            s.finding_severity_counts()
                .map(|m| m.iter().map(|(k, v)| (k.as_str().to_owned(), *v)).collect())
                .unwrap_or_default()
        }),
    };
    if image.findings.is_none()
        && let Some(digest) = &image.digest
    {
        image.findings = scan_findings(ecr, r, digest).await;
    }
    Ok(image)
}

/// Scan findings by severity; `None` when there is no scan (not an error worth showing).
async fn scan_findings(
    ecr: &aws_sdk_ecr::Client,
    r: &EcrRef,
    digest: &str,
) -> Option<BTreeMap<String, i32>> {
    let out = ecr
        .describe_image_scan_findings()
        .registry_id(&r.account)
        .repository_name(&r.repository)
        .image_id(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build(),
        )
        .send()
        .await
        .ok()?;
    let counts = out.image_scan_findings()?.finding_severity_counts()?;
    Some(
        counts
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), *v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_found_in_docker_lines() {
        let log = [
            "docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
            "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/app]",
            "echo 999999999999.dkr.ecr.eu-west-1.amazonaws.com/other:x",
            "docker push \x1b[31m123456789012.dkr.ecr.us-east-1.amazonaws.com/team/svc:2.0\x1b[0m",
        ];
        let refs = pushes_in_log(log);
        assert_eq!(refs.len(), 2, "{refs:?}");
        assert_eq!(refs[0].repository, "app");
        assert_eq!(refs[0].tag.as_deref(), Some("v1"));
        assert_eq!(refs[1].repository, "team/svc");
        assert_eq!(refs[1].tag.as_deref(), Some("2.0"));
        assert_eq!(refs[1].region, "us-east-1");
    }

    #[test]
    fn log_pushes_win_over_env_hints() {
        let env = ["123456789012.dkr.ecr.us-east-1.amazonaws.com/fromenv".to_owned()];
        let from_env = refs_for_build(["nothing pushed"], &env);
        assert_eq!(from_env.len(), 1);
        assert_eq!(from_env[0].repository, "fromenv");
        let log = ["docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/pushed:1"];
        assert_eq!(refs_for_build(log, &env)[0].repository, "pushed");
    }

    #[test]
    fn env_values_name_repositories() {
        let r = parse_ref("123456789012.dkr.ecr.eu-central-1.amazonaws.com/web");
        assert_eq!(
            r.map(|r| (r.region, r.tag)),
            Some(("eu-central-1".into(), None))
        );
        assert_eq!(parse_ref("docker.io/library/alpine:3"), None);
    }
}
