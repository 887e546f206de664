//! docker's everyday flags, in the glassbox CLI and through `glassbox
//! daemon` with the real docker CLI, on one engine: `ps --filter/-n/-l/
//! --no-trunc/-s/-q`, `images -q/--filter`, `exec -d -w -u -e`, `run
//! --cap-add/--cap-drop` (read back from the kernel's CapEff) and
//! `--tmpfs` (read back from the container's mountinfo), `stop -s`, `logs
//! --until`, `pause`/`unpause`. Each test makes its own data root (and
//! daemon, on its own socket).

mod api_util;
mod common;

use api_util::{ApiDaemon, docker_cli, err_text, text};
use common::{TestRoot, have_root};
use std::time::Duration;

/// docker's 14 default capabilities as a mask (CapEff of a root process).
const DEFAULT_CAPS: u64 = 0xa80425fb;

fn cap_eff(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .expect("CapEff line")
        .trim();
    u64::from_str_radix(hex, 16).unwrap()
}

/// The mount options of `dest` in the container's own mount table.
fn mount_line(pid: u32, dest: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap()
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some(dest))
        .unwrap_or_else(|| panic!("no mount at {dest} in the container"))
        .to_string()
}

fn names(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn ps_lists_filters_and_sizes_as_docker() {
    if !have_root("ps_lists_filters_and_sizes_as_docker")
        || docker_cli("ps_lists_filters_and_sizes_as_docker").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-ps");
    let p = std::process::id();
    let (up, ended, made) = (
        format!("psup{p}"),
        format!("psend{p}"),
        format!("psmade{p}"),
    );
    root.ok(&[
        "run",
        "-d",
        "--name",
        &up,
        "--network",
        "none",
        "-l",
        "app=web",
        "busybox",
        "sh",
        "-c",
        "echo data > /grown; sleep 300",
    ]);
    let out = root.glassbox(&[
        "run",
        "--name",
        &ended,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    // A child image (commit) and a container made from it, but not started.
    root.ok(&["commit", &ended, &format!("pschild{p}:1")]);
    root.ok(&[
        "create",
        "--name",
        &made,
        "--network",
        "none",
        &format!("pschild{p}:1"),
        "true",
    ]);

    // docker's header and columns; only the running one by default.
    let ps = root.ok(&["ps"]);
    let header: Vec<&str> = ps
        .lines()
        .next()
        .unwrap()
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{ps}"
    );
    // Go's tabwriter: a column at least 10 wide ("IMAGE" and 5 spaces).
    assert!(ps.contains("   IMAGE     COMMAND"), "{ps}");
    assert_eq!(names(&ps), vec![up.clone()]);
    assert!(ps.contains("\"sh -c echo data > /…\""), "{ps}");
    let mut all = vec![up.clone(), ended.clone(), made.clone()];
    all.sort();
    assert_eq!(names(&root.ok(&["ps", "-a"])), all);
    // -n and -l count every state, newest first.
    assert_eq!(names(&root.ok(&["ps", "-l"])), vec![made.clone()]);
    let mut two = vec![made.clone(), ended.clone()];
    two.sort();
    assert_eq!(names(&root.ok(&["ps", "-n", "2"])), two);
    // A status filter implies -a; exited= needs an exited container.
    assert_eq!(
        names(&root.ok(&["ps", "-f", "status=exited"])),
        vec![ended.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", "exited=3"])),
        vec![ended.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", "status=created"])),
        vec![made.clone()]
    );
    // name and id are regular expressions, as dockerd's.
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", &format!("name=^psu.*{p}$")])),
        vec![up.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", &format!("name=/psend{p}")])),
        vec![ended.clone()]
    );
    let id = root.inspect(&up)["Id"].as_str().unwrap().to_string();
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", &format!("id={}", &id[..8])])),
        vec![up.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", "label=app=web"])),
        vec![up.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", "label=app=db"])),
        Vec::<String>::new()
    );
    // ancestor: the image itself or one built on it.
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", &format!("ancestor=pschild{p}:1")])),
        vec![made.clone()]
    );
    assert_eq!(
        names(&root.ok(&["ps", "-a", "-f", "ancestor=busybox"])),
        all
    );
    // Filters of one name are ORed, of two names ANDed.
    let mut either = vec![up.clone(), ended.clone()];
    either.sort();
    assert_eq!(
        names(&root.ok(&["ps", "-f", "status=running", "-f", "status=exited"])),
        either
    );
    assert_eq!(
        names(&root.ok(&["ps", "-f", "status=running", "-f", "exited=3"])),
        Vec::<String>::new()
    );
    // -q, --no-trunc.
    assert_eq!(root.ok(&["ps", "-q"]), format!("{}\n", &id[..12]));
    assert_eq!(root.ok(&["ps", "-q", "--no-trunc"]), format!("{id}\n"));
    let full = root.ok(&["ps", "--no-trunc"]);
    assert!(full.contains(&id), "{full}");
    assert!(
        full.contains("\"sh -c echo data > /grown; sleep 300\""),
        "{full}"
    );
    // -s: the writable layer (the file made inside) and the whole.
    let sized = root.ok(&["ps", "-s"]);
    let header = sized.lines().next().unwrap();
    assert!(
        header.contains("   NAMES") && header.ends_with("   SIZE"),
        "{sized}"
    );
    let row = sized.lines().nth(1).unwrap();
    assert!(
        row.contains("B (virtual ") && !row.contains(" 0B (virtual"),
        "{sized}"
    );
    // A bad filter: docker's words, exit 1.
    let bad = root.glassbox(&["ps", "-f", "status=sleeping"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid filter 'status=sleeping'"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // The daemon lists through the same engine function: the docker CLI
    // gets the same containers for the same flags.
    let d = ApiDaemon::start(root.path());
    for flags in [
        vec!["ps"],
        vec!["ps", "-a"],
        vec!["ps", "-l"],
        vec!["ps", "-n", "2"],
        vec!["ps", "-f", "status=exited"],
        vec!["ps", "-a", "-f", "label=app=web"],
        vec!["ps", "-a", "-f", "ancestor=busybox"],
    ] {
        assert_eq!(
            names(&d.docker_ok(&flags)),
            names(&root.ok(&flags)),
            "{flags:?}"
        );
    }
    assert_eq!(d.docker_ok(&["ps", "-q"]), root.ok(&["ps", "-q"]));
    // --format: Go templates over docker's fields, `table` with headers,
    // `json`; the docker CLI formats the API's list itself, so its output
    // for the same format is the reference.
    for format in [
        "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}}",
        "table {{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Networks}}",
        "{{.Names}}: {{.Labels}}",
        "table {{.Names}}\t{{.Mounts}}\t{{.Ports}}",
    ] {
        assert_eq!(
            root.ok(&["ps", "-a", "--format", format]),
            d.docker_ok(&["ps", "-a", "--format", format]),
            "{format}"
        );
    }
    assert_eq!(
        root.ok(&["ps", "--format", "{{.Names}} {{.Status}}"])
            .split(' ')
            .take(2)
            .collect::<Vec<_>>(),
        [up.as_str(), "Up"]
    );
    let json: serde_json::Value =
        serde_json::from_str(root.ok(&["ps", "--format", "json"]).trim()).unwrap();
    assert_eq!(json["Names"], up.as_str());
    assert_eq!(json["ID"], &id[..12]);
    assert_eq!(json["State"], "running");
    assert!(
        root.ok(&["ps", "-a", "--format", "{{.Size}}"])
            .lines()
            .all(|l| l.contains("(virtual ")),
        "a format that reads .Size gets sizes"
    );
    let bad = root.glassbox(&["ps", "--format", "{{.Nope"]);
    assert_eq!(bad.status.code(), Some(125));
    let bad = d.docker(&["ps", "-f", "status=sleeping"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        err_text(&bad).contains("invalid filter 'status=sleeping'"),
        "{}",
        err_text(&bad)
    );
    root.ok(&["rm", "-f", &up, &ended, &made]);
    root.ok(&["rmi", &format!("pschild{p}:1")]);
}

#[test]
fn images_quiet_filters_and_reference() {
    if !have_root("images_quiet_filters_and_reference")
        || docker_cli("images_quiet_filters_and_reference").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-images");
    let p = std::process::id();
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo one > /f\n").unwrap();
    let tag = format!("imgq{p}:1");
    root.ok(&["build", "-t", &tag, ctx.to_str().unwrap()]);
    let first = root.inspect(&tag)["Id"].as_str().unwrap().to_string();
    // The same tag again, from another build: the first image loses its
    // name and becomes dangling.
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo two > /f\n").unwrap();
    root.ok(&["build", "-t", &tag, ctx.to_str().unwrap()]);
    let second = root.inspect(&tag)["Id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let short = |id: &str| id.trim_start_matches("sha256:")[..12].to_string();

    let table = root.ok(&["images"]);
    assert!(
        table.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{table}"
    );
    assert!(table.contains("<none>       <none>"), "{table}");
    let q = root.ok(&["images", "-q"]);
    assert!(q.lines().any(|l| l == short(&first)), "{q}");
    assert!(q.lines().any(|l| l == short(&second)), "{q}");
    assert_eq!(
        root.ok(&["images", "-q", "-f", "dangling=true"]),
        format!("{}\n", short(&first))
    );
    assert!(
        !root
            .ok(&["images", "-q", "-f", "dangling=false"])
            .contains(&short(&first))
    );
    assert_eq!(
        root.ok(&["images", "-q", "-f", &format!("reference=imgq{p}*")]),
        format!("{}\n", short(&second))
    );
    assert_eq!(
        root.ok(&["images", "-q", &format!("imgq{p}")]),
        format!("{}\n", short(&second))
    );
    assert_eq!(
        root.ok(&["images", "-q", "--no-trunc", &tag]),
        format!("{second}\n")
    );
    let bad = root.glassbox(&["images", "-f", "colour=red"]);
    assert_eq!(bad.status.code(), Some(1));

    assert_eq!(
        root.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", &tag]),
        format!("{tag}\n")
    );
    let table = root.ok(&["images", "--format", "table {{.ID}}\t{{.Tag}}", &tag]);
    assert_eq!(
        table,
        format!("IMAGE ID       TAG\n{}   1\n", short(&second))
    );

    // The daemon: the same filters through GET /images/json, and the
    // docker CLI's own formatting of them as the reference.
    let d = ApiDaemon::start(root.path());
    for format in [
        "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}",
        "table {{.ID}}\t{{.Repository}}\t{{.Tag}}",
    ] {
        assert_eq!(
            root.ok(&["images", "--format", format, &tag]),
            d.docker_ok(&["images", "--format", format, &tag]),
            "{format}"
        );
    }
    assert_eq!(
        d.docker_ok(&["images", "-q", "-f", "dangling=true"]),
        root.ok(&["images", "-q", "-f", "dangling=true"])
    );
    assert_eq!(
        d.docker_ok(&["images", "-q", "-f", &format!("reference=imgq{p}*")]),
        root.ok(&["images", "-q", "-f", &format!("reference=imgq{p}*")])
    );
    root.ok(&["rmi", &tag, &first]);
}

#[test]
fn exec_detach_workdir_user_env() {
    if !have_root("exec_detach_workdir_user_env") {
        return;
    }
    let root = TestRoot::new("api-exec");
    let name = format!("ex{}", std::process::id());
    root.ok(&[
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
    // -d returns while the process runs (it waits for a file the test
    // writes afterwards); the glassbox-exec monitor reaps it.
    assert_eq!(
        root.ok(&[
            "exec",
            "-d",
            &name,
            "sh",
            "-c",
            "while [ ! -e /tmp/go ]; do usleep 20000; done; echo late > /tmp/late"
        ]),
        ""
    );
    let monitors = || {
        common::sh("for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done")
            .lines()
            .filter(|l| *l == "glassbox-exec")
            .count()
    };
    assert!(
        monitors() >= 1,
        "no glassbox-exec monitor holds the process"
    );
    root.ok(&["exec", &name, "touch", "/tmp/go"]);
    let mut late = String::new();
    for _ in 0..100 {
        late = root
            .glassbox(&["exec", &name, "cat", "/tmp/late"])
            .stdout
            .iter()
            .map(|b| *b as char)
            .collect();
        if !late.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(late, "late\n");
    // A detached command that cannot start is reported, as docker's 127.
    let out = root.glassbox(&["exec", "-d", &name, "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    // -w, -u, -e reach the process.
    assert_eq!(
        root.ok(&[
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
        ]),
        "/tmp 1000:1000 hi\n"
    );
    root.ok(&["rm", "-f", &name]);
}

#[test]
fn cap_add_and_drop_reach_the_kernel() {
    if !have_root("cap_add_and_drop_reach_the_kernel")
        || docker_cli("cap_add_and_drop_reach_the_kernel").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-caps");
    let p = std::process::id();
    let name = format!("caps{p}");
    root.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "--cap-add",
        "net_admin",
        "--cap-drop",
        "CAP_CHOWN",
        "busybox",
        "sleep",
        "300",
    ]);
    let pid = root.pid_of(&name);
    let want = (DEFAULT_CAPS | 1 << 12) & !1;
    assert_eq!(cap_eff(pid), want, "CapEff {:#x}", cap_eff(pid));
    // An exec'd process gets the container's sets (from config.json).
    let status = root.ok(&["exec", &name, "grep", "CapEff", "/proc/self/status"]);
    assert_eq!(status.trim(), format!("CapEff:\t{want:016x}"));
    // What the kernel allows follows: no chown, but lo can go down.
    let out = root.glassbox(&["exec", &name, "sh", "-c", "touch /f && chown 1 /f"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        root.ok(&[
            "exec",
            &name,
            "sh",
            "-c",
            "ip link set lo down && cat /sys/class/net/lo/operstate"
        ]),
        "down\n"
    );
    let doc = root.inspect(&name);
    assert_eq!(
        doc["HostConfig"]["CapAdd"],
        serde_json::json!(["net_admin"])
    );
    assert_eq!(
        doc["HostConfig"]["CapDrop"],
        serde_json::json!(["CAP_CHOWN"])
    );
    // A name the kernel does not know: docker's words, 125, nothing made.
    let out = root.glassbox(&["run", "--rm", "--cap-add", "FLY", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("invalid CapAdd: unknown capability: \"CAP_FLY\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(root.ok(&["ps", "-aq"]).lines().count(), 1);

    // Through the daemon: HostConfig.CapAdd/CapDrop, the same engine call.
    let d = ApiDaemon::start(root.path());
    let dname = format!("dcaps{p}");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &dname,
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "SYS_TIME",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(cap_eff(root.pid_of(&dname)), 1 << 25);
    let out = d.docker(&["run", "--rm", "--cap-drop", "nope", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        err_text(&out).contains("invalid CapDrop: unknown capability: \"CAP_NOPE\""),
        "{}",
        err_text(&out)
    );
    root.ok(&["rm", "-f", &name, &dname]);
}

#[test]
fn tmpfs_mounts_a_fresh_filesystem() {
    if !have_root("tmpfs_mounts_a_fresh_filesystem")
        || docker_cli("tmpfs_mounts_a_fresh_filesystem").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-tmpfs");
    let p = std::process::id();
    let name = format!("tmp{p}");
    root.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/scratch:size=1m,mode=1770",
        "busybox",
        "sleep",
        "300",
    ]);
    let pid = root.pid_of(&name);
    let line = mount_line(pid, "/scratch");
    // docker's defaults (noexec, nosuid, nodev) and the given size and mode.
    assert!(line.contains(" - tmpfs tmpfs "), "{line}");
    for opt in ["nosuid", "nodev", "noexec", "size=1024k", "mode=1770"] {
        assert!(line.contains(opt), "{opt} missing: {line}");
    }
    // Writable though the root is read-only, and capped at its size.
    let out = root.glassbox(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo ok > /scratch/f && cat /scratch/f && dd if=/dev/zero of=/scratch/big bs=1k count=2048",
    ]);
    assert_eq!(text(&out).lines().next(), Some("ok"));
    assert_ne!(out.status.code(), Some(0), "2 MiB fit into a 1 MiB tmpfs");
    assert!(
        err_text(&out).contains("No space left"),
        "{}",
        err_text(&out)
    );
    assert_eq!(
        root.inspect(&name)["HostConfig"]["Tmpfs"],
        serde_json::json!({"/scratch": "size=1m,mode=1770"})
    );
    // A bad option or a relative path: refused, nothing made.
    let out = root.glassbox(&["run", "--rm", "--tmpfs", "/x:bogus", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid tmpfs option \"bogus\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Through the daemon (HostConfig.Tmpfs): `exec` cancels the default noexec.
    let d = ApiDaemon::start(root.path());
    let dname = format!("dtmp{p}");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &dname,
        "--network",
        "none",
        "--tmpfs",
        "/run/x:exec",
        "busybox",
        "sleep",
        "300",
    ]);
    let line = mount_line(root.pid_of(&dname), "/run/x");
    assert!(
        line.contains(" - tmpfs ") && !line.contains("noexec"),
        "{line}"
    );
    root.ok(&["rm", "-f", &name, &dname]);
}

#[test]
fn stop_signal_logs_until_and_pause() {
    if !have_root("stop_signal_logs_until_and_pause")
        || docker_cli("stop_signal_logs_until_and_pause").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-stop");
    let p = std::process::id();
    let name = format!("sig{p}");
    let trap = "trap 'echo got USR1; exit 7' USR1; echo ready; while true; do usleep 50000; done";
    root.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        trap,
    ]);
    // The trap is set once the n-th start has said "ready".
    let wait_ready = |root: &TestRoot, name: &str, n: usize| {
        for _ in 0..200 {
            if root.ok(&["logs", name]).matches("ready").count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{name} never became ready");
    };
    wait_ready(&root, &name, 1);
    // pause freezes the cgroup: the kernel says frozen, ps says Paused.
    root.ok(&["pause", &name]);
    let cg = root.inspect(&name)["Glassbox"]["Cgroup"]
        .as_str()
        .unwrap()
        .to_string();
    let frozen = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{cg}/cgroup.events"))
            .unwrap()
            .contains("frozen 1")
    } else {
        std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/{cg}/freezer.state")).unwrap()
            == "FROZEN\n"
    };
    assert!(frozen, "the cgroup is not frozen");
    assert!(root.ok(&["ps"]).contains("(Paused)"));
    root.ok(&["unpause", &name]);
    assert!(!root.ok(&["ps"]).contains("(Paused)"));
    // stop -s sends that signal first: the trap's exit code.
    root.ok(&["stop", "-s", "USR1", "-t", "5", &name]);
    let doc = root.inspect(&name);
    assert_eq!(doc["State"]["ExitCode"], 7);

    // logs --until: lines written before the time, not after.
    let talk = format!("talk{p}");
    root.ok(&[
        "run",
        "-d",
        "--name",
        &talk,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo early; sleep 2; echo late",
    ]);
    std::thread::sleep(Duration::from_millis(1000));
    // A Unix time with its fraction, as docker accepts it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let cut = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    root.ok(&["wait", &talk]);
    assert_eq!(root.ok(&["logs", &talk]), "early\nlate\n");
    assert_eq!(root.ok(&["logs", "--until", &cut, &talk]), "early\n");
    assert_eq!(root.ok(&["logs", "--since", &cut, &talk]), "late\n");

    // The same through the daemon.
    let d = ApiDaemon::start(root.path());
    assert_eq!(d.docker_ok(&["logs", "--until", &cut, &talk]), "early\n");
    root.ok(&["start", &name]);
    wait_ready(&root, &name, 2);
    d.docker_ok(&["stop", "-s", "SIGUSR1", &name]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &name]),
        "7\n"
    );
    root.ok(&["rm", "-f", &name, &talk]);
}

/// Starts `command` under `script` on a pty of `rows` x `cols`, its output
/// piped to us and its stdin a pipe we hold (returned: drop it after the
/// wait).
///
/// `script` runs the command with `$SHELL -c`, so the shell is named here:
/// whether the last command of the line is exec'd or forked (bash execs it,
/// dash forks it and waits) must not depend on the environment the tests
/// run in. With dash the command runs as the shell's child, in the
/// terminal's foreground process group as long as nothing moves it out.
fn spawn_on_a_terminal(
    command: &str,
    rows: u16,
    cols: u16,
) -> (std::process::Child, Option<std::process::ChildStdin>) {
    let mut child = std::process::Command::new("script")
        .env("SHELL", "/bin/sh")
        .args([
            "-qfec",
            &format!("stty rows {rows} cols {cols}; {command}"),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script (util-linux) runs a command on a pty");
    let keep_open = child.stdin.take();
    (child, keep_open)
}

/// Runs `command` on a pty (see [`spawn_on_a_terminal`]) and returns what
/// the terminal showed.
fn on_a_terminal(command: &str, rows: u16, cols: u16) -> String {
    use std::io::Read;
    let (mut child, keep_open) = spawn_on_a_terminal(command, rows, cols);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    drop(keep_open);
    out
}

/// Runs `command` on a pty as [`on_a_terminal`] does, but reads what the
/// terminal shows as it comes: once it holds `want` (or `patience` has
/// passed), `end` is called, which should end the command (removing the
/// container ends `docker attach`); the command's own `timeout` is the
/// backstop. Returns what the terminal showed, and whether `want` came.
fn on_a_terminal_until(
    command: &str,
    rows: u16,
    cols: u16,
    want: &str,
    patience: Duration,
    end: impl FnOnce(),
) -> (String, bool) {
    use std::io::Read;
    let (mut child, keep_open) = spawn_on_a_terminal(command, rows, cols);
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + patience;
    let mut seen = Vec::new();
    let mut came = false;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                seen.extend_from_slice(&chunk);
                if String::from_utf8_lossy(&seen).contains(want) {
                    came = true;
                    break;
                }
            }
            Err(_) => break,
        }
    }
    end();
    let _ = child.wait();
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        seen.extend_from_slice(&chunk);
    }
    drop(keep_open);
    (String::from_utf8_lossy(&seen).into_owned(), came)
}

#[test]
fn terminals_attach_import_and_quiet_build() {
    if !have_root("terminals_attach_import_and_quiet_build")
        || docker_cli("terminals_attach_import_and_quiet_build").is_none()
    {
        return;
    }
    let root = TestRoot::new("api-tty");
    let d = ApiDaemon::start(root.path());
    let p = std::process::id();
    let exe = env!("CARGO_BIN_EXE_glassbox");
    let docker = format!(
        "env DOCKER_CONFIG={} docker -H {}",
        root.path().join("docker-config").display(),
        d.host()
    );
    // The terminal's size is the pty's from its first instruction on:
    // `stty size` as the command (it failed before, set only after the start).
    let out = on_a_terminal(
        &format!(
            "{exe} --root {} run -it --rm --network none busybox stty size",
            root.path().display()
        ),
        33,
        91,
    );
    assert!(out.contains("33 91"), "glassbox run -it: {out:?}");
    let out = on_a_terminal(
        &format!("{docker} run -it --rm --network none busybox stty size"),
        33,
        91,
    );
    assert!(
        out.contains("33 91"),
        "docker run -it (HostConfig.ConsoleSize): {out:?}"
    );
    // docker attach to a running container finds its shim's socket (the
    // CLI's copy of the server no longer unlinks it), output and resize.
    let name = format!("tty{p}");
    d.docker_ok(&[
        "run",
        "-dit",
        "--name",
        &name,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "while true; do echo tick; usleep 300000; done",
    ]);
    let out = on_a_terminal(&format!("{docker} exec -it {name} stty size"), 40, 100);
    assert!(out.contains("40 100"), "docker exec -it: {out:?}");
    // The attach ends when the container does (`rm -f` once a tick came,
    // however long a busy machine took); docker's CLI catches SIGTERM while
    // attached to a tty (as with dockerd), so the backstop is SIGKILL.
    // `--foreground`: without it timeout moves itself and docker into a
    // process group of their own, in the terminal's background, and the
    // kernel stops docker (SIGTTOU) when it puts the terminal in raw mode:
    // no output, ever (CI's shell forks the command; the tests' shell is
    // now always dash, see spawn_on_a_terminal).
    let mut before_end = String::new();
    let (out, came) = on_a_terminal_until(
        &format!("timeout --foreground -s KILL 60 {docker} attach {name}"),
        24,
        80,
        "tick",
        Duration::from_secs(30),
        || {
            before_end = format!(
                "the container's log: {:?}; its record: {}",
                String::from_utf8_lossy(&root.glassbox(&["logs", &name]).stdout),
                String::from_utf8_lossy(&root.glassbox(&["ps", "-a", "--no-trunc"]).stdout)
            );
            d.docker_ok(&["rm", "-f", &name]);
        },
    );
    assert!(
        came,
        "docker attach showed no tick in 30 s: {out:?}; {before_end}"
    );
    assert!(!out.contains("failed to resize"), "{out:?}");

    // docker build -q: only the image ID on stdout.
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo quiet\n").unwrap();
    let out = d.docker_ok(&[
        "build",
        "-q",
        "-t",
        &format!("q{p}:1"),
        ctx.to_str().unwrap(),
    ]);
    let id = root.inspect(&format!("q{p}:1"))["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(out, format!("{id}\n"));

    // docker import and glassbox import: a root filesystem tar (gzip'd too)
    // becomes an image of one layer, without a command.
    let ex = format!("ex{p}");
    root.ok(&["run", "--name", &ex, "--network", "none", "busybox", "true"]);
    let tar = root.path().join("rootfs.tar");
    root.ok(&["export", "-o", tar.to_str().unwrap(), &ex]);
    let imported = d.docker_ok(&["import", tar.to_str().unwrap(), &format!("imp{p}:1")]);
    assert!(imported.starts_with("sha256:"), "{imported}");
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("imp{p}:1"),
            "echo",
            "imported"
        ]),
        "imported\n"
    );
    let out = d.docker(&["run", "--rm", "--network", "none", &format!("imp{p}:1")]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        err_text(&out).contains("No command specified"),
        "{}",
        err_text(&out)
    );
    let history = d.docker_ok(&["history", "--format", "{{.Comment}}", &format!("imp{p}:1")]);
    assert_eq!(history, "Imported from -\n");
    let gz = root.path().join("rootfs.tar.gz");
    assert!(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -c {} > {}", tar.display(), gz.display()))
            .status()
            .unwrap()
            .success()
    );
    let mut cmd = root.cmd(&["import", "-", &format!("impgz{p}:1")]);
    cmd.stdin(std::fs::File::open(&gz).unwrap());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", err_text(&out));
    // The same files: the same layer, whichever way it came.
    assert_eq!(
        root.inspect(&format!("impgz{p}:1"))["RootFS"],
        root.inspect(&format!("imp{p}:1"))["RootFS"]
    );
    root.ok(&["rm", &ex]);
    root.ok(&[
        "rmi",
        &format!("imp{p}:1"),
        &format!("impgz{p}:1"),
        &format!("q{p}:1"),
    ]);
}
