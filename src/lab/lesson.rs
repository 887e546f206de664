//! The lesson file format: one TOML file per topic, `lessons/NN-slug.toml`.
//!
//! Lessons are data, so an instructor can reword a step, add a demo action or
//! a "try it yourself" command without recompiling. Every field below carries
//! a doc comment (it is the format's reference) and a serde default where one
//! makes sense, so that a file written for version 1 keeps loading when later
//! fields are added. [`super::check`] validates what serde cannot: known
//! actions and panels, assets that exist, unique ids, the order of topics.
//!
//! ```toml
//! format_version = 1
//! topic = 1
//! id = "container-is-a-process"
//! title = "A container is a process"
//! seed_section = "1. THE BIG REALIZATION"
//!
//! [[step]]
//! id = "start"
//! title = "Start one"
//! text = "…"
//! panels = ["processes", "namespaces"]
//! focus = "lab-sleeper"
//! actions = [{ do = "run", args = ["-d", "--name", "lab-sleeper", "busybox", "sleep", "600"] }]
//! try_host = ["ps -e -o pid,comm | grep sleep"]
//! try_inside = ["ps"]
//!
//! [[exercise]]
//! id = "find-host-pid"
//! title = "Find the host PID"
//! task = "…"
//! ```

use serde::Deserialize;
use toml::Spanned;

/// The lesson format this glassbox reads.
pub const FORMAT_VERSION: u32 = 1;

/// The socket, in the lab's data root, that the `daemon` action's `glassbox
/// daemon` listens on and the `docker` action's `docker -H` talks to.
pub const DAEMON_SOCKET: &str = "lab-docker.sock";

/// One topic: a lesson file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The version of the lesson format the file is written in; glassbox
    /// reads version 1 (see [`FORMAT_VERSION`]).
    pub format_version: Spanned<u32>,
    /// The topic's number, 1 to 20: the seed's section number. It must equal
    /// the `NN` of the file name, and topics must run 1, 2, 3… without gaps.
    pub topic: Spanned<u32>,
    /// A short stable name (`cgroups`), unique across all lessons; the file is
    /// `NN-<id>.toml`. `glassbox lab cgroups` opens the topic by it.
    pub id: Spanned<String>,
    /// The topic's title as the lab shows it.
    pub title: String,
    /// The section of the seed lesson this topic covers, as the seed titles it.
    pub seed_section: String,
    /// One or two sentences: what the seed says here, in our words.
    #[serde(default)]
    pub summary: String,
    /// Where the seed simplifies: what really happens, one paragraph each.
    /// The lab shows these under the heading "What really happens".
    #[serde(default)]
    pub really: Vec<String>,
    /// What the topic's demos need beyond root: `iptables`, `publish` (port
    /// publishing, `run -p`), `bridge` (`--network bridge`), `build`
    /// (`glassbox build`), `commit`, `history`. The lab names what is missing in
    /// one line instead of failing obscurely. The programs a demo runs inside
    /// a container (httpd, ping…) are not listed here: before each step the
    /// lab looks them up in the container's image ([`super::tools`]).
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    /// The steps, in order; at least one.
    #[serde(default)]
    pub step: Vec<Step>,
    /// Exercises the student does, each checked against the kernel (by the
    /// lab's `x` and `glassbox check`: [`crate::exercises`]).
    #[serde(default)]
    pub exercise: Vec<Exercise>,
}

/// One step of a topic: some text, the panels beside it, and what Enter does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A short name, unique within the lesson (`start`, `limit`).
    pub id: Spanned<String>,
    /// The step's heading.
    pub title: String,
    /// The step's text: short and exact. Blank lines separate paragraphs.
    pub text: String,
    /// The live panels shown beside the text, top to bottom; see [`PanelKind`].
    #[serde(default)]
    pub panels: Vec<Spanned<PanelKind>>,
    /// The container the panels follow (a `lab-` name a demo starts). Without
    /// it, the panels follow the last container this topic's demos started.
    #[serde(default)]
    pub focus: Option<Spanned<String>>,
    /// What Enter does, in order; the first failure stops the rest. See [`ActionKind`].
    #[serde(default)]
    pub actions: Vec<Action>,
    /// "Try it yourself" on the host: shell commands (run with `sh -c`); `t`
    /// runs them and shows their real output beside `try_inside`'s. They run
    /// with `$PID` (the focused container's host PID), `$CONTAINER` (its name),
    /// `$GLASSBOX_ROOT`, `$ASSETS` (the assets beside the lessons) and
    /// `$COLUMNS` (the width their output is shown in) set, and this glassbox
    /// first on `$PATH`.
    #[serde(default)]
    pub try_host: Vec<String>,
    /// "Try it yourself" inside the focused container (`glassbox exec NAME sh -c …`).
    #[serde(default)]
    pub try_inside: Vec<String>,
}

/// One demo action: a docker verb run through the real glassbox binary, or
/// one of the lab's own probes (`curl`, `plain`, `host`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Which action: one of [`ActionKind`].
    #[serde(rename = "do")]
    pub verb: Spanned<ActionKind>,
    /// Arguments, as typed after `glassbox VERB` (for `host`: one shell
    /// command line; for `curl`: unused).
    #[serde(default)]
    pub args: Vec<String>,
    /// For `build`: the directory under `assets/` holding the Dockerfile
    /// (`assets/layers`); it must exist. The image is tagged with `tag`.
    #[serde(default)]
    pub asset: Option<Spanned<String>>,
    /// For `build` (the `-t` tag) and `commit` (the new image's name).
    #[serde(default)]
    pub tag: Option<String>,
    /// For `curl`: the host port to send `GET /` to, on 127.0.0.1.
    #[serde(default)]
    pub port: Option<Spanned<u16>>,
    /// True when the action is expected to fail (a demonstration that root in
    /// a container cannot do something): a non-zero exit is then shown as the
    /// expected outcome and the step goes on.
    #[serde(default)]
    pub expect_failure: bool,
}

/// An exercise: a task or a prediction, and the check that proves it done.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Unique across all lessons (`topic4-capped`).
    pub id: Spanned<String>,
    /// `task` (the student does something with the CLI) or `predict`
    /// (a question answered before the demo, graded against the live value).
    #[serde(default = "default_exercise_kind")]
    pub kind: Spanned<String>,
    /// A short title.
    pub title: String,
    /// What to do, in words.
    pub task: String,
    /// Hints, revealed one at a time.
    #[serde(default)]
    pub hints: Vec<String>,
    /// The commands that solve it, shown on request (and run by the honesty check).
    #[serde(default)]
    pub solution: Vec<String>,
    /// What proves it done: a table whose `kind` names one of
    /// [`crate::exercises::spec::Check`]'s kinds. It is kept as a table here
    /// and read by [`crate::exercises::spec::from_table`] (`glassbox lessons
    /// --check` reports a bad one at the exercise's id).
    #[serde(default)]
    pub check: Option<toml::Table>,
}

fn default_exercise_kind() -> Spanned<String> {
    Spanned::new(0..0, "task".to_string())
}

/// The exercise kinds.
pub const EXERCISE_KINDS: [&str; 2] = ["task", "predict"];

/// Every demo action a step's `actions` may name (`do = "run"`). An unknown
/// name is a lesson-check error at its place in the file. A new action is a
/// variant here: the compiler then leads through its name and help line
/// below, the checker's field rules (`check.rs`), the screen's display
/// ([`Action::display`]) and the demo runner (`demo.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    Run,
    Exec,
    Stop,
    Kill,
    Rm,
    Inspect,
    Logs,
    Top,
    Ps,
    Stats,
    Build,
    History,
    Commit,
    Curl,
    Plain,
    Starts,
    Daemon,
    Docker,
}

impl ActionKind {
    /// Every action, in the order the help screen lists them.
    pub const ALL: [ActionKind; 18] = [
        ActionKind::Run,
        ActionKind::Exec,
        ActionKind::Stop,
        ActionKind::Kill,
        ActionKind::Rm,
        ActionKind::Inspect,
        ActionKind::Logs,
        ActionKind::Top,
        ActionKind::Ps,
        ActionKind::Stats,
        ActionKind::Build,
        ActionKind::History,
        ActionKind::Commit,
        ActionKind::Curl,
        ActionKind::Plain,
        ActionKind::Starts,
        ActionKind::Daemon,
        ActionKind::Docker,
    ];

    /// The name a lesson writes (`do = "run"`); for a docker verb, the verb.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Run => "run",
            ActionKind::Exec => "exec",
            ActionKind::Stop => "stop",
            ActionKind::Kill => "kill",
            ActionKind::Rm => "rm",
            ActionKind::Inspect => "inspect",
            ActionKind::Logs => "logs",
            ActionKind::Top => "top",
            ActionKind::Ps => "ps",
            ActionKind::Stats => "stats",
            ActionKind::Build => "build",
            ActionKind::History => "history",
            ActionKind::Commit => "commit",
            ActionKind::Curl => "curl",
            ActionKind::Plain => "plain",
            ActionKind::Starts => "starts",
            ActionKind::Daemon => "daemon",
            ActionKind::Docker => "docker",
        }
    }

    /// What it does (the help screen lists these).
    pub fn does(self) -> &'static str {
        match self {
            ActionKind::Run => "glassbox run ARGS (docker run)",
            ActionKind::Exec => "glassbox exec ARGS",
            ActionKind::Stop => "glassbox stop ARGS",
            ActionKind::Kill => "glassbox kill ARGS",
            ActionKind::Rm => "glassbox rm ARGS",
            ActionKind::Inspect => "glassbox inspect ARGS",
            ActionKind::Logs => "glassbox logs ARGS",
            ActionKind::Top => "glassbox top ARGS",
            ActionKind::Ps => "glassbox ps ARGS",
            ActionKind::Stats => "glassbox stats --no-stream ARGS",
            ActionKind::Build => "glassbox build -t TAG assets/ASSET",
            ActionKind::History => "glassbox history ARGS",
            ActionKind::Commit => "glassbox commit ARGS TAG",
            ActionKind::Curl => "GET / from 127.0.0.1:PORT, the lab's own request",
            ActionKind::Plain => "start a plain host process (true) and time it",
            ActionKind::Starts => {
                "time starts now: no C library, true, the kernel's floor, glassbox, crun and runc if installed"
            }
            ActionKind::Daemon => {
                "glassbox daemon on the lab's own socket, in the background until the lab ends"
            }
            ActionKind::Docker => "docker -H unix://SOCKET ARGS: docker's own CLI, to that daemon",
        }
    }

    /// The action a lesson names, if there is one by that name.
    pub fn from_name(name: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ByName {
            what: "action",
            find: ActionKind::from_name,
            names: || ActionKind::ALL.map(ActionKind::name).join(", "),
        })
    }
}

/// Where a panel's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read from the kernel at every sample (/proc, cgroupfs, sysfs,
    /// rtnetlink, `iptables-save`, the overlay's directories): what is true now.
    Kernel,
    /// Read from what glassbox wrote down as it worked (`trace.jsonl`,
    /// `config.json`, a build's output): what glassbox says it did, which the
    /// kernel panels can confirm.
    Records,
}

/// Every live panel a step's `panels` may name (`"cgroup"`). An unknown name
/// is a lesson-check error at its place in the file. A new panel is a variant
/// here: the compiler then leads through its name, source and help line
/// below, the sampler's reading (`sampler.rs`) and the TUI's drawing
/// (`tui/panels.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PanelKind {
    Namespaces,
    Processes,
    Cgroup,
    Layers,
    Upper,
    Network,
    Nat,
    Security,
    Devices,
    Timeline,
    Chain,
    Bundle,
    Dataroot,
    Build,
    Trace,
    Api,
}

impl PanelKind {
    /// Every panel, in the order the help screen lists them.
    pub const ALL: [PanelKind; 16] = [
        PanelKind::Namespaces,
        PanelKind::Processes,
        PanelKind::Cgroup,
        PanelKind::Layers,
        PanelKind::Upper,
        PanelKind::Network,
        PanelKind::Nat,
        PanelKind::Security,
        PanelKind::Devices,
        PanelKind::Timeline,
        PanelKind::Chain,
        PanelKind::Bundle,
        PanelKind::Dataroot,
        PanelKind::Build,
        PanelKind::Trace,
        PanelKind::Api,
    ];

    /// The name a step's `panels` list uses, and the panel's title.
    pub fn name(self) -> &'static str {
        match self {
            PanelKind::Namespaces => "namespaces",
            PanelKind::Processes => "processes",
            PanelKind::Cgroup => "cgroup",
            PanelKind::Layers => "layers",
            PanelKind::Upper => "upper",
            PanelKind::Network => "network",
            PanelKind::Nat => "nat",
            PanelKind::Security => "security",
            PanelKind::Devices => "devices",
            PanelKind::Timeline => "timeline",
            PanelKind::Chain => "chain",
            PanelKind::Bundle => "bundle",
            PanelKind::Dataroot => "dataroot",
            PanelKind::Build => "build",
            PanelKind::Trace => "trace",
            PanelKind::Api => "api",
        }
    }

    /// Where its values come from.
    pub fn source(self) -> Source {
        match self {
            PanelKind::Namespaces
            | PanelKind::Processes
            | PanelKind::Cgroup
            | PanelKind::Layers
            | PanelKind::Upper
            | PanelKind::Network
            | PanelKind::Nat
            | PanelKind::Security
            | PanelKind::Devices
            | PanelKind::Chain
            | PanelKind::Dataroot => Source::Kernel,
            PanelKind::Timeline
            | PanelKind::Bundle
            | PanelKind::Build
            | PanelKind::Trace
            | PanelKind::Api => Source::Records,
        }
    }

    /// True for a panel about the whole host (or data root), not about the
    /// focused container: its title names no container.
    pub fn host_wide(self) -> bool {
        match self {
            PanelKind::Build | PanelKind::Dataroot | PanelKind::Nat => true,
            PanelKind::Namespaces
            | PanelKind::Processes
            | PanelKind::Cgroup
            | PanelKind::Layers
            | PanelKind::Upper
            | PanelKind::Network
            | PanelKind::Security
            | PanelKind::Devices
            | PanelKind::Timeline
            | PanelKind::Chain
            | PanelKind::Bundle
            | PanelKind::Trace
            | PanelKind::Api => false,
        }
    }

    /// What it shows, and from where (the help screen lists these).
    pub fn shows(self) -> &'static str {
        match self {
            PanelKind::Namespaces => "/proc/1/ns vs /proc/PID/ns: each type, same or not",
            PanelKind::Processes => "host pids vs pids inside (NSpid)",
            PanelKind::Cgroup => "memory vs limit, cpu and throttling, pids, OOM kills",
            PanelKind::Layers => "overlay lowerdirs from mountinfo (size, created-by: image store)",
            PanelKind::Upper => "the container's upper dir: copy-ups and whiteouts",
            PanelKind::Network => "bridge, veth pair, addresses, routes, counters",
            PanelKind::Nat => "iptables-save -c: the GLASSBOX rules and counters",
            PanelKind::Security => "capabilities by name, uids, NoNewPrivs, Seccomp",
            PanelKind::Devices => {
                "the device cgroup: devices.list (v1) or the attached BPF program (v2)"
            }
            PanelKind::Timeline => "trace.jsonl's start phases in ms, beside a plain process",
            PanelKind::Chain => "the process chain from the container up to PID 1",
            PanelKind::Bundle => "the OCI bundle's config.json, as the engine wrote it",
            PanelKind::Dataroot => "the data root on disk, as a tree with sizes",
            PanelKind::Build => "the builder's output: steps cached or rebuilt, with time",
            PanelKind::Trace => "trace.jsonl: what glassbox asked the kernel, step by step",
            PanelKind::Api => {
                "the daemon's request log (time, method, path, status), beside the chain docker CLI → socket → daemon → shim → container in /proc"
            }
        }
    }

    /// The panel a lesson names, if there is one by that name.
    pub fn from_name(name: &str) -> Option<PanelKind> {
        PanelKind::ALL.into_iter().find(|p| p.name() == name)
    }
}

// Each `ALL` lists the variants in declaration order, each once (checked
// here, when compiling); a variant added at the end goes into `ALL` too, or
// no lesson can name it.
const _: () = {
    let mut i = 0;
    while i < PanelKind::ALL.len() {
        assert!(PanelKind::ALL[i] as usize == i);
        i += 1;
    }
    let mut i = 0;
    while i < ActionKind::ALL.len() {
        assert!(ActionKind::ALL[i] as usize == i);
        i += 1;
    }
};

impl<'de> Deserialize<'de> for PanelKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ByName {
            what: "panel",
            find: PanelKind::from_name,
            names: || PanelKind::ALL.map(PanelKind::name).join(", "),
        })
    }
}

/// Reads a kind by its name. The unknown name is refused while the string is
/// read (in the visitor), so that toml reports it at the name's own place in
/// the file, not at the list that holds it.
struct ByName<T> {
    what: &'static str,
    find: fn(&str) -> Option<T>,
    names: fn() -> String,
}

impl<T> serde::de::Visitor<'_> for ByName<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "the name of a {}", self.what)
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<T, E> {
        (self.find)(name).ok_or_else(|| {
            E::custom(format!(
                "unknown {} \"{name}\": expected one of {}",
                self.what,
                (self.names)()
            ))
        })
    }
}

/// What `needs` may name, with the line the lab shows when it is missing.
pub const NEEDS: [&str; 6] = [
    "iptables", "publish", "bridge", "build", "commit", "history",
];

impl Lesson {
    pub fn topic(&self) -> u32 {
        *self.topic.get_ref()
    }

    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

impl Step {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    /// The panels, top to bottom.
    pub fn panel_kinds(&self) -> impl Iterator<Item = PanelKind> + '_ {
        self.panels.iter().map(|p| *p.get_ref())
    }

    pub fn focus(&self) -> Option<&str> {
        self.focus.as_ref().map(|f| f.get_ref().as_str())
    }
}

impl Action {
    pub fn verb(&self) -> ActionKind {
        *self.verb.get_ref()
    }

    /// The action as a student would type it, for the screen.
    pub fn display(&self) -> String {
        let args = self
            .args
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        match self.verb() {
            ActionKind::Curl => format!(
                "curl http://127.0.0.1:{}/",
                self.port.as_ref().map(|p| *p.get_ref()).unwrap_or(0)
            ),
            ActionKind::Plain => "time a plain process: true".to_string(),
            ActionKind::Daemon => {
                format!("glassbox daemon --host unix://$GLASSBOX_ROOT/{DAEMON_SOCKET} &")
            }
            ActionKind::Docker => format!("docker -H unix://$GLASSBOX_ROOT/{DAEMON_SOCKET} {args}")
                .trim_end()
                .to_string(),
            ActionKind::Starts => format!(
                "time starts: exit (no C library), true, unshare, glassbox run --rm, crun/runc on {}'s bundle",
                self.args.first().map(String::as_str).unwrap_or("lab-fast")
            ),
            ActionKind::Build => format!(
                "glassbox build -t {} {}",
                self.tag.as_deref().unwrap_or("?"),
                self.asset
                    .as_ref()
                    .map(|a| a.get_ref().as_str())
                    .unwrap_or("?")
            ),
            ActionKind::Commit => format!(
                "glassbox commit {args} {}",
                self.tag.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
            verb @ (ActionKind::Run
            | ActionKind::Exec
            | ActionKind::Stop
            | ActionKind::Kill
            | ActionKind::Rm
            | ActionKind::Inspect
            | ActionKind::Logs
            | ActionKind::Top
            | ActionKind::Ps
            | ActionKind::Stats
            | ActionKind::History) => format!("glassbox {} {args}", verb.name())
                .trim_end()
                .to_string(),
        }
    }
}

/// Quotes a word for sh when it needs it: `sh -c 'echo hi'`.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Kinds {
        panels: Vec<PanelKind>,
        actions: Vec<ActionKind>,
    }

    fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
        names
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn every_kind_is_read_by_its_name() {
        let text = format!(
            "panels = [{}]\nactions = [{}]",
            quoted(PanelKind::ALL.iter().map(|p| p.name())),
            quoted(ActionKind::ALL.iter().map(|a| a.name()))
        );
        let kinds: Kinds = toml::from_str(&text).expect("every name parses");
        assert_eq!(kinds.panels, PanelKind::ALL);
        assert_eq!(kinds.actions, ActionKind::ALL);
    }

    #[test]
    fn an_unknown_name_is_refused_at_its_place() {
        let text = "panels = [\"processes\", \"cgroups\"]\nactions = []";
        let e = toml::from_str::<Kinds>(text)
            .err()
            .expect("cgroups is no panel");
        assert!(
            e.message()
                .starts_with("unknown panel \"cgroups\": expected one of namespaces")
        );
        assert_eq!(e.span(), Some(23..32), "the span of \"cgroups\"");
    }
}
