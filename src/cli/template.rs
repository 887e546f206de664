//! `inspect -f`: the part of Go's text/template that docker's users write.
//!
//! docker formats `inspect` with a Go template over the document it would
//! print as JSON: `{{.State.Pid}}`, `{{json .Config}}`,
//! `{{range .Mounts}}{{.Source}} {{end}}`. This is that subset, evaluated over
//! the same `serde_json::Value` that `glassbox inspect` prints, so a field
//! has one name whichever way it is read:
//!
//! - `{{.}}`, `{{.A.B}}`: a field path from the current value (`.` is the
//!   document, or the element inside a `range`); `$` is always the document.
//! - `{{json X}}`, `{{index X "key"}}`, `{{index X 0}}`, `{{join X ", "}}`,
//!   `{{len X}}`, `{{upper X}}`, `{{lower X}}`, `{{println X}}`, and
//!   `X | json` (a pipe passes its value as the last argument).
//! - `{{range X}}…{{else}}…{{end}}` over an array (or an object's values,
//!   by key), `{{if X}}…{{else}}…{{end}}` with Go's truth (empty, zero,
//!   false and null are false).
//! - `{{-` and `-}}` trim the white space beside the action.
//!
//! Values print as Go prints them: strings bare, `<nil>` for null, arrays
//! as `[a b]`, objects as `map[k:v]`. A field that is not there is an error
//! that names the fields that are, as docker's "map has no entry for key".

use serde_json::Value;
use thiserror::Error;

/// What went wrong in a template, with where.
#[derive(Debug, Error, PartialEq)]
pub enum TemplateError {
    #[error("template: {0}")]
    Parse(String),
    #[error("template: executing {action:?}: {why}")]
    Exec { action: String, why: String },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    /// `{{pipeline}}`, with its source text for error messages.
    Print(Pipeline, String),
    Range {
        over: Pipeline,
        source: String,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    If {
        cond: Pipeline,
        source: String,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// `cmd | cmd | …`: each command's value is the last argument of the next.
type Pipeline = Vec<Command>;

#[derive(Debug, Clone, PartialEq)]
enum Command {
    /// A single value: `.A.B`, `$`, `"text"`, `3`.
    Term(Term),
    /// `name arg…`.
    Call(String, Vec<Term>),
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A field path from `.` (`root` false) or from `$` (`root` true).
    Path {
        root: bool,
        fields: Vec<String>,
    },
    Literal(Value),
}

const FUNCTIONS: [&str; 7] = ["json", "index", "join", "len", "upper", "lower", "println"];

impl Template {
    /// Parses `text`; an unknown function, an unclosed `{{range}}` or a
    /// stray `{{end}}` is an error that says which.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let tokens = lex(text)?;
        let mut pos = 0;
        let (nodes, stop) = parse_nodes(&tokens, &mut pos)?;
        match stop {
            Stop::Eof => Ok(Template { nodes }),
            Stop::End => Err(TemplateError::Parse("unexpected {{end}}".into())),
            Stop::Else => Err(TemplateError::Parse("unexpected {{else}}".into())),
        }
    }

    /// Evaluates the template over `doc`.
    pub fn render(&self, doc: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        render_nodes(&self.nodes, doc, doc, &mut out)?;
        Ok(out)
    }
}

/// Pieces of the template text: literal text, or an action's inside.
#[derive(Debug)]
enum Token {
    Text(String),
    Action(String),
}

fn lex(text: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut before = &rest[..open];
        if trim_next {
            before = before.trim_start();
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            TemplateError::Parse(format!("unclosed action at {:?}", truncate(&rest[open..])))
        })?;
        let mut inside = &after[..close];
        if let Some(s) = inside.strip_prefix("- ") {
            before = before.trim_end();
            inside = s;
        }
        trim_next = false;
        if let Some(s) = inside.strip_suffix(" -") {
            trim_next = true;
            inside = s;
        }
        if !before.is_empty() {
            tokens.push(Token::Text(before.to_string()));
        }
        tokens.push(Token::Action(inside.trim().to_string()));
        rest = &after[close + 2..];
    }
    let last = if trim_next { rest.trim_start() } else { rest };
    if !last.is_empty() {
        tokens.push(Token::Text(last.to_string()));
    }
    Ok(tokens)
}

fn truncate(s: &str) -> String {
    s.chars().take(30).collect()
}

enum Stop {
    Eof,
    End,
    Else,
}

fn parse_nodes(tokens: &[Token], pos: &mut usize) -> Result<(Vec<Node>, Stop), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        let action = match token {
            Token::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Token::Action(a) => a,
        };
        let (word, rest) = match action.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (action.as_str(), ""),
        };
        match word {
            "end" => return Ok((nodes, Stop::End)),
            "else" => return Ok((nodes, Stop::Else)),
            "range" | "if" => {
                if rest.is_empty() {
                    return Err(TemplateError::Parse(format!(
                        "{{{{{word}}}}} needs a value"
                    )));
                }
                let pipe = parse_pipeline(rest)?;
                let (body, stop) = parse_nodes(tokens, pos)?;
                let otherwise = match stop {
                    Stop::End => Vec::new(),
                    Stop::Else => match parse_nodes(tokens, pos)? {
                        (nodes, Stop::End) => nodes,
                        _ => {
                            return Err(TemplateError::Parse(format!(
                                "{{{{{action}}}}}'s {{{{else}}}} has no {{{{end}}}}"
                            )));
                        }
                    },
                    Stop::Eof => {
                        return Err(TemplateError::Parse(format!(
                            "{{{{{action}}}}} has no {{{{end}}}}"
                        )));
                    }
                };
                nodes.push(if word == "range" {
                    Node::Range {
                        over: pipe,
                        source: action.clone(),
                        body,
                        otherwise,
                    }
                } else {
                    Node::If {
                        cond: pipe,
                        source: action.clone(),
                        body,
                        otherwise,
                    }
                });
            }
            _ => nodes.push(Node::Print(parse_pipeline(action)?, action.clone())),
        }
    }
    Ok((nodes, Stop::Eof))
}

fn parse_pipeline(text: &str) -> Result<Pipeline, TemplateError> {
    split_outside_quotes(text, '|')
        .iter()
        .map(|c| parse_command(c.trim()))
        .collect()
}

fn parse_command(text: &str) -> Result<Command, TemplateError> {
    let words = split_outside_quotes(text, ' ');
    let words: Vec<&str> = words
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .collect();
    let Some((first, args)) = words.split_first() else {
        return Err(TemplateError::Parse("an empty action {{}}".into()));
    };
    if first.starts_with('.')
        || first.starts_with('$')
        || first.starts_with('"')
        || first.parse::<i64>().is_ok()
    {
        if !args.is_empty() {
            return Err(TemplateError::Parse(format!(
                "{first} is a value, not a function: {text:?}"
            )));
        }
        return Ok(Command::Term(parse_term(first)?));
    }
    if !FUNCTIONS.contains(first) {
        return Err(TemplateError::Parse(format!(
            "function {first:?} not defined (glassbox has {})",
            FUNCTIONS.join(", ")
        )));
    }
    let args = args
        .iter()
        .map(|a| parse_term(a))
        .collect::<Result<_, _>>()?;
    Ok(Command::Call(first.to_string(), args))
}

fn parse_term(word: &str) -> Result<Term, TemplateError> {
    if let Some(s) = word.strip_prefix('"') {
        let s = s
            .strip_suffix('"')
            .ok_or_else(|| TemplateError::Parse(format!("unterminated string {word}")))?;
        return Ok(Term::Literal(Value::String(
            s.replace("\\\"", "\"").replace("\\n", "\n"),
        )));
    }
    if let Ok(n) = word.parse::<i64>() {
        return Ok(Term::Literal(Value::from(n)));
    }
    let (root, path) = match word.strip_prefix('$') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    if path.is_empty() || path == "." {
        return Ok(Term::Path {
            root,
            fields: Vec::new(),
        });
    }
    let Some(path) = path.strip_prefix('.') else {
        return Err(TemplateError::Parse(format!(
            "{word:?} is not a field: fields start with a dot (.State.Pid)"
        )));
    };
    let fields: Vec<String> = path.split('.').map(str::to_string).collect();
    if fields.iter().any(|f| f.is_empty()) {
        return Err(TemplateError::Parse(format!(
            "{word:?}: an empty field name"
        )));
    }
    Ok(Term::Path { root, fields })
}

/// Splits at `sep` where it is not inside a double-quoted string.
fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if quoted {
            escaped = !escaped && c == '\\';
            if c == '"' && !escaped {
                quoted = false;
            }
        } else if c == '"' {
            quoted = true;
        } else if c == sep {
            parts.push(String::new());
            continue;
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

fn render_nodes(
    nodes: &[Node],
    dot: &Value,
    root: &Value,
    out: &mut String,
) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(pipe, source) => {
                let v = eval_pipeline(pipe, dot, root, source)?;
                out.push_str(&go_string(&v));
            }
            Node::If {
                cond,
                source,
                body,
                otherwise,
            } => {
                let v = eval_pipeline(cond, dot, root, source)?;
                let branch = if truth(&v) { body } else { otherwise };
                render_nodes(branch, dot, root, out)?;
            }
            Node::Range {
                over,
                source,
                body,
                otherwise,
            } => {
                let v = eval_pipeline(over, dot, root, source)?;
                let items: Vec<&Value> = match &v {
                    Value::Array(a) => a.iter().collect(),
                    Value::Object(m) => m.values().collect(),
                    Value::Null => Vec::new(),
                    other => {
                        return Err(TemplateError::Exec {
                            action: source.clone(),
                            why: format!("range can't iterate over {}", go_string(other)),
                        });
                    }
                };
                if items.is_empty() {
                    render_nodes(otherwise, dot, root, out)?;
                }
                for item in items {
                    render_nodes(body, item, root, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval_pipeline(
    pipe: &Pipeline,
    dot: &Value,
    root: &Value,
    source: &str,
) -> Result<Value, TemplateError> {
    let mut carried: Option<Value> = None;
    for command in pipe {
        let value = match command {
            Command::Term(t) => {
                if carried.is_some() {
                    return Err(TemplateError::Exec {
                        action: source.into(),
                        why: "a value after | must be a function (json, join, …)".into(),
                    });
                }
                eval_term(t, dot, root, source)?
            }
            Command::Call(name, args) => {
                let mut values = args
                    .iter()
                    .map(|a| eval_term(a, dot, root, source))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(c) = carried.take() {
                    values.push(c);
                }
                call(name, &values).map_err(|why| TemplateError::Exec {
                    action: source.into(),
                    why,
                })?
            }
        };
        carried = Some(value);
    }
    Ok(carried.unwrap_or(Value::Null))
}

fn eval_term(term: &Term, dot: &Value, root: &Value, source: &str) -> Result<Value, TemplateError> {
    match term {
        Term::Literal(v) => Ok(v.clone()),
        Term::Path {
            root: from_root,
            fields,
        } => {
            let mut v = if *from_root { root } else { dot };
            let mut walked = String::new();
            for f in fields {
                let next = match v {
                    Value::Object(m) => m.get(f),
                    _ => None,
                };
                let Some(next) = next else {
                    let why = match v {
                        Value::Object(m) => format!(
                            "{} has no field {f:?} (it has {})",
                            if walked.is_empty() {
                                "the document"
                            } else {
                                &walked
                            },
                            m.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                        other => format!(
                            "can't evaluate field {f} in {} (a {}, not an object)",
                            if walked.is_empty() { "." } else { &walked },
                            kind(other)
                        ),
                    };
                    return Err(TemplateError::Exec {
                        action: source.into(),
                        why,
                    });
                };
                walked.push('.');
                walked.push_str(f);
                v = next;
            }
            Ok(v.clone())
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let want = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{name} takes {n} argument(s), got {}", args.len()))
        }
    };
    match name {
        "json" => {
            want(1)?;
            serde_json::to_string(&args[0])
                .map(Value::String)
                .map_err(|e| e.to_string())
        }
        "index" => {
            want(2)?;
            match (&args[0], &args[1]) {
                (Value::Object(m), Value::String(k)) => {
                    Ok(m.get(k).cloned().unwrap_or(Value::Null))
                }
                (Value::Array(a), Value::Number(n)) => {
                    let i = n.as_u64().ok_or("index: a negative index")? as usize;
                    a.get(i).cloned().ok_or_else(|| {
                        format!("index out of range: {i} (the list has {})", a.len())
                    })
                }
                (c, k) => Err(format!("can't index a {} with a {}", kind(c), kind(k))),
            }
        }
        "join" => {
            want(2)?;
            match (&args[0], &args[1]) {
                (Value::Array(a), Value::String(sep)) => Ok(Value::String(
                    a.iter().map(go_string).collect::<Vec<_>>().join(sep),
                )),
                (a, s) => Err(format!(
                    "join takes a list and a string, got a {} and a {}",
                    kind(a),
                    kind(s)
                )),
            }
        }
        "len" => {
            want(1)?;
            match &args[0] {
                Value::Array(a) => Ok(Value::from(a.len())),
                Value::Object(m) => Ok(Value::from(m.len())),
                Value::String(s) => Ok(Value::from(s.len())),
                other => Err(format!("len of a {}", kind(other))),
            }
        }
        "upper" | "lower" => {
            want(1)?;
            let s = go_string(&args[0]);
            Ok(Value::String(if name == "upper" {
                s.to_uppercase()
            } else {
                s.to_lowercase()
            }))
        }
        "println" => Ok(Value::String(
            args.iter().map(go_string).collect::<Vec<_>>().join(" ") + "\n",
        )),
        other => Err(format!("function {other:?} not defined")),
    }
}

/// Go's truth: false, 0, "", null and empty lists and maps are false.
fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value as Go's `fmt.Print` shows it.
pub fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_string).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_string(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "State": { "Pid": 4242, "OOMKilled": true, "ExitCode": 137, "Running": false },
            "Config": { "Env": ["A=1", "B=2"], "Tty": false },
            "Mounts": [ { "Source": "/a", "Destination": "/x" }, { "Source": "/b", "Destination": "/y" } ],
            "Name": "/web",
        })
    }

    fn render(t: &str) -> Result<String, TemplateError> {
        Template::parse(t)?.render(&doc())
    }

    #[test]
    fn fields_print_as_go_prints_them() {
        assert_eq!(render("{{.State.Pid}}").unwrap(), "4242");
        assert_eq!(
            render("oom={{.State.OOMKilled}} exit={{.State.ExitCode}}").unwrap(),
            "oom=true exit=137"
        );
        assert_eq!(render("{{.Config.Env}}").unwrap(), "[A=1 B=2]");
        assert_eq!(
            render("{{.Config}}").unwrap(),
            "map[Env:[A=1 B=2] Tty:false]"
        );
    }

    #[test]
    fn json_index_join_len_and_pipes() {
        assert_eq!(
            render("{{json .Config}}").unwrap(),
            r#"{"Env":["A=1","B=2"],"Tty":false}"#
        );
        assert_eq!(
            render("{{.Config | json}}").unwrap(),
            r#"{"Env":["A=1","B=2"],"Tty":false}"#
        );
        assert_eq!(render(r#"{{index .State "Pid"}}"#).unwrap(), "4242");
        assert_eq!(render("{{index .Config.Env 1}}").unwrap(), "B=2");
        assert_eq!(render(r#"{{join .Config.Env ","}}"#).unwrap(), "A=1,B=2");
        assert_eq!(render("{{len .Mounts}}").unwrap(), "2");
        assert_eq!(render("{{upper .Name}}").unwrap(), "/WEB");
    }

    #[test]
    fn range_rebinds_dot_and_dollar_is_the_document() {
        assert_eq!(
            render("{{range .Mounts}}{{.Source}}->{{.Destination}} {{end}}").unwrap(),
            "/a->/x /b->/y "
        );
        assert_eq!(
            render("{{range .Mounts}}{{$.Name}}{{end}}").unwrap(),
            "/web/web"
        );
        assert!(
            render("{{range .Nothing}}x{{else}}none{{end}}")
                .unwrap_err()
                .to_string()
                .contains("no field \"Nothing\"")
        );
        assert_eq!(
            render("{{range .Config.Env}}[{{.}}]{{end}}").unwrap(),
            "[A=1][B=2]"
        );
        assert_eq!(
            Template::parse("{{range .L}}x{{else}}none{{end}}")
                .unwrap()
                .render(&json!({"L": []}))
                .unwrap(),
            "none"
        );
    }

    #[test]
    fn if_and_trim_markers() {
        assert_eq!(
            render("{{if .State.Running}}up{{else}}down{{end}}").unwrap(),
            "down"
        );
        assert_eq!(render("a  {{- .State.Pid -}}  b").unwrap(), "a4242b");
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let e = render("{{.State.Pidd}}").unwrap_err().to_string();
        assert!(
            e.contains(r#".State has no field "Pidd""#) && e.contains("Pid"),
            "{e}"
        );
        let e = render("{{.Name.First}}").unwrap_err().to_string();
        assert!(e.contains("a string, not an object"), "{e}");
        let e = Template::parse("{{printf .Name}}").unwrap_err().to_string();
        assert!(e.contains("\"printf\" not defined"), "{e}");
        assert!(
            Template::parse("{{range .Mounts}}x")
                .unwrap_err()
                .to_string()
                .contains("no {{end}}")
        );
        assert!(
            Template::parse("x{{end}}")
                .unwrap_err()
                .to_string()
                .contains("unexpected {{end}}")
        );
        assert!(
            Template::parse("{{.State")
                .unwrap_err()
                .to_string()
                .contains("unclosed")
        );
        assert!(
            Template::parse("{{State}}")
                .unwrap_err()
                .to_string()
                .contains("not defined")
        );
    }
}
