//! Classifying single lines of `docker build` output. Every function here looks at one line
//! and says what it is; the state (which vertex is which step) lives in `analyzer`.

/// A `[stage i/n] CMD` vertex name (BuildKit) or a `Step i/n : CMD` line (legacy).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StepHeader<'a> {
    pub index: u32,
    pub stage: Option<&'a str>,
    /// The platform of a multi-platform build (`linux/arm64`).
    pub platform: Option<&'a str>,
    pub instruction: &'a str,
}

/// What a `#N ...` BuildKit line says about vertex `N`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BkLine<'a> {
    /// A vertex name that is a Dockerfile step.
    Step(StepHeader<'a>),
    /// `exporting to image` and friends: its DONE ends the build.
    Export,
    /// Any other vertex name (`[internal] load ...`, `resolve image config ...`).
    Internal,
    Cached,
    Done(Option<u64>),
    Error(&'a str),
    Canceled,
    /// `naming to <image> done`.
    NamingTo(&'a str),
    /// `importing cache manifest from <ref>`: a `--cache-from` import.
    CacheImport,
    /// Log output, `#N ...` interleave markers, `sha256:` lines, progress: nothing to do.
    Other,
}

/// Splits `#N rest` into `(N, rest)`; `None` when the line is not BuildKit output.
pub(crate) fn buildkit_vertex(line: &str) -> Option<(u32, &str)> {
    let body = line.strip_prefix('#')?;
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = body[digits..].strip_prefix(' ')?;
    let n = body[..digits].parse().ok()?;
    Some((n, rest))
}

/// Classifies the part of a BuildKit line after `#N `.
pub(crate) fn classify_buildkit(rest: &str) -> BkLine<'_> {
    match rest.as_bytes().first() {
        Some(b'C') if rest == "CACHED" => BkLine::Cached,
        Some(b'C') if rest == "CANCELED" => BkLine::Canceled,
        Some(b'D') if rest.starts_with("DONE") => BkLine::Done(parse_secs(&rest[4..])),
        Some(b'E') if rest.starts_with("ERROR") => {
            BkLine::Error(rest[5..].trim_start_matches(':').trim_start_matches(' '))
        }
        Some(b'[') => step_header_bracket(rest).map_or(BkLine::Internal, BkLine::Step),
        Some(b'e') if rest.starts_with("exporting to ") => BkLine::Export,
        Some(b'i') if rest.starts_with("importing cache manifest from ") => BkLine::CacheImport,
        Some(b'n') if rest.starts_with("naming to ") => {
            // `naming to <name>[ <secs>s][ done]`: the name is the first word.
            let name = rest["naming to ".len()..]
                .split(' ')
                .next()
                .unwrap_or_default();
            BkLine::NamingTo(name)
        }
        // Log lines (`0.140 text`), sha256 lines of 20.10, `...` markers, progress.
        _ => BkLine::Other,
    }
}

/// `[builder  2/4] RUN x` → step 2 of stage `builder`; `[linux/arm64 builder 2/4] RUN x` (a
/// multi-platform build) also names the platform. `[internal]` and other bracketed names
/// give `None`.
fn step_header_bracket(rest: &str) -> Option<StepHeader<'_>> {
    let close = rest.find("] ")?;
    let inside = &rest[1..close];
    let mut tokens = inside.split_ascii_whitespace();
    let last = tokens.next_back()?;
    let (i, n) = last.split_once('/')?;
    let index: u32 = i.parse().ok()?;
    n.parse::<u32>().ok()?;
    // Of the tokens before `i/n`, the one without a `/` is the stage name, the one with a
    // `/` the platform (`linux/arm64`, `linux/arm/v7`).
    let before: Vec<&str> = tokens.collect();
    let stage = before.iter().rev().find(|t| !t.contains('/')).copied();
    let platform = before.iter().find(|t| t.contains('/')).copied();
    Some(StepHeader {
        index,
        stage,
        platform,
        instruction: &rest[close + 2..],
    })
}

/// ` 0.3s` → 300 ms.
fn parse_secs(s: &str) -> Option<u64> {
    let secs: f64 = s.trim().strip_suffix('s')?.parse().ok()?;
    // Durations are short and positive; the cast cannot overflow for any real build.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((secs * 1000.0).round() as u64)
}

/// `Step 2/5 : RUN x` → step 2.
pub(crate) fn legacy_step(line: &str) -> Option<StepHeader<'_>> {
    let rest = line.strip_prefix("Step ")?;
    let (counter, instruction) = rest.split_once(" : ")?;
    let (i, _) = counter.split_once('/')?;
    Some(StepHeader {
        index: i.parse().ok()?,
        stage: None,
        platform: None,
        instruction,
    })
}

/// Removes the ANSI SGR sequences (`ESC[91m`, `ESC[0m`) the legacy CLI wraps stderr in.
pub(crate) fn strip_leading_sgr(mut line: &str) -> &str {
    while let Some(rest) = line.strip_prefix("\x1b[") {
        match rest.find('m') {
            Some(end) if rest[..end].bytes().all(|b| b.is_ascii_digit() || b == b';') => {
                line = &rest[end + 1..];
            }
            _ => break,
        }
    }
    line
}

/// Whether a step instruction is `FROM` (not cacheable: it names a base image).
pub(crate) fn is_from(instruction: &str) -> bool {
    instruction
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("FROM "))
}

/// The image a `FROM` step names: `FROM --platform=x img:1 AS b` → `img:1`.
pub(crate) fn from_image(instruction: &str) -> &str {
    instruction
        .split_ascii_whitespace()
        .skip(1)
        .find(|w| !w.starts_with("--"))
        .unwrap_or_default()
}

/// The stage name of a legacy `FROM image AS name`.
pub(crate) fn from_stage_name(instruction: &str) -> Option<&str> {
    let mut words = instruction.split_ascii_whitespace().rev();
    let name = words.next()?;
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("as"))
        .then_some(name)
}

/// A `docker build` command line the CodeBuild agent announced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BuildCommand<'a> {
    /// The first `-t`/`--tag` value.
    pub tag: Option<&'a str>,
}

/// What a command (the text of a `Running command` line, or one line of a multi-line
/// command) can do, as far as docker builds go.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invocation<'a> {
    /// It runs `docker build` (`docker image build`, `docker buildx build`).
    DockerBuild(BuildCommand<'a>),
    /// Every part of it is known not to build an image (`docker pull x || true`, `echo`).
    NoBuild,
    /// It may build one (a script, `make`, `docker compose build`, ...).
    Unknown,
}

/// Commands that never build an image, whatever their arguments.
const NOT_BUILDING: [&str; 10] = [
    "true", "false", ":", "echo", "printf", "export", "cd", "set", "unset", "sleep",
];

/// Docker subcommands that never build an image.
const DOCKER_NOT_BUILDING: [&str; 16] = [
    "pull", "push", "tag", "login", "logout", "images", "ps", "rm", "rmi", "inspect", "info",
    "version", "network", "volume", "save", "load",
];

/// In `... Running command docker build -t app:1 .`: the command's text.
pub(crate) fn running_command(line: &str) -> Option<&str> {
    Some(&line[line.find("Running command ")? + "Running command ".len()..])
}

/// What the command `cmd` does: split at `;`, `&&`, `||`, `|` and `&` into simple commands,
/// each read from its first word after `VAR=value` assignments. A docker build anywhere wins.
pub(crate) fn classify_command(cmd: &str) -> Invocation<'_> {
    let mut known = true;
    for part in cmd.split([';', '|', '&']) {
        let mut words = part
            .split_ascii_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'));
        let Some(first) = words.next() else { continue };
        if !first.ends_with("docker") {
            known = known && NOT_BUILDING.contains(&first);
            continue;
        }
        let mut words = words.skip_while(|w| *w == "image" || *w == "buildx" || *w == "builder");
        match words.next() {
            Some("build") => return Invocation::DockerBuild(BuildCommand { tag: tag_of(words) }),
            Some(sub) if DOCKER_NOT_BUILDING.contains(&sub) => {}
            _ => known = false,
        }
    }
    if known {
        Invocation::NoBuild
    } else {
        Invocation::Unknown
    }
}

/// The first `-t`/`--tag` value among a docker build's arguments.
fn tag_of<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    while let Some(w) = words.next() {
        let value = match w {
            "-t" | "--tag" => words.next(),
            _ => w.strip_prefix("--tag=").or_else(|| w.strip_prefix("-t=")),
        };
        if let Some(v) = value {
            return Some(v.trim_matches(|c| c == '"' || c == '\''));
        }
    }
    None
}

/// In `... Running command docker build -t app:1 .`: the docker build command, if it is one.
#[cfg(test)]
pub(crate) fn docker_build_command(line: &str) -> Option<BuildCommand<'_>> {
    match classify_command(running_command(line)?) {
        Invocation::DockerBuild(b) => Some(b),
        _ => None,
    }
}

/// `docker.io/library/app:1` → `app:1`, `docker.io/me/app` → `me/app`: the name as typed.
pub(crate) fn short_image_name(name: &str) -> &str {
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_lines() {
        assert_eq!(buildkit_vertex("#12 CACHED"), Some((12, "CACHED")));
        assert_eq!(buildkit_vertex("# comment"), None);
        assert_eq!(buildkit_vertex("#!/bin/sh"), None);
        assert_eq!(classify_buildkit("DONE 12.5s"), BkLine::Done(Some(12_500)));
        assert_eq!(classify_buildkit("ERROR: boom"), BkLine::Error("boom"));
        assert_eq!(classify_buildkit("0.140 CACHED"), BkLine::Other);
        assert_eq!(
            classify_buildkit("[ 3/12] RUN make"),
            BkLine::Step(StepHeader {
                index: 3,
                stage: None,
                platform: None,
                instruction: "RUN make"
            })
        );
        assert_eq!(
            classify_buildkit("[linux/amd64 builder 2/4] COPY . ."),
            BkLine::Step(StepHeader {
                index: 2,
                stage: Some("builder"),
                platform: Some("linux/amd64"),
                instruction: "COPY . ."
            })
        );
        assert_eq!(
            classify_buildkit("[linux/arm/v7 3/3] RUN make"),
            BkLine::Step(StepHeader {
                index: 3,
                stage: None,
                platform: Some("linux/arm/v7"),
                instruction: "RUN make"
            })
        );
        assert_eq!(
            classify_buildkit(
                "[linux/arm64 internal] load metadata for docker.io/library/alpine:3.19"
            ),
            BkLine::Internal
        );
        assert_eq!(
            classify_buildkit("[internal] load .dockerignore"),
            BkLine::Internal
        );
        assert_eq!(
            classify_buildkit("naming to docker.io/library/app:1 done"),
            BkLine::NamingTo("docker.io/library/app:1")
        );
        // The status may carry a duration when naming took measurable time.
        assert_eq!(
            classify_buildkit("naming to docker.io/me/app:1 0.1s done"),
            BkLine::NamingTo("docker.io/me/app:1")
        );
    }

    #[test]
    fn legacy_lines() {
        let s = legacy_step("Step 3/5 : RUN a : b").expect("a step");
        assert_eq!((s.index, s.instruction), (3, "RUN a : b"));
        assert_eq!(strip_leading_sgr("\x1b[0m ---> abc"), " ---> abc");
        assert_eq!(strip_leading_sgr("\x1b[91mline B"), "line B");
        assert_eq!(from_stage_name("FROM img AS builder"), Some("builder"));
        assert_eq!(from_stage_name("FROM img"), None);
        assert!(is_from("from x"));
    }

    #[test]
    fn docker_build_commands() {
        let l = "[Container] 2026/11/27 Running command docker build -t app:1 .";
        assert_eq!(
            docker_build_command(l),
            Some(BuildCommand { tag: Some("app:1") })
        );
        let l = "[Container] x Running command /usr/bin/docker image build --tag=a/b .";
        assert_eq!(
            docker_build_command(l),
            Some(BuildCommand { tag: Some("a/b") })
        );
        let l = "[Container] x Running command DOCKER_BUILDKIT=1 docker build .";
        assert_eq!(docker_build_command(l), Some(BuildCommand { tag: None }));
        let l = "[Container] x Running command docker push app:1";
        assert_eq!(docker_build_command(l), None);
        let l = "[Container] x Running command docker pull x || true; docker buildx build -t y .";
        assert_eq!(
            docker_build_command(l),
            Some(BuildCommand { tag: Some("y") })
        );
        assert_eq!(short_image_name("docker.io/library/app:1"), "app:1");
    }

    #[test]
    fn commands_that_cannot_build_are_told_apart() {
        // The guide's registry-cache variant (../shared/seed/000_*.txt), line by line.
        assert_eq!(
            classify_command("export DOCKER_BUILDKIT=1"),
            Invocation::NoBuild
        );
        assert_eq!(
            classify_command("docker pull $REPOSITORY_URI:latest || true"),
            Invocation::NoBuild
        );
        assert_eq!(
            classify_command(
                "docker build --cache-from $REPOSITORY_URI:latest --build-arg BUILDKIT_INLINE_CACHE=1 -t $REPOSITORY_URI:latest ."
            ),
            Invocation::DockerBuild(BuildCommand {
                tag: Some("$REPOSITORY_URI:latest")
            })
        );
        assert_eq!(
            classify_command("docker tag $REPOSITORY_URI:latest $REPOSITORY_URI:$IMAGE_TAG"),
            Invocation::NoBuild
        );
        // What may run a build out of sight stays possible.
        assert_eq!(classify_command("make image"), Invocation::Unknown);
        assert_eq!(
            classify_command("docker compose build"),
            Invocation::Unknown
        );
        assert_eq!(
            classify_command("docker pull x && ./build.sh"),
            Invocation::Unknown
        );
    }
}
