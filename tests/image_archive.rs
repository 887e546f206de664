//! `save` and `load` round trips, and our OCI layout and docker-archive read
//! by tools we did not write (skopeo, umoci).

mod common;
use common::{TestRoot, have_root};
use std::path::Path;
use std::process::Command;

/// True when `tool` is installed. CI installs skopeo and umoci (.ci/run), so
/// there a missing tool is a failure; elsewhere the test says it skipped.
fn have_tool(tool: &str, test: &str) -> bool {
    if Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs {tool}: apt-get install -y {tool}");
    }
    eprintln!("SKIPPED {test}: {tool} is not installed (apt-get install -y {tool})");
    false
}

/// `skopeo ARGS…`'s stdout, asserting it succeeded.
fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An image with a layer of its own that deletes a file (a whiteout) and
/// replaces a directory (an opaque dir), made by commit.
fn make_image(root: &TestRoot) -> String {
    root.ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "rm /etc/motd; echo kept > /kept; rm -rf /www; mkdir /www; echo only > /www/only",
    ]);
    let id = root.ok(&["commit", "maker", "demo:v2"]).trim().to_string();
    root.ok(&["rm", "maker"]);
    id
}

const PROBE: &str = "cat /kept; ls /www; test -e /etc/motd && echo motd || echo no-motd";
const EXPECTED: &str = "kept\nonly\nno-motd\n";

fn run_probe(root: &TestRoot, image: &str) -> String {
    root.ok(&["run", "--rm", image, "sh", "-c", PROBE])
}

#[test]
fn save_rmi_load_run_gives_the_same_files_in_both_formats() {
    if !have_root("save_rmi_load_run_gives_the_same_files_in_both_formats") {
        return;
    }
    let root = TestRoot::new("saveload");
    let id = make_image(&root);
    assert_eq!(run_probe(&root, "demo:v2"), EXPECTED);
    for format in ["docker", "oci"] {
        let file = root.path().join(format!("demo-{format}.tar"));
        root.ok(&[
            "save",
            "-o",
            file.to_str().unwrap(),
            "--format",
            format,
            "demo:v2",
        ]);
        root.ok(&["rmi", "demo:v2"]);
        assert!(root.glassbox(&["inspect", "demo:v2"]).status.code() != Some(0));
        let loaded = root.ok(&["load", "-i", file.to_str().unwrap()]);
        assert_eq!(loaded, "Loaded image: demo:v2\n", "{format}");
        // The same config bytes: the same image ID.
        assert_eq!(root.inspect("demo:v2")["Id"], id.as_str(), "{format}");
        assert_eq!(run_probe(&root, "demo:v2"), EXPECTED, "{format}");
    }
    // Through a pipe, as `docker save IMAGE | docker load`.
    let saved = root.cmd(&["save", "demo:v2"]).output().unwrap();
    assert!(saved.status.success());
    root.ok(&["tag", "demo:v2", "demo:keep"]);
    root.ok(&["rmi", "demo:v2"]);
    let mut load = root
        .cmd(&["load"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut load.stdin.take().unwrap(), &saved.stdout).unwrap();
    let out = load.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: demo:v2\n"
    );
    assert_eq!(
        root.inspect("demo:keep")["Id"],
        root.inspect("demo:v2")["Id"]
    );
    let listing = common::sh(&format!(
        "tar tf {}",
        root.path().join("demo-docker.tar").display()
    ));
    assert!(listing.lines().any(|l| l == "manifest.json"), "{listing}");
    let listing = common::sh(&format!(
        "tar tf {}",
        root.path().join("demo-oci.tar").display()
    ));
    assert!(
        listing.lines().any(|l| l == "oci-layout") && listing.lines().any(|l| l == "index.json"),
        "{listing}"
    );
}

#[test]
fn skopeo_and_umoci_read_our_oci_layout_and_we_read_theirs() {
    let test = "skopeo_and_umoci_read_our_oci_layout_and_we_read_theirs";
    if !have_root(test) || !have_tool("skopeo", test) || !have_tool("umoci", test) {
        return;
    }
    let root = TestRoot::new("ocitools");
    let id = make_image(&root);
    let layers: Vec<String> = root.inspect("demo:v2")["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let tar = root.path().join("oci.tar");
    root.ok(&[
        "save",
        "--format",
        "oci",
        "-o",
        tar.to_str().unwrap(),
        "demo:v2",
    ]);
    let layout = root.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    assert!(
        Command::new("tar")
            .arg("xf")
            .arg(&tar)
            .arg("-C")
            .arg(&layout)
            .status()
            .unwrap()
            .success()
    );

    // skopeo: the layers by diff_id, as we wrote them.
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:v2", layout.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen: Vec<String> = doc["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, layers);

    // skopeo reads our docker-archive too: the same layers (docker-archive
    // layers are uncompressed tars, so their digests are the diff_ids), the
    // config found by its tag in manifest.json, and its digest our image ID.
    let archive = root.path().join("docker.tar");
    root.ok(&["save", "-o", archive.to_str().unwrap(), "demo:v2"]);
    for source in [
        format!("docker-archive:{}", archive.display()),
        format!("docker-archive:{}:demo:v2", archive.display()),
    ] {
        let doc: serde_json::Value =
            serde_json::from_slice(&skopeo(&["inspect", &source])).unwrap();
        let seen: Vec<&str> = doc["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(seen, layers, "{source}");
        let manifest: serde_json::Value =
            serde_json::from_slice(&skopeo(&["inspect", "--raw", &source])).unwrap();
        assert_eq!(manifest["config"]["digest"], id.as_str(), "{source}");
        let digests: Vec<&str> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap())
            .collect();
        assert_eq!(digests, layers, "{source}");
        // The config blob itself, byte for byte: its sha256 is the image ID.
        let config = skopeo(&["inspect", "--config", "--raw", &source]);
        assert_eq!(glassbox::image::store::digest(&config), id, "{source}");
    }

    // umoci: unpacks it into a runtime bundle, applying our whiteouts.
    let bundle = root.path().join("bundle");
    let out = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:v2", layout.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("kept")).unwrap(),
        "kept\n"
    );
    assert!(
        !rootfs.join("etc/motd").exists(),
        "the whiteout was applied"
    );
    assert!(rootfs.join("etc/passwd").exists());
    let www: Vec<_> = std::fs::read_dir(rootfs.join("www"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        www,
        vec![std::ffi::OsString::from("only")],
        "the opaque dir was applied"
    );

    // skopeo writes a docker-archive from our layout; we load it, same ID.
    let archive = root.path().join("skopeo-docker.tar");
    let out = Command::new("skopeo")
        .arg("copy")
        .arg("-q")
        .arg(format!("oci:{}:v2", layout.display()))
        .arg(format!("docker-archive:{}:demo:v3", archive.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        root.ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: demo:v3\n"
    );
    assert_eq!(root.inspect("demo:v3")["Id"], id.as_str());

    // And a layout with gzip'd layers, as registries store them.
    let gz = root.path().join("gz");
    let out = Command::new("skopeo")
        .arg("copy")
        .arg("-q")
        .arg("--dest-compress")
        .arg(format!("oci:{}:v2", layout.display()))
        .arg(format!("oci:{}:v4", gz.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gz_tar = root.path().join("gz.tar");
    assert!(
        Command::new("tar")
            .arg("cf")
            .arg(&gz_tar)
            .arg("-C")
            .arg(&gz)
            .arg(".")
            .status()
            .unwrap()
            .success()
    );
    root.ok(&["rmi", "-f", "demo:v2"]);
    root.ok(&["rmi", "demo:v3"]);
    let loaded = root.ok(&["load", "-i", gz_tar.to_str().unwrap()]);
    assert_eq!(loaded.trim(), format!("Loaded image ID: {id}"));
    assert_eq!(run_probe(&root, &id), EXPECTED);
    assert!(Path::new(&root.path().join("layers")).is_dir());
}
