//! The container's init: the child of `clone(2)`, from birth to `execve`.
//!
//! It is born in new namespaces but still sees the host's files. In small,
//! named steps it joins its cgroup, builds its root filesystem, drops its
//! privileges and finally replaces itself with the container's command, which
//! keeps its PID (1 inside the PID namespace). Each step is reported to the
//! runtime through the [`sync`](super::sync) channel, and a failure ends the
//! init with the exit code docker would give: 127 for a command that is not in
//! the image, 126 for one that cannot be executed, 125 for a failed setup step.

use super::namespaces;
use super::pty;
use super::rootfs;
use super::security::{self, capabilities};
use super::spec::Spec;
use super::sync::{InitFailure, InitSide};
use super::trace::now_ns;
use nix::errno::Errno;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::stat::{Mode, umask};
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where the container's standard streams come from.
#[derive(Debug, Clone, Copy)]
pub enum Stdio {
    /// These descriptors become 0, 1 and 2.
    Fds {
        stdin: RawFd,
        stdout: RawFd,
        stderr: RawFd,
    },
    /// Allocate a terminal inside the container and send its master end back
    /// over this unix socket (runc's `--console-socket`).
    Console(RawFd),
}

/// Everything the init needs, prepared by the runtime before `clone`.
pub struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub cgroup_join: &'a [PathBuf],
    pub cgroup_v2: bool,
    /// The read end of the runtime's go-ahead: the runtime makes the cgroup
    /// after the clone (cgroup v1) and writes a byte here when it has; this
    /// process then joins it (`cgroup_join`) before `pivot_root`. `None`:
    /// the group exists already, joined first thing (or born in it).
    pub cgroup_go: Option<&'a OwnedFd>,
    pub stdio: Stdio,
    /// The sealed exec trampoline, when this process is not itself sealed
    /// (see [`super::trampoline`]); `None`: `execve` the program directly.
    pub trampoline: Option<RawFd>,
}

fn setup_failed(step: &str, e: impl std::fmt::Display) -> InitFailure {
    InitFailure {
        exit_code: 125,
        message: format!("{step}: {e}"),
    }
}

/// Runs the init to `execve`; never returns.
pub fn run(args: InitArgs, mut chan: InitSide) -> ! {
    let failure = match prepare(&args, &mut chan) {
        Ok(exec) if args.spec.wants_init() => {
            let t = now_ns();
            chan.step_done(
                t,
                "fork_under_init",
                "fork(): PID 1 stays as glassbox-init (reaps, forwards signals); the command runs as its child",
            );
            super::reaper::run_under_init(exec, chan)
        }
        Ok(exec) => {
            chan.about_to_exec();
            exec.exec(&mut chan)
        }
        Err(f) => f,
    };
    chan.failed(&failure);
    // SAFETY: _exit ends this process at once; nothing of the parent's state
    // (buffers, atexit handlers) must run twice.
    unsafe { libc::_exit(failure.exit_code) }
}

/// Times one step and reports it.
fn step<T>(
    chan: &mut InitSide,
    name: &str,
    f: impl FnOnce() -> Result<String, T>,
) -> Result<(), InitFailure>
where
    T: std::fmt::Display,
{
    let t = now_ns();
    let detail = f().map_err(|e| setup_failed(name, e))?;
    chan.step_done(t, name, &detail);
    Ok(())
}

fn prepare(args: &InitArgs, chan: &mut InitSide) -> Result<Exec, InitFailure> {
    let spec = args.spec;
    // The cgroup first: from its first step the init is accounted to the
    // container. And setsid(2) moves a task of the root cpu group into a
    // new autogroup (kernel.sched_autogroup_enabled), which makes the
    // scheduler pick again at once (sched_move_task): another task runs
    // first, and the init waits for its CPU (0.3-0.7 ms here, behind the
    // last start's kernel work). A task already in the container's cpu
    // group keeps its group, and setsid costs no such wait. On cgroup v1
    // the group is made while the init mounts its root: setsid waits for it
    // (below).
    if args.cgroup_go.is_none() {
        join_cgroup(chan, args.cgroup_join)?;
        new_session(chan)?;
    }
    if let Stdio::Fds {
        stdin,
        stdout,
        stderr,
    } = args.stdio
    {
        step(chan, "attach_stdio", || {
            for (from, to) in [(stdin, 0), (stdout, 1), (stderr, 2)] {
                // SAFETY: dup2 onto the standard descriptors of this process.
                if unsafe { libc::dup2(from, to) } == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok("dup2 onto fds 0, 1, 2".to_string())
        })?;
    }
    if spec.creates_namespace("cgroup") {
        step(chan, "unshare_cgroup_ns", || {
            namespaces::unshare(libc::CLONE_NEWCGROUP)
                .map(|_| "unshare(CLONE_NEWCGROUP): our cgroup becomes the root we see".to_string())
        })?;
    }
    for ns in &spec.linux.namespaces {
        if let (Some(path), Some(kind)) = (&ns.path, namespaces::kind(&ns.typ)) {
            step(chan, "join_namespace", || {
                namespaces::join_path(path, kind.flag)
                    .map(|_| format!("setns({path}, {})", kind.proc_name))
            })?;
        }
    }
    if let Some(hostname) = &spec.hostname
        && spec.creates_namespace("uts")
    {
        step(chan, "set_hostname", || {
            nix::unistd::sethostname(hostname).map(|_| format!("sethostname({hostname:?})"))
        })?;
    }
    if spec.creates_namespace("network") {
        step(chan, "loopback_up", || {
            namespaces::loopback_up().map(|_| "ioctl(SIOCSIFFLAGS, lo, IFF_UP)".to_string())
        })?;
    }
    umask(Mode::empty());
    step(chan, "set_propagation", || rootfs::set_propagation(spec))?;
    step(chan, "bind_rootfs", || rootfs::bind_rootfs(args.rootfs))?;
    for m in &spec.mounts {
        let name = format!(
            "mount_{}",
            m.destination.trim_start_matches('/').replace('/', "_")
        );
        step(chan, &name, || {
            rootfs::mount_one(args.rootfs, m, args.cgroup_v2)
        })?;
    }
    step(chan, "create_devices", || {
        rootfs::create_devices(args.rootfs, &spec.linux.devices)
    })?;
    // cgroup v1: the runtime has made the group meanwhile (or is about to).
    // Joined here, while the host's /sys/fs/cgroup is still in view, by
    // this process itself: writing another process's PID would take the
    // kernel-wide lock that waits for an RCU grace period (see join_cgroup).
    if let Some(go) = args.cgroup_go {
        step(chan, "wait_for_cgroup", || wait_for_cgroup(go))?;
        join_cgroup(chan, args.cgroup_join)?;
        new_session(chan)?;
    }
    step(chan, "pivot_root", || rootfs::pivot_root(args.rootfs))?;
    step(chan, "create_workdir", || create_workdir(&spec.process.cwd))?;
    if let Stdio::Console(socket) = args.stdio {
        step(chan, "open_console", || {
            pty::open_console_inside(socket, spec.process.console_size)
        })?;
    }
    step(chan, "mask_paths", || {
        rootfs::mask_paths(&spec.linux.masked_paths)
    })?;
    step(chan, "readonly_paths", || {
        rootfs::readonly_paths(&spec.linux.readonly_paths)
    })?;
    if spec.root.readonly {
        step(chan, "readonly_root", rootfs::readonly_root)?;
    }
    step(chan, "set_rlimits", || set_rlimits(spec))?;
    prepare_tail(spec, chan, args.trampoline)
}

/// Step `new_session`: `setsid()`, before the console (`open_console`)
/// becomes the controlling terminal.
fn new_session(chan: &mut InitSide) -> Result<(), InitFailure> {
    step(chan, "new_session", || {
        nix::unistd::setsid()
            .map(|_| "setsid(): leave the caller's terminal and process group".to_string())
    })
}

/// Step `wait_for_cgroup`: reads the runtime's go-ahead, a byte it writes
/// once it has made this process's cgroup (cgroup v1, made after the clone
/// while this process mounts its root); end-of-file instead means the
/// runtime is gone, and nothing is exec'd.
fn wait_for_cgroup(go: &OwnedFd) -> Result<String, String> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(go, &mut byte) {
            Ok(1) => return Ok("read the runtime's go-ahead: the cgroup is made".into()),
            Ok(_) => return Err("the runtime ended before it made this process's cgroup".into()),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("reading the runtime's go-ahead: {e}")),
        }
    }
}

/// The last steps, shared by the init and by `exec`: working directory,
/// command lookup, privileges, signal state, descriptors.
fn prepare_tail(
    spec: &Spec,
    chan: &mut InitSide,
    trampoline: Option<RawFd>,
) -> Result<Exec, InitFailure> {
    step(chan, "chdir_workdir", || {
        let cwd = &spec.process.cwd;
        std::env::set_current_dir(cwd)
            .map(|_| format!("chdir({cwd:?})"))
            .map_err(|e| format!("chdir to cwd ({cwd:?}) set in config.json failed: {e}"))
    })?;
    let exec = Exec::resolve(spec, trampoline)?;
    // glassbox ignores SIGPIPE, and whoever started it may have had it
    // ignore more (`nohup`, a shell's `trap '' HUP`): an ignored signal stays
    // ignored across execve (a caught one goes back to its default). Those
    // the kernel lists as ignored are put back to the default below, every
    // signal from 1 to 64 where the list cannot be read. Read before the
    // seccomp filter, which may refuse the open.
    let ignored = ignored_signals().unwrap_or(u64::MAX);
    if let Some(profile) = &spec.linux.seccomp {
        // Before the capabilities go: with CAP_SYS_ADMIN still held, the
        // filter needs no no_new_privs, and what follows makes no denied call.
        step(chan, "install_seccomp", || install_seccomp(profile))?;
    }
    step(chan, "drop_privileges", || drop_privileges(spec))?;
    // SAFETY: umask, signal dispositions and the signal mask of this process only.
    unsafe {
        libc::umask(0o022);
        // rt_sigaction itself: glibc's signal() refuses 32 and 33, which
        // it keeps for its threads. A zeroed kernel `struct sigaction` is
        // SIG_DFL with no flags and an empty mask.
        let default = [0u64; 4];
        for sig in 1..=64 {
            if ignored & (1 << (sig - 1)) != 0 && sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    default.as_ptr(),
                    std::ptr::null::<u64>(),
                    8,
                );
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        // Only 0, 1 and 2 may reach the container's process.
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    Ok(exec)
}

/// The signals this process ignores (`SigIgn` of its /proc status, read
/// into a buffer on the stack: no allocation in the init's last steps).
fn ignored_signals() -> Option<u64> {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let mut file = std::fs::File::open("/proc/thread-self/status").ok()?;
    let n = file.read(&mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    crate::inspect::proc_status::parse_ignored_signals(text)
}

/// Step `create_workdir`: the working directory and any missing parent,
/// mode 0755 owned by root, inside the new root (after pivot_root) and
/// before it may turn read-only, as runc's `prepareRootfs` makes it. Only the
/// container's first process: an exec'd one gets `chdir`'s error instead.
fn create_workdir(cwd: &str) -> Result<String, String> {
    use std::os::unix::fs::DirBuilderExt;
    if std::path::Path::new(cwd).is_dir() {
        return Ok(format!("{cwd} exists"));
    }
    // The umask is 0 here (set before the mounts): the mode is exactly 0755.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(cwd)
        .map(|_| format!("mkdir -p -m 0755 {cwd}"))
        .map_err(|e| format!("creating the working directory {cwd:?}: {e}"))
}

/// What a process `exec`'d into a running container needs.
pub struct ExecArgs<'a> {
    pub spec: &'a Spec,
    pub cgroup_join: &'a [PathBuf],
    /// The container's namespaces (all but pid, which the parent joined), in join order.
    pub namespaces: &'a [(super::namespaces::Kind, std::fs::File)],
    pub stdio: Stdio,
    /// As [`InitArgs::trampoline`].
    pub trampoline: Option<RawFd>,
}

/// Runs an `exec`'d process to `execve`: it joins the container's cgroup and
/// namespaces (the mount namespace last), then takes the same last steps as
/// the init. Never returns.
pub fn run_exec(args: ExecArgs, mut chan: InitSide) -> ! {
    let failure = match prepare_exec(&args, &mut chan) {
        Ok(exec) => {
            chan.about_to_exec();
            exec.exec(&mut chan)
        }
        Err(f) => f,
    };
    chan.failed(&failure);
    // SAFETY: as in `run`.
    unsafe { libc::_exit(failure.exit_code) }
}

fn prepare_exec(args: &ExecArgs, chan: &mut InitSide) -> Result<Exec, InitFailure> {
    step(chan, "new_session", || {
        nix::unistd::setsid().map(|_| "setsid()".to_string())
    })?;
    if let Stdio::Fds {
        stdin,
        stdout,
        stderr,
    } = args.stdio
    {
        for (from, to) in [(stdin, 0), (stdout, 1), (stderr, 2)] {
            // SAFETY: dup2 onto the standard descriptors of this process.
            if from != to && unsafe { libc::dup2(from, to) } == -1 {
                return Err(setup_failed(
                    "attach_stdio",
                    std::io::Error::last_os_error(),
                ));
            }
        }
    }
    join_cgroup(chan, args.cgroup_join)?;
    for (kind, file) in args.namespaces {
        if kind.spec_name == "pid" {
            continue;
        }
        step(chan, "join_namespace", || {
            namespaces::join(*kind, file).map(|_| format!("setns({})", kind.proc_name))
        })?;
    }
    if let Stdio::Console(socket) = args.stdio {
        step(chan, "open_console", || {
            pty::open_console_inside(socket, args.spec.process.console_size)
        })?;
    }
    prepare_tail(args.spec, chan, args.trampoline)
}

fn rlimit_resource(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
        "RLIMIT_CORE" => Resource::RLIMIT_CORE,
        "RLIMIT_STACK" => Resource::RLIMIT_STACK,
        "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => Resource::RLIMIT_AS,
        "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
        "RLIMIT_CPU" => Resource::RLIMIT_CPU,
        _ => return None,
    })
}

fn set_rlimits(spec: &Spec) -> Result<String, String> {
    let mut done = Vec::new();
    for r in &spec.process.rlimits {
        let res = rlimit_resource(&r.typ).ok_or_else(|| format!("unknown rlimit {:?}", r.typ))?;
        let (mut soft, mut hard) = (r.soft, r.hard);
        let mut result = setrlimit(res, soft, hard);
        if result == Err(Errno::EPERM) {
            // Raising a hard limit needs CAP_SYS_RESOURCE, which some hosts
            // (sandboxes, nested containers) withhold: keep the current ceiling.
            if let Ok((_, ceiling)) = getrlimit(res) {
                hard = hard.min(ceiling);
            }
            soft = soft.min(hard);
            result = setrlimit(res, soft, hard);
        }
        if let Err(e) = result {
            return Err(format!(
                "setrlimit({}, {}/{}): {}",
                r.typ,
                r.soft,
                r.hard,
                std::io::Error::from(e)
            ));
        }
        done.push(format!("{}={}", r.typ, soft));
    }
    Ok(format!("setrlimit {}", done.join(" ")))
}

/// Step `join_cgroup`, for a process not born in its cgroup (cgroup v1, or
/// v2 without clone3): write "0" into each file of `Cgroup::join_files`.
fn join_cgroup(chan: &mut InitSide, files: &[PathBuf]) -> Result<(), InitFailure> {
    if files.is_empty() {
        return Ok(());
    }
    step(chan, "join_cgroup", || {
        for f in files {
            std::fs::write(f, "0").map_err(|e| format!("writing 0 to {}: {e}", f.display()))?;
        }
        Ok::<_, String>(format!(
            "write 0 (= this process) to {}",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Compiles `linux.seccomp` to BPF and installs it.
fn install_seccomp(profile: &crate::runtime::spec::Seccomp) -> Result<String, String> {
    use security::seccomp;
    let filter = seccomp::compile(profile).map_err(|e| e.to_string())?;
    seccomp::install(&filter).map_err(|e| e.to_string())?;
    let mut detail = format!(
        "seccomp(SECCOMP_SET_MODE_FILTER): {} BPF instructions testing {} system calls, default {}",
        filter.len(),
        filter.syscalls,
        profile.default_action
    );
    if !filter.other_arch.is_empty() {
        detail.push_str(&format!(
            "; other architectures' calls, left out: {}",
            filter.other_arch.join(", ")
        ));
    }
    Ok(detail)
}

/// Bounding set, then user, then the remaining sets and no_new_privs.
fn drop_privileges(spec: &Spec) -> Result<String, String> {
    let caps = spec.process.capabilities.clone().unwrap_or_default();
    let bounding = capabilities::mask(&caps.bounding).map_err(|e| e.to_string())?;
    let effective = capabilities::mask(&caps.effective).map_err(|e| e.to_string())?;
    let permitted = capabilities::mask(&caps.permitted).map_err(|e| e.to_string())?;
    let inheritable = capabilities::mask(&caps.inheritable).map_err(|e| e.to_string())?;
    capabilities::drop_bounding(bounding).map_err(|e| e.to_string())?;
    let u = &spec.process.user;
    let user = security::user::switch(u.uid, u.gid, &u.additional_gids)
        .map_err(|(what, e)| format!("{what}: {e}"))?;
    capabilities::set(effective, permitted, inheritable).map_err(|e| e.to_string())?;
    if spec.process.no_new_privileges {
        security::set_no_new_privs().map_err(|e| format!("prctl(PR_SET_NO_NEW_PRIVS): {e}"))?;
    }
    Ok(format!(
        "bounding={bounding:#x}; {user}; capset(effective={effective:#x}, permitted={permitted:#x}); no_new_privs={}",
        spec.process.no_new_privileges
    ))
}

/// The program to exec, resolved inside the new root.
pub struct Exec {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    shown: String,
    trampoline: Option<RawFd>,
}

fn cstring(s: &str) -> Result<CString, InitFailure> {
    CString::new(s).map_err(|_| setup_failed("exec", format!("{s:?} contains a NUL byte")))
}

impl Exec {
    /// Finds the command as `execvp` would, but in the container's `PATH`.
    pub fn resolve(spec: &Spec, trampoline: Option<RawFd>) -> Result<Exec, InitFailure> {
        let args = &spec.process.args;
        let cmd = args
            .first()
            .ok_or_else(|| setup_failed("exec", "no command given and the image has none"))?;
        let path = if cmd.contains('/') {
            PathBuf::from(cmd)
        } else {
            let search = spec
                .process
                .env
                .iter()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or(super::spec::DEFAULT_PATH);
            find_in_path(cmd, search)?
        };
        Ok(Exec {
            shown: cmd.clone(),
            path: cstring(&path.to_string_lossy())?,
            argv: args.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?,
            envp: spec
                .process
                .env
                .iter()
                .map(|e| cstring(e))
                .collect::<Result<_, _>>()?,
            trampoline,
        })
    }

    /// `execve(2)` of the program, through the trampoline when there is one;
    /// returns only on failure, with docker's exit code. `chan` is the sync
    /// pipe, its steps already sent.
    pub fn exec(self, chan: &mut InitSide) -> InitFailure {
        let envp = null_terminated(&self.envp);
        let Some(trampoline) = self.trampoline else {
            let argv = null_terminated(&self.argv);
            // SAFETY: NUL-terminated arrays of pointers to CStrings that outlive the call.
            unsafe { libc::execve(self.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
            return exec_failure(&self.shown, std::io::Error::last_os_error());
        };
        // The trampoline's argv: the program's path, then the program's argv.
        let strings: Vec<CString> = std::iter::once(self.path.clone())
            .chain(self.argv.iter().cloned())
            .collect();
        let argv = null_terminated(&strings);
        if let Err(e) = chan.hand_to_trampoline(&self.shown, trampoline) {
            return setup_failed("exec_trampoline", e);
        }
        // SAFETY: execveat of a descriptor (AT_EMPTY_PATH) with NUL-terminated
        // arrays of pointers to CStrings that outlive the call.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                trampoline,
                c"".as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        let e = std::io::Error::last_os_error();
        InitFailure {
            exit_code: 126,
            message: format!(
                "exec: {:?}: starting glassbox's exec trampoline (execveat of a sealed memfd) failed: {e}",
                self.shown
            ),
        }
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Docker's exit code and message for a failed `execve` of `shown`: 127
/// when there is no such file, 126 when it cannot be executed.
pub fn exec_failure(shown: &str, e: std::io::Error) -> InitFailure {
    let (exit_code, why) = match e.raw_os_error() {
        Some(libc::ENOENT) => (127, "no such file or directory".to_string()),
        Some(libc::EACCES) => (126, "permission denied".to_string()),
        Some(libc::ENOEXEC) => (126, "exec format error".to_string()),
        _ => (126, e.to_string()),
    };
    InitFailure {
        exit_code,
        message: format!("exec: {shown:?}: {why}"),
    }
}

fn find_in_path(cmd: &str, search: &str) -> Result<PathBuf, InitFailure> {
    let mut not_executable = None;
    for dir in search.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(cmd);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
        {
            if meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
            not_executable.get_or_insert(candidate);
        }
    }
    Err(match not_executable {
        Some(p) => InitFailure {
            exit_code: 126,
            message: format!("exec: {:?}: permission denied", p.display().to_string()),
        },
        None => InitFailure {
            exit_code: 127,
            message: format!("exec: {cmd:?}: executable file not found in $PATH"),
        },
    })
}
