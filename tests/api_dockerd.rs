//! glassbox beside a real Docker Engine.
//!
//! The test starts a `dockerd` of its own: data root, exec root, pidfile,
//! socket and config file under a `glassbox-dockerd-PID` temp dir, its own
//! bridge (`gbdkPID`, made by the test: dockerd wants a bridge it did not
//! name made for it), cgroups under `/glassbox-dockerd-PID`, iptables on as
//! by default (its DOCKER chains go in) and `--ip-forward=false`. A
//! `glassbox daemon` and that dockerd get the same busybox root filesystem
//! (`docker import` of a glassbox export) and the same requests: the status
//! codes, the JSON key sets and the docker CLI's exit codes and output are
//! compared. Then glassbox's bridge, NAT and a published port are used while
//! dockerd's chains are in place, the FORWARD policy is DROP (what dockerd
//! sets where it turns forwarding on) and bridged traffic goes through
//! iptables (br_netfilter). Afterwards everything dockerd made is removed
//! (its chains and rules, the bridge, its cgroups, /etc/docker/key.json, its
//! mounts) and the policy restored: the host is as the test found it.
//!
//! Where `GLASSBOX_TEST_DOCKERD=unix://PATH` names a running dockerd (`.ci/run`
//! starts one for the whole suite, with its data root, socket and pidfile
//! under /tmp), the test uses that one instead and removes only what it made
//! there. `.ci/run` installs docker.io, which brings dockerd; with CI=true
//! and neither, the test fails; elsewhere it skips, saying so.

mod api_util;
mod common;

use api_util::{ApiDaemon, docker_cli, err_text, raw_request, text};
use common::{TestRoot, have_root};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// dockerd on PATH; its absence fails CI and skips elsewhere.
fn dockerd_binary(test: &str) -> Option<PathBuf> {
    let found = [
        "/usr/sbin/dockerd",
        "/usr/bin/dockerd",
        "/usr/local/bin/dockerd",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{test} needs dockerd, and CI must run it: .ci/run installs docker.io");
        }
        eprintln!("SKIPPED {test}: no dockerd (apt-get install docker.io)");
    }
    found
}

fn sh(cmd: &str) -> Output {
    Command::new("sh").arg("-c").arg(cmd).output().unwrap()
}

/// `(table, rule)` or `(table, chain)` pairs of `iptables-save`.
type Pairs = Vec<(String, String)>;

/// `iptables-save`'s rules (`(table, rule)`) and chains (`(table, chain)`).
fn iptables_state() -> (Pairs, Pairs) {
    let out = Command::new("iptables-save").output().unwrap();
    let mut table = String::new();
    let (mut rules, mut chains) = (Vec::new(), Vec::new());
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(t) = l.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(c) = l.strip_prefix(':') {
            chains.push((table.clone(), c.split(' ').next().unwrap_or("").to_string()));
        } else if let Some(r) = l.strip_prefix("-A ") {
            rules.push((table.clone(), r.to_string()));
        }
    }
    (rules, chains)
}

/// The lines of `iptables-save` that name docker's objects.
fn docker_rules() -> Vec<String> {
    let out = Command::new("iptables-save").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("DOCKER") || l.contains("gbdk"))
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            // Packet counters move; the rule is the same.
            match l.split_once(" [") {
                Some((a, _)) if l.starts_with(':') => a.to_string(),
                _ => l.to_string(),
            }
        })
        .collect()
}

/// A dockerd of the test's own, removed with all it made when dropped; or
/// the one `GLASSBOX_TEST_DOCKERD` names, left as it was found.
struct Dockerd {
    /// The test started it (and takes it down).
    owned: bool,
    child: Option<Child>,
    dir: PathBuf,
    socket: PathBuf,
    config: PathBuf,
    bridge: String,
    cgroup_parent: String,
    rules_before: (Pairs, Pairs),
    key_json_existed: bool,
}

impl Dockerd {
    fn start(exe: &Path) -> Dockerd {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("glassbox-dockerd-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("cli")).unwrap();
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        let bridge = format!("gbdk{}", pid % 100_000);
        let mut d = Dockerd {
            owned: true,
            child: None,
            socket: dir.join("docker.sock"),
            config: dir.join("cli"),
            dir: dir.clone(),
            bridge: bridge.clone(),
            cgroup_parent: format!("glassbox-dockerd-{pid}"),
            rules_before: iptables_state(),
            key_json_existed: Path::new("/etc/docker/key.json").exists(),
        };
        // dockerd's bridge, on a /24 of its own (glassbox's is 172.29.0.0/16).
        let made = sh(&format!(
            "ip link add {bridge} type bridge && ip addr add 172.30.251.1/24 dev {bridge} && ip link set {bridge} up"
        ));
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new(exe)
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.socket.display()))
            .arg("--bridge")
            .arg(&bridge)
            .arg("--ip-forward=false")
            .arg("--cgroup-parent")
            .arg(format!("/{}", d.cgroup_parent))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        d.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if d.docker(&["version"]).status.success() {
                return d;
            }
            if Instant::now() > deadline {
                panic!(
                    "dockerd did not answer within 60 s:\n{}",
                    std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The running dockerd at `host` (`unix://PATH`): the test uses it and
    /// removes only what it made.
    fn given(host: &str) -> Dockerd {
        let socket = PathBuf::from(
            host.strip_prefix("unix://")
                .unwrap_or_else(|| panic!("GLASSBOX_TEST_DOCKERD={host}: expected unix://PATH")),
        );
        let dir = std::env::temp_dir().join(format!("glassbox-dockerd-cli-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("cli")).unwrap();
        let d = Dockerd {
            owned: false,
            child: None,
            socket,
            config: dir.join("cli"),
            dir,
            bridge: String::new(),
            cgroup_parent: String::new(),
            rules_before: iptables_state(),
            key_json_existed: true,
        };
        let v = d.docker(&["version"]);
        assert!(
            v.status.success(),
            "GLASSBOX_TEST_DOCKERD={host} does not answer: {}",
            err_text(&v)
        );
        d
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_CONFIG", &self.config)
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args).output().unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if !self.owned {
            // Not ours: only the image the test imported goes.
            let _ = self.docker(&["rmi", "diffbox:1"]);
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        // Its containers first, then dockerd (which stops its containerd).
        let ids = text(&self.docker(&["ps", "-aq"]));
        for id in ids.split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // A containerd that outlived it (its pidfile is under exec-root).
        if let Ok(p) = std::fs::read_to_string(self.dir.join("exec/containerd/containerd.pid"))
            && let Ok(pid) = p.trim().parse::<i32>()
            && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains(&self.dir.display().to_string()))
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        // dockerd leaves its chains and rules when it stops: take out those
        // that were not there before it started. Only docker's (its chains,
        // its bridge, its subnet): glassbox's rules of tests running beside
        // this one come and go meanwhile and are theirs.
        let dockers =
            |r: &str| r.contains("DOCKER") || r.contains(&self.bridge) || r.contains("172.30.251.");
        let (rules, chains) = iptables_state();
        for (t, r) in rules
            .iter()
            .filter(|x| !self.rules_before.0.contains(x) && dockers(&x.1))
        {
            let _ = sh(&format!("iptables -t {t} -D {r}"));
        }
        for (t, c) in chains
            .iter()
            .filter(|x| !self.rules_before.1.contains(x) && x.1.starts_with("DOCKER"))
        {
            let _ = Command::new("iptables").args(["-t", t, "-X", c]).output();
        }
        let _ = sh(&format!("ip link del {}", self.bridge));
        // Its cgroups, deepest first, in every hierarchy.
        let _ = sh(&format!(
            "find /sys/fs/cgroup -depth -type d -name '{}' -exec rmdir {{}} \\;",
            self.cgroup_parent
        ));
        if !self.key_json_existed {
            let _ = std::fs::remove_file("/etc/docker/key.json");
        }
        // Mounts it left under its directories (deepest first), then the files.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&self.dir.display().to_string()))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Restores the FORWARD policy and the bridge's iptables switch when dropped.
struct ForwardPolicy {
    policy: String,
    nf_call: Option<String>,
}

const NF_CALL: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

impl ForwardPolicy {
    /// FORWARD DROP and bridged traffic through iptables, as a host with
    /// docker has them.
    fn drop_like_docker() -> ForwardPolicy {
        let rules = String::from_utf8_lossy(&sh("iptables -S FORWARD").stdout).into_owned();
        let policy = rules
            .lines()
            .find_map(|l| l.strip_prefix("-P FORWARD "))
            .unwrap_or("ACCEPT")
            .trim()
            .to_string();
        let nf_call = std::fs::read_to_string(NF_CALL).ok();
        assert!(
            nf_call.is_some(),
            "no {NF_CALL}: this kernel has no br_netfilter (modprobe br_netfilter), which dockerd loads"
        );
        let _ = std::fs::write(NF_CALL, "1");
        assert!(sh("iptables -P FORWARD DROP").status.success());
        ForwardPolicy { policy, nf_call }
    }
}

impl Drop for ForwardPolicy {
    fn drop(&mut self) {
        let _ = sh(&format!("iptables -P FORWARD {}", self.policy));
        if let Some(v) = &self.nf_call {
            let _ = std::fs::write(NF_CALL, v.trim());
        }
    }
}

/// Keys glassbox sends (API 1.43) that dockerd 20.10 (API 1.41) leaves
/// out and later dockerd sends: not glassbox's inventions.
const NEWER_KEYS: [&str; 2] = ["DefaultAddressPools", "ProductLicense"];

/// glassbox's own additions, for the lab: a container's `Glassbox`
/// section (bundle, cgroup, journal, trace) and an image's `History` (the
/// config's history, which dockerd shows through /images/NAME/history only).
const OURS: [&str; 2] = ["Glassbox", "History"];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// One request to both daemons: (glassbox's status and body, dockerd's).
fn both(
    gb: &Path,
    dk: &Path,
    method: &str,
    target: &str,
    body: Option<&Value>,
) -> ((u16, Value), (u16, Value)) {
    let b = body.map(|v| v.to_string().into_bytes());
    let one = |s: &Path| {
        let (code, _, data) = raw_request(s, method, target, b.as_deref());
        (code, serde_json::from_slice(&data).unwrap_or(Value::Null))
    };
    (one(gb), one(dk))
}

#[test]
fn glassbox_and_dockerd_side_by_side() {
    let test = "glassbox_and_dockerd_side_by_side";
    if !have_root(test) || docker_cli(test).is_none() {
        return;
    }
    let given = std::env::var("GLASSBOX_TEST_DOCKERD").ok();
    let exe = match &given {
        Some(_) => None,
        None => match dockerd_binary(test) {
            Some(exe) => Some(exe),
            None => return,
        },
    };
    let root = TestRoot::new("api-dockerd");
    let gb = ApiDaemon::start(root.path());
    let p = std::process::id();

    // The same root filesystem for both: glassbox's busybox, exported.
    let rootfs = root.path().join("rootfs.tar");
    let ex = format!("dex{p}");
    root.ok(&["run", "--name", &ex, "--network", "none", "busybox", "true"]);
    root.ok(&["export", "-o", rootfs.to_str().unwrap(), &ex]);
    root.ok(&["rm", &ex]);
    let dk = match (&given, &exe) {
        (Some(host), _) => Dockerd::given(host),
        (None, Some(exe)) => Dockerd::start(exe),
        (None, None) => unreachable!("no dockerd returned above"),
    };
    let rootfs = rootfs.to_str().unwrap();
    for (who, out) in [
        ("glassbox", gb.docker(&["import", rootfs, "diffbox:1"])),
        ("dockerd", dk.docker(&["import", rootfs, "diffbox:1"])),
    ] {
        assert!(out.status.success(), "{who} import: {}", err_text(&out));
        assert!(text(&out).starts_with("sha256:"), "{who}: {}", text(&out));
    }
    // The same layer: the same diff_id on both sides.
    let layer = |out: Output| text(&out).trim().to_string();
    assert_eq!(
        layer(gb.docker(&["inspect", "-f", "{{json .RootFS.Layers}}", "diffbox:1"])),
        layer(dk.docker(&["inspect", "-f", "{{json .RootFS.Layers}}", "diffbox:1"]))
    );

    // The docker CLI against both: exit codes, and output where it is the
    // process's own (not an ID or a time).
    let run = |extra: &[&str]| {
        let mut v = vec!["run", "--rm", "--network", "none"];
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, bool)> = vec![
        (
            run(&["diffbox:1", "sh", "-c", "echo hi; echo err >&2; exit 3"]),
            true,
        ),
        (run(&["diffbox:1", "no-such-command"]), false),
        (run(&["diffbox:1", "/etc"]), false),
        (run(&["diffbox:1"]), false),
        (run(&["diffbox:1", "sh", "-c", "id; echo $HOME; pwd"]), true),
        (
            run(&["-u", "1000:1000", "diffbox:1", "sh", "-c", "id; echo $HOME"]),
            true,
        ),
        (
            run(&["-u", "nobody", "diffbox:1", "sh", "-c", "id -u; echo $HOME"]),
            true,
        ),
        (
            run(&[
                "-w",
                "/made/here",
                "diffbox:1",
                "sh",
                "-c",
                "pwd; stat -c '%a %u' /made /made/here",
            ]),
            true,
        ),
        (
            run(&[
                "-e",
                "GREETING=hi",
                "diffbox:1",
                "sh",
                "-c",
                "env | grep -v HOSTNAME | sort",
            ]),
            true,
        ),
        (
            run(&[
                "--cap-drop",
                "ALL",
                "--cap-add",
                "NET_ADMIN",
                "diffbox:1",
                "grep",
                "-E",
                "Cap(Prm|Eff|Bnd)",
                "/proc/self/status",
            ]),
            true,
        ),
        (run(&["--cap-add", "FLY", "diffbox:1", "true"]), false),
        (
            run(&[
                "--tmpfs",
                "/t:size=1m,mode=1770",
                "diffbox:1",
                "sh",
                "-c",
                "grep ' /t ' /proc/mounts",
            ]),
            true,
        ),
        (run(&["--read-only", "diffbox:1", "touch", "/x"]), false),
        (
            run(&[
                "diffbox:1",
                "sh",
                "-c",
                "cat /proc/1/cmdline | tr '\\0' ' '; hostname | wc -c",
            ]),
            true,
        ),
        (vec!["inspect".into(), "no-such-thing".into()], false),
        (vec!["logs".into(), "no-such-thing".into()], false),
        (vec!["rm".into(), "no-such-thing".into()], false),
        (vec!["stop".into(), "no-such-thing".into()], false),
        (vec!["start".into(), "no-such-thing".into()], false),
        (
            vec!["exec".into(), "no-such-thing".into(), "true".into()],
            false,
        ),
        (vec!["rmi".into(), "no-such-image:1".into()], false),
    ];
    let mut differences = Vec::new();
    for (args, same_output) in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (g, d) = (gb.docker(&a), dk.docker(&a));
        assert_eq!(
            g.status.code(),
            d.status.code(),
            "docker {a:?}: glassbox {:?} ({}), dockerd {:?} ({})",
            g.status.code(),
            err_text(&g).trim(),
            d.status.code(),
            err_text(&d).trim()
        );
        if *same_output {
            assert_eq!(text(&g), text(&d), "stdout of docker {a:?}");
        }
        if err_text(&g).lines().last() != err_text(&d).lines().last() {
            differences.push(format!(
                "docker {}: glassbox says {:?}, dockerd {:?}",
                a.join(" "),
                err_text(&g).lines().next().unwrap_or(""),
                err_text(&d).lines().next().unwrap_or("")
            ));
        }
    }

    // A running container through both: exec, cp, attach, stop, the name in use.
    let name = format!("side{p}");
    let start = |who: &dyn Fn(&[&str]) -> Output| {
        let out = who(&[
            "run",
            "-d",
            "-t",
            "--name",
            &name,
            "--network",
            "none",
            "diffbox:1",
            "sh",
            "-c",
            "while true; do echo tick; sleep 1; done",
        ]);
        assert!(out.status.success(), "{}", err_text(&out));
    };
    let g = |a: &[&str]| gb.docker(a);
    let d = |a: &[&str]| dk.docker(a);
    start(&g);
    start(&d);
    let pair = |a: &[&str]| (g(a), d(a));
    for a in [
        vec!["exec", name.as_str(), "sh", "-c", "exit 4"],
        vec![
            "exec",
            "-u",
            "1000",
            name.as_str(),
            "sh",
            "-c",
            "echo $HOME; id -u",
        ],
        vec!["exec", "-w", "/tmp", name.as_str(), "pwd"],
        vec!["exec", "-e", "X=1", name.as_str(), "sh", "-c", "echo $X"],
        vec!["create", "--name", name.as_str(), "diffbox:1", "true"],
        vec!["rm", name.as_str()],
        vec!["pause", name.as_str()],
        vec!["unpause", name.as_str()],
        vec!["unpause", name.as_str()],
    ] {
        let (x, y) = pair(&a);
        assert_eq!(
            x.status.code(),
            y.status.code(),
            "docker {a:?}: glassbox {} / dockerd {}",
            err_text(&x),
            err_text(&y)
        );
        if a[0] == "exec" {
            assert_eq!(text(&x), text(&y), "docker {a:?}");
        }
    }
    // exec of a missing program: dockerd 20.10 answers 126 (its exec path
    // sets 126 for every start error), newer dockerd and glassbox 127, as
    // `run` does on both: listed, not asserted.
    let (x, y) = pair(&["exec", name.as_str(), "no-such-command"]);
    if x.status.code() != y.status.code() {
        differences.push(format!(
            "docker exec of a missing program: glassbox exits {:?}, dockerd {:?}",
            x.status.code(),
            y.status.code()
        ));
    }
    // docker attach to a running terminal container: its output arrives.
    for (who, cmd) in [
        ("glassbox", gb.docker_cmd(&["attach", "--no-stdin", &name])),
        ("dockerd", dk.docker_cmd(&["attach", "--no-stdin", &name])),
    ] {
        let mut cmd = cmd;
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("tick") {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(got);
        });
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            String::from_utf8_lossy(&got).contains("tick"),
            "{who}: docker attach gave {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    for a in [
        vec!["stop", "-t", "1", name.as_str()],
        vec!["rm", name.as_str()],
    ] {
        let (x, y) = pair(&a);
        assert_eq!(x.status.code(), y.status.code(), "docker {a:?}");
    }

    // The API: status codes and JSON key sets, at dockerd's version (1.41).
    let (gs, ds) = (gb.socket.as_path(), dk.socket.as_path());
    let v = "/v1.41";
    let mut report = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut compare = |what: &str, g: &Value, d: &Value, equal: bool| {
        let (gk, dk) = (keys(g), keys(d));
        let extra: Vec<&String> = gk
            .difference(&dk)
            .filter(|k| !NEWER_KEYS.contains(&k.as_str()) && !OURS.contains(&k.as_str()))
            .collect();
        let missing: Vec<&String> = dk.difference(&gk).collect();
        // No key dockerd does not know (but glassbox's own, and what later
        // API versions added).
        if !extra.is_empty() {
            failures.push(format!("{what}: keys dockerd does not send: {extra:?}"));
        }
        if equal && !missing.is_empty() {
            failures.push(format!("{what}: glassbox lacks {missing:?}"));
        } else if !missing.is_empty() {
            report.push(format!("{what}: glassbox lacks {missing:?}"));
        }
    };
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/version"), None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /version", &gj, &dj, true);
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/info"), None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /info", &gj, &dj, false);

    let body = json!({"Image": "diffbox:1", "Cmd": ["sh", "-c", "echo hi; exit 3"], "HostConfig": {"NetworkMode": "none"}});
    let api = format!("api{p}");
    let create = format!("{v}/containers/create?name={api}");
    let ((g1, gj), (d1, dj)) = both(gs, ds, "POST", &create, Some(&body));
    assert_eq!((g1, d1), (201, 201), "{gj} {dj}");
    compare("POST /containers/create", &gj, &dj, true);
    for (what, target, b, want) in [
        (
            "create, name in use",
            create.clone(),
            Some(body.clone()),
            409,
        ),
        (
            "create, no such image",
            format!("{v}/containers/create"),
            Some(json!({"Image": "nosuch:1", "Cmd": ["true"]})),
            404,
        ),
        (
            "create, unknown capability",
            format!("{v}/containers/create"),
            Some(json!({"Image": "diffbox:1", "Cmd": ["true"], "HostConfig": {"CapAdd": ["FOO"]}})),
            400,
        ),
        (
            "create, no command",
            format!("{v}/containers/create"),
            Some(json!({"Image": "diffbox:1"})),
            400,
        ),
    ] {
        let ((g1, gj), (d1, dj)) = both(gs, ds, "POST", &target, b.as_ref());
        assert_eq!((g1, d1), (want, want), "{what}: {gj} / {dj}");
        compare(what, &gj, &dj, true);
    }
    let inspect = format!("{v}/containers/{api}/json");
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &inspect, None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /containers/ID/json", &gj, &dj, false);
    compare("inspect State", &gj["State"], &dj["State"], true);
    compare("inspect Config", &gj["Config"], &dj["Config"], true);
    compare(
        "inspect HostConfig",
        &gj["HostConfig"],
        &dj["HostConfig"],
        false,
    );
    compare(
        "inspect NetworkSettings",
        &gj["NetworkSettings"],
        &dj["NetworkSettings"],
        false,
    );
    compare(
        "inspect GraphDriver",
        &gj["GraphDriver"],
        &dj["GraphDriver"],
        true,
    );
    let ((g1, _), (d1, _)) = both(gs, ds, "POST", &format!("{v}/containers/{api}/start"), None);
    assert_eq!((g1, d1), (204, 204));
    let ((g1, gj), (d1, dj)) = both(gs, ds, "POST", &format!("{v}/containers/{api}/wait"), None);
    assert_eq!((g1, d1), (200, 200));
    assert_eq!(
        (&gj["StatusCode"], &dj["StatusCode"]),
        (&json!(3), &json!(3))
    );
    compare("POST /containers/ID/wait", &gj, &dj, true);
    let ((g1, _), (d1, _)) = both(gs, ds, "POST", &format!("{v}/containers/{api}/stop"), None);
    assert_eq!((g1, d1), (304, 304));
    let ((g1, gj), (d1, dj)) = both(
        gs,
        ds,
        "GET",
        &format!("{v}/containers/json?all=1&filters=%7B%22name%22%3A%5B%22{api}%22%5D%7D"),
        None,
    );
    assert_eq!((g1, d1), (200, 200));
    compare("GET /containers/json entry", &gj[0], &dj[0], true);
    let ((g1, gj), (d1, dj)) = both(
        gs,
        ds,
        "GET",
        &format!("{v}/containers/json?filters=%7B%22status%22%3A%5B%22bogus%22%5D%7D"),
        None,
    );
    assert_eq!((g1, d1), (400, 400), "{gj} {dj}");
    for (method, target, want) in [
        ("GET", format!("{v}/containers/no-such/json"), 404),
        ("DELETE", format!("{v}/containers/{api}"), 204),
        ("DELETE", format!("{v}/containers/{api}"), 404),
        ("GET", format!("{v}/images/no-such:1/json"), 404),
        ("GET", format!("{v}/_ping"), 200),
    ] {
        let ((g1, gj), (d1, dj)) = both(gs, ds, method, &target, None);
        assert_eq!((g1, d1), (want, want), "{method} {target}: {gj} / {dj}");
        if want >= 400 {
            compare(&format!("{method} {target}"), &gj, &dj, true);
        }
    }
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/images/json"), None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /images/json entry", &gj[0], &dj[0], true);
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/images/diffbox:1/json"), None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /images/NAME/json", &gj, &dj, false);
    compare("image RootFS", &gj["RootFS"], &dj["RootFS"], true);
    let ((g1, gj), (d1, dj)) = both(
        gs,
        ds,
        "GET",
        &format!("{v}/images/diffbox:1/history"),
        None,
    );
    assert_eq!((g1, d1), (200, 200));
    compare("GET /images/NAME/history entry", &gj[0], &dj[0], true);
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/volumes"), None);
    assert_eq!((g1, d1), (200, 200));
    compare("GET /volumes", &gj, &dj, true);
    let ((g1, gj), (d1, dj)) = both(gs, ds, "GET", &format!("{v}/networks"), None);
    assert_eq!((g1, d1), (200, 200));
    let names = |j: &Value| -> BTreeSet<String> {
        j.as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["Name"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(names(&gj), names(&dj));
    compare("GET /networks entry", &gj[0], &dj[0], false);
    // exec through the API: create, start detached, inspect.
    let exec_box = format!("apiexec{p}");
    for s in [gs, ds] {
        let (c, _, _) = raw_request(s, "POST", &format!("{v}/containers/create?name={exec_box}"), Some(json!({"Image": "diffbox:1", "Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": "none"}}).to_string().as_bytes()));
        assert_eq!(c, 201);
        let (c, _, _) = raw_request(s, "POST", &format!("{v}/containers/{exec_box}/start"), None);
        assert_eq!(c, 204);
    }
    let ((g1, gj), (d1, dj)) = both(
        gs,
        ds,
        "POST",
        &format!("{v}/containers/{exec_box}/exec"),
        Some(&json!({"Cmd": ["sh", "-c", "exit 4"]})),
    );
    assert_eq!((g1, d1), (201, 201));
    compare("POST /containers/ID/exec", &gj, &dj, true);
    let (gid, did) = (
        gj["Id"].as_str().unwrap().to_string(),
        dj["Id"].as_str().unwrap().to_string(),
    );
    let start_exec = |s: &Path, id: &str| {
        raw_request(
            s,
            "POST",
            &format!("{v}/exec/{id}/start"),
            Some(br#"{"Detach": true}"#),
        )
        .0
    };
    assert_eq!((start_exec(gs, &gid), start_exec(ds, &did)), (200, 200));
    std::thread::sleep(Duration::from_millis(800));
    let ge = serde_json::from_slice::<Value>(
        &raw_request(gs, "GET", &format!("{v}/exec/{gid}/json"), None).2,
    )
    .unwrap();
    let de = serde_json::from_slice::<Value>(
        &raw_request(ds, "GET", &format!("{v}/exec/{did}/json"), None).2,
    )
    .unwrap();
    assert_eq!((&ge["ExitCode"], &de["ExitCode"]), (&json!(4), &json!(4)));
    compare("GET /exec/ID/json", &ge, &de, false);
    for s in [gs, ds] {
        let (c, _, _) = raw_request(
            s,
            "DELETE",
            &format!("{v}/containers/{exec_box}?force=1"),
            None,
        );
        assert_eq!(c, 204);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("what still differs from dockerd 20.10 (API 1.41):");
    for line in report.iter().chain(&differences) {
        eprintln!("  {line}");
    }

    // glassbox's bridge, NAT and a published port while dockerd's chains
    // are in and the FORWARD policy is DROP, bridged traffic through iptables.
    let docker_before = docker_rules();
    assert!(
        docker_before.iter().any(|l| l.contains("-j DOCKER-USER")),
        "dockerd's chains are not in place: {docker_before:?}"
    );
    {
        let _policy = ForwardPolicy::drop_like_docker();
        let web = format!("dweb{p}");
        let client = format!("dcli{p}");
        root.ok(&[
            "run",
            "-d",
            "--name",
            &web,
            "-p",
            "127.0.0.1:29410:80",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo beside-docker > /www/index.html && httpd -f -p 80 -h /www",
        ]);
        let ip = root.inspect(&web)["NetworkSettings"]["IPAddress"]
            .as_str()
            .unwrap()
            .to_string();
        // The published port, from the host (DNAT in OUTPUT).
        let deadline = Instant::now() + Duration::from_secs(10);
        let page = loop {
            use std::io::{Read, Write};
            let got = std::net::TcpStream::connect("127.0.0.1:29410").and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
                let mut b = String::new();
                s.read_to_string(&mut b)?;
                Ok(b)
            });
            match got {
                Ok(b) if b.contains("beside-docker") => break b,
                _ if Instant::now() > deadline => {
                    panic!("no page on 29410 beside dockerd: {got:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        // Container to container across glassbox0 (bridged: through FORWARD).
        let out = root.ok(&[
            "run",
            "--rm",
            "--name",
            &client,
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{ip}/"),
        ]);
        assert_eq!(out, "beside-docker\n");
        root.ok(&["rm", "-f", &web]);
    }
    // glassbox touched none of docker's objects.
    assert_eq!(docker_rules(), docker_before);
    drop(dk);
    gb.docker_ok(&["rmi", "diffbox:1"]);
}
