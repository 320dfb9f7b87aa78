//! Headless output: the plain CodeBuild-like log with a phase summary (`plain`; a batch's
//! builds with each line prefixed by its task and one table for the batch: `plain_batch`; the
//! report groups' lines and summary section: `plain_reports`), and
//! the NDJSON event stream, all driven by the same `BuildEvent`s the dashboard consumes.
//!
//! Both are pure formatters (event in, text out) so they are tested without a build; the
//! `run` command feeds them from the engine's channel and writes the text to stdout.

pub mod debug;
pub mod ndjson;
pub mod plain;
pub mod plain_batch;
pub mod plain_reports;

/// `1 file`, `2 files`, `0 files`: a count with its noun, singular only for one. Every plain
/// printer (the headless log and summary, the `commands/` tables) counts through this one
/// helper so none prints `1 errors`. The nouns used are regular (an `s` makes the plural).
#[must_use]
pub fn count<N>(n: N, noun: &str) -> String
where
    N: Copy + std::fmt::Display + TryInto<u64>,
{
    if n.try_into().is_ok_and(|n: u64| n == 1) {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_every_other_count_plural() {
        assert_eq!(count(1_usize, "file"), "1 file");
        assert_eq!(count(1_u64, "error"), "1 error");
        assert_eq!(count(0_u32, "warning"), "0 warnings");
        assert_eq!(count(2_usize, "build"), "2 builds");
        assert_eq!(count(11_u64, "test"), "11 tests");
    }
}
