//! A full disk, said plainly.
//!
//! When the file system holding the data root fills up, every write fails
//! with ENOSPC, "No space left on device" — which names neither the device
//! nor the file. [`explain`] finds ENOSPC anywhere in an error's chain and
//! says what a person needs: which file system (the one holding the data
//! root) and which file glassbox was writing.

use super::DataRoot;
use std::path::Path;

/// True when `e` (or anything it was caused by) is ENOSPC.
pub fn is_no_space(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.raw_os_error() == Some(libc::ENOSPC)
                || io.kind() == std::io::ErrorKind::StorageFull;
        }
        if let Some(errno) = c.downcast_ref::<nix::Error>() {
            return *errno == nix::Error::ENOSPC;
        }
        // Errors that carry their cause in their text (a thiserror `{source}`).
        c.to_string().contains("(os error 28)")
    })
}

/// Pure: the first path under `root` named in `text`.
pub fn path_under(root: &Path, text: &str) -> Option<String> {
    let base = root.display().to_string();
    let at = text.find(&format!("{base}/"))?;
    let path: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !":,;)\"'".contains(*c))
        .collect();
    Some(path)
}

/// "no space left on the file system holding ROOT (while writing FILE): …"
/// when `e` is ENOSPC; `None` otherwise.
pub fn explain(root: &DataRoot, e: &anyhow::Error) -> Option<String> {
    explain_at(&root.path, e)
}

/// [`explain`] for the data root at `root`.
pub fn explain_at(root: &Path, e: &anyhow::Error) -> Option<String> {
    if !is_no_space(e) {
        return None;
    }
    let text = format!("{e:#}");
    let file = path_under(root, &text)
        .map(|f| format!(" (while writing {f})"))
        .unwrap_or_default();
    Some(format!(
        "no space left on the file system holding {}{file}; free some space there (`df -h {}` shows it; `glassbox rm` and `glassbox rmi` give space back) and try again. What failed: {text}",
        root.display(),
        root.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_found_in_the_message() {
        let root = Path::new("/tmp/glassbox-x");
        assert_eq!(
            path_under(
                root,
                "writing /tmp/glassbox-x/containers/ab/state.json: No space left on device (os error 28)"
            ),
            Some("/tmp/glassbox-x/containers/ab/state.json".into())
        );
        assert_eq!(path_under(root, "cannot write /etc/x"), None);
    }

    #[test]
    fn enospc_is_found_anywhere_in_the_chain() {
        let root = DataRoot {
            path: "/tmp/glassbox-x".into(),
            key: "k".into(),
        };
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = anyhow::Error::new(io)
            .context("cannot write the journal /tmp/glassbox-x/containers/ab/journal");
        let said = explain(&root, &e).unwrap();
        assert!(said.starts_with(
            "no space left on the file system holding /tmp/glassbox-x (while writing /tmp/glassbox-x/containers/ab/journal);"
        ));
        assert!(said.ends_with("What failed: cannot write the journal /tmp/glassbox-x/containers/ab/journal: No space left on device (os error 28)"), "{said}");
        let other = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(explain(&root, &other), None);
    }
}
