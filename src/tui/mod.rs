//! The lab's screen: one [`App`] state, one [`Event`] enum, pure rendering.
//!
//! The app never touches the kernel nor the terminal. Keys become intent
//! methods ([`App::next_topic`], [`App::run_step`], …) that change the state
//! and return [`Effect`]s for the runner ([`crate::lab::run`]) to carry out on
//! its threads; samples and demo output come back as events. Drawing is
//! `impl Widget for &App` ([`view`]), a function of the state alone, which is
//! what lets every screen be tested in a `TestBackend` with fixture data.

pub mod exercise;
pub mod panels;
pub mod view;

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::lab::Lesson;
use crate::lab::demo::{BuildRun, DemoEvent, LineKind, LogLine, TryOutput};
use crate::lab::lesson::{Action, Step};
use crate::lab::sample::{Sample, Want};

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    /// A fresh reading of the kernel from the sampler thread.
    Sample(Box<Sample>),
    /// Output of a demo job from the worker thread.
    Demo(DemoEvent),
    /// Exercise verdicts from the checker thread.
    Checked(Vec<crate::exercises::Graded>),
    /// The presenter's scripted run moved to this step.
    GoStep(usize),
    /// The shell pane's terminal: a new screen, or the shell ended.
    Shell(crate::lab::shell::ShellEvent),
    /// The progress file as it is now: after the lab's own save (merged
    /// with other writers'), or after another program changed it.
    Progress(Box<crate::exercises::progress::Progress>),
    Quit,
}

/// What the runner must do for the app: the only way the app acts on the world.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a step's demo actions.
    RunActions(Vec<Action>),
    /// Run "try it yourself" commands beside the focused container.
    RunTry {
        host: Vec<String>,
        inside: Vec<String>,
        focus: Option<String>,
        pid: Option<u32>,
        /// The columns the host commands' output is shown in (`$COLUMNS`).
        columns: u16,
    },
    /// Send `GET /` to a host port.
    Curl(u16),
    /// Remove the lab's containers.
    Reset,
    /// Grade these exercises against the kernel now.
    Check(Vec<String>),
    /// Write the progress file.
    SaveProgress(Box<crate::exercises::progress::Progress>),
    /// Presenter mode: run each step's demo in turn, pausing between steps.
    Script {
        steps: Vec<(usize, Vec<Action>)>,
        pause_ms: u64,
    },
    /// Stop the play now: the command running finishes, nothing after it
    /// runs. The runner carries this out at once, not behind the play.
    StopPlay,
    /// Open a shell inside `container` on a pty of `rows` x `cols`.
    OpenShell {
        container: String,
        rows: u16,
        cols: u16,
    },
    /// Keys for the shell, as a terminal encodes them.
    ShellInput(Vec<u8>),
    /// The shell pane changed size.
    ShellResize {
        rows: u16,
        cols: u16,
    },
    Quit,
}

/// The shell pane (`!`): a terminal running `sh` inside a container.
#[derive(Debug, Clone)]
pub struct ShellPane {
    pub container: String,
    /// The screen as the terminal emulator holds it; `None` until the
    /// shell's first output.
    pub screen: Option<tui_term::vt100::Screen>,
    /// Keys go to the shell (Ctrl-] gives them back to the lab).
    pub focused: bool,
}

/// A part of the screen that Tab can focus and PgDn/PgUp scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Pane {
    /// The lesson text, or the exercise in its place.
    #[default]
    Text,
    /// The demo output, or the try-it output.
    Output,
    /// The step's panel with this index.
    Panel(usize),
}

/// The map of the twenty topics (`m`), or the search of their text (`/`),
/// shown over the screen while `Some`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapView {
    /// The highlighted line: a topic, or a search hit.
    pub selected: usize,
    /// What the student typed after `/`; `None` for the map of the topics.
    pub query: Option<String>,
}

/// One place in the lessons where a search's words occur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The topic's index in the lessons (0-based).
    pub topic: usize,
    /// The step, when the words are in one (0-based).
    pub step: Option<usize>,
    /// Where: `summary`, `step 2 · title`, `what really happens`, `exercise · title`.
    pub place: String,
    /// The words around the first match, on one line.
    pub context: String,
}

/// How a topic's exercises stand, from the student's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicStatus {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Most search hits listed.
const HIT_LIMIT: usize = 200;

/// Most lines the output box keeps.
const LOG_LIMIT: usize = 400;

/// The lab's whole state.
#[derive(Debug, Clone)]
pub struct App {
    pub lessons: Vec<Lesson>,
    pub topic: usize,
    pub step: usize,
    /// The latest reading of the kernel.
    pub sample: Sample,
    /// Demo output, oldest first.
    pub log: Vec<LogLine>,
    /// The last "try it yourself" output.
    pub tried: Option<TryOutput>,
    /// A demo job is running; Enter waits for it.
    pub busy: bool,
    pub help: bool,
    /// Lines the help is scrolled down by (when it does not fit).
    pub help_scroll: u16,
    pub is_root: bool,
    /// Needs (see `lesson::NEEDS`) this host or build lacks, with the line to show.
    pub missing: BTreeMap<String, String>,
    /// The container the last `run` of this topic started.
    pub started: Option<String>,
    /// How long a plain process took (topic 7), in ms.
    pub plain_ms: Option<f64>,
    /// Starts timed just now (topic 7's `starts` action), in the order measured.
    pub starts: Vec<crate::lab::starts::StartTime>,
    /// The last builds, oldest first (at most four).
    pub builds: Vec<BuildRun>,
    /// Lines the lesson text is scrolled down by.
    pub scroll: u16,
    /// Which panel is shown when they do not all fit.
    pub panel_tab: usize,
    /// The pane Tab focused: PgDn/PgUp scroll it, its frame is thick.
    pub pane: Pane,
    /// Lines each of the step's panels is scrolled down by (by index).
    pub panel_scrolls: BTreeMap<usize, u16>,
    /// The demo output is shown over the whole body (`o`).
    pub show_log: bool,
    /// Lines the output is scrolled up from its end (the try-it output:
    /// down from its start).
    pub log_scroll: u16,
    pub quitting: bool,
    /// The exercises: their pane, verdicts and the student's progress.
    pub exercises: crate::exercises::pane::Pane,
    /// The exercise pane is shown in place of the lesson text (`e`).
    pub show_exercise: bool,
    /// Presenter mode (`glassbox lab --present`): large headings, one
    /// paragraph revealed at a time, hints hidden, a scripted demo.
    pub present: bool,
    /// Presenter mode: how many paragraphs of the step are revealed, then
    /// how many of the topic's "What really happens" corrections.
    pub revealed: usize,
    /// Presenter mode: the topic's demo is playing (`A`).
    pub playing: bool,
    /// Jobs sent behind the one running (a reset asked for during a play):
    /// that many `Done`s come before the lab is idle.
    pub queued: usize,
    /// The shell pane, when one is open.
    pub shell: Option<ShellPane>,
    /// The terminal's size (columns, rows), for the shell's pty.
    pub size: (u16, u16),
    /// The map of the topics or the search, when open (`m`, `/`).
    pub map: Option<MapView>,
}

impl App {
    pub fn new(lessons: Vec<Lesson>, topic: usize, is_root: bool) -> App {
        let topic = topic.min(lessons.len().saturating_sub(1));
        App {
            lessons,
            topic,
            step: 0,
            sample: Sample::default(),
            log: Vec::new(),
            tried: None,
            busy: false,
            help: false,
            help_scroll: 0,
            is_root,
            missing: BTreeMap::new(),
            started: None,
            plain_ms: None,
            starts: Vec::new(),
            builds: Vec::new(),
            scroll: 0,
            panel_tab: 0,
            pane: Pane::Text,
            panel_scrolls: BTreeMap::new(),
            show_log: false,
            log_scroll: 0,
            quitting: false,
            exercises: crate::exercises::pane::Pane::default(),
            show_exercise: false,
            present: false,
            revealed: 1,
            playing: false,
            queued: 0,
            shell: None,
            size: (80, 24),
            map: None,
        }
    }

    /// Adds the exercises and the student's progress.
    pub fn with_exercises(mut self, pane: crate::exercises::pane::Pane) -> App {
        self.exercises = pane;
        self
    }

    /// Turns on presenter mode.
    pub fn presenting(mut self) -> App {
        self.present = true;
        self
    }

    /// The current topic's number (1-based, as the lessons name it).
    pub fn topic_number(&self) -> u32 {
        self.lesson().map_or(0, |l| l.topic())
    }

    /// The paragraphs presenter mode reveals one by one: the topic's summary
    /// on its first step, then the step's text, paragraph by paragraph.
    pub fn paragraphs(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.step == 0
            && let Some(l) = self.lesson()
            && !l.summary.trim().is_empty()
        {
            out.push(l.summary.trim().to_string());
        }
        if let Some(s) = self.current_step() {
            out.extend(
                s.text
                    .trim()
                    .split("\n\n")
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            );
        }
        out
    }

    /// The topic's corrections of the seed ("What really happens"), which
    /// presenter mode reveals after the step's paragraphs, one per Space.
    pub fn corrections(&self) -> &[String] {
        self.lesson().map_or(&[], |l| l.really.as_slice())
    }

    pub fn lesson(&self) -> Option<&Lesson> {
        self.lessons.get(self.topic)
    }

    pub fn current_step(&self) -> Option<&Step> {
        self.lesson().and_then(|l| l.step.get(self.step))
    }

    /// The container the panels follow: the step's focus, else the last one started.
    pub fn focus(&self) -> Option<String> {
        self.current_step()
            .and_then(|s| s.focus().map(str::to_string))
            .or_else(|| self.started.clone())
    }

    /// What the sampler should read for the current step.
    pub fn want(&self) -> Want {
        let focus = self.focus();
        Want {
            how_to_start: focus.as_deref().and_then(|name| self.how_to_start(name)),
            focus,
            panels: self
                .current_step()
                .map(|s| s.panel_kinds().collect())
                .unwrap_or_default(),
        }
    }

    /// Where the student makes container `name` when this step's Enter does
    /// not: the step of this topic whose demo starts it, and the key that
    /// goes there. `None` when this step's demo starts it, or none does.
    pub fn how_to_start(&self, name: &str) -> Option<String> {
        use crate::lab::lesson::ActionKind;
        // `run … --name NAME`, or the docker CLI's `run`/`create` through the lab's daemon.
        let starts = |s: &Step| {
            s.actions.iter().any(|a| {
                let makes = match a.verb() {
                    ActionKind::Run => true,
                    ActionKind::Docker => {
                        matches!(a.args.first().map(String::as_str), Some("run" | "create"))
                    }
                    _ => false,
                };
                makes && crate::lab::demo::name_flag(&a.args).as_deref() == Some(name)
            })
        };
        if self.current_step().is_none_or(starts) {
            return None;
        }
        let at = self.lesson()?.step.iter().position(starts)?;
        let key = if at < self.step { '↑' } else { '↓' };
        Some(format!(
            "step {}'s demo starts it ({key} to that step, then Enter)",
            at + 1
        ))
    }

    /// The lines saying what this topic needs and this host or build lacks.
    pub fn missing_for_topic(&self) -> Vec<String> {
        let Some(lesson) = self.lesson() else {
            return Vec::new();
        };
        lesson
            .needs
            .iter()
            .filter_map(|n| self.missing.get(n.get_ref()).cloned())
            .collect()
    }

    // --- Events ---

    /// Applies one event; returns what the runner must do.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => self.on_key(key),
            Event::Resize(w, h) => {
                self.size = (w, h);
                match (&self.shell, self.shell_size()) {
                    (Some(_), Some((rows, cols))) => vec![Effect::ShellResize { rows, cols }],
                    _ => Vec::new(),
                }
            }
            Event::Shell(e) => {
                self.on_shell(e);
                Vec::new()
            }
            Event::Sample(sample) => {
                self.sample = *sample;
                Vec::new()
            }
            Event::Demo(d) => {
                self.on_demo(d);
                Vec::new()
            }
            Event::Progress(p) => {
                self.exercises.adopt(&p);
                Vec::new()
            }
            Event::Checked(results) => {
                if self.exercises.record(results) {
                    vec![self.save_progress()]
                } else {
                    Vec::new()
                }
            }
            Event::GoStep(step) => {
                let steps = self.lesson().map_or(0, |l| l.step.len());
                if step < steps && self.playing {
                    self.step = step;
                    self.reset_view();
                    // The step's text; the corrections stay for Space.
                    self.revealed = self.paragraphs().len();
                }
                Vec::new()
            }
            Event::Quit => self.quit(),
        }
    }

    fn save_progress(&self) -> Effect {
        Effect::SaveProgress(Box::new(self.exercises.progress.clone()))
    }

    /// Keys while an answer is typed: characters go into it.
    fn on_answer_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let topic = self.topic_number();
        match key.code {
            KeyCode::Enter => {
                if self.exercises.submit_answer(topic) {
                    let mut effects = vec![self.save_progress()];
                    effects.extend(self.check_exercises());
                    return effects;
                }
                Vec::new()
            }
            KeyCode::Esc => {
                self.exercises.cancel_answer();
                Vec::new()
            }
            KeyCode::Backspace => {
                self.exercises.backspace();
                Vec::new()
            }
            KeyCode::Char(c) => {
                self.exercises.type_char(c);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Keys of the exercise pane, when it is shown; `None` for other keys.
    fn on_exercise_key(&mut self, code: KeyCode) -> Option<Vec<Effect>> {
        let topic = self.topic_number();
        let saved = |app: &mut App, changed: bool| {
            if changed {
                vec![app.save_progress()]
            } else {
                Vec::new()
            }
        };
        match code {
            KeyCode::Char('x') => Some(self.check_exercises()),
            KeyCode::Char('i') if !self.present => {
                let changed = self.exercises.next_hint(topic);
                Some(saved(self, changed))
            }
            KeyCode::Char('s') if !self.present => {
                let changed = self.exercises.show_solution(topic);
                Some(saved(self, changed))
            }
            KeyCode::Char('S') => {
                let changed = self.exercises.skip(topic);
                Some(saved(self, changed))
            }
            KeyCode::Char('a') => {
                self.exercises.start_answer(topic);
                Some(Vec::new())
            }
            _ => None,
        }
    }

    fn on_demo(&mut self, event: DemoEvent) {
        match event {
            DemoEvent::Line(line) => self.push_log(line),
            DemoEvent::Started(name) => self.started = Some(name),
            DemoEvent::PlainMs(ms) => self.plain_ms = Some(ms),
            DemoEvent::Starts(s) => self.starts = s,
            DemoEvent::Build(run) => {
                self.builds.push(run);
                if self.builds.len() > 4 {
                    self.builds.remove(0);
                }
            }
            DemoEvent::Try(out) => {
                self.tried = Some(out);
                self.log_scroll = 0;
            }
            DemoEvent::Done { .. } => {
                self.playing = false;
                if self.queued > 0 {
                    self.queued -= 1;
                } else {
                    self.busy = false;
                }
            }
        }
    }

    fn push_log(&mut self, line: LogLine) {
        self.log.push(line);
        if self.log.len() > LOG_LIMIT {
            let extra = self.log.len() - LOG_LIMIT;
            self.log.drain(..extra);
        }
    }

    fn on_shell(&mut self, event: crate::lab::shell::ShellEvent) {
        use crate::lab::shell::ShellEvent;
        match event {
            ShellEvent::Screen(screen) => {
                if let Some(shell) = &mut self.shell {
                    shell.screen = Some(*screen);
                }
            }
            ShellEvent::Exited { container, code } => {
                self.shell = None;
                let code = code.map_or("killed".to_string(), |c| format!("exit {c}"));
                self.push_log(LogLine::new(
                    LineKind::Note,
                    format!("the shell in {container} ended ({code}); ! opens another"),
                ));
            }
            ShellEvent::Failed(why) => {
                self.shell = None;
                self.push_log(LogLine::new(LineKind::Fail, why));
            }
        }
    }

    /// The shell pane's inner size (rows, columns) on this terminal.
    pub fn shell_size(&self) -> Option<(u16, u16)> {
        let (w, h) = self.size;
        let inner = view::shell_inner(self, ratatui::layout::Rect::new(0, 0, w, h))?;
        Some((inner.height, inner.width))
    }

    /// `!`: opens a shell inside the focused container, or gives it the keys
    /// again; with no container running, says which step starts one.
    pub fn open_shell(&mut self) -> Vec<Effect> {
        if let Some(shell) = &mut self.shell {
            shell.focused = true;
            return Vec::new();
        }
        if !self.is_root {
            self.push_log(LogLine::new(
                LineKind::Fail,
                "a shell inside a container needs root: quit (q) and run `sudo glassbox lab`",
            ));
            return Vec::new();
        }
        let running = self
            .sample
            .container
            .ready()
            .filter(|c| c.running)
            .map(|c| c.name.clone());
        let Some(name) = running.filter(|n| self.focus().as_deref() == Some(n.as_str())) else {
            let why = self.no_shell_reason();
            self.push_log(LogLine::new(LineKind::Note, why));
            return Vec::new();
        };
        let Some((rows, cols)) = self.shell_size() else {
            self.push_log(LogLine::new(
                LineKind::Note,
                "the terminal is too small for a shell pane: make it at least 80x24",
            ));
            return Vec::new();
        };
        self.shell = Some(ShellPane {
            container: name.clone(),
            screen: None,
            focused: true,
        });
        vec![Effect::OpenShell {
            container: name,
            rows,
            cols,
        }]
    }

    /// Why `!` has no container to open a shell in, and which step starts one.
    fn no_shell_reason(&self) -> String {
        let Some(lesson) = self.lesson() else {
            return "no lesson loaded".into();
        };
        let focus = self.focus();
        // The steps that start a container that keeps running (`run -d`).
        let starts = |s: &Step| -> Option<String> {
            s.actions.iter().find_map(|a| {
                (a.verb() == crate::lab::lesson::ActionKind::Run
                    && a.args.iter().any(|x| x == "-d"))
                .then(|| crate::lab::demo::name_flag(&a.args))
                .flatten()
            })
        };
        let found = lesson
            .step
            .iter()
            .enumerate()
            .filter_map(|(i, s)| starts(s).map(|n| (i, s, n)))
            .find(|(_, _, n)| focus.as_deref().is_none_or(|f| f == n))
            .or_else(|| {
                lesson
                    .step
                    .iter()
                    .enumerate()
                    .find_map(|(i, s)| starts(s).map(|n| (i, s, n)))
            });
        match found {
            Some((i, _, name)) if i == self.step => format!(
                "no container is running yet: Enter runs this step's demo, which starts {name}; then ! opens a shell in it"
            ),
            Some((i, step, name)) => format!(
                "no container is running yet: step {} ({}) starts {name}: go there (↑↓), press Enter, then !",
                i + 1,
                step.title
            ),
            None => "this topic starts no container that keeps running: ! opens a shell in one (topic 1's first step starts lab-sleeper)".into(),
        }
    }

    /// Keys while the shell has focus: all go to it, but Ctrl-].
    fn on_shell_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // A terminal sends Ctrl-] as 0x1d, which crossterm reads as Ctrl-5.
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char(']') | KeyCode::Char('5'))
        {
            if let Some(shell) = &mut self.shell {
                shell.focused = false;
            }
            return Vec::new();
        }
        let app_cursor = self
            .shell
            .as_ref()
            .and_then(|s| s.screen.as_ref())
            .is_some_and(|s| s.application_cursor());
        match crate::lab::shell::key_bytes(&key, app_cursor) {
            Some(bytes) => vec![Effect::ShellInput(bytes)],
            None => Vec::new(),
        }
    }

    /// Maps a key to its intent: arrows and vim keys move, Enter runs, `?` helps.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.shell.as_ref().is_some_and(|s| s.focused) {
            return self.on_shell_key(key);
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return self.quit();
        }
        if self.map.is_some() {
            return self.on_map_key(key);
        }
        if self.help {
            // Arrows scroll a help longer than the screen; any other key
            // closes it; q still quits.
            match key.code {
                KeyCode::Down | KeyCode::Char('j') | KeyCode::PageDown => {
                    self.help_scroll = self.help_scroll.saturating_add(5);
                    return Vec::new();
                }
                KeyCode::Up | KeyCode::Char('k') | KeyCode::PageUp => {
                    self.help_scroll = self.help_scroll.saturating_sub(5);
                    return Vec::new();
                }
                _ => {}
            }
            self.help = false;
            self.help_scroll = 0;
            return if key.code == KeyCode::Char('q') {
                self.quit()
            } else {
                Vec::new()
            };
        }
        if self.exercises.answering.is_some() {
            return self.on_answer_key(key);
        }
        if self.show_exercise
            && let Some(effects) = self.on_exercise_key(key.code)
        {
            return effects;
        }
        match key.code {
            KeyCode::Char('q') => self.quit(),
            KeyCode::Char('e') => self.toggle_exercise(),
            KeyCode::Char('x') => {
                self.show_exercise = true;
                self.check_exercises()
            }
            KeyCode::Char(' ') if self.present => self.reveal_next(),
            KeyCode::Esc if self.playing => self.stop_play(),
            KeyCode::Char('A') if self.present => self.play_topic(),
            KeyCode::Char('?') => {
                self.help = true;
                Vec::new()
            }
            KeyCode::Char('!') => self.open_shell(),
            KeyCode::Char('m') => self.open_map(),
            KeyCode::Char('/') => self.open_search(),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char('n') => self.next_topic(),
            KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('p') => self.prev_topic(),
            KeyCode::Down | KeyCode::Char('j') => self.next_step(),
            KeyCode::Up | KeyCode::Char('k') => self.prev_step(),
            KeyCode::Enter => self.run_step(),
            KeyCode::Char('t') => self.try_it(),
            KeyCode::Char('c') => self.send_request(),
            KeyCode::Char('r') => self.reset(),
            KeyCode::Tab => self.next_pane(),
            KeyCode::BackTab => self.prev_pane(),
            KeyCode::Char('o') => self.toggle_output(),
            KeyCode::PageDown | KeyCode::Char('J') => self.scroll_down(),
            KeyCode::PageUp | KeyCode::Char('K') => self.scroll_up(),
            KeyCode::Home | KeyCode::Char('g') => self.go_topic(0),
            KeyCode::End | KeyCode::Char('G') => {
                self.go_topic(self.lessons.len().saturating_sub(1))
            }
            _ => Vec::new(),
        }
    }

    // --- Intents ---

    /// `m`: the map of the topics, at the current one.
    pub fn open_map(&mut self) -> Vec<Effect> {
        self.map = Some(MapView {
            selected: self.topic,
            query: None,
        });
        Vec::new()
    }

    /// `/`: the search of every topic's text, empty until typed.
    pub fn open_search(&mut self) -> Vec<Effect> {
        self.map = Some(MapView {
            selected: 0,
            query: Some(String::new()),
        });
        Vec::new()
    }

    /// How the exercises of the topic at `index` stand.
    pub fn topic_status(&self, index: usize) -> TopicStatus {
        let Some(lesson) = self.lessons.get(index) else {
            return TopicStatus::default();
        };
        let mut out = TopicStatus::default();
        for e in self.exercises.of_topic(lesson.topic()) {
            use crate::exercises::progress::ExerciseStatus;
            out.total += 1;
            match self.exercises.progress.exercise(&e.id).status {
                ExerciseStatus::Passed => out.passed += 1,
                ExerciseStatus::Failed => out.failed += 1,
                ExerciseStatus::Skipped => out.skipped += 1,
                ExerciseStatus::Open => {}
            }
        }
        out
    }

    /// Every place in the lessons where `query` occurs (ASCII letters
    /// without regard to case), topic by topic: the title and summary, each
    /// step (its title, text and commands), the corrections, the exercises.
    pub fn search(&self, query: &str) -> Vec<Hit> {
        let q = query.trim().to_ascii_lowercase();
        let mut out = Vec::new();
        if q.is_empty() {
            return out;
        }
        for (topic, l) in self.lessons.iter().enumerate() {
            let mut places: Vec<(Option<usize>, String, String)> = vec![(
                None,
                "topic".to_string(),
                format!("{} {}", l.title, l.summary),
            )];
            for (i, st) in l.step.iter().enumerate() {
                let mut text = format!("{} {}", st.title, st.text);
                for a in &st.actions {
                    text.push(' ');
                    text.push_str(&a.args.join(" "));
                }
                for c in st.try_host.iter().chain(&st.try_inside) {
                    text.push(' ');
                    text.push_str(c);
                }
                places.push((Some(i), format!("step {} · {}", i + 1, st.title), text));
            }
            for r in &l.really {
                places.push((None, "what really happens".to_string(), r.clone()));
            }
            for e in &l.exercise {
                places.push((
                    None,
                    format!("exercise · {}", e.title),
                    format!("{} {}", e.title, e.task),
                ));
            }
            for (step, place, text) in places {
                if let Some(context) = around(&text, &q) {
                    out.push(Hit {
                        topic,
                        step,
                        place,
                        context,
                    });
                    if out.len() >= HIT_LIMIT {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// Keys while the map or the search is open: arrows choose, Enter opens
    /// the topic (at the step of a hit), Esc closes; in the search, typing
    /// edits the words.
    fn on_map_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(mut map) = self.map.take() else {
            return Vec::new();
        };
        let count = match &map.query {
            None => self.lessons.len(),
            Some(q) => self.search(q).len(),
        };
        let last = count.saturating_sub(1);
        let searching = map.query.is_some();
        match key.code {
            KeyCode::Esc => return Vec::new(),
            KeyCode::Char('m' | 'q') if !searching => return Vec::new(),
            KeyCode::Up => map.selected = map.selected.saturating_sub(1),
            KeyCode::Char('k') if !searching => map.selected = map.selected.saturating_sub(1),
            KeyCode::Down => map.selected = (map.selected + 1).min(last),
            KeyCode::Char('j') if !searching => map.selected = (map.selected + 1).min(last),
            KeyCode::PageUp => map.selected = map.selected.saturating_sub(10),
            KeyCode::PageDown => map.selected = (map.selected + 10).min(last),
            KeyCode::Char('/') if !searching => {
                map = MapView {
                    selected: 0,
                    query: Some(String::new()),
                }
            }
            KeyCode::Backspace if searching => {
                if let Some(q) = &mut map.query {
                    q.pop();
                }
                map.selected = 0;
            }
            KeyCode::Char(c) if searching => {
                if let Some(q) = &mut map.query {
                    q.push(c);
                }
                map.selected = 0;
            }
            KeyCode::Enter => {
                let target = match &map.query {
                    None => Some((map.selected.min(last), None)),
                    Some(q) => self.search(q).get(map.selected).map(|h| (h.topic, h.step)),
                };
                let Some((topic, step)) = target else {
                    self.map = Some(map);
                    return Vec::new();
                };
                let effects = self.go_topic(topic);
                if let Some(step) = step
                    && step != self.step
                {
                    self.step = step;
                    self.reset_view();
                    self.tried = None;
                    self.revealed = 1;
                }
                return effects;
            }
            _ => {}
        }
        self.map = Some(map);
        Vec::new()
    }

    pub fn next_topic(&mut self) -> Vec<Effect> {
        self.go_topic(self.topic + 1)
    }

    pub fn prev_topic(&mut self) -> Vec<Effect> {
        self.go_topic(self.topic.saturating_sub(1))
    }

    /// Opens a topic at its first step; the demo output starts afresh.
    pub fn go_topic(&mut self, topic: usize) -> Vec<Effect> {
        let topic = topic.min(self.lessons.len().saturating_sub(1));
        if topic != self.topic {
            // A play belongs to its topic: leaving the topic ends it.
            let mut effects = if self.playing {
                self.stop_play()
            } else {
                Vec::new()
            };
            self.topic = topic;
            self.step = 0;
            self.reset_view();
            self.started = None;
            self.tried = None;
            self.log.clear();
            self.sample = Sample::default();
            self.revealed = 1;
            self.exercises.selected = 0;
            self.exercises.answering = None;
            let number = self.topic_number();
            self.exercises.progress.jump(number);
            effects.push(self.save_progress());
            return effects;
        }
        Vec::new()
    }

    pub fn next_step(&mut self) -> Vec<Effect> {
        let steps = self.lesson().map_or(0, |l| l.step.len());
        if self.step + 1 < steps {
            self.step += 1;
            self.reset_view();
            self.tried = None;
            self.revealed = 1;
        }
        Vec::new()
    }

    pub fn prev_step(&mut self) -> Vec<Effect> {
        if self.step > 0 {
            self.step -= 1;
            self.reset_view();
            self.tried = None;
        }
        Vec::new()
    }

    /// Runs the step's demo; says so when there is none or one is running.
    pub fn run_step(&mut self) -> Vec<Effect> {
        if self.busy {
            self.push_log(LogLine::new(
                LineKind::Note,
                "a demo is still running: wait for it to finish",
            ));
            return Vec::new();
        }
        let Some(step) = self.current_step() else {
            return Vec::new();
        };
        let actions = step.actions.clone();
        if actions.is_empty() {
            self.push_log(LogLine::new(
                LineKind::Note,
                "this step has no demo: read the panels, or press t to try the commands",
            ));
            return Vec::new();
        }
        let missing = self.missing_for_topic();
        if !missing.is_empty() {
            for m in missing {
                self.push_log(LogLine::new(LineKind::Fail, m));
            }
            return Vec::new();
        }
        self.busy = true;
        // What the demo prints is what to read next (PgUp scrolls it).
        self.pane = Pane::Output;
        self.log_scroll = 0;
        vec![Effect::RunActions(actions)]
    }

    /// Runs the step's "try it yourself" commands.
    pub fn try_it(&mut self) -> Vec<Effect> {
        if self.busy {
            return Vec::new();
        }
        let Some(step) = self.current_step() else {
            return Vec::new();
        };
        if step.try_host.is_empty() && step.try_inside.is_empty() {
            self.push_log(LogLine::new(
                LineKind::Note,
                "this step has no try-it-yourself commands",
            ));
            return Vec::new();
        }
        let (host, inside) = (step.try_host.clone(), step.try_inside.clone());
        let pid = self
            .sample
            .container
            .ready()
            .filter(|c| c.running)
            .map(|c| c.pid);
        self.busy = true;
        self.pane = Pane::Output;
        let columns = view::try_columns(self, self.screen(), inside.is_empty());
        vec![Effect::RunTry {
            host,
            inside,
            focus: self.focus(),
            pid,
            columns,
        }]
    }

    /// Sends one request to the port this topic's demo publishes (topic 11).
    pub fn send_request(&mut self) -> Vec<Effect> {
        let port = self.lesson().and_then(|l| {
            l.step
                .iter()
                .flat_map(|s| s.actions.iter())
                .find_map(|a| a.port.as_ref().map(|p| *p.get_ref()))
        });
        match port {
            Some(port) if !self.busy => {
                self.busy = true;
                vec![Effect::Curl(port)]
            }
            Some(_) => Vec::new(),
            None => {
                self.push_log(LogLine::new(
                    LineKind::Note,
                    "c sends a request in the port-mapping topic (11); this topic publishes no port",
                ));
                Vec::new()
            }
        }
    }

    /// Removes the lab's containers, so the topic's demo starts clean.
    /// During a play it stops the play first (the reset does not wait for
    /// the rest of the topic).
    pub fn reset(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.playing {
            effects = self.stop_play();
            self.queued += 1;
        } else if self.busy {
            self.push_log(LogLine::new(
                LineKind::Note,
                "a demo is still running: r resets once it ends",
            ));
            return Vec::new();
        }
        self.busy = true;
        self.started = None;
        self.tried = None;
        effects.push(Effect::Reset);
        effects
    }

    /// Presenter mode: stops the play; the command running now finishes.
    pub fn stop_play(&mut self) -> Vec<Effect> {
        if !self.playing {
            return Vec::new();
        }
        self.playing = false;
        self.push_log(LogLine::new(
            LineKind::Note,
            "play stopped: the command running now finishes, nothing after it runs",
        ));
        vec![Effect::StopPlay]
    }

    /// A new step or topic: the text from its top, the first panel, the
    /// focus on the text.
    fn reset_view(&mut self) {
        self.scroll = 0;
        self.panel_tab = 0;
        self.pane = Pane::Text;
        self.panel_scrolls.clear();
        self.log_scroll = 0;
    }

    /// Lines the step's panel `index` is scrolled down by.
    pub fn panel_scroll(&self, index: usize) -> u16 {
        self.panel_scrolls.get(&index).copied().unwrap_or(0)
    }

    /// The whole terminal, as the layout sees it.
    fn screen(&self) -> ratatui::layout::Rect {
        ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Tab: focuses the next pane (text, output, each panel, around);
    /// a panel that shows one at a time comes to the front.
    pub fn next_pane(&mut self) -> Vec<Effect> {
        self.move_focus(1)
    }

    /// Shift-Tab: focuses the previous pane.
    pub fn prev_pane(&mut self) -> Vec<Effect> {
        self.move_focus(-1)
    }

    fn move_focus(&mut self, by: isize) -> Vec<Effect> {
        let panes = view::panes(self, self.screen());
        if panes.is_empty() {
            return Vec::new();
        }
        let at = panes.iter().position(|p| *p == self.pane);
        let n = panes.len() as isize;
        let next = match at {
            Some(i) => (i as isize + by).rem_euclid(n) as usize,
            None => 0,
        };
        self.pane = panes[next];
        if let Pane::Panel(i) = self.pane {
            self.panel_tab = i;
        }
        Vec::new()
    }

    /// Shows the demo output over the whole body, or back.
    pub fn toggle_output(&mut self) -> Vec<Effect> {
        self.show_log = !self.show_log;
        self.log_scroll = 0;
        self.pane = if self.show_log {
            Pane::Output
        } else {
            Pane::Text
        };
        Vec::new()
    }

    /// PgDn: scrolls the focused pane a page down (toward the output's
    /// latest lines), at most to its last line.
    pub fn scroll_down(&mut self) -> Vec<Effect> {
        self.scroll_by(1)
    }

    /// PgUp: scrolls the focused pane a page up.
    pub fn scroll_up(&mut self) -> Vec<Effect> {
        self.scroll_by(-1)
    }

    fn scroll_by(&mut self, dir: i32) -> Vec<Effect> {
        let pane = self.pane;
        let (room, page) = view::scroll_room(self, self.screen(), pane);
        let page = page.saturating_sub(1).max(1);
        let step = |at: u16, dir: i32| -> u16 {
            let at = at.min(room);
            if dir > 0 {
                at.saturating_add(page).min(room)
            } else {
                at.saturating_sub(page)
            }
        };
        match pane {
            Pane::Text => self.scroll = step(self.scroll, dir),
            // The demo output counts from its end: down is toward 0.
            Pane::Output if self.tried.is_none() => self.log_scroll = step(self.log_scroll, -dir),
            Pane::Output => self.log_scroll = step(self.log_scroll, dir),
            Pane::Panel(i) => {
                let at = step(self.panel_scroll(i), dir);
                self.panel_scrolls.insert(i, at);
            }
        }
        Vec::new()
    }

    /// Shows the topic's exercises one after another, then the lesson again.
    pub fn toggle_exercise(&mut self) -> Vec<Effect> {
        let topic = self.topic_number();
        if !self.show_exercise {
            self.show_exercise = true;
            self.exercises.selected = 0;
            return self.check_exercises();
        }
        if !self.exercises.select_next(topic) {
            self.show_exercise = false;
        }
        Vec::new()
    }

    /// Grades the topic's exercises now (the key for VMs where watching fails).
    pub fn check_exercises(&mut self) -> Vec<Effect> {
        let ids = self.exercises.ids(self.topic_number());
        if ids.is_empty() {
            return Vec::new();
        }
        self.exercises.checking = true;
        vec![Effect::Check(ids)]
    }

    /// Presenter mode: reveals the step's next paragraph, then the topic's
    /// corrections ("What really happens"), one at a time.
    pub fn reveal_next(&mut self) -> Vec<Effect> {
        let n = self.paragraphs().len() + self.corrections().len();
        if self.revealed < n {
            self.revealed += 1;
        }
        Vec::new()
    }

    /// Presenter mode: plays the topic's demo from this step on, pausing
    /// between steps.
    pub fn play_topic(&mut self) -> Vec<Effect> {
        if self.busy {
            return Vec::new();
        }
        let missing = self.missing_for_topic();
        if !missing.is_empty() {
            for m in missing {
                self.push_log(LogLine::new(LineKind::Fail, m));
            }
            return Vec::new();
        }
        let steps: Vec<(usize, Vec<Action>)> = self
            .lesson()
            .map(|l| {
                l.step
                    .iter()
                    .enumerate()
                    .skip(self.step)
                    .map(|(i, s)| (i, s.actions.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if steps.is_empty() {
            return Vec::new();
        }
        self.busy = true;
        self.playing = true;
        vec![Effect::Script {
            steps,
            pause_ms: 4000,
        }]
    }

    pub fn quit(&mut self) -> Vec<Effect> {
        self.quitting = true;
        vec![Effect::Quit]
    }
}

/// The words around the first occurrence of `q` (lower case ASCII) in
/// `text`, on one line, with `…` where they were cut.
fn around(text: &str, q: &str) -> Option<String> {
    let at = text.to_ascii_lowercase().find(q)?;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let pos = chars.iter().position(|(i, _)| *i >= at).unwrap_or(0);
    let from = pos.saturating_sub(30);
    let to = (pos + q.chars().count() + 60).min(chars.len());
    let mut out: String = chars[from..to]
        .iter()
        .map(|(_, c)| if c.is_whitespace() { ' ' } else { *c })
        .collect();
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if from > 0 {
        out.insert(0, '…');
    }
    if to < chars.len() {
        out.push('…');
    }
    Some(out)
}
