//! `glassbox volume create|ls|inspect|rm`: docker's verbs for named volumes.

use crate::engine::DataRoot;
use crate::engine::volume;
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a volume (`-v NAME:/path` also makes one on first use)
    Create { name: String },
    /// List volumes
    Ls {
        /// Only display volume names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Display detailed information on volumes, as JSON
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes (refused while a container uses one)
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

pub fn volume(root: &DataRoot, command: VolumeCommand) -> anyhow::Result<()> {
    match command {
        VolumeCommand::Create { name } => {
            volume::create(root, &name)?;
            crate::outln!("{name}");
        }
        VolumeCommand::Ls { quiet } => {
            let all = volume::list(root)?;
            if !quiet {
                crate::outln!("{:<15} VOLUME NAME", "DRIVER");
            }
            for v in all {
                if quiet {
                    crate::outln!("{}", v.name);
                } else {
                    crate::outln!("{:<15} {}", "local", v.name);
                }
            }
        }
        VolumeCommand::Inspect { names } => {
            let all = volume::list(root)?;
            let mut docs = Vec::new();
            for name in &names {
                let v = all.iter().find(|v| &v.name == name).ok_or_else(|| {
                    anyhow::anyhow!("no such volume: {name} (`glassbox volume ls` lists them)")
                })?;
                docs.push(json!({
                    "CreatedAt": crate::timefmt::rfc3339(v.created),
                    "Driver": "local",
                    "Labels": null,
                    "Mountpoint": v.mountpoint,
                    "Name": v.name,
                    "Options": null,
                    "Scope": "local",
                }));
            }
            crate::outln!("{}", serde_json::to_string_pretty(&docs)?);
        }
        VolumeCommand::Rm { names } => {
            for name in names {
                volume::remove(root, &name)?;
                crate::outln!("{name}");
            }
        }
    }
    Ok(())
}
