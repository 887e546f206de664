//! Image references, checked against docker's grammar before anything is
//! named by one.
//!
//! A reference names an image: `busybox`, `demo:v1`,
//! `localhost:5000/team/app:1.2`, `app@sha256:…`. docker (the
//! `distribution/reference` package) accepts exactly this:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain "/" ] path            (at most 255 characters)
//! domain           := host [ ":" port ]
//! host             := domain-component ( "." domain-component )*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
//! path             := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := "." | "_" | "__" | "-"+
//! tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest           := algorithm ":" [0-9a-fA-F]{32,}
//! ```
//!
//! The first part of a name is a domain only if it has a `.` or a `:`, or
//! is `localhost` (so `team/app` is a path of two components). Anything
//! else is refused with the rule it broke — above all control characters:
//! a tag that carries `ESC [2J` or a newline would otherwise be printed raw
//! by `images` and `load`, and redraw the reader's terminal.

/// A reference that is not docker's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference format {reference:?}: {why}")]
pub struct RefError {
    /// The text as given, shown escaped (`{:?}`): never printed raw.
    pub reference: String,
    pub why: String,
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `localhost:5000/team/app`
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// `name:tag`, with docker's default tag `latest` where none was given
    /// (and no digest names the image instead).
    pub fn normalized(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.name),
            (None, Some(d)) => format!("{}@{d}", self.name),
            (None, None) => format!("{}:latest", self.name),
        }
    }
}

/// The longest name docker accepts.
pub const MAX_NAME: usize = 255;

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]+ (separator [a-z0-9]+)*`
fn path_component(c: &str) -> Result<(), String> {
    let b = c.as_bytes();
    if b.is_empty() {
        return Err("an empty path component (two '/' in a row, or one at an end)".into());
    }
    if !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return Err(format!(
            "the path component {c:?} must start and end with a lower-case letter or a digit"
        ));
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|s| s == b'-');
        if !ok {
            return Err(if sep.bytes().any(|s| s.is_ascii_uppercase()) {
                format!("the repository name {c:?} must be lower-case")
            } else {
                format!(
                    "{sep:?} in {c:?}: a path component is lower-case letters and digits, separated by '.', '_', '__' or dashes"
                )
            });
        }
    }
    Ok(())
}

/// `host [":" port]`: host is domain components, or an IPv6 address in
/// brackets.
fn domain(d: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("the registry {d:?} opens '[' without ']'"))?;
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{ip:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("{p:?} after the address in {d:?}"))?,
            ),
        };
        (None, port)
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(host) = host {
        for comp in host.split('.') {
            let b = comp.as_bytes();
            let ok = !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
            if !ok {
                return Err(format!(
                    "the registry host {host:?} must be names of letters, digits and '-' separated by '.'"
                ));
            }
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("the registry port {port:?} must be a number"));
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn tag(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.is_empty()
        || b.len() > 128
        || !word(b[0])
        || !b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
    {
        return Err(format!(
            "the tag {t:?} must be 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        ));
    }
    Ok(())
}

/// `algorithm ":" hex{32,}`
fn digest(d: &str) -> Result<(), String> {
    let bad = || format!("the digest {d:?} must be ALGORITHM:HEX, such as sha256:<64 hex digits>");
    let (alg, hex) = d.split_once(':').ok_or_else(bad)?;
    let alg_ok = alg.split(['+', '.', '_', '-']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|x| x.is_ascii_alphanumeric())
    });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    if alg == "sha256" && hex.len() != 64 {
        return Err(bad());
    }
    Ok(())
}

/// Parses a reference in docker's grammar.
pub fn parse(text: &str) -> Result<Reference, RefError> {
    let err = |why: String| RefError {
        reference: text.to_string(),
        why,
    };
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(err(format!(
            "it contains the control character U+{:04X}; names are printed to terminals",
            c as u32
        )));
    }
    if text.is_empty() {
        return Err(err("it is empty".into()));
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(err(format!("{c:?} is not allowed in a reference")));
    }
    let (rest, dig) = match text.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (text, None),
    };
    // A ':' after the last '/' starts the tag (one before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tg) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.len() > MAX_NAME {
        return Err(err(format!(
            "the name is {} characters long, more than {MAX_NAME}",
            name.len()
        )));
    }
    let (dom, path) = match name.split_once('/') {
        Some((first, after))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), after)
        }
        _ => (None, name),
    };
    if let Some(d) = dom {
        domain(d).map_err(err)?;
    }
    for comp in path.split('/') {
        path_component(comp).map_err(err)?;
    }
    if let Some(t) = tg {
        tag(t).map_err(err)?;
    }
    if let Some(d) = dig {
        digest(d).map_err(err)?;
    }
    Ok(Reference {
        name: name.to_string(),
        tag: tg.map(String::from),
        digest: dig.map(String::from),
    })
}

/// A reference that is to *become* a tag (`tag`, `build -t`, `commit`, the
/// names an archive gives to `load`): docker's grammar, and no digest (a
/// digest names content, it cannot be given to other content). Returns the
/// normalized `name:tag`.
pub fn parse_tag_target(text: &str) -> Result<String, RefError> {
    let r = parse(text)?;
    if r.digest.is_some() {
        return Err(RefError {
            reference: text.to_string(),
            why: "a tag cannot carry a digest (@…): give NAME[:TAG]".into(),
        });
    }
    Ok(r.normalized())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_accepts_these() {
        for (text, normal) in [
            ("busybox", "busybox:latest"),
            ("demo:v1", "demo:v1"),
            ("team/app", "team/app:latest"),
            (
                "localhost:5000/my-app_x/y.z:v1.0",
                "localhost:5000/my-app_x/y.z:v1.0",
            ),
            (
                "Registry.Example.com/x/y:TAG_1",
                "Registry.Example.com/x/y:TAG_1",
            ),
            ("a__b/c---d", "a__b/c---d:latest"),
            ("[::1]:5000/app", "[::1]:5000/app:latest"),
        ] {
            assert_eq!(parse_tag_target(text).as_deref(), Ok(normal), "{text}");
        }
        let d = format!("app@sha256:{}", "a".repeat(64));
        assert_eq!(parse(&d).unwrap().digest.as_deref(), Some(&d[4..]));
    }

    #[test]
    fn docker_refuses_these() {
        for text in [
            "",
            "Busybox",
            "a//b",
            "/a",
            "a/",
            "-a",
            "a-",
            "a..b",
            "a___b",
            "a:",
            "a:-x",
            "a:.x",
            "a b",
            "a\u{1b}[31mb",
            "a\nb",
            ":tag",
            "a:b:c",
            "a@sha256:12",
            "host:port/app",
            "a/b:c/d",
        ] {
            assert!(parse_tag_target(text).is_err(), "{text:?} was accepted");
        }
        let long = "a".repeat(256);
        assert!(parse(&long).is_err());
        let t = format!("a:{}", "b".repeat(129));
        assert!(parse(&t).is_err());
        assert!(parse_tag_target(&format!("app@sha256:{}", "a".repeat(64))).is_err());
    }

    #[test]
    fn control_characters_are_named_and_never_echoed_raw() {
        let e = parse("evil\u{1b}[2J:latest").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("U+001B"), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown:?}");
    }
}
