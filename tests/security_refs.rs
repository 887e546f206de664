//! Bad image references and hostile OCI indexes are refused with a clear
//! message, and nothing is made (issue 9, item 8, second and third bullets).
//!
//! - `tag`, `build -t` and the names an archive gives to `load` must be
//!   docker's reference grammar; control characters (an `ESC [2J` in a tag
//!   would clear the terminal of whoever runs `images`) are named, never
//!   printed raw.
//! - An OCI index may point at indexes; one that nests deeper than a small
//!   limit, or names more blobs than a limit, is refused at once. Before,
//!   a 30 KB layout of indexes that each name the next four times took
//!   4^depth steps.

mod common;
use common::{TestRoot, have_root};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn layer() -> Vec<u8> {
    tar_of(&[("hello".into(), b"hi".to_vec())])
}

fn config(layer: &[u8]) -> Vec<u8> {
    serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "history": [{"created_by": "test"}],
    })
    .to_string()
    .into_bytes()
}

/// A docker-archive of one image tagged `tags`.
fn docker_archive(tags: &[&str]) -> Vec<u8> {
    let layer = layer();
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": tags,
        "Layers": ["layer.tar"],
    }]);
    tar_of(&[
        ("config.json".into(), config(&layer)),
        ("manifest.json".into(), manifest.to_string().into_bytes()),
        ("layer.tar".into(), layer),
    ])
}

/// What the store holds: `images` and the layers directory.
fn store_state(root: &TestRoot) -> (String, Vec<String>) {
    let mut layers: Vec<String> = std::fs::read_dir(root.path().join("layers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    layers.sort();
    (root.ok(&["images"]), layers)
}

fn assert_refused(out: &std::process::Output, what: &str, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} was accepted");
    assert!(
        stderr.contains(says),
        "{what}: the refusal should say {says:?}: {stderr}"
    );
    for raw in ['\u{1b}', '\r'] {
        assert!(
            !out.stderr.contains(&(raw as u8)) && !out.stdout.contains(&(raw as u8)),
            "{what}: a raw control character was printed: {stderr:?}"
        );
    }
}

#[test]
fn tags_follow_dockers_grammar() {
    if !have_root("tags_follow_dockers_grammar") {
        return;
    }
    let root = TestRoot::new("refs-tag");
    root.ok(&["run", "--rm", "busybox", "true"]);
    let before = store_state(&root);
    for bad in [
        "a//b",
        "-a",
        "a-",
        "a:",
        "a:-x",
        "a..b",
        "a b",
        "Upper/case",
        "a\u{1b}[2Jb:latest",
        "a\nb",
        "ok:tag\u{7}",
        "host:port/app",
    ] {
        let out = root.glassbox(&["tag", "--", "busybox", bad]);
        assert_refused(&out, &format!("tag {bad:?}"), "invalid reference format");
    }
    let digest = format!("app@sha256:{}", "a".repeat(64));
    let out = root.glassbox(&["tag", "busybox", &digest]);
    assert_refused(&out, "tag with a digest", "digest");
    assert_eq!(
        store_state(&root),
        before,
        "a refused tag changed the store"
    );
    // What docker accepts, glassbox accepts: a registry with a port, path
    // components with separators, upper case in a registry host and a tag.
    for good in [
        "localhost:5000/my-app_x/y.z:v1.0",
        "Registry.Example.com/team/app:TAG_1",
        "a__b/c---d",
    ] {
        root.ok(&["tag", "busybox", good]);
    }
    let images = root.ok(&["images"]);
    assert!(images.contains("localhost:5000/my-app_x/y.z"), "{images}");
    assert!(images.contains("Registry.Example.com/team/app"), "{images}");
}

#[test]
fn build_refuses_a_bad_tag_before_any_step() {
    if !have_root("build_refuses_a_bad_tag_before_any_step") {
        return;
    }
    let root = TestRoot::new("refs-build");
    root.ok(&["run", "--rm", "busybox", "true"]);
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN echo made > /made\n",
    )
    .unwrap();
    let before = store_state(&root);
    let out = root.glassbox(&["build", "-t", "bad//name", ctx.to_str().unwrap()]);
    assert_refused(&out, "build -t bad//name", "invalid reference format");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("RUN"),
        "a step ran before the tag was refused"
    );
    assert_eq!(
        store_state(&root),
        before,
        "the refused build made something"
    );
}

#[test]
fn load_refuses_names_with_control_characters() {
    if !have_root("load_refuses_names_with_control_characters") {
        return;
    }
    let root = TestRoot::new("refs-load");
    let before = store_state(&root);
    for (tags, says) in [
        (vec!["evil\u{1b}[2J:latest"], "U+001B"),
        (vec!["fine:latest", "two\nlines:latest"], "U+000A"),
        (vec!["UPPER:latest"], "invalid reference format"),
    ] {
        let file = root.path().join("evil.tar");
        std::fs::write(&file, docker_archive(&tags)).unwrap();
        let out = root.glassbox(&["load", "-i", file.to_str().unwrap()]);
        assert_refused(&out, &format!("load of {tags:?}"), says);
        assert_eq!(
            store_state(&root),
            before,
            "load of {tags:?} made something"
        );
    }
    // The control: the same archive with a good name loads.
    let file = root.path().join("good.tar");
    std::fs::write(&file, docker_archive(&["good:latest"])).unwrap();
    root.ok(&["load", "-i", file.to_str().unwrap()]);
    assert!(root.ok(&["images"]).contains("good"));
}

/// An OCI layout whose index.json points at `depth` nested indexes, each
/// naming the next one `fan` times, the innermost naming one image.
fn nested_layout(depth: usize, fan: usize) -> Vec<u8> {
    let layer = layer();
    let config = config(&layer);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let blob = |b: &[u8]| format!("blobs/sha256/{}", &sha256(b)[7..]);
    let mut files = vec![
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (blob(&config), config.clone()),
        (blob(&layer), layer.clone()),
        (blob(&manifest), manifest.clone()),
    ];
    let mut next = (
        "application/vnd.oci.image.manifest.v1+json",
        sha256(&manifest),
        manifest.len(),
    );
    for _ in 0..depth {
        let entry = serde_json::json!({"mediaType": next.0, "digest": next.1, "size": next.2});
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": vec![entry; fan],
        })
        .to_string()
        .into_bytes();
        next = (
            "application/vnd.oci.image.index.v1+json",
            sha256(&index),
            index.len(),
        );
        files.push((blob(&index), index));
    }
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": next.0, "digest": next.1, "size": next.2,
                       "annotations": {"io.containerd.image.name": "nested:latest"}}],
    });
    files.push(("index.json".into(), top.to_string().into_bytes()));
    tar_of(&files)
}

/// Runs `load -i FILE`, killing it after `limit`; the output and the time.
fn load_within(
    root: &TestRoot,
    file: &std::path::Path,
    limit: Duration,
) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let mut child = root
        .cmd(&["load", "-i", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("load of {} still ran after {limit:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

#[test]
fn nested_indexes_and_blob_floods_are_refused_fast() {
    if !have_root("nested_indexes_and_blob_floods_are_refused_fast") {
        return;
    }
    let root = TestRoot::new("refs-index");
    let before = store_state(&root);
    // 4^10 paths to the same image through 10 nested indexes.
    let tar = nested_layout(10, 4);
    assert!(tar.len() < 64 * 1024, "the fixture is {} bytes", tar.len());
    let file = root.path().join("nested.tar");
    std::fs::write(&file, &tar).unwrap();
    let (out, took) = load_within(&root, &file, Duration::from_secs(20));
    assert_refused(&out, "10 nested indexes", "nest");
    assert!(took < Duration::from_secs(2), "refusing took {took:?}");
    assert_eq!(
        store_state(&root),
        before,
        "the refused load made something"
    );

    // One index naming the same image 5000 times: a blob count past the limit.
    let tar = nested_layout(1, 5000);
    let file = root.path().join("flood.tar");
    std::fs::write(&file, &tar).unwrap();
    let (out, took) = load_within(&root, &file, Duration::from_secs(20));
    assert_refused(&out, "an index of 5000 manifests", "blobs");
    assert!(took < Duration::from_secs(2), "refusing took {took:?}");
    assert_eq!(
        store_state(&root),
        before,
        "the refused load made something"
    );

    // The control: two levels, as a multi-platform image has, load.
    let file = root.path().join("two.tar");
    std::fs::write(&file, nested_layout(1, 1)).unwrap();
    root.ok(&["load", "-i", file.to_str().unwrap()]);
    assert!(root.ok(&["images"]).contains("nested"));
}
