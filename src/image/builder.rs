//! `glassbox build`: a Dockerfile, step by step, each step a new image.
//!
//! A build starts from the FROM image and applies one instruction at a time.
//! Every step makes a new (untagged, "intermediate") image from the previous
//! one, and remembers it in the build cache ([`super::cache`]):
//! - RUN starts a real container of the engine over the parent image's
//!   layers, runs the command in it, and takes what the command changed (the
//!   container's overlay upper dir, with deletions turned into OCI whiteouts)
//!   as the new layer; the container is then removed;
//! - COPY and ADD write a layer from the build context ([`super::copy`]);
//! - every other instruction only edits the config (ENV, CMD, …) and adds a
//!   history entry marked `empty_layer`: size 0 in `history`.
//!
//! Before running a step, the builder computes its cache key; when a previous
//! build made an image for the same key, that image is reused ("Using
//! cache") and nothing runs. The last image gets the tags. A step that fails
//! leaves no half layer (layers are made in a temporary directory and renamed
//! when complete) and no tag; the images of the steps before it stay, as
//! docker's do, so the next build resumes from the cache.

use super::cache::{BuildCache, CacheKey};
use super::context::Context;
use super::copy::{self, Plan};
use super::dockerfile::{self, Command, CopyArgs, Instruction, Kind};
use super::import::{TempDir, import_layer_file, short};
use super::manage::{layer_from_container, set_parent};
use super::store::{History, ImageConfig, ImageStore, RootFs};
use crate::engine::container::{self, Paths, RunConfig};
use crate::engine::run::{self, Outcome, RunOptions};
use crate::engine::{DataRoot, lifecycle, units};
use crate::runtime::trace::Trace;
use crate::timefmt;
use anyhow::{Context as _, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `glassbox build` was asked.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The context directory.
    pub context: PathBuf,
    /// `-f`: the Dockerfile (default: `Dockerfile` in the context).
    pub dockerfile: Option<PathBuf>,
    /// `-t`: tags for the result.
    pub tags: Vec<String>,
    /// `--build-arg NAME=value`.
    pub build_args: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
}

/// How each step went, for tests and the lab (topic 16 shows it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub instruction: String,
    pub cached: bool,
    pub image: String,
    pub seconds: f64,
}

/// The result of a build, kept as `builds/<image id>.json` in the data root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildReport {
    pub image: String,
    pub tags: Vec<String>,
    pub dockerfile: String,
    pub steps: Vec<StepReport>,
    /// What each step asked of the kernel, RUN containers' own steps included.
    pub trace: Trace,
}

/// The image being built.
struct Stage {
    /// Image ID; empty for `FROM scratch` before its first step.
    id: String,
    config: ImageConfig,
    /// ARGs declared so far, with their values.
    args: BTreeMap<String, String>,
}

impl Stage {
    /// Variables for `$NAME` expansion: ARGs, then ENV (ENV wins, as docker).
    fn vars(&self) -> BTreeMap<String, String> {
        let mut v = self.args.clone();
        for e in &self.config.config.env {
            let (k, val) = e.split_once('=').unwrap_or((e, ""));
            v.insert(k.to_string(), val.to_string());
        }
        v
    }
}

/// Runs a build; prints docker's progress lines to stdout.
pub fn build(root: &DataRoot, opts: &BuildOptions) -> anyhow::Result<BuildReport> {
    crate::engine::require_root("glassbox build")?;
    // Layers are stored before the config that names them: rmi and cleanup wait.
    let _lock = root.lock_shared()?;
    let ctx = Context::open(&opts.context)
        .with_context(|| format!("the build context {}", opts.context.display()))?;
    let file = opts
        .dockerfile
        .clone()
        .unwrap_or_else(|| ctx.dir.join("Dockerfile"));
    let file = if file.is_relative() && !file.exists() {
        ctx.dir.join(file)
    } else {
        file
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the Dockerfile {}", file.display()))?;
    let label = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into());
    let instructions = dockerfile::parse(&label, &text)?;
    for t in &opts.tags {
        check_tag(t)?;
    }
    let store = root.images();
    let cache = BuildCache::new(&store);
    let total = instructions.len();
    let mut stage: Option<Stage> = None;
    let mut pre_from_args: BTreeMap<String, String> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut trace = Trace::default();
    let out = &mut std::io::stdout();
    for (n, ins) in instructions.iter().enumerate() {
        let _ = writeln!(out, "Step {}/{total} : {}", n + 1, ins.text());
        let started = Instant::now();
        let at = |e: anyhow::Error| anyhow!("{label}:{}: {e:#}", ins.line);
        let Some(current) = stage.as_mut() else {
            match &ins.kind {
                Kind::Arg { name, default } => {
                    let value = opts
                        .build_args
                        .get(name)
                        .cloned()
                        .or_else(|| default.clone())
                        .unwrap_or_default();
                    pre_from_args.insert(name.clone(), value);
                }
                Kind::From { image } => {
                    let image = dockerfile::expand(image, &pre_from_args);
                    let s = from(root, &image).map_err(at)?;
                    let _ = writeln!(
                        out,
                        " ---> {}",
                        if s.id.is_empty() {
                            "scratch".into()
                        } else {
                            short(&s.id).to_string()
                        }
                    );
                    stage = Some(s);
                }
                _ => bail!("{label}:{}: {} before FROM", ins.line, ins.keyword),
            }
            continue;
        };
        let (image, cached) =
            step(root, &store, &cache, &ctx, current, ins, opts, &mut trace).map_err(at)?;
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(out, " ---> {}  ({secs:.2}s)", short(&image));
        steps.push(StepReport {
            instruction: ins.text(),
            cached,
            image,
            seconds: secs,
        });
    }
    let Some(stage) = stage else {
        bail!("{label}: no FROM");
    };
    let id = if stage.id.is_empty() {
        store.put_config(&stage.config)?
    } else {
        stage.id.clone()
    };
    let _ = writeln!(out, "Successfully built {}", short(&id));
    for t in &opts.tags {
        store.tag(t, &id)?;
        let _ = writeln!(
            out,
            "Successfully tagged {}",
            super::store::normalize_ref(t)
        );
    }
    let report = BuildReport {
        image: id.clone(),
        tags: opts
            .tags
            .iter()
            .map(|t| super::store::normalize_ref(t))
            .collect(),
        dockerfile: file.display().to_string(),
        steps,
        trace,
    };
    let path = root
        .path
        .join("builds")
        .join(format!("{}.json", super::store::digest_hex(&id)));
    crate::util::fs::write_atomic(&path, &serde_json::to_vec_pretty(&report)?)?;
    Ok(report)
}

/// `-t NAME[:TAG]`: docker's reference grammar, checked before any step runs.
fn check_tag(t: &str) -> anyhow::Result<()> {
    super::reference::parse_tag_target(t)?;
    Ok(())
}

/// FROM: the base image (`scratch` is the empty one).
fn from(root: &DataRoot, image: &str) -> anyhow::Result<Stage> {
    if image == "scratch" {
        return Ok(Stage {
            id: String::new(),
            config: ImageConfig {
                architecture: std::env::consts::ARCH
                    .replace("x86_64", "amd64")
                    .replace("aarch64", "arm64"),
                os: "linux".into(),
                rootfs: RootFs {
                    typ: "layers".into(),
                    diff_ids: Vec::new(),
                },
                ..Default::default()
            },
            args: BTreeMap::new(),
        });
    }
    let (id, config) = run::image_for(root, image, &mut Trace::default())?;
    Ok(Stage {
        id,
        config,
        args: BTreeMap::new(),
    })
}

/// One step after FROM: from the cache, or made. Returns the new image ID and
/// whether it came from the cache; `stage` moves on to the new image.
#[allow(clippy::too_many_arguments)]
fn step(
    root: &DataRoot,
    store: &ImageStore,
    cache: &BuildCache,
    ctx: &Context,
    stage: &mut Stage,
    ins: &Instruction,
    opts: &BuildOptions,
    trace: &mut Trace,
) -> anyhow::Result<(String, bool)> {
    let vars = stage.vars();
    let mut config = stage.config.clone();
    let mut key = CacheKey {
        parent: stage.id.clone(),
        instruction: String::new(),
        build_args: Vec::new(),
        files: None,
    };
    let mut action = Action::ConfigOnly;
    let created_by: String;
    match &ins.kind {
        Kind::From { .. } => bail!("a second FROM is not supported"),
        Kind::Run(cmd) => {
            created_by = match cmd {
                Command::Shell(s) => format!("RUN /bin/sh -c {s}"),
                Command::Exec(v) => format!("RUN {}", serde_json::to_string(v)?),
            };
            key.instruction = ins.text();
            key.build_args = stage.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            action = Action::Run(cmd.argv());
        }
        Kind::Copy(c) | Kind::Add(c) => {
            let add = matches!(ins.kind, Kind::Add(_));
            let c = CopyArgs {
                sources: c
                    .sources
                    .iter()
                    .map(|s| dockerfile::expand(s, &vars))
                    .collect(),
                dest: dockerfile::expand(&c.dest, &vars),
                chown: c.chown.as_ref().map(|s| dockerfile::expand(s, &vars)),
                chmod: c.chmod,
            };
            let below = lowers(store, &config);
            let is_dir =
                |p: &Path| super::diff::lower_lookup(&below, p).is_some_and(|m| m.is_dir());
            let plan = copy::plan(
                ctx,
                &c.sources,
                &c.dest,
                &config.config.working_dir,
                add,
                &is_dir,
            )?;
            let owner = c
                .chown
                .as_deref()
                .map(|u| owner_of(store, &config, u))
                .transpose()?;
            key.files = Some(plan.digest(owner, c.chmod)?);
            let mut flags = String::new();
            if let Some(o) = &c.chown {
                flags.push_str(&format!("--chown={o} "));
            }
            if let Some(m) = c.chmod {
                flags.push_str(&format!("--chmod={m:o} "));
            }
            created_by = format!("{} {flags}{} {}", ins.keyword, c.sources.join(" "), c.dest);
            key.instruction = created_by.clone();
            action = Action::Copy(plan, owner, c.chmod);
        }
        Kind::Env(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in pairs {
                let v = dockerfile::expand(v, &vars);
                config
                    .config
                    .env
                    .retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()));
                config.config.env.push(format!("{k}={v}"));
                shown.push(format!("{k}={v}"));
            }
            created_by = format!("ENV {}", shown.join(" "));
        }
        Kind::Arg { name, default } => {
            let value = opts
                .build_args
                .get(name)
                .cloned()
                .or_else(|| default.as_ref().map(|d| dockerfile::expand(d, &vars)))
                .unwrap_or_default();
            stage.args.insert(name.clone(), value.clone());
            created_by = format!("ARG {name}={value}");
        }
        Kind::Workdir(p) => {
            let p = dockerfile::expand(p, &vars);
            let base = if config.config.working_dir.is_empty() {
                "/".to_string()
            } else {
                config.config.working_dir.clone()
            };
            let full = Path::new(&base).join(&p);
            config.config.working_dir = format!(
                "/{}",
                copy::context_path(&full.to_string_lossy())
                    .map_err(|e| anyhow!(e))?
                    .display()
            );
            created_by = format!("WORKDIR {}", config.config.working_dir);
        }
        Kind::User(u) => {
            config.config.user = dockerfile::expand(u, &vars);
            created_by = format!("USER {}", config.config.user);
        }
        Kind::Cmd(c) => {
            config.config.cmd = Some(c.argv());
            created_by = format!("CMD {}", serde_json::to_string(&c.argv())?);
        }
        Kind::Entrypoint(c) => {
            config.config.entrypoint = Some(c.argv());
            // docker: a new ENTRYPOINT drops the CMD inherited from the base.
            if stage.config.config.entrypoint != config.config.entrypoint {
                config.config.cmd = None;
            }
            created_by = format!("ENTRYPOINT {}", serde_json::to_string(&c.argv())?);
        }
        Kind::Expose(ports) => {
            for p in ports {
                let p = dockerfile::expand(p, &vars);
                let p = if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                };
                config.config.exposed_ports.insert(p, serde_json::json!({}));
            }
            created_by = format!("EXPOSE {}", ports.join(" "));
        }
        Kind::Volume(paths) => {
            let mut shown = Vec::new();
            for p in paths {
                let p = dockerfile::expand(p, &vars);
                let abs = if p.starts_with('/') {
                    p
                } else {
                    // docker: relative to the working directory.
                    let base = if config.config.working_dir.is_empty() {
                        "/"
                    } else {
                        config.config.working_dir.as_str()
                    };
                    Path::new(base).join(&p).display().to_string()
                };
                config
                    .config
                    .volumes
                    .insert(abs.clone(), serde_json::json!({}));
                shown.push(abs);
            }
            created_by = format!("VOLUME [{}]", shown.join(" "));
        }
        Kind::StopSignal(sig) => {
            let sig = dockerfile::expand(sig, &vars);
            crate::engine::units::parse_signal(&sig)
                .map_err(|e| anyhow!("STOPSIGNAL {sig}: {e}"))?;
            config.config.stop_signal = sig.clone();
            created_by = format!("STOPSIGNAL {sig}");
        }
        Kind::Label(pairs) => {
            for (k, v) in pairs {
                config
                    .config
                    .labels
                    .insert(dockerfile::expand(k, &vars), dockerfile::expand(v, &vars));
            }
            created_by = format!("LABEL {}", dockerfile::expand(&ins.args, &vars));
        }
    }
    if key.instruction.is_empty() {
        key.instruction = created_by.clone();
    }
    let out = &mut std::io::stdout();
    let t = crate::runtime::trace::now_ns();
    let hit = (!opts.no_cache && !stage.id.is_empty())
        .then(|| cache.lookup(&key))
        .flatten();
    trace.step(
        "engine",
        t,
        "build_cache_lookup",
        format!(
            "{}: buildcache/{}.json for parent {} + {:?}{}: {}",
            ins.keyword,
            super::store::digest_hex(&key.digest()),
            short(&key.parent),
            key.instruction,
            key.files
                .as_ref()
                .map(|f| format!(" + files {}", short(f)))
                .unwrap_or_default(),
            match &hit {
                Some(h) => format!("hit, image {}", short(h)),
                None if opts.no_cache => "skipped (--no-cache)".into(),
                None => "miss".into(),
            }
        ),
    );
    if let Some(hit) = hit {
        let _ = writeln!(out, " ---> Using cache");
        stage.config = store.config(&hit)?;
        stage.id = hit.clone();
        return Ok((hit, true));
    }
    let created = Some(timefmt::rfc3339(timefmt::now_unix_ns()));
    let layer = match action {
        Action::ConfigOnly => None,
        Action::Run(argv) => Some(run_step(root, store, stage, argv, trace)?),
        Action::Copy(plan, owner, chmod) => {
            Some(copy_step(store, &config, &plan, owner, chmod, trace)?)
        }
    };
    config.created = created.clone();
    config.history.push(History {
        created,
        created_by,
        empty_layer: layer.is_none(),
        comment: String::new(),
    });
    if let Some(l) = layer {
        config.rootfs.diff_ids.push(l);
    }
    if config.rootfs.typ.is_empty() {
        config.rootfs.typ = "layers".into();
    }
    let id = store.put_config(&config)?;
    set_parent(store, &id, &stage.id)?;
    if !stage.id.is_empty() {
        cache.record(&key, &id)?;
    }
    stage.config = config;
    stage.id = id.clone();
    Ok((id, false))
}

enum Action {
    ConfigOnly,
    Run(Vec<String>),
    Copy(Plan, Option<(u32, u32)>, Option<u32>),
}

/// `--chown=USER[:GROUP]`, names looked up in the image's /etc/passwd.
fn owner_of(store: &ImageStore, config: &ImageConfig, user: &str) -> anyhow::Result<(u32, u32)> {
    let lowers = lowers(store, config);
    // As a container of the image would see the file: through the layers,
    // symlinks resolved inside the image.
    let read = |f: &str| {
        super::inroot::read_in_layers(&lowers, Path::new(f), super::inroot::MAX_ACCOUNT_FILE)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(units::parse_user(
        user,
        &read("etc/passwd"),
        &read("etc/group"),
    )?)
}

fn lowers(store: &ImageStore, config: &ImageConfig) -> Vec<PathBuf> {
    config
        .rootfs
        .diff_ids
        .iter()
        .rev()
        .map(|d| store.layer_diff(d))
        .collect()
}

/// COPY/ADD: the plan written as a layer tar, imported.
fn copy_step(
    store: &ImageStore,
    config: &ImageConfig,
    plan: &Plan,
    owner: Option<(u32, u32)>,
    chmod: Option<u32>,
    trace: &mut Trace,
) -> anyhow::Result<String> {
    let t = crate::runtime::trace::now_ns();
    let tmp = TempDir::new(&store.root().join("tmp"), "copy")?;
    let tar_path = tmp.path.join("layer.tar");
    let file = std::fs::File::create(&tar_path)
        .with_context(|| format!("creating {}", tar_path.display()))?;
    let w = plan.write_tar(
        std::io::BufWriter::new(file),
        &lowers(store, config),
        owner,
        chmod,
    )?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    trace.step(
        "engine",
        t,
        "write_copy_layer",
        format!(
            "tar of {} context paths > {}",
            plan.items.len(),
            tar_path.display()
        ),
    );
    let t = crate::runtime::trace::now_ns();
    let imported = import_layer_file(store, &tar_path)?;
    trace.step("engine", t, "import_layer", imported.describe(store));
    Ok(imported.diff_id)
}

/// RUN: a container of the engine over the parent image; its upper dir
/// becomes the layer; the container is removed whatever happens.
fn run_step(
    root: &DataRoot,
    store: &ImageStore,
    stage: &Stage,
    argv: Vec<String>,
    trace: &mut Trace,
) -> anyhow::Result<String> {
    if stage.id.is_empty() {
        bail!("RUN needs a shell and tools, and FROM scratch has none: start FROM busybox");
    }
    let name = format!("build-{}", &container::new_id()[..12]);
    let _ = writeln!(std::io::stdout(), " ---> Running in {name}");
    let _ = std::io::stdout().flush();
    let opts = RunOptions {
        image: stage.id.clone(),
        command: argv.clone(),
        name: Some(name.clone()),
        entrypoint: Some(Vec::new()),
        config: RunConfig {
            env: stage.args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            // Builds are offline: a RUN step gets only a loopback interface.
            network: "none".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let result = run::run(root, &opts);
    unblock_signals();
    // The container's record, whatever the outcome, so it can be removed.
    let record = container::find(root, &name).ok();
    if let Some(r) = &record {
        // The container's own steps (mount_overlay, clone, pivot_root, …).
        let text = std::fs::read_to_string(Paths::new(root, &r.id).trace()).unwrap_or_default();
        trace.events.extend(Trace::from_json_lines(&text).events);
    }
    let removal = Removal {
        root,
        record: record.clone(),
    };
    let code = match result? {
        Outcome::Exited(code) => code,
        Outcome::Detached(_) => 0,
    };
    if code != 0 {
        bail!(
            "the command {} returned a non-zero code: {code}",
            serde_json::to_string(&argv)?
        );
    }
    let record = record.ok_or_else(|| anyhow!("the RUN container {name} vanished"))?;
    let layer = layer_from_container(store, root, &record, trace)?;
    let t = crate::runtime::trace::now_ns();
    drop(removal);
    trace.step(
        "engine",
        t,
        "remove_container",
        format!("rm -r {}", Paths::new(root, &record.id).dir.display()),
    );
    let _ = writeln!(
        std::io::stdout(),
        " ---> Removed intermediate container {name}"
    );
    Ok(layer)
}

/// Removes the RUN container when dropped.
struct Removal<'a> {
    root: &'a DataRoot,
    record: Option<container::Record>,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        if let Some(r) = &self.record {
            lifecycle::remove_files(self.root, r);
            // A RUN step's writes under a VOLUME went to an anonymous volume
            // and are not in the layer (as in docker's classic builder).
            crate::engine::volume::remove_anonymous(self.root, r);
        }
    }
}

/// The foreground run blocked the signals it forwards to the container; the
/// build is ours again.
fn unblock_signals() {
    crate::runtime::shim::unblock_forwarded();
}
