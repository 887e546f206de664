//! The image system's pure parsers against fixtures: Dockerfiles (valid, and
//! invalid ones paired with the exact error they must give), `.dockerignore`
//! and whiteout names. No root needed.

use glassbox::image::context::{is_excluded, parse_ignore};
use glassbox::image::dockerfile::{Command, Kind, expand, parse};
use glassbox::image::import::{Whiteout, clean_path, whiteout_of};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dockerfile");

#[test]
fn every_supported_instruction_parses() {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("valid-all.Dockerfile")).unwrap();
    let ins = parse("Dockerfile", &text).unwrap();
    let keywords: Vec<&str> = ins.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(
        keywords,
        [
            "ARG",
            "FROM",
            "ARG",
            "ENV",
            "ENV",
            "LABEL",
            "WORKDIR",
            "COPY",
            "ADD",
            "RUN",
            "RUN",
            "USER",
            "EXPOSE",
            "ENTRYPOINT",
            "CMD"
        ]
    );
    // Lines are where each instruction starts; continuations are joined.
    assert_eq!(ins[3].line, 5);
    assert_eq!(
        ins[3].kind,
        Kind::Env(vec![
            ("APP_HOME".into(), "/srv/app".into()),
            ("GREETING".into(), "hello world".into())
        ])
    );
    assert_eq!(
        ins[4].kind,
        Kind::Env(vec![("LEGACY".into(), "a value with spaces".into())])
    );
    assert_eq!(
        ins[5].kind,
        Kind::Label(vec![
            ("org.example.version".into(), "$VERSION".into()),
            ("maintainer".into(), "ops team".into())
        ])
    );
    let Kind::Copy(copy) = &ins[7].kind else {
        panic!("COPY")
    };
    assert_eq!(
        (
            copy.sources.as_slice(),
            copy.dest.as_str(),
            copy.chown.as_deref()
        ),
        (&["app/".to_string()][..], "./", Some("1000:1000"))
    );
    let Kind::Add(add) = &ins[8].kind else {
        panic!("ADD")
    };
    assert_eq!(add.chmod, Some(0o755));
    assert_eq!(ins[9].line, 12);
    assert_eq!(
        ins[9].kind,
        Kind::Run(Command::Shell(
            "echo \"building $VERSION\"  && mkdir -p data".into()
        ))
    );
    assert_eq!(
        ins[10].kind,
        Kind::Run(Command::Exec(vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo exec form".into()
        ]))
    );
    assert_eq!(
        ins[12].kind,
        Kind::Expose(vec!["80".into(), "443/udp".into()])
    );
    assert_eq!(
        ins[14].kind,
        Kind::Cmd(Command::Shell("echo $GREETING".into()))
    );
    // Only RUN, COPY and ADD add layers.
    let layers = ins.iter().filter(|i| i.kind.adds_layer()).count();
    assert_eq!(layers, 4);
}

#[test]
fn invalid_dockerfiles_give_their_paired_error() {
    let dir = Path::new(FIXTURES).join("invalid");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("Dockerfile") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let want = std::fs::read_to_string(path.with_extension("err")).unwrap();
        let got = parse("Dockerfile", &text)
            .expect_err(&path.display().to_string())
            .to_string();
        assert_eq!(got, want.trim_end(), "{}", path.display());
        n += 1;
    }
    assert!(n >= 10, "only {n} fixtures");
}

#[test]
fn variables_expand_as_docker() {
    let mut vars = BTreeMap::new();
    vars.insert("HOME".to_string(), "/srv".to_string());
    assert_eq!(
        expand("$HOME/app ${HOME}/x ${NOPE:-def} \\$HOME", &vars),
        "/srv/app /srv/x def $HOME"
    );
}

#[test]
fn dockerignore_patterns() {
    let p = parse_ignore("# build output\n/target\n**/*.tmp\n*.md\n!README.md\n.git\n");
    for (path, excluded) in [
        ("target/release/x", true),
        ("src/a.tmp", true),
        ("deep/er/b.tmp", true),
        ("NOTES.md", true),
        ("README.md", false),
        (".git/config", true),
        ("src/main.rs", false),
    ] {
        assert_eq!(is_excluded(&p, Path::new(path)), excluded, "{path}");
    }
}

#[test]
fn whiteout_names_map_to_what_they_delete() {
    let cases: [(&str, Result<Whiteout, ()>); 6] = [
        (
            "etc/.wh.motd",
            Ok(Whiteout::Delete(PathBuf::from("etc/motd"))),
        ),
        (
            "var/cache/.wh..wh..opq",
            Ok(Whiteout::Opaque(PathBuf::from("var/cache"))),
        ),
        (".wh.top", Ok(Whiteout::Delete(PathBuf::from("top")))),
        ("usr/bin/ls", Ok(Whiteout::None)),
        (".wh...", Err(())),
        ("a/.wh..wh.plnk", Err(())),
    ];
    for (name, want) in cases {
        let got = whiteout_of(&clean_path(name.as_bytes()).unwrap()).map_err(|_| ());
        assert_eq!(got, want, "{name}");
    }
    assert!(clean_path(b"../.wh.passwd").is_err());
    assert!(clean_path(b"/etc/.wh.passwd").is_err());
}
