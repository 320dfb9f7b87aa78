//! Fitting text into narrow rows (80x24 first): cutting with an ellipsis, wrapping at words,
//! choosing which parts of a title to keep by priority, and putting a failure's cause before
//! its preamble. Pure text: the layout and the views both use it.

/// Columns of `text` (the parts fitted here are single-width text).
fn cols(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to `width` columns, ending in `…` when cut.
#[must_use]
pub fn ellipsize(text: &str, width: usize) -> String {
    if cols(text) <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A build title's parts after its status, joined with ` · ` in display order and kept by
/// priority when the row is short: the duration first, then how Docker is reached, then the
/// image (cut with an ellipsis, down to a few characters), then the rest while they fit.
#[derive(Debug, Default)]
pub struct TitleParts {
    pub duration: String,
    /// Full (`docker: host socket`) and compact (`sock`) forms; empty: not shown.
    pub docker: (String, String),
    pub image: String,
    /// Shown only when there is room, in this order.
    pub optional: Vec<String>,
}

/// The shortest an image is cut to before it is left out.
const MIN_IMAGE: usize = 8;

impl TitleParts {
    /// The text after the status, at most `width` columns.
    #[must_use]
    pub fn fit(&self, width: usize) -> String {
        let join = |parts: &[&str]| {
            parts
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" · ")
        };
        // Everything, as on a wide screen.
        let mut all: Vec<&str> = self.optional.iter().map(String::as_str).collect();
        all.insert(all.len().min(2), self.image.as_str());
        all.push(self.duration.as_str());
        all.push(self.docker.0.as_str());
        let full = join(&all);
        if cols(&full) <= width {
            return full;
        }
        for docker in [self.docker.0.as_str(), self.docker.1.as_str()] {
            let head = join(&[self.duration.as_str(), docker]);
            let room = width.saturating_sub(cols(&head) + 3);
            if room >= MIN_IMAGE.min(cols(&self.image)) {
                let mut out = join(&[head.as_str(), ellipsize(&self.image, room).as_str()]);
                // Room left after the whole image: the other parts that fit, in order.
                for part in self.optional.iter().filter(|p| !p.is_empty()) {
                    if cols(&self.image) <= room && cols(&out) + 3 + cols(part) <= width {
                        out = format!("{out} · {part}");
                    }
                }
                return out;
            }
        }
        ellipsize(
            &join(&[self.duration.as_str(), self.docker.1.as_str()]),
            width,
        )
    }
}

/// A `key=value key2=value2` label (a matrix build's values) cut to `width` columns so that
/// the builds stay apart: the longest value loses its start first (`image=…standard:7.0`),
/// as names differ at their end (a version, a tag); each part keeps its key and a character of
/// its value. Past that, the last parts that fit (`… NODE=18`), else cut with an ellipsis.
#[must_use]
pub fn fit_label(label: &str, width: usize) -> String {
    if cols(label) <= width || !label.contains('=') {
        return ellipsize(label, width);
    }
    let mut parts: Vec<(&str, Vec<char>, bool)> = label
        .split(' ')
        .map(|p| {
            let (key, value) = p.split_once('=').map_or(("", p), |(k, v)| (k, v));
            (key, value.chars().collect(), false)
        })
        .collect();
    let shown = |parts: &[(&str, Vec<char>, bool)]| {
        parts
            .iter()
            .map(|(k, v, cut)| {
                let eq = if k.is_empty() { "" } else { "=" };
                let mark = if *cut { "…" } else { "" };
                format!("{k}{eq}{mark}{}", v.iter().collect::<String>())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    loop {
        let text = shown(&parts);
        if cols(&text) <= width {
            return text;
        }
        let longest = parts
            .iter_mut()
            .filter(|(_, v, _)| v.len() > 1)
            .max_by_key(|(_, v, cut)| v.len() + usize::from(*cut));
        let Some((_, v, cut)) = longest else {
            return last_parts(label, width).unwrap_or_else(|| ellipsize(&text, width));
        };
        v.remove(0);
        *cut = true;
    }
}

/// `… ` and the last of `label`'s space-separated parts that fit in `width`.
fn last_parts(label: &str, width: usize) -> Option<String> {
    let parts: Vec<&str> = label.split(' ').collect();
    (1..parts.len())
        .map(|k| format!("… {}", parts[k..].join(" ")))
        .find(|s| cols(s) <= width)
}

/// Greedy word wrap to `width` characters; a word longer than a line is cut.
#[must_use]
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            out.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// A phase context message with its cause first: CodeBuild's `Error while executing command:
/// X. Reason: Y` becomes `Y: X`, so a narrow row keeps why it failed.
#[must_use]
pub fn cause_first(message: &str) -> String {
    if let Some((what, why)) = message.split_once(". Reason: ") {
        let what = what
            .strip_prefix("Error while executing command: ")
            .unwrap_or(what);
        return format!("{why}: {what}");
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsize_cuts_with_a_mark() {
        assert_eq!(ellipsize("abcdef", 6), "abcdef");
        assert_eq!(ellipsize("abcdefgh", 6), "abcde…");
        assert_eq!(ellipsize("abc", 0), "");
    }

    #[test]
    fn title_keeps_duration_then_docker_then_a_shortened_image() {
        let t = TitleParts {
            duration: "25.0s".into(),
            docker: ("docker: host socket".into(), "sock".into()),
            image: "aws/codebuild/standard:7.0".into(),
            optional: vec!["api:3f1c2a9e-6b7d".into(), "local".into()],
        };
        assert_eq!(
            t.fit(200),
            "api:3f1c2a9e-6b7d · local · aws/codebuild/standard:7.0 · 25.0s · docker: host socket"
        );
        assert_eq!(
            t.fit(50),
            "25.0s · docker: host socket · aws/codebuild/stand…"
        );
        assert_eq!(t.fit(30), "25.0s · sock · aws/codebuild/…");
        assert_eq!(
            t.fit(70),
            "25.0s · docker: host socket · aws/codebuild/standard:7.0 · local"
        );
        assert_eq!(t.fit(10), "25.0s · s…");
    }

    #[test]
    fn labels_lose_the_start_of_their_longest_value_first() {
        let l = "image=aws/codebuild/standard:7.0 NODE=18";
        assert_eq!(fit_label(l, 60), l);
        assert_eq!(fit_label(l, 27), "image=…standard:7.0 NODE=18");
        assert_eq!(fit_label(l, 20), "image=…d:7.0 NODE=18");
        // Not key=value: cut at the end.
        assert_eq!(fit_label("shard 2/4", 6), "shard…");
        // No room for every part: the last ones, else cut at the end.
        assert_eq!(fit_label(l, 10), "… NODE=18");
        assert_eq!(fit_label(l, 5), "imag…");
    }

    #[test]
    fn the_cause_of_a_failed_command_comes_first() {
        assert_eq!(
            cause_first("Error while executing command: npm test. Reason: exit status 1"),
            "exit status 1: npm test"
        );
        assert_eq!(cause_first("timed out"), "timed out");
    }
}
