//! Lookups in an image stay in the image (issue 9, item 7).
//!
//! Resolving `USER` (and `-u`, `exec -u`, `COPY --chown`) reads the image's
//! /etc/passwd and /etc/group; `load` reads an archive's manifest.json or
//! index.json. Each is a file an image's author chose, and may be a symlink.
//! Resolved as a host path, `/etc/passwd -> /some/host/file` reads the
//! host's file: an image ran with ids taken from it. glassbox resolves these
//! with `openat2(RESOLVE_IN_ROOT)`: a symlink, absolute or `..`, resolves
//! inside the image's root, as it would for a process inside.

mod common;
use common::{TestRoot, have_root};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A host passwd and group that name `intruder` (uid 4242, gid 4343): what
/// an image must never be able to read.
fn host_files(root: &TestRoot) -> (PathBuf, PathBuf) {
    let dir = root.path().join("host-side");
    std::fs::create_dir_all(&dir).unwrap();
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    std::fs::write(&passwd, "intruder:x:4242:4343::/:/bin/sh\n").unwrap();
    std::fs::write(&group, "intruders:x:4343:\n").unwrap();
    (passwd, group)
}

/// Builds `tag` from a Dockerfile text (and files beside it).
fn build(
    root: &TestRoot,
    tag: &str,
    dockerfile: &str,
    files: &[(&str, &str)],
) -> std::process::Output {
    let ctx = root
        .path()
        .join(format!("ctx-{}", tag.replace([':', '/'], "-")));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    for (name, text) in files {
        std::fs::write(ctx.join(name), text).unwrap();
    }
    root.glassbox(&["build", "-t", tag, ctx.to_str().unwrap()])
}

fn assert_refused(out: &std::process::Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("4242") && !stdout.contains("4343"),
        "{what}: ran with the host file's ids:\n{stdout}{stderr}"
    );
    assert!(
        !out.status.success(),
        "{what}: succeeded (stdout {stdout:?})"
    );
    assert!(
        stderr.contains("intruder"),
        "{what}: the refusal should name the user: {stderr}"
    );
}

#[test]
fn user_names_come_from_the_image_not_the_host() {
    if !have_root("user_names_come_from_the_image_not_the_host") {
        return;
    }
    let root = TestRoot::new("lookup-user");
    let (passwd, group) = host_files(&root);
    let evil = format!(
        "FROM busybox\nRUN ln -sf {} /etc/passwd && ln -sf {} /etc/group\n",
        passwd.display(),
        group.display()
    );
    let out = build(&root, "lookup:evil", &evil, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // -u NAME, -u UID:GROUP
    let out = root.glassbox(&["run", "--rm", "-u", "intruder", "lookup:evil", "id"]);
    assert_refused(&out, "run -u intruder");
    let out = root.glassbox(&["run", "--rm", "-u", "0:intruders", "lookup:evil", "id"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("intruders"),
        "run -u 0:intruders: {stderr} {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // USER in the image's config
    let out = build(
        &root,
        "lookup:evil-user",
        "FROM lookup:evil\nUSER intruder\n",
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = root.glassbox(&["run", "--rm", "lookup:evil-user", "id"]);
    assert_refused(&out, "USER intruder");
    // exec -u into a running container of the image
    root.ok(&["run", "-d", "--name", "lk", "lookup:evil", "sleep", "600"]);
    let out = root.glassbox(&["exec", "-u", "intruder", "lk", "id"]);
    assert_refused(&out, "exec -u intruder");
    root.ok(&["rm", "-f", "lk"]);
    // COPY --chown=NAME
    let out = build(
        &root,
        "lookup:evil-chown",
        "FROM lookup:evil\nCOPY --chown=intruder:intruders f /f\n",
        &[("f", "x")],
    );
    assert_refused(&out, "COPY --chown=intruder");
}

#[test]
fn links_inside_the_image_still_resolve() {
    if !have_root("links_inside_the_image_still_resolve") {
        return;
    }
    let root = TestRoot::new("lookup-good");
    // /etc/passwd an absolute link, /etc/group a relative one: both lead to
    // files of the image, and resolve as a process inside would see them.
    let good = "FROM busybox\n\
        RUN mkdir -p /usr/share/base && echo 'app:x:1234:1235::/:/bin/sh' > /usr/share/base/passwd \
        && echo 'appgrp:x:1235:' > /usr/share/base/group \
        && ln -sf /usr/share/base/passwd /etc/passwd && ln -sf ../usr/share/base/group /etc/group\n\
        COPY --chown=app:appgrp f /f\n\
        USER app\n";
    let out = build(&root, "lookup:good", good, &[("f", "x")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        root.ok(&["run", "--rm", "lookup:good", "id", "-u"]).trim(),
        "1234"
    );
    assert_eq!(
        root.ok(&["run", "--rm", "lookup:good", "id", "-g"]).trim(),
        "1235"
    );
    assert_eq!(
        root.ok(&["run", "--rm", "-u", "0:appgrp", "lookup:good", "id", "-g"])
            .trim(),
        "1235"
    );
    assert_eq!(
        root.ok(&["run", "--rm", "lookup:good", "stat", "-c", "%u:%g", "/f"])
            .trim(),
        "1234:1235"
    );
    root.ok(&[
        "run",
        "-d",
        "--name",
        "lg",
        "-u",
        "0",
        "lookup:good",
        "sleep",
        "600",
    ]);
    assert_eq!(
        root.ok(&["exec", "-u", "app", "lg", "id", "-u"]).trim(),
        "1234"
    );
    root.ok(&["rm", "-f", "lg"]);
}

fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// A layer tar with one file.
fn layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    b.append_data(&mut h, "hello", &b"hi"[..]).unwrap();
    b.into_inner().unwrap()
}

/// An archive whose entry point (`manifest.json` or `index.json`) is a
/// symlink to `target` on the host; everything else it names is inside.
fn archive_with_linked_entry(entry: &str, target: &Path, files: &[(String, Vec<u8>)]) -> Vec<u8> {
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
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    b.append_link(&mut h, entry, target).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn an_archives_entry_point_stays_in_the_archive() {
    if !have_root("an_archives_entry_point_stays_in_the_archive") {
        return;
    }
    let root = TestRoot::new("lookup-archive");
    let layer = layer();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        "history": [{"created_by": "test"}],
    })
    .to_string()
    .into_bytes();
    // The manifest the archive points at lives on the host, outside it.
    let host = root.path().join("host-side");
    std::fs::create_dir_all(&host).unwrap();
    let manifest = host.join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::json!([{
            "Config": "config.json",
            "RepoTags": ["fromhost:latest"],
            "Layers": ["layer.tar"],
        }])
        .to_string(),
    )
    .unwrap();
    let tar = archive_with_linked_entry(
        "manifest.json",
        &manifest,
        &[
            ("config.json".into(), config.clone()),
            ("layer.tar".into(), layer.clone()),
        ],
    );
    let file = root.path().join("linked.tar");
    std::fs::write(&file, tar).unwrap();
    let out = root.glassbox(&["load", "-i", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "load followed manifest.json out of the archive"
    );
    assert!(stderr.contains("manifest.json"), "{stderr}");
    assert!(
        !root.ok(&["images"]).contains("fromhost"),
        "an image was loaded"
    );

    // The same for an OCI layout's index.json.
    let mbytes = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let index = host.join("index.json");
    std::fs::write(
        &index,
        serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(&mbytes),
                "size": mbytes.len(),
                "annotations": {"io.containerd.image.name": "fromhost-oci:latest"},
            }],
        })
        .to_string(),
    )
    .unwrap();
    let blob = |b: &[u8]| format!("blobs/sha256/{}", &sha256(b)[7..]);
    let tar = archive_with_linked_entry(
        "index.json",
        &index,
        &[
            (
                "oci-layout".into(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            (blob(&config), config.clone()),
            (blob(&layer), layer.clone()),
            (blob(&mbytes), mbytes.clone()),
        ],
    );
    let file = root.path().join("linked-oci.tar");
    std::fs::write(&file, tar).unwrap();
    let out = root.glassbox(&["load", "-i", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "load followed index.json out of the archive"
    );
    assert!(stderr.contains("index.json"), "{stderr}");
    assert!(
        !root.ok(&["images"]).contains("fromhost"),
        "an image was loaded"
    );
}

/// An image's `VOLUME` is filled from the image at the first start
/// (`populate_volumes`): the copy is read by descriptor inside the rootfs,
/// so neither a volume path that is a symlink out of the image nor a
/// symlink inside it brings a host file into the volume, and the volume is
/// never mounted through a link onto a host directory.
#[test]
fn an_image_volume_copies_nothing_of_the_host() {
    if !have_root("an_image_volume_copies_nothing_of_the_host") {
        return;
    }
    let root = TestRoot::new("sec-volume-links");
    let host = root.path().join("host-side");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("secret"), "host secret\n").unwrap();
    let p = std::process::id();

    // 1. The volume's path is a link to a host directory: the start is
    //    refused before anything is mounted there, nothing is copied.
    let tag = format!("volout{p}:1");
    let dockerfile = format!(
        "FROM busybox\nRUN ln -s {} /data\nVOLUME /data\n",
        host.display()
    );
    let out = build(&root, &tag, &dockerfile, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = format!("volout{p}");
    let run = root.glassbox(&[
        "run",
        "--name",
        &name,
        "--network",
        "none",
        &tag,
        "sh",
        "-c",
        "echo written > /data/by-container",
    ]);
    assert!(
        !run.status.success(),
        "a volume mounted through a link out of the image"
    );
    let source = volume_source(&root, &name);
    assert_eq!(
        entries(&source),
        Vec::<String>::new(),
        "the volume got the host's files"
    );
    assert!(
        !host.join("by-container").exists(),
        "the container wrote into the host dir"
    );
    assert_eq!(entries(&host), vec!["secret".to_string()]);
    root.ok(&["rm", "-fv", &name]);

    // 2. A link inside the volume's directory is copied as a link, never
    //    followed: the host file's text is nowhere in the volume.
    let tag = format!("volin{p}:1");
    let dockerfile = format!(
        "FROM busybox\nRUN mkdir /data && echo mine > /data/own && ln -s {}/secret /data/leak\n\
         VOLUME /data\n",
        host.display()
    );
    let out = build(&root, &tag, &dockerfile, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = format!("volin{p}");
    root.ok(&["run", "--name", &name, "--network", "none", &tag, "true"]);
    let source = volume_source(&root, &name);
    assert_eq!(
        entries(&source),
        vec!["leak".to_string(), "own".to_string()]
    );
    let leak = std::fs::symlink_metadata(source.join("leak")).unwrap();
    assert!(
        leak.file_type().is_symlink(),
        "the link was followed: {leak:?}"
    );
    assert_eq!(
        std::fs::read_to_string(source.join("own")).unwrap(),
        "mine\n"
    );
    root.ok(&["rm", "-fv", &name]);
}

/// The host directory of a container's one volume, from inspect's Mounts.
fn volume_source(root: &TestRoot, name: &str) -> PathBuf {
    let doc = root.inspect(name);
    let mounts = doc["Mounts"].as_array().expect("Mounts");
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    PathBuf::from(mounts[0]["Source"].as_str().expect("Mounts[0].Source"))
}

/// The sorted names in a directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
