//! A network namespace made before the container, and kept alive by a bind mount.
//!
//! A namespace lives as long as something refers to it: a process inside it,
//! an open file descriptor of `/proc/PID/ns/net`, or a *bind mount* of that
//! file. `ip netns add NAME` uses the last one (it mounts the namespace on
//! /run/netns/NAME), and so do CNI plugins and podman: the namespace is made
//! and wired first, and the container's process then simply joins it
//! (`setns(2)`), because config.json names it by path
//! (`{"type": "network", "path": ".../netns"}`). No parent/child handshake is
//! needed, and the namespace, with its veth and address, can be inspected or
//! torn down whether or not a process runs in it.
//!
//! Making it takes three calls, in a short-lived thread (namespaces of the
//! network kind belong to a thread, not to the whole process):
//! `unshare(CLONE_NEWNET)`, `mount --bind /proc/thread-self/ns/net FILE`, and
//! a netlink socket opened there, which stays bound to the new namespace after
//! the thread is gone: the engine configures the namespace through it.

use super::NetworkError;
use super::netlink::Netlink;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::path::Path;

/// Makes a new network namespace, bind-mounts it on `file` (created empty),
/// and returns a netlink socket that talks to it.
pub fn create_netns(file: &Path) -> Result<Netlink, NetworkError> {
    std::fs::File::create(file).map_err(NetworkError::io(
        "cannot create the netns mount point",
        file,
    ))?;
    let made = std::thread::scope(|s| {
        s.spawn(|| -> Result<Netlink, NetworkError> {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                NetworkError::Io {
                    what: "unshare(CLONE_NEWNET) for".into(),
                    path: file.to_path_buf(),
                    source: e.into(),
                }
            })?;
            mount(
                Some("/proc/thread-self/ns/net"),
                file,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| NetworkError::Io {
                what: "bind-mounting /proc/thread-self/ns/net on".into(),
                path: file.to_path_buf(),
                source: e.into(),
            })?;
            Ok(Netlink::open()?)
        })
        .join()
    });
    match made {
        Ok(result) => result,
        Err(_) => Err(NetworkError::Io {
            what: "the thread that makes the network namespace panicked for".into(),
            path: file.to_path_buf(),
            source: std::io::Error::other("panic"),
        }),
    }
}

/// Unmounts the namespace's bind mount and deletes the file. The namespace
/// itself goes when its last user does (the container's processes). Already
/// gone is success.
pub fn remove_netns(file: &Path) -> Result<(), NetworkError> {
    match umount2(file, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => {
            return Err(NetworkError::Io {
                what: "unmounting the network namespace".into(),
                path: file.to_path_buf(),
                source: e.into(),
            });
        }
    }
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetworkError::Io {
            what: "removing".into(),
            path: file.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Runs `f` in a thread that has joined the network namespace bound at
/// `file`: what the lab uses to read a container's interfaces from the host
/// (a netlink socket or /proc/thread-self/net/dev opened there).
pub fn run_in<T: Send>(file: &Path, f: impl FnOnce() -> T + Send) -> Result<T, NetworkError> {
    let ns = std::fs::File::open(file)
        .map_err(NetworkError::io("cannot open the network namespace", file))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                NetworkError::Io {
                    what: "setns(CLONE_NEWNET) into".into(),
                    path: file.to_path_buf(),
                    source: e.into(),
                }
            })?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(NetworkError::Io {
                what: "the thread in the network namespace panicked:".into(),
                path: file.to_path_buf(),
                source: std::io::Error::other("panic"),
            })
        })
    })
}
