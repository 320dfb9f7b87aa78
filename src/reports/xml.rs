//! The pull-reader helpers the XML parsers share: one event at a time from quick-xml's
//! streaming [`Reader`] (empty elements expanded into start + end, entity references resolved
//! into text), attributes by local name, and errors as `line N: why`.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::FileError;
use super::tally::{LineCounter, TestTally};
use crate::model::CaseStatus;

/// One event, simplified.
pub enum Ev<'a> {
    /// An element and its depth (1: the root).
    Start(BytesStart<'a>, usize),
    /// The end of an element (its name is checked by the reader).
    End,
    Text(Cow<'a, str>),
    /// Declarations, comments, processing instructions, doctypes.
    Other,
    Eof,
}

/// A streaming XML reader that counts lines and open elements.
pub struct Pull<R: BufRead> {
    reader: Reader<LineCounter<R>>,
    buf: Vec<u8>,
    /// Open elements.
    depth: usize,
    /// Whether the root element has been seen.
    root_seen: bool,
}

impl<R: BufRead> Pull<R> {
    pub fn new(reader: R) -> Self {
        let mut reader = Reader::from_reader(LineCounter::new(reader));
        let c = reader.config_mut();
        c.expand_empty_elements = true;
        c.check_end_names = true;
        Self {
            reader,
            buf: Vec::with_capacity(4096),
            depth: 0,
            root_seen: false,
        }
    }

    /// The next event; the end of the input inside an element is an error.
    pub fn next(&mut self) -> Result<Ev<'_>, FileError> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(Event::Start(e)) => {
                self.depth += 1;
                self.root_seen = true;
                Ok(Ev::Start(e, self.depth))
            }
            Ok(Event::End(_)) => {
                self.depth = self.depth.saturating_sub(1);
                Ok(Ev::End)
            }
            Ok(Event::Text(t)) => Ok(Ev::Text(t.xml10_content())),
            Ok(Event::CData(t)) => Ok(Ev::Text(t.into_inner())),
            Ok(Event::GeneralRef(r)) => Ok(Ev::Text(match r.resolve_char_ref() {
                Ok(Some(c)) => Cow::Owned(c.to_string()),
                _ => Cow::Borrowed(resolve_predefined_entity(&r).unwrap_or("")),
            })),
            Ok(Event::Eof) if self.depth > 0 => Err(FileError {
                line: self.reader.get_ref().line(),
                why: "the file ends inside an element".into(),
            }),
            Ok(Event::Eof) if !self.root_seen => Err(FileError {
                line: self.reader.get_ref().line(),
                why: "no XML element in the file".into(),
            }),
            Ok(Event::Eof) => Ok(Ev::Eof),
            Ok(_) => Ok(Ev::Other),
            Err(e) => {
                let line = self.reader.get_ref().line_of(self.reader.error_position());
                Err(FileError {
                    line,
                    why: e.to_string(),
                })
            }
        }
    }

    /// The line the reader has reached.
    pub fn line(&self) -> u64 {
        self.reader.get_ref().line()
    }

    /// An error at the current line.
    pub fn error(&self, why: impl Into<String>) -> FileError {
        FileError {
            line: self.line(),
            why: why.into(),
        }
    }
}

/// The element's local name (`ns:testcase` → `testcase`).
pub fn name<'a>(e: &'a BytesStart<'_>) -> &'a str {
    let full: &str = e.name().into_inner();
    full.rsplit_once(':').map_or(full, |(_, local)| local)
}

/// `f` of an attribute's value, by local name (entities resolved; a value that cannot be
/// resolved is taken as written); malformed attributes are skipped. Nothing is copied.
pub fn with_attr<T>(e: &BytesStart<'_>, key: &str, f: impl FnOnce(&str) -> T) -> Option<T> {
    let a = e
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().into_inner() == key)?;
    Some(match a.normalized_value(XmlVersion::Implicit1_0) {
        Ok(v) => f(&v),
        Err(_) => f(&a.value),
    })
}

/// An attribute's value by local name.
pub fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    with_attr(e, key, str::to_owned)
}

/// A numeric attribute (`None` when absent or not a whole number ≥ 0).
pub fn num(e: &BytesStart<'_>, key: &str) -> Option<u64> {
    with_attr(e, key, |v| v.trim().parse().ok()).flatten()
}

/// Whether an attribute has this value.
pub fn attr_is(e: &BytesStart<'_>, key: &str, value: &str) -> bool {
    with_attr(e, key, |v| v == value).unwrap_or(false)
}

/// Why the root element is not one of `roots` (`None` when it is, or `e` is not the root).
pub fn bad_root(e: &BytesStart<'_>, depth: usize, roots: &[&str]) -> Option<String> {
    let n = name(e);
    (depth == 1 && !roots.contains(&n))
        .then(|| format!("the root element is <{n}>, not <{}>", roots.join("> or <")))
}

/// Appends text to a message, a newline between parts.
pub fn append(msg: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !msg.is_empty() && !msg.ends_with('\n') {
        msg.push('\n');
    }
    msg.push_str(text);
}

/// The text of the element being read into a message: pieces (text, CDATA, entity
/// references) are joined as they come, and the whole is added to the message at its end.
#[derive(Default)]
pub struct Grab {
    on: bool,
    part: String,
}

impl Grab {
    pub fn start(&mut self) {
        self.on = true;
    }

    pub fn text(&mut self, text: &str) {
        if self.on {
            self.part.push_str(text);
        }
    }

    /// The element ended: its text goes into `message`.
    pub fn end(&mut self, message: &mut String) {
        if self.on {
            append(message, &self.part);
            self.part.clear();
            self.on = false;
        }
    }
}

/// A test case while its element is open, in every XML test format: the text of the elements
/// its `grab` is started on gathers into its message; [`Case::end`] counts it.
pub struct Case {
    pub prefix: String,
    pub name: String,
    pub ns: u128,
    pub status: CaseStatus,
    pub message: String,
    /// Depth of the case's element: the end at this depth closes it.
    pub depth: usize,
    pub grab: Grab,
}

impl Case {
    pub fn new(prefix: String, name: String, ns: u128, status: CaseStatus, depth: usize) -> Self {
        Self {
            prefix,
            name,
            ns,
            status,
            message: String::new(),
            depth,
            grab: Grab::default(),
        }
    }

    /// The case's element ended: counts it, with its message when it has one.
    pub fn end(self, t: &mut TestTally) {
        let msg = (!self.message.is_empty()).then_some(self.message);
        t.case(&self.prefix, &self.name, self.status, self.ns, msg);
    }
}
