//! The log store: holds any number of lines with bounded memory.
//!
//! Lines are sanitised on the way in (see [`super::sanitize`]) and appended to fixed-size
//! chunks. The newest chunks stay as text ("hot"); older ones are deflated in memory
//! ("cold"), which keeps a million-line log in a few tens of megabytes. Reading a cold chunk
//! inflates it into a small cache (two chunks), so scrolling through old output costs one
//! inflate per chunk boundary, not per frame. Per-line metadata (phase, stream, arrival
//! second) stays uncompressed so phase jumps need no inflating.
//!
//! The store is plain data with no IO; interior mutability is limited to the read cache.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::sanitize;
use crate::model::{LogLine, LogStream, PhaseKind};

/// Lines per chunk.
const CHUNK_LINES: usize = 4096;
/// Full chunks kept hot behind the one being written.
const HOT_CHUNKS: usize = 2;

/// Metadata of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMeta {
    pub phase: Option<PhaseKind>,
    pub stream: LogStream,
    /// When the line arrived (Unix seconds).
    pub at: u32,
}

impl LineMeta {
    /// The arrival time as the log pane shows it: `14:03:59 ` (UTC, then a space).
    #[must_use]
    pub fn clock(&self) -> String {
        format!("{} ", super::fmt::clock(self.at))
    }
}

/// One chunk's text: every line's safe text concatenated, with end offsets.
#[derive(Debug, Default, Clone)]
struct Text {
    buf: String,
    ends: Vec<u32>,
}

impl Text {
    fn line(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }
}

#[derive(Debug)]
enum Body {
    Hot(Text),
    /// Deflated `buf`; the offsets stay plain.
    Cold {
        deflated: Vec<u8>,
        ends: Vec<u32>,
    },
}

#[derive(Debug)]
struct Chunk {
    body: Body,
    meta: Vec<LineMeta>,
}

/// A bounded-memory, append-only log.
#[derive(Debug, Default)]
pub struct LogStore {
    chunks: Vec<Chunk>,
    len: usize,
    /// Where each phase's first line is.
    phase_starts: Vec<(PhaseKind, usize)>,
    cache: Mutex<Vec<(usize, Arc<Text>)>>,
}

impl LogStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of lines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no lines.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a raw line (sanitised here) that arrived at `at` (Unix seconds).
    pub fn push(&mut self, line: &LogLine, at: u32) {
        if let Some(p) = line.phase
            && self.phase_starts.last().is_none_or(|(last, _)| *last != p)
        {
            self.phase_starts.push((p, self.len));
        }
        if self
            .chunks
            .last()
            .is_none_or(|c| c.meta.len() >= CHUNK_LINES)
        {
            self.seal();
            self.chunks.push(Chunk {
                body: Body::Hot(Text::default()),
                meta: Vec::with_capacity(CHUNK_LINES),
            });
        }
        let safe = sanitize::sanitize(&line.text);
        if let Some(chunk) = self.chunks.last_mut()
            && let Body::Hot(text) = &mut chunk.body
        {
            text.buf.push_str(&safe);
            text.ends
                .push(u32::try_from(text.buf.len()).unwrap_or(u32::MAX));
            chunk.meta.push(LineMeta {
                phase: line.phase,
                stream: line.stream,
                at,
            });
            self.len += 1;
        }
    }

    /// Deflates the chunk that just fell out of the hot window.
    ///
    /// Kept out of line: the deflate encoder's state makes a stack frame of over 64 KiB, and
    /// inlined into [`Self::push`] it made every line pay for probing those 16 stack pages,
    /// though a chunk is sealed once per [`CHUNK_LINES`] lines.
    #[cold]
    #[inline(never)]
    fn seal(&mut self) {
        let Some(idx) = self.chunks.len().checked_sub(HOT_CHUNKS + 1) else {
            return;
        };
        let chunk = &mut self.chunks[idx];
        if let Body::Hot(text) = &mut chunk.body {
            let text = std::mem::take(text);
            let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
            // Writing into a Vec cannot fail; keep the text hot if it somehow does.
            if enc.write_all(text.buf.as_bytes()).is_ok()
                && let Ok(deflated) = enc.finish()
            {
                chunk.body = Body::Cold {
                    deflated,
                    ends: text.ends,
                };
            } else {
                chunk.body = Body::Hot(text);
            }
        }
    }

    /// Metadata of line `i`.
    #[must_use]
    pub fn meta(&self, i: usize) -> Option<LineMeta> {
        self.chunks
            .get(i / CHUNK_LINES)
            .and_then(|c| c.meta.get(i % CHUNK_LINES))
            .copied()
    }

    /// Calls `f(index, safe_text, meta)` for lines `from..to` (clamped), in order.
    pub fn for_each(&self, from: usize, to: usize, mut f: impl FnMut(usize, &str, LineMeta)) {
        let to = to.min(self.len);
        let mut i = from;
        while i < to {
            let ci = i / CHUNK_LINES;
            let chunk = &self.chunks[ci];
            let end = to.min((ci + 1) * CHUNK_LINES);
            let mut visit = |text: &Text| {
                for j in i..end {
                    f(j, text.line(j % CHUNK_LINES), chunk.meta[j % CHUNK_LINES]);
                }
            };
            match &chunk.body {
                Body::Hot(text) => visit(text),
                Body::Cold { deflated, ends } => visit(&self.inflate(ci, deflated, ends)),
            }
            i = end;
        }
    }

    /// The safe text of line `i`.
    #[must_use]
    pub fn line(&self, i: usize) -> Option<String> {
        let mut out = None;
        self.for_each(i, i + 1, |_, t, _| out = Some(t.to_owned()));
        out
    }

    /// The first line at or after `from` (or at or before it, going backwards) whose plain
    /// text satisfies `pred`, wrapping around the end. Stops at the first hit.
    pub fn find(&self, from: usize, forward: bool, pred: &dyn Fn(&str) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let from = from.min(self.len - 1);
        let ranges = if forward {
            [(from, self.len), (0, from)]
        } else {
            [(0, from + 1), (from + 1, self.len)]
        };
        if forward {
            ranges
                .into_iter()
                .find_map(|(a, b)| self.scan(a, b, false, pred))
        } else {
            ranges
                .into_iter()
                .rev()
                .find_map(|(a, b)| self.scan(a, b, true, pred))
        }
    }

    /// The first (or, `reverse`, the last) line in `from..to` whose plain text matches.
    #[must_use]
    pub fn scan(
        &self,
        from: usize,
        to: usize,
        reverse: bool,
        pred: &dyn Fn(&str) -> bool,
    ) -> Option<usize> {
        if from >= to {
            return None;
        }
        let chunks = from / CHUNK_LINES..=(to - 1) / CHUNK_LINES;
        let hit = |ci: usize| {
            let chunk = &self.chunks[ci];
            let lo = from.max(ci * CHUNK_LINES);
            let hi = to.min((ci + 1) * CHUNK_LINES);
            let search = |text: &Text| {
                let matches = |j: &usize| pred(&sanitize::plain(text.line(j % CHUNK_LINES)));
                if reverse {
                    (lo..hi).rev().find(matches)
                } else {
                    (lo..hi).find(matches)
                }
            };
            match &chunk.body {
                Body::Hot(text) => search(text),
                Body::Cold { deflated, ends } => search(&self.inflate(ci, deflated, ends)),
            }
        };
        if reverse {
            chunks.rev().find_map(hit)
        } else {
            chunks.into_iter().find_map(hit)
        }
    }

    /// Indexes of every line in `from..` whose plain text satisfies `pred`.
    #[must_use]
    pub fn matching(&self, from: usize, pred: &dyn Fn(&str) -> bool) -> Vec<usize> {
        self.matching_in(from, self.len, pred)
    }

    /// Indexes of every line in `from..to` whose plain text satisfies `pred`.
    #[must_use]
    pub fn matching_in(&self, from: usize, to: usize, pred: &dyn Fn(&str) -> bool) -> Vec<usize> {
        let mut out = Vec::new();
        self.for_each(from, to, |i, t, _| {
            if pred(&sanitize::plain(t)) {
                out.push(i);
            }
        });
        out
    }

    /// The first line of each phase, in order.
    #[must_use]
    pub fn phase_starts(&self) -> &[(PhaseKind, usize)] {
        &self.phase_starts
    }

    /// The whole log as plain text, one line per line (for saving or copying).
    #[must_use]
    pub fn to_plain_text(&self) -> String {
        let mut out = String::new();
        self.for_each(0, self.len, |_, t, _| {
            out.push_str(&sanitize::plain(t));
            out.push('\n');
        });
        out
    }

    /// Bytes held (text, deflated text, offsets and metadata), for the memory figures.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                let body = match &c.body {
                    Body::Hot(t) => t.buf.capacity() + t.ends.capacity() * 4,
                    Body::Cold { deflated, ends } => deflated.capacity() + ends.capacity() * 4,
                };
                body + c.meta.capacity() * std::mem::size_of::<LineMeta>()
            })
            .sum()
    }

    /// A cold chunk's text, from the cache or freshly inflated.
    fn inflate(&self, ci: usize, deflated: &[u8], ends: &[u32]) -> Arc<Text> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, t)) = cache.iter().find(|(i, _)| *i == ci) {
            return Arc::clone(t);
        }
        let mut buf = String::new();
        // Our own deflate output inflates; on corruption show nothing rather than panic.
        if DeflateDecoder::new(deflated)
            .read_to_string(&mut buf)
            .is_err()
        {
            buf.clear();
        }
        let ends = if buf.is_empty() {
            vec![0; ends.len()]
        } else {
            ends.to_vec()
        };
        let text = Arc::new(Text { buf, ends });
        if cache.len() >= 2 {
            cache.remove(0);
        }
        cache.push((ci, Arc::clone(&text)));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(phase: PhaseKind, text: &str) -> LogLine {
        LogLine {
            phase: Some(phase),
            stream: LogStream::Stdout,
            text: text.into(),
        }
    }

    fn filled(n: usize) -> LogStore {
        let mut s = LogStore::new();
        for i in 0..n {
            let p = if i < n / 2 {
                PhaseKind::Install
            } else {
                PhaseKind::Build
            };
            s.push(
                &line(p, &format!("line {i} \x1b[32mgreen\x1b[0m\x1b]0;t\x07")),
                0,
            );
        }
        s
    }

    #[test]
    fn lines_round_trip_through_cold_chunks() {
        let s = filled(CHUNK_LINES * 5 + 7);
        assert_eq!(s.len(), CHUNK_LINES * 5 + 7);
        assert!(matches!(s.chunks[0].body, Body::Cold { .. }));
        assert!(matches!(s.chunks[5].body, Body::Hot(_)));
        assert_eq!(s.line(3).as_deref(), Some("line 3 \x1b[32mgreen\x1b[0m"));
        assert_eq!(
            s.line(CHUNK_LINES * 5 + 6).as_deref(),
            Some(format!("line {} \x1b[32mgreen\x1b[0m", CHUNK_LINES * 5 + 6).as_str())
        );
        let mut seen = 0;
        s.for_each(0, s.len(), |i, t, _| {
            assert!(t.starts_with(&format!("line {i} ")));
            seen += 1;
        });
        assert_eq!(seen, s.len());
    }

    #[test]
    fn find_wraps_and_goes_both_ways() {
        let s = filled(10_000);
        let is = |n: &'static str| move |t: &str| t.starts_with(n);
        assert_eq!(s.find(0, true, &is("line 9000 ")), Some(9000));
        assert_eq!(s.find(9500, true, &is("line 12 ")), Some(12));
        assert_eq!(s.find(9500, false, &is("line 9600 ")), Some(9600));
        assert_eq!(s.find(0, true, &|t| t.contains('\x1b')), None);
        assert_eq!(s.matching(0, &|t| t.ends_with("99 green")).len(), 100);
    }

    #[test]
    fn phase_starts_are_recorded() {
        let s = filled(100);
        assert_eq!(
            s.phase_starts(),
            &[(PhaseKind::Install, 0), (PhaseKind::Build, 50)]
        );
        assert_eq!(s.meta(60).map(|m| m.phase), Some(Some(PhaseKind::Build)));
    }

    #[test]
    fn memory_stays_bounded() {
        let s = filled(200_000);
        let raw: usize = (0..200_000)
            .map(|i: usize| format!("line {i} \x1b[32mgreen\x1b[0m\x1b]0;t\x07").len())
            .sum();
        assert!(
            s.heap_bytes() < raw,
            "{} bytes for {raw} raw",
            s.heap_bytes()
        );
    }
}
