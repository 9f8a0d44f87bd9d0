//! `tokenward.toml`: operator, theme, issuers. Secrets only by reference (an
//! environment variable or a file), never inline.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::connectors::HttpSettings;
use crate::domain::IssuerKind;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub operator: Option<String>,
    pub theme: Option<String>,
    pub db: Option<PathBuf>,
    #[serde(default, rename = "issuer")]
    pub issuers: Vec<IssuerConfig>,
    /// A directory of Cedar policies replacing the shipped ones.
    pub policies: Option<PathBuf>,
    /// Roles and groups per operator, for the approval policies.
    #[serde(default)]
    pub operators: std::collections::BTreeMap<String, OperatorConfig>,
    /// Per-view key overrides: `[keys.credentials] revoke = "x"`.
    #[serde(default)]
    pub keys: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// viewer | approver | admin
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    pub name: String,
    pub kind: IssuerKind,
    pub url: String,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub page_size: Option<u32>,
    pub timeout_s: Option<u64>,
    /// github: the organisation whose fine-grained tokens are governed.
    pub org: Option<String>,
    /// oauth: the security team's client, used to introspect and revoke.
    pub client_id: Option<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    /// oauth: endpoints, when the server has no RFC 8414 / OIDC discovery document.
    pub introspection_url: Option<String>,
    pub revocation_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads the file if it exists; a missing file at the default path is an empty config.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Config::default()),
            Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
        };
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: located(text, &e) })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for i in &self.issuers {
            if i.name.trim().is_empty() || i.name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(format!("issuer name '{}' must be non-empty, without spaces", i.name));
            }
            if !seen.insert(i.name.as_str()) {
                return Err(format!("issuer name '{}' is used twice", i.name));
            }
            if !(i.url.starts_with("http://") || i.url.starts_with("https://")) {
                return Err(format!("issuer '{}': url must start with http:// or https://", i.name));
            }
            if i.token_env.is_some() && i.token_file.is_some() {
                return Err(format!("issuer '{}': set token_env or token_file, not both", i.name));
            }
            if i.client_secret_env.is_some() && i.client_secret_file.is_some() {
                return Err(format!("issuer '{}': set client_secret_env or client_secret_file, not both", i.name));
            }
            if i.kind == IssuerKind::Github && i.org.as_deref().is_none_or(|o| o.trim().is_empty()) {
                return Err(format!("issuer '{}': kind github needs org", i.name));
            }
            if i.kind == IssuerKind::Oauth && i.client_id.is_none() {
                return Err(format!("issuer '{}': kind oauth needs client_id (and client_secret_env or client_secret_file)", i.name));
            }
            if i.page_size == Some(0) || i.page_size.is_some_and(|p| p > 1000) {
                return Err(format!("issuer '{}': page_size must be 1..=1000", i.name));
            }
        }
        Ok(())
    }

    /// Every problem of a config file, each with its line where one can be named:
    /// syntax, then each issuer's settings, then whether its secrets can be read.
    pub fn check(text: &str) -> Vec<Problem> {
        let config: Config = match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => return vec![Problem { line: line_of_error(text, &e), message: e.message().to_string() }],
        };
        let mut problems = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (n, i) in config.issuers.iter().enumerate() {
            let line = issuer_line(text, n);
            let mut say = |message: String| problems.push(Problem { line, message: format!("issuer '{}': {message}", i.name) });
            if let Some(first) = seen.insert(i.name.clone(), line) {
                say(format!("name is used twice (first at line {})", first.unwrap_or(0)));
            }
            if let Err(e) = (Config { issuers: vec![i.clone()], ..Config::default() }).validate() {
                say(e.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or(e));
            }
            if let Err(e) = i.token() {
                say(e);
            }
            if let Err(e) = i.client_secret() {
                say(e);
            }
            if let Some(ca) = &i.ca_file {
                if let Err(e) = std::fs::metadata(ca) {
                    say(format!("ca_file {}: {e}", ca.display()));
                }
            }
        }
        problems
    }

    pub fn issuer(&self, name: &str) -> Option<&IssuerConfig> {
        self.issuers.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

fn line_of_error(text: &str, e: &toml::de::Error) -> Option<usize> {
    e.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
}

/// The line of the n-th `[[issuer]]` table header.
fn issuer_line(text: &str, n: usize) -> Option<usize> {
    text.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with("[[issuer]]")).nth(n).map(|(i, _)| i + 1)
}

/// "line L, column C: message", without echoing the offending line: it may hold a secret.
fn located(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

impl IssuerConfig {
    pub fn token(&self) -> Result<Option<String>, String> {
        secret_from(&self.token_env, &self.token_file, "token")
    }

    pub fn client_secret(&self) -> Result<Option<String>, String> {
        secret_from(&self.client_secret_env, &self.client_secret_file, "client_secret")
    }

    pub fn http_settings(&self) -> Result<HttpSettings, String> {
        Ok(HttpSettings {
            base_url: self.url.clone(),
            token: self.token()?,
            timeout: Duration::from_secs(self.timeout_s.unwrap_or(30).max(1)),
            page_size: self.page_size.unwrap_or(500),
            ca_file: self.ca_file.clone(),
        })
    }
}

/// A secret by reference: `<what>_env` names a variable, `<what>_file` a file.
fn secret_from(env: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return std::env::var(var).map(Some).map_err(|_| format!("environment variable {var} ({what}_env) is not set"));
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|t| Some(t.trim().to_string()))
            .map_err(|e| format!("cannot read {what}_file {}: {e}", path.display()));
    }
    Ok(None)
}

/// `TOKENWARD_CONFIG`, else `<config dir>/tokenward/tokenward.toml`.
pub fn default_config_path() -> PathBuf {
    use etcetera::BaseStrategy;
    match etcetera::choose_base_strategy() {
        Ok(s) => s.config_dir().join("tokenward").join("tokenward.toml"),
        Err(_) => PathBuf::from("tokenward.toml"),
    }
}

pub fn data_dir() -> PathBuf {
    use etcetera::BaseStrategy;
    match etcetera::choose_base_strategy() {
        Ok(s) => s.data_dir().join("tokenward"),
        Err(_) => PathBuf::from("."),
    }
}

pub fn default_db_path() -> PathBuf {
    data_dir().join("tokenward.db")
}

pub fn demo_db_path() -> PathBuf {
    data_dir().join("tokenward-demo.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_issuer_and_rejects_inline_secrets() {
        let ok = "operator = \"ana@acme.test\"\n[[issuer]]\nname = \"broker\"\nkind = \"tokenward\"\nurl = \"http://127.0.0.1:1\"\ntoken_env = \"B\"\n";
        let c = Config::parse(ok, Path::new("t.toml")).expect("parses");
        assert_eq!(c.issuers[0].kind, IssuerKind::Tokenward);
        let inline = "[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://x\"\ntoken = \"s3cret\"\n";
        let err = Config::parse(inline, Path::new("t.toml")).unwrap_err().to_string();
        assert!(err.contains("line 5, column 1: unknown field `token`"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn check_names_the_line_of_each_mistake() {
        let text = "operator = \"a\"\n\n[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://x\"\ntoken_env = \"TW_SURELY_UNSET_VAR\"\n\n[[issuer]]\nname = \"b\"\nkind = \"scim\"\nurl = \"ftp://y\"\n";
        let p = Config::check(text);
        assert!(p.contains(&Problem { line: Some(3), message: "issuer 'b': environment variable TW_SURELY_UNSET_VAR (token_env) is not set".into() }), "{p:?}");
        assert!(p.iter().any(|x| x.line == Some(9) && x.message.contains("used twice (first at line 3)")), "{p:?}");
        assert!(p.iter().any(|x| x.line == Some(9) && x.message.contains("http://")), "{p:?}");
        let bad = Config::check("[[issuer]]\nname = \"b\"\nkind = \"ldap\"\nurl = \"http://x\"\n");
        assert_eq!(bad[0].line, Some(3), "{bad:?}");
        assert!(bad[0].message.contains("unknown variant `ldap`"), "{bad:?}");
    }

    #[test]
    fn rejects_duplicate_names_and_bad_urls() {
        let dup = "[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://x\"\n[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://y\"\n";
        assert!(Config::parse(dup, Path::new("t")).unwrap_err().to_string().contains("used twice"));
        let url = "[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"ftp://x\"\n";
        assert!(Config::parse(url, Path::new("t")).unwrap_err().to_string().contains("http://"));
    }
}
