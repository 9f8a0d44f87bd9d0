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
    /// Per-view key overrides: `[keys.credentials] revoke = "x"`.
    #[serde(default)]
    pub keys: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
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
            if i.page_size == Some(0) || i.page_size.is_some_and(|p| p > 1000) {
                return Err(format!("issuer '{}': page_size must be 1..=1000", i.name));
            }
        }
        Ok(())
    }

    pub fn issuer(&self, name: &str) -> Option<&IssuerConfig> {
        self.issuers.iter().find(|i| i.name == name)
    }
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
        if let Some(var) = &self.token_env {
            return std::env::var(var).map(Some).map_err(|_| format!("environment variable {var} (token_env) is not set"));
        }
        if let Some(path) = &self.token_file {
            return std::fs::read_to_string(path)
                .map(|t| Some(t.trim().to_string()))
                .map_err(|e| format!("cannot read token_file {}: {e}", path.display()));
        }
        Ok(None)
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
    fn rejects_duplicate_names_and_bad_urls() {
        let dup = "[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://x\"\n[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"http://y\"\n";
        assert!(Config::parse(dup, Path::new("t")).unwrap_err().to_string().contains("used twice"));
        let url = "[[issuer]]\nname = \"b\"\nkind = \"tokenward\"\nurl = \"ftp://x\"\n";
        assert!(Config::parse(url, Path::new("t")).unwrap_err().to_string().contains("http://"));
    }
}
