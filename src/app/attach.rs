//! The terminal side of `cbdash shell BUILD_ID` and of `e` in the dashboard: an interactive
//! shell in a kept build's container (the engine opens the TTY exec; this file connects it to
//! the host terminal).
//!
//! The terminal goes to raw mode (when it is one) so every key reaches the shell; input is
//! read by a thread that polls the terminal with a short timeout and stops as soon as the
//! shell ends, so no keystroke meant for whatever comes next (the dashboard) is taken. A
//! window resize (SIGWINCH) resizes the TTY. When stdin is not a terminal and ends, a Ctrl-D
//! is sent, so `echo 'make test' | cbdash shell ID` runs and returns.

use std::io::IsTerminal as _;
use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use crate::engine::local::{ShellRequest, ShellSession};

/// The request for a shell of the size of this terminal.
#[must_use]
pub fn request(build_id: &str) -> ShellRequest {
    let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
    ShellRequest {
        build_id: build_id.to_owned(),
        cols,
        rows,
        term: std::env::var("TERM")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "xterm-256color".into()),
    }
}

/// Connects the shell to this process's terminal until it exits; returns its exit code.
/// The caller must not be reading the terminal meanwhile (the dashboard suspends first).
pub async fn attach(session: ShellSession) -> Result<i64> {
    let ShellSession {
        mut input,
        mut output,
        control,
        ..
    } = session;
    let raw = RawMode::enter();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut keys) = mpsc::channel::<Vec<u8>>(64);
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || read_input(&tx, &stop))
    };
    let mut resized = window_changes();
    let mut out = tokio::io::stdout();
    let mut input_open = true;
    let result: Result<()> = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    out.write_all(&bytes).await.context("cannot write to the terminal")?;
                    out.flush().await.context("cannot write to the terminal")?;
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            key = keys.recv(), if input_open => {
                // Typing into a shell that just exited is no error. When input ends (not a
                // terminal), Ctrl-D ends the shell as a user would.
                input_open = key.is_some();
                let bytes = key.unwrap_or_else(|| b"\x04".to_vec());
                let _ = input.write_all(&bytes).await;
            },
            Some(()) = resized.recv() => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = control.resize(cols, rows).await;
                }
            }
        }
    };
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    drop(raw);
    result?;
    Ok(control.finish().await?)
}

/// Reads stdin until `stop`, polling so that it never blocks past the shell's end.
fn read_input(tx: &mpsc::Sender<Vec<u8>>, stop: &AtomicBool) {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let timeout = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        match rustix::io::read(fd, &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.blocking_send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        }
    }
}

/// SIGWINCH as a stream of `()`.
fn window_changes() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while sig.recv().await.is_some() {
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Raw mode while the shell runs, when stdin is a terminal; restored on drop.
struct RawMode(bool);

impl RawMode {
    fn enter() -> Self {
        let on = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        Self(on)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}
