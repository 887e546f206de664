//! The image commands: `build`, `history`, `rmi`, `tag`, `commit`, `diff`,
//! `export`, `save`, `load`, parsed here and handed to [`crate::image`].

use crate::engine::DataRoot;
use crate::image::builder::{self, BuildOptions};
use crate::image::import::short;
use crate::image::{archive, diff, export, manage};
use crate::runtime::trace::Trace;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// Build an image from a Dockerfile
    Build {
        /// Name and optionally a tag (name:tag)
        #[arg(short, long = "tag")]
        tag: Vec<String>,
        /// Name of the Dockerfile (default: DIR/Dockerfile)
        #[arg(short, long)]
        file: Option<PathBuf>,
        /// Set a build-time variable (NAME=value)
        #[arg(long = "build-arg")]
        build_arg: Vec<String>,
        /// Do not use the cache when building the image
        #[arg(long)]
        no_cache: bool,
        /// The build context directory
        dir: PathBuf,
    },
    /// Show the history of an image
    History {
        /// Don't truncate output
        #[arg(long)]
        no_trunc: bool,
        image: String,
    },
    /// Remove one or more images
    Rmi {
        /// Force removal of an image with several tags
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag { source: String, target: String },
    /// Create a new image from a container's changes
    Commit {
        /// Commit message
        #[arg(short, long)]
        message: Option<String>,
        /// Freeze the container while its changes are read (docker's default);
        /// --pause=false reads them while it runs
        #[arg(
            short,
            long,
            default_value_t = true,
            num_args = 0..=1,
            default_missing_value = "true",
            action = clap::ArgAction::Set
        )]
        pause: bool,
        container: String,
        /// REPOSITORY[:TAG]
        reference: Option<String>,
    },
    /// Inspect changes to files or directories on a container's filesystem
    Diff { container: String },
    /// Export a container's filesystem as a tar archive
    Export {
        /// Write to a file, instead of STDOUT
        #[arg(short, long)]
        output: Option<PathBuf>,
        container: String,
    },
    /// Save one or more images to a tar archive (docker-archive or OCI layout)
    Save {
        /// Write to a file, instead of STDOUT
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// docker (the tar `docker save` writes) or oci (an OCI image layout)
        #[arg(long, default_value = "docker")]
        format: String,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Import the contents from a tarball to create a filesystem image
    Import {
        /// Set commit message for imported image
        #[arg(short, long)]
        message: Option<String>,
        /// A root filesystem tar (plain or gzip'd), or - for standard input
        file: String,
        /// REPOSITORY[:TAG]
        reference: Option<String>,
    },
    /// Load an image from a tar archive (docker-archive or OCI layout)
    Load {
        /// Read from a tar archive file, instead of STDIN
        #[arg(short, long)]
        input: Option<PathBuf>,
    },
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let n = cells.len();
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        crate::outln!("{}", out.trim_end());
    };
    line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    for r in rows {
        line(r);
    }
}

/// docker's sizes in history and images: `1.2MB`, `0B` (powers of 1000).
pub fn size(b: u64) -> String {
    crate::util::text::docker_size(b)
}

pub use crate::timefmt::parse_rfc3339;

/// docker's CREATED column: "5 minutes ago".
pub fn ago(rfc3339: Option<&str>) -> String {
    let Some(ns) = rfc3339.and_then(parse_rfc3339) else {
        return "N/A".into();
    };
    format!(
        "{} ago",
        crate::timefmt::human_duration(crate::timefmt::now_unix_ns().saturating_sub(ns))
    )
}

pub fn dispatch(root: &DataRoot, command: ImageCommand) -> anyhow::Result<i32> {
    match command {
        ImageCommand::Build {
            tag,
            file,
            build_arg,
            no_cache,
            dir,
        } => {
            let mut build_args = std::collections::BTreeMap::new();
            for a in build_arg {
                let (k, v) = a.split_once('=').context("--build-arg takes NAME=value")?;
                build_args.insert(k.to_string(), v.to_string());
            }
            builder::build(
                root,
                &BuildOptions {
                    context: dir,
                    dockerfile: file,
                    tags: tag,
                    build_args,
                    no_cache,
                },
            )?;
            Ok(0)
        }
        ImageCommand::History { no_trunc, image } => {
            let rows: Vec<Vec<String>> = manage::history(&root.images(), &image)?
                .into_iter()
                .map(|r| {
                    let by = if !no_trunc && r.created_by.chars().count() > 45 {
                        format!("{}…", r.created_by.chars().take(44).collect::<String>())
                    } else {
                        r.created_by.clone()
                    };
                    vec![
                        r.image
                            .as_deref()
                            .map(|i| short(i).to_string())
                            .unwrap_or_else(|| "<missing>".into()),
                        ago(r.created.as_deref()),
                        by,
                        size(r.size),
                        r.comment,
                    ]
                })
                .collect();
            table(
                &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                &rows,
            );
            Ok(0)
        }
        ImageCommand::Rmi { force, images } => {
            let mut code = 0;
            for i in images {
                match manage::rmi(root, &i, force) {
                    Ok(lines) => lines.iter().for_each(|l| crate::outln!("{l}")),
                    // docker's words: the engine's refusals (an image in
                    // use, no such image) as "Error response from daemon".
                    Err(e) => {
                        super::print_error(&e);
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        ImageCommand::Tag { source, target } => manage::tag(root, &source, &target).map(|_| 0),
        ImageCommand::Commit {
            message,
            pause,
            container,
            reference,
        } => {
            let id = manage::commit(
                root,
                &container,
                reference.as_deref(),
                message.as_deref().unwrap_or(""),
                pause,
            )?;
            crate::outln!("{id}");
            Ok(0)
        }
        ImageCommand::Diff { container } => {
            let record = crate::engine::container::find(root, &container)?;
            let upper = crate::engine::container::Paths::new(root, &record.id).upper();
            let bundle = crate::engine::container::Paths::new(root, &record.id).dir;
            let skip = diff::placeholders(&bundle, &upper, &record.lower_dirs);
            let changes = diff::changes(&upper, &record.lower_dirs, &skip)
                .with_context(|| format!("reading {}", upper.display()))?;
            let mut out = std::io::stdout().lock();
            for c in changes {
                writeln!(out, "{} {}", c.kind, c.path)?;
            }
            Ok(0)
        }
        ImageCommand::Export { output, container } => {
            let mut trace = Trace::default();
            match output {
                Some(path) => {
                    let tmp = path.with_extension("tmp-export");
                    let file = std::fs::File::create(&tmp)
                        .with_context(|| format!("creating {}", tmp.display()))?;
                    let result =
                        export::export(root, &container, std::io::BufWriter::new(file), &mut trace)
                            .and_then(|w| {
                                Ok(w.into_inner().map_err(|e| e.into_error())?.sync_all()?)
                            });
                    if let Err(e) = result {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(e);
                    }
                    std::fs::rename(&tmp, &path)
                        .with_context(|| format!("renaming to {}", path.display()))?;
                }
                None => {
                    if nix::unistd::isatty(std::io::stdout()).unwrap_or(false) {
                        bail!(
                            "refusing to write a tar to a terminal: use -o FILE or redirect the output"
                        );
                    }
                    let out = std::io::stdout().lock();
                    export::export(root, &container, std::io::BufWriter::new(out), &mut trace)?
                        .flush()?;
                }
            }
            Ok(0)
        }
        ImageCommand::Save {
            output,
            format,
            images,
        } => {
            let format = archive::Format::parse(&format)?;
            match output {
                Some(path) => archive::save_to_file(&root.images(), &images, format, &path)?,
                None => {
                    if nix::unistd::isatty(std::io::stdout()).unwrap_or(false) {
                        bail!(
                            "refusing to write a tar to a terminal: use -o FILE or redirect the output"
                        );
                    }
                    let out = std::io::stdout().lock();
                    archive::save(
                        &root.images(),
                        &images,
                        format,
                        std::io::BufWriter::new(out),
                    )?
                    .flush()?;
                }
            }
            Ok(0)
        }
        ImageCommand::Load { input } => {
            crate::engine::require_root("glassbox load")?;
            let loaded = match input {
                Some(path) => archive::load_file(&root.images(), &path)?,
                None => archive::load(&root.images(), std::io::stdin().lock())?,
            };
            for (tag, id) in loaded {
                match tag {
                    Some(t) => crate::outln!("Loaded image: {t}"),
                    None => crate::outln!("Loaded image ID: {id}"),
                }
            }
            Ok(0)
        }
        ImageCommand::Import {
            message,
            file,
            reference,
        } => {
            crate::engine::require_root("glassbox import")?;
            let message = message.unwrap_or_default();
            let id = if file == "-" {
                manage::import(
                    root,
                    std::io::stdin().lock(),
                    reference.as_deref(),
                    &message,
                    "-",
                )?
            } else {
                let f = std::fs::File::open(&file).with_context(|| format!("open {file}"))?;
                manage::import(root, f, reference.as_deref(), &message, &file)?
            };
            crate::outln!("{id}");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let ns = 1_795_000_000_123_456_789;
        assert_eq!(parse_rfc3339(&crate::timefmt::rfc3339(ns)), Some(ns));
    }

    #[test]
    fn sizes_as_docker() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(1_500), "1.5kB");
        assert_eq!(size(2_000_000), "2MB");
    }
}
