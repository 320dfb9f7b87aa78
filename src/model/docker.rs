//! How a local build reaches a Docker daemon: the one choice users make per project
//! (`.cbdash.toml`, `--docker-socket`, `--privileged`, the dashboard's run form), shown in the
//! build's title.

use std::fmt;

/// How the build's `docker` commands reach a daemon.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DockerAccess {
    /// No daemon: `docker` commands in the build fail ("Cannot connect to the Docker daemon").
    #[default]
    None,
    /// The host's socket is mounted into the build: the host's daemon and layer cache.
    HostSocket,
    /// CodeBuild's privileged mode: the image's own daemon, started before the build.
    Privileged,
}

impl DockerAccess {
    /// Every mode, in the order a form cycles through them.
    pub const ALL: [Self; 3] = [Self::None, Self::HostSocket, Self::Privileged];

    /// From the two flags of `cbdash run` (privileged wins, as the engine starts the image's
    /// daemon then).
    #[must_use]
    pub const fn from_flags(docker_socket: bool, privileged: bool) -> Self {
        if privileged {
            Self::Privileged
        } else if docker_socket {
            Self::HostSocket
        } else {
            Self::None
        }
    }

    /// The key's value in `.cbdash.toml` and in `--docker` style text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::HostSocket => "host socket",
            Self::Privileged => "privileged",
        }
    }
}

impl fmt::Display for DockerAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
