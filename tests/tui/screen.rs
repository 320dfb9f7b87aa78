//! Reading a rendered screen in tests: draw a state at a size (the reducer told of the size
//! first, as the shell does), its rows as text, and where a text is on it.

use cbdash::tui::msg::Msg;
use cbdash::tui::state::State;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::fixtures;

/// `s` drawn at `w`x`h`, after the reducer has been told the size.
pub fn draw(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    let km = fixtures::keymap();
    fixtures::send(
        s,
        &km,
        Msg::Resize {
            width: w,
            height: h,
        },
    );
    fixtures::render(s, w, h)
}

/// Every row of the screen, as text.
pub fn rows(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect()
        })
        .collect()
}

/// Where `needle` first starts on the screen (column, row), in cells; a failed test shows
/// the whole screen.
pub fn find(term: &Terminal<TestBackend>, needle: &str) -> (u16, u16) {
    for (y, row) in rows(term).iter().enumerate() {
        if let Some(byte) = row.find(needle) {
            let x = row[..byte].chars().count();
            return (u16::try_from(x).expect("x"), u16::try_from(y).expect("y"));
        }
    }
    panic!(
        "'{needle}' is not on the screen:\n{}",
        rows(term).join("\n")
    );
}
