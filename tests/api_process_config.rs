//! The process gets what docker gives it: HOME from the image's
//! /etc/passwd, the supplementary groups of /etc/group (setgroups), the
//! working directory made 0755 when missing, the image's VOLUMEs as
//! anonymous volumes filled from the image, its STOPSIGNAL honoured by
//! `stop`, and `inspect`'s `Config` as dockerd merges it. The values docker
//! gives for the same image are written beside each assertion (docker
//! 28 with runc 1.x: runc's `GetExecUser` and `setupUser` decide HOME and
//! the groups, dockerd's create the volumes and the merged config).

mod api_util;
mod common;

use api_util::{ApiDaemon, docker_cli, err_text, text};
use common::{TestRoot, have_root};
use std::collections::BTreeSet;

/// An image with a user `app` (uid 2000) who is a member of `staff` (50)
/// and `audio` (29; root is a member too), a VOLUME /data seeded with a
/// file owned by app (mode 0750 on the directory), STOPSIGNAL SIGUSR1 and
/// a shell that traps it (exit 7).
fn build_image(root: &TestRoot, tag: &str) {
    let ctx = root.path().join(format!("ctx-{}", tag.replace(':', "-")));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\n\
         RUN echo 'app:x:2000:2000:app:/home/app:/bin/sh' >> /etc/passwd \
           && echo 'app:x:2000:' >> /etc/group && echo 'staff:x:50:app' >> /etc/group \
           && echo 'audio:x:29:app,root' >> /etc/group \
           && mkdir -p /data/sub /home/app && echo seeded > /data/sub/seed \
           && ln -s sub/seed /data/link && chown -R 2000:2000 /data && chmod 750 /data\n\
         VOLUME /data\n\
         STOPSIGNAL SIGUSR1\n\
         ENV GREETING=hello\n\
         USER app\n\
         WORKDIR /srv/app\n\
         ENTRYPOINT [\"sh\", \"-c\"]\n\
         CMD [\"trap 'exit 7' USR1; echo ready; while true; do usleep 50000; done\"]\n",
    )
    .unwrap();
    root.ok(&["build", "-t", tag, ctx.to_str().unwrap()]);
}

fn set(words: &str) -> BTreeSet<String> {
    words.split_whitespace().map(str::to_string).collect()
}

fn wait_ready(root: &TestRoot, name: &str, n: usize) {
    for _ in 0..200 {
        if root.ok(&["logs", name]).matches("ready").count() >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{name} never said ready");
}

#[test]
fn home_groups_and_workdir_as_runc_gives_them() {
    if !have_root("home_groups_and_workdir_as_runc_gives_them") {
        return;
    }
    let root = TestRoot::new("api-user");
    let p = std::process::id();
    let tag = format!("users{p}:1");
    build_image(&root, &tag);
    let name = format!("usr{p}");
    root.ok(&["run", "-d", "--name", &name, "--network", "none", &tag]);
    wait_ready(&root, &name, 1);
    let pid = root.pid_of(&name);
    // The kernel's view of the container's process: uid 2000, gid 2000,
    // groups 2000 (dockerd puts the primary group in the list), 50 and 29
    // (docker: `Groups: 29 50 2000`, the kernel sorts them).
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(field("Uid:")[0], "2000");
    assert_eq!(field("Gid:")[0], "2000");
    assert_eq!(field("Groups:"), ["29", "50", "2000"]);
    // HOME from passwd, last in the environment (runc appends it).
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let env: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect();
    assert_eq!(
        env.last().map(String::as_str),
        Some("HOME=/home/app"),
        "{env:?}"
    );
    assert!(env.contains(&"GREETING=hello".to_string()), "{env:?}");

    let sh = |args: &[&str], script: &str| -> String {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[name.as_str(), "sh", "-c", script]);
        root.ok(&all)
    };
    let who = "echo $(id -u) $(id -G) $HOME";
    // exec as the container's user: its HOME (today's main gave none).
    // docker: "2000 2000 29 50 /home/app".
    let out = sh(&[], who);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[0], "2000", "{out}");
    assert_eq!(
        set(&words[1..words.len() - 1].join(" ")),
        set("2000 29 50"),
        "{out}"
    );
    assert_eq!(words.last(), Some(&"/home/app"), "{out}");
    // exec -u root: root's HOME and its membership of audio.
    // docker: "0 0 29 /root".
    let out = sh(&["-u", "root"], who);
    assert_eq!(set(&out), set("0 0 29 /root"), "{out}");
    // A uid without an entry: gid 0, no memberships, HOME=/ (runc's defaults).
    // docker: "4242 0 /".
    assert_eq!(set(&sh(&["-u", "4242"], who)), set("4242 0 /"));
    // A group given: it is the primary group, and no memberships are added.
    // docker: "2000 50 /home/app".
    assert_eq!(
        set(&sh(&["-u", "app:staff"], who)),
        set("2000 50 /home/app")
    );
    // An exec's -e HOME wins.
    assert_eq!(sh(&["-e", "HOME=/x"], "echo $HOME"), "/x\n");
    // The image's WORKDIR, made at start: 0755, root's (docker: "755 0 0").
    assert_eq!(
        sh(&[], "pwd; stat -c '%a %u %g' /srv/app"),
        "/srv/app\n755 0 0\n"
    );
    // An exec's -w that is not there is an error (runc makes only the
    // first process's): docker exits 126 "chdir to cwd ... no such file".
    let out = root.glassbox(&["exec", "-w", "/no/such", &name, "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chdir to cwd (\"/no/such\")"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // run -w on a read-only root: made (and its parents) before the root
    // turns read-only; run -e HOME keeps the given one (docker: "755 0\n/given").
    let out = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "-w",
        "/made/deep",
        "-e",
        "HOME=/given",
        "--entrypoint",
        "sh",
        &tag,
        "-c",
        "stat -c '%a %u' /made /made/deep; echo $HOME; pwd",
    ]);
    assert_eq!(out, "755 0\n755 0\n/given\n/made/deep\n");
    root.ok(&["rm", "-f", &name]);
    root.ok(&["rmi", &tag]);
}

#[test]
fn image_volumes_become_anonymous_volumes() {
    if !have_root("image_volumes_become_anonymous_volumes")
        || docker_cli("image_volumes_become_anonymous_volumes").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-vol");
    let p = std::process::id();
    let tag = format!("vols{p}:1");
    build_image(&root, &tag);
    let name = format!("vol{p}");
    root.ok(&["create", "--name", &name, "--network", "none", &tag]);
    // At create: one anonymous volume (a 64-hex name), in Mounts and
    // Config.Volumes (docker: Mounts[0].Type "volume", Name 64 hex,
    // Destination "/data", RW true; Config.Volumes {"/data":{}}).
    let doc = root.inspect(&name);
    let mounts = doc["Mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    let vname = mounts[0]["Name"].as_str().unwrap().to_string();
    assert_eq!(vname.len(), 64);
    assert_eq!(mounts[0]["Type"], "volume");
    assert_eq!(mounts[0]["Destination"], "/data");
    assert_eq!(mounts[0]["RW"], true);
    assert_eq!(doc["Config"]["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(doc["HostConfig"]["Binds"], serde_json::json!([]));
    assert!(root.ok(&["volume", "ls"]).contains(&vname));
    // At the first start the image's files are copied in, with their
    // owner and mode (docker: "750 2000 2000", the file, the symlink).
    root.ok(&["start", &name]);
    wait_ready(&root, &name, 1);
    let out = root.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "stat -c '%a %u %g' /data; cat /data/sub/seed /data/link; stat -c %u /data/sub/seed",
    ]);
    assert_eq!(out, "750 2000 2000\nseeded\nseeded\n2000\n");
    // It is the volume's directory on the host, not the overlay.
    let source = mounts[0]["Source"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("{source}/sub/seed")).unwrap(),
        "seeded\n"
    );
    root.ok(&["exec", &name, "sh", "-c", "echo kept > /data/kept"]);
    // A restart keeps what was written (no second copy over it).
    root.ok(&["restart", "-t", "1", &name]);
    assert_eq!(root.ok(&["exec", &name, "cat", "/data/kept"]), "kept\n");
    // rm -v removes it; plain rm would keep it (docker's rule).
    root.ok(&["rm", "-fv", &name]);
    assert!(!root.ok(&["volume", "ls"]).contains(&vname));

    // A named volume at the same path replaces the anonymous one.
    let named = format!("nv{p}");
    root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{named}:/data"),
        "--entrypoint",
        "true",
        &tag,
    ]);
    let ls = root.ok(&["volume", "ls"]);
    assert_eq!(ls.lines().count(), 2, "{ls}");
    assert!(ls.contains(&named));
    root.ok(&["volume", "rm", &named]);
    // --rm takes its anonymous volumes along; plain rm leaves them.
    root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/scratch",
        "--entrypoint",
        "true",
        &tag,
    ]);
    assert_eq!(root.ok(&["volume", "ls"]).lines().count(), 1);
    let kept = format!("kept{p}");
    root.ok(&[
        "run",
        "--name",
        &kept,
        "--network",
        "none",
        "--entrypoint",
        "true",
        &tag,
    ]);
    root.ok(&["rm", &kept]);
    assert_eq!(root.ok(&["volume", "ls"]).lines().count(), 2);

    // Through the daemon: `docker run -v /path` is Config.Volumes, the
    // image's VOLUME too; `docker rm -v` removes both.
    let d = ApiDaemon::start(root.path());
    let dname = format!("dvol{p}");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &dname,
        "--network",
        "none",
        "-v",
        "/extra",
        &tag,
    ]);
    let vols = d.docker_ok(&["inspect", "-f", "{{json .Config.Volumes}}", &dname]);
    assert_eq!(vols.trim(), r#"{"/data":{},"/extra":{}}"#);
    let names = d.docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}} {{.Destination}}\n{{end}}",
        &dname,
    ]);
    assert_eq!(set(&names), set("volume /data volume /extra"));
    let before = d.docker_ok(&["volume", "ls", "-q"]).lines().count();
    d.docker_ok(&["rm", "-fv", &dname]);
    assert_eq!(
        d.docker_ok(&["volume", "ls", "-q"]).lines().count(),
        before - 2
    );
    root.ok(&["rmi", &tag]);
}

#[test]
fn stop_sends_the_image_s_stop_signal() {
    if !have_root("stop_sends_the_image_s_stop_signal")
        || docker_cli("stop_sends_the_image_s_stop_signal").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-stopsig");
    let p = std::process::id();
    let tag = format!("stops{p}:1");
    build_image(&root, &tag);
    let name = format!("ss{p}");
    root.ok(&["run", "-d", "--name", &name, "--network", "none", &tag]);
    wait_ready(&root, &name, 1);
    // STOPSIGNAL SIGUSR1: the trap's exit 7, not 143 (SIGTERM) or 137.
    root.ok(&["stop", "-t", "10", &name]);
    assert_eq!(root.inspect(&name)["State"]["ExitCode"], 7);
    assert_eq!(root.inspect(&name)["Config"]["StopSignal"], "SIGUSR1");
    // --stop-signal overrides it: KILL ends it at once (137), without
    // the 10 s wait a SIGTERM to this PID 1 (no handler: ignored) would cost.
    let other = format!("ss2{p}");
    root.ok(&[
        "run",
        "-d",
        "--name",
        &other,
        "--network",
        "none",
        "--stop-signal",
        "KILL",
        &tag,
    ]);
    wait_ready(&root, &other, 1);
    let t = std::time::Instant::now();
    root.ok(&["stop", "-t", "10", &other]);
    assert!(t.elapsed() < std::time::Duration::from_secs(8));
    assert_eq!(root.inspect(&other)["State"]["ExitCode"], 137);
    // The daemon's stop, through the same engine call.
    let d = ApiDaemon::start(root.path());
    root.ok(&["start", &name]);
    wait_ready(&root, &name, 2);
    d.docker_ok(&["stop", &name]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &name]),
        "7\n"
    );
    root.ok(&["rm", "-fv", &name, &other]);
    root.ok(&["rmi", &tag]);
}

#[test]
fn inspect_shows_the_merged_config() {
    if !have_root("inspect_shows_the_merged_config")
        || docker_cli("inspect_shows_the_merged_config").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-config");
    let p = std::process::id();
    let tag = format!("conf{p}:1");
    build_image(&root, &tag);
    let name = format!("cf{p}");
    root.ok(&[
        "create",
        "--name",
        &name,
        "--network",
        "none",
        "-e",
        "EXTRA=1",
        "-e",
        "GREETING=hi",
        &tag,
    ]);
    let c = root.inspect(&name)["Config"].clone();
    // docker inspect of the same container gives these Config values: the
    // image's ENTRYPOINT and CMD apart, the image's ENV with -e over it by
    // name, its USER, WORKDIR, STOPSIGNAL and VOLUME.
    assert_eq!(c["Entrypoint"], serde_json::json!(["sh", "-c"]));
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["trap 'exit 7' USR1; echo ready; while true; do usleep 50000; done"])
    );
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env[0].starts_with("PATH="), "{env:?}");
    assert_eq!(&env[1..], ["GREETING=hi", "EXTRA=1"]);
    assert_eq!(c["User"], "app");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["StopSignal"], "SIGUSR1");
    assert_eq!(c["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(c["Image"], tag.as_str());
    // dockerd's Config keys (api/types/container.Config, omitempty ones
    // present here because they are set).
    let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    let docker: BTreeSet<&str> = [
        "Hostname",
        "Domainname",
        "User",
        "AttachStdin",
        "AttachStdout",
        "AttachStderr",
        "Tty",
        "OpenStdin",
        "StdinOnce",
        "Env",
        "Cmd",
        "Image",
        "Volumes",
        "WorkingDir",
        "Entrypoint",
        "OnBuild",
        "Labels",
        "StopSignal",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, docker);
    // --entrypoint "" and a command: no Entrypoint (docker: null), Cmd as given.
    let plain = format!("cf2{p}");
    root.ok(&[
        "create",
        "--name",
        &plain,
        "--network",
        "none",
        "--entrypoint",
        "",
        &tag,
        "echo",
        "x",
    ]);
    let c2 = root.inspect(&plain)["Config"].clone();
    assert_eq!(c2["Entrypoint"], serde_json::Value::Null);
    assert_eq!(c2["Cmd"], serde_json::json!(["echo", "x"]));
    // The daemon answers with the same document.
    let d = ApiDaemon::start(root.path());
    let via: serde_json::Value =
        serde_json::from_str(&d.docker_ok(&["inspect", "-f", "{{json .Config}}", &name])).unwrap();
    assert_eq!(via, c);
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "",
        &tag,
        "sh",
        "-c",
        "echo $HOME; id -u",
    ]);
    assert_eq!(text(&out), "/home/app\n2000\n", "{}", err_text(&out));
    root.ok(&["rm", "-v", &name, &plain]);
    root.ok(&["rmi", &tag]);
}
