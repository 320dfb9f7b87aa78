//! The terminal guard: raw mode + alternate screen (+ mouse capture when opted in) on the
//! way in, everything undone on the way out, whether by return, error or panic. The panic
//! hook that `ratatui::try_init` installs restores the terminal *before* the message is
//! printed, so a panic never leaves a garbled shell.

use std::io::{self, Write};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

/// Owns the terminal while the dashboard runs.
pub struct TermGuard {
    pub terminal: DefaultTerminal,
    mouse: bool,
}

impl TermGuard {
    /// Enters raw mode and the alternate screen.
    pub fn enter(mouse: bool) -> io::Result<Self> {
        let terminal = ratatui::try_init()?;
        if mouse {
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        Ok(Self { terminal, mouse })
    }

    /// Writes raw bytes (an OSC 52 clipboard write, a bell) to the terminal.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut out = io::stdout();
        out.write_all(bytes)?;
        out.flush()
    }
}

impl Drop for TermGuard {
    fn drop(&mut self) {
        if self.mouse {
            // Best effort: the terminal may already be gone.
            let _ = execute!(io::stdout(), DisableMouseCapture);
        }
        ratatui::restore();
    }
}

/// OSC 52: put `text` on the terminal's clipboard.
#[must_use]
pub fn osc52(text: &str) -> Vec<u8> {
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text).bytes());
    out.push(0x07);
    out
}

/// Bell + OSC 9 desktop notification; the text loses any control character.
#[must_use]
pub fn notification(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    format!("\x07\x1b]9;cbdash: {clean}\x07").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_carries_the_text_in_base64() {
        assert_eq!(osc52("hi"), b"\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn notification_cannot_smuggle_escapes() {
        let n = notification("p: FAILED\x1b]52;c;x\x07");
        assert_eq!(n, b"\x07\x1b]9;cbdash: p: FAILED]52;c;x\x07");
    }
}
