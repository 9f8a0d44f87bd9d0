//! Deployed where: reads agent configuration files for secrets in plain text (MCP
//! client configurations' `env` and `headers`, dotenv files, cloud shared-credentials
//! files) and keeps, of each secret-looking value, only where it sits and its sha256
//! fingerprint: the value is dropped as soon as it is hashed. Symlinks are never
//! followed, files are read up to a cap, and what cannot be read or parsed is
//! skipped with the reason.
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::{fingerprint, text};
use crate::store::FoundSecret;

/// Largest file read; a configuration beyond it is skipped, said why.
pub const MAX_FILE: u64 = 1024 * 1024;
/// Most files one scan reads, and how deep it goes below a root.
pub const MAX_FILES: usize = 20_000;
const MAX_DEPTH: usize = 12;
/// Directories never entered: dependencies and history, not configuration.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", "target", ".venv", "venv", "__pycache__"];

/// Variable and header names that hold secrets.
const SECRET_NAMES: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "AUTH", "_PAT", "BEARER"];
/// Value prefixes of the tokens of the issuers tokenward syncs (and common others).
const SECRET_PREFIXES: &[&str] = &[
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "sk-", "sk_live_", "hvs.", "hvb.", "AKIA", "ASIA", "eyJ", "twk_",
];

/// What one scan read and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    pub roots: Vec<String>,
    pub files_read: usize,
    pub found: Vec<FoundSecret>,
    /// Files (or symlinks) left alone, each with why.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Scans every root (a file or a directory) for agent configurations.
pub fn scan(roots: &[PathBuf]) -> ScanReport {
    let mut report = ScanReport::default();
    for root in roots {
        let shown = shown(root);
        report.roots.push(shown.clone());
        match std::fs::symlink_metadata(root) {
            Err(e) => report.skipped.push(Skipped { path: shown, reason: format!("cannot read: {e}") }),
            Ok(m) if m.file_type().is_symlink() => report.skipped.push(Skipped { path: shown, reason: "a symlink: never followed".into() }),
            Ok(m) if m.is_dir() => walk(root, 0, &mut report),
            Ok(_) => read_file(root, &mut report),
        }
    }
    report
}

/// A path as recorded: absolute when it can be made so, lossy UTF-8, sanitized.
fn shown(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    text::clean(&abs.to_string_lossy(), 1024)
}

fn walk(dir: &Path, depth: usize, report: &mut ScanReport) {
    if depth > MAX_DEPTH {
        report.skipped.push(Skipped { path: shown(dir), reason: format!("deeper than {MAX_DEPTH} directories") });
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return report.skipped.push(Skipped { path: shown(dir), reason: format!("cannot list: {e}") }),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if report.files_read >= MAX_FILES {
            report.skipped.push(Skipped { path: shown(dir), reason: format!("stopped after {MAX_FILES} files") });
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if meta.file_type().is_symlink() {
            if kind_of(&path).is_some() {
                report.skipped.push(Skipped { path: shown(&path), reason: "a symlink: never followed".into() });
            }
        } else if meta.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                walk(&path, depth + 1, report);
            }
        } else if meta.is_file() && kind_of(&path).is_some() {
            read_file(&path, report);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Mcp,
    Dotenv,
    AwsCredentials,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Mcp => "mcp",
            Kind::Dotenv => "dotenv",
            Kind::AwsCredentials => "aws-credentials",
        }
    }
}

/// Which configuration a file is, by its name (and its directory for cloud credentials).
fn kind_of(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    let parent = path.parent().and_then(|p| p.file_name()).map(|p| p.to_string_lossy().to_lowercase()).unwrap_or_default();
    if name.ends_with(".json") && (name.contains("mcp") || name.contains("claude") || name == "settings.json" || name == "config.json") {
        Some(Kind::Mcp)
    } else if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
        Some(Kind::Dotenv)
    } else if name == "credentials" && parent == ".aws" || name == "aws-credentials" || name.ends_with(".aws-credentials") {
        Some(Kind::AwsCredentials)
    } else {
        None
    }
}

fn read_file(path: &Path, report: &mut ScanReport) {
    let shown_path = shown(path);
    let skip = |report: &mut ScanReport, reason: String| report.skipped.push(Skipped { path: shown_path.clone(), reason });
    let Some(kind) = kind_of(path) else { return skip(report, "not an agent configuration this scan reads (MCP JSON, dotenv, AWS credentials)".into()) };
    let size = std::fs::symlink_metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE {
        return skip(report, format!("{size} bytes, more than the {MAX_FILE} read"));
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return skip(report, format!("cannot read: {e}")),
    };
    let Ok(content) = String::from_utf8(bytes) else { return skip(report, "not UTF-8 text".into()) };
    report.files_read += 1;
    let values = match kind {
        Kind::Mcp => match mcp_values(&content) {
            Ok(v) => v,
            Err(why) => return skip(report, why),
        },
        Kind::Dotenv => dotenv_values(&content),
        Kind::AwsCredentials => aws_values(&content),
    };
    for v in values {
        // The value is hashed here and goes no further.
        report.found.push(FoundSecret {
            path: shown_path.clone(),
            location: text::clean(&v.location, 300),
            format: kind.as_str().into(),
            fingerprint: fingerprint(v.secret.as_bytes()),
            key_id: v.key_id.map(|k| text::clean(&k, 128)),
        });
    }
}

/// A secret-looking value and where it was; lives only until it is fingerprinted.
struct Value {
    location: String,
    secret: String,
    key_id: Option<String>,
}

/// Whether a name (a variable, a header) says its value is a secret.
fn secret_name(name: &str) -> bool {
    let upper = name.to_uppercase().replace('-', "_");
    SECRET_NAMES.iter().any(|w| upper.contains(w)) || upper == "KEY" || upper.ends_with("_KEY")
}

/// Whether a value is worth fingerprinting: not empty, not a placeholder, not a reference.
fn plausible(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 8 && !v.contains("${") && !v.starts_with('<') && !v.starts_with("$(") && !v.contains(' ') && !["changeme", "xxxxxxxx", "********"].contains(&v.to_lowercase().as_str())
}

fn known_prefix(value: &str) -> bool {
    SECRET_PREFIXES.iter().any(|p| value.starts_with(p) && value.len() >= p.len() + 8)
}

/// A candidate from a name and its value: the token after `Bearer ` in an
/// Authorization header, else the value when the name or its prefix says secret.
fn candidate(location: String, name: &str, value: &str) -> Option<Value> {
    let value = value.trim();
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).or_else(|| value.strip_prefix("token ")).unwrap_or(value).trim();
    let secret = name.eq_ignore_ascii_case("authorization") || secret_name(name) || known_prefix(token);
    (secret && plausible(token)).then(|| Value { location, secret: token.to_string(), key_id: None })
}

/// MCP client configurations: `mcpServers` (Claude, Cursor, most hosts), `servers`
/// (VS Code) or `mcp.servers`; each server's `env` and `headers`, and any argument
/// with a known token prefix.
fn mcp_values(content: &str) -> Result<Vec<Value>, String> {
    let json: serde_json::Value = serde_json::from_str(content).map_err(|e| format!("not JSON: {}", text::clean(&e.to_string(), 120)))?;
    let (key, servers) = [("mcpServers", json.get("mcpServers")), ("servers", json.get("servers")), ("mcp.servers", json.get("mcp").and_then(|m| m.get("servers")))]
        .into_iter()
        .find_map(|(k, v)| v.and_then(|v| v.as_object()).map(|o| (k, o)))
        .ok_or("JSON without mcpServers, servers or mcp.servers: not an MCP client configuration")?;
    let mut out = Vec::new();
    for (server, def) in servers {
        for block in ["env", "headers"] {
            if let Some(map) = def.get(block).and_then(|b| b.as_object()) {
                for (name, value) in map {
                    if let Some(v) = value.as_str().and_then(|s| candidate(format!("{key}.{server}.{block}.{name}"), name, s)) {
                        out.push(v);
                    }
                }
            }
        }
        if let Some(args) = def.get("args").and_then(|a| a.as_array()) {
            for (i, arg) in args.iter().enumerate() {
                let Some(s) = arg.as_str() else { continue };
                let value = s.split_once('=').map_or(s, |(_, v)| v);
                if known_prefix(value) && plausible(value) {
                    out.push(Value { location: format!("{key}.{server}.args[{i}]"), secret: value.to_string(), key_id: None });
                }
            }
        }
    }
    Ok(out)
}

/// `NAME=value` lines (`export` allowed, quotes stripped, comments ignored).
fn dotenv_values(content: &str) -> Vec<Value> {
    content
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                return None;
            }
            let (name, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))).unwrap_or(value);
            candidate(name.trim().to_string(), name.trim(), value)
        })
        .collect()
}

/// `[profile]` sections of `key = value`: the secret access key (with its key id
/// beside it) and any session token.
fn aws_values(content: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut section = String::from("default");
    let mut key_id: Option<String> = None;
    let mut pending: Vec<Value> = Vec::new();
    let flush = |out: &mut Vec<Value>, pending: &mut Vec<Value>, key_id: &Option<String>| {
        for mut v in pending.drain(..) {
            v.key_id = key_id.clone();
            out.push(v);
        }
    };
    for line in content.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            flush(&mut out, &mut pending, &key_id);
            section = name.trim().to_string();
            key_id = None;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let (k, v) = (k.trim().to_lowercase(), v.trim());
        match k.as_str() {
            "aws_access_key_id" => key_id = Some(v.to_string()),
            "aws_secret_access_key" | "aws_session_token" if plausible(v) => pending.push(Value { location: format!("[{section}] {k}"), secret: v.to_string(), key_id: None }),
            _ => {}
        }
    }
    flush(&mut out, &mut pending, &key_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_prefixes_say_what_is_secret() {
        assert!(secret_name("GITHUB_TOKEN") && secret_name("x-api-key") && secret_name("OPENAI_API_KEY") && secret_name("DB_PASSWORD"));
        assert!(!secret_name("LOG_LEVEL") && !secret_name("REGION"));
        assert!(candidate("a".into(), "ANYTHING", "ghp_0123456789abcdef").is_some(), "a known prefix is a secret whatever its name");
        assert!(candidate("a".into(), "GITHUB_TOKEN", "${GITHUB_TOKEN}").is_none(), "a reference is not a value");
        assert!(candidate("a".into(), "GITHUB_TOKEN", "").is_none());
        let bearer = candidate("a".into(), "Authorization", "Bearer tw_abcdefghijklmnop").expect("a bearer header");
        assert_eq!(bearer.secret, "tw_abcdefghijklmnop");
    }

    #[test]
    fn dotenv_and_aws_files_parse() {
        let env = dotenv_values("# comment\nexport API_TOKEN=\"s3cr3t-value-1\"\nLOG_LEVEL=debug\nEMPTY_TOKEN=\n");
        assert_eq!(env.iter().map(|v| (v.location.as_str(), v.secret.as_str())).collect::<Vec<_>>(), [("API_TOKEN", "s3cr3t-value-1")]);
        let aws = aws_values("[default]\naws_access_key_id = AKIAEXAMPLE0001\naws_secret_access_key = abcdEFGHijklMNOPqrst\n[ci]\naws_secret_access_key = zyxwVUTSrqpoNMLK\naws_access_key_id = AKIAEXAMPLE0002\n");
        let got: Vec<_> = aws.iter().map(|v| (v.location.as_str(), v.key_id.as_deref())).collect();
        assert_eq!(got, [("[default] aws_secret_access_key", Some("AKIAEXAMPLE0001")), ("[ci] aws_secret_access_key", Some("AKIAEXAMPLE0002"))]);
    }

    #[test]
    fn mcp_configurations_of_every_host_shape() {
        let claude = r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", "server", "--token=ghp_abcdefghijklmnop"], "env": {"GITHUB_TOKEN": "ghp_0123456789abcdef", "LOG": "1"}},
                         "remote": {"url": "https://x", "headers": {"Authorization": "Bearer tw_abcdefghijklmnop"}}}}"#;
        let got: Vec<String> = mcp_values(claude).expect("parses").into_iter().map(|v| v.location).collect();
        assert_eq!(got, ["mcpServers.github.env.GITHUB_TOKEN", "mcpServers.github.args[2]", "mcpServers.remote.headers.Authorization"]);
        let vscode = r#"{"servers": {"db": {"env": {"DB_PASSWORD": "hunter2-hunter2"}}}}"#;
        assert_eq!(mcp_values(vscode).expect("parses")[0].location, "servers.db.env.DB_PASSWORD");
        assert!(mcp_values("{\"other\": 1}").is_err());
        assert!(mcp_values("not json").is_err());
    }
}
