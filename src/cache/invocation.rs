//! The arguments of a `docker build` command line as the build log shows it
//! (`Running command docker build -f x/Dockerfile --build-arg V=$V -t app .`): which
//! Dockerfile, which context, which build arguments. Pure; values that reference shell
//! variables are resolved by [`resolve`] against what the caller knows of the environment.

use std::collections::BTreeMap;

/// What one `docker build` was asked to build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildInvocation {
    /// `-f`/`--file`, as written.
    pub file: Option<String>,
    /// The context argument, as written (`.`, `ctx`, `$CODEBUILD_SRC_DIR/app`).
    pub context: Option<String>,
    /// `--build-arg NAME[=value]`: the value as written; `None` for `--build-arg NAME`, which
    /// takes `NAME` from the environment.
    pub build_args: Vec<(String, Option<String>)>,
    /// Whether `--cache-from` was given.
    pub cache_from: bool,
}

/// Options of `docker build` / `buildx build` that take a value (so the next word is not the
/// context).
const VALUED: [&str; 24] = [
    "-f",
    "--file",
    "-t",
    "--tag",
    "--build-arg",
    "--cache-from",
    "--cache-to",
    "--target",
    "--platform",
    "--label",
    "--network",
    "--secret",
    "--ssh",
    "--progress",
    "--output",
    "-o",
    "--iidfile",
    "--add-host",
    "--shm-size",
    "--ulimit",
    "--builder",
    "--metadata-file",
    "--build-context",
    "--attest",
];

/// The `docker build` among the simple commands of `cmd`, read word by word.
#[must_use]
pub fn parse(cmd: &str) -> Option<BuildInvocation> {
    cmd.split([';', '|', '&']).find_map(parse_simple)
}

fn parse_simple(part: &str) -> Option<BuildInvocation> {
    let words = shell_words(part);
    let mut it = words
        .iter()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'));
    if !it.next()?.ends_with("docker") {
        return None;
    }
    let mut it = it.skip_while(|w| *w == "image" || *w == "buildx" || *w == "builder");
    if it.next()? != "build" {
        return None;
    }
    let mut inv = BuildInvocation::default();
    while let Some(w) = it.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_owned())),
            _ => (w.as_str(), None),
        };
        if !flag.starts_with('-') || flag == "-" {
            inv.context = Some(w.clone());
            continue;
        }
        if !VALUED.contains(&flag) {
            continue;
        }
        let Some(value) = inline.or_else(|| it.next().cloned()) else {
            break;
        };
        match flag {
            "-f" | "--file" => inv.file = Some(value),
            "--build-arg" => {
                let (name, v) = match value.split_once('=') {
                    Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                    None => (value, None),
                };
                inv.build_args.push((name, v));
            }
            "--cache-from" => inv.cache_from = true,
            _ => {}
        }
    }
    Some(inv)
}

/// Splits a simple command into words: single and double quotes group (and are removed),
/// a backslash escapes the next character outside single quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// A build argument's value: as written, and as resolved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArgValue {
    /// As the command line wrote it (`$VERSION`, `1.2`); for `--build-arg NAME`: `$NAME`.
    pub raw: String,
    /// The value the build used, when every variable it references is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Resolves `$VAR`/`${VAR}` references of each build argument with `env`; an argument whose
/// variables are not all known keeps `value: None` (unknown, never guessed).
#[must_use]
pub fn resolve(
    args: &[(String, Option<String>)],
    env: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, ArgValue> {
    args.iter()
        .map(|(name, raw)| {
            let raw = raw.clone().unwrap_or_else(|| format!("${name}"));
            let value = expand(&raw, env);
            (name.clone(), ArgValue { raw, value })
        })
        .collect()
}

/// `a-$X-${Y}` with `X`, `Y` from `env`; `None` when one of them is unknown.
fn expand(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, next) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&after[..len], &after[len..])
        };
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(&env(name)?);
        }
        rest = next;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_command_is_read() {
        let inv = parse(
            "docker pull x || true; DOCKER_BUILDKIT=1 docker build --cache-from x -f ctx/Dockerfile.app --build-arg V=$V --build-arg 'MSG=a b' --build-arg HOME -t app:1 ctx",
        )
        .expect("a build");
        assert_eq!(inv.file.as_deref(), Some("ctx/Dockerfile.app"));
        assert_eq!(inv.context.as_deref(), Some("ctx"));
        assert!(inv.cache_from);
        assert_eq!(
            inv.build_args,
            [
                ("V".to_owned(), Some("$V".to_owned())),
                ("MSG".to_owned(), Some("a b".to_owned())),
                ("HOME".to_owned(), None),
            ]
        );
        let inv = parse("docker buildx build --file=D --progress plain .").expect("a build");
        assert_eq!(
            (inv.file.as_deref(), inv.context.as_deref()),
            (Some("D"), Some("."))
        );
        assert_eq!(parse("docker push app"), None);
        assert_eq!(parse("echo docker build"), None);
    }

    #[test]
    fn values_are_resolved_or_unknown() {
        let env = |n: &str| (n == "V").then(|| "1.2".to_owned());
        let got = resolve(
            &[
                ("A".into(), Some("v$V-${V}".into())),
                ("B".into(), Some("$NOPE".into())),
                ("V".into(), None),
                ("C".into(), Some("plain$".into())),
            ],
            &env,
        );
        assert_eq!(got["A"].value.as_deref(), Some("v1.2-1.2"));
        assert_eq!(got["B"].value, None);
        assert_eq!(got["V"].raw, "$V");
        assert_eq!(got["V"].value.as_deref(), Some("1.2"));
        assert_eq!(got["C"].value.as_deref(), Some("plain$"));
    }
}
