//! docker's verbs that move files and processes in and out of a running
//! glassbox container, through `glassbox daemon`: `docker cp` both ways
//! (archive HEAD/GET/PUT), `docker exec` (exec create/start/inspect),
//! `docker pause`/`unpause` (the cgroup freezer), `docker build` (a tar
//! context, streamed progress), and the same through the glassbox CLI.
//! Each test starts its own daemon on its own socket and data root.

mod api_util;
mod common;

use api_util::{ApiDaemon, docker_cli, err_text, text};
use common::{TestRoot, have_root};

/// A host directory for one test's files, removed when the test ends
/// (a failing one too).
struct Scratch(std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir =
        std::env::temp_dir().join(format!("glassbox-test-{name}-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

#[test]
fn docker_cp_and_exec_reach_inside_the_container() {
    if !have_root("docker_cp_and_exec_reach_inside_the_container")
        || docker_cli("docker_cp_and_exec_reach_inside_the_container").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-cp");
    let d = ApiDaemon::start(root.path());
    let files = scratch("api-cp");
    let name = format!("cp{}", std::process::id());
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);

    // Host to container: a file, then a directory (docker's tar semantics:
    // into an existing directory under its own name).
    std::fs::write(files.join("hello.txt"), "from the host\n").unwrap();
    std::fs::create_dir_all(files.join("tree/sub")).unwrap();
    std::fs::write(files.join("tree/sub/leaf"), "leaf\n").unwrap();
    let host_file = files.join("hello.txt");
    d.docker_ok(&["cp", host_file.to_str().unwrap(), &format!("{name}:/tmp/")]);
    d.docker_ok(&[
        "cp",
        files.join("tree").to_str().unwrap(),
        &format!("{name}:/tmp"),
    ]);
    // exec sees them, with docker's framing of stdout and stderr apart.
    let out = d.docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "cat /tmp/hello.txt /tmp/tree/sub/leaf; echo oops >&2; exit 4",
    ]);
    assert_eq!(
        (
            out.status.code(),
            text(&out).as_str(),
            err_text(&out).as_str()
        ),
        (Some(4), "from the host\nleaf\n", "oops\n")
    );
    // -w, -u and -e reach the process.
    let out = d.docker_ok(&[
        "exec",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "-e",
        "GREETING=hi",
        &name,
        "sh",
        "-c",
        "echo $(pwd) $(id -u):$(id -g) $GREETING",
    ]);
    assert_eq!(out, "/tmp 1000:1000 hi\n");
    // A file made inside comes out, renamed on the way.
    d.docker_ok(&["exec", &name, "sh", "-c", "echo made inside > /etc/made"]);
    let back = files.join("back.txt");
    d.docker_ok(&["cp", &format!("{name}:/etc/made"), back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "made inside\n");
    // A directory comes out whole.
    let out_dir = files.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    d.docker_ok(&[
        "cp",
        &format!("{name}:/tmp/tree"),
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("tree/sub/leaf")).unwrap(),
        "leaf\n"
    );
    // A path that is not there: docker's 404 words, exit 1.
    let out = d.docker(&["cp", &format!("{name}:/no/such"), files.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", err_text(&out));
    assert!(
        err_text(&out).contains("Could not find the file /no/such in container"),
        "{}",
        err_text(&out)
    );
    // A symlink inside pointing at / resolves inside the container, never
    // on the host: the host's /etc/hostname is not what comes out.
    d.docker_ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo inner > /tmp/hn; ln -s /tmp/hn /tmp/link",
    ]);
    d.docker_ok(&["exec", &name, "ln", "-s", "/", "/tmp/rootlink"]);
    let leak = files.join("leak");
    let out = d.docker(&[
        "cp",
        &format!("{name}:/tmp/rootlink/tmp/hn"),
        leak.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", err_text(&out));
    assert_eq!(std::fs::read_to_string(&leak).unwrap(), "inner\n");

    // exec into a container that is not running: docker's 409 words.
    d.docker_ok(&["stop", "-t", "1", &name]);
    let out = d.docker(&["exec", &name, "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err_text(&out).contains("is not running"),
        "{}",
        err_text(&out)
    );
    // cp works on a stopped container too (its overlay, mounted for the copy).
    let stopped = files.join("stopped");
    d.docker_ok(&[
        "cp",
        &format!("{name}:/etc/made"),
        stopped.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&stopped).unwrap(), "made inside\n");

    // The glassbox CLI does the same without the daemon.
    let g = root.glassbox(&[
        "cp",
        &format!("{name}:/tmp/hello.txt"),
        files.join("g.txt").to_str().unwrap(),
    ]);
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    assert_eq!(
        std::fs::read_to_string(files.join("g.txt")).unwrap(),
        "from the host\n"
    );
    std::fs::write(files.join("in.txt"), "cli in\n").unwrap();
    root.ok(&[
        "cp",
        files.join("in.txt").to_str().unwrap(),
        &format!("{name}:/in.txt"),
    ]);
    root.ok(&["start", &name]);
    assert_eq!(root.ok(&["exec", &name, "cat", "/in.txt"]), "cli in\n");

    d.docker_ok(&["rm", "-f", &name]);
}

#[test]
fn docker_pause_freezes_the_cgroup() {
    if !have_root("docker_pause_freezes_the_cgroup")
        || docker_cli("docker_pause_freezes_the_cgroup").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-pause");
    let d = ApiDaemon::start(root.path());
    let name = format!("pz{}", std::process::id());
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; usleep 20000; done",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.docker_ok(&["pause", &name]);
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            &name
        ]),
        "paused true\n"
    );
    assert!(d.docker_ok(&["ps"]).contains("(Paused)"));
    // The kernel says frozen: the loop's process is in state D/frozen and
    // its file does not change while paused.
    let pid = root.pid_of(&name);
    let tick = || std::fs::read_to_string(format!("/proc/{pid}/root/tmp/tick")).unwrap_or_default();
    let a = tick();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(a, tick(), "the file changed while paused");
    let out = d.docker(&["pause", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err_text(&out).contains("is already paused"),
        "{}",
        err_text(&out)
    );
    d.docker_ok(&["unpause", &name]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_ne!(a, tick(), "the file did not change after unpause");
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", &name]),
        "running\n"
    );
    // A paused container stops (its signal is delivered once thawed).
    d.docker_ok(&["pause", &name]);
    d.docker_ok(&["stop", "-t", "1", &name]);
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            &name
        ]),
        "exited false\n"
    );
    d.docker_ok(&["rm", &name]);
}

#[test]
fn docker_build_streams_progress_and_tags() {
    if !have_root("docker_build_streams_progress_and_tags")
        || docker_cli("docker_build_streams_progress_and_tags").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-build");
    let d = ApiDaemon::start(root.path());
    let ctx = scratch("api-build");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nCOPY greeting /greeting\nRUN cat /greeting > /copied\nCMD [\"cat\", \"/copied\"]\n",
    )
    .unwrap();
    std::fs::write(ctx.join("greeting"), "built by glassbox\n").unwrap();
    // The classic builder (the daemon says Builder-Version 1).
    let mut cmd = d.docker_cmd(&["build", "-t", "apibuilt:1", ctx.to_str().unwrap()]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out), err_text(&out));
    assert!(
        text(&out).contains("Step 1/4 : FROM busybox"),
        "{}",
        text(&out)
    );
    assert!(d.docker_ok(&["images"]).contains("apibuilt"));
    let run = d.docker_ok(&["run", "--rm", "--network", "none", "apibuilt:1"]);
    assert_eq!(run, "built by glassbox\n");
    // A failing step: the error in docker's words, exit 1.
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN exit 7\n").unwrap();
    let mut cmd = d.docker_cmd(&["build", ctx.to_str().unwrap()]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(err_text(&out).contains("7"), "{}", err_text(&out));
    d.docker_ok(&["rmi", "apibuilt:1"]);
}

#[test]
fn docker_run_publish_logs_follow_save_load() {
    if !have_root("docker_run_publish_logs_follow_save_load")
        || docker_cli("docker_run_publish_logs_follow_save_load").is_none()
    {
        return;
    }
    use std::io::{BufRead, Read, Write};
    let root = TestRoot::new("api-flow");
    let d = ApiDaemon::start(root.path());
    let files = scratch("api-flow");
    let name = format!("web{}", std::process::id());
    // run -d -p: the page served inside answers on the host port (api's range).
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "-p",
        "127.0.0.1:29401:80",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo page > /www/index.html && echo started && httpd -f -p 80 -h /www",
    ]);
    assert_eq!(
        d.docker_ok(&["port", &name]).trim(),
        "80/tcp -> 127.0.0.1:29401"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let page = loop {
        let got = std::net::TcpStream::connect("127.0.0.1:29401").and_then(|mut s| {
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut b = String::new();
            s.read_to_string(&mut b)?;
            Ok(b)
        });
        match got {
            Ok(b) if b.contains("page") => break b,
            _ if std::time::Instant::now() > deadline => panic!("no page: {got:?}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    };
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    // logs -f: what is written later arrives on the open stream.
    let mut follow = d
        .docker_cmd(&["logs", "-f", &name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "started");
    d.docker_ok(&["exec", &name, "sh", "-c", "echo later > /proc/1/fd/1"]);
    assert_eq!(lines.next().unwrap().unwrap(), "later");
    d.docker_ok(&["stop", "-t", "1", &name]);
    // The stream ends when the container does.
    assert!(lines.next().is_none());
    assert!(follow.wait().unwrap().success());
    d.docker_ok(&["rm", &name]);

    // save | load: the archive goes out and comes back as the same image.
    d.docker_ok(&["tag", "busybox", "flowbox:1"]);
    let id = d.docker_ok(&["inspect", "-f", "{{.Id}}", "flowbox:1"]);
    let tar = files.join("flowbox.tar");
    d.docker_ok(&["save", "-o", tar.to_str().unwrap(), "flowbox:1"]);
    d.docker_ok(&["rmi", "flowbox:1"]);
    let loaded = d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image: flowbox:1"), "{loaded}");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{.Id}}", "flowbox:1"]), id);
    d.docker_ok(&["rmi", "flowbox:1"]);
}
