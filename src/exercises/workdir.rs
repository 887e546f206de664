//! The student's work directory: the files an exercise asks to edit, copied
//! out of the shipped `assets/` so that a solution never edits glassbox's own.
//!
//! Topic 16 appends a line to `assets/cache/v1/app.sh`, topic 17 reorders
//! `assets/order/exercise/Dockerfile`. The lessons and their assets are
//! found next to the binary or in the source tree, which a student must not
//! change (and, installed, cannot). `glassbox exercise workdir` makes
//! `~/glassbox-work` (`$GLASSBOX_WORK` to choose another), copies into it the
//! asset directories the exercises edit, once (a student's edits are never
//! overwritten), hands it to the invoking user (under sudo: `SUDO_USER`),
//! and prints its path: the exercises' commands run there, as written.

use std::path::{Path, PathBuf};

use super::progress::Owner;

/// The environment variable that chooses the work directory.
pub const WORK_ENV: &str = "GLASSBOX_WORK";

/// The asset directories that exercises edit, relative to `assets/`.
pub const EDITED: [&str; 2] = ["cache", "order"];

/// Where the work directory is: `$GLASSBOX_WORK`, else `~/glassbox-work` of
/// the invoking user.
pub fn path(owner: Option<&Owner>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(WORK_ENV) {
        return Some(PathBuf::from(p));
    }
    owner.map(|o| o.home.join("glassbox-work"))
}

/// Makes the work directory and copies what is missing of the edited
/// assets from `assets`; returns what it copied (relative paths).
pub fn prepare(work: &Path, assets: &Path, owner: Option<&Owner>) -> Result<Vec<String>, String> {
    let mut copied = Vec::new();
    for name in EDITED {
        let from = assets.join(name);
        if !from.is_dir() {
            return Err(format!(
                "{} is missing: the lessons' assets are not where the lessons are",
                from.display()
            ));
        }
        let to = work.join("assets").join(name);
        if to.exists() {
            continue;
        }
        copy_dir(&from, &to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
        copied.push(format!("assets/{name}"));
    }
    if let Some(o) = owner {
        chown_tree(work, o)
            .map_err(|e| format!("cannot give {} to uid {}: {e}", work.display(), o.uid))?;
    }
    Ok(copied)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// chown(2) of the tree to the owner, when we run as someone else; symlinks
/// are not followed (lchown).
fn chown_tree(dir: &Path, o: &Owner) -> std::io::Result<()> {
    if nix::unistd::Uid::effective().as_raw() == o.uid {
        return Ok(());
    }
    std::os::unix::fs::lchown(dir, Some(o.uid), Some(o.gid))?;
    if dir.is_dir() && !dir.is_symlink() {
        for entry in std::fs::read_dir(dir)? {
            chown_tree(&entry?.path(), o)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_once_and_keeps_the_students_edits() {
        let base = std::env::temp_dir().join(format!("gbwork-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let assets = base.join("assets");
        for name in EDITED {
            std::fs::create_dir_all(assets.join(name).join("v1")).unwrap();
            std::fs::write(assets.join(name).join("v1/app.sh"), "echo v1\n").unwrap();
        }
        let work = base.join("work");
        let copied = prepare(&work, &assets, None).unwrap();
        assert_eq!(copied, vec!["assets/cache", "assets/order"]);
        let app = work.join("assets/cache/v1/app.sh");
        std::fs::write(&app, "echo edited\n").unwrap();
        assert_eq!(prepare(&work, &assets, None).unwrap(), Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(&app).unwrap(), "echo edited\n");
        assert_eq!(
            std::fs::read_to_string(assets.join("cache/v1/app.sh")).unwrap(),
            "echo v1\n",
            "the shipped file is untouched"
        );
        std::fs::remove_dir_all(assets.join("order")).unwrap();
        let e = prepare(&base.join("w2"), &assets, None).unwrap_err();
        assert!(e.contains("assets/order is missing"), "{e}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
