//! `glassbox build`, `history`, the build cache, `commit`, `diff` and `rmi`,
//! against the real kernel (RUN steps run in real containers).

mod common;
use common::{TestRoot, have_root};
use std::path::{Path, PathBuf};

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");

/// Copies an asset directory into the test root, so a test may edit it.
fn copy_asset(root: &TestRoot, name: &str) -> PathBuf {
    let dest = root.path().join(format!("ctx-{name}"));
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(Path::new(ASSETS).join(name))
        .arg(&dest)
        .status()
        .expect("cp");
    assert!(status.success());
    dest
}

/// (instruction, used the cache) for each step after FROM, from build output.
fn steps(output: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("Step ") {
            let text = rest.split_once(" : ").map(|(_, t)| t).unwrap_or(rest);
            out.push((text.to_string(), false));
        } else if line == " ---> Using cache" {
            out.last_mut().expect("a step").1 = true;
        }
    }
    out.into_iter()
        .filter(|(t, _)| !t.starts_with("FROM"))
        .collect()
}

fn build(root: &TestRoot, tag: &str, file: Option<&Path>, dir: &Path) -> String {
    let mut args = vec!["build", "-t", tag, "--build-arg", "DOWNLOAD_SECONDS=0"];
    let f;
    if let Some(file) = file {
        f = file.display().to_string();
        args.extend(["-f", &f]);
    }
    let d = dir.display().to_string();
    args.push(&d);
    root.ok(&args)
}

#[test]
fn lesson05_builds_history_matches_and_second_build_is_all_cached() {
    if !have_root("lesson05_builds_history_matches_and_second_build_is_all_cached") {
        return;
    }
    let root = TestRoot::new("build05");
    let ctx = Path::new(ASSETS).join("lesson05");
    let first = build(&root, "demo:v1", None, &ctx);
    assert!(first.contains("Successfully tagged demo:v1"), "{first}");
    assert!(steps(&first).iter().all(|(_, cached)| !cached), "{first}");

    let second = build(&root, "demo:v1", None, &ctx);
    let s = steps(&second);
    assert_eq!(s.len(), 5, "{second}");
    assert!(
        s.iter().all(|(_, cached)| *cached),
        "every step cached:\n{second}"
    );
    // The report the lab reads: per step cached or not, with time and trace.
    let id = root.inspect("demo:v1")["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.path().join("builds").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert!(
        steps
            .iter()
            .all(|s| s["cached"] == true && s["seconds"].is_number()),
        "{report}"
    );
    let lookups = report["trace"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step"] == "build_cache_lookup")
        .count();
    assert_eq!(lookups, 5);

    // history: one row per Dockerfile instruction (after FROM), newest
    // first; only RUN/COPY have a size, the others are 0B.
    let doc = root.inspect("demo:v1");
    let history = doc["History"].as_array().expect("History");
    let ours: Vec<&serde_json::Value> = history.iter().skip(2).collect(); // busybox's own two
    let by: Vec<&str> = ours
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert!(
        by[0].starts_with("RUN /bin/sh -c mkdir -p /var/lib/apt/lists"),
        "{by:?}"
    );
    assert!(
        by[1].starts_with("RUN /bin/sh -c mkdir -p /usr/local/bin"),
        "{by:?}"
    );
    assert_eq!(
        &by[2..],
        &[
            "WORKDIR /app",
            "COPY app.py .",
            r#"CMD ["python","app.py"]"#
        ]
    );
    let empty: Vec<bool> = ours
        .iter()
        .map(|h| h["empty_layer"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(empty, vec![false, false, true, false, true]);
    // 1 busybox layer + RUN + RUN + COPY.
    assert_eq!(doc["RootFS"]["Layers"].as_array().unwrap().len(), 4);
    // A RUN layer holds what the command wrote, and nothing of the runtime's.
    let run_layer = doc["RootFS"]["Layers"][1]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let listing = common::sh(&format!(
        "tar tf {}/layers/{run_layer}/layer.tar",
        root.path().display()
    ));
    assert_eq!(
        listing,
        "var/\nvar/lib/\nvar/lib/apt/\nvar/lib/apt/lists/\nvar/lib/apt/lists/index\n"
    );

    let table = root.ok(&["history", "demo:v1"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("IMAGE"), "{table}");
    assert!(
        lines[1].contains("CMD [\"python\",\"app.py\"]") && lines[1].contains(" 0B"),
        "{table}"
    );
    assert!(
        lines[3].contains("WORKDIR /app") && lines[3].contains(" 0B"),
        "{table}"
    );
    assert!(!lines[2].contains(" 0B "), "COPY has a size: {table}");

    assert_eq!(
        root.ok(&["run", "--rm", "demo:v1"]),
        "python (stand-in): running app.py\nprint(\"hello from a layer\")\n"
    );
    assert!(root.ok(&["images"]).contains("demo"));
}

#[test]
fn history_size_is_the_bytes_copied_not_the_tar() {
    if !have_root("history_size_is_the_bytes_copied_not_the_tar") {
        return;
    }
    let root = TestRoot::new("histsize");
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let app = "print(\"hello from a layer\")\n";
    assert_eq!(app.len(), 28);
    std::fs::write(ctx.join("app.py"), app).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY app.py /app/\n").unwrap();
    build(&root, "tiny:v1", None, &ctx);

    // As docker: the bytes of the file, not of its tar (2.56kB: headers,
    // padding and the end marker).
    let table = root.ok(&["history", "tiny:v1"]);
    let copy = table
        .lines()
        .find(|l| l.contains("COPY app.py /app/"))
        .unwrap_or_else(|| panic!("no COPY row: {table}"));
    assert!(copy.split_whitespace().any(|w| w == "28B"), "{table}");
    // The image's size is its layers' content: busybox's plus 28 bytes.
    let size = |r: &str| root.inspect(r)["Size"].as_u64().expect("Size");
    assert_eq!(size("tiny:v1"), size("busybox") + 28);
    // Recorded with the layer, as docker's layer database records it.
    let top = root.inspect("tiny:v1")["RootFS"]["Layers"][1]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let recorded = std::fs::read_to_string(root.path().join("layers").join(top).join("size"));
    assert_eq!(recorded.unwrap().trim(), "28");
}

#[test]
fn app_change_rebuilds_from_the_copy_only_in_the_good_order() {
    if !have_root("app_change_rebuilds_from_the_copy_only_in_the_good_order") {
        return;
    }
    let root = TestRoot::new("order");
    let ctx = copy_asset(&root, "lesson17");
    let good = ctx.join("Dockerfile.good");
    let bad = ctx.join("Dockerfile.bad");
    build(&root, "app:good", Some(&good), &ctx);
    build(&root, "app:bad", Some(&bad), &ctx);

    // Touching a file (time only) keeps the cache: the key hashes contents.
    let server = ctx.join("app/server.sh");
    assert!(
        std::process::Command::new("touch")
            .arg(&server)
            .status()
            .unwrap()
            .success()
    );
    let touched = build(&root, "app:good", Some(&good), &ctx);
    assert!(steps(&touched).iter().all(|(_, c)| *c), "{touched}");
    // A log written beside the app stays out of the context
    // (`.dockerignore`: `**/*.log`): still every step cached.
    std::fs::write(ctx.join("app/debug.log"), "noise\n").unwrap();
    let logged = build(&root, "app:good", Some(&good), &ctx);
    assert!(steps(&logged).iter().all(|(_, c)| *c), "{logged}");

    // A code change: the good order misses only at the last COPY.
    std::fs::write(&server, "#!/bin/sh\necho app version 2\n").unwrap();
    let out = build(&root, "app:good", Some(&good), &ctx);
    let s = steps(&out);
    let cached: Vec<bool> = s.iter().map(|(_, c)| *c).collect();
    assert_eq!(cached, vec![true, true, true, true, false, false], "{out}");
    assert!(
        !out.contains("Running in"),
        "the install step must not run again:\n{out}"
    );
    assert_eq!(root.ok(&["run", "--rm", "app:good"]), "app version 2\n");

    // The bad order misses at `COPY app/ .` and reruns the install.
    let out = build(&root, "app:bad", Some(&bad), &ctx);
    let cached: Vec<bool> = steps(&out).iter().map(|(_, c)| *c).collect();
    assert_eq!(cached, vec![true, true, false, false, false], "{out}");
    assert!(out.contains("downloading greeting-lib"), "{out}");
}

#[test]
fn dockerignore_keeps_files_out_and_their_changes_out_of_the_cache() {
    if !have_root("dockerignore_keeps_files_out_and_their_changes_out_of_the_cache") {
        return;
    }
    let root = TestRoot::new("ignore");
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(ctx.join("secret")).unwrap();
    std::fs::create_dir_all(ctx.join("src")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY . /ctx\n").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "*.log\nsecret\n").unwrap();
    std::fs::write(ctx.join("src/main.sh"), "echo main\n").unwrap();
    std::fs::write(ctx.join("build.log"), "noise\n").unwrap();
    std::fs::write(ctx.join("secret/key"), "hunter2\n").unwrap();
    build(&root, "ign:v1", None, &ctx);
    let listing = root.ok(&["run", "--rm", "ign:v1", "find", "/ctx"]);
    assert!(listing.contains("/ctx/src/main.sh"), "{listing}");
    assert!(
        !listing.contains("build.log") && !listing.contains("secret"),
        "{listing}"
    );
    std::fs::write(ctx.join("build.log"), "more noise\n").unwrap();
    let out = build(&root, "ign:v1", None, &ctx);
    assert!(steps(&out).iter().all(|(_, c)| *c), "{out}");
}

#[test]
fn bad_dockerfiles_name_the_line_and_leave_no_image() {
    if !have_root("bad_dockerfiles_name_the_line_and_leave_no_image") {
        return;
    }
    let root = TestRoot::new("badfile");
    // What a killed glassbox left behind is swept by the next build.
    let stale = root
        .path()
        .join("tmp/.tmp-copy-2147483646-0123456789abcdef");
    std::fs::create_dir_all(stale.join("half")).unwrap();
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let cases = [
        (
            "FROM busybox\nRUN true\nFORM x\n",
            "Dockerfile:3: unknown instruction FORM",
        ),
        ("RUN true\n", "Dockerfile:1: RUN before FROM"),
        (
            "FROM busybox\nCOPY ../etc/passwd /x\n",
            "Dockerfile:2: forbidden path outside the build context",
        ),
        (
            "FROM busybox\nCOPY nothere /x\n",
            "Dockerfile:2: nothere: no such file in the build context",
        ),
        (
            "FROM busybox\nRUN echo one\nRUN exit 3\n",
            "Dockerfile:3: the command [\"/bin/sh\",\"-c\",\"exit 3\"] returned a non-zero code: 3",
        ),
        (
            "FROM busybox\nADD http://example.com/x /x\n",
            "glassbox builds offline",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(ctx.join("Dockerfile"), text).unwrap();
        let out = root.glassbox(&["build", "-t", "bad:v1", ctx.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(err.contains(want), "for {text:?}: want {want:?}, got {err}");
    }
    assert!(
        !root.ok(&["images"]).contains("bad"),
        "a failed build tags nothing"
    );
    // The failing RUN's container was removed.
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    let tmp = root.path().join("tmp");
    let leftovers: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn commit_adds_one_layer_diff_reads_the_upper_dir_rmi_is_refused_while_used() {
    if !have_root("commit_adds_one_layer_diff_reads_the_upper_dir_rmi_is_refused_while_used") {
        return;
    }
    let root = TestRoot::new("commit");
    root.ok(&["run", "-d", "--name", "c1", "busybox", "sleep", "600"]);
    // The runtime's own mount points (/etc/hosts…) are not the container's changes.
    assert_eq!(
        root.ok(&["diff", "c1"]),
        "",
        "a fresh container has no changes"
    );
    root.ok(&[
        "exec", "c1", "sh", "-c",
        "rm /etc/motd; echo x >> /etc/passwd; echo new > /added; rm -rf /www; mkdir /www; echo hi > /www/only",
    ]);
    let diff = root.ok(&["diff", "c1"]);
    let lines: Vec<&str> = diff.lines().collect();
    assert_eq!(
        lines,
        vec![
            "A /added",
            "C /etc",
            "D /etc/motd",
            "C /etc/passwd",
            "C /www",
            "D /www/index.html",
            "A /www/only"
        ],
        "{diff}"
    );
    let base = root.inspect("busybox");
    let base_layers = base["RootFS"]["Layers"].as_array().unwrap().clone();
    let id = root.ok(&["commit", "c1", "demo:v2"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let committed = root.inspect("demo:v2");
    let layers = committed["RootFS"]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), base_layers.len() + 1, "exactly one new layer");
    assert_eq!(
        &layers[..base_layers.len()],
        &base_layers[..],
        "base layers unchanged"
    );
    // The base image is intact; the committed one has the changes.
    assert!(
        root.ok(&["run", "--rm", "busybox", "cat", "/etc/motd"])
            .contains("busybox")
    );
    let out = root.glassbox(&[
        "run",
        "--rm",
        "demo:v2",
        "sh",
        "-c",
        "cat /added; ls /www; test -e /etc/motd || echo gone",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "new\nonly\ngone\n");

    // rmi is refused while a container uses the image.
    root.ok(&["run", "-d", "--name", "c2", "demo:v2", "sleep", "600"]);
    let refused = root.glassbox(&["rmi", "demo:v2"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("conflict") && err.contains("c2"), "{err}");
    root.ok(&["rm", "-f", "c2"]);
    let removed = root.ok(&["rmi", "demo:v2"]);
    assert!(
        removed.contains("Untagged: demo:v2") && removed.contains("Deleted: sha256:"),
        "{removed}"
    );
    // Its own layer is gone; busybox's are kept.
    let new_layer = layers
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    assert!(!root.path().join("layers").join(new_layer).exists());
    assert!(root.ok(&["run", "--rm", "busybox", "true"]).is_empty());
    root.ok(&["rm", "-f", "c1"]);
}

#[test]
fn export_flattens_a_stopped_container() {
    if !have_root("export_flattens_a_stopped_container") {
        return;
    }
    let root = TestRoot::new("export");
    root.ok(&[
        "run",
        "--name",
        "e1",
        "busybox",
        "sh",
        "-c",
        "rm /etc/motd; echo data > /data",
    ]);
    let out = root.path().join("e1.tar");
    root.ok(&["export", "-o", out.to_str().unwrap(), "e1"]);
    let list = common::sh(&format!("tar tf {}", out.display()));
    assert!(list.lines().any(|l| l == "data"), "{list}");
    assert!(list.lines().any(|l| l == "bin/busybox"), "{list}");
    assert!(!list.contains("motd") && !list.contains(".wh."), "{list}");
    // The temporary read-only overlay is gone again.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(root.path().to_str().unwrap()), "{mounts}");
}

#[test]
fn config_instructions_and_copy_rules_follow_docker() {
    if !have_root("config_instructions_and_copy_rules_follow_docker") {
        return;
    }
    let root = TestRoot::new("config");
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(ctx.join("app/lib")).unwrap();
    // The copied directory's own mode is not copied (only its contents are).
    std::fs::set_permissions(
        ctx.join("app"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(ctx.join("app/run.sh"), "echo run\n").unwrap();
    std::fs::write(ctx.join("app/lib/util.sh"), "echo util\n").unwrap();
    std::fs::write(ctx.join("a.txt"), "a\n").unwrap();
    std::fs::write(ctx.join("b.txt"), "b\n").unwrap();
    // A small gzip'd archive for ADD to unpack.
    let tgz = ctx.join("tools.tar.gz");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd {} && mkdir -p t/bin && echo tool > t/bin/tool && tar czf {} -C t bin && rm -r t",
            root.path().display(),
            tgz.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\n\
         ARG WHO=student\n\
         ENV APP=/srv/app GREETING=\"hello there\"\n\
         WORKDIR $APP\n\
         COPY app/ ./\n\
         COPY *.txt notes/\n\
         COPY --chown=$WHO:$WHO --chmod=0750 app/run.sh /home/$WHO/run.sh\n\
         ADD tools.tar.gz /opt/\n\
         ADD a.txt /plain/a.txt\n\
         RUN echo \"arg=$WHO\" > /built-with && id -un > /built-by\n\
         USER $WHO\n\
         RUN id -un > /tmp/user-in-run\n\
         LABEL stage=test\n\
         EXPOSE 8080\n\
         ENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
         CMD [\"echo $GREETING from $(pwd)\"]\n",
    )
    .unwrap();
    root.ok(&["build", "-t", "cfg:v1", ctx.to_str().unwrap()]);
    let doc = root.inspect("cfg:v1");
    let c = &doc["Config"];
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["User"], "student");
    assert!(c["ExposedPorts"]["8080/tcp"].is_object(), "{c}");
    assert_eq!(c["Labels"]["stage"], "test");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"APP=/srv/app") && env.contains(&"GREETING=hello there"),
        "{env:?}"
    );
    assert!(
        !env.iter().any(|e| e.starts_with("WHO=")),
        "ARG values are not kept in the image: {env:?}"
    );
    // ENTRYPOINT + CMD, run as the image's USER in its WORKDIR.
    assert_eq!(
        root.ok(&["run", "--rm", "cfg:v1"]),
        "hello there from /srv/app\n"
    );
    let probe = "cat run.sh lib/util.sh notes/a.txt notes/b.txt /opt/bin/tool /plain/a.txt /built-with /built-by /tmp/user-in-run; \
                 stat -c '%U %a' /home/student/run.sh /srv/app";
    // The image's ENTRYPOINT is `sh -c`, so the probe is its argument.
    let out = root.ok(&["run", "--rm", "-u", "0", "cfg:v1", probe]);
    assert_eq!(
        out,
        "echo run\necho util\na\nb\ntool\na\narg=student\nroot\nstudent\nstudent 750\nroot 755\n"
    );
}

/// Unmounts the tmpfs of a test root when dropped (before the root's own cleanup).
struct TmpfsGuard(PathBuf);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn a_full_disk_during_a_build_leaves_no_half_layer_and_no_image() {
    if !have_root("a_full_disk_during_a_build_leaves_no_half_layer_and_no_image") {
        return;
    }
    let root = TestRoot::new("fulldisk");
    nix::mount::mount(
        Some("tmpfs"),
        root.path(),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64m,mode=0755"),
    )
    .expect("mount a small tmpfs as the data root");
    let _guard = TmpfsGuard(root.path().to_path_buf());
    root.ok(&["run", "--rm", "busybox", "true"]);
    let layers_before: Vec<_> = std::fs::read_dir(root.path().join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    // A RUN that writes a file that fits once (in its upper dir) and once
    // more (as the layer tar), but not a third time (the stored layer).
    let free = nix::sys::statvfs::statvfs(root.path()).unwrap();
    let free_kb = free.blocks_available() as u64 * free.fragment_size() as u64 / 1024;
    let kb = free_kb * 45 / 100;
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox\nRUN dd if=/dev/zero of=/big bs=1024 count={kb}\n"),
    )
    .unwrap();
    let out = root.glassbox(&["build", "-t", "full:v1", ctx.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the build should not fit in {free_kb} KiB"
    );
    assert!(
        err.contains("Dockerfile:2:") && err.contains("No space left on device"),
        "{err}"
    );
    // No half layer, no temporary files, no tag, no container.
    let layers_after: Vec<_> = std::fs::read_dir(root.path().join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(layers_after, layers_before);
    let tmp: Vec<_> = std::fs::read_dir(root.path().join("tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "{tmp:?}");
    assert!(!root.ok(&["images"]).contains("full"));
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}
