//! The async event loop around the pure core: reads the terminal and the executor's messages,
//! folds them through `update`, performs terminal effects, hands build effects to the
//! executor, and draws.
//!
//! Responsiveness rules: input is polled first (`biased` select), executor messages are
//! drained in batches (`recv_many`), and a frame is drawn only when something changed, at
//! most `max_fps` times a second; a key press is drawn at once if the last frame is older
//! than one frame interval. The clock reaches the state as `Msg::Tick` four times a second.

use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use ratatui::crossterm::event::{
    Event, EventStream, KeyCode as CtKey, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};
use tokio::sync::mpsc;

use super::keymap::{Key, KeyCode, Keymap};
use super::msg::{Effect, Msg};
use super::state::State;
use super::term::{self, TermGuard};
use super::theme::Theme;
use super::update::{flash, update};
use super::view::{self, Ctx};
use crate::model::NoticeLevel;

/// How the event loop runs.
#[derive(Clone, Copy, Debug)]
pub struct LoopOptions {
    pub mouse: bool,
    pub max_fps: u16,
}

/// The executor's request for the terminal (a shell in a build container, `e`): the shell
/// leaves raw mode and the alternate screen and stops reading input, says so on `ready`, and
/// takes the terminal back when `done` fires or is dropped.
#[derive(Debug)]
pub struct Suspend {
    pub ready: tokio::sync::oneshot::Sender<()>,
    pub done: tokio::sync::oneshot::Receiver<()>,
}

impl Suspend {
    /// Asks the event loop on `suspends` for the terminal and waits until it is given up: the
    /// sender that gives it back (when sent on or dropped); `None` when the loop is gone.
    pub async fn terminal(
        suspends: &mpsc::Sender<Suspend>,
    ) -> Option<tokio::sync::oneshot::Sender<()>> {
        let (ready, ready_rx) = tokio::sync::oneshot::channel();
        let (done, done_rx) = tokio::sync::oneshot::channel();
        let asked = suspends.send(Suspend {
            ready,
            done: done_rx,
        });
        if asked.await.is_err() || ready_rx.await.is_err() {
            return None;
        }
        Some(done)
    }
}

/// The event loop failed (the terminal went away).
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("terminal error: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the dashboard until the user quits. `msgs` carries the executor's messages;
/// build effects go to `effects`; `suspends` asks for the terminal (see [`Suspend`]).
/// Returns the final state.
pub async fn run(
    mut state: State,
    keymap: &Keymap,
    theme: &Theme,
    opts: LoopOptions,
    mut msgs: mpsc::Receiver<Msg>,
    effects: mpsc::Sender<Effect>,
    mut suspends: mpsc::Receiver<Suspend>,
) -> Result<State, ShellError> {
    let mut guard = TermGuard::enter(opts.mouse)?;
    let size = guard.terminal.size()?;
    update(
        &mut state,
        keymap,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let frame = Duration::from_millis(1000 / u64::from(opts.max_fps.clamp(1, 120)));
    let mut ticker = tokio::time::interval(frame);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut input = EventStream::new();
    let mut batch = Vec::with_capacity(256);
    let mut last_draw = Instant::now()
        .checked_sub(frame)
        .unwrap_or_else(Instant::now);
    let mut last_clock = Instant::now();
    let mut dirty = true;
    let mut executor_open = true;
    let ctx = Ctx { keymap, theme };
    // Messages the event loop sends itself (a search continuing), handled after input.
    let mut own: Vec<Msg> = Vec::new();
    while !state.quitting {
        let mut urgent = false;
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                Some(Ok(ev)) => {
                    for msg in to_msgs(&ev) {
                        let fx = update(&mut state, keymap, msg);
                        own.extend(perform(&mut state, &mut guard, &effects, fx));
                    }
                    dirty = true;
                    urgent = true;
                }
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            () = std::future::ready(()), if !own.is_empty() => {
                for msg in std::mem::take(&mut own) {
                    let fx = update(&mut state, keymap, msg);
                    own.extend(perform(&mut state, &mut guard, &effects, fx));
                }
                dirty = true;
            },
            n = msgs.recv_many(&mut batch, 256), if executor_open => {
                if n == 0 {
                    executor_open = false;
                }
                for msg in batch.drain(..) {
                    let fx = update(&mut state, keymap, msg);
                    own.extend(perform(&mut state, &mut guard, &effects, fx));
                }
                dirty = true;
            },
            Some(request) = suspends.recv() => {
                // Hand the terminal over until the executor is done with it, then redraw all.
                drop(input);
                drop(guard);
                let _ = request.ready.send(());
                let _ = request.done.await;
                guard = TermGuard::enter(opts.mouse)?;
                input = EventStream::new();
                guard.terminal.clear()?;
                let size = guard.terminal.size()?;
                update(&mut state, keymap, Msg::Resize { width: size.width, height: size.height });
                dirty = true;
                urgent = true;
            },
            _ = ticker.tick() => {
                if last_clock.elapsed() >= Duration::from_millis(250) {
                    last_clock = Instant::now();
                    update(&mut state, keymap, Msg::Tick(Utc::now()));
                    // A running batch's graph counts its nodes' time (cloud ones too).
                    let batch = crate::tui::batch::graph_shown(&state)
                        && crate::tui::batch::shown(&state).is_some_and(|(b, _)| b.running());
                    dirty |= state.any_running() || state.flash.is_some() || batch;
                }
            },
        }
        if dirty && (urgent || last_draw.elapsed() >= frame) {
            guard.terminal.draw(|f| view::render(f, &state, &ctx))?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
    Ok(state)
}

/// Performs terminal effects here and forwards build effects to the executor; returns the
/// messages the event loop sends itself.
fn perform(
    state: &mut State,
    guard: &mut TermGuard,
    executor: &mpsc::Sender<Effect>,
    fx: Vec<Effect>,
) -> Vec<Msg> {
    let mut own = Vec::new();
    for effect in fx {
        if effect == Effect::ContinueSearch {
            own.push(Msg::ContinueSearch);
            continue;
        }
        let result = if effect.for_executor() {
            executor
                .try_send(effect)
                .map_err(|e| format!("cannot reach the build executor: {e}"))
        } else {
            terminal_effect(state, guard, &effect)
        };
        if let Err(msg) = result {
            tracing::warn!("{msg}");
            flash(state, NoticeLevel::Error, msg);
        }
    }
    own
}

/// `notify-send` in the background; a missing or failing one is not worth a flash (the bell
/// and OSC 9 went out anyway).
fn desktop_notification(text: &str) {
    let spawned = std::process::Command::new("notify-send")
        .args(["cbdash", text])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut child) = spawned {
        // Reap it off the UI thread.
        std::thread::spawn(move || child.wait());
    }
}

fn terminal_effect(
    state: &mut State,
    guard: &mut TermGuard,
    effect: &Effect,
) -> Result<(), String> {
    match effect {
        Effect::Clipboard(text) => guard
            .write_raw(&term::osc52(text))
            .map_err(|e| e.to_string()),
        Effect::Notify(text) => {
            if state.options.desktop_notify {
                desktop_notification(text);
            }
            guard
                .write_raw(&term::notification(text))
                .map_err(|e| e.to_string())
        }
        Effect::SaveFile { path, contents } => super::files::save(path, contents).map(|full| {
            flash(
                state,
                NoticeLevel::Info,
                format!("saved {}", full.display()),
            );
        }),
        _ => Ok(()),
    }
}

/// Terminal events as messages (key releases and repeats are dropped).
fn to_msgs(ev: &Event) -> Vec<Msg> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => {
            to_key(k).map(Msg::Key).into_iter().collect()
        }
        Event::Resize(width, height) => vec![Msg::Resize {
            width: *width,
            height: *height,
        }],
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => vec![Msg::Key(Key::new(KeyCode::Up)); 3],
            MouseEventKind::ScrollDown => vec![Msg::Key(Key::new(KeyCode::Down)); 3],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn to_key(k: &KeyEvent) -> Option<Key> {
    let code = match k.code {
        CtKey::Char(c) => KeyCode::Char(c),
        CtKey::Enter => KeyCode::Enter,
        CtKey::Esc => KeyCode::Esc,
        CtKey::Tab => KeyCode::Tab,
        CtKey::BackTab => KeyCode::BackTab,
        CtKey::Backspace => KeyCode::Backspace,
        CtKey::Up => KeyCode::Up,
        CtKey::Down => KeyCode::Down,
        CtKey::Left => KeyCode::Left,
        CtKey::Right => KeyCode::Right,
        CtKey::Home => KeyCode::Home,
        CtKey::End => KeyCode::End,
        CtKey::PageUp => KeyCode::PageUp,
        CtKey::PageDown => KeyCode::PageDown,
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: k.modifiers.contains(KeyModifiers::CONTROL),
        alt: k.modifiers.contains(KeyModifiers::ALT),
    })
}
