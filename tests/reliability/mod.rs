//! The reliability and security harness (RELIABILITY.md has the figures): secrets planted and
//! searched for in every output, hostile build output, Docker faults through a socket proxy,
//! a cancellation storm, AWS faults from the scripted endpoint, and kill -9 mid-build.

mod aws_faults;
mod cancel_storm;
mod docker_faults;
mod hostile;
mod kill9;
mod live;
mod proxy;
mod secrets;

use std::path::Path;

/// The stored log of a run, decompressed, from the history at `history`.
pub fn stored_log(history: &Path, build_id: &str) -> String {
    let store = cbdash::history::Store::open(history).expect("open the history");
    store
        .read_log(build_id)
        .expect("read the log")
        .expect("the log is kept")
        .text
}
