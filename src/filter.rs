//! The filter query language (TUI `/` and `--filter`), parsed into a typed AST.
//! Each store backend translates a `Query` into its own SQL (values always bound).
use std::fmt;

use chrono::Duration;

use crate::domain::{fmt_duration, parse_duration, Binding, CredentialKind, CredentialStatus, OwnerStatus};

pub const KEYS: &[&str] = &["owner", "owner-status", "workload", "scope", "binding", "status", "issuer", "kind", "expires", "unused", "task", "finding"];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub term: Term,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Owner(String),
    OwnerNone,
    OwnerStatus(OwnerStatus),
    Workload(String),
    Scope(String),
    Binding(Binding),
    Status(CredentialStatus),
    Issuer(String),
    Kind(CredentialKind),
    ExpiresWithin(Duration),
    ExpiresBeyond(Duration),
    ExpiresNever,
    UnusedFor(Duration),
    /// Issued for a task that has ended (`task:ended`): it outlived what it was for.
    TaskEnded,
    /// Issued for this task (`task:ID`).
    Task(String),
    Finding(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at column {})", position + 1)]
pub struct ParseError {
    /// Char offset where the bad term starts.
    pub position: usize,
    pub message: String,
}

impl ParseError {
    /// The input, then a caret under the failing position.
    pub fn caret_line(&self, input: &str) -> String {
        format!("  {input}\n  {}^", " ".repeat(self.position))
    }
}

/// Splits into (start char offset, raw token) on unquoted whitespace.
fn tokens(input: &str) -> Result<Vec<(usize, String)>, ParseError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = None;
    let mut quote_at = None;
    for (i, ch) in input.chars().enumerate() {
        match ch {
            '"' => {
                start.get_or_insert(i);
                quote_at = if quote_at.is_some() { None } else { Some(i) };
                cur.push(ch);
            }
            c if c.is_whitespace() && quote_at.is_none() => {
                if let Some(s) = start.take() {
                    out.push((s, std::mem::take(&mut cur)));
                }
            }
            c => {
                start.get_or_insert(i);
                cur.push(c);
            }
        }
    }
    if let Some(q) = quote_at {
        return Err(ParseError { position: q, message: "unterminated quote".into() });
    }
    if let Some(s) = start {
        out.push((s, cur));
    }
    Ok(out)
}

fn unquote(s: &str) -> String {
    s.replace('"', "")
}

fn enum_value<T: Copy>(key: &str, value: &str, parse: fn(&str) -> Option<T>, all: &[T], name: fn(T) -> &'static str, at: usize) -> Result<T, ParseError> {
    parse(value).ok_or_else(|| ParseError {
        position: at,
        message: format!("{key}:{value} is not valid (one of: {})", all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", ")),
    })
}

pub fn parse(input: &str) -> Result<Query, ParseError> {
    let mut clauses = Vec::new();
    for (at, raw) in tokens(input)? {
        let (negated, body) = match raw.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, raw.as_str()),
        };
        let err = |message: String| ParseError { position: at, message };
        let term = if let Some(rest) = body.strip_prefix("expires<").or_else(|| body.strip_prefix("expires>")) {
            let d = parse_duration(rest).ok_or_else(|| err(format!("'{rest}' is not a duration (like 30m, 12h, 7d, 2w)")))?;
            if body.starts_with("expires<") { Term::ExpiresWithin(d) } else { Term::ExpiresBeyond(d) }
        } else if let Some(rest) = body.strip_prefix("unused>") {
            Term::UnusedFor(parse_duration(rest).ok_or_else(|| err(format!("'{rest}' is not a duration (like 30m, 12h, 7d, 2w)")))?)
        } else if let Some((key, value)) = body.split_once(':').filter(|(k, _)| !k.contains('"')) {
            let value = unquote(value);
            if !KEYS.contains(&key) {
                return Err(err(format!("unknown filter key '{key}' (known: {})", KEYS.join(", "))));
            }
            if value.trim().is_empty() {
                return Err(err(format!("{key}: needs a value")));
            }
            match key {
                "owner" if value.to_lowercase() == "none" => Term::OwnerNone,
                "owner" => Term::Owner(value.to_lowercase()),
                "owner-status" => Term::OwnerStatus(enum_value(key, &value, OwnerStatus::parse, OwnerStatus::ALL, OwnerStatus::as_str, at)?),
                "workload" => Term::Workload(value),
                "scope" => Term::Scope(value),
                "binding" => Term::Binding(enum_value(key, &value, Binding::parse, Binding::ALL, Binding::as_str, at)?),
                "status" => Term::Status(enum_value(key, &value, CredentialStatus::parse, CredentialStatus::ALL, CredentialStatus::as_str, at)?),
                "issuer" => Term::Issuer(value),
                "kind" => Term::Kind(enum_value(key, &value, CredentialKind::parse, CredentialKind::ALL, CredentialKind::as_str, at)?),
                "expires" if value == "never" => Term::ExpiresNever,
                "expires" => return Err(err("expires takes <DURATION, >DURATION or :never".into())),
                "unused" => return Err(err("unused takes >DURATION, like unused>90d".into())),
                "task" if value == "ended" => Term::TaskEnded,
                "task" => Term::Task(value),
                _ => Term::Finding(value),
            }
        } else {
            let word = unquote(body);
            if word.is_empty() {
                return Err(err("empty term".into()));
            }
            Term::Text(word)
        };
        clauses.push(Clause { negated, term });
    }
    Ok(Query { clauses })
}

impl Query {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

fn quote_if_needed(s: &str) -> String {
    if s.chars().any(char::is_whitespace) { format!("\"{s}\"") } else { s.to_string() }
}

/// A bare word is quoted also when, unquoted, it would read as a negation or a
/// `key:value`, `expires<`, `expires>` or `unused>` term.
fn quote_word(w: &str) -> String {
    let looks_like_a_term = w.starts_with('-') || w.contains(':') || ["expires<", "expires>", "unused>"].iter().any(|p| w.starts_with(p));
    if looks_like_a_term { format!("\"{w}\"") } else { quote_if_needed(w) }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Owner(o) => write!(f, "owner:{}", quote_if_needed(o)),
            Term::OwnerNone => write!(f, "owner:none"),
            Term::OwnerStatus(s) => write!(f, "owner-status:{s}"),
            Term::Workload(w) => write!(f, "workload:{}", quote_if_needed(w)),
            Term::Scope(s) => write!(f, "scope:{}", quote_if_needed(s)),
            Term::Binding(b) => write!(f, "binding:{b}"),
            Term::Status(s) => write!(f, "status:{s}"),
            Term::Issuer(i) => write!(f, "issuer:{}", quote_if_needed(i)),
            Term::Kind(k) => write!(f, "kind:{k}"),
            Term::ExpiresWithin(d) => write!(f, "expires<{}", fmt_duration(d)),
            Term::ExpiresBeyond(d) => write!(f, "expires>{}", fmt_duration(d)),
            Term::ExpiresNever => write!(f, "expires:never"),
            Term::UnusedFor(d) => write!(f, "unused>{}", fmt_duration(d)),
            Term::TaskEnded => write!(f, "task:ended"),
            Term::Task(t) => write!(f, "task:{}", quote_if_needed(t)),
            Term::Finding(r) => write!(f, "finding:{}", quote_if_needed(r)),
            Term::Text(w) => write!(f, "{}", quote_word(w)),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if c.negated {
                f.write_str("-")?;
            }
            write!(f, "{}", c.term)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_every_term() {
        let q = parse("owner:Ana@Acme.test owner:none owner-status:offboarded workload:deploy-bot scope:repo:write binding:bearer status:active issuer:gh kind:api_key expires<7d expires>30d expires:never unused>90d finding:owner-offboarded invoice -status:revoked").expect("parses");
        let terms: Vec<&Term> = q.clauses.iter().map(|c| &c.term).collect();
        assert_eq!(terms[0], &Term::Owner("ana@acme.test".into()));
        assert_eq!(terms[1], &Term::OwnerNone);
        assert_eq!(terms[4], &Term::Scope("repo:write".into()));
        assert_eq!(terms[9], &Term::ExpiresWithin(Duration::days(7)));
        assert_eq!(terms[12], &Term::UnusedFor(Duration::days(90)));
        assert_eq!(terms[14], &Term::Text("invoice".into()));
        assert!(q.clauses[15].negated);
        assert_eq!(q.to_string(), "owner:ana@acme.test owner:none owner-status:offboarded workload:deploy-bot scope:repo:write binding:bearer status:active issuer:gh kind:api_key expires<1w expires>30d expires:never unused>90d finding:owner-offboarded invoice -status:revoked");
        assert_eq!(parse(&q.to_string()).expect("round trip"), q);
    }

    #[test]
    fn quotes_keep_spaces_and_round_trip() {
        let q = parse("workload:\"my agent\" \"two words\"").expect("parses");
        assert_eq!(q.clauses[0].term, Term::Workload("my agent".into()));
        assert_eq!(q.clauses[1].term, Term::Text("two words".into()));
        assert_eq!(parse(&q.to_string()).expect("round trip"), q);
    }

    #[test]
    fn errors_name_the_position() {
        let e = parse("owner:ana colour:red").unwrap_err();
        assert_eq!(e.position, 10);
        assert!(e.message.starts_with("unknown filter key 'colour'"), "{}", e.message);
        assert_eq!(e.caret_line("owner:ana colour:red"), "  owner:ana colour:red\n            ^");
        let e = parse("binding:purple").unwrap_err();
        assert!(e.message.contains("bearer, dpop, mtls"), "{}", e.message);
        assert_eq!(parse("expires<7x").unwrap_err().position, 0);
        assert!(parse("a \"open").unwrap_err().message.contains("unterminated"));
        assert!(parse("owner:").unwrap_err().message.contains("needs a value"));
        assert!(parse("unused:3d").is_err());
    }

    /// Found by tests/properties.rs: words that, printed bare, read as another term.
    #[test]
    fn words_that_look_like_terms_print_quoted() {
        for input in ["\"owner:\"", "\":\"", "\"-x\"", "\"a:b\"", "\"expires<7d\"", "\"unused>3d\"", "-\"-x\""] {
            let q = parse(input).expect("parses");
            assert!(matches!(q.clauses[0].term, Term::Text(_)), "{input}");
            assert_eq!(parse(&q.to_string()).expect("round trip"), q, "{input} printed as {q}");
        }
        let q = parse("owner:NONE").expect("parses");
        assert_eq!(q.clauses[0].term, Term::OwnerNone);
        assert_eq!(parse(&q.to_string()).expect("round trip"), q);
    }

}
