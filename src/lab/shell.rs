//! The shell pane's terminal: `glassbox exec -it NAME sh` on a pty of ours.
//!
//! `!` in the lab opens a shell inside the focused container. It is exactly
//! what a student would type in another terminal, `glassbox exec -it NAME
//! sh` (the same join: setns into the container's namespaces, its cgroup, its
//! user and capabilities), except that its terminal is a pseudo-terminal the
//! lab opened itself (openpty(3)): the lab is the terminal emulator. Bytes
//! the shell writes go to the master end, which a reader thread feeds to a
//! [`vt100::Parser`] (the screen state: cells, colours, cursor); the app
//! draws that screen and sends keys back as the bytes a terminal would.
//!
//! The child gets its own session with the pty as its controlling terminal
//! (setsid, TIOCSCTTY), so that a resize (TIOCSWINSZ on the master) reaches
//! it as SIGWINCH and `glassbox exec` passes the new size on inside.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use tui_term::vt100;

/// What the shell's reader thread reports to the app.
#[derive(Debug, Clone)]
pub enum ShellEvent {
    /// The screen after the shell's latest output.
    Screen(Box<vt100::Screen>),
    /// The shell exited (`exit`, Ctrl-D, or the container stopped).
    Exited {
        container: String,
        code: Option<i32>,
    },
    /// The shell could not be started.
    Failed(String),
}

/// Lines of scrollback the pane keeps.
const SCROLLBACK: usize = 500;

/// An open shell: the pty's master, the child, and the parser both the
/// reader thread and a resize use.
pub struct ShellSession {
    master: std::fs::File,
    parser: Arc<Mutex<vt100::Parser>>,
    pid: u32,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn winsize(rows: u16, cols: u16) -> nix::pty::Winsize {
    nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

fn cloexec(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map(|_| ())
        .map_err(std::io::Error::from)
}

impl ShellSession {
    /// Opens a pty of `rows` x `cols`, starts `EXE --root ROOT exec -it NAME
    /// sh` on its slave end, and a thread that reads its output; `send` gets
    /// each new screen, then the exit. Returns once the child is started.
    pub fn open(
        exe: &Path,
        root: &Path,
        container: &str,
        rows: u16,
        cols: u16,
        send: impl Fn(ShellEvent) -> bool + Send + 'static,
    ) -> std::io::Result<ShellSession> {
        let pty = nix::pty::openpty(&winsize(rows, cols), None).map_err(std::io::Error::from)?;
        cloexec(&pty.master)?;
        cloexec(&pty.slave)?;
        let slave = pty.slave;
        let mut cmd = Command::new(exe);
        cmd.arg("--root")
            .arg(root)
            .args(["exec", "-it", container, "sh"])
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec the closure only makes system calls
        // that are async-signal-safe (setsid, ioctl) on the child's own fd 0.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own, with the pty as its controlling
                // terminal: resizes then arrive as SIGWINCH.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        // The parent's copies of the slave went with `cmd`: once the child
        // exits, a read of the master ends (EIO).
        drop(cmd);
        let pid = child.id();
        let master = std::fs::File::from(pty.master);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, SCROLLBACK)));
        let reader = {
            let mut input = master.try_clone()?;
            let parser = parser.clone();
            let container = container.to_string();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match input.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let screen = match parser.lock() {
                                Ok(mut p) => {
                                    p.process(&buf[..n]);
                                    p.screen().clone()
                                }
                                Err(_) => break,
                            };
                            if !send(ShellEvent::Screen(Box::new(screen))) {
                                break;
                            }
                        }
                    }
                }
                let code = child.wait().ok().and_then(|s| s.code());
                send(ShellEvent::Exited { container, code });
            })
        };
        Ok(ShellSession {
            master,
            parser,
            pid,
            reader: Some(reader),
        })
    }

    /// Sends keys (as a terminal encodes them) to the shell.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.master.write_all(bytes)
    }

    /// Resizes the pty (the kernel signals the shell) and the screen.
    pub fn resize(&mut self, rows: u16, cols: u16) -> Option<vt100::Screen> {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        crate::runtime::pty::set_window_size(self.master.as_raw_fd(), &ws);
        let mut p = self.parser.lock().ok()?;
        p.screen_mut().set_size(rows, cols);
        Some(p.screen().clone())
    }

    /// Ends the shell: SIGHUP to its session, as when a terminal closes.
    pub fn close(mut self) {
        self.hang_up();
    }

    fn hang_up(&mut self) {
        // The child leads its own session (setsid): the negative PID is it.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-(self.pid as i32)),
            nix::sys::signal::Signal::SIGHUP,
        );
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for ShellSession {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.hang_up();
        }
    }
}

/// The bytes a terminal sends for a key (xterm's encoding): what the shell
/// reads when the student presses it. `app_cursor` is the mode a program
/// like `less` asks for (arrows as `ESC O A`). `None` for keys that send nothing.
pub fn key_bytes(key: &crossterm::event::KeyEvent, app_cursor: bool) -> Option<Vec<u8>> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let csi = |s: &str| format!("\x1b[{s}").into_bytes();
    let arrow = |c: char| {
        if app_cursor {
            format!("\x1bO{c}").into_bytes()
        } else {
            format!("\x1b[{c}").into_bytes()
        }
    };
    let mut out = match key.code {
        KeyCode::Char(c) if ctrl => {
            let b = c.to_ascii_lowercase() as u32;
            match c {
                'a'..='z' | 'A'..='Z' => vec![(b & 0x1f) as u8],
                '@' | ' ' => vec![0],
                '[' => vec![0x1b],
                '\\' => vec![0x1c],
                ']' => vec![0x1d],
                '^' => vec![0x1e],
                '_' => vec![0x1f],
                _ => return None,
            }
        }
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => csi("Z"),
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => arrow('A'),
        KeyCode::Down => arrow('B'),
        KeyCode::Right => arrow('C'),
        KeyCode::Left => arrow('D'),
        KeyCode::Home => arrow('H'),
        KeyCode::End => arrow('F'),
        KeyCode::Insert => csi("2~"),
        KeyCode::Delete => csi("3~"),
        KeyCode::PageUp => csi("5~"),
        KeyCode::PageDown => csi("6~"),
        KeyCode::F(n) => match n {
            1 => b"\x1bOP".to_vec(),
            2 => b"\x1bOQ".to_vec(),
            3 => b"\x1bOR".to_vec(),
            4 => b"\x1bOS".to_vec(),
            5 => csi("15~"),
            6 => csi("17~"),
            7 => csi("18~"),
            8 => csi("19~"),
            9 => csi("20~"),
            10 => csi("21~"),
            11 => csi("23~"),
            12 => csi("24~"),
            _ => return None,
        },
        _ => return None,
    };
    if alt {
        out.insert(0, 0x1b);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(code: KeyCode, m: KeyModifiers) -> Vec<u8> {
        key_bytes(&KeyEvent::new(code, m), false).unwrap_or_default()
    }

    #[test]
    fn keys_are_encoded_as_a_terminal_sends_them() {
        assert_eq!(key(KeyCode::Char('d'), KeyModifiers::CONTROL), [4]);
        assert_eq!(key(KeyCode::Char('C'), KeyModifiers::CONTROL), [3]);
        assert_eq!(key(KeyCode::Enter, KeyModifiers::NONE), b"\r");
        assert_eq!(key(KeyCode::Up, KeyModifiers::NONE), b"\x1b[A");
        assert_eq!(key(KeyCode::Char('é'), KeyModifiers::NONE), "é".as_bytes());
        assert_eq!(key(KeyCode::Char('b'), KeyModifiers::ALT), b"\x1bb");
        let up = KeyEvent::new(KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(key_bytes(&up, true).as_deref(), Some(&b"\x1bOA"[..]));
    }
}
