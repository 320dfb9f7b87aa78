//! The schema walker's toolbox: typed reads of [`Node`]s that record a diagnostic at the
//! node's own position when the type is wrong, and the unknown-key check with "did you mean".

use super::Pos;
use super::diagnostic::Diagnostic;
use super::lint;
use super::node::{Node, Value};

/// Collects diagnostics while a document is lowered; knows the source text so that scalars
/// YAML would read as numbers or booleans keep the characters the user wrote.
pub struct Walker<'t> {
    text: &'t str,
    pub diags: Vec<Diagnostic>,
}

/// One entry of a mapping whose key is a known name.
pub struct Entry<'n> {
    pub key: &'n str,
    pub key_pos: Pos,
    pub value: &'n Node,
}

impl<'t> Walker<'t> {
    pub fn new(text: &'t str) -> Self {
        Self {
            text,
            diags: Vec::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, message).hint(hint));
    }

    pub fn warn(&mut self, pos: Pos, message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::warning(pos, message);
        d.hint = hint.map(str::to_owned);
        self.diags.push(d);
    }

    /// Records the wrong-type error for `what` at `node`.
    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.error(
            node.pos,
            format!("`{what}` must be {expected}, found {}", node.value.kind()),
            format!("write `{what}` as {expected}"),
        );
    }

    /// The entries of mapping `node` (null counts as empty). Keys outside `known` get an
    /// "unknown key" warning with a suggestion and are left out.
    pub fn entries<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Vec<Entry<'n>> {
        let pairs = match &node.value {
            Value::Null => return Vec::new(),
            Value::Map(pairs) => pairs,
            _ => {
                self.wrong_type(node, what, "a mapping");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let Some(key) = self.key_text(k) else {
                continue;
            };
            if known.contains(&key) {
                out.push(Entry {
                    key,
                    key_pos: k.pos,
                    value: v,
                });
            } else {
                let hint = suggest(key, known).map_or_else(
                    || format!("known keys here: {}", known.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                self.warn(
                    k.pos,
                    format!("unknown key `{key}` in `{what}`: CodeBuild ignores it"),
                    Some(&hint),
                );
            }
        }
        out
    }

    /// The entries of a free-form mapping (names chosen by the user), keys as text.
    pub fn pairs<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(&'n str, Pos, &'n Node)> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::Map(pairs) => pairs
                .iter()
                .filter_map(|(k, v)| self.key_text(k).map(|key| (key, k.pos, v)))
                .collect(),
            _ => {
                self.wrong_type(node, what, "a mapping");
                Vec::new()
            }
        }
    }

    fn key_text<'n>(&mut self, k: &'n Node) -> Option<&'n str> {
        if let Value::Str(s) = &k.value {
            Some(s.as_str())
        } else {
            self.error(
                k.pos,
                format!("a key must be a name, found {}", k.value.kind()),
                "quote the key",
            );
            None
        }
    }

    /// A scalar as text: strings as they are, numbers and booleans as written in the file
    /// (`090` stays `090`, `yes` stays `yes`), null as empty. Lists and mappings are errors.
    pub fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Null => Some(String::new()),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => Some(self.raw(node)),
            Value::Seq(_) | Value::Map(_) => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// A scalar that must be present: null is an error.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        if node.value == Value::Null {
            self.error(
                node.pos,
                format!("`{what}` has no value"),
                format!("give `{what}` a value or remove the key"),
            );
            return None;
        }
        self.scalar(node, what)
    }

    /// A list of strings; a single string counts as a list of one, null as empty.
    pub fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items.iter().filter_map(|i| self.scalar(i, what)).collect(),
            Value::Map(_) => {
                self.wrong_type(node, what, "a list of strings");
                Vec::new()
            }
            _ => self.scalar(node, what).into_iter().collect(),
        }
    }

    /// `yes`/`no`/`true`/`false` (any case) or a YAML boolean; null is `false`.
    pub fn flag(&mut self, node: &Node, what: &str) -> bool {
        let text = match &node.value {
            Value::Bool(b) => return *b,
            Value::Null => return false,
            Value::Str(s) => s.to_ascii_lowercase(),
            _ => self.raw(node),
        };
        match text.as_str() {
            "yes" | "true" | "on" => true,
            "no" | "false" | "off" => false,
            _ => {
                self.error(
                    node.pos,
                    format!("`{what}` must be yes or no, found `{text}`"),
                    format!("write `{what}: yes` or `{what}: no`"),
                );
                false
            }
        }
    }

    /// The characters of a plain scalar at `node` as written in the file.
    pub fn raw(&self, node: &Node) -> String {
        let line = super::diagnostic::source_line(self.text, node.pos.line);
        let rest: String = line
            .chars()
            .skip(node.pos.col.saturating_sub(1) as usize)
            .collect();
        let end = rest
            .find(" #")
            .into_iter()
            .chain(rest.find([',', ']', '}']))
            .min()
            .unwrap_or(rest.len());
        let raw = rest[..end].trim();
        if raw.is_empty() {
            // Positions from aliases or merges may not point at the scalar itself.
            fallback_text(&node.value)
        } else {
            raw.to_owned()
        }
    }

    /// Emits the "a local run cannot do this fully" warning for a key, from `lint`'s table.
    pub fn local_limit(&mut self, key: &str, pos: Pos) {
        if let Some(limit) = lint::local_limit(key) {
            self.warn(pos, limit.message, Some(limit.hint));
        }
    }
}

fn fallback_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        _ => String::new(),
    }
}

/// The known name closest to `key`: same words in another order (`fail-fast` for
/// `fast-fail`), `_`/`-` swapped, or at most a couple of typing mistakes.
#[must_use]
pub fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let words = |s: &str| {
        let mut w: Vec<String> = norm(s).split('-').map(str::to_owned).collect();
        w.sort();
        w
    };
    let k = norm(key);
    let limit = (k.chars().count() / 4).clamp(2, 3);
    known
        .iter()
        .map(|cand| {
            let c = norm(cand);
            let score = if c == k || words(cand) == words(key) {
                0
            } else {
                edit_distance(&k, &c)
            };
            (score, *cand)
        })
        .filter(|(score, _)| *score <= limit)
        .min_by_key(|(score, _)| *score)
        .map(|(_, cand)| cand)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_swaps_and_typos() {
        let batch = ["fast-fail", "build-list", "build-matrix", "build-graph"];
        assert_eq!(suggest("fail-fast", &batch), Some("fast-fail"));
        assert_eq!(suggest("build_list", &batch), Some("build-list"));
        assert_eq!(
            suggest("environment_variabls", &["environment_variables", "env"]),
            Some("environment_variables")
        );
        assert_eq!(
            suggest("prebuild", &["pre_build", "build"]),
            Some("pre_build")
        );
        assert_eq!(suggest("zzz", &batch), None);
    }
}
