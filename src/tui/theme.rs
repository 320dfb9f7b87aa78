//! Every style the dashboard uses, in one place, built from the `[theme]` config table.
//! With `NO_COLOR` set (or `colors = false`) only modifiers remain: bold, reversed,
//! underline, so status is still told apart by its icon and text.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};

use crate::model::{NoticeLevel, Status};

/// A theme entry that is not a colour.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "theme '{key}': '{value}' is not a colour; use a name (red, lightblue, ...), #rrggbb or default"
)]
pub struct ThemeError {
    pub key: String,
    pub value: String,
}

/// The dashboard's styles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub colors: bool,
    pub succeeded: Style,
    pub failed: Style,
    pub in_progress: Style,
    pub stopped: Style,
    pub accent: Style,
    pub dim: Style,
    pub highlight: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            colors: true,
            succeeded: Style::new().fg(Color::Green),
            failed: Style::new().fg(Color::Red),
            in_progress: Style::new().fg(Color::Yellow),
            stopped: Style::new().fg(Color::DarkGray),
            accent: Style::new().fg(Color::Cyan),
            dim: Style::new().fg(Color::DarkGray),
            highlight: Style::new().fg(Color::Black).bg(Color::Yellow),
        }
    }
}

impl Theme {
    /// Builds a theme from `[theme]`; `colors` false gives the monochrome theme.
    pub fn from_config(table: &BTreeMap<String, String>, colors: bool) -> Result<Self, ThemeError> {
        let mut t = Self::default();
        for (key, value) in table {
            let color = parse_color(value).ok_or_else(|| ThemeError {
                key: key.clone(),
                value: value.clone(),
            })?;
            let slot = match key.as_str() {
                "succeeded" => &mut t.succeeded,
                "failed" => &mut t.failed,
                "in_progress" => &mut t.in_progress,
                "stopped" => &mut t.stopped,
                "accent" => &mut t.accent,
                "dim" => &mut t.dim,
                "highlight" => {
                    t.highlight = Style::new().fg(Color::Black).bg(color);
                    continue;
                }
                _ => {
                    return Err(ThemeError {
                        key: key.clone(),
                        value: value.clone(),
                    });
                }
            };
            *slot = Style::new().fg(color);
        }
        if !colors {
            t = Self::monochrome();
        }
        Ok(t)
    }

    /// The `NO_COLOR` theme.
    #[must_use]
    pub fn monochrome() -> Self {
        let plain = Style::new();
        Self {
            colors: false,
            succeeded: plain,
            failed: plain.add_modifier(Modifier::BOLD),
            in_progress: plain.add_modifier(Modifier::BOLD),
            stopped: plain,
            accent: plain.add_modifier(Modifier::BOLD),
            dim: plain,
            highlight: plain.add_modifier(Modifier::REVERSED),
        }
    }

    /// The style of a status.
    #[must_use]
    pub const fn status(&self, s: Status) -> Style {
        match s {
            Status::Succeeded => self.succeeded,
            Status::Failed | Status::Fault | Status::TimedOut => self.failed,
            Status::InProgress => self.in_progress,
            Status::Stopped => self.stopped,
        }
    }

    /// The style of a flash message.
    #[must_use]
    pub const fn level(&self, l: NoticeLevel) -> Style {
        match l {
            NoticeLevel::Info => self.accent,
            NoticeLevel::Warning => self.in_progress,
            NoticeLevel::Error => self.failed,
        }
    }
}

/// Whether `NO_COLOR` asks for no colours (set and non-empty, per no-color.org).
#[must_use]
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn parse_color(name: &str) -> Option<Color> {
    if let Some(hex) = name.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == 6)?;
        let [_, r, g, b] = v.to_be_bytes();
        return Some(Color::Rgb(r, g, b));
    }
    if name == "default" {
        return Some(Color::Reset);
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_bad_ones_are_named() {
        let mut m = BTreeMap::new();
        m.insert("failed".to_owned(), "#ff0000".to_owned());
        m.insert("accent".to_owned(), "lightblue".to_owned());
        let t = Theme::from_config(&m, true).expect("theme");
        assert_eq!(t.failed.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.accent.fg, Some(Color::LightBlue));
        m.insert("dim".to_owned(), "mauve-ish".to_owned());
        let e = Theme::from_config(&m, true).expect_err("bad");
        assert!(e.to_string().contains("'mauve-ish'"), "{e}");
    }

    #[test]
    fn no_color_keeps_only_modifiers() {
        let t = Theme::from_config(&BTreeMap::new(), false).expect("theme");
        assert_eq!(t.failed.fg, None);
        assert!(t.failed.add_modifier.contains(Modifier::BOLD));
    }
}
