//! The build's one shell (issue 14): in 0.2 every variable a command sets, exported or not,
//! carries over to later commands and phases with its exact bytes, as do `cd`, `export` and
//! `unset`; readonly variables and the shell's own are not replayed; a RETRY attempt starts
//! from the state at its phase's start. Under dash (the default `/bin/sh`) and bash.

use crate::local_harness::{image, project, run};

/// The value a command builds with printf, byte for byte: two spaces, a single and a double
/// quote, a `$`, `=` signs, a backslash, a newline.
const VALUE: &str = "sp  ace|q'uote|dq\"|dollar$x|eq=a=b|back\\slash|\nline twoend";

fn spec(shell: &str) -> String {
    format!(
        r#"version: 0.2
env:
  shell: {shell}
phases:
  install:
    commands:
      - COUNT=1
      - V="$(printf 'sp  ace|q\047uote|dq"|dollar$x|eq=a=b|back\\slash|\nline two')end"
      - printf 'install:%s\n' "$(printf '%s' "$V" | base64 | tr -d '\n')"
      - export E=exported; N=notexported
      - readonly R=ro
      - U=to-be-unset; unset HOSTNAME
      - M="$(printf 'one\nHOME=/evil\nPLANTED=1\nSTRAY=\047x\047\nlast')"
  pre_build:
    commands:
      - unset U
      - COUNT=$((COUNT+1))
      - cd /tmp
  build:
    commands:
      - COUNT=$((COUNT+1))
      - echo count=$COUNT
      - printf 'build:%s\n' "$(printf '%s' "$V" | base64 | tr -d '\n')"
      - sh -c 'echo child E=${{E-none}} N=${{N-none}}'
      - echo shell N=${{N-none}} R=${{R-none}} U=${{U-none}} H=${{HOSTNAME-none}} pwd=$(pwd)
      - echo declares=$(grep -c '^declare ' /codebuild/output/tmp/env.sh)
      - echo lines home=$HOME planted=${{PLANTED-none}} stray=${{STRAY-none}} m=$(printf '%s' "$M" | base64 | tr -d '\n')
"#
    )
}

fn encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decode(line: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn every_variable_carries_over_exported_or_not_with_its_exact_bytes() {
    let Some(img) = image() else { return };
    for shell in ["/bin/sh", "bash"] {
        let dir = project(&[("buildspec.yml", &spec(shell))]);
        let r = run(dir.path(), &img, &[]);
        assert_eq!(r.code, 0, "{shell}: {}", r.dump());
        let out = r.stdout();
        let value = |prefix: &str| {
            out.iter()
                .find_map(|l| l.strip_prefix(prefix))
                .map_or_else(|| panic!("{shell}: no {prefix} line: {}", r.dump()), decode)
        };
        assert_eq!(value("install:"), VALUE, "{shell}");
        assert_eq!(
            value("build:"),
            VALUE,
            "{shell}: the value survived two phases"
        );
        assert!(out.contains(&"count=3".to_owned()), "{shell}: {}", r.dump());
        // Exported stays exported; a plain variable is the shell's, not its children's.
        assert!(
            out.contains(&"child E=exported N=none".to_owned()),
            "{shell}: {}",
            r.dump()
        );
        // bash 4+ saves in its own `declare` form (the fast path), dash in POSIX form.
        let declares = out
            .iter()
            .find_map(|l| l.strip_prefix("declares="))
            .and_then(|n| n.parse::<u32>().ok());
        if shell == "bash" {
            assert!(declares.is_some_and(|n| n > 0), "{shell}: {}", r.dump());
        } else {
            assert_eq!(declares, Some(0), "{shell}: {}", r.dump());
        }
        // Lines of a multi-line value that look like assignments stay in the value.
        let m = "one\nHOME=/evil\nPLANTED=1\nSTRAY='x'\nlast";
        let want = format!("lines home=/root planted=none stray=none m={}", encode(m));
        assert!(out.contains(&want), "{shell}: {want}: {}", r.dump());
        // Readonly variables are not replayed; `unset` carries over, also of a variable of
        // the container's own environment (HOSTNAME); so does `cd`.
        assert!(
            out.contains(&"shell N=notexported R=none U=none H=none pwd=/tmp".to_owned()),
            "{shell}: {}",
            r.dump()
        );
    }
}

#[test]
fn a_retry_starts_from_the_state_at_its_phase_start() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - N=0\n  build:\n    on-failure: RETRY-1\n    commands:\n      - N=$((N+1)); export LEFT=by-attempt-$N; echo n=$N\n      - test -f /tmp/second || { touch /tmp/second; false; }\n      - echo left=$LEFT\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let out = r.stdout();
    // Without the restore the second attempt would see n=1 and print n=2.
    assert_eq!(out, ["n=1", "n=1", "left=by-attempt-1"], "{}", r.dump());
}
