//! docker's container verbs beyond `run`: `create`, `start [-a]`, `attach`,
//! `wait`, `restart`, `rename`.
//!
//! `start -a` and `attach` talk to the container's shim through its attach
//! socket, exactly as the daemon does for `docker attach`: the CLI is one
//! more client, not the container's parent. A container started this way
//! keeps running when the CLI is gone.

use crate::engine::container;
use crate::engine::{DataRoot, wait};
use crate::runtime::attach::{self, Streams};
use anyhow::{Context, bail};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Relays the terminal and an attach connection until the shim ends it.
/// With a tty the bytes are raw (and the terminal is put in raw mode while
/// input is relayed); without, docker's frames are split to stdout/stderr.
pub fn relay_terminal(sock: UnixStream, tty: bool, stdin: bool) -> anyhow::Result<()> {
    let _raw = (tty && stdin)
        .then(|| crate::runtime::pty::RawMode::enter(0))
        .flatten();
    if stdin {
        let mut to_shim = sock.try_clone().context("attach socket")?;
        // The copy ends with the user's input (or the process): a thread
        // that outlives the container's output is left behind.
        std::thread::spawn(move || {
            let mut input = std::io::stdin().lock();
            let _ = std::io::copy(&mut input, &mut to_shim);
            let _ = to_shim.shutdown(std::net::Shutdown::Write);
        });
    }
    let mut from_shim = sock;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if tty {
        let mut buf = [0u8; 32 * 1024];
        loop {
            match from_shim.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
        return Ok(());
    }
    while let Some((stream, data)) = crate::api::stream::read_frame(&mut from_shim)? {
        let _ = if stream == crate::api::stream::STDERR {
            err.write_all(&data)
        } else {
            out.write_all(&data).and_then(|_| out.flush())
        };
    }
    Ok(())
}

/// `glassbox start [-a] [-i] CONTAINER…`.
pub fn start(
    root: &DataRoot,
    names: &[String],
    attach_output: bool,
    interactive: bool,
    wait_attach: usize,
) -> anyhow::Result<i32> {
    if !attach_output {
        let mut code = 0;
        for n in names {
            match crate::engine::run::start(root, n, wait_attach) {
                Ok(_) => crate::outln!("{n}"),
                Err(e) => {
                    super::print_error(&e);
                    code = 1;
                }
            }
        }
        return Ok(code);
    }
    let [name] = names else {
        bail!("you cannot start and attach multiple containers at once");
    };
    let r = container::find(root, name)?;
    let dir = attach::socket_path(&root.key, &r.id);
    let mut waiter = wait::begin(root, &r.id, wait::Condition::NextExit)?;
    // The start runs in a child glassbox: this process stays a plain client
    // of the shim (and may use threads).
    let exe = crate::runtime::exe::self_path().context("cannot find the glassbox binary")?;
    let child = std::process::Command::new(exe)
        .arg("--root")
        .arg(&root.path)
        .args(["start", "--wait-attach", "1", &r.id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run glassbox start")?;
    let streams = Streams {
        stdin: interactive && r.config.open_stdin,
        stdout: true,
        stderr: true,
    };
    let sock = attach::connect(&dir, streams, Duration::from_secs(10));
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let msg = text
            .lines()
            .last()
            .unwrap_or("")
            .trim_start_matches("glassbox: ");
        return Err(crate::engine::run::StartError {
            code: out.status.code().unwrap_or(1),
            message: msg
                .trim_start_matches("Error response from daemon: ")
                .to_string(),
        }
        .into());
    }
    let sock = sock.with_context(|| format!("cannot attach to {}", r.name))?;
    if r.config.tty
        && let Some(ws) = crate::runtime::pty::window_size(0)
    {
        let _ = attach::resize(&dir, ws.ws_row, ws.ws_col);
    }
    relay_terminal(sock, r.config.tty, streams.stdin)?;
    Ok(waiter.wait(root, &|| true).map_or(0, |o| o.code))
}

/// `glassbox attach CONTAINER`: the running container's output (and input,
/// if it was started with -i) on this terminal until it exits.
pub fn attach(root: &DataRoot, name: &str, no_stdin: bool) -> anyhow::Result<i32> {
    let r = container::find(root, name)?;
    if !r.is_running() {
        return Err(crate::engine::EngineError::Conflict(
            "You cannot attach to a stopped container, start it first".into(),
        )
        .into());
    }
    let dir = attach::socket_path(&root.key, &r.id);
    let mut waiter = wait::begin(root, &r.id, wait::Condition::NextExit)?;
    let streams = Streams {
        stdin: r.config.open_stdin && !no_stdin,
        stdout: true,
        stderr: true,
    };
    let sock = attach::connect(&dir, streams, Duration::from_secs(2))
        .with_context(|| format!("cannot reach the shim of {} at {}", r.name, dir.display()))?;
    if r.config.tty
        && let Some(ws) = crate::runtime::pty::window_size(0)
    {
        let _ = attach::resize(&dir, ws.ws_row, ws.ws_col);
    }
    relay_terminal(sock, r.config.tty, streams.stdin)?;
    Ok(waiter.wait(root, &|| true).map_or(0, |o| o.code))
}

/// `glassbox wait CONTAINER…`: prints each one's exit code once it stops.
pub fn wait_all(root: &DataRoot, names: &[String]) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        match wait::begin(root, n, wait::Condition::NotRunning) {
            Ok(mut w) => {
                if let Some(o) = w.wait(root, &|| true) {
                    crate::outln!("{}", o.code);
                }
            }
            Err(e) => {
                super::print_error(&e);
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `glassbox restart [-t S] CONTAINER…`: stop (if running), then start.
pub fn restart(
    root: &DataRoot,
    names: &[String],
    timeout: u64,
    signal: Option<i32>,
) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        let result = crate::engine::lifecycle::stop(root, n, Duration::from_secs(timeout), signal)
            .and_then(|r| crate::engine::run::start(root, &r.id, 0));
        match result {
            Ok(_) => crate::outln!("{n}"),
            Err(e) => {
                super::print_error(&e);
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `glassbox cp CONTAINER:SRC DEST` and `glassbox cp SRC CONTAINER:DEST`,
/// with docker's rules: a destination directory that exists receives the
/// source under its own name; one that does not exist is the new name.
pub fn cp(root: &DataRoot, src: &str, dst: &str) -> anyhow::Result<i32> {
    let split = |s: &str| -> Option<(String, String)> {
        let (c, p) = s.split_once(':')?;
        (!c.is_empty() && !c.contains('/')).then(|| (c.to_string(), p.to_string()))
    };
    match (split(src), split(dst)) {
        (Some((c, path)), None) => copy_out(root, &c, &path, std::path::Path::new(dst)),
        (None, Some((c, path))) => copy_in(root, std::path::Path::new(src), &c, &path),
        _ => bail!(
            "copying between containers or within the host is not supported: one of SRC and DEST must be CONTAINER:PATH"
        ),
    }
}

fn helper_output(
    root: &DataRoot,
    c: &str,
    op: &str,
    path: &str,
) -> anyhow::Result<std::process::Output> {
    let out = crate::engine::archive::helper(root, c, op, path)?
        .stdin(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let msg = text
            .lines()
            .last()
            .unwrap_or("")
            .trim_start_matches("glassbox: ");
        return Err(crate::engine::EngineError::Invalid(
            msg.trim_start_matches("Error response from daemon: ")
                .to_string(),
        )
        .into());
    }
    Ok(out)
}

fn copy_out(root: &DataRoot, c: &str, path: &str, dst: &std::path::Path) -> anyhow::Result<i32> {
    let tar = helper_output(root, c, "get", path)?.stdout;
    let (dir, rename_to) = if dst.is_dir() {
        (dst.to_path_buf(), None)
    } else {
        let parent = dst
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            bail!("destination directory {} does not exist", parent.display());
        }
        (
            parent.to_path_buf(),
            dst.file_name().map(std::path::PathBuf::from),
        )
    };
    let (stage, stage_fd) = stage_in(&dir)?;
    // Extracted through the descriptor: the staging directory is used even
    // if something renames it meanwhile (DEST may be shared with a container).
    let via_fd = std::path::PathBuf::from(format!("/proc/self/fd/{}", stage_fd.as_raw_fd()));
    let result =
        crate::image::import::extract(&tar[..], &via_fd, crate::image::import::Target::Plain)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let top = dir_names(&stage_fd)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("the container sent an empty archive"))?;
                let name = rename_to.map_or_else(|| top.clone(), Into::into);
                let dir_fd = nix::fcntl::open(
                    &dir,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .with_context(|| format!("cannot open {}", dir.display()))?;
                place(&stage_fd, &top, &dir_fd, &name, &dir.join(&name))
            });
    let _ = std::fs::remove_dir_all(&stage);
    result.map(|_| 0)
}

/// The names in a directory held open, `.` and `..` left out.
fn dir_names(dir: &OwnedFd) -> anyhow::Result<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStrExt;
    let mut d = nix::dir::Dir::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for e in d.iter() {
        let bytes = e?.file_name().to_bytes().to_vec();
        if bytes != b"." && bytes != b".." {
            names.push(std::ffi::OsStr::from_bytes(&bytes).to_owned());
        }
    }
    Ok(names)
}

/// True when `name` in `dir` is a directory itself, never a symlink to one.
fn is_dir_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> bool {
    use nix::fcntl::AtFlags;
    use nix::sys::stat::{SFlag, fstatat};
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// `openat(dir, name, O_DIRECTORY | O_NOFOLLOW)`: the directory there now,
/// refused (ELOOP) if a symlink took its place.
fn open_dir_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Moves `name` out of `from` to `to_name` in `to`, docker's way: a
/// directory onto a directory merges, entry by entry; anything else
/// replaces what is there (a directory is never replaced by a file).
///
/// What the container sent may hold symlinks to anywhere on the host, so
/// both trees are walked by descriptor and no symlink is ever followed: a
/// symlink is moved as a symlink, and a directory that turns into a symlink
/// while we walk is refused rather than entered.
fn place(
    from: &OwnedFd,
    name: &std::ffi::OsStr,
    to: &OwnedFd,
    to_name: &std::ffi::OsStr,
    shown: &std::path::Path,
) -> anyhow::Result<()> {
    if is_dir_at(from, name) && is_dir_at(to, to_name) {
        let src = open_dir_at(from, name).with_context(|| {
            format!(
                "cannot read what the container sent for {}",
                shown.display()
            )
        })?;
        let dst = open_dir_at(to, to_name).with_context(|| {
            format!(
                "cannot open the directory {} (a symlink there is not followed)",
                shown.display()
            )
        })?;
        for n in dir_names(&src)? {
            place(&src, &n, &dst, &n, &shown.join(&n))?;
        }
        return Ok(());
    }
    match nix::fcntl::renameat(from, name, to, to_name) {
        Ok(()) => Ok(()),
        Err(
            nix::errno::Errno::EISDIR | nix::errno::Errno::ENOTEMPTY | nix::errno::Errno::EEXIST,
        ) => {
            bail!(
                "cannot overwrite directory {} with non-directory",
                shown.display()
            )
        }
        Err(nix::errno::Errno::ENOTDIR) => bail!(
            "cannot overwrite non-directory {} with directory",
            shown.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", shown.display())),
    }
}

/// A private staging directory (0700, a name nobody can guess) beside the
/// destination, so the final move is a rename on one filesystem; held open.
fn stage_in(dir: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, OwnedFd)> {
    use std::os::unix::fs::DirBuilderExt;
    let p = dir.join(format!(
        ".glassbox-cp-{}-{}",
        std::process::id(),
        &crate::util::text::random_id()[..16]
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&p)
        .with_context(|| format!("cannot create {}", p.display()))?;
    let fd = nix::fcntl::open(
        &p,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open {}", p.display()))?;
    Ok((p, fd))
}

fn copy_in(root: &DataRoot, src: &std::path::Path, c: &str, path: &str) -> anyhow::Result<i32> {
    let meta = std::fs::symlink_metadata(src)
        .with_context(|| format!("lstat {}: no such file or directory", src.display()))?;
    // Where it goes: into PATH if that is a directory in the container,
    // else PATH's parent under PATH's name.
    let stat_out = crate::engine::archive::helper(root, c, "stat", path)?
        .stdin(std::process::Stdio::null())
        .output()?;
    let is_dir = stat_out.status.success()
        && serde_json::from_slice::<crate::engine::archive::PathStat>(&stat_out.stdout)
            .is_ok_and(|s| s.mode & (1 << 31) != 0);
    let (dir, name) = if is_dir {
        (
            path.to_string(),
            src.file_name()
                .map(std::path::PathBuf::from)
                .unwrap_or_default(),
        )
    } else {
        let p = std::path::Path::new(path);
        let parent = p
            .parent()
            .map(|x| x.display().to_string())
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| "/".into());
        (
            parent,
            p.file_name()
                .map(std::path::PathBuf::from)
                .unwrap_or_default(),
        )
    };
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    if meta.is_dir() {
        b.append_dir_all(&name, src)?;
    } else {
        b.append_path_with_name(src, &name)?;
    }
    let tar = b.into_inner()?;
    let mut child = crate::engine::archive::helper(root, c, "put", &dir)?
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut i) = child.stdin.take() {
        i.write_all(&tar)?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        bail!(crate::engine::EngineError::Invalid(
            text.lines()
                .last()
                .unwrap_or("")
                .trim_start_matches("glassbox: ")
                .trim_start_matches("Error response from daemon: ")
                .to_string()
        ));
    }
    Ok(0)
}

/// `glassbox cp-helper OP ID PATH` (internal): run inside the container's
/// filesystem by `cp` and the daemon's archive endpoints.
pub fn cp_helper(root: &DataRoot, op: &str, id: &str, path: &str) -> anyhow::Result<i32> {
    let r = container::find(root, id)?;
    crate::engine::archive::enter(root, &r)?;
    match op {
        "stat" => {
            let s = crate::engine::archive::stat(&r.name, path)?;
            crate::outln!("{}", serde_json::to_string(&s)?);
        }
        "get" => {
            crate::engine::archive::stat(&r.name, path)?;
            let out = std::io::stdout().lock();
            crate::engine::archive::write_tar(path, std::io::BufWriter::new(out))?;
        }
        "put" => crate::engine::archive::read_tar(&r.name, path, std::io::stdin().lock())?,
        other => bail!("cp-helper: unknown operation {other:?}"),
    }
    Ok(0)
}
