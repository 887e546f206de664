//! A real terminal for the lab's tests: a tmux session, each on a tmux
//! server of its own (`tmux -L NAME`, no config file).
//!
//! One server per session, because a tmux server exits when its last
//! session ends: with one shared server, a test whose session ended (its
//! lab killed) and which at once opened another could find its new session
//! on the server that was exiting, and the socket gone under it; the
//! session "ended" before its first screen. A server of its own also keeps a
//! test away from another test's (or the user's) sessions and options.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// True when tmux runs here; in CI its absence fails the test that needs it.
pub fn have_tmux(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{test} needs tmux, and CI must run it: apt install tmux");
        }
        eprintln!("SKIPPED {test}: tmux is not installed (apt install tmux)");
    }
    ok
}

/// A tmux session running one command, on its own server; the server is
/// killed when this is dropped.
pub struct Tmux {
    name: String,
    /// The server's socket, removed with the server.
    socket: Option<std::path::PathBuf>,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a `width` x `height`
    /// terminal. `name` must be unique on this machine while the test runs.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let mut tmux = Tmux {
            name: name.to_string(),
            socket: None,
        };
        // A server of that name left by an earlier run of the same test.
        let _ = tmux.run(&["kill-server"]);
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let socket = tmux.display("#{socket_path}");
        tmux.socket = (!socket.is_empty()).then(|| socket.into());
        tmux
    }

    /// `tmux -L NAME -f /dev/null ARGS` on this session's server.
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.name, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// What the terminal shows now (empty once the session has ended).
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", &self.name]).stdout)
            .into_owned()
    }

    /// Types `keys` (tmux key names, or text), one after the other.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.run(&["send-keys", "-t", &self.name, k]);
            assert!(
                out.status.success(),
                "tmux send-keys {k:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// A tmux format of the pane (`#{alternate_on}`, `#{pane_pid}`).
    pub fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display-message", "-p", "-t", &self.name, format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// The PID of the pane's process (the command itself when the command
    /// line `exec`s it).
    pub fn pane_pid(&self) -> u32 {
        self.display("#{pane_pid}").parse().expect("pane pid")
    }

    /// True while the session exists (its command has not ended).
    pub fn alive(&self) -> bool {
        self.run(&["has-session", "-t", &self.name])
            .status
            .success()
    }

    /// Closes the window: the terminal hangs up on its processes.
    pub fn kill_window(&self) {
        let _ = self.run(&["kill-window", "-t", &self.name]);
    }

    /// Waits until `pred` holds for the screen, at most `timeout`; panics
    /// with the screen, and with what the command wrote to `stderr` (a file)
    /// if given, on a timeout or as soon as the session has ended.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        stderr: Option<&Path>,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let said = || {
            stderr
                .map(|p| {
                    format!(
                        "\nits stderr: {}",
                        std::fs::read_to_string(p).unwrap_or_default()
                    )
                })
                .unwrap_or_default()
        };
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if !self.alive() {
                panic!(
                    "the session ended before {what}; its last screen:\n{screen}{}",
                    said()
                );
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out waiting for {what}; the screen:\n{screen}{}",
                    said()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        // tmux leaves the socket's file when its server is killed.
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}
