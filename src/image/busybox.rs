//! The default image, `busybox`, assembled offline from the host's own files.
//!
//! busybox is one static binary that acts as ~300 commands (`sh`, `ls`, `ps`,
//! `httpd`…) depending on the name it is called by; an image is that binary, a
//! symlink per command, and a few files in /etc. glassbox builds it on first
//! use from the host's busybox (Debian/Ubuntu: `apt install busybox-static`).
//! Where the host has none, it copies the host's own shell and core tools with
//! the shared libraries each one loads (found with `ldd`), so a student always
//! has an image, and never needs the network. The layer is deterministic: the
//! same host binary always gives the same diff_id.

use super::store::{History, ImageConfig, ImageStore, RootFs, RunDefaults, StoreError};
use crate::timefmt;
use std::path::{Path, PathBuf};

/// Where to look for a busybox binary; `GLASSBOX_BUSYBOX` overrides (a path
/// that does not exist forces the fallback image).
fn find_busybox() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GLASSBOX_BUSYBOX") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    [
        "/bin/busybox",
        "/usr/bin/busybox",
        "/sbin/busybox",
        "/usr/sbin/busybox",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// The end of the fallback layer's `created_by` in the image history: how the
/// lab tells an image assembled without busybox (it lacks httpd, ping, ip…).
pub const FALLBACK_MARKER: &str = "# no busybox on this host";

/// Tools copied into the fallback image, when found on the host.
const FALLBACK_TOOLS: [&str; 30] = [
    "sh", "ls", "cat", "echo", "ps", "sleep", "env", "id", "hostname", "mkdir", "rm", "true",
    "false", "grep", "head", "tail", "wc", "uname", "touch", "cp", "mv", "ln", "chmod", "date",
    "df", "du", "kill", "readlink", "stat", "printf",
];

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
student:x:1000:1000:student:/home/student:/bin/sh\n";
const GROUP: &str = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nstudent:x:1000:\nnogroup:x:65534:\n";
const MOTD: &str = "This is glassbox's busybox image: one static binary, a symlink per command.\n";
const INDEX_HTML: &str =
    "<!doctype html>\n<title>glassbox</title>\n<h1>Hello from a glassbox container</h1>\n";

/// A tar being assembled in memory, every entry with the same owner and time.
struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl LayerTar {
    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_size(size);
        h
    }

    fn dir(&mut self, path: &str, mode: u32) -> std::io::Result<()> {
        let mut h = self.header(tar::EntryType::Directory, mode, 0);
        self.builder
            .append_data(&mut h, format!("{path}/"), std::io::empty())
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> std::io::Result<()> {
        let mut h = self.header(tar::EntryType::Regular, mode, data.len() as u64);
        self.builder.append_data(&mut h, path, data)
    }

    fn symlink(&mut self, path: &str, target: &str) -> std::io::Result<()> {
        let mut h = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut h, path, target)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        what: "assembling busybox from",
        path: path.display().to_string(),
        source,
    }
}

/// The tar of the busybox layer, and what `docker history` should say made it.
fn layer_tar() -> Result<(Vec<u8>, String), StoreError> {
    let busybox = find_busybox();
    let source = busybox.clone().unwrap_or_else(|| PathBuf::from("/bin/sh"));
    let mtime = std::fs::metadata(&source)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut t = LayerTar {
        builder: tar::Builder::new(Vec::new()),
        mtime,
    };
    let e = io(&source);
    let result = (|| -> std::io::Result<String> {
        for (d, mode) in [
            ("bin", 0o755),
            ("dev", 0o755),
            ("etc", 0o755),
            ("home", 0o755),
            ("home/student", 0o755),
            ("proc", 0o555),
            ("root", 0o700),
            ("sbin", 0o755),
            ("sys", 0o555),
            ("tmp", 0o1777),
            ("usr", 0o755),
            ("usr/bin", 0o755),
            ("usr/sbin", 0o755),
            ("var", 0o755),
            ("www", 0o755),
        ] {
            t.dir(d, mode)?;
        }
        t.file("etc/passwd", 0o644, PASSWD.as_bytes())?;
        t.file("etc/group", 0o644, GROUP.as_bytes())?;
        t.file("etc/motd", 0o644, MOTD.as_bytes())?;
        t.file("www/index.html", 0o644, INDEX_HTML.as_bytes())?;
        match &busybox {
            Some(bb) => {
                let bytes = std::fs::read(bb)?;
                t.file("bin/busybox", 0o755, &bytes)?;
                let list = std::process::Command::new(bb).arg("--list-full").output()?;
                let mut seen = std::collections::BTreeSet::new();
                for applet in String::from_utf8_lossy(&list.stdout).lines() {
                    let applet = applet.trim().trim_start_matches('/');
                    if applet.is_empty()
                        || applet == "bin/busybox"
                        || !seen.insert(applet.to_string())
                    {
                        continue;
                    }
                    t.symlink(applet, "/bin/busybox")?;
                }
                Ok(format!(
                    "COPY {} /bin/busybox # + {} applet links",
                    bb.display(),
                    seen.len()
                ))
            }
            None => {
                let copied = add_host_tools(&mut t)?;
                Ok(format!(
                    "COPY host tools ({copied}) and their shared libraries {FALLBACK_MARKER}"
                ))
            }
        }
    })();
    let created_by = result.map_err(e)?;
    let bytes = t.builder.into_inner().map_err(io(&source))?;
    Ok((bytes, created_by))
}

/// Copies the host's tools and the libraries they load, each at its own path.
fn add_host_tools(t: &mut LayerTar) -> std::io::Result<String> {
    let mut files: std::collections::BTreeSet<PathBuf> = Default::default();
    let mut names = Vec::new();
    for tool in FALLBACK_TOOLS {
        let Some(path) = ["/bin", "/usr/bin", "/sbin", "/usr/sbin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let real = std::fs::canonicalize(&path)?;
        files.insert(real.clone());
        names.push(tool);
        t.symlink(&format!("bin/{tool}"), &real.display().to_string())?;
        for lib in shared_libraries(&real) {
            files.insert(lib);
        }
    }
    let mut dirs = std::collections::BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix("/").unwrap_or(f);
        for anc in rel.ancestors().skip(1) {
            if !anc.as_os_str().is_empty() {
                dirs.insert(anc.to_path_buf());
            }
        }
    }
    for d in dirs {
        let d = d.display().to_string();
        if !["bin", "usr", "usr/bin", "sbin", "usr/sbin", "etc"].contains(&d.as_str()) {
            t.dir(&d, 0o755)?;
        }
    }
    for f in &files {
        let bytes = std::fs::read(f)?;
        let rel = f.strip_prefix("/").unwrap_or(f).display().to_string();
        t.file(&rel, 0o755, &bytes)?;
    }
    Ok(names.join(" "))
}

/// The shared libraries `ldd` says a program loads (including the loader).
fn shared_libraries(program: &Path) -> Vec<PathBuf> {
    let Ok(out) = std::process::Command::new("ldd").arg(program).output() else {
        return Vec::new();
    };
    parse_ldd(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter_map(|p| std::fs::canonicalize(&p).ok().map(|real| (p, real)))
        .flat_map(|(p, real)| if p == real { vec![p] } else { vec![p, real] })
        .collect()
}

/// Pure: the library paths in `ldd` output.
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rhs)) => rhs.trim().split(' ').next()?,
                None => l.split(' ').next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Makes the `busybox:latest` image in `store` and returns its image ID.
pub fn assemble(store: &ImageStore) -> Result<String, StoreError> {
    let (tar_bytes, created_by) = layer_tar()?;
    let diff_id = store.put_layer_tar(&tar_bytes)?;
    let created = Some(timefmt::rfc3339(timefmt::now_unix_ns()));
    let config = ImageConfig {
        created: created.clone(),
        architecture: std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64"),
        os: "linux".into(),
        config: RunDefaults {
            env: vec![format!("PATH={}", crate::runtime::spec::DEFAULT_PATH)],
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        },
        rootfs: RootFs {
            typ: "layers".into(),
            diff_ids: vec![diff_id],
        },
        history: vec![
            History {
                created: created.clone(),
                created_by,
                ..Default::default()
            },
            History {
                created,
                created_by: "CMD [\"sh\"]".into(),
                empty_layer: true,
                ..Default::default()
            },
        ],
    };
    let id = store.put_config(&config)?;
    store.tag("busybox:latest", &id)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_library_paths() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }
}
