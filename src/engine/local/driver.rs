//! The shell driver: ONE long-lived `docker exec` per build runs a small loop in the
//! container's `/bin/sh` that receives each command, runs it and reports its exit status.
//!
//! Why: a `docker exec` per command costs 30–60 ms; writing one line to an open exec's stdin
//! costs well under a millisecond, which keeps per-command overhead in the low milliseconds.
//!
//! Protocol, one line per command on the exec's stdin: `<id> <shell> <user|-> <base64>`. The
//! loop decodes the script into `/codebuild/output/tmp/script.sh`, runs it as a child shell
//! (stdin `/dev/null`, `su` for `run-as`), then prints `<nonce> <id> <status>` on stdout and
//! `<nonce> <id>` on stderr. The nonce is random per build and lives only in the loop's own
//! (unexported) variable, so a command cannot see it. A command's last line may lack its
//! newline, so the marker can end a line: what precedes it is the command's output.
//! Session-level state (variables, `cd`, `export`, `unset`) is carried by the scripts
//! themselves (see [`super::script`]), not by this loop; the loop only installs the state
//! functions (its `$1` and `$2`) and notes which variables its own environment exports, once.

use std::pin::Pin;

use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::model::LogStream;

use super::LocalError;

/// Where scripts and saved shell state live in the container, as in CodeBuild.
pub const TMP_DIR: &str = "/codebuild/output/tmp";

/// A line longer than this is cut and emitted in pieces, bounding memory for output with no
/// newlines.
const MAX_LINE: usize = 64 * 1024;

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// The loop the exec runs; `@NONCE@` is replaced by the build's nonce.
const LOOP: &str = r#"N=@NONCE@
T=/codebuild/output/tmp
printf '%s\n' "$2" > "$T/state-bash.sh"; printf '%s\n' "$1" > "$T/state.sh" && ( . "$T/state.sh" && __cbdash_base )
while IFS=' ' read -r id sh user b64; do
  printf '%s' "$b64" | base64 -d > "$T/script.sh" || { printf 'cannot write the command to %s (disk full?)\n' "$T/script.sh" >&2; printf '%s %s 255\n' "$N" "$id"; printf '%s %s\n' "$N" "$id" >&2; continue; }
  if [ "$user" = - ]; then "$sh" "$T/script.sh" </dev/null; rc=$?
  else su -s "$sh" "$user" -c "$sh $T/script.sh" </dev/null; rc=$?; fi
  printf '%s %s %s\n' "$N" "$id" "$rc"
  printf '%s %s\n' "$N" "$id" >&2
done
"#;

/// The command line of the driver exec: the loop, with the state functions as its `$1` and
/// `$2`.
#[must_use]
pub fn loop_command(nonce: &str) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        LOOP.replace("@NONCE@", nonce),
        "sh".into(),
        super::script::STATE_SH.into(),
        super::script::STATE_BASH_SH.into(),
    ]
}

/// Where a running command's output lines go. (A trait rather than an async closure so that
/// the build future stays `Send`.)
pub trait Lines: Send {
    /// Takes one line of output.
    fn line(
        &mut self,
        stream: LogStream,
        text: String,
    ) -> impl Future<Output = Result<(), LocalError>> + Send;

    /// The command has been quiet for a moment: deliver anything pending (so a line
    /// printed before a long `sleep` shows now, not when the command ends).
    fn idle(&mut self) -> impl Future<Output = Result<(), LocalError>> + Send;
}

/// How long a quiet command waits before pending lines are delivered.
const IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// One command for the session.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    /// The script's text (already wrapped with state load/save).
    pub script: &'a str,
    /// `sh` or `bash` (a path or a name on `PATH`).
    pub shell: &'a str,
    /// `run-as` user, if any.
    pub user: Option<&'a str>,
}

/// An open driver exec.
pub struct Session {
    input: Input,
    output: Output,
    nonce: Nonce,
    next_id: u64,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

/// The build's nonce and a searcher for it, built once: every output line is searched for
/// it, and setting up a substring search per line cost more than the rest of a short line's
/// handling.
struct Nonce {
    text: String,
    finder: memchr::memmem::FinderRev<'static>,
}

impl Nonce {
    fn new(text: String) -> Self {
        let finder = memchr::memmem::FinderRev::new(text.as_bytes()).into_owned();
        Self { text, finder }
    }

    /// Where the nonce last occurs in `line`.
    fn rfind(&self, line: &str) -> Option<usize> {
        self.finder.rfind(line.as_bytes())
    }
}

/// What the demultiplexer found in one chunk of a stream.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Line(String),
    /// The end marker of command `id`; stdout's carries the status.
    Marker {
        id: u64,
        status: Option<i32>,
    },
}

impl Session {
    /// Wraps an attached exec's streams.
    #[must_use]
    pub fn new(input: Input, output: Output, nonce: String) -> Self {
        Self {
            input,
            output,
            nonce: Nonce::new(nonce),
            next_id: 0,
            out_buf: Vec::new(),
            err_buf: Vec::new(),
        }
    }

    /// Runs one job, handing each output line to `on_line` as it arrives; returns the exit
    /// status.
    pub async fn run(&mut self, job: Job<'_>, on_line: &mut impl Lines) -> Result<i32, LocalError> {
        self.next_id += 1;
        let id = self.next_id;
        let line = format!(
            "{id} {} {} {}\n",
            job.shell,
            job.user.unwrap_or("-"),
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, job.script)
        );
        self.input
            .write_all(line.as_bytes())
            .await
            .map_err(|e| LocalError::exec("cannot write to the build shell", e))?;
        self.input
            .flush()
            .await
            .map_err(|e| LocalError::exec("cannot write to the build shell", e))?;
        let (mut status, mut err_done) = (None, false);
        while status.is_none() || !err_done {
            let Ok(next) = tokio::time::timeout(IDLE, self.output.next()).await else {
                on_line.idle().await?;
                continue;
            };
            let Some(frame) = next else {
                return Err(LocalError::exec_msg(
                    "the build shell ended unexpectedly (the container died?)",
                ));
            };
            let frame = frame.map_err(|e| LocalError::exec("", e))?;
            let (stream, bytes) = match frame {
                LogOutput::StdErr { message } => (LogStream::Stderr, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    (LogStream::Stdout, message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            let buf = match stream {
                LogStream::Stderr => &mut self.err_buf,
                _ => &mut self.out_buf,
            };
            buf.extend_from_slice(&bytes);
            for piece in drain_lines(buf, &self.nonce) {
                match piece {
                    Piece::Line(l) => on_line.line(stream, l).await?,
                    Piece::Marker { id: got, status: s } if got == id => {
                        if stream == LogStream::Stderr {
                            err_done = true;
                        } else {
                            status = s;
                        }
                    }
                    Piece::Marker { .. } => {}
                }
            }
        }
        Ok(status.unwrap_or(255))
    }
}

/// Takes every complete line out of `buf`, splitting off end markers.
fn drain_lines(buf: &mut Vec<u8>, nonce: &Nonce) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(&buf[start..start + nl]).into_owned();
        start += nl + 1;
        split_marker(line, nonce, &mut out);
    }
    buf.drain(..start);
    if buf.len() > MAX_LINE && nonce.finder.rfind(&buf[..]).is_none() {
        let line = String::from_utf8_lossy(buf).into_owned();
        buf.clear();
        out.push(Piece::Line(line));
    }
    out
}

fn split_marker(line: String, nonce: &Nonce, out: &mut Vec<Piece>) {
    let Some(idx) = nonce.rfind(&line) else {
        out.push(Piece::Line(line));
        return;
    };
    let mut parts = line[idx + nonce.text.len()..].split_whitespace();
    let id = parts.next().and_then(|s| s.parse().ok());
    let status = parts.next().and_then(|s| s.parse().ok());
    let Some(id) = id else {
        out.push(Piece::Line(line));
        return;
    };
    if idx > 0 {
        out.push(Piece::Line(line[..idx].to_owned()));
    }
    out.push(Piece::Marker { id, status });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_markers_are_split() {
        let mut buf = b"hello\nlast lineNONCE 3 7\nrest".to_vec();
        let pieces = drain_lines(&mut buf, &Nonce::new("NONCE".into()));
        assert_eq!(
            pieces,
            [
                Piece::Line("hello".into()),
                Piece::Line("last line".into()),
                Piece::Marker {
                    id: 3,
                    status: Some(7)
                }
            ]
        );
        assert_eq!(buf, b"rest");
    }

    #[test]
    fn stderr_marker_has_no_status() {
        let mut buf = b"NONCE 1\n".to_vec();
        assert_eq!(
            drain_lines(&mut buf, &Nonce::new("NONCE".into())),
            [Piece::Marker {
                id: 1,
                status: None
            }]
        );
    }

    #[test]
    fn a_line_that_merely_mentions_the_nonce_stays_a_line() {
        let mut buf = b"NONCE is here\n".to_vec();
        assert_eq!(
            drain_lines(&mut buf, &Nonce::new("NONCE".into())),
            [Piece::Line("NONCE is here".into())]
        );
    }

    #[test]
    fn very_long_lines_are_cut() {
        let mut buf = vec![b'x'; MAX_LINE + 10];
        let pieces = drain_lines(&mut buf, &Nonce::new("NONCE".into()));
        assert_eq!(pieces.len(), 1);
        assert!(buf.is_empty());
    }
}
