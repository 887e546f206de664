//! The build context: the directory `build` was given, less `.dockerignore`.
//!
//! docker sends the whole context directory to the daemon before the first
//! step; COPY and ADD can only see what was sent. `.dockerignore` lists
//! patterns (Go's `filepath.Match`, plus `**` for any number of directories)
//! of paths not to send; a pattern starting with `!` brings a path back; the
//! last matching pattern wins, and excluding a directory excludes what is in
//! it. Keeping `node_modules` or `.git` out makes the build faster and the
//! cache steadier: a change there no longer invalidates a `COPY . .`.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// One `.dockerignore` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<String>,
    exception: bool,
}

/// Pure: the patterns of a `.dockerignore` file.
pub fn parse_ignore(text: &str) -> Vec<Pattern> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (exception, l) = match l.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let segments = l
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(String::from)
                .collect();
            Pattern {
                segments,
                exception,
            }
        })
        .filter(|p| !p.segments.is_empty())
        .collect()
}

/// Pure: is `rel` (a path relative to the context) excluded by `patterns`?
/// A pattern that matches one of its parent directories excludes it too.
pub fn is_excluded(patterns: &[Pattern], rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let mut excluded = false;
    for p in patterns {
        let hit = (1..=parts.len()).any(|n| match_segments(&p.segments, &parts[..n]));
        if hit {
            excluded = !p.exception;
        }
    }
    excluded
}

/// Matches path segments against pattern segments; `**` spans any number.
fn match_segments(pat: &[String], path: &[String]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((p, prest)) => glob(first, p) && match_segments(rest, prest),
            None => false,
        },
    }
}

/// Pure: one segment against a glob with `*`, `?` and `[...]` (Go's
/// `filepath.Match` within a path segment).
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| glob_at(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(end) = p.iter().position(|&c| c == ']') else {
                return n.first() == Some(&'[') && glob_at(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('^') | Some('!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[end + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(&c) => n.first() == Some(&c) && glob_at(&p[1..], &n[1..]),
    }
}

/// A build context directory and its ignore rules.
#[derive(Debug, Clone)]
pub struct Context {
    pub dir: PathBuf,
    patterns: Vec<Pattern>,
    /// The walk, done once per build (docker sends the context once too).
    listing: std::sync::OnceLock<Vec<PathBuf>>,
}

impl Context {
    pub fn open(dir: &Path) -> io::Result<Context> {
        let dir = fs::canonicalize(dir)?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        let patterns = match fs::read_to_string(dir.join(".dockerignore")) {
            Ok(text) => parse_ignore(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Context {
            dir,
            patterns,
            listing: std::sync::OnceLock::new(),
        })
    }

    pub fn excluded(&self, rel: &Path) -> bool {
        is_excluded(&self.patterns, rel)
    }

    /// Every path in the context (files, links and directories, relative,
    /// sorted), less the excluded ones. Symlinks are listed, not followed:
    /// a link in the context to a host file is copied as a link, never as
    /// the host file.
    pub fn files(&self) -> io::Result<&[PathBuf]> {
        if let Some(l) = self.listing.get() {
            return Ok(l);
        }
        let mut out = Vec::new();
        self.walk(Path::new(""), &mut out)?;
        out.sort();
        Ok(self.listing.get_or_init(|| out))
    }

    fn walk(&self, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        let mut names: Vec<_> = fs::read_dir(self.dir.join(rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let entry = rel.join(name);
            // An excluded directory may still hold an exception (`!dir/keep`).
            let m = fs::symlink_metadata(self.dir.join(&entry))?;
            if !self.excluded(&entry) {
                out.push(entry.clone());
            }
            if m.is_dir() {
                self.walk(&entry, out)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.log", "a.log"));
        assert!(!glob("*.log", "a.txt"));
        assert!(glob("a?c", "abc"));
        assert!(glob("[a-c]x", "bx"));
        assert!(!glob("[^a-c]x", "bx"));
    }

    #[test]
    fn ignore_rules() {
        let p = parse_ignore("# comment\n*.log\nnode_modules\n**/tmp\n!keep.log\n");
        assert!(is_excluded(&p, Path::new("a.log")));
        assert!(!is_excluded(&p, Path::new("keep.log")));
        assert!(is_excluded(&p, Path::new("node_modules/x/y.js")));
        assert!(is_excluded(&p, Path::new("a/b/tmp/z")));
        assert!(!is_excluded(&p, Path::new("src/main.rs")));
        assert!(!is_excluded(&p, Path::new("sub/a.log")));
    }
}
