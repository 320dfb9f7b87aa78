//! A fault-injecting proxy between cbdash and the Docker daemon: a Unix socket that forwards
//! every connection to the real daemon's socket, byte for byte, in one of four modes that a
//! test switches at any moment:
//! - `Pass`: forward as is;
//! - `Delay(d)`: hold every chunk `d` before forwarding it (a slow daemon);
//! - `Stall`: accept and read, forward nothing (a daemon that hangs), until the mode changes;
//! - `Cut`: close every open connection now and every new one at once (a daemon gone);
//! - `HoldOn(texts)`: forward as is, but hold a request on its way to the daemon whose bytes
//!   hold every one of `texts` (`/containers/`, `/start`) until the mode changes, and say so
//!   ([`DockerProxy::held`]): what cbdash asked for has been made, not yet started, and can be
//!   inspected.
//!
//! cbdash is pointed at it with `DOCKER_HOST=unix://<proxy>`. It runs on its own tokio
//! runtime, stopped when the proxy drops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

/// What the proxy does with the bytes it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Delay(Duration),
    Stall,
    Cut,
    HoldOn(&'static [&'static str]),
}

/// A running proxy.
pub struct DockerProxy {
    path: PathBuf,
    mode: watch::Sender<Mode>,
    held: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl DockerProxy {
    /// The real daemon's socket from `DOCKER_HOST` (unix only), or `None` (skipped loudly,
    /// failing in CI).
    pub fn daemon_socket() -> Option<PathBuf> {
        let host = crate::common::require("DOCKER_HOST")?;
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(PathBuf::from(path));
        }
        assert!(
            !crate::common::in_ci(),
            "the Docker proxy needs a unix DOCKER_HOST, not {host}"
        );
        eprintln!("SKIPPED: the Docker proxy needs a unix DOCKER_HOST, not {host}");
        None
    }

    /// Starts a proxy in front of `daemon`, in `Pass` mode.
    pub fn start(daemon: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cbdash-proxy-")
            .tempdir()
            .expect("tempdir");
        let path = dir.path().join("docker.sock");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let (mode, rx) = watch::channel(Mode::Pass);
        let listener = {
            let _guard = runtime.enter();
            UnixListener::bind(&path).expect("bind the proxy socket")
        };
        let held = Arc::new(AtomicBool::new(false));
        runtime.spawn(accept(listener, daemon.to_path_buf(), rx, held.clone()));
        Self {
            path,
            mode,
            held,
            _runtime: runtime,
            _dir: dir,
        }
    }

    /// The value for `DOCKER_HOST`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Whether a request is held (`HoldOn`) right now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    /// Switches the mode, for open and new connections alike.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

async fn accept(
    listener: UnixListener,
    daemon: PathBuf,
    mode: watch::Receiver<Mode>,
    held: Arc<AtomicBool>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if *mode.borrow() == Mode::Cut {
            drop(client);
            continue;
        }
        let Ok(upstream) = UnixStream::connect(&daemon).await else {
            continue;
        };
        let (cr, cw) = client.into_split();
        let (dr, dw) = upstream.into_split();
        tokio::spawn(pump(cr, dw, mode.clone(), Some(held.clone())));
        tokio::spawn(pump(dr, cw, mode.clone(), None));
    }
}

/// Forwards one direction of a connection according to the mode; returns (dropping both
/// halves it holds) at end of stream or when the mode becomes `Cut`. `held` is given for the
/// direction towards the daemon, where `HoldOn` looks at requests.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    held: Option<Arc<AtomicBool>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
            () = until_cut(&mut mode) => return,
        };
        loop {
            let now = *mode.borrow_and_update();
            match now {
                Mode::Pass => break,
                Mode::HoldOn(texts) => {
                    let Some(flag) = &held else { break };
                    let chunk = &buf[..n];
                    let hit = texts
                        .iter()
                        .all(|t| chunk.windows(t.len()).any(|w| w == t.as_bytes()));
                    if !hit {
                        break;
                    }
                    flag.store(true, Ordering::SeqCst);
                    let changed = mode.changed().await;
                    flag.store(false, Ordering::SeqCst);
                    if changed.is_err() {
                        return;
                    }
                }
                Mode::Delay(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                Mode::Stall => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
                Mode::Cut => return,
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Resolves when the mode becomes `Cut` (or the proxy is gone).
async fn until_cut(mode: &mut watch::Receiver<Mode>) {
    let cut = mode.wait_for(|m| *m == Mode::Cut).await.is_ok();
    if !cut {
        std::future::pending::<()>().await;
    }
}
