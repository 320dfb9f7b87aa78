//! Daemon liveness: a build must not hang when the Docker daemon goes away or stops
//! answering. The exec stream of a quiet command cannot tell a dead daemon from a command
//! that prints nothing, so while a phase runs [`daemon_lost`] pings the daemon on its own
//! connection; the first ping that fails or stays unanswered ends the phase as a FAULT.
//! Every call made while cleaning up is bounded the same way ([`bounded`]).

use std::time::Duration;

use bollard::Docker;

/// Time between two pings while a phase runs.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How long a ping may take before the daemon counts as stalled.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one cleanup call (removing the container) may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The daemon's address, for messages.
#[must_use]
pub fn host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// Pings once; the reason when the daemon did not answer in time.
pub async fn check(docker: &Docker) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", PING_TIMEOUT.as_secs())),
    }
}

/// Resolves (with the message for the phase's context) once the daemon stops answering;
/// never resolves while it answers.
pub async fn daemon_lost(docker: &Docker) -> String {
    loop {
        tokio::time::sleep(INTERVAL).await;
        if let Err(reason) = check(docker).await {
            return lost_message(&reason);
        }
    }
}

/// The context message of a build that lost its daemon.
#[must_use]
pub fn lost_message(reason: &str) -> String {
    format!(
        "lost the Docker daemon at '{}' ({reason}); the build cannot go on",
        host()
    )
}

/// Runs a Docker call with a deadline; `Err` says it did not answer in time.
pub async fn bounded<T>(limit: Duration, fut: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| format!("the Docker daemon did not answer within {limit:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_calls_end_at_their_deadline() {
        let slow = bounded(Duration::from_millis(20), std::future::pending::<()>()).await;
        assert_eq!(
            slow,
            Err("the Docker daemon did not answer within 20ms".to_owned())
        );
        assert_eq!(bounded(Duration::from_secs(1), async { 7 }).await, Ok(7));
    }

    #[test]
    fn the_lost_message_names_the_daemon_and_the_reason() {
        let m = lost_message("no answer within 3s");
        assert!(m.starts_with("lost the Docker daemon at '"), "{m}");
        assert!(m.contains("(no answer within 3s)"), "{m}");
    }
}
