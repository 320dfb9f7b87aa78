use super::*;

#[test]
fn copies_are_taken_apart() {
    let c = parse_copy("COPY --chown=app:app . /srv/app").expect("a copy");
    assert_eq!(
        c,
        Copy {
            keyword: "COPY".into(),
            flags: "--chown=app:app ".into(),
            dest: "/srv/app".into(),
            copies_all: true,
        }
    );
    assert!(parse_copy(r#"COPY ["./", "./"]"#).is_some_and(|c| c.copies_all));
    assert!(parse_copy("ADD . /app").is_some_and(|c| c.copies_all));
    assert!(parse_copy("COPY package.json ./").is_some_and(|c| !c.copies_all));
    assert_eq!(parse_copy("COPY --from=build /out ."), None);
    assert_eq!(parse_copy("RUN cp . ."), None);
    assert_eq!(parse_copy("COPY ."), None);
}

#[test]
fn dockerfile_instructions_are_joined_and_folded() {
    let text = "# c\nFROM x\n\nrun a \\\n  # inside\n  && b\nCOPY  .   .\n";
    assert_eq!(printed_steps(text), ["RUN a && b", "COPY . ."]);
    assert!(dockerfile_has(
        "COPY . .\nRUN npm ci\n",
        "COPY . .",
        "RUN  npm ci"
    ));
    assert!(!dockerfile_has(
        "RUN npm ci\nCOPY . .\n",
        "COPY . .",
        "RUN npm ci"
    ));
}

/// Four builds of `steps` (with their stages) in which every step ran.
fn history(steps: &[(&str, Option<&str>)]) -> DockerfileHistory {
    let build = |n: u32| crate::cache::PastDockerBuild {
        build_id: format!("p:{n}"),
        started_at: format!("2026-01-0{}T00:00:00Z", n + 1),
        status: "SUCCEEDED".into(),
        steps_total: count(steps.len()),
        steps_cached: 0,
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, (text, stage))| PastStep {
                position: count(i),
                stage: stage.map(str::to_owned),
                platform: None,
                instruction: (*text).to_owned(),
                cached: false,
                duration_ms: Some(1000),
            })
            .collect(),
        first_miss: steps.first().map(|s| s.0.to_owned()),
        reason: None,
    };
    DockerfileHistory {
        project: "p".into(),
        image: Some("app".into()),
        docker_build: None,
        builds: (0..4).map(build).collect(),
    }
}

fn reorders(steps: &[(&str, Option<&str>)]) -> Vec<Advice> {
    let h = history(steps);
    AdviceRules::builtin()
        .expect("rules")
        .advise(&h, &[], &AdviceInput::default())
        .into_iter()
        .filter(|a| a.rule != FIRST_MISS_OFTEN)
        .collect()
}

#[test]
fn no_reordering_that_would_be_wrong() {
    // The copy and the install in different stages.
    assert!(reorders(&[("COPY . .", Some("src")), ("RUN npm ci", Some("deps"))]).is_empty());
    // A relative destination with a WORKDIR between: the manifests would land elsewhere.
    assert!(
        reorders(&[
            ("COPY . .", None),
            ("WORKDIR /app", None),
            ("RUN npm ci", None)
        ])
        .is_empty()
    );
    // A copy from another stage is not the build context.
    assert!(reorders(&[("COPY --from=build / /", None), ("RUN npm ci", None)]).is_empty());
    // Only manifests copied first: nothing to advise.
    assert!(reorders(&[("COPY package.json ./", None), ("RUN npm ci", None)]).is_empty());
    // The flags of the copy are kept on the manifests' copy.
    let a = reorders(&[
        ("COPY --chown=node:node . /home/node/app", None),
        ("RUN npm ci", None),
    ]);
    assert_eq!(
        a[0].lines,
        [
            "COPY --chown=node:node package.json package-lock.json /home/node/app/",
            "RUN npm ci",
            "COPY --chown=node:node . /home/node/app"
        ]
    );
}

#[test]
fn a_broken_table_is_a_clear_error() {
    let bad = ADVICE_TOML.replace("install = '^RUN\\s+(?:.*\\s)?go", "install = '(go");
    let err = AdviceRules::parse(&bad).expect_err("bad pattern");
    assert!(err.to_string().contains("go-after-copy-all"), "{err}");
    let twice = format!(
        "{ADVICE_TOML}\n{}",
        &ADVICE_TOML[ADVICE_TOML.find("\n[[reorder]]").expect("a rule")..]
    );
    let err = AdviceRules::parse(&twice).expect_err("duplicate");
    assert!(err.to_string().contains("defined twice"), "{err}");
}
