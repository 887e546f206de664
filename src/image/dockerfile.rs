//! The Dockerfile, parsed: a pure function from text to instructions.
//!
//! A Dockerfile is a list of instructions, one per logical line (a trailing
//! `\` continues a line; `#` at the start of a line is a comment). Each
//! instruction changes the image being built in one of two ways:
//! - `RUN`, `COPY` and `ADD` change files, so each adds a filesystem layer;
//! - `ENV`, `ARG`, `WORKDIR`, `USER`, `CMD`, `ENTRYPOINT`, `EXPOSE`, `LABEL`
//!   change only the image's config (metadata), and appear in `history` as
//!   entries of size 0 with no layer behind them.
//!
//! That is why "each instruction creates a layer" is a simplification: only
//! three of them do. `FROM` picks the starting image. Errors name the line,
//! as `Dockerfile:3: unknown instruction FORM`.

use std::collections::BTreeMap;

/// A command in shell form (`RUN make`, run by `/bin/sh -c`) or exec form
/// (`RUN ["make"]`, run as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

impl Command {
    /// The argv the container runs.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
            Command::Exec(v) => v.clone(),
        }
    }
}

/// `COPY`/`ADD` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    pub sources: Vec<String>,
    pub dest: String,
    /// `--chown=USER[:GROUP]`
    pub chown: Option<String>,
    /// `--chmod=0755`
    pub chmod: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    From {
        image: String,
    },
    Run(Command),
    Copy(CopyArgs),
    Add(CopyArgs),
    Env(Vec<(String, String)>),
    Arg {
        name: String,
        default: Option<String>,
    },
    Workdir(String),
    User(String),
    Cmd(Command),
    Entrypoint(Command),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    /// `VOLUME /data` or `VOLUME ["/data", "/logs"]`: each container gets an
    /// anonymous volume at these paths.
    Volume(Vec<String>),
    /// `STOPSIGNAL SIGUSR1`: what `stop` sends first.
    StopSignal(String),
}

impl Kind {
    /// Does this instruction add a filesystem layer?
    pub fn adds_layer(&self) -> bool {
        matches!(self, Kind::Run(_) | Kind::Copy(_) | Kind::Add(_))
    }
}

/// One instruction and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// The keyword, upper case (`RUN`).
    pub keyword: String,
    /// Everything after the keyword, continuations joined.
    pub args: String,
    pub kind: Kind,
}

impl Instruction {
    /// `RUN echo hi`: the instruction as written (continuations joined).
    pub fn text(&self) -> String {
        format!("{} {}", self.keyword, self.args)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Parses a Dockerfile. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Instruction>, ParseError> {
    let err = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
        if let Some(body) = trimmed.strip_suffix('\\') {
            joined.push_str(body);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(trimmed);
        if joined.trim().is_empty() {
            continue;
        }
        out.push(instruction(start, joined.trim()).map_err(|m| err(start, m))?);
    }
    if let Some((start, joined)) = pending
        && !joined.trim().is_empty()
    {
        out.push(instruction(start, joined.trim()).map_err(|m| err(start, m))?);
    }
    let Some(first) = out.iter().find(|i| i.keyword != "ARG") else {
        return Err(err(
            1,
            "the Dockerfile has no instructions: it must start with FROM".into(),
        ));
    };
    if first.keyword != "FROM" {
        return Err(err(
            first.line,
            format!(
                "{} before FROM: a Dockerfile must start with FROM (only ARG may precede it)",
                first.keyword
            ),
        ));
    }
    if let Some(second) = out.iter().filter(|i| i.keyword == "FROM").nth(1) {
        return Err(err(
            second.line,
            "a second FROM: multi-stage builds are not supported by glassbox".into(),
        ));
    }
    Ok(out)
}

fn instruction(line: usize, text: &str) -> Result<Instruction, String> {
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let keyword = word.to_ascii_uppercase();
    let args = rest.trim().to_string();
    let need_args = |what: &str| -> Result<(), String> {
        if args.is_empty() {
            Err(format!("{keyword} needs {what}"))
        } else {
            Ok(())
        }
    };
    let kind = match keyword.as_str() {
        "FROM" => {
            need_args("an image")?;
            let words: Vec<&str> = args.split_whitespace().collect();
            if words.iter().any(|w| w.starts_with("--")) {
                return Err("FROM flags (--platform) are not supported".into());
            }
            match words.as_slice() {
                [image] => Kind::From {
                    image: image.to_string(),
                },
                [_, as_, _] if as_.eq_ignore_ascii_case("as") => {
                    return Err(
                        "FROM … AS name: multi-stage builds are not supported by glassbox".into(),
                    );
                }
                _ => return Err(format!("FROM takes one image, got {args:?}")),
            }
        }
        "RUN" => {
            need_args("a command")?;
            Kind::Run(command(&args)?)
        }
        "CMD" => {
            need_args("a command")?;
            Kind::Cmd(command(&args)?)
        }
        "ENTRYPOINT" => {
            need_args("a command")?;
            Kind::Entrypoint(command(&args)?)
        }
        "COPY" | "ADD" => {
            let c = copy_args(&keyword, &args)?;
            if keyword == "COPY" {
                Kind::Copy(c)
            } else {
                Kind::Add(c)
            }
        }
        "ENV" => {
            need_args("NAME=value")?;
            Kind::Env(pairs(&keyword, &args)?)
        }
        "LABEL" => {
            need_args("key=value")?;
            Kind::Label(pairs(&keyword, &args)?)
        }
        "ARG" => {
            need_args("a name")?;
            let words = split_words(&args)?;
            let [word] = words.as_slice() else {
                return Err("ARG takes one NAME or NAME=default".into());
            };
            let (name, default) = match word.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (word.clone(), None),
            };
            check_name(&name)?;
            Kind::Arg { name, default }
        }
        "WORKDIR" => {
            need_args("a path")?;
            Kind::Workdir(args.clone())
        }
        "USER" => {
            need_args("a user")?;
            Kind::User(args.clone())
        }
        "EXPOSE" => {
            need_args("a port")?;
            Kind::Expose(args.split_whitespace().map(String::from).collect())
        }
        "VOLUME" => {
            need_args("a path")?;
            let paths = match serde_json::from_str::<Vec<String>>(&args) {
                Ok(v) if args.starts_with('[') => v,
                _ => args.split_whitespace().map(String::from).collect(),
            };
            if paths.iter().any(|p| p.trim().is_empty()) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            Kind::Volume(paths)
        }
        "STOPSIGNAL" => {
            need_args("a signal")?;
            Kind::StopSignal(args.clone())
        }
        "MAINTAINER" | "ONBUILD" | "HEALTHCHECK" | "SHELL" => {
            return Err(format!("{keyword} is not supported by glassbox"));
        }
        _ => return Err(format!("unknown instruction {word}")),
    };
    Ok(Instruction {
        line,
        keyword,
        args,
        kind,
    })
}

/// `["a", "b"]` is exec form; anything else is shell form.
fn command(args: &str) -> Result<Command, String> {
    if args.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Vec<String>>(args)
    {
        if v.is_empty() {
            return Err("an empty exec-form command []".into());
        }
        return Ok(Command::Exec(v));
    }
    Ok(Command::Shell(args.to_string()))
}

fn copy_args(keyword: &str, args: &str) -> Result<CopyArgs, String> {
    let mut rest = args.trim();
    let mut chown = None;
    let mut chmod = None;
    while let Some(flag) = rest.strip_prefix("--") {
        let (word, after) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (name, value) = word.split_once('=').unwrap_or((word, ""));
        match name {
            "chown" if !value.is_empty() => chown = Some(value.to_string()),
            "chmod" if !value.is_empty() => {
                chmod = Some(
                    u32::from_str_radix(value, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| {
                            format!("{keyword} --chmod={value}: give an octal mode such as 0755")
                        })?,
                )
            }
            "from" => {
                return Err(format!(
                    "{keyword} --from: multi-stage builds are not supported by glassbox"
                ));
            }
            _ => return Err(format!("{keyword}: unknown flag --{word}")),
        }
        rest = after.trim_start();
    }
    let words: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest).map_err(|e| format!("{keyword}: bad JSON array: {e}"))?
    } else {
        split_words(rest)?
    };
    if words.len() < 2 {
        return Err(format!(
            "{keyword} needs at least one source and a destination"
        ));
    }
    let (dest, sources) = words.split_last().ok_or("no destination")?;
    Ok(CopyArgs {
        sources: sources.to_vec(),
        dest: dest.clone(),
        chown,
        chmod,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid name {name:?}"))
    }
}

/// `K=V K2="v 2"`, or the legacy `K some value` (ENV only).
fn pairs(keyword: &str, args: &str) -> Result<Vec<(String, String)>, String> {
    let words = split_words(args)?;
    if keyword == "ENV" && !words.first().is_some_and(|w| w.contains('=')) {
        let (name, value) = args
            .split_once(char::is_whitespace)
            .ok_or("ENV needs NAME=value")?;
        check_name(name)?;
        return Ok(vec![(name.to_string(), value.trim().to_string())]);
    }
    words
        .into_iter()
        .map(|w| {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("{keyword}: {w:?} is not key=value"))?;
            if keyword == "ENV" {
                check_name(k)?;
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Splits on whitespace, keeping quoted parts together; quotes are removed
/// and `\` escapes the next character.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => cur.push('\\'),
                }
            }
            (_, c) => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in {s:?}"));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alt}` from
/// `vars`; `\$` is a literal dollar. Unknown names expand to nothing, as in
/// docker.
pub fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            let Some(end) = chars[i + 2..].iter().position(|&c| c == '}') else {
                out.push(c);
                i += 1;
                continue;
            };
            let inner: String = chars[i + 2..i + 2 + end].iter().collect();
            let value = if let Some((name, default)) = inner.split_once(":-") {
                vars.get(name)
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .unwrap_or_else(|| default.to_string())
            } else if let Some((name, alt)) = inner.split_once(":+") {
                if vars.get(name).is_some_and(|v| !v.is_empty()) {
                    alt.to_string()
                } else {
                    String::new()
                }
            } else {
                vars.get(&inner).cloned().unwrap_or_default()
            };
            out.push_str(&value);
            i += 3 + end;
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect();
        if name.is_empty() {
            out.push('$');
            i += 1;
        } else {
            out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
            i += 1 + name.chars().count();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\ g"#).unwrap(),
            vec!["a", "b c", "d e", "f g"]
        );
        assert!(split_words("\"open").is_err());
    }

    #[test]
    fn expansion() {
        let mut v = BTreeMap::new();
        v.insert("A".to_string(), "1".to_string());
        assert_eq!(expand("$A ${A} ${B:-x} ${A:+y} \\$A $", &v), "1 1 x y $A $");
    }
}
