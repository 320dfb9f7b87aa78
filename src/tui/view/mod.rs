//! Drawing: `render(frame, state, ctx)` reads the state and nothing else (no IO, no clock).
//! Where each pane goes is [`super::layout`]'s arithmetic, which the reducer uses too (to
//! page by exactly the rows on screen); this module only draws into those areas.

mod batch;
mod build;
mod case;
mod diagnosis;
mod overlay;
mod projects;
mod reports;
mod status;

use ratatui::Frame;

pub use super::fmt::fmt_ms;
use super::keymap::Keymap;
pub use super::layout::{Areas, layout};
use super::state::State;
use super::theme::Theme;

/// What the views need besides the state.
pub struct Ctx<'a> {
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx) {
    let a = layout(state, frame.area());
    projects::render(frame, a.projects, state, ctx);
    if super::batch::graph_shown(state) {
        batch::render(frame, a.timeline.union(a.cache).union(a.log), state, ctx);
    } else {
        build::render(frame, &a, state, ctx);
    }
    status::render(frame, a.status, state, ctx);
    overlay::render(frame, state, ctx);
}
