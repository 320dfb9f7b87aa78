//! Buildspec parsing and validation. Pure: takes text, returns a [`Buildspec`] or
//! diagnostics with file positions; never reads files itself.

mod types;

pub use types::*;
