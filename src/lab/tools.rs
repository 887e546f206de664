//! The programs a demo action runs inside a container, and whether the
//! container's root filesystem has them.
//!
//! `glassbox run busybox httpd …` makes the runtime `execve` /bin/httpd inside
//! the container. When the image has no such file, execve fails with ENOENT
//! and the container exits 127, docker's "command not found"; inside a shell,
//! `sh -c 'ping …'` prints `sh: ping: not found` and exits 127 too. The
//! busybox image glassbox assembles on a host without busybox (see
//! [`crate::image::busybox`]) holds only a few of the host's tools, so some
//! demos would fail that way, and a step that expects a failure (root in a
//! container refused a mount) would take "not found" for the kernel's refusal.
//!
//! So before a step runs, the lab reads each `run` and `exec` action's
//! command line with the CLI's own flag types ([`crate::verbs`]), lists the
//! programs it names (the command, the commands of an `sh -c` script, the
//! one after `timeout`), and looks each one up along the container's PATH,
//! in the root the container sees or will see: the image's layer
//! directories, top-most first, for `run` (the overlay's lowerdirs);
//! `/proc/PID/root` for `exec` into a running container (the kernel's view
//! of its mount namespace).

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::demo::name_flag;
use super::lesson::{Action, ActionKind};
use crate::engine::DataRoot;
use crate::engine::container;
use crate::image::ImageStore;
use crate::image::busybox::FALLBACK_MARKER;
use crate::image::store::{ImageConfig, normalize_ref};
use crate::runtime::spec::DEFAULT_PATH;
use crate::verbs::{ContainerCommand, ContainerVerb};

/// Words a POSIX shell (busybox ash, dash) runs itself, without a program file.
const BUILTINS: [&str; 40] = [
    ":", ".", "[", "alias", "bg", "break", "cd", "chdir", "command", "continue", "echo", "eval",
    "exec", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "let", "local",
    "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test", "times",
    "trap", "true", "type", "ulimit", "umask", "unset", "wait",
];

/// Shell words that open or close a compound command, not a program.
const KEYWORDS: [&str; 12] = [
    "!", "{", "}", "if", "then", "else", "elif", "fi", "while", "until", "do", "done",
];

/// Where an action's command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `run`: a new container of this image.
    Image(String),
    /// `exec`: an existing container, by name or ID.
    Container(String),
}

/// A `run` or `exec` action's command line, as `glassbox` parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub target: Target,
    /// The command and its arguments; empty for a `run` that uses the image's CMD.
    pub command: Vec<String>,
    /// The `-e` values given on the command line.
    pub env: Vec<String>,
}

/// Parses a `run` or `exec` action with the CLI's own flag types; `None` for
/// any other verb, or arguments the CLI would refuse (the action then runs
/// and the CLI says what is wrong).
pub fn invocation(action: &Action) -> Option<Invocation> {
    let verb = action.verb();
    if verb != ActionKind::Run && verb != ActionKind::Exec {
        return None;
    }
    match ContainerCommand::parse_words(verb.name(), &action.args)? {
        ContainerVerb::Run(a) => Some(Invocation {
            target: Target::Image(a.image),
            command: a.command,
            env: a.env,
        }),
        ContainerVerb::Exec(a) => Some(Invocation {
            target: Target::Container(a.container),
            command: a.command,
            env: a.env,
        }),
    }
}

/// The programs `argv` runs: its program, and for a shell with `-c` the
/// script's commands, for `timeout`, `nice`, `nohup`, `setsid` and `env` the
/// command they start. In the order they appear, without repeats.
pub fn commands_in(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    collect_argv(argv, &mut out);
    out
}

fn push_unique(out: &mut Vec<String>, program: &str) {
    if !out.iter().any(|p| p == program) {
        out.push(program.to_string());
    }
}

fn collect_argv(argv: &[String], out: &mut Vec<String>) {
    let Some(program) = argv.first() else {
        return;
    };
    if program.is_empty() || program.contains('$') {
        return;
    }
    push_unique(out, program);
    let rest = &argv[1..];
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "sh" | "ash" | "bash" | "dash" => {
            // `sh -c SCRIPT`, `sh -ec SCRIPT`: the script is the first operand.
            let options: Vec<&String> = rest
                .iter()
                .take_while(|a| a.starts_with('-') && *a != "--")
                .collect();
            if options
                .iter()
                .any(|o| !o.starts_with("--") && o.contains('c'))
            {
                let mut operands = rest[options.len()..].iter().skip_while(|a| *a == "--");
                if let Some(script) = operands.next() {
                    for cmd in script_commands(script) {
                        push_unique(out, &cmd);
                    }
                }
            }
        }
        "timeout" => {
            // timeout [-s SIG] [-k DURATION] [--flags] DURATION COMMAND…
            let mut i = 0;
            while let Some(a) = rest.get(i) {
                match a.as_str() {
                    "-s" | "-k" | "--signal" | "--kill-after" => i += 2,
                    a if a.starts_with('-') && a.len() > 1 => i += 1,
                    _ => break,
                }
            }
            collect_argv(rest.get(i + 1..).unwrap_or_default(), out);
        }
        "nice" | "nohup" | "setsid" | "env" => {
            let mut i = 0;
            while let Some(a) = rest.get(i) {
                match a.as_str() {
                    "-n" | "-u" => i += 2,
                    a if a.starts_with('-') && a.len() > 1 => i += 1,
                    a if base == "env" && is_assignment(a) => i += 1,
                    _ => break,
                }
            }
            collect_argv(rest.get(i..).unwrap_or_default(), out);
        }
        _ => {}
    }
}

/// `NAME=value`: a variable assignment before a command.
fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Pure: the programs a shell script runs, in order, without repeats:
/// the first word of each simple command (after assignments, redirections
/// and keywords), including those in `$(…)` and backquotes, but not the
/// shell's builtins. A word with an expansion in it (`$cmd`) names no
/// program one can know before the script runs, and is left out.
pub fn script_commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for words in simple_commands(script, &mut out) {
        let mut words = words.as_slice();
        while let Some(first) = words.first() {
            if is_assignment(first) || KEYWORDS.contains(&first.as_str()) {
                words = &words[1..];
            } else {
                break;
            }
        }
        let Some(first) = words.first() else {
            continue;
        };
        // `for NAME in WORDS` and `case WORD in`: a header, not a command.
        if first == "for" || first == "case" {
            continue;
        }
        if first == "exec" || first == "command" {
            let rest: Vec<String> = words[1..]
                .iter()
                .skip_while(|w| w.starts_with('-'))
                .cloned()
                .collect();
            collect_argv(&rest, &mut out);
            continue;
        }
        if BUILTINS.contains(&first.as_str()) {
            continue;
        }
        collect_argv(words, &mut out);
    }
    out
}

/// Splits a script into simple commands (lists of words). Commands found in
/// `$(…)` and backquotes are added to `out` directly; the substitution stays
/// in its word as `$(…)`, so that word is not taken for a program.
fn simple_commands(script: &str, out: &mut Vec<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = script.chars().collect();
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    // The next word is a redirection's target (`> /dev/null`), not an argument.
    let mut redirect_target = false;
    let mut i = 0;

    fn end_word(
        word: &mut String,
        in_word: &mut bool,
        words: &mut Vec<String>,
        redirect_target: &mut bool,
    ) {
        if *in_word {
            if *redirect_target {
                *redirect_target = false;
            } else {
                words.push(std::mem::take(word));
            }
        }
        word.clear();
        *in_word = false;
    }

    // The text up to the `close` that balances the opener before `from`.
    let balanced = |from: usize, open: char, close: char| -> (String, usize) {
        let mut depth = 1;
        let mut j = from;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let c = chars[j];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return (chars[from..j].iter().collect(), j + 1);
                    }
                }
                None => {}
            }
            j += 1;
        }
        (chars[from..].iter().collect(), chars.len())
    };
    let substitution = |inner: &str, out: &mut Vec<String>| {
        for cmd in script_commands(inner) {
            push_unique(out, &cmd);
        }
    };

    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
                i += 1;
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        word.push(chars[i + 1]);
                        i += 2;
                    } else if chars[i] == '$' && chars.get(i + 1) == Some(&'(') {
                        let (inner, after) = balanced(i + 2, '(', ')');
                        if !inner.starts_with('(') {
                            substitution(&inner, out);
                        }
                        word.push_str("$(…)");
                        i = after;
                    } else {
                        word.push(chars[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            '\\' => {
                in_word = true;
                if let Some(n) = next {
                    word.push(n);
                }
                i += 2;
            }
            '$' if next == Some('(') => {
                // `$((…))` is arithmetic; `$(…)` runs a command.
                let (inner, after) = balanced(i + 2, '(', ')');
                if !inner.starts_with('(') {
                    substitution(&inner, out);
                }
                in_word = true;
                word.push_str("$(…)");
                i = after;
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&ch| ch == '`')
                    .map_or(chars.len(), |p| i + 1 + p);
                let inner: String = chars[i + 1..end].iter().collect();
                substitution(&inner, out);
                in_word = true;
                word.push_str("$(…)");
                i = end + 1;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '<' | '>' => {
                // `2>&1`, `>/dev/null`, `>> log`: a number before it is the
                // descriptor, the word after it the target.
                if in_word && word.chars().all(|ch| ch.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                } else {
                    end_word(&mut word, &mut in_word, &mut words, &mut redirect_target);
                }
                i += 1;
                while matches!(chars.get(i), Some('>' | '<' | '&' | '|')) {
                    i += 1;
                }
                redirect_target = true;
            }
            ';' | '&' | '|' | '\n' | '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut words, &mut redirect_target);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
                i += 1;
            }
            c if c.is_whitespace() => {
                end_word(&mut word, &mut in_word, &mut words, &mut redirect_target);
                i += 1;
            }
            c => {
                in_word = true;
                word.push(c);
                i += 1;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words, &mut redirect_target);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// Whether a path exists in a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Yes,
    No,
    /// Cannot be told without following a link (a directory that is a
    /// symlink, as /bin is on merged-/usr images): the action runs, and
    /// its exit code tells.
    Unknown,
}

/// A root filesystem as the container sees it: directories stacked as
/// overlayfs stacks lowerdirs (top-most first; one directory for a root that
/// is already merged, such as /proc/PID/root), and the PATH searched in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootView {
    pub dirs: Vec<PathBuf>,
    pub path: Vec<String>,
}

impl RootView {
    /// Finds `program` as execvp does: a name with a `/` as it is, any other
    /// along PATH.
    pub fn find(&self, program: &str) -> Found {
        if program.contains('/') {
            return self.exists(program);
        }
        let mut unknown = false;
        for dir in &self.path {
            match self.exists(&format!("{dir}/{program}")) {
                Found::Yes => return Found::Yes,
                Found::Unknown => unknown = true,
                Found::No => {}
            }
        }
        if unknown { Found::Unknown } else { Found::No }
    }

    /// Looks `path` up one component at a time, each in the top-most
    /// directory that has it: a whiteout (a 0/0 character device) there
    /// hides it, a regular file there ends the path.
    fn exists(&self, path: &str) -> Found {
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() || parts.contains(&"..") {
            return Found::Unknown;
        }
        let mut rel = PathBuf::new();
        for (n, part) in parts.iter().enumerate() {
            rel.push(part);
            let Some(meta) = self
                .dirs
                .iter()
                .find_map(|d| d.join(&rel).symlink_metadata().ok())
            else {
                return Found::No;
            };
            let kind = meta.file_type();
            if kind.is_char_device() && meta.rdev() == 0 {
                return Found::No;
            }
            if n + 1 == parts.len() {
                return Found::Yes;
            }
            if kind.is_symlink() {
                return Found::Unknown;
            }
            if !kind.is_dir() {
                return Found::No;
            }
        }
        Found::Unknown
    }
}

/// docker's default PATH, for an image that sets none.
fn default_path() -> Vec<String> {
    DEFAULT_PATH.split(':').map(str::to_string).collect()
}

/// The PATH in a list of `NAME=value` entries, later entries winning.
fn path_of(env: &[String]) -> Option<Vec<String>> {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .map(|p| p.split(':').map(str::to_string).collect())
}

/// A program a step runs that its container's root does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub program: String,
    /// The image, as the action or the container's record names it.
    pub image: String,
    /// The image is (or is built on) the busybox glassbox assembled from
    /// the host's own tools, because the host has no busybox.
    pub fallback: bool,
    pub path: Vec<String>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.program;
        let image = &self.image;
        if self.fallback && normalize_ref(image) == normalize_ref("busybox") {
            write!(
                f,
                "busybox's {p} is not in this image: install busybox-static and run \
                 `glassbox rmi busybox` so it is assembled again"
            )
        } else if self.fallback {
            write!(
                f,
                "busybox's {p} is not in {image}, which is built on the busybox glassbox \
                 assembled from the host's own tools: install busybox-static, run \
                 `glassbox rmi busybox` so it is assembled again, and rebuild {image}"
            )
        } else {
            write!(
                f,
                "{p} is not in the image {image} (looked in {}): this step's demo needs it",
                self.path.join(":")
            )
        }
    }
}

/// An image's root: its layer directories and its PATH.
struct ImageRoot {
    view: RootView,
    config: ImageConfig,
    fallback: bool,
}

fn is_fallback(config: &ImageConfig) -> bool {
    config
        .history
        .iter()
        .any(|h| h.created_by.ends_with(FALLBACK_MARKER))
}

/// The root a new container of `image` starts with; `None` when the image
/// is not in the store yet (busybox is assembled by the first `run`).
fn image_root(store: &ImageStore, image: &str, env: &[String]) -> Option<ImageRoot> {
    let (_, config) = store.resolve(image).ok()?;
    let dirs = config
        .rootfs
        .diff_ids
        .iter()
        .rev()
        .map(|d| store.layer_diff(d))
        .collect();
    let path = path_of(env)
        .or_else(|| path_of(&config.config.env))
        .unwrap_or_else(default_path);
    Some(ImageRoot {
        view: RootView { dirs, path },
        fallback: is_fallback(&config),
        config,
    })
}

/// The root of a running container, as its main process sees it, with the
/// PATH that process has (`exec` inherits it, then applies `-e`); `None`
/// when there is no such container or it is not running.
fn container_root(root: &DataRoot, name: &str, env: &[String]) -> Option<(RootView, String, bool)> {
    let record = container::find(root, name).ok()?;
    if !record.is_running() {
        return None;
    }
    let pid = record.state.pid;
    let main_env = crate::inspect::processes::read_environ(pid as u32).unwrap_or_default();
    let path = path_of(env)
        .or_else(|| path_of(&main_env))
        .unwrap_or_else(default_path);
    let fallback = root
        .images()
        .config(&record.image_id)
        .is_ok_and(|c| is_fallback(&c));
    Some((
        RootView {
            dirs: vec![PathBuf::from(format!("/proc/{pid}/root"))],
            path,
        },
        record.image,
        fallback,
    ))
}

/// The first program one of a step's actions runs that its container's root
/// lacks, with the action's index. An `exec` into a container a `run` of the
/// same step starts is checked against that run's image; anything the lab
/// cannot know before running (an image not built yet) is left to run.
pub fn first_missing(root: &Path, actions: &[Action]) -> Option<(usize, Missing)> {
    let root = DataRoot::open(root).ok()?;
    let store = root.images();
    // Containers the step's own `run`s start: name → (image, -e values).
    let mut started: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (index, action) in actions.iter().enumerate() {
        let Some(inv) = invocation(action) else {
            continue;
        };
        let (view, image, fallback, argv) = match &inv.target {
            Target::Image(image) => {
                if let Some(name) = name_flag(&action.args) {
                    started.insert(name, (image.clone(), inv.env.clone()));
                }
                let Some(img) = image_root(&store, image, &inv.env) else {
                    continue;
                };
                let defaults = &img.config.config;
                let mut argv = defaults.entrypoint.clone().unwrap_or_default();
                if inv.command.is_empty() {
                    argv.extend(defaults.cmd.clone().unwrap_or_default());
                } else {
                    argv.extend(inv.command.iter().cloned());
                }
                (img.view, image.clone(), img.fallback, argv)
            }
            Target::Container(name) => {
                let found = match started.get(name) {
                    Some((image, run_env)) => {
                        let env: Vec<String> = run_env.iter().chain(&inv.env).cloned().collect();
                        image_root(&store, image, &env)
                            .map(|img| (img.view, image.clone(), img.fallback))
                    }
                    None => container_root(&root, name, &inv.env),
                };
                let Some((view, image, fallback)) = found else {
                    continue;
                };
                (view, image, fallback, inv.command.clone())
            }
        };
        for program in commands_in(&argv) {
            if view.find(&program) == Found::No {
                return Some((
                    index,
                    Missing {
                        program: program.rsplit('/').next().unwrap_or(&program).to_string(),
                        image,
                        fallback,
                        path: view.path.clone(),
                    },
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scripts_name_their_programs_not_their_builtins() {
        let cases: [(&str, &[&str]); 8] = [
            (
                "ping -c 3 -W 1 $(ip route | awk '/default/ {print $3}')",
                &["ip", "awk", "ping"],
            ),
            (
                "for i in $(seq 100); do sleep 5 & done; wait",
                &["seq", "sleep"],
            ),
            (
                "head -c 120m /dev/zero | tail | sleep 4",
                &["head", "tail", "sleep"],
            ),
            (
                "echo changed >> /etc/motd && echo new > /tmp/new && rm /etc/group",
                &["rm"],
            ),
            (
                "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done",
                &["sleep"],
            ),
            (
                "trap 'exit 143' TERM; while true; do sleep 1; done",
                &["sleep"],
            ),
            ("sleep 60 >/dev/null 2>&1 &", &["sleep"]),
            (
                "(echo 1000 > /proc/self/oom_score_adj; head -c 200m /dev/zero | tail -c 100m >/dev/null); sleep 3600",
                &["head", "tail", "sleep"],
            ),
        ];
        for (script, want) in cases {
            assert_eq!(script_commands(script), strings(want), "{script}");
        }
    }

    #[test]
    fn wrappers_and_shells_name_the_command_they_start() {
        let argv = strings(&["timeout", "4", "sh", "-c", "while :; do :; done"]);
        assert_eq!(commands_in(&argv), strings(&["timeout", "sh"]));
        let argv = strings(&["sh", "-c", "httpd -f -p 80 && unshare -U true"]);
        assert_eq!(commands_in(&argv), strings(&["sh", "httpd", "unshare"]));
        let argv = strings(&["mount", "-t", "tmpfs", "none", "/tmp"]);
        assert_eq!(commands_in(&argv), strings(&["mount"]));
    }

    #[test]
    fn the_cli_parser_reads_the_action() {
        let action = |verb: ActionKind, args: &[&str]| Action {
            verb: toml::Spanned::new(0..0, verb),
            args: strings(args),
            asset: None,
            tag: None,
            port: None,
            expect_failure: false,
        };
        let run = action(
            ActionKind::Run,
            &[
                "-d", "--name", "lab-web", "-p", "8080:80", "busybox", "httpd", "-f",
            ],
        );
        assert_eq!(
            invocation(&run),
            Some(Invocation {
                target: Target::Image("busybox".into()),
                command: strings(&["httpd", "-f"]),
                env: vec![],
            })
        );
        let exec = action(
            ActionKind::Exec,
            &["lab-root", "mount", "-t", "tmpfs", "none", "/tmp"],
        );
        assert_eq!(
            invocation(&exec).map(|i| (i.target, i.command[0].clone())),
            Some((Target::Container("lab-root".into()), "mount".into()))
        );
        assert_eq!(invocation(&action(ActionKind::Logs, &["lab-root"])), None);
    }

    #[test]
    fn lookup_follows_the_layers_top_first() {
        let base =
            std::env::temp_dir().join(format!("glassbox-tools-lookup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (top, bottom) = (base.join("top"), base.join("bottom"));
        for dir in [top.join("bin"), bottom.join("bin"), bottom.join("usr/bin")] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(bottom.join("bin/sh"), b"").expect("write");
        std::os::unix::fs::symlink("/bin/busybox", top.join("bin/httpd")).expect("symlink");
        std::os::unix::fs::symlink("usr/bin", top.join("sbin")).expect("symlink");
        let view = RootView {
            dirs: vec![top.clone(), bottom.clone()],
            path: strings(&["/usr/bin", "/bin"]),
        };
        assert_eq!(view.find("sh"), Found::Yes);
        assert_eq!(
            view.find("httpd"),
            Found::Yes,
            "a dangling applet link counts"
        );
        assert_eq!(view.find("ping"), Found::No);
        assert_eq!(view.find("/bin/sh"), Found::Yes);
        assert_eq!(view.find("/sbin/ip"), Found::Unknown, "/sbin is a symlink");
        assert_eq!(view.find("/bin/sh/x"), Found::No);
        std::fs::remove_dir_all(&base).expect("clean up");
    }

    #[test]
    fn the_message_says_how_to_get_busybox() {
        let m = Missing {
            program: "httpd".into(),
            image: "busybox".into(),
            fallback: true,
            path: strings(&["/bin"]),
        };
        assert_eq!(
            m.to_string(),
            "busybox's httpd is not in this image: install busybox-static and run `glassbox rmi busybox` so it is assembled again"
        );
        let m = Missing {
            image: "alpine:3".into(),
            fallback: false,
            ..m
        };
        assert_eq!(
            m.to_string(),
            "httpd is not in the image alpine:3 (looked in /bin): this step's demo needs it"
        );
    }
}
