//! Reading a Dockerfile's instructions, and the sources of a `COPY`/`ADD`: just enough of the
//! Dockerfile syntax for the miss explainer (line continuations, comments, parser directives,
//! the JSON form of `COPY`). Pure: the caller reads the file.

/// One instruction, its continuation lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Upper case: `RUN`, `COPY`, `ENV`, ...
    pub keyword: String,
    /// The text after the keyword, whitespace runs kept as written but continuations joined.
    pub args: String,
}

impl Instruction {
    /// `KEYWORD args`, the way docker prints a step.
    #[must_use]
    pub fn text(&self) -> String {
        format!("{} {}", self.keyword, self.args)
    }
}

/// The instructions of a Dockerfile, in order. Heredoc bodies (`RUN <<EOF`) are kept as
/// lines of their own instruction's text only up to the first line; what follows is skipped
/// until the delimiter, so they never read as instructions.
#[must_use]
pub fn instructions(text: &str) -> Vec<Instruction> {
    let escape = escape_char(text);
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut heredoc: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        // Comments are whole lines, also between continuation lines.
        if trimmed.starts_with('#') || (pending.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if let Some(body) = line.trim_end().strip_suffix(escape) {
            pending.push_str(body.trim());
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let full = std::mem::take(&mut pending);
        heredoc = heredoc_delimiter(&full);
        if let Some(i) = split_instruction(&full) {
            out.push(i);
        }
    }
    if let Some(i) = split_instruction(&pending) {
        out.push(i);
    }
    out
}

/// The `# escape=` parser directive, when the file starts with one (default `\`).
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        if let Some((key, value)) = directive.split_once('=')
            && key.trim().eq_ignore_ascii_case("escape")
            && let Some(c) = value.trim().chars().next()
        {
            return c;
        }
    }
    '\\'
}

/// `RUN <<EOF` / `COPY <<-"EOT" /x`: the delimiter of a heredoc the instruction opens.
fn heredoc_delimiter(instruction: &str) -> Option<String> {
    let at = instruction.find("<<")?;
    let word = instruction[at + 2..]
        .trim_start_matches('-')
        .split_ascii_whitespace()
        .next()?;
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| word.to_owned())
}

fn split_instruction(line: &str) -> Option<Instruction> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    Some(Instruction {
        keyword: keyword.to_ascii_uppercase(),
        args: args.trim().to_owned(),
    })
}

/// The build-context sources of a `COPY`/`ADD` step text (`COPY --chown=1 a b /dst`),
/// relative to the context. `None` when the step copies from elsewhere (`--from`, a URL, a
/// heredoc) or is not a copy at all.
#[must_use]
pub fn copy_sources(step: &str) -> Option<Vec<String>> {
    let (keyword, rest) = step.trim().split_once(char::is_whitespace)?;
    if !keyword.eq_ignore_ascii_case("COPY") && !keyword.eq_ignore_ascii_case("ADD") {
        return None;
    }
    let mut words = Vec::new();
    let rest = rest.trim();
    if rest.starts_with('[') {
        words = serde_json::from_str::<Vec<String>>(rest).ok()?;
    } else {
        let mut flags_done = false;
        for w in rest.split_ascii_whitespace() {
            if !flags_done && w.starts_with("--") {
                if w.starts_with("--from") {
                    return None;
                }
                continue;
            }
            flags_done = true;
            words.push(w.to_owned());
        }
    }
    words.pop()?;
    if words.is_empty()
        || words
            .iter()
            .any(|w| w.contains("://") || w.starts_with("<<") || w.starts_with("git@"))
    {
        return None;
    }
    Some(
        words
            .into_iter()
            .map(|w| clean_source(&w))
            .collect::<Vec<_>>(),
    )
}

/// `./src/` → `src`, `/a` → `a`, `.` → the empty path (the whole context).
fn clean_source(w: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in w.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A `COPY` source (as [`copy_sources`] cleans it) split into the directory to walk and the
/// glob its files must match: `src/*.c` → `src` and `src/*.c`; `a/b` → `a/b` and no glob.
#[must_use]
pub fn split_glob(source: &str) -> (String, Option<globset::GlobMatcher>) {
    let meta = |c: char| matches!(c, '*' | '?' | '[');
    let Some(at) = source.find(meta) else {
        return (source.to_owned(), None);
    };
    let root = source[..at].rsplit_once('/').map_or("", |(r, _)| r);
    let glob = globset::GlobBuilder::new(source)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher());
    (root.to_owned(), glob)
}

/// Whether `glob` matches `rel` or one of its parent directories (a `COPY` of a matched
/// directory copies what is under it).
#[must_use]
pub fn matches_or_parent(glob: &globset::GlobMatcher, rel: &str) -> bool {
    glob.is_match(rel)
        || rel
            .match_indices('/')
            .any(|(i, _)| glob.is_match(&rel[..i]))
}

/// Whether the `COPY` source `source` (cleaned by [`copy_sources`]) copies the file `rel`
/// (relative to the context): the whole context, the file itself, a file under the
/// directory, or a match of its glob.
#[must_use]
pub fn source_selects(source: &str, rel: &str) -> bool {
    match split_glob(source) {
        (_, Some(glob)) => matches_or_parent(&glob, rel),
        (root, None) => {
            root.is_empty()
                || rel == root
                || rel
                    .strip_prefix(root.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        }
    }
}

/// The variable names an `ENV`/`ARG` instruction sets, with the text of each assignment
/// (`ENV A=1 B=2`, `ENV A 1`, `ARG V`, `ARG V=1`).
#[must_use]
pub fn assignments(i: &Instruction) -> Vec<(String, String)> {
    if i.keyword != "ENV" && i.keyword != "ARG" {
        return Vec::new();
    }
    let args = i.args.trim();
    let first = args.split_ascii_whitespace().next().unwrap_or_default();
    if i.keyword == "ENV" && !first.contains('=') {
        // The legacy `ENV NAME value with spaces` form.
        let value = args[first.len()..].trim();
        return vec![(first.to_owned(), value.to_owned())];
    }
    args.split_ascii_whitespace()
        .map(|w| {
            let (name, value) = w.split_once('=').unwrap_or((w, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_join_continuations_and_skip_comments() {
        let text = "# syntax=docker/dockerfile:1\nFROM busybox AS b\n\n# a comment\nRUN echo a \\\n  # inside\n  && echo b\ncopy a.txt /a\n";
        let got: Vec<String> = instructions(text).iter().map(Instruction::text).collect();
        assert_eq!(
            got,
            ["FROM busybox AS b", "RUN echo a && echo b", "COPY a.txt /a"]
        );
    }

    #[test]
    fn the_escape_directive_and_heredocs_are_honoured() {
        let text =
            "# escape=`\nFROM x\nRUN a `\n b\nRUN <<EOF\nFROM not-an-instruction\nEOF\nENV A=1\n";
        let got: Vec<String> = instructions(text).iter().map(Instruction::text).collect();
        assert_eq!(got, ["FROM x", "RUN a b", "RUN <<EOF", "ENV A=1"]);
    }

    #[test]
    fn copy_sources_are_the_context_paths() {
        assert_eq!(
            copy_sources("COPY --chown=1:1 ./src/ b.txt /app/"),
            Some(vec!["src".to_owned(), "b.txt".to_owned()])
        );
        assert_eq!(copy_sources("COPY . ."), Some(vec![String::new()]));
        assert_eq!(
            copy_sources(r#"ADD ["a b", "/x"]"#),
            Some(vec!["a b".to_owned()])
        );
        assert_eq!(copy_sources("COPY --from=builder /out /out"), None);
        assert_eq!(copy_sources("ADD https://x/y.tgz /y"), None);
        assert_eq!(copy_sources("RUN cp a b"), None);
        assert_eq!(copy_sources("COPY onlyone"), None);
    }

    #[test]
    fn a_source_selects_its_files() {
        assert!(source_selects("", "any/file"));
        assert!(source_selects("src", "src"));
        assert!(source_selects("src", "src/a/b.c"));
        assert!(
            !source_selects("src", "srcs/a.c"),
            "a sibling with the same prefix"
        );
        assert!(source_selects("src/*.c", "src/a.c"));
        assert!(!source_selects("src/*.c", "src/sub/a.c"), "* stops at /");
        assert!(
            source_selects("pkg*", "pkg1/x/y"),
            "under a matched directory"
        );
        assert!(!source_selects("package.json", "package-lock.json"));
    }

    #[test]
    fn assignments_of_env_and_arg() {
        let i = |k: &str, a: &str| Instruction {
            keyword: k.into(),
            args: a.into(),
        };
        assert_eq!(
            assignments(&i("ENV", "A=1 B=2")),
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(
            assignments(&i("ENV", "A hello world")),
            [("A".into(), "hello world".into())]
        );
        assert_eq!(assignments(&i("ARG", "V")), [("V".into(), String::new())]);
        assert!(assignments(&i("RUN", "x")).is_empty());
    }
}
