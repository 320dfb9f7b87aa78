//! Keys and actions. The keymap is data: `config/default.toml` binds key names to
//! [`Action`]s, the user's config overrides per action, and the help overlay and the status
//! line's hints are generated from the same table (its reverse map).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A key as the dashboard sees it, independent of the terminal library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

/// A key without its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
}

impl Key {
    /// A plain key.
    #[must_use]
    pub const fn new(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// A plain character key.
    #[must_use]
    pub const fn char(c: char) -> Self {
        Self::new(KeyCode::Char(c))
    }

    /// Ctrl + a character.
    #[must_use]
    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// Parses a key name: `q`, `G`, `?`, `enter`, `esc`, `tab`, `backtab`, `up`, `pgdn`,
    /// `ctrl-d`, `alt-x`.
    pub fn parse(name: &str) -> Result<Self, KeymapError> {
        let bad = || KeymapError::BadKey(name.to_owned());
        let mut key = Self::new(KeyCode::Esc);
        let mut rest = name;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                key.ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                key.alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        key.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest {
                "enter" => KeyCode::Enter,
                "esc" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" => KeyCode::PageUp,
                "pgdn" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                _ => return Err(bad()),
            },
        };
        Ok(key)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
        }
    }
}

/// Everything a key can do. Names in the config file are the `snake_case` variant names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    Top,
    Bottom,
    HalfPageUp,
    HalfPageDown,
    FocusNext,
    NextGroup,
    LocalGroup,
    CloudGroup,
    Palette,
    Open,
    Builds,
    Rerun,
    RerunAll,
    Stop,
    Shell,
    Watch,
    Reproduce,
    Search,
    SearchNext,
    SearchPrev,
    FilterMatches,
    FilterInverse,
    Wrap,
    Timestamps,
    NextPhase,
    PrevPhase,
    CopyLine,
    SaveLog,
    Diagnosis,
    NextFailed,
    Messages,
    Reports,
    CacheReport,
}

impl Action {
    /// Every action, in help order.
    pub const ALL: [Self; 38] = [
        Self::Help,
        Self::Quit,
        Self::Back,
        Self::Up,
        Self::Down,
        Self::Top,
        Self::Bottom,
        Self::HalfPageUp,
        Self::HalfPageDown,
        Self::FocusNext,
        Self::NextGroup,
        Self::LocalGroup,
        Self::CloudGroup,
        Self::Palette,
        Self::Open,
        Self::Builds,
        Self::Rerun,
        Self::RerunAll,
        Self::Stop,
        Self::Shell,
        Self::Watch,
        Self::Reproduce,
        Self::Search,
        Self::SearchNext,
        Self::SearchPrev,
        Self::FilterMatches,
        Self::FilterInverse,
        Self::Wrap,
        Self::Timestamps,
        Self::NextPhase,
        Self::PrevPhase,
        Self::CopyLine,
        Self::SaveLog,
        Self::Diagnosis,
        Self::NextFailed,
        Self::Messages,
        Self::Reports,
        Self::CacheReport,
    ];

    /// The action with this config name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// A short description for the help overlay and hints (at most 22 characters: the help
    /// fits two columns on an 80-column screen without wrapping).
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "help",
            Self::Back => "back / clear",
            Self::Up => "up",
            Self::Down => "down",
            Self::Top => "top",
            Self::Bottom => "bottom, follow",
            Self::HalfPageUp => "half page up",
            Self::HalfPageDown => "half page down",
            Self::FocusNext => "projects <-> log",
            Self::NextGroup => "next group",
            Self::LocalGroup => "local group",
            Self::CloudGroup => "cloud group",
            Self::Palette => "jump to project",
            Self::Open => "open",
            Self::Builds => "builds list",
            Self::Rerun => "run / resume failed",
            Self::RerunAll => "run form (options)",
            Self::Stop => "stop build",
            Self::Shell => "shell / debug session",
            Self::Watch => "re-run on file change",
            Self::Reproduce => "cloud build, locally",
            Self::Search => "search log",
            Self::SearchNext => "next match",
            Self::SearchPrev => "previous match",
            Self::FilterMatches => "only matching lines",
            Self::FilterInverse => "hide matching lines",
            Self::Wrap => "wrap lines",
            Self::Timestamps => "timestamps",
            Self::NextPhase => "next phase start",
            Self::PrevPhase => "previous phase start",
            Self::CopyLine => "copy line",
            Self::SaveLog => "save log to file",
            Self::Diagnosis => "why it failed",
            Self::NextFailed => "next failed batch node",
            Self::Messages => "errors in full",
            Self::Reports => "test reports, failures",
            Self::CacheReport => "layer cache report",
        }
    }
}

/// A keymap that cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error(
        "unknown key '{0}'; use a character, enter, esc, tab, backtab, up, down, left, right, home, end, pgup, pgdn, space, with optional ctrl-/alt- prefixes"
    )]
    BadKey(String),
    #[error("unknown action '{0}' in [keys]; see config/default.toml for the action names")]
    UnknownAction(String),
    #[error("key '{key}' is bound to both '{first}' and '{second}'; bind it to one action")]
    Conflict {
        key: String,
        first: String,
        second: String,
    },
}

/// Key → action, and its reverse for help.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keymap {
    by_key: BTreeMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// Builds a keymap from `action = ["key", ...]` bindings.
    pub fn from_bindings(bindings: &BTreeMap<String, Vec<String>>) -> Result<Self, KeymapError> {
        let mut map = Self::default();
        for (name, keys) in bindings {
            let action =
                &Action::from_name(name).ok_or_else(|| KeymapError::UnknownAction(name.clone()))?;
            for name in keys {
                let key = Key::parse(name)?;
                if let Some(prev) = map.by_key.insert(key, *action)
                    && prev != *action
                {
                    return Err(KeymapError::Conflict {
                        key: name.clone(),
                        first: snake(prev),
                        second: snake(*action),
                    });
                }
                map.by_action.entry(*action).or_default().push(key);
            }
        }
        Ok(map)
    }

    /// The action bound to a key.
    #[must_use]
    pub fn action(&self, key: Key) -> Option<Action> {
        self.by_key.get(&key).copied()
    }

    /// The keys bound to an action.
    #[must_use]
    pub fn keys(&self, action: Action) -> &[Key] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `k1/k2` for an action, or empty when unbound.
    #[must_use]
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// An action's config name.
#[must_use]
pub fn snake(action: Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        for name in [
            "q", "G", "?", "ctrl-d", "alt-x", "enter", "pgdn", "space", "backtab",
        ] {
            let k = Key::parse(name).expect(name);
            assert_eq!(k.to_string(), name);
        }
        assert_eq!(Key::parse("ctrl-u"), Ok(Key::ctrl('u')));
        assert!(matches!(Key::parse("hyper-q"), Err(KeymapError::BadKey(_))));
    }

    #[test]
    fn conflicting_bindings_are_rejected() {
        let mut b = BTreeMap::new();
        b.insert("quit".to_owned(), vec!["q".to_owned()]);
        b.insert("stop".to_owned(), vec!["q".to_owned()]);
        let err = Keymap::from_bindings(&b).expect_err("conflict");
        assert!(
            err.to_string()
                .contains("'q' is bound to both 'quit' and 'stop'"),
            "{err}"
        );
    }

    #[test]
    fn every_action_has_a_config_name() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(&snake(a)), Some(a), "{a:?}");
        }
        let mut b = BTreeMap::new();
        b.insert("fly".to_owned(), vec!["f".to_owned()]);
        assert_eq!(
            Keymap::from_bindings(&b),
            Err(KeymapError::UnknownAction("fly".into()))
        );
    }

    #[test]
    fn descriptions_fit_the_help_at_80_columns() {
        for a in Action::ALL {
            assert!(
                a.describe().chars().count() <= 22,
                "{a:?}: {}",
                a.describe()
            );
        }
    }
}
