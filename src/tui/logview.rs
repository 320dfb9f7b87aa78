//! The log pane's viewing state (cursor, follow, wrap, search, filter) and how keys move it.
//!
//! Positions are indexes into the *visible* sequence: every line, or with a filter only the
//! lines that match (or, inverted, that do not). The filter keeps an index of line numbers,
//! extended as lines arrive, so a filtered million-line log scrolls as fast as an
//! unfiltered one.

use regex::{Regex, RegexBuilder};

use super::logbuf::LogStore;

/// A compiled search: a regex, or the literal text when the query is not a valid regex.
/// All-lowercase ASCII queries match case-insensitively (smart case).
#[derive(Clone, Debug)]
pub struct Matcher {
    pub query: String,
    re: Regex,
}

impl Matcher {
    /// Compiles a query; `None` for an empty one.
    #[must_use]
    pub fn new(query: &str) -> Option<Self> {
        if query.is_empty() {
            return None;
        }
        let smart = query.is_ascii() && !query.chars().any(|c| c.is_ascii_uppercase());
        let build = |pat: &str| {
            // Case-insensitive matching needs Unicode case tables unless Unicode is off,
            // which works for ASCII patterns; fall back to case-sensitive otherwise.
            smart
                .then(|| {
                    RegexBuilder::new(pat)
                        .case_insensitive(true)
                        .unicode(false)
                        .build()
                        .ok()
                })
                .flatten()
                .or_else(|| Regex::new(pat).ok())
        };
        let re = build(query).or_else(|| build(&regex::escape(query)))?;
        Some(Self {
            query: query.to_owned(),
            re,
        })
    }

    /// Whether a plain line matches.
    #[must_use]
    pub fn is_match(&self, plain: &str) -> bool {
        self.re.is_match(plain)
    }

    /// Byte ranges of the matches in a plain line.
    pub fn ranges<'a>(&'a self, plain: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.re
            .find_iter(plain)
            .map(|m| (m.start(), m.end()))
            .filter(|(a, b)| a < b)
    }
}

/// Lines a search reads before it yields to input.
pub const SEARCH_SLICE: usize = 5_000;

/// Where a search in progress is: lines are visited from `start`, wrapping, `done` so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    forward: bool,
    start: usize,
    done: usize,
}

/// What a search slice found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchStep {
    Found(usize),
    NotFound,
    /// More lines to read: resume with [`LogView::search_resume`].
    Pending,
}

/// Show only matching (or, inverted, non-matching) lines.
#[derive(Clone, Debug)]
pub struct Filter {
    pub matcher: Matcher,
    pub inverse: bool,
    index: Vec<u32>,
    scanned: usize,
}

/// Every line the search matches, counted in slices like the search itself (a million-line
/// log is counted between key presses), then kept up to date as lines arrive.
#[derive(Clone, Debug, Default)]
pub struct Hits {
    index: Vec<u32>,
    scanned: usize,
}

/// Where the cursor is among the search's matches: `current` of `total` (`current` counts
/// the matches at or above the cursor line); `complete` once the whole log is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchCount {
    pub current: usize,
    pub total: usize,
    pub complete: bool,
}

/// The log pane's state.
#[derive(Clone, Debug)]
pub struct LogView {
    pub cursor: usize,
    pub top: usize,
    pub follow: bool,
    pub wrap: bool,
    pub timestamps: bool,
    pub search: Option<Matcher>,
    pub filter: Option<Filter>,
    /// A search still scanning (it runs in slices so keys are read in between).
    pub scan: Option<Scan>,
    /// The search's matches, for the `n/N matches` count.
    pub hits: Hits,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            cursor: 0,
            top: 0,
            follow: true,
            wrap: false,
            timestamps: false,
            search: None,
            filter: None,
            scan: None,
            hits: Hits::default(),
        }
    }
}

fn to_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl LogView {
    /// A fresh view that keeps the display toggles.
    #[must_use]
    pub fn reset(&self) -> Self {
        Self {
            wrap: self.wrap,
            timestamps: self.timestamps,
            ..Self::default()
        }
    }

    /// Number of visible lines.
    #[must_use]
    pub fn visible_len(&self, store: &LogStore) -> usize {
        self.filter.as_ref().map_or(store.len(), |f| f.index.len())
    }

    /// The line number shown at visible position `pos`.
    #[must_use]
    pub fn line_at(&self, pos: usize) -> usize {
        self.filter.as_ref().map_or(pos, |f| {
            f.index.get(pos).map_or(usize::MAX, |l| *l as usize)
        })
    }

    /// The visible position of `line` (or of the first visible line after it).
    #[must_use]
    pub fn pos_of(&self, line: usize) -> usize {
        self.filter
            .as_ref()
            .map_or(line, |f| f.index.partition_point(|l| (*l as usize) < line))
    }

    /// Sets (or with `None` clears) the search; its matches are counted afresh.
    pub fn set_search(&mut self, matcher: Option<Matcher>) {
        self.search = matcher;
        self.scan = None;
        self.hits = Hits::default();
    }

    /// Counts the search's matches over the next [`SEARCH_SLICE`] lines not counted yet;
    /// true while lines remain.
    pub fn count_step(&mut self, store: &LogStore) -> bool {
        let Some(m) = &self.search else {
            return false;
        };
        let end = (self.hits.scanned + SEARCH_SLICE).min(store.len());
        let found = store.matching_in(self.hits.scanned, end, &|t| m.is_match(t));
        self.hits.index.extend(found.into_iter().map(to_u32));
        self.hits.scanned = end;
        end < store.len()
    }

    /// Whether the search's matches are still being counted.
    #[must_use]
    pub fn counting(&self, store: &LogStore) -> bool {
        self.search.is_some() && self.hits.scanned < store.len()
    }

    /// The search's match count at the cursor, `None` without a search.
    #[must_use]
    pub fn match_count(&self, store: &LogStore) -> Option<MatchCount> {
        self.search.as_ref()?;
        let line = self.line_at(self.cursor);
        Some(MatchCount {
            current: self.hits.index.partition_point(|l| (*l as usize) <= line),
            total: self.hits.index.len(),
            complete: !self.counting(store),
        })
    }

    /// Catches up with lines appended to `store`.
    pub fn on_append(&mut self, store: &LogStore, rows: usize) {
        // A count that had caught up stays so: the new lines are a batch, at most a slice.
        if self.search.is_some() && store.len() - self.hits.scanned.min(store.len()) <= SEARCH_SLICE
        {
            self.count_step(store);
        }
        if let Some(f) = &mut self.filter {
            let (m, inv) = (&f.matcher, f.inverse);
            let hits = store.matching(f.scanned, &|t| m.is_match(t) != inv);
            f.index.extend(hits.into_iter().map(to_u32));
            f.scanned = store.len();
        }
        if self.follow {
            self.to_bottom(store, rows);
        }
    }

    /// Moves the cursor by `delta` lines; moving up pauses follow.
    pub fn move_by(&mut self, delta: isize, store: &LogStore, rows: usize) {
        let len = self.visible_len(store);
        if delta < 0 {
            self.follow = false;
        }
        let target = self.cursor.saturating_add_signed(delta);
        self.cursor = target.min(len.saturating_sub(1));
        self.scroll_into_view(rows);
    }

    /// To the first line (pauses follow).
    pub fn to_top(&mut self, rows: usize) {
        self.follow = false;
        self.cursor = 0;
        self.scroll_into_view(rows);
    }

    /// To the last line, and follow again.
    pub fn to_bottom(&mut self, store: &LogStore, rows: usize) {
        self.follow = true;
        self.cursor = self.visible_len(store).saturating_sub(1);
        self.scroll_into_view(rows);
    }

    /// Puts the cursor on `line` (or the nearest visible line), pausing follow.
    pub fn goto_line(&mut self, line: usize, store: &LogStore, rows: usize) {
        self.follow = false;
        self.cursor = self
            .pos_of(line)
            .min(self.visible_len(store).saturating_sub(1));
        self.scroll_into_view(rows);
    }

    fn scroll_into_view(&mut self, rows: usize) {
        let rows = rows.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + rows {
            self.top = self.cursor + 1 - rows;
        }
    }

    /// Sets (or with `None` clears) the filter, rebuilding its index.
    pub fn set_filter(
        &mut self,
        matcher: Option<Matcher>,
        inverse: bool,
        store: &LogStore,
        rows: usize,
    ) {
        let line = self.line_at(self.cursor);
        self.filter = matcher.map(|matcher| Filter {
            matcher,
            inverse,
            index: Vec::new(),
            scanned: 0,
        });
        let follow = self.follow;
        self.follow = false;
        self.on_append(store, rows);
        if follow {
            self.to_bottom(store, rows);
        } else {
            self.goto_line(line.min(store.len()), store, rows);
        }
    }

    /// Jumps to the next (or previous) search match, reading the whole log if needed;
    /// false when there is none.
    pub fn search_step(&mut self, forward: bool, store: &LogStore, rows: usize) -> bool {
        let mut step = self.search_begin(forward, store, rows);
        while step == SearchStep::Pending {
            step = self.search_resume(store, rows);
        }
        matches!(step, SearchStep::Found(_))
    }

    /// Starts looking for the next (or previous) match after the cursor line; reads at most
    /// [`SEARCH_SLICE`] lines.
    pub fn search_begin(&mut self, forward: bool, store: &LogStore, rows: usize) -> SearchStep {
        let len = store.len();
        if self.search.is_none() || len == 0 {
            return SearchStep::NotFound;
        }
        let here = self.line_at(self.cursor).min(len - 1);
        let start = if forward {
            (here + 1) % len
        } else {
            (here + len - 1) % len
        };
        self.scan = Some(Scan {
            forward,
            start,
            done: 0,
        });
        self.search_resume(store, rows)
    }

    /// Reads the next slice of a search in progress.
    pub fn search_resume(&mut self, store: &LogStore, rows: usize) -> SearchStep {
        let (Some(scan), Some(m)) = (self.scan.take(), self.search.clone()) else {
            return SearchStep::NotFound;
        };
        let len = store.len();
        let end = (scan.done + SEARCH_SLICE).min(len);
        let pred = |t: &str| m.is_match(t);
        let mut remaining = end.saturating_sub(scan.done);
        let mut hit = None;
        if scan.forward {
            let mut pos = (scan.start + scan.done) % len.max(1);
            while remaining > 0 && hit.is_none() {
                let seg_end = (pos + remaining).min(len);
                hit = store.scan(pos, seg_end, false, &pred);
                remaining -= seg_end - pos;
                pos = 0;
            }
        } else {
            let mut pos = (scan.start + len - scan.done % len.max(1)) % len.max(1);
            while remaining > 0 && hit.is_none() {
                let seg_start = pos + 1 - (pos + 1).min(remaining);
                hit = store.scan(seg_start, pos + 1, true, &pred);
                remaining -= pos + 1 - seg_start;
                pos = len - 1;
            }
        }
        match hit {
            Some(line) => {
                if self.filter.is_some() && self.line_at(self.pos_of(line)) != line {
                    // The match is hidden by the filter: show everything again.
                    self.filter = None;
                }
                self.goto_line(line, store, rows);
                SearchStep::Found(line)
            }
            None if end < len => {
                self.scan = Some(Scan { done: end, ..scan });
                SearchStep::Pending
            }
            None => SearchStep::NotFound,
        }
    }

    /// Jumps to the start of the next (or previous) phase.
    pub fn phase_step(&mut self, forward: bool, store: &LogStore, rows: usize) {
        let here = self.line_at(self.cursor);
        let starts = store.phase_starts();
        let target = if forward {
            starts.iter().find(|(_, l)| *l > here)
        } else {
            starts.iter().rev().find(|(_, l)| *l < here)
        };
        if let Some((_, line)) = target {
            self.goto_line(*line, store, rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogLine, LogStream, PhaseKind};

    fn store(n: usize) -> LogStore {
        let mut s = LogStore::new();
        for i in 0..n {
            let phase = Some(if i < 50 {
                PhaseKind::Install
            } else {
                PhaseKind::Build
            });
            let text = if i % 10 == 0 {
                format!("ERROR {i}")
            } else {
                format!("ok {i}")
            };
            s.push(
                &LogLine {
                    phase,
                    stream: LogStream::Stdout,
                    text,
                },
                0,
            );
        }
        s
    }

    #[test]
    fn scrolling_up_pauses_follow_and_bottom_resumes() {
        let s = store(100);
        let mut v = LogView::default();
        v.on_append(&s, 10);
        assert_eq!((v.cursor, v.top, v.follow), (99, 90, true));
        v.move_by(-5, &s, 10);
        assert_eq!((v.cursor, v.top, v.follow), (94, 90, false));
        v.move_by(-10, &s, 10);
        assert_eq!((v.cursor, v.top), (84, 84));
        v.to_bottom(&s, 10);
        assert!(v.follow);
    }

    #[test]
    fn filter_and_inverse_filter() {
        let s = store(100);
        let mut v = LogView::default();
        v.set_filter(Matcher::new("error"), false, &s, 10);
        assert_eq!(v.visible_len(&s), 10);
        assert_eq!(v.line_at(3), 30);
        v.set_filter(Matcher::new("error"), true, &s, 10);
        assert_eq!(v.visible_len(&s), 90);
        v.set_filter(None, false, &s, 10);
        assert_eq!(v.visible_len(&s), 100);
    }

    #[test]
    fn search_steps_both_ways_and_wraps() {
        let s = store(100);
        let mut v = LogView {
            search: Matcher::new("ERROR 5"),
            ..LogView::default()
        };
        v.goto_line(0, &s, 10);
        assert!(v.search_step(true, &s, 10));
        assert_eq!(v.cursor, 50);
        assert!(v.search_step(true, &s, 10));
        assert_eq!(v.cursor, 50, "only one match: wraps onto itself");
        v.search = Matcher::new("ok 1");
        assert!(v.search_step(false, &s, 10));
        assert_eq!(v.cursor, 19);
    }

    #[test]
    fn long_searches_run_in_slices_both_ways() {
        let s = store(SEARCH_SLICE * 2 + 500);
        let target = format!("ERROR {}", SEARCH_SLICE + 1000);
        let mut v = LogView {
            search: Matcher::new(&format!("^{target}$")),
            ..LogView::default()
        };
        v.goto_line(10, &s, 10);
        assert_eq!(v.search_begin(true, &s, 10), SearchStep::Pending);
        assert_eq!(
            v.search_resume(&s, 10),
            SearchStep::Found(SEARCH_SLICE + 1000)
        );
        // Backwards from line 10 wraps to the end first: line 1000 comes ~40,000 lines later.
        v.search = Matcher::new("^ERROR 1000$");
        v.goto_line(10, &s, 10);
        assert_eq!(v.search_begin(false, &s, 10), SearchStep::Pending);
        assert_eq!(v.search_resume(&s, 10), SearchStep::Found(1000));
        v.search = Matcher::new("no such line");
        assert!(!v.search_step(true, &s, 10));
        assert_eq!(v.scan, None);
    }

    #[test]
    fn smart_case_and_literal_fallback() {
        let m = Matcher::new("error").expect("m");
        assert!(m.is_match("An ERROR here"));
        let m = Matcher::new("Error").expect("m");
        assert!(!m.is_match("ERROR"));
        let m = Matcher::new("a[b").expect("invalid regex falls back to literal");
        assert!(m.is_match("xa[by"));
        assert!(Matcher::new("").is_none());
    }

    #[test]
    fn phase_jumps() {
        let s = store(100);
        let mut v = LogView::default();
        v.goto_line(10, &s, 10);
        v.phase_step(true, &s, 10);
        assert_eq!(v.cursor, 50);
        v.phase_step(false, &s, 10);
        assert_eq!(v.cursor, 0);
    }
}
