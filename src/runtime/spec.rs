//! The OCI runtime bundle: a directory holding `config.json` and a root filesystem.
//!
//! The OCI runtime specification (github.com/opencontainers/runtime-spec,
//! `config.md` and `config-linux.md`) is the contract between an engine (docker,
//! containerd, glassbox's engine) and a low-level runtime (runc, crun, youki,
//! glassbox's runtime). The engine writes *what* the container is: the process to
//! run, its user and capabilities, the mounts, the namespaces, the cgroup limits.
//! The runtime turns that description into kernel calls. Because glassbox writes a
//! standard `config.json`, `runc run -b <bundle> <id>` can run the same bundle
//! (topic 9 shows this).
//!
//! Only the fields glassbox uses are modelled here; the names are the spec's own.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of the runtime spec these files follow.
pub const OCI_VERSION: &str = "1.0.2";

/// The annotation that asks for `--init` (OCI has no field for it; docker
/// puts tini in the command instead): the init stays PID 1 and reaps, see
/// [`super::reaper`].
pub const INIT_ANNOTATION: &str = "org.glassbox.init";

/// The PATH a container gets when its image sets none (docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `config.json`, the description of one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub oci_version: String,
    pub process: Process,
    pub root: Root,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    pub linux: Linux,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The container's main process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    /// The terminal's size as it is made, before the process runs (`docker
    /// run -t` sends the caller's; a resize later sends SIGWINCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    pub user: User,
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
}

/// OCI's `consoleSize`: rows and columns of the process's terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

/// The user the process runs as: numeric ids, as the kernel knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
}

/// The five capability sets of a Linux process (capabilities(7)).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub bounding: Vec<String>,
    #[serde(default)]
    pub effective: Vec<String>,
    #[serde(default)]
    pub inheritable: Vec<String>,
    #[serde(default)]
    pub permitted: Vec<String>,
    #[serde(default)]
    pub ambient: Vec<String>,
}

/// One resource limit (setrlimit(2)), e.g. `RLIMIT_NOFILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub typ: String,
    pub hard: u64,
    pub soft: u64,
}

/// The root filesystem, relative to the bundle directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

/// One mount made inside the container before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub typ: String,
    pub source: String,
    #[serde(default)]
    pub options: Vec<String>,
}

/// The Linux-specific part: namespaces, cgroup and hardening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    pub namespaces: Vec<Namespace>,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<String>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<String>,
    /// The system-call filter (see `security::seccomp`); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    /// Device nodes to make in the container's /dev (`--device`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
}

/// `linux.devices[]`: a device node the runtime makes inside the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Where, inside the container (`/dev/xvda`).
    pub path: String,
    /// `c` (character), `b` (block), `u` (unbuffered char) or `p` (FIFO).
    #[serde(rename = "type")]
    pub typ: String,
    pub major: i64,
    pub minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

/// `linux.resources.devices[]`: one rule of the device cgroup (see
/// `cgroups::devices`). No type, or `a`, means every device; no major or
/// minor means any; access is a combination of `r`, `w`, `m` (mknod).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// `linux.seccomp`: a default verdict and rules by system-call name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<SyscallRule>,
}

/// One rule: these calls, when every argument test holds, get `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SyscallArg>,
}

/// A test on argument `index`: `SCMP_CMP_EQ`/`NE` compare with `value`;
/// `SCMP_CMP_MASKED_EQ` holds when `arg & value == value_two`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallArg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// A namespace to create (no `path`) or to join (`path` names an existing one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub typ: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// cgroup limits, in the spec's units.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<PidsResources>,
    /// Which device nodes may be opened or made (later rules win).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRule>,
}

/// `limit` is bytes of memory; `swap` is memory *plus* swap (so `swap == limit`
/// means no swap at all, which is what makes an OOM kill predictable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
}

/// CFS bandwidth: `quota` microseconds of CPU time in every `period`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

/// The most tasks (processes and threads) the cgroup may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PidsResources {
    pub limit: i64,
}

impl Spec {
    /// `--init`: the container's init stays PID 1 and runs the command as its child.
    pub fn wants_init(&self) -> bool {
        self.annotations
            .get(INIT_ANNOTATION)
            .is_some_and(|v| v == "true")
    }

    /// Reads `config.json` from a bundle directory.
    pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
        let path = bundle.join("config.json");
        let text = std::fs::read(&path).map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| SpecError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes `config.json` into a bundle directory (pretty, so students can
    /// read it), mode 0600: it holds the `-e` values.
    pub fn save(&self, bundle: &Path) -> Result<(), SpecError> {
        let path = bundle.join("config.json");
        let text = serde_json::to_vec_pretty(self).map_err(|source| SpecError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        // In place (a new container's is made ahead, empty), and 0600 even
        // where an older glassbox left it 0644.
        let write = || -> std::io::Result<()> {
            crate::util::fs::write_in_place(&path, &text, 0o600)?;
            crate::util::fs::set_mode(&path, 0o600)
        };
        write().map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })
    }

    /// Whether the spec asks for a new namespace of this type (`pid`, `network`, …).
    pub fn creates_namespace(&self, typ: &str) -> bool {
        self.linux
            .namespaces
            .iter()
            .any(|ns| ns.typ == typ && ns.path.is_none())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read or write {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid OCI config.json: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}
