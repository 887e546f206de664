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
    /// Exercises the student does (checked against the kernel by
    /// `glassbox check`; the checking lives with issue 6). Optional here.
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
    /// The live panels shown beside the text, top to bottom; see [`PANELS`].
    #[serde(default)]
    pub panels: Vec<Spanned<String>>,
    /// The container the panels follow (a `lab-` name a demo starts). Without
    /// it, the panels follow the last container this topic's demos started.
    #[serde(default)]
    pub focus: Option<Spanned<String>>,
    /// What Enter does, in order; the first failure stops the rest. See [`ACTIONS`].
    #[serde(default)]
    pub actions: Vec<Action>,
    /// "Try it yourself" on the host: shell commands (run with `sh -c`); `t`
    /// runs them and shows their real output beside `try_inside`'s. They run
    /// with `$PID` (the focused container's host PID), `$CONTAINER` (its name)
    /// and `$GLASSBOX_ROOT` set, and this glassbox first on `$PATH`.
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
    /// The action's name: one of [`ACTIONS`].
    #[serde(rename = "do")]
    pub verb: Spanned<String>,
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

/// An exercise. Issue 6 adds how each is checked; this format leaves room for
/// it: new fields go here, with serde defaults, and `check` is free-form for now.
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
    /// How the kernel's state is checked: defined by issue 6; not read yet.
    #[serde(default)]
    pub check: Option<toml::Table>,
}

fn default_exercise_kind() -> Spanned<String> {
    Spanned::new(0..0, "task".to_string())
}

/// The exercise kinds.
pub const EXERCISE_KINDS: [&str; 2] = ["task", "predict"];

/// Every demo action, with what it does (the help screen lists these).
pub const ACTIONS: [(&str, &str); 15] = [
    ("run", "glassbox run ARGS (docker run)"),
    ("exec", "glassbox exec ARGS"),
    ("stop", "glassbox stop ARGS"),
    ("kill", "glassbox kill ARGS"),
    ("rm", "glassbox rm ARGS"),
    ("inspect", "glassbox inspect ARGS"),
    ("logs", "glassbox logs ARGS"),
    ("top", "glassbox top ARGS"),
    ("ps", "glassbox ps ARGS"),
    ("stats", "glassbox stats --no-stream ARGS"),
    ("build", "glassbox build -t TAG assets/ASSET"),
    ("history", "glassbox history ARGS"),
    ("commit", "glassbox commit ARGS TAG"),
    ("curl", "GET / from 127.0.0.1:PORT, the lab's own request"),
    ("plain", "start a plain host process (true) and time it"),
];

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

/// One panel a step can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panel {
    /// The name a step's `panels` list uses.
    pub name: &'static str,
    pub source: Source,
    /// What it shows, and from where (the help screen lists these).
    pub shows: &'static str,
}

const fn panel(name: &'static str, source: Source, shows: &'static str) -> Panel {
    Panel {
        name,
        source,
        shows,
    }
}

/// Every panel a step can show.
pub const PANELS: [Panel; 15] = [
    panel(
        "namespaces",
        Source::Kernel,
        "/proc/1/ns vs /proc/PID/ns: each type, same or not",
    ),
    panel(
        "processes",
        Source::Kernel,
        "host pids vs pids inside (NSpid)",
    ),
    panel(
        "cgroup",
        Source::Kernel,
        "memory vs limit, cpu and throttling, pids, OOM kills",
    ),
    panel(
        "layers",
        Source::Kernel,
        "overlay lowerdirs from mountinfo (size, created-by: image store)",
    ),
    panel(
        "upper",
        Source::Kernel,
        "the container's upper dir: copy-ups and whiteouts",
    ),
    panel(
        "network",
        Source::Kernel,
        "bridge, veth pair, addresses, routes, counters",
    ),
    panel(
        "nat",
        Source::Kernel,
        "iptables-save -c: the GLASSBOX rules and counters",
    ),
    panel(
        "security",
        Source::Kernel,
        "capabilities by name, uids, NoNewPrivs, Seccomp",
    ),
    panel(
        "devices",
        Source::Kernel,
        "the device cgroup: devices.list (v1) or the attached BPF program (v2)",
    ),
    panel(
        "timeline",
        Source::Records,
        "trace.jsonl's start phases in ms, beside a plain process",
    ),
    panel(
        "chain",
        Source::Kernel,
        "the process chain from the container up to PID 1",
    ),
    panel(
        "bundle",
        Source::Records,
        "the OCI bundle's config.json, as the engine wrote it",
    ),
    panel(
        "dataroot",
        Source::Kernel,
        "the data root on disk, as a tree with sizes",
    ),
    panel(
        "build",
        Source::Records,
        "the builder's output: steps cached or rebuilt, with time",
    ),
    panel(
        "trace",
        Source::Records,
        "trace.jsonl: what glassbox asked the kernel, step by step",
    ),
];

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

    /// The panel names, in order.
    pub fn panel_names(&self) -> impl Iterator<Item = &str> {
        self.panels.iter().map(|p| p.get_ref().as_str())
    }

    pub fn focus(&self) -> Option<&str> {
        self.focus.as_ref().map(|f| f.get_ref().as_str())
    }
}

impl Action {
    pub fn verb(&self) -> &str {
        self.verb.get_ref()
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
            "curl" => format!(
                "curl http://127.0.0.1:{}/",
                self.port.as_ref().map(|p| *p.get_ref()).unwrap_or(0)
            ),
            "plain" => "time a plain process: true".to_string(),
            "build" => format!(
                "glassbox build -t {} {}",
                self.tag.as_deref().unwrap_or("?"),
                self.asset
                    .as_ref()
                    .map(|a| a.get_ref().as_str())
                    .unwrap_or("?")
            ),
            "commit" => format!(
                "glassbox commit {args} {}",
                self.tag.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
            verb => format!("glassbox {verb} {args}").trim_end().to_string(),
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
