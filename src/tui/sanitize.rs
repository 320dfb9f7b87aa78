//! Build output is untrusted: this module turns a raw log line into a *safe* line and safe
//! lines into styled spans.
//!
//! A safe line is plain text plus, at most, normalised SGR sequences (`ESC [ digits;… m`), the
//! only escape a build may use (colours). Everything else is removed: CSI cursor moves and
//! erases, OSC titles / hyperlinks / clipboard writes, DCS/SOS/PM/APC strings, other `ESC x`
//! escapes, 8-bit C1 controls, C0 controls (tab is expanded to spaces), and bidirectional
//! override characters that can make a line read differently from what it contains. A line
//! with carriage returns (a progress display: docker's legacy builder writes
//! `Sending build context to Docker daemon  5.12kB\r\r`) keeps the last part that has
//! something to show, as a terminal would leave it on screen.
//!
//! [`spans`] then parses the kept SGR into ratatui [`Style`]s, so no escape byte ever reaches
//! the terminal except through ratatui's own styling. [`plain`] gives the text without SGR,
//! which is what search and filters match. Pure functions, no IO.

use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};

const ESC: char = '\u{1b}';
const TAB_WIDTH: usize = 8;

/// Sanitises one raw line. The result contains no control character other than `ESC` in a
/// well-formed SGR sequence.
#[must_use]
pub fn sanitize(raw: &str) -> Cow<'_, str> {
    // Most build output is printable ASCII: a byte scan says so without decoding characters
    // (a control is below 0x20 or 0x7f; every other character needing work is not ASCII).
    if raw.bytes().all(|b| (0x20..0x7f).contains(&b)) || raw.chars().all(|c| !needs_work(c)) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(sanitize_slow(raw))
}

fn needs_work(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// Bidirectional embedding/override/isolate characters (the "trojan source" set).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn sanitize_slow(raw: &str) -> String {
    if raw.contains('\r') {
        // The parts overwrite each other: the last one that shows something stays.
        return raw
            .split('\r')
            .rev()
            .map(sanitize_part)
            .find(|safe| !plain(safe).trim().is_empty())
            .unwrap_or_default();
    }
    sanitize_part(raw)
}

/// Sanitises a line with no carriage return.
fn sanitize_part(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut col = 0usize;
    while let Some(c) = chars.next() {
        match c {
            ESC => escape(&mut chars, &mut out),
            '\u{9b}' => {
                skip_csi(&mut chars, &mut String::new());
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => {
                let n = TAB_WIDTH - col % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
                continue;
            }
            '\n' => out.push(' '),
            c if c.is_control() || is_bidi(c) => continue,
            c => out.push(c),
        }
        col += 1;
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an `ESC`: keep a well-formed SGR, drop anything else.
fn escape(chars: &mut Chars<'_>, out: &mut String) {
    match chars.next() {
        Some('[') => {
            let mut params = String::new();
            if skip_csi(chars, &mut params) {
                out.push(ESC);
                out.push('[');
                out.push_str(&params);
                out.push('m');
            }
        }
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            // `ESC ( B` and friends: intermediates, then one final byte.
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next();
        }
        _ => {}
    }
}

/// Consumes a CSI body. Returns true (with `params` filled) when it is an SGR with only
/// digits and `;` as parameters.
fn skip_csi(chars: &mut Chars<'_>, params: &mut String) -> bool {
    let mut intermediates = false;
    for c in chars.by_ref() {
        match c {
            '\u{30}'..='\u{3f}' => params.push(c),
            '\u{20}'..='\u{2f}' => intermediates = true,
            '\u{40}'..='\u{7e}' => {
                return c == 'm'
                    && !intermediates
                    && params.len() <= 64
                    && params.chars().all(|p| p.is_ascii_digit() || p == ';');
            }
            // Anything else aborts the sequence (as a terminal would); drop it too.
            _ => return false,
        }
    }
    false
}

/// Consumes an OSC/DCS/SOS/PM/APC string up to BEL, `ESC \` or C1 ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// The text of a safe line without its SGR sequences.
#[must_use]
pub fn plain(safe: &str) -> Cow<'_, str> {
    if !safe.contains(ESC) {
        return Cow::Borrowed(safe);
    }
    let mut out = String::with_capacity(safe.len());
    for (_, seg) in segments(safe) {
        if let Segment::Text(t) = seg {
            out.push_str(t);
        }
    }
    Cow::Owned(out)
}

enum Segment<'a> {
    Text(&'a str),
    Sgr(&'a str),
}

/// Splits a safe line into text and SGR parameter strings.
fn segments(safe: &str) -> impl Iterator<Item = (usize, Segment<'_>)> {
    let mut rest = safe;
    let mut pos = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let start = pos;
        if let Some(body) = rest.strip_prefix("\u{1b}[") {
            let end = body.find('m').unwrap_or(body.len());
            let params = &body[..end];
            let used = 2 + end + usize::from(end < body.len());
            rest = &rest[used..];
            pos += used;
            return Some((start, Segment::Sgr(params)));
        }
        let end = rest.find(ESC).unwrap_or(rest.len());
        let text = &rest[..end];
        rest = &rest[end..];
        pos += end;
        Some((start, Segment::Text(text)))
    })
}

/// Parses a safe line into `(style, text)` spans over `base`. With `colors` false (`NO_COLOR`)
/// only modifiers (bold, underline, …) are applied.
#[must_use]
pub fn spans(safe: &str, base: Style, colors: bool) -> Vec<(Style, &str)> {
    let mut style = base;
    let mut out = Vec::new();
    for (_, seg) in segments(safe) {
        match seg {
            Segment::Text(t) if !t.is_empty() => out.push((style, t)),
            Segment::Text(_) => {}
            Segment::Sgr(p) => style = apply_sgr(style, base, p, colors),
        }
    }
    out
}

/// Applies SGR parameters to a style.
fn apply_sgr(mut style: Style, base: Style, params: &str, colors: bool) -> Style {
    let mut it = params.split(';').map(|p| p.parse::<u16>().unwrap_or(0));
    while let Some(p) = it.next() {
        style = match p {
            0 => base,
            1 => style.add_modifier(Modifier::BOLD),
            2 => style.add_modifier(Modifier::DIM),
            3 => style.add_modifier(Modifier::ITALIC),
            4 => style.add_modifier(Modifier::UNDERLINED),
            7 => style.add_modifier(Modifier::REVERSED),
            9 => style.add_modifier(Modifier::CROSSED_OUT),
            22 => style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style.remove_modifier(Modifier::ITALIC),
            24 => style.remove_modifier(Modifier::UNDERLINED),
            27 => style.remove_modifier(Modifier::REVERSED),
            29 => style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 | 90..=97 if colors => style.fg(ansi(p % 10, p >= 90)),
            40..=47 | 100..=107 if colors => style.bg(ansi(p % 10, p >= 100)),
            38 | 48 => match extended(&mut it) {
                Some(c) if colors && p == 38 => style.fg(c),
                Some(c) if colors => style.bg(c),
                _ => style,
            },
            39 => style.fg(base.fg.unwrap_or(Color::Reset)),
            49 => style.bg(base.bg.unwrap_or(Color::Reset)),
            _ => style,
        };
    }
    style
}

/// `5;n` or `2;r;g;b` after 38/48.
fn extended(it: &mut impl Iterator<Item = u16>) -> Option<Color> {
    let byte = |v: u16| u8::try_from(v).ok();
    match it.next()? {
        5 => Some(Color::Indexed(byte(it.next()?)?)),
        2 => Some(Color::Rgb(
            byte(it.next()?)?,
            byte(it.next()?)?,
            byte(it.next()?)?,
        )),
        _ => None,
    }
}

fn ansi(n: u16, bright: bool) -> Color {
    match (n, bright) {
        (0, false) => Color::Black,
        (1, false) => Color::Red,
        (2, false) => Color::Green,
        (3, false) => Color::Yellow,
        (4, false) => Color::Blue,
        (5, false) => Color::Magenta,
        (6, false) => Color::Cyan,
        (7, false) => Color::Gray,
        (0, true) => Color::DarkGray,
        (1, true) => Color::LightRed,
        (2, true) => Color::LightGreen,
        (3, true) => Color::LightYellow,
        (4, true) => Color::LightBlue,
        (5, true) => Color::LightMagenta,
        (6, true) => Color::LightCyan,
        _ => Color::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(sanitize("hello world"), Cow::Borrowed(_)));
    }

    /// The printable-ASCII fast path agrees with the character rule on every ASCII character:
    /// a line is kept as it is exactly when it has no control.
    #[test]
    fn ascii_fast_path_matches_the_character_rule() {
        for b in 0u8..=0x7f {
            let raw = format!("a{}b", char::from(b));
            let kept = matches!(sanitize(&raw), Cow::Borrowed(_));
            assert_eq!(kept, !char::from(b).is_control(), "byte {b:#04x}");
            if !kept {
                assert!(!sanitize(&raw).chars().any(|c| c.is_control() && c != ESC));
            }
        }
        assert!(matches!(sanitize("héllo wörld"), Cow::Borrowed(_)));
        assert_eq!(sanitize("é\u{202e}x"), "éx");
    }

    #[test]
    fn keeps_sgr_and_strips_everything_else() {
        let raw = "\x1b[31mred\x1b[0m \x1b[2J\x1b[10;5Hmoved \x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b]52;c;ZXZpbA==\x07\x1bPq#0\x1b\\done\x1b(B\x07";
        let safe = sanitize(raw);
        assert_eq!(safe, "\x1b[31mred\x1b[0m moved link done");
        assert_eq!(plain(&safe), "red moved link done");
    }

    #[test]
    fn c1_and_bidi_are_removed_and_tabs_expand() {
        assert_eq!(sanitize("a\u{9b}2Jb\u{202e}c\u{9d}0;t\u{9c}d"), "abcd");
        assert_eq!(sanitize("a\tb"), "a       b");
        assert_eq!(sanitize("10%\r50%\r100%"), "100%");
        assert_eq!(sanitize("line\r"), "line");
    }

    #[test]
    fn carriage_returns_keep_the_last_part_with_content() {
        // Docker's legacy builder, as its CLI writes it.
        assert_eq!(
            sanitize("Sending build context to Docker daemon  5.12kB\r\r"),
            "Sending build context to Docker daemon  5.12kB"
        );
        assert_eq!(
            sanitize("\rdownloading 10%\rdownloading 99%\r\x1b[K\r"),
            "downloading 99%"
        );
        assert_eq!(sanitize("\x1b[32mok\x1b[0m\r   \r"), "\x1b[32mok\x1b[0m");
        assert_eq!(sanitize("\r\r"), "");
    }

    #[test]
    fn sgr_becomes_styles() {
        let s = spans(
            "\x1b[1;31mERR\x1b[0m ok \x1b[38;5;42mx\x1b[48;2;1;2;3my",
            Style::new(),
            true,
        );
        assert_eq!(
            s[0],
            (
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                "ERR"
            )
        );
        assert_eq!(s[1], (Style::new(), " ok "));
        assert_eq!(s[2].0.fg, Some(Color::Indexed(42)));
        assert_eq!(s[3].0.bg, Some(Color::Rgb(1, 2, 3)));
        let nc = spans("\x1b[1;31mERR", Style::new(), false);
        assert_eq!(nc[0], (Style::new().add_modifier(Modifier::BOLD), "ERR"));
    }

    #[test]
    fn non_sgr_csi_with_intermediates_is_dropped() {
        assert_eq!(sanitize("a\x1b[?25lb\x1b[1 qc\x1b[4:3md"), "abcd");
    }

    proptest! {
        #[test]
        fn output_never_leaks_an_escape(raw in "(\\PC|[\\x00-\\x1f\\x7f-\\x9f]|\x1b\\[[0-9;:?]{0,6}[@-~ ]?|\x1b\\][0-9;a-z]{0,5}){0,40}") {
            let safe = sanitize(&raw);
            for (_, text) in spans(&safe, Style::new(), true) {
                prop_assert!(!text.chars().any(char::is_control), "{text:?}");
            }
            let p = plain(&safe);
            prop_assert!(!p.chars().any(|c| c.is_control() || is_bidi(c)), "{p:?}");
            // Sanitising is idempotent.
            prop_assert_eq!(sanitize(&safe), safe.clone());
        }
    }
}
