//! Hostile layer tars: each one, wrapped in a docker-archive and given to
//! `load` (and one through a Dockerfile's ADD), is refused with its own
//! message; nothing is written outside the layer being made, and the store
//! is left as it was (no layer, no image, no temporary directory).
//!
//! The tars are written byte by byte here (the `tar` crate itself refuses to
//! write most of these names), so each fixture is visible in full below.

mod common;
use common::{TestRoot, have_root};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One raw ustar entry.
struct Entry {
    name: String,
    /// '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' dir
    kind: u8,
    link: String,
    data: Vec<u8>,
    dev: (u32, u32),
}

fn file(name: &str, data: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'0',
        link: String::new(),
        data: data.as_bytes().to_vec(),
        dev: (0, 0),
    }
}
fn symlink(name: &str, target: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'2',
        link: target.into(),
        data: Vec::new(),
        dev: (0, 0),
    }
}
fn hardlink(name: &str, target: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'1',
        link: target.into(),
        data: Vec::new(),
        dev: (0, 0),
    }
}
fn device(name: &str, kind: u8, major: u32, minor: u32) -> Entry {
    Entry {
        name: name.into(),
        kind,
        link: String::new(),
        data: Vec::new(),
        dev: (major, minor),
    }
}

/// A PAX extended header that renames the next entry (`path=…`): the name a
/// reader must check is this one, not the header's own.
fn pax_path(key: &str, value: &str) -> Entry {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    Entry {
        name: "PaxHeaders/x".into(),
        kind: b'x',
        link: String::new(),
        data: format!("{len}{body}").into_bytes(),
        dev: (0, 0),
    }
}

/// A GNU long-name header: the next entry's name, past 100 bytes.
fn gnu_long_name(name: &str) -> Entry {
    let mut data = name.as_bytes().to_vec();
    data.push(0);
    Entry {
        name: "././@LongLink".into(),
        kind: b'L',
        link: String::new(),
        data,
        dev: (0, 0),
    }
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{:0w$o}", value, w = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

/// A ustar archive of `entries`, exactly as given.
fn raw_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        h[..e.name.len()].copy_from_slice(e.name.as_bytes());
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], e.data.len() as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[156] = e.kind;
        h[157..157 + e.link.len()].copy_from_slice(e.link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], e.dev.0 as u64);
        octal(&mut h[337..345], e.dev.1 as u64);
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
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

/// A docker-archive holding one image whose single layer is `layer`.
fn docker_archive(layer: &[u8], layer_name: &str) -> Vec<u8> {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "history": [{"created_by": "hostile"}],
    });
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": ["evil:latest"],
        "Layers": [layer_name],
    }]);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add("config.json", config.to_string().as_bytes());
    add("manifest.json", manifest.to_string().as_bytes());
    add("layer.tar", layer);
    b.into_inner().unwrap()
}

/// What must not change on the host.
struct HostWitness {
    escape: PathBuf,
    passwd: Vec<u8>,
}

impl HostWitness {
    fn new(root: &TestRoot) -> HostWitness {
        let escape = PathBuf::from(format!(
            "/tmp/glassbox-escape-{}",
            root.path().file_name().unwrap().to_string_lossy()
        ));
        std::fs::create_dir_all(&escape).unwrap();
        HostWitness {
            escape,
            passwd: std::fs::read("/etc/passwd").unwrap(),
        }
    }
    fn assert_unchanged(&self, case: &str) {
        let inside: Vec<_> = std::fs::read_dir(&self.escape)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            inside.is_empty(),
            "{case}: wrote outside the layer: {inside:?}"
        );
        assert_eq!(
            std::fs::read("/etc/passwd").unwrap(),
            self.passwd,
            "{case}: /etc/passwd changed"
        );
        for p in ["/tmp/abs-escape", "/dotdot-escape"] {
            assert!(!Path::new(p).exists(), "{case}: {p} was written");
        }
    }
}

impl Drop for HostWitness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.escape);
    }
}

/// The store holds no layer, no temporary directory and no image.
fn assert_store_empty(root: &TestRoot, case: &str) {
    let layers: Vec<_> = std::fs::read_dir(root.path().join("layers"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(layers.is_empty(), "{case}: layers left: {layers:?}");
    let tmp: Vec<_> = std::fs::read_dir(root.path().join("tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "{case}: temporary files left: {tmp:?}");
    assert!(
        !root.ok(&["images"]).contains("evil"),
        "{case}: an image was stored"
    );
}

#[test]
fn hostile_layers_are_refused_and_the_host_is_unchanged() {
    if !have_root("hostile_layers_are_refused_and_the_host_is_unchanged") {
        return;
    }
    let root = TestRoot::new("hostile");
    let host = HostWitness::new(&root);
    let esc = host.escape.display().to_string();
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dotdot",
            vec![file("../../../../../../../../dotdot-escape", "x")],
            "'..' in the path would leave the layer",
        ),
        (
            "dotdot-inner",
            vec![file("a/../../../../../../../../dotdot-escape", "x")],
            "'..' in the path would leave the layer",
        ),
        (
            "absolute",
            vec![file("/tmp/abs-escape", "x")],
            "absolute path",
        ),
        (
            "symlink-then-write",
            vec![symlink("evil", &esc), file("evil/through-link", "x")],
            "evil is a symlink: writing through it could land outside the layer",
        ),
        (
            "symlink-dir-then-nested-write",
            vec![
                file("a/ok", "fine"),
                symlink("a/b", &esc),
                file("a/b/c/d", "x"),
            ],
            "a/b is a symlink",
        ),
        (
            "hardlink-to-host-file",
            vec![hardlink("passwd", "/etc/passwd")],
            "hard link target: absolute path",
        ),
        (
            "hardlink-dotdot",
            vec![hardlink("passwd", "../../../../../../etc/passwd")],
            "hard link target: '..'",
        ),
        (
            "hardlink-through-symlink",
            vec![symlink("l", "/etc"), hardlink("x", "l/passwd")],
            "which is not a file already in this layer",
        ),
        (
            "device-char",
            vec![device("dev/mem", b'3', 1, 1)],
            "device node 1:1",
        ),
        (
            "device-block",
            vec![device("sda", b'4', 8, 0)],
            "device node 8:0",
        ),
        (
            "whiteout-of-parent",
            vec![file(".wh...", "")],
            "a whiteout must name an entry inside the layer",
        ),
        (
            "whiteout-outside",
            vec![file("../.wh.passwd", "")],
            "'..' in the path would leave the layer",
        ),
        (
            "pax-path-dotdot",
            vec![
                pax_path("path", "../../../../../../dotdot-escape"),
                file("innocent", "x"),
            ],
            "'..' in the path would leave the layer",
        ),
        (
            "pax-linkpath-host-file",
            vec![
                pax_path("linkpath", "/etc/passwd"),
                hardlink("innocent", "fine"),
            ],
            "hard link target: absolute path",
        ),
        (
            "gnu-longname-absolute",
            vec![
                gnu_long_name(&format!("/tmp/abs-escape{}", "/x".repeat(60))),
                file("short", "x"),
            ],
            "absolute path",
        ),
        (
            "whiteout-through-symlink",
            vec![symlink("etc", "/etc"), file("etc/.wh.passwd", "")],
            "etc is a symlink",
        ),
    ];
    for (case, entries, want) in cases {
        let archive = docker_archive(&raw_tar(&entries), "layer.tar");
        let path = root.path().join(format!("{case}.tar"));
        std::fs::write(&path, archive).unwrap();
        let out = root.glassbox(&["load", "-i", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: loaded");
        assert!(err.contains(want), "{case}: want {want:?} in: {err}");
        assert!(err.contains("refused"), "{case}: {err}");
        host.assert_unchanged(case);
        assert_store_empty(&root, case);
    }
}

#[test]
fn hostile_archives_and_tampered_layers_are_refused() {
    if !have_root("hostile_archives_and_tampered_layers_are_refused") {
        return;
    }
    let root = TestRoot::new("hostile-outer");
    let host = HostWitness::new(&root);
    let good_layer = raw_tar(&[file("hello", "hi\n")]);

    // The archive's index points outside the archive.
    let outside = docker_archive(&good_layer, "../../../../etc/passwd");
    let path = root.path().join("outside.tar");
    std::fs::write(&path, outside).unwrap();
    let out = root.glassbox(&["load", "-i", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("'..' in the path would leave the layer"),
        "{err}"
    );

    // The outer tar itself has an escaping entry.
    let outer = raw_tar(&[file("../outer-escape", "x")]);
    let path = root.path().join("outer.tar");
    std::fs::write(&path, outer).unwrap();
    let out = root.glassbox(&["load", "-i", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("the archive is refused"),
        "{err}"
    );

    // A layer whose content does not match the config's diff_id.
    let mut tampered = docker_archive(&good_layer, "layer.tar");
    let pos = tampered.windows(3).rposition(|w| w == b"hi\n").unwrap();
    tampered[pos] = b'H';
    let path = root.path().join("tampered.tar");
    std::fs::write(&path, tampered).unwrap();
    let out = root.glassbox(&["load", "-i", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("the archive is damaged or was altered"),
        "{err}"
    );

    host.assert_unchanged("outer");
    assert_store_empty(&root, "outer");
}

#[test]
fn hostile_tar_in_add_is_refused_with_the_dockerfile_line() {
    if !have_root("hostile_tar_in_add_is_refused_with_the_dockerfile_line") {
        return;
    }
    let root = TestRoot::new("hostile-add");
    let host = HostWitness::new(&root);
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("evil.tar"),
        raw_tar(&[file("../../../../../../dotdot-escape", "x")]),
    )
    .unwrap();
    std::fs::write(ctx.join("dev.tar"), raw_tar(&[device("null", b'3', 1, 3)])).unwrap();
    std::fs::write(
        ctx.join("good.tar"),
        raw_tar(&[file("inside/hello", "hi\n")]),
    )
    .unwrap();
    for (file, want) in [
        (
            "evil.tar",
            "Dockerfile:2: evil.tar: tar entry \"../../../../../../dotdot-escape\" refused: '..'",
        ),
        (
            "dev.tar",
            "Dockerfile:2: dev.tar: tar entry \"null\" refused: device nodes are not allowed",
        ),
    ] {
        std::fs::write(
            ctx.join("Dockerfile"),
            format!("FROM busybox\nADD {file} /dest/\n"),
        )
        .unwrap();
        let out = root.glassbox(&["build", "-t", "evil:add", ctx.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(want),
            "want {want:?} in: {err}"
        );
    }
    host.assert_unchanged("add");
    // A well-formed archive is unpacked at the destination.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nADD good.tar /dest/\n",
    )
    .unwrap();
    root.ok(&["build", "-t", "good:add", ctx.to_str().unwrap()]);
    assert_eq!(
        root.ok(&["run", "--rm", "good:add", "cat", "/dest/inside/hello"]),
        "hi\n"
    );
}
