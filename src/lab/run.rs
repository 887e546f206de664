//! The lab's commands: `glassbox lessons [--check]` and `glassbox lab [TOPIC]`.
//!
//! `lab` owns the terminal and three threads, as bottom does: the input
//! thread (keys, resizes), the sampler (a [`crate::lab::sample::Sample`] every
//! 250 ms) and the demo worker (one job at a time). All three feed one
//! channel of [`Event`]s; the loop hands each to the [`App`], carries out the
//! [`Effect`]s it returns, and redraws. A panic hook restores the terminal
//! before the panic message prints.
//!
//! ## However the terminal goes, the lab ends cleanly
//!
//! `q`, SIGTERM, SIGINT, a hangup (SIGHUP, or the terminal's end seen on
//! its input: POLLHUP), or a terminal that no longer takes output all end
//! the same way: the threads stop, the lab's `lab-*` containers are removed,
//! and only then is the terminal restored (it may be gone: nothing that
//! writes to it may panic, and nothing waits on it). The lab writes its PID
//! to `<root>/lab.pid` while it runs; a lab that finds the file of one that
//! is gone (SIGKILL) says so and removes what it left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use clap::Args;
use crossterm::event::Event as CtEvent;

use super::demo::{self, DemoEvent, DemoRunner, LineKind, LogLine, TryJob};
use super::sampler::Sampler;
use super::shell::{ShellEvent, ShellSession};
use crate::engine::DataRoot;
use crate::engine::container;
use crate::tui::{App, Effect, Event};

/// `glassbox lessons`' flags.
#[derive(Debug, Clone, Default, Args)]
pub struct LessonsArgs {
    /// Validate every lesson file and report each problem as file:line:col
    #[arg(long)]
    pub check: bool,
    /// The lessons directory (default: $GLASSBOX_LESSONS, ./lessons, or the source tree's)
    #[arg(long)]
    pub lessons: Option<PathBuf>,
}

/// `glassbox lessons`: one topic a line; with `--check`, every problem in
/// every file, exit 1 if there was any.
pub fn lessons(args: LessonsArgs) -> anyhow::Result<i32> {
    let dir = match args.lessons {
        Some(d) => d,
        None => super::find_lessons_dir()?,
    };
    let (lessons, diagnostics) = super::check::check_dir(&dir);
    if args.check {
        for d in &diagnostics {
            crate::outln!("{d}");
        }
        if diagnostics.is_empty() {
            crate::outln!("{}: {} lessons, no problems", dir.display(), lessons.len());
            return Ok(0);
        }
        crate::outln!("{} problem(s) in {}", diagnostics.len(), dir.display());
        return Ok(1);
    }
    if !diagnostics.is_empty() {
        anyhow::bail!(
            "the lessons in {} have {} problem(s): run `glassbox lessons --check`",
            dir.display(),
            diagnostics.len()
        );
    }
    for lesson in &lessons {
        crate::outln!("{:>2}  {}", lesson.topic(), lesson.title);
    }
    Ok(0)
}

/// `glassbox lab`'s flags.
#[derive(Debug, Clone, Default, Args)]
pub struct LabArgs {
    /// The topic to open: its number (4) or id (cgroups)
    pub topic: Option<String>,
    /// The lessons directory (default: $GLASSBOX_LESSONS, ./lessons, or the source tree's)
    #[arg(long)]
    pub lessons: Option<PathBuf>,
    /// Presenter mode for a projector: large headings, one paragraph at a
    /// time (Space), hints hidden, the topic's demo played step by step (A)
    #[arg(long)]
    pub present: bool,
}

/// What this host and this glassbox lack, per lesson `need`, with the one
/// line the lab shows for it.
pub fn probe_missing(exe: &std::path::Path) -> BTreeMap<String, String> {
    let mut missing = BTreeMap::new();
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
    };
    if !on_path("iptables-save") {
        missing.insert(
            "iptables".to_string(),
            "this topic reads iptables, which is not installed: apt install iptables".to_string(),
        );
    }
    let help = |verb: &str| -> Option<String> {
        let out = Command::new(exe).args([verb, "--help"]).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for verb in ["build", "history", "commit"] {
        if help(verb).is_none() {
            missing.insert(
                verb.to_string(),
                format!(
                    "this glassbox has no `glassbox {verb}` yet (that part of the engine is not in this build): this topic's demo cannot run"
                ),
            );
        }
    }
    let run_help = help("run").unwrap_or_default();
    if !run_help.contains("--publish") {
        missing.insert(
            "publish".to_string(),
            "this glassbox cannot publish ports yet (`run -p` is not in this build): this topic's demo cannot run".to_string(),
        );
    }
    if !run_help.contains("bridge") {
        missing.insert(
            "bridge".to_string(),
            "this glassbox has no bridge network yet (`run --network bridge` is not in this build): this topic's demo cannot run".to_string(),
        );
    }
    missing
}

/// The names of the data root's lab containers.
fn lab_containers(root: &Option<DataRoot>) -> Vec<String> {
    root.as_ref()
        .and_then(|r| container::list(r).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .filter(|n| n.starts_with("lab-"))
        .collect()
}

/// Set by SIGTERM, SIGHUP or SIGINT: the lab then quits as if `q` was pressed,
/// so that it still removes its containers and restores the terminal.
static STOP_SIGNAL: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP_SIGNAL.store(true, Ordering::SeqCst);
}

/// Catches the signals that end a terminal program. A handler (unlike a
/// blocked mask) is reset by execve, so the containers and commands the lab
/// starts still get the default dispositions.
fn catch_stop_signals() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if let Err(e) = unsafe { sigaction(signal, &action) } {
            crate::errln!("glassbox lab: cannot catch {signal}: {e}");
        }
    }
}

/// Sleeps `total`, in slices, until `stop` says so.
fn pause(total: Duration, stop: &dyn Fn() -> bool) {
    let slice = Duration::from_millis(50);
    let start = std::time::Instant::now();
    while !stop() && start.elapsed() < total {
        std::thread::sleep(slice.min(total.saturating_sub(start.elapsed())));
    }
}

/// What a previous lab on this data root left: its PID, if it is gone
/// without removing its `lab.pid` (it was killed). A live one is left alone.
fn claim_lab(root: &DataRoot) -> Option<i32> {
    let path = root.path.join("lab.pid");
    let previous = std::fs::read_to_string(&path).ok().and_then(|t| {
        let mut w = t.split_whitespace();
        Some((
            w.next()?.parse::<i32>().ok()?,
            w.next()?.parse::<u64>().ok()?,
        ))
    });
    let me = std::process::id();
    let start = crate::inspect::proc_stat::process_start_time(me).unwrap_or(0);
    let _ = std::fs::write(&path, format!("{me} {start}\n"));
    match previous {
        Some((pid, start)) if !container::process_alive(pid, start) => Some(pid),
        _ => None,
    }
}

/// True when the terminal on fd 0 has hung up (its other end closed).
fn hung_up(timeout_ms: i32) -> bool {
    let mut fds = [libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: poll(2) on one pollfd we own, for at most timeout_ms.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
    n > 0 && fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// Enters the lab's screen. The panic hook restores the terminal and never
/// fails itself (ratatui's own hook prints with `eprintln!`, which panics
/// again on a terminal that is gone, and the process aborts).
fn enter_terminal() -> std::io::Result<ratatui::DefaultTerminal> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = ratatui::try_restore();
        hook(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

/// `glassbox lab [TOPIC]`: the TUI. Returns once the student quits (or the
/// terminal goes), after removing the containers the demos started.
pub fn lab(root_path: &Path, args: LabArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the lab draws a full-screen UI and needs a terminal: run it in one (`glassbox lessons` lists the topics without one)"
        );
    }
    let dir = match args.lessons {
        Some(d) => d,
        None => super::find_lessons_dir()?,
    };
    let lessons = super::load_lessons(&dir)?;
    // The exercises and the student's progress; the lab opens at the topic
    // the student was last on.
    let (pane, progress_file, notes) = super::exercises::load(&dir);
    let topic = match &args.topic {
        Some(key) => super::find_topic(&lessons, key).ok_or_else(|| {
            anyhow::anyhow!("no topic {key:?}: `glassbox lessons` lists them (number or id)")
        })?,
        None => pane
            .progress
            .current_topic
            .and_then(|t| super::find_topic(&lessons, &t.to_string()))
            .unwrap_or(0),
    };
    let is_root = nix::unistd::geteuid().is_root();
    // Without root the data root may not be creatable: the lessons still read.
    let root = if is_root {
        Some(DataRoot::open(root_path)?)
    } else {
        None
    };
    let exe = std::env::current_exe()?;
    let runner = DemoRunner {
        exe: exe.clone(),
        root: root
            .as_ref()
            .map(|r| r.path.clone())
            .unwrap_or_else(|| root_path.to_path_buf()),
        base: dir
            .canonicalize()
            .ok()
            .and_then(|d| d.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from(".")),
        is_root,
    };
    let mut app = App::new(lessons, topic, is_root).with_exercises(pane);
    if args.present {
        app = app.presenting();
    }
    app.missing = probe_missing(&exe);
    for note in notes {
        app.log.push(LogLine::new(LineKind::Note, note));
    }
    // A lab that was killed left its containers: say so, and remove them.
    if let Some(previous) = root.as_ref().and_then(claim_lab) {
        // A daemon the killed lab started (topic 8) goes with it.
        runner.stop_daemon();
        let left = lab_containers(&root);
        if !left.is_empty() {
            app.log.push(LogLine::new(
                LineKind::Note,
                format!(
                    "the last lab on this data root (pid {previous}) ended without cleaning up (was it killed?); it left {}",
                    left.join(", ")
                ),
            ));
            let removed = runner.reset(&left, &mut |_| {});
            app.log.push(LogLine::new(
                LineKind::Ok,
                format!("removed what it left: {}", removed.join(", ")),
            ));
        }
    }
    // Resume here next time, even if the student never changes topic.
    let opened = app.topic_number();
    app.exercises.progress.jump(opened);
    match super::exercises::save(&progress_file, &app.exercises.progress) {
        Ok(Some(merged)) => app.exercises.adopt(&merged),
        Ok(None) => {}
        Err(note) => app.log.push(LogLine::new(LineKind::Fail, note)),
    }

    let (tx, rx) = mpsc::channel::<Event>();
    let stop = Arc::new(AtomicBool::new(false));
    let want = Arc::new(Mutex::new(app.want()));

    // The input thread: keys and resizes, polled so that it can stop. The
    // terminal's end (a closed window: POLLHUP on fd 0) is a quit; so is an
    // error reading it. crossterm reads every byte waiting on the terminal
    // at once and queues the events: those are taken first, and fd 0 is
    // waited on only when its queue is empty (else a paste into the `!`
    // shell would come in one key per wait).
    let input = {
        let (tx, stop) = (tx.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match crossterm::event::poll(Duration::from_millis(0)) {
                    Ok(true) => {}
                    Ok(false) => {
                        if hung_up(200) {
                            let _ = tx.send(Event::Quit);
                            break;
                        }
                        continue;
                    }
                    Err(_) => {
                        let _ = tx.send(Event::Quit);
                        break;
                    }
                }
                let event = match crossterm::event::read() {
                    Ok(CtEvent::Key(k)) => Event::Key(k),
                    Ok(CtEvent::Resize(w, h)) => Event::Resize(w, h),
                    Ok(_) => continue,
                    // The terminal is gone: quit, removing the containers.
                    Err(_) => Event::Quit,
                };
                let quit = matches!(event, Event::Quit);
                if tx.send(event).is_err() || quit {
                    break;
                }
            }
        })
    };
    // The sampler thread.
    let sampler = {
        let (tx, stop, want) = (tx.clone(), stop.clone(), want.clone());
        let sampler = Sampler::new(root.clone());
        std::thread::spawn(move || {
            sampler.run(want, stop, |s| tx.send(Event::Sample(Box::new(s))).is_ok())
        })
    };
    // The checker: grades on request, and when the data root's state changes.
    let topic_ids = Arc::new(Mutex::new(app.exercises.ids(app.topic_number())));
    let (checks, check_rx) = mpsc::channel::<Vec<String>>();
    let checker = super::exercises::spawn_checker(
        root.clone(),
        app.exercises.exercises.clone(),
        topic_ids.clone(),
        check_rx,
        stop.clone(),
        {
            let tx = tx.clone();
            move |r| tx.send(Event::Checked(r)).is_ok()
        },
    );
    // Another shell's `glassbox exercise …` shows here within half a second.
    let watcher = super::exercises::spawn_progress_watcher(progress_file.clone(), stop.clone(), {
        let tx = tx.clone();
        move |p| tx.send(Event::Progress(Box::new(p))).is_ok()
    });
    // The demo worker: one job at a time, in order. A play looks at
    // `stop_play` before each command and while it pauses, so that Esc or
    // r stop it at once rather than wait behind it.
    let (jobs, job_rx) = mpsc::channel::<Effect>();
    let stop_play = Arc::new(AtomicBool::new(false));
    let worker = {
        let (tx, runner, root) = (tx.clone(), runner.clone(), root.clone());
        let stop_play = stop_play.clone();
        std::thread::spawn(move || {
            for job in job_rx {
                let mut emit = |d: DemoEvent| {
                    let _ = tx.send(Event::Demo(d));
                };
                match job {
                    Effect::RunActions(actions) => runner.run_actions(&actions, &mut emit),
                    Effect::RunTry {
                        host,
                        inside,
                        focus,
                        pid,
                        columns,
                    } => runner.run_try(
                        &TryJob {
                            host: &host,
                            inside: &inside,
                            focus: focus.as_deref(),
                            pid,
                            columns,
                        },
                        &mut emit,
                    ),
                    Effect::Curl(port) => {
                        emit(DemoEvent::Line(LogLine::new(
                            LineKind::Command,
                            format!("$ curl http://127.0.0.1:{port}/"),
                        )));
                        let line = match demo::curl(port) {
                            Ok(l) => LogLine::new(LineKind::Ok, l),
                            Err(e) => LogLine::new(LineKind::Fail, e),
                        };
                        emit(DemoEvent::Line(line));
                        emit(DemoEvent::Done { ok: true });
                    }
                    Effect::Reset => {
                        runner.reset(&lab_containers(&root), &mut emit);
                        super::exercises::remove_lab_images(&runner, &root, &mut emit);
                        emit(DemoEvent::Done { ok: true });
                    }
                    Effect::Script { steps, pause_ms } => {
                        let stopped = || stop_play.load(Ordering::SeqCst);
                        let last = steps.len().saturating_sub(1);
                        let mut ok = true;
                        for (n, (i, actions)) in steps.into_iter().enumerate() {
                            if stopped() || tx.send(Event::GoStep(i)).is_err() {
                                break;
                            }
                            if !actions.is_empty()
                                && !runner.run_actions_until(&actions, &mut emit, &stopped)
                            {
                                ok = false;
                                break;
                            }
                            if n < last {
                                pause(Duration::from_millis(pause_ms), &stopped);
                            }
                        }
                        emit(DemoEvent::Done { ok });
                    }
                    // The main loop carries these out itself.
                    Effect::StopPlay
                    | Effect::Check(_)
                    | Effect::SaveProgress(_)
                    | Effect::OpenShell { .. }
                    | Effect::ShellInput(_)
                    | Effect::ShellResize { .. } => {}
                    Effect::Quit => break,
                }
            }
        })
    };
    // The shell pane's events come through this sender.
    let shell_tx = tx.clone();
    drop(tx);
    let mut shell: Option<ShellSession> = None;

    catch_stop_signals();
    let mut terminal = enter_terminal()?;
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    // Runs until a quit; an error drawing means the terminal is gone, which
    // is a quit too (said after the terminal is restored, if it still is).
    let ended: Option<String> = loop {
        if let Err(e) = terminal.draw(|f| f.render_widget(&app, f.area())) {
            break Some(format!(
                "the terminal no longer takes output ({e}): quitting"
            ));
        }
        let Ok(event) = rx.recv() else {
            break None;
        };
        // Samples arrive four times a second, so a signal is seen within 250 ms.
        let event = if STOP_SIGNAL.load(Ordering::SeqCst) {
            Event::Quit
        } else {
            event
        };
        let mut quit = false;
        for effect in app.handle(event) {
            match effect {
                Effect::Quit => quit = true,
                Effect::Check(ids) => {
                    let _ = checks.send(ids);
                }
                Effect::StopPlay => stop_play.store(true, Ordering::SeqCst),
                Effect::Script { steps, pause_ms } => {
                    // A stop meant for an earlier play must not end this one.
                    stop_play.store(false, Ordering::SeqCst);
                    let _ = jobs.send(Effect::Script { steps, pause_ms });
                }
                Effect::OpenShell {
                    container,
                    rows,
                    cols,
                } => {
                    let tx = shell_tx.clone();
                    let opened = ShellSession::open(
                        &runner.exe,
                        &runner.root,
                        &container,
                        rows,
                        cols,
                        move |e| tx.send(Event::Shell(e)).is_ok(),
                    );
                    match opened {
                        Ok(s) => shell = Some(s),
                        Err(e) => {
                            app.handle(Event::Shell(ShellEvent::Failed(format!(
                                "cannot start `glassbox exec -it {container} sh` on a pty: {e}"
                            ))));
                        }
                    }
                }
                Effect::ShellInput(bytes) => {
                    if let Some(s) = shell.as_mut()
                        && let Err(e) = s.write(&bytes)
                    {
                        app.log
                            .push(LogLine::new(LineKind::Fail, format!("the shell: {e}")));
                    }
                }
                Effect::ShellResize { rows, cols } => {
                    if let Some(screen) = shell.as_mut().and_then(|s| s.resize(rows, cols)) {
                        app.handle(Event::Shell(ShellEvent::Screen(Box::new(screen))));
                    }
                }
                Effect::SaveProgress(p) => match super::exercises::save(&progress_file, &p) {
                    Ok(Some(merged)) => app.exercises.adopt(&merged),
                    Ok(None) => {}
                    Err(note) => app.log.push(LogLine::new(LineKind::Fail, note)),
                },
                job => {
                    let _ = jobs.send(job);
                }
            }
        }
        if quit {
            break None;
        }
        // A shell that ended is gone from the app: let its session go.
        if app.shell.is_none() {
            drop(shell.take());
        }
        if let Ok(mut ids) = topic_ids.lock() {
            *ids = app.exercises.ids(app.topic_number());
        }
        if let Ok(mut w) = want.lock() {
            let new = app.want();
            if *w != new {
                *w = new;
            }
        }
    };
    // The shell first: its `glassbox exec` ends with a hangup, as when a
    // terminal window closes.
    if let Some(s) = shell.take() {
        s.close();
    }
    drop(shell_tx);
    stop.store(true, Ordering::Relaxed);
    // A play stops after its current command, not at the topic's end.
    stop_play.store(true, Ordering::SeqCst);
    let _ = jobs.send(Effect::Quit);
    // A demo still running finishes before the containers are removed.
    let _ = worker.join();
    let _ = sampler.join();
    drop(checks);
    let _ = checker.join();
    let _ = input.join();
    if let Some(w) = watcher {
        let _ = w.join();
    }
    // The containers go before the terminal is touched again: it may be gone,
    // and a hangup may be followed by a harder end.
    let names = lab_containers(&root);
    let removed = if names.is_empty() {
        Vec::new()
    } else {
        runner.reset(&names, &mut |_| {})
    };
    // Topic 8's daemon, if a step started it (its containers went above).
    runner.stop_daemon();
    if let Some(r) = &root {
        let _ = std::fs::remove_file(r.path.join("lab.pid"));
    }
    // ratatui shows the cursor again when its Terminal is dropped, and
    // `eprintln!`s (a panic on a terminal that is gone) if that fails: show
    // it here, and where that fails, never drop it.
    if terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
    } else {
        drop(terminal);
    }
    let _ = ratatui::try_restore();
    if let Some(why) = ended {
        crate::errln!("glassbox lab: {why}");
    }
    if !names.is_empty() {
        crate::errln!(
            "glassbox lab: removed the lab's containers: {} ({} of {})",
            removed.join(" "),
            removed.len(),
            names.len()
        );
    }
    Ok(0)
}
