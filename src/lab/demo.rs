//! Demo actions: what Enter, `t`, `c` and `r` do in the lab.
//!
//! Every container action runs the real glassbox binary
//! (`std::env::current_exe()`) with docker's verb and flags, against the lab's
//! data root: exactly what a student could type, and nothing the lab could
//! fake. Output streams back line by line, each stamped with the time it
//! arrived (the build panel's step times come from those stamps). A verb or
//! flag this glassbox does not have yet is reported in one line, and the step
//! fails visibly; so is a program the container's image lacks, before the
//! step runs ([`super::tools`]), and an exit 127 ("not found") never passes
//! for the failure a step expects.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::lesson::{Action, ActionKind};
use super::tools;

/// What kind of line the output box shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The command as typed (`$ glassbox run …`).
    Command,
    Out,
    Err,
    /// The action succeeded (or failed as the lesson expected).
    Ok,
    /// The action failed; the step stops here.
    Fail,
    /// A remark of the lab's own.
    Note,
}

/// One line of demo output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub kind: LineKind,
    pub text: String,
}

impl LogLine {
    /// A line; tabs become spaces (a terminal cell cannot hold a tab).
    pub fn new(kind: LineKind, text: impl Into<String>) -> LogLine {
        let text: String = text.into();
        LogLine {
            kind,
            text: if text.contains('\t') {
                text.replace('\t', "    ")
            } else {
                text
            },
        }
    }
}

/// One step of a build, as the builder printed it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStep {
    /// The instruction (`RUN sleep 2 && …`).
    pub instruction: String,
    /// The builder said it reused the cache for this step.
    pub cached: bool,
    /// From this step's line to the next one's (or the end), in ms.
    pub ms: f64,
}

/// One build, for the build panel.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRun {
    pub tag: String,
    pub steps: Vec<BuildStep>,
    pub total_ms: f64,
    pub ok: bool,
}

/// The output of "try it yourself": each command with its output, per side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TryOutput {
    pub host: Vec<LogLine>,
    pub inside: Vec<LogLine>,
}

/// What a demo job reports back to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoEvent {
    Line(LogLine),
    /// A `run` action started (or ran) a container with this name.
    Started(String),
    /// A plain process took this long from spawn to exit.
    PlainMs(f64),
    /// Starts timed just now (topic 7's `starts`): a program with no C
    /// library, a plain process, the kernel's floor, glassbox, and crun and
    /// runc where installed.
    Starts(Vec<super::starts::StartTime>),
    Build(BuildRun),
    Try(TryOutput),
    /// The job is over.
    Done {
        ok: bool,
    },
}

/// One "try it yourself" run: the step's commands and where they run.
#[derive(Debug, Clone, Copy)]
pub struct TryJob<'a> {
    pub host: &'a [String],
    pub inside: &'a [String],
    /// The focused container, for the inside commands.
    pub focus: Option<&'a str>,
    /// Its host PID (`$PID`).
    pub pid: Option<u32>,
    /// The columns the host output is shown in (`$COLUMNS`).
    pub columns: u16,
}

/// Runs demo actions against one data root.
#[derive(Debug, Clone)]
pub struct DemoRunner {
    /// The glassbox binary.
    pub exe: PathBuf,
    /// The data root, passed as `--root`.
    pub root: PathBuf,
    /// The directory that holds `assets/` (the lessons directory's parent).
    pub base: PathBuf,
    pub is_root: bool,
}

/// How many times the `starts` action starts each contestant.
pub const STARTS_ROUNDS: usize = 5;

/// The exit code of a command that was not found: the runtime's when execve
/// finds no such file, the shell's for `sh: NAME: not found`.
pub const NOT_FOUND: i32 = 127;

/// The one line shown when a demo needs root.
pub const NEEDS_ROOT: &str =
    "demos start real containers, which needs root: quit (q) and run `sudo glassbox lab`";

impl DemoRunner {
    fn glassbox(&self) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--root").arg(&self.root);
        c.stdin(Stdio::null());
        c
    }

    /// Runs a step's actions in order; stops at the first unexpected failure.
    /// A step that runs a program its container's image lacks does not run
    /// at all: the lab says which program, and how to get it.
    pub fn run_actions(&self, actions: &[Action], emit: &mut dyn FnMut(DemoEvent)) {
        let ok = self.run_actions_until(actions, emit, &|| false);
        emit(DemoEvent::Done { ok });
    }

    /// Runs the actions in order until one fails or `stop` says so (it is
    /// asked before each action); emits no `Done`. True when all ran and
    /// succeeded.
    pub fn run_actions_until(
        &self,
        actions: &[Action],
        emit: &mut dyn FnMut(DemoEvent),
        stop: &dyn Fn() -> bool,
    ) -> bool {
        if self.is_root
            && let Some((index, missing)) = tools::first_missing(&self.root, actions)
        {
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Command,
                format!("$ {}", actions[index].display()),
            )));
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                missing.to_string(),
            )));
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Note,
                "this step's demo did not run: the shell would only answer `not found` (exit 127)",
            )));
            return false;
        }
        for action in actions {
            if stop() || !self.run_action(action, emit) {
                return false;
            }
        }
        true
    }

    /// Runs one action; false when the step must stop.
    pub fn run_action(&self, action: &Action, emit: &mut dyn FnMut(DemoEvent)) -> bool {
        let verb = action.verb();
        emit(DemoEvent::Line(LogLine::new(
            LineKind::Command,
            format!("$ {}", action.display()),
        )));
        match verb {
            ActionKind::Plain => return self.plain(emit),
            ActionKind::Starts => return self.starts(action, emit),
            ActionKind::Daemon => return self.start_daemon(emit),
            ActionKind::Docker => return self.docker(action, emit),
            ActionKind::Curl => {
                let port = action.port.as_ref().map(|p| *p.get_ref()).unwrap_or(0);
                return match curl(port) {
                    Ok(line) => {
                        emit(DemoEvent::Line(LogLine::new(LineKind::Ok, line)));
                        true
                    }
                    Err(e) => {
                        emit(DemoEvent::Line(LogLine::new(LineKind::Fail, e)));
                        false
                    }
                };
            }
            ActionKind::Run
            | ActionKind::Exec
            | ActionKind::Stop
            | ActionKind::Kill
            | ActionKind::Rm
            | ActionKind::Inspect
            | ActionKind::Logs
            | ActionKind::Top
            | ActionKind::Ps
            | ActionKind::Stats
            | ActionKind::Build
            | ActionKind::History
            | ActionKind::Commit => {}
        }
        if !self.is_root {
            emit(DemoEvent::Line(LogLine::new(LineKind::Fail, NEEDS_ROOT)));
            return false;
        }
        let mut args: Vec<String> = vec![verb.name().to_string()];
        match verb {
            ActionKind::Build => {
                let asset = action
                    .asset
                    .as_ref()
                    .map(|a| a.get_ref().clone())
                    .unwrap_or_default();
                args.push("-t".into());
                args.push(action.tag.clone().unwrap_or_default());
                args.push(self.base.join(asset).display().to_string());
            }
            ActionKind::Commit => {
                args.extend(action.args.iter().cloned());
                args.extend(action.tag.iter().cloned());
            }
            ActionKind::Stats => {
                args.extend(action.args.iter().cloned());
                if !args.iter().any(|a| a == "--no-stream") {
                    args.insert(1, "--no-stream".into());
                }
            }
            _ => args.extend(action.args.iter().cloned()),
        }
        if verb == ActionKind::Run
            && let Some(name) = name_flag(&action.args)
        {
            // A container of this name from an earlier try would block the
            // name: remove it first, as a student re-running the demo would.
            let _ = self.glassbox().args(["rm", "-f", &name]).output();
            emit(DemoEvent::Started(name));
        }
        let started = Instant::now();
        let result = stream(self.glassbox().args(&args), emit);
        let total_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot start {}: {e}", self.exe.display()),
                )));
                false
            }
            Ok(out) => {
                if verb == ActionKind::Build {
                    emit(DemoEvent::Build(BuildRun {
                        tag: action.tag.clone().unwrap_or_default(),
                        steps: parse_build_output(&out.stdout, out.end),
                        total_ms,
                        ok: out.code == Some(0),
                    }));
                }
                self.outcome(action, &out, total_ms, emit)
            }
        }
    }

    /// Reports how a finished command went; false when the step must stop.
    fn outcome(
        &self,
        action: &Action,
        out: &Streamed,
        ms: f64,
        emit: &mut dyn FnMut(DemoEvent),
    ) -> bool {
        let code = out.code.unwrap_or(-1);
        if let Some(missing) = missing_feature(action.verb().name(), code, &out.stderr_text()) {
            emit(DemoEvent::Line(LogLine::new(LineKind::Fail, missing)));
            return false;
        }
        if code == NOT_FOUND {
            // "not found" is never the failure a step demonstrates: the
            // kernel refused nothing, a program was missing.
            let why = tools::first_missing(&self.root, std::slice::from_ref(action))
                .map(|(_, missing)| missing.to_string())
                .unwrap_or_else(|| {
                    "a program this action runs was not found in the container".to_string()
                });
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                format!("exit 127 (not found): {why}; the step stops here"),
            )));
            return false;
        }
        if code != 0
            && action.expect_failure
            && let Some(why) = no_container(&out.stderr_text())
        {
            // Neither is the engine's "no such container": the call the
            // step shows never reached the kernel.
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                format!(
                    "exit {code}: {why}, so the kernel was never asked; an earlier step's Enter starts it (↑); the step stops here"
                ),
            )));
            return false;
        }
        match (code == 0, action.expect_failure) {
            (true, _) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Ok,
                    format!("exit 0 ({ms:.0} ms)"),
                )));
                true
            }
            (false, true) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Ok,
                    format!("exit {code}: failed, as this step expects ({ms:.0} ms)"),
                )));
                true
            }
            (false, false) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("exit {code}: the step stops here"),
                )));
                false
            }
        }
    }

    /// Times starts now, on this machine: a program with no C library, a
    /// plain process, the kernel's floor, `glassbox run --rm`, and crun and
    /// runc (where installed) running the
    /// bundle of the container named in the action's first argument (see
    /// [`super::starts`]). The step fails only when glassbox's start does.
    fn starts(&self, action: &Action, emit: &mut dyn FnMut(DemoEvent)) -> bool {
        let source = action
            .args
            .first()
            .map(String::as_str)
            .unwrap_or("lab-fast");
        match super::starts::measure(&self.exe, &self.root, source, STARTS_ROUNDS) {
            Ok((times, notes)) => {
                for t in &times {
                    emit(DemoEvent::Line(LogLine::new(
                        LineKind::Ok,
                        format!(
                            "{:<14} {:7.2} ms  (median of {}, spawn to exit status)",
                            t.who, t.ms, t.runs
                        ),
                    )));
                }
                for note in notes {
                    emit(DemoEvent::Line(LogLine::new(LineKind::Note, note)));
                }
                let ok = times.iter().any(|t| t.who == "glassbox");
                if !ok {
                    emit(DemoEvent::Line(LogLine::new(
                        LineKind::Fail,
                        "glassbox's own start was not measured: the step stops here",
                    )));
                }
                emit(DemoEvent::Starts(times));
                ok
            }
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(LineKind::Fail, e)));
                false
            }
        }
    }

    /// The socket the lab's daemon listens on, in its data root.
    pub fn daemon_socket(&self) -> PathBuf {
        self.root.join(super::lesson::DAEMON_SOCKET)
    }

    /// The lab's daemon's pid file, beside its socket.
    fn daemon_pidfile(&self) -> PathBuf {
        self.root.join("lab-daemon.pid")
    }

    /// Action `daemon`: `glassbox daemon --host unix://SOCKET` in the
    /// background (its own process group, output to `lab-daemon.log`) until the lab
    /// ends ([`DemoRunner::stop_daemon`]); waits until it answers `_ping`.
    /// One that already answers there is kept.
    fn start_daemon(&self, emit: &mut dyn FnMut(DemoEvent)) -> bool {
        if !self.is_root {
            emit(DemoEvent::Line(LogLine::new(LineKind::Fail, NEEDS_ROOT)));
            return false;
        }
        let socket = self.daemon_socket();
        if ping(&socket).is_ok() {
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Ok,
                format!(
                    "a glassbox daemon already answers on unix://{}: the lab keeps it",
                    socket.display()
                ),
            )));
            return true;
        }
        let log_path = self.root.join("lab-daemon.log");
        let log = match std::fs::File::create(&log_path) {
            Ok(f) => f,
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot create {}: {e}", log_path.display()),
                )));
                return false;
            }
        };
        let mut cmd = self.glassbox();
        cmd.arg("daemon")
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log);
        // Its own process group: a Ctrl-C meant for the lab is not the daemon's.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot start {}: {e}", self.exe.display()),
                )));
                return false;
            }
        };
        let pid = child.id();
        let _ = std::fs::write(self.daemon_pidfile(), format!("{pid}\n"));
        // The daemon is reaped by the thread that waits for it, not left a zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match ping(&socket) {
                Ok(()) => break,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => {
                    let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                    emit(DemoEvent::Line(LogLine::new(
                        LineKind::Fail,
                        format!(
                            "glassbox daemon (pid {pid}) does not answer on unix://{}: {e}; it said: {}",
                            socket.display(),
                            said.trim()
                        ),
                    )));
                    self.stop_daemon();
                    return false;
                }
            }
        }
        emit(DemoEvent::Line(LogLine::new(
            LineKind::Ok,
            format!(
                "glassbox daemon pid {pid} answers GET /_ping on unix://{}; one line per request goes to {}",
                socket.display(),
                self.root.join("daemon-requests.log").display()
            ),
        )));
        true
    }

    /// Ends the lab's daemon (SIGTERM: it stops accepting and removes its
    /// socket; the containers stay with their shims), if its pid file names
    /// a `glassbox … daemon` process. Waits up to 5 s for it to go.
    pub fn stop_daemon(&self) {
        let pidfile = self.daemon_pidfile();
        let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        else {
            return;
        };
        let ours = |pid: i32| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("daemon") && c.contains(super::lesson::DAEMON_SOCKET)
            })
        };
        if ours(pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(5);
            while ours(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_file(pidfile);
    }

    /// Action `docker`: docker's own CLI against the lab's daemon
    /// (`docker -H unix://SOCKET ARGS`), with a config directory of the
    /// lab's (no context or credential helper of the user's applies).
    fn docker(&self, action: &Action, emit: &mut dyn FnMut(DemoEvent)) -> bool {
        if !self.is_root {
            emit(DemoEvent::Line(LogLine::new(LineKind::Fail, NEEDS_ROOT)));
            return false;
        }
        let Some(docker) = find_on_path("docker") else {
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Fail,
                DOCKER_MISSING,
            )));
            return false;
        };
        if action.args.first().map(String::as_str) == Some("run")
            && let Some(name) = name_flag(&action.args)
        {
            let _ = self.glassbox().args(["rm", "-f", &name]).output();
            emit(DemoEvent::Started(name));
        }
        let mut cmd = Command::new(docker);
        cmd.env("DOCKER_CONFIG", self.root.join("lab-docker-config"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .arg("-H")
            .arg(format!("unix://{}", self.daemon_socket().display()))
            .args(&action.args)
            .stdin(Stdio::null());
        let started = Instant::now();
        match stream(&mut cmd, emit) {
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot start docker: {e}"),
                )));
                false
            }
            Ok(out) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                self.outcome(action, &out, ms, emit)
            }
        }
    }

    /// Times a plain host process, `true`, from spawn to exit.
    fn plain(&self, emit: &mut dyn FnMut(DemoEvent)) -> bool {
        let started = Instant::now();
        match Command::new("true").status() {
            Ok(_) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                emit(DemoEvent::PlainMs(ms));
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Ok,
                    format!("a plain process (fork, exec true, exit): {ms:.2} ms"),
                )));
                true
            }
            Err(e) => {
                emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot run true: {e}"),
                )));
                false
            }
        }
    }

    /// Runs "try it yourself": host commands with `sh -c`, inside commands
    /// with `glassbox exec NAME sh -c`. Host commands get `$PID`,
    /// `$CONTAINER`, `$GLASSBOX_ROOT`, `$ASSETS` (the lessons' assets) and
    /// `$COLUMNS` (the width their output is shown in).
    pub fn run_try(&self, job: &TryJob<'_>, emit: &mut dyn FnMut(DemoEvent)) {
        let TryJob {
            host,
            inside,
            focus,
            pid,
            columns,
        } = *job;
        let mut out = TryOutput::default();
        let exe_dir = self.exe.parent().map(Path::to_path_buf).unwrap_or_default();
        let path = match std::env::var_os("PATH") {
            Some(p) => {
                let mut dirs = vec![exe_dir];
                dirs.extend(std::env::split_paths(&p));
                std::env::join_paths(dirs).unwrap_or(p)
            }
            None => exe_dir.into_os_string(),
        };
        for cmd in host {
            out.host
                .push(LogLine::new(LineKind::Command, format!("$ {cmd}")));
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(cmd)
                .env("PATH", &path)
                .env("GLASSBOX_ROOT", &self.root)
                .env("CONTAINER", focus.unwrap_or(""))
                .env("PID", pid.map(|p| p.to_string()).unwrap_or_default())
                .env("ASSETS", self.base.join("assets"))
                .env("COLUMNS", columns.to_string())
                .stdin(Stdio::null());
            out.host.extend(captured(&mut c));
        }
        for cmd in inside {
            out.inside
                .push(LogLine::new(LineKind::Command, format!("# {cmd}")));
            match (focus, self.is_root) {
                (_, false) => out.inside.push(LogLine::new(LineKind::Fail, NEEDS_ROOT)),
                (None, _) => out.inside.push(LogLine::new(
                    LineKind::Fail,
                    "no container yet: press Enter to run this step's demo first",
                )),
                (Some(name), true) => {
                    let mut c = self.glassbox();
                    c.args(["exec", name, "sh", "-c", cmd]);
                    out.inside.extend(captured(&mut c));
                }
            }
        }
        emit(DemoEvent::Try(out));
        emit(DemoEvent::Done { ok: true });
    }

    /// `glassbox cleanup` for the lab's data root, through the CLI.
    pub fn cleanup(&self) -> Result<(), String> {
        let out = self
            .glassbox()
            .arg("cleanup")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Removes every `lab-…` container of the data root, through the CLI.
    /// Returns the names removed.
    pub fn reset(&self, names: &[String], emit: &mut dyn FnMut(DemoEvent)) -> Vec<String> {
        let mut removed = Vec::new();
        for name in names.iter().filter(|n| n.starts_with("lab-")) {
            emit(DemoEvent::Line(LogLine::new(
                LineKind::Command,
                format!("$ glassbox rm -f {name}"),
            )));
            match self.glassbox().args(["rm", "-f", name]).output() {
                Ok(o) if o.status.success() => removed.push(name.clone()),
                Ok(o) => emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    String::from_utf8_lossy(&o.stderr).trim().to_string(),
                ))),
                Err(e) => emit(DemoEvent::Line(LogLine::new(
                    LineKind::Fail,
                    format!("cannot run {}: {e}", self.exe.display()),
                ))),
            }
        }
        emit(DemoEvent::Line(LogLine::new(
            LineKind::Ok,
            format!("reset: removed {} lab container(s)", removed.len()),
        )));
        removed
    }
}

/// The value of `--name` in run's arguments.
pub fn name_flag(args: &[String]) -> Option<String> {
    let i = args.iter().position(|a| a == "--name")?;
    args.get(i + 1).cloned()
}

/// What the `docker` action says where the docker CLI is not installed.
pub const DOCKER_MISSING: &str = "the docker CLI is not installed: `apt-get install docker.io` (Debian, Ubuntu) or docker-ce-cli from docker's repository gives it; only the client is needed, the lab's daemon is glassbox";

/// `program` in a directory of $PATH, if one has it.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `GET /_ping` on a unix socket: Ok when a daemon answers 200.
pub fn ping(socket: &Path) -> Result<(), String> {
    use std::io::Write;
    let mut s = std::os::unix::net::UnixStream::connect(socket).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!(
            "it answered {:?}",
            answer.lines().next().unwrap_or("nothing")
        ))
    }
}

/// What a streamed command printed, with when each stdout line came.
struct Streamed {
    code: Option<i32>,
    /// stdout lines, each with ms since the start.
    stdout: Vec<(f64, String)>,
    stderr: Vec<String>,
    /// ms from start to exit.
    end: f64,
}

impl Streamed {
    fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
}

/// Runs a command, emitting its stdout and stderr lines as they come.
fn stream(cmd: &mut Command, emit: &mut dyn FnMut(DemoEvent)) -> std::io::Result<Streamed> {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        text
    });
    let mut stdout_lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let at = started.elapsed().as_secs_f64() * 1000.0;
            emit(DemoEvent::Line(LogLine::new(LineKind::Out, line.clone())));
            stdout_lines.push((at, line));
        }
    }
    let status = child.wait()?;
    let end = started.elapsed().as_secs_f64() * 1000.0;
    let err_text = err_thread.join().unwrap_or_default();
    let stderr: Vec<String> = err_text.lines().map(str::to_string).collect();
    for line in &stderr {
        emit(DemoEvent::Line(LogLine::new(LineKind::Err, line.clone())));
    }
    Ok(Streamed {
        code: status.code(),
        stdout: stdout_lines,
        stderr,
        end,
    })
}

/// Runs a command to completion; its output as lines, then its exit status.
fn captured(cmd: &mut Command) -> Vec<LogLine> {
    match cmd.output() {
        Err(e) => vec![LogLine::new(LineKind::Fail, format!("cannot run: {e}"))],
        Ok(o) => {
            let mut lines: Vec<LogLine> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| LogLine::new(LineKind::Out, l))
                .collect();
            lines.extend(
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .map(|l| LogLine::new(LineKind::Err, l)),
            );
            if !o.status.success() {
                lines.push(LogLine::new(
                    LineKind::Note,
                    format!("(exit {})", o.status.code().unwrap_or(-1)),
                ));
            }
            lines
        }
    }
}

/// One line saying which part of glassbox is missing, when a command failed
/// because this glassbox does not know the verb or flag (clap's exit code 2).
pub fn missing_feature(verb: &str, code: i32, stderr: &str) -> Option<String> {
    if code != 2 {
        return None;
    }
    if stderr.contains("unrecognized subcommand") {
        return Some(format!(
            "this glassbox has no `glassbox {verb}` yet: that part of the engine is not in this build, so this demo cannot run"
        ));
    }
    let marker = "unexpected argument '";
    let start = stderr.find(marker)? + marker.len();
    let flag: String = stderr
        .get(start..)?
        .chars()
        .take_while(|c| *c != '\'')
        .collect();
    Some(format!(
        "this glassbox's `{verb}` does not know {flag} yet: that part of the engine is not in this build, so this demo cannot run"
    ))
}

/// The engine's own refusal of a command for a container that is missing
/// or stopped (`No such container: NAME`, `container ID is not running`),
/// in words; `None` for any other error.
pub fn no_container(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|l| {
        if let Some((_, name)) = l.split_once("No such container: ") {
            return Some(format!("there is no container {}", name.trim()));
        }
        let lower = l.to_ascii_lowercase();
        let (_, rest) = lower.split_once("container ")?;
        let (id, _) = rest.split_once(" is not running")?;
        Some(format!("container {id} is not running"))
    })
}

/// Sends `GET /` to 127.0.0.1:PORT and returns the status line and size.
pub fn curl(port: u16) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to {addr}: {e} (is the port published?)"))?;
    let body = crate::util::http::get(&mut stream, &addr.to_string(), 1 << 20)
        .map_err(|e| format!("GET / on {addr} failed: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    let status = text.lines().next().unwrap_or("").trim().to_string();
    if status.is_empty() {
        return Err(format!("{addr} closed the connection without an answer"));
    }
    Ok(format!(
        "{status} ({} bytes in {:.1} ms)",
        body.len(),
        started.elapsed().as_secs_f64() * 1000.0
    ))
}

/// Reads a builder's output into steps. It knows docker's classic lines
/// (`Step 2/5 : RUN …`, then ` ---> Using cache`), BuildKit's (`#5 [2/5] RUN
/// …`, `#5 CACHED`) and podman's (`STEP 2/5: RUN …`, `--> Using cache`).
/// Each step lasts from its line to the next step's line, or to `end`.
pub fn parse_build_output(lines: &[(f64, String)], end: f64) -> Vec<BuildStep> {
    let mut steps: Vec<(f64, BuildStep)> = Vec::new();
    // The builder's own time for a step (` ---> 2c54fbbad3a5  (0.04s)`), if it prints one.
    let mut reported: Vec<Option<f64>> = Vec::new();
    for (at, line) in lines {
        if let Some(instruction) = step_instruction(line) {
            steps.push((
                *at,
                BuildStep {
                    instruction,
                    cached: false,
                    ms: 0.0,
                },
            ));
            reported.push(None);
        } else if let Some((_, last)) = steps.last_mut() {
            let l = line.to_ascii_lowercase();
            if l.contains("using cache") || l.contains("cached") {
                last.cached = true;
            }
            if let Some(secs) = reported_seconds(line)
                && let Some(slot) = reported.last_mut()
            {
                *slot = Some(secs * 1000.0);
            }
        }
    }
    let starts: Vec<f64> = steps.iter().map(|(at, _)| *at).collect();
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (at, mut step))| {
            let until = starts.get(i + 1).copied().unwrap_or(end);
            step.ms = reported
                .get(i)
                .copied()
                .flatten()
                .unwrap_or((until - at).max(0.0));
            step
        })
        .collect()
}

/// `(0.04s)` at the end of a ` ---> ID` line: the builder's time for the step.
fn reported_seconds(line: &str) -> Option<f64> {
    let line = line.trim();
    if !line.starts_with("--->") {
        return None;
    }
    let open = line.rfind('(')?;
    line.get(open + 1..)?.strip_suffix("s)")?.parse().ok()
}

fn step_instruction(line: &str) -> Option<String> {
    let line = line.trim();
    // docker classic and podman: `Step 2/5 : RUN x`, `STEP 2/5: RUN x`
    for prefix in ["Step ", "STEP "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let (count, instr) = rest.split_once(':')?;
            if count.trim().contains('/') {
                return Some(instr.trim().to_string());
            }
        }
    }
    // BuildKit: `#5 [2/5] RUN x`
    if line.starts_with('#') {
        let open = line.find('[')?;
        let close = line.find(']')?;
        let inner = line.get(open + 1..close)?;
        if inner.contains('/') && inner.chars().any(|c| c.is_ascii_digit()) {
            return Some(line.get(close + 1..)?.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[(f64, &str)]) -> Vec<(f64, String)> {
        v.iter().map(|(t, s)| (*t, s.to_string())).collect()
    }

    #[test]
    fn classic_build_output() {
        let out = lines(&[
            (0.0, "Step 1/3 : FROM busybox"),
            (1.0, " ---> 3832bab97401"),
            (2.0, "Step 2/3 : RUN sleep 2"),
            (3.0, " ---> Using cache"),
            (5.0, "Step 3/3 : COPY app.sh /app.sh"),
            (2005.0, "Successfully built 1234"),
        ]);
        let steps = parse_build_output(&out, 2010.0);
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[1].instruction, "RUN sleep 2");
        assert!(steps[1].cached && !steps[2].cached);
        assert_eq!(steps[1].ms, 3.0);
        assert_eq!(steps[2].ms, 2005.0);
    }

    #[test]
    fn the_builders_own_step_times_win() {
        let out = lines(&[
            (0.0, "Step 1/2 : RUN date > /built-at"),
            (1.0, " ---> Running in build-a73cee2cc424"),
            (50.0, " ---> 2c54fbbad3a5  (0.04s)"),
            (51.0, "Step 2/2 : CMD [\"sh\"]"),
            (52.0, " ---> Using cache"),
            (53.0, " ---> 7209647aa884"),
        ]);
        let steps = parse_build_output(&out, 60.0);
        assert_eq!(steps[0].ms, 40.0);
        assert_eq!(steps[1].ms, 9.0);
        assert!(steps[1].cached);
    }

    #[test]
    fn buildkit_and_podman_lines() {
        assert_eq!(
            step_instruction("#5 [2/4] RUN sleep 2").as_deref(),
            Some("RUN sleep 2")
        );
        assert_eq!(
            step_instruction("STEP 3/4: COPY . .").as_deref(),
            Some("COPY . .")
        );
        assert_eq!(step_instruction("#5 DONE 0.1s"), None);
    }

    #[test]
    fn clap_errors_name_the_missing_part() {
        let e = "error: unrecognized subcommand 'build'\n\nUsage: glassbox [OPTIONS]";
        assert!(missing_feature("build", 2, e).is_some_and(|m| m.contains("glassbox build")));
        let e = "error: unexpected argument '-p' found";
        assert!(missing_feature("run", 2, e).is_some_and(|m| m.contains("-p")));
        assert_eq!(missing_feature("run", 125, e), None);
    }
}
