//! `cbdash cloud reproduce` end to end: a project in the emulator (image, a plaintext
//! variable, a Parameter Store variable, a Secrets Manager variable (one JSON key), an inline
//! buildspec) runs locally on the real Docker daemon, on the working tree, with the parameter
//! and the secret resolved and masked.

use std::process::Command;

use aws_sdk_codebuild::types::{
    ComputeType, EnvironmentType, EnvironmentVariable, EnvironmentVariableType, ProjectEnvironment,
};
use serde_json::Value;

use crate::common::{cbdash_bin, require};

const SPEC: &str = "version: 0.2
phases:
  build:
    commands:
      - echo \"stage=$STAGE\"
      - echo \"token=$TOKEN\"
      - echo \"token-length=${#TOKEN}\"
      - echo \"db=$DBPASS\"
      - echo \"db-length=${#DBPASS}\"
      - test -f from-the-tree.txt && echo tree-ok
";

fn var(name: &str, value: &str, t: EnvironmentVariableType) -> EnvironmentVariable {
    EnvironmentVariable::builder()
        .name(name)
        .value(value)
        .r#type(t)
        .build()
        .expect("variable")
}

/// The Secrets Manager value the project's `DBPASS` reads (JSON key `password`).
const DB_PASSWORD: &str = "sm-db-planted-5c2e";

/// Makes the project `name` (and its parameter and secret) in the emulator.
async fn make_project(endpoint: &str, name: &str, image: &str, secret: &str) {
    let conf = crate::common::emulator_config(endpoint).await;
    let param = format!("/cbdash/{name}/token");
    aws_sdk_ssm::Client::new(&conf)
        .put_parameter()
        .name(&param)
        .value(secret)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put parameter");
    let secret_id = format!("cbdash/{name}/db");
    aws_sdk_secretsmanager::Client::new(&conf)
        .create_secret()
        .name(&secret_id)
        .secret_string(format!(r#"{{"user":"app","password":"{DB_PASSWORD}"}}"#))
        .send()
        .await
        .expect("create secret");
    let env = ProjectEnvironment::builder()
        .r#type(EnvironmentType::LinuxContainer)
        .image(image)
        .compute_type(ComputeType::BuildGeneral1Small)
        .environment_variables(var("STAGE", "prod", EnvironmentVariableType::Plaintext))
        .environment_variables(var(
            "TOKEN",
            &param,
            EnvironmentVariableType::ParameterStore,
        ))
        .environment_variables(var(
            "DBPASS",
            &format!("{secret_id}:password"),
            EnvironmentVariableType::SecretsManager,
        ))
        .build()
        .expect("environment");
    aws_sdk_codebuild::Client::new(&conf)
        .create_project()
        .name(name)
        .source(crate::cloud_moto::no_source(SPEC))
        .artifacts(crate::cloud_moto::no_artifacts())
        .environment(env)
        .service_role("arn:aws:iam::123456789012:role/cbdash")
        .send()
        .await
        .expect("create project");
}

/// cbdash talking to the AWS emulator at `endpoint` with test credentials, and no user
/// configuration (AWS or cbdash) from this machine.
fn cbdash_on(endpoint: &str) -> Command {
    let mut c = Command::new(cbdash_bin());
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("CBDASH_CONFIG", "/nonexistent")
        .env_remove("AWS_PROFILE");
    c
}

#[tokio::test]
async fn a_cloud_project_runs_locally_with_its_variables_and_inline_buildspec() {
    let (Some(endpoint), Some(image)) = (
        require("CBDASH_TEST_AWS_ENDPOINT"),
        require("CBDASH_TEST_IMAGE"),
    ) else {
        return;
    };
    let name = format!("repro-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let secret = "hunter2-do-not-print";
    make_project(&endpoint, &name, &image, secret).await;
    let tree = tempfile::tempdir().expect("tempdir");
    std::fs::write(tree.path().join("from-the-tree.txt"), "x").expect("write");

    let out = cbdash_on(&endpoint)
        .args(["cloud", "--region", "us-east-1", "reproduce", &name])
        .arg(tree.path())
        .arg("--json")
        .output()
        .expect("run cbdash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("NDJSON"))
        .filter(|e| e["type"] == "log")
        .filter_map(|e| e["line"].as_str().map(str::to_owned))
        .collect();
    for want in [
        "stage=prod".to_owned(),
        "token=***".to_owned(),
        format!("token-length={}", secret.len()),
        "db=***".to_owned(),
        format!("db-length={}", DB_PASSWORD.len()),
        "tree-ok".to_owned(),
    ] {
        assert!(
            lines.contains(&want),
            "{want} missing from the log: {lines:#?}"
        );
    }
    for planted in [secret, DB_PASSWORD] {
        assert!(
            !stdout.contains(planted) && !stderr.contains(planted),
            "{planted} leaked"
        );
    }
    let spec = tree
        .path()
        .join(format!(".cbdash/reproduce/{name}.buildspec.yml"));
    assert_eq!(
        std::fs::read_to_string(spec).expect("inline buildspec"),
        SPEC
    );
}

#[test]
fn an_unknown_project_is_a_clear_usage_error() {
    let Some(endpoint) = require("CBDASH_TEST_AWS_ENDPOINT") else {
        return;
    };
    let out = cbdash_on(&endpoint)
        .args([
            "cloud",
            "--region",
            "us-east-1",
            "reproduce",
            "no-such-project",
            "--plain",
        ])
        .output()
        .expect("run cbdash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("project no-such-project was not found"),
        "{stderr}"
    );
}

/// A project on one of CodeBuild's Ubuntu `standard` images, which AWS does not publish:
/// the reproduction stops before any container with what to do, instead of a FAULT in
/// PROVISIONING.
#[tokio::test]
async fn a_project_on_an_unpublished_curated_image_stops_with_what_to_do() {
    let (Some(endpoint), Some(_)) = (
        require("CBDASH_TEST_AWS_ENDPOINT"),
        require("CBDASH_TEST_IMAGE"),
    ) else {
        return;
    };
    let name = format!(
        "repro-std-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    make_project(&endpoint, &name, "aws/codebuild/standard:7.0", "unused").await;
    let tree = tempfile::tempdir().expect("tempdir");
    let out = cbdash_on(&endpoint)
        .args(["cloud", "--region", "us-east-1", "reproduce", &name])
        .arg(tree.path())
        .arg("--plain")
        .output()
        .expect("run cbdash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("docker build -t aws/codebuild/standard:7.0 aws-codebuild-docker-images/ubuntu/standard/7.0"),
        "{stderr}"
    );
    assert!(stderr.contains("--image NAME"), "{stderr}");
    assert!(!stdout.contains("FAULT"), "{stdout}");
    assert_eq!(crate::common::containers_of_project(&name), "");
}

/// Tags an image under another name for the life of the guard (only if that name was
/// absent; only then is it untagged).
struct Tagged(Option<String>);

impl Tagged {
    fn new(image: &str, name: &str) -> Self {
        let present = |n: &str| {
            Command::new("docker")
                .args(["image", "inspect", n])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if present(name) {
            return Self(None);
        }
        let ok = Command::new("docker")
            .args(["tag", image, name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "docker tag {image} {name}");
        Self(Some(name.to_owned()))
    }
}

impl Drop for Tagged {
    fn drop(&mut self) {
        if let Some(name) = &self.0 {
            let _ = Command::new("docker").args(["rmi", name]).output();
        }
    }
}

/// A project on a curated Amazon Linux image runs as the public image AWS publishes for it
/// (offline, the test image stands in for it under that name).
#[tokio::test]
async fn a_project_on_a_published_curated_image_runs_as_the_public_image() {
    let (Some(endpoint), Some(image)) = (
        require("CBDASH_TEST_AWS_ENDPOINT"),
        require("CBDASH_TEST_IMAGE"),
    ) else {
        return;
    };
    let curated = "aws/codebuild/amazonlinux-x86_64-standard:5.0";
    let public = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0";
    let _tag = Tagged::new(&image, public);
    let name = format!(
        "repro-al-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    make_project(&endpoint, &name, curated, "s3cret-al").await;
    let tree = tempfile::tempdir().expect("tempdir");
    std::fs::write(tree.path().join("from-the-tree.txt"), "x").expect("write");
    let out = cbdash_on(&endpoint)
        .args(["cloud", "--region", "us-east-1", "reproduce", &name])
        .arg(tree.path())
        .args(["--json", "--pull", "never"])
        .output()
        .expect("run cbdash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("NDJSON"))
        .collect();
    let started = events
        .iter()
        .find(|e| e["type"] == "build_started")
        .expect("build_started");
    assert_eq!(started["image"], public);
    let lines: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "log")
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("Image {curated} is CodeBuild's name for {public}"))),
        "{lines:#?}"
    );
    assert!(lines.contains(&"stage=prod"), "{lines:#?}");
}
