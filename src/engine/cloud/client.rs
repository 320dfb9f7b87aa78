//! Connecting to AWS for one [`CloudTarget`], and turning SDK errors into [`CloudError`]s.
//!
//! The credentials, region and endpoint come from aws-config's default chain (environment,
//! profiles, SSO, `credential_process`, container and instance roles); `AWS_ENDPOINT_URL` is
//! honoured by that chain, which is how the tests point cbdash at moto or the fake endpoint.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_codebuild::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::{CloudError, CloudTarget};

/// The three service clients of one target, and its group label.
#[derive(Clone, Debug)]
pub struct CloudClients {
    pub group: String,
    pub codebuild: aws_sdk_codebuild::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ecr: aws_sdk_ecr::Client,
    /// The loaded config, for the other services a target needs now and then (SSM and
    /// Secrets Manager when a cloud build is reproduced locally).
    pub config: aws_config::SdkConfig,
}

/// How to build the clients. The defaults are what users get; the other fields let tests
/// aim at an emulator without touching the process environment.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Let the SDK retry throttles and 5xx itself (off where cbdash's own backoff is tested).
    pub sdk_retries: bool,
    /// An endpoint for every service (else `AWS_ENDPOINT_URL` or the real one).
    pub endpoint_url: Option<String>,
    /// Fixed access key and secret instead of the default chain.
    pub static_credentials: Option<(String, String)>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            sdk_retries: true,
            endpoint_url: None,
            static_credentials: None,
        }
    }
}

impl CloudClients {
    /// Loads the shared config for `target` and builds the clients. Loading does not call AWS:
    /// missing credentials show up on the first call, as a [`CloudError::Credentials`].
    pub async fn connect(target: &CloudTarget, opts: &ConnectOptions) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &target.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &opts.static_credentials {
            loader = loader.credentials_provider(aws_sdk_codebuild::config::Credentials::new(
                key, secret, None, None, "static",
            ));
        }
        if !opts.sdk_retries {
            loader = loader.retry_config(RetryConfig::disabled());
        }
        let conf = loader.load().await;
        Self {
            group: target.label(),
            codebuild: aws_sdk_codebuild::Client::new(&conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
            ecr: aws_sdk_ecr::Client::new(&conf),
            config: conf,
        }
    }
}

/// Error codes that mean "your credentials are not good", across services.
const CREDENTIAL_CODES: [&str; 6] = [
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
];

/// Maps any SDK error onto a [`CloudError`]. `group` names the target for credential errors.
pub fn classify<E, R>(operation: &str, group: &str, err: &SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    let operation = operation.to_owned();
    let full = DisplayErrorContext(err).to_string();
    match err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or_default();
            let message = err.message().unwrap_or(code).to_owned();
            let status = err.raw_response().map_or(0, HasStatus::status_u16);
            // A success status whose body did not parse: nothing the service meant to say.
            if code.is_empty() && (200..300).contains(&status) {
                return CloudError::Garbled {
                    operation,
                    message: full,
                };
            }
            classify_code(operation, group, code, message, status)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => CloudError::Unreachable {
            operation,
            message: full,
        },
        SdkError::ResponseError(_) => {
            let status = err.raw_response().map_or(0, HasStatus::status_u16);
            if status >= 500 {
                CloudError::Server {
                    operation,
                    status,
                    message: "malformed error body".into(),
                }
            } else {
                CloudError::Garbled {
                    operation,
                    message: full,
                }
            }
        }
        _ if full.contains("credentials") => CloudError::Credentials {
            group: group.to_owned(),
            message: full,
        },
        _ => CloudError::Api {
            operation,
            message: full,
        },
    }
}

/// The service-error half of [`classify`]: by error code, then by HTTP status.
fn classify_code(
    operation: String,
    group: &str,
    code: &str,
    message: String,
    status: u16,
) -> CloudError {
    if CREDENTIAL_CODES.contains(&code) {
        return CloudError::Credentials {
            group: group.to_owned(),
            message,
        };
    }
    match code {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => CloudError::Throttled { operation, message },
        "AccessDeniedException" | "AccessDenied" => CloudError::AccessDenied { operation, message },
        "ResourceNotFoundException" | "RepositoryNotFoundException" | "ImageNotFoundException" => {
            CloudError::NotFound { what: message }
        }
        "InvalidInputException" => CloudError::InvalidInput(format!("{operation}: {message}")),
        _ if status >= 500 => CloudError::Server {
            operation,
            status,
            message,
        },
        _ => CloudError::Api {
            operation,
            message: format!("{code}: {message}"),
        },
    }
}

/// The HTTP status of a raw response, whatever its type.
pub trait HasStatus {
    fn status_u16(&self) -> u16;
}

impl HasStatus for aws_sdk_codebuild::config::http::HttpResponse {
    fn status_u16(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_errors() {
        let c = |code: &str, status| classify_code("Op".into(), "p/r", code, "m".into(), status);
        assert!(matches!(
            c("ThrottlingException", 400),
            CloudError::Throttled { .. }
        ));
        assert!(c("ThrottlingException", 400).is_retryable());
        assert!(matches!(
            c("ExpiredTokenException", 400),
            CloudError::Credentials { .. }
        ));
        assert!(matches!(
            c("AccessDeniedException", 400),
            CloudError::AccessDenied { .. }
        ));
        assert!(matches!(
            c("InternalFailure", 500),
            CloudError::Server { status: 500, .. }
        ));
        assert!(matches!(
            c("InvalidInputException", 400),
            CloudError::InvalidInput(_)
        ));
        assert!(!c("Whatever", 400).is_retryable());
    }

    #[test]
    fn target_labels_name_the_group() {
        let t = CloudTarget {
            profile: Some("dev".into()),
            region: None,
        };
        let none = |_: &str| None;
        assert_eq!(t.resolved(none), ("dev".into(), "default".into()));
        let env = |n: &str| (n == "AWS_DEFAULT_REGION").then(|| "eu-west-3".to_owned());
        assert_eq!(t.resolved(env), ("dev".into(), "eu-west-3".into()));
    }
}
