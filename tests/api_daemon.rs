//! `glassbox daemon`: the Docker Engine API on a unix socket, driven by the
//! real docker CLI and by raw HTTP. Each test starts its own daemon on its
//! own socket and data root.

mod api_util;
mod common;

use api_util::{ApiDaemon, docker_cli, err_text, header, text};
use common::{TestRoot, have_root};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

#[test]
fn daemon_negotiates_and_ends_cleanly_on_sigterm() {
    if !have_root("daemon_negotiates_and_ends_cleanly_on_sigterm") {
        return;
    }
    let root = TestRoot::new("api-ping");
    let mut d = ApiDaemon::start(root.path());

    // The socket is root's and its group's only.
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));

    // _ping names the highest version, so newer clients negotiate down.
    let (status, headers, body) = d.request("GET", "/_ping", None);
    assert_eq!((status, body.as_slice()), (200, &b"OK"[..]));
    assert_eq!(header(&headers, "Api-Version"), Some("1.43"));
    assert_eq!(header(&headers, "Builder-Version"), Some("1"));
    let (status, headers, body) = d.request("HEAD", "/_ping", None);
    assert_eq!(status, 200);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "Api-Version"), Some("1.43"));

    // Too new and too old are refused in dockerd's words.
    let (status, _, body) = d.request("GET", "/v1.50/info", None);
    assert_eq!(status, 400);
    let msg: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        msg["message"],
        "client version 1.50 is too new. Maximum supported API version is 1.43"
    );
    let (status, _, _) = d.request("GET", "/v1.12/info", None);
    assert_eq!(status, 400);
    let (status, _, body) = d.request("GET", "/v1.24/version", None);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["ApiVersion"].as_str(), v["MinAPIVersion"].as_str()),
        (Some("1.43"), Some("1.24"))
    );
    let (status, _, body) = d.request("GET", "/v1.43/no/such/route", None);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("page not found"));

    if docker_cli("daemon_negotiates_and_ends_cleanly_on_sigterm").is_some() {
        let v = d.docker_ok(&[
            "version",
            "--format",
            "{{.Server.APIVersion}} {{.Server.Os}}",
        ]);
        assert_eq!(v.trim(), "1.43 linux");
        let info = d.docker_ok(&[
            "info",
            "--format",
            "{{.Driver}} {{.OSType}} {{.DockerRootDir}}",
        ]);
        let canon = std::fs::canonicalize(root.path()).unwrap();
        assert_eq!(info.trim(), format!("overlay2 linux {}", canon.display()));
    }

    // One log line per request, on stderr and in the root's request log.
    let log = d.stderr();
    assert!(log.contains("GET /v1.50/info 400"), "{log}");
    assert!(log.contains("HEAD /_ping 200"), "{log}");
    let file = std::fs::read_to_string(root.path().join("daemon-requests.log")).unwrap();
    assert!(file.contains("GET /v1.24/version 200"), "{file}");

    let status = d.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean end: {}",
        d.stderr()
    );
    assert!(!d.socket.exists(), "the socket is removed at the end");
}

#[test]
fn docker_cli_reads_and_manages_glassbox_state() {
    if !have_root("docker_cli_reads_and_manages_glassbox_state") {
        return;
    }
    if docker_cli("docker_cli_reads_and_manages_glassbox_state").is_none() {
        return;
    }
    let root = TestRoot::new("api-cli");
    let d = ApiDaemon::start(root.path());
    // A container made by the glassbox CLI is the daemon's too: one engine.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "apiweb",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo hello; echo oops >&2; touch /made; while true; do sleep 1; done",
    ]);
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}} {{.Image}} {{.State}}"]);
    assert_eq!(ps.trim(), "apiweb busybox running");
    let state = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.Name}} {{.State.Pid}}",
        "apiweb",
    ]);
    assert_eq!(
        state.split_whitespace().take(2).collect::<Vec<_>>(),
        ["running", "/apiweb"]
    );
    assert_eq!(
        state.split_whitespace().nth(2).unwrap(),
        root.pid_of("apiweb").to_string()
    );

    // Logs: stdout and stderr apart, as docker's framing keeps them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let logs = loop {
        let out = d.docker(&["logs", "apiweb"]);
        if text(&out).contains("hello") || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(text(&logs), "hello\n");
    assert_eq!(err_text(&logs), "oops\n");
    let tail = d.docker_ok(&["logs", "-t", "--tail", "1", "apiweb"]);
    assert!(tail.is_empty(), "the last line is stderr's: {tail:?}");

    let top = d.docker_ok(&["top", "apiweb"]);
    assert!(top.starts_with("UID") && top.contains("sleep"), "{top}");
    let diff = d.docker_ok(&["diff", "apiweb"]);
    assert!(diff.lines().any(|l| l == "A /made"), "{diff}");
    let stats = d.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "apiweb",
    ]);
    assert!(stats.starts_with("apiweb "), "{stats}");

    // Images, history, tag (the CLI sends docker.io/library/NAME), rmi.
    let images = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.trim(), "busybox:latest");
    let history = d.docker_ok(&["history", "--format", "{{.CreatedBy}}", "busybox"]);
    assert!(history.contains("CMD"), "{history}");
    d.docker_ok(&["tag", "busybox", "apibox:1"]);
    assert!(root.ok(&["images"]).contains("apibox"));

    // Volumes and networks.
    d.docker_ok(&["volume", "create", "apivol"]);
    let vols = d.docker_ok(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(vols.trim(), "apivol local");
    let mp = d.docker_ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "apivol"]);
    assert!(std::path::Path::new(mp.trim()).is_dir());
    d.docker_ok(&["volume", "rm", "apivol"]);
    let nets = d.docker_ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(
        nets.lines().collect::<Vec<_>>(),
        ["bridge bridge", "host host", "none null"]
    );

    // Errors in docker's words, with docker's exit code.
    let out = d.docker(&["rm", "apiweb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err_text(&out).contains("You cannot remove a running container"),
        "{}",
        err_text(&out)
    );
    let out = d.docker(&["inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err_text(&out).contains("No such object: nosuch"),
        "{}",
        err_text(&out)
    );
    let out = d.docker(&["stop", "nosuch"]);
    assert!(
        err_text(&out).contains("No such container: nosuch"),
        "{}",
        err_text(&out)
    );
    // The image under a running container, named by its ID (a tag of
    // several would only be untagged): dockerd's 409 and words.
    let image = root.inspect("busybox")["Id"].as_str().unwrap().to_string();
    let (status, _, body) = d.request("DELETE", &format!("/images/{image}"), None);
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    let out = d.docker(&["rmi", &image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err_text(&out).contains("Error response from daemon: conflict: unable to delete")
            && err_text(&out)
                .contains("(cannot be forced) - image is being used by running container"),
        "{}",
        err_text(&out)
    );

    d.docker_ok(&["kill", "apiweb"]);
    let st = d.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "status=exited",
        "--format",
        "{{.Names}} {{.Status}}",
    ]);
    assert!(st.starts_with("apiweb Exited (137)"), "{st}");
    d.docker_ok(&["rm", "apiweb"]);
    assert!(d.docker_ok(&["ps", "-aq"]).is_empty());
    let rmi = d.docker_ok(&["rmi", "apibox:1"]);
    assert_eq!(rmi.trim(), "Untagged: apibox:1");
    assert!(!root.ok(&["images"]).contains("apibox"));
}

#[test]
fn restarting_the_daemon_loses_no_container() {
    if !have_root("restarting_the_daemon_loses_no_container") {
        return;
    }
    let root = TestRoot::new("api-restart");
    let mut d = ApiDaemon::start(root.path());
    root.ok(&[
        "run",
        "-d",
        "--name",
        "apikeep",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let pid = root.pid_of("apikeep");
    assert_eq!(d.stop().code(), Some(0));
    // The container's parent is its shim, not the daemon: it runs on.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let d2 = ApiDaemon::start(root.path());
    let (status, _, body) = d2.request("GET", "/v1.43/containers/apikeep/json", None);
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["State"]["Pid"], pid);
    assert_eq!(doc["State"]["Running"], true);
    root.ok(&["rm", "-f", "apikeep"]);
}

#[test]
fn docker_run_goes_through_create_attach_wait_start() {
    if !have_root("docker_run_goes_through_create_attach_wait_start") {
        return;
    }
    if docker_cli("docker_run_goes_through_create_attach_wait_start").is_none() {
        return;
    }
    let root = TestRoot::new("api-run");
    let d = ApiDaemon::start(root.path());
    let out = d.docker(&["run", "--rm", "--network", "none", "busybox", "echo", "hi"]);
    assert_eq!(
        (out.status.code(), text(&out).as_str()),
        (Some(0), "hi\n"),
        "{}",
        err_text(&out)
    );
    let log = d.stderr();
    for step in [
        "/containers/create 201",
        "/attach?",
        "/wait?condition=removed",
        "/start 204",
    ] {
        assert!(log.contains(step), "{step} in {log}");
    }
    // --rm: the daemon's shim removed it.
    assert!(d.docker_ok(&["ps", "-aq"]).is_empty());

    // The container's exit code, stderr apart, 127 for a missing command.
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo e >&2; exit 3",
    ]);
    assert_eq!(
        (out.status.code(), err_text(&out).as_str()),
        (Some(3), "e\n")
    );
    let out = d.docker(&["run", "--rm", "--network", "none", "busybox", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127), "{}", err_text(&out));
    assert!(
        err_text(&out).contains("executable file not found in $PATH"),
        "{}",
        err_text(&out)
    );
    assert!(
        d.docker_ok(&["ps", "-aq"]).is_empty(),
        "a --rm container whose start failed is removed"
    );

    // stdin reaches the container and its end closes it (StdinOnce).
    let mut child = d
        .docker_cmd(&[
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "cat; echo done",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out), "hello\ndone\n");

    // Detached, then the lifecycle verbs.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "apirun",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo up; exec sleep 600",
    ]);
    assert_eq!(id.trim().len(), 64);
    let out = d.docker(&[
        "run",
        "--name",
        "apirun",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        err_text(&out)
            .contains("Conflict. The container name \"/apirun\" is already in use by container"),
        "{}",
        err_text(&out)
    );
    d.docker_ok(&["stop", "-t", "1", "apirun"]);
    let st = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "apirun",
    ]);
    assert_eq!(st.trim(), "exited 137");
    d.docker_ok(&["start", "apirun"]);
    d.docker_ok(&["restart", "-t", "1", "apirun"]);
    assert_eq!(
        d.docker_ok(&["ps", "--format", "{{.Names}}"]).trim(),
        "apirun"
    );
    d.docker_ok(&["rename", "apirun", "apirun2"]);
    let logs = d.docker_ok(&["logs", "apirun2"]);
    assert_eq!(logs, "up\nup\nup\n", "three starts, one log");
    d.docker_ok(&["kill", "apirun2"]);
    assert_eq!(d.docker_ok(&["wait", "apirun2"]).trim(), "137");
    d.docker_ok(&["rm", "apirun2"]);
}

#[test]
fn glassbox_create_start_attach_wait() {
    if !have_root("glassbox_create_start_attach_wait") {
        return;
    }
    let root = TestRoot::new("api-verbs");
    let id = root.ok(&[
        "create",
        "--name",
        "verbs",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 4",
    ]);
    assert_eq!(id.trim().len(), 64);
    let ps = root.ok(&["ps", "-a"]);
    assert!(ps.contains("Created") && ps.contains("verbs"), "{ps}");
    let out = root.glassbox(&["start", "-a", "verbs"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        (text(&out).as_str(), err_text(&out).as_str()),
        ("out\n", "err\n")
    );
    assert_eq!(root.ok(&["wait", "verbs"]).trim(), "4");
    root.ok(&["rename", "verbs", "verbs2"]);
    let out = root.glassbox(&["logs", "verbs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err_text(&out).contains("Error response from daemon: No such container: verbs"));
    root.ok(&["rm", "verbs2"]);
    // A flag error is docker's 125.
    assert_eq!(
        root.glassbox(&["ps", "--no-such-flag"]).status.code(),
        Some(125)
    );
}
