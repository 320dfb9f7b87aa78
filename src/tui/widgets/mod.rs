//! Reusable widgets, each rendering from borrowed state and tested cell by cell (styles
//! included) against a `Buffer`.

pub mod cache;
pub mod graph;
pub mod logpane;
pub mod reports;
pub mod timeline;
