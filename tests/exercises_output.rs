//! `glassbox check`'s outputs for autograders: the JSON parses and adds up,
//! the JUnit is well-formed XML whose counts match its test cases, the text
//! has one line per exercise, and the exit code is 0 only when all pass.

mod common;
mod exercises_util;

use common::{TestRoot, have_root};
use exercises_util::run;
use quick_xml::events::Event;

fn exercise_count() -> usize {
    let mut n = 0;
    for f in std::fs::read_dir(exercises_util::lessons_dir()).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        n += text.lines().filter(|l| l.trim() == "[[exercise]]").count();
    }
    n
}

#[test]
fn json_parses_and_its_summary_adds_up() {
    if !have_root("json_output") {
        return;
    }
    let root = TestRoot::new("ex-json");
    let out = run(&root, &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "a clean root passes nothing");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let list = doc["exercises"].as_array().expect("exercises array");
    assert_eq!(list.len(), exercise_count());
    assert!(list.len() >= 20, "every topic has an exercise");
    let s = &doc["summary"];
    assert_eq!(s["total"].as_u64(), Some(list.len() as u64));
    let count = |st: &str| list.iter().filter(|e| e["status"] == st).count() as u64;
    assert_eq!(s["passed"].as_u64(), Some(count("pass")));
    assert_eq!(s["failed"].as_u64(), Some(count("fail")));
    assert_eq!(s["errors"].as_u64(), Some(count("error")));
    assert_eq!(count("pass"), 0);
    for e in list {
        assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!((1..=20).contains(&e["topic"].as_u64().unwrap()));
        assert!(["task", "predict"].contains(&e["kind"].as_str().unwrap()));
        assert!(
            !e["message"].as_str().unwrap().is_empty(),
            "a fail says why: {e}"
        );
        assert!(e["seconds"].as_f64().is_some());
    }
    // Every topic 1..20 appears.
    for t in 1..=20u64 {
        assert!(
            list.iter().any(|e| e["topic"] == t),
            "topic {t} has no exercise"
        );
    }
}

#[test]
fn junit_is_well_formed_and_counts_match() {
    if !have_root("junit_output") {
        return;
    }
    let root = TestRoot::new("ex-junit");
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "1000", "busybox", "sleep", "600",
    ]);
    let out = run(&root, &["check", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));

    let mut reader = quick_xml::Reader::from_str(&xml);
    reader.config_mut().check_end_names = true;
    let (mut cases, mut failures, mut suites, mut depth) = (0, 0, 0, 0i32);
    let mut root_attrs = std::collections::BTreeMap::new();
    let mut passed_names = Vec::new();
    let mut current = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                depth += 1;
                let name = e.name().as_ref().to_string();
                let attrs: std::collections::BTreeMap<String, String> = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            a.key.as_ref().to_string(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .expect("escaped value")
                                .into_owned(),
                        )
                    })
                    .collect();
                match name.as_str() {
                    "testsuites" => root_attrs = attrs,
                    "testsuite" => suites += 1,
                    "testcase" => {
                        cases += 1;
                        current = attrs["name"].clone();
                        passed_names.push(current.clone());
                    }
                    "failure" | "error" => {
                        failures += 1;
                        assert!(!attrs["message"].is_empty());
                        passed_names.retain(|n| n != &current);
                    }
                    _ => {}
                }
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element closed");
    assert_eq!(cases, exercise_count());
    assert_eq!(root_attrs["tests"], cases.to_string());
    let f: usize = root_attrs["failures"].parse::<usize>().unwrap()
        + root_attrs["errors"].parse::<usize>().unwrap();
    assert_eq!(f, failures);
    assert!(suites >= 20, "one testsuite per topic");
    assert_eq!(passed_names, vec!["topic12-nobody".to_string()]);
}

#[test]
fn text_has_one_line_per_exercise_and_exit_0_only_when_all_pass() {
    if !have_root("text_output") {
        return;
    }
    let root = TestRoot::new("ex-text");
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "1000", "busybox", "sleep", "600",
    ]);
    let out = run(&root, &["check", "12"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("PASS") && lines[0].contains("topic12-nobody"),
        "{text}"
    );
    assert_eq!(lines.last().copied(), Some("1 of 1 passed"));

    let out = run(&root, &["check", "4", "12"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("topic4-capped"))
    );
    assert!(text.contains("1 of 2 passed, 1 failed"), "{text}");

    let out = run(&root, &["check", "no-such-topic"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no exercise matches"));
}
