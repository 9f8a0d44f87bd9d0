//! `tokenward.toml`: operator, theme, issuers. Secrets only by reference (an
//! environment variable or a file), never inline.
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

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
    /// Roles, groups and OS account per operator identity, for the policies and proven identity.
    #[serde(default)]
    pub operators: std::collections::BTreeMap<String, OperatorConfig>,
    /// Per-view key overrides: `[keys.credentials] revoke = "x"`.
    #[serde(default)]
    pub keys: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// The approval queue: SLA, order, bell.
    #[serde(default)]
    pub grants: GrantsConfig,
    /// Thresholds of the findings rules.
    #[serde(default)]
    pub findings: FindingsConfig,
    /// Where the audit log's key is kept.
    #[serde(default)]
    pub audit: AuditConfig,
    /// `[[scan]]`: agent configuration folders `tokenward scan` reads after every sync.
    #[serde(default, rename = "scan")]
    pub scans: Vec<ScanConfig>,
    /// `[tui]`: the view the console opens on.
    #[serde(default)]
    pub tui: TuiConfig,
}

/// `[tui]`: how the console opens.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuiConfig {
    /// The view it opens on: `home` (what needs attention) or `credentials` (the default), or any view's name.
    pub start: Option<String>,
}

/// `[[scan]]`: files or folders of agent configurations (MCP, dotenv, AWS
/// credentials) read after every sync; `~/` is the home directory.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    pub paths: Vec<String>,
    /// The host they are on (default: this machine's name).
    pub host: Option<String>,
}

impl ScanConfig {
    /// The paths with a leading `~/` made the home directory.
    pub fn expanded(&self) -> Vec<PathBuf> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        self.paths
            .iter()
            .map(|p| match (p.strip_prefix("~/"), &home) {
                (Some(rest), Some(h)) => h.join(rest),
                _ => PathBuf::from(p),
            })
            .collect()
    }
}

/// `[audit]`: the audit log's HMAC key, kept outside the database.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The key file, created 0600 on first use (default: `<db>.audit-key` beside the database).
    pub key_file: Option<PathBuf>,
}

impl AuditConfig {
    /// Whether the configured key file could leak: readable by others, or not a file.
    pub fn key_problem(&self) -> Option<String> {
        let path = self.key_file.as_ref()?;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(format!("audit.key_file {}: {e}", path.display())),
        };
        if !meta.is_file() {
            return Some(format!("audit.key_file {} is not a file", path.display()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Some(format!("audit.key_file {} is readable by others (mode {mode:o}; it must be 0600)", path.display()));
            }
        }
        None
    }
}

/// `[grants]`: how the approval queue behaves.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsConfig {
    /// How long a grant may wait before it is called out (default "15m").
    pub sla: Option<String>,
    /// "newest" (default) or "oldest" first.
    pub order: Option<String>,
    /// Ring the terminal bell when new grants arrive (default true).
    pub bell: Option<bool>,
}

impl GrantsConfig {
    pub fn sla(&self) -> Result<chrono::Duration, String> {
        duration_setting("grants.sla", self.sla.as_deref(), chrono::Duration::minutes(15))
    }
    pub fn newest_first(&self) -> Result<bool, String> {
        match self.order.as_deref() {
            None | Some("newest") => Ok(true),
            Some("oldest") => Ok(false),
            Some(o) => Err(format!("grants.order '{o}' must be \"newest\" or \"oldest\"")),
        }
    }
}

/// `[findings]`: the thresholds of the rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsConfig {
    /// Unused for longer than this is stale (default "90d").
    pub stale: Option<String>,
    /// Longest acceptable lifetime per scope class (defaults: admin 7d, write 30d, read 90d).
    pub max_lifetime_admin: Option<String>,
    pub max_lifetime_write: Option<String>,
    pub max_lifetime_read: Option<String>,
    /// Scope prefixes or suffixes that count as sensitive besides the built-in
    /// ones (admin:, payments:, secrets:, :write, :prod), e.g. ["hr:", ":delete"].
    #[serde(default)]
    pub sensitive: Vec<String>,
    /// Renewals without fresh consent before silent-renewal fires (default 3).
    pub renewals: Option<u32>,
    /// Within how long distinct workloads or origins count as sharing (default "24h").
    pub shared_window: Option<String>,
}

/// The findings thresholds, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub stale: chrono::Duration,
    pub max_admin: chrono::Duration,
    pub max_write: chrono::Duration,
    pub max_read: chrono::Duration,
    pub sensitive: Vec<String>,
    pub renewals: u32,
    pub shared_window: chrono::Duration,
}

impl Default for Thresholds {
    /// The defaults `FindingsConfig::thresholds` falls back to, stated once here.
    fn default() -> Self {
        Thresholds {
            stale: chrono::Duration::days(90),
            max_admin: chrono::Duration::days(7),
            max_write: chrono::Duration::days(30),
            max_read: chrono::Duration::days(90),
            sensitive: Vec::new(),
            renewals: 3,
            shared_window: chrono::Duration::hours(24),
        }
    }
}

impl FindingsConfig {
    pub fn thresholds(&self) -> Result<Thresholds, String> {
        let d = Thresholds::default();
        Ok(Thresholds {
            stale: duration_setting("findings.stale", self.stale.as_deref(), d.stale)?,
            max_admin: duration_setting("findings.max_lifetime_admin", self.max_lifetime_admin.as_deref(), d.max_admin)?,
            max_write: duration_setting("findings.max_lifetime_write", self.max_lifetime_write.as_deref(), d.max_write)?,
            max_read: duration_setting("findings.max_lifetime_read", self.max_lifetime_read.as_deref(), d.max_read)?,
            sensitive: self.sensitive.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            renewals: self.renewals.unwrap_or(d.renewals).max(1),
            shared_window: duration_setting("findings.shared_window", self.shared_window.as_deref(), d.shared_window)?,
        })
    }
}

fn duration_setting(name: &str, value: Option<&str>, default: chrono::Duration) -> Result<chrono::Duration, String> {
    let Some(text) = value else { return Ok(default) };
    match crate::domain::parse_duration(text) {
        Some(d) if d > chrono::Duration::zero() => Ok(d),
        _ => Err(format!("{name} '{text}' is not a duration like 15m, 8h, 90d")),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// viewer | approver | admin
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// The operating-system account that is this identity; without it nobody can act as it.
    #[serde(default)]
    pub os_user: Option<String>,
    /// Other names this person has at issuers (a GitHub login): a request made or a
    /// workload owned under one of them is theirs, so they may not approve it.
    #[serde(default)]
    pub aliases: Vec<String>,
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
    /// A lab only: allow plain http to a host that is not loopback (`config check` warns).
    pub allow_http: Option<bool>,
    /// aws-iam: the signing region (default us-east-1).
    pub region: Option<String>,
    /// aws-iam: only users under this IAM path (e.g. `/service/`; default every user).
    pub path_prefix: Option<String>,
    /// aws-iam: the user tags naming the owner and the workload (default `owner`, `workload`).
    pub owner_tag: Option<String>,
    pub workload_tag: Option<String>,
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
        self.grants.sla()?;
        self.grants.newest_first()?;
        self.findings.thresholds()?;
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
        for e in [config.grants.sla().err(), config.grants.newest_first().err(), config.findings.thresholds().err()].into_iter().flatten() {
            let key = e.split(['.', ' ']).nth(1).unwrap_or("");
            let line = text.lines().position(|l| l.trim_start().starts_with(key)).map(|n| n + 1);
            problems.push(Problem { line, message: e });
        }
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
            if let Some(ca) = &i.ca_file
                && let Err(e) = std::fs::metadata(ca)
            {
                say(format!("ca_file {}: {e}", ca.display()));
            }
            if let Some(m) = plain_http(i) {
                say(m);
            }
        }
        if let Some(message) = config.audit.key_problem() {
            let line = text.lines().position(|l| l.trim_start().starts_with("key_file")).map(|n| n + 1);
            problems.push(Problem { line, message });
        }
        problems.extend(operator_warnings(&config.operators, text));
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

/// Marks a problem that is allowed but risky (its message carries it after the issuer's name).
pub const WARNING: &str = "warning: ";

impl Problem {
    pub fn is_warning(&self) -> bool {
        self.message.contains(WARNING)
    }
}

/// Identities nobody can act as, and accounts that are several identities: one
/// person could then act as two and satisfy the two-person rule alone.
fn operator_warnings(operators: &std::collections::BTreeMap<String, OperatorConfig>, text: &str) -> Vec<Problem> {
    let line = |id: &str| text.lines().position(|l| l.contains(&format!("\"{id}\"")) || l.trim_start().starts_with(id)).map(|n| n + 1);
    let mut by_account: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (id, op) in operators {
        match op.os_user.as_deref() {
            Some(account) => by_account.entry(account).or_default().push(id),
            None => problems.push(Problem { line: line(id), message: format!("{WARNING}operator '{id}' has no os_user: nobody can act as it") }),
        }
    }
    // A login claimed by two identities makes each the requester of the other's requests: neither may approve them.
    let mut by_alias: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for (id, op) in operators {
        for alias in op.aliases.iter().map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()) {
            by_alias.entry(alias).or_default().push(id);
        }
    }
    for (alias, ids) in by_alias.into_iter().filter(|(_, ids)| ids.len() > 1) {
        problems.push(Problem { line: line(ids[0]), message: format!("{WARNING}alias '{alias}' is listed by {} identities ({}): each counts as the other's requester", ids.len(), ids.join(", ")) });
    }
    for (account, ids) in by_account.into_iter().filter(|(_, ids)| ids.len() > 1) {
        problems.push(Problem {
            line: line(ids[0]),
            message: format!("{WARNING}OS account '{account}' is {} identities ({}): its user can approve twice and pass the two-person rule alone", ids.len(), ids.join(", ")),
        });
    }
    problems
}

/// Plain http to a host that is not loopback: refused by the connectors, or a warning when `allow_http` allows it.
fn plain_http(i: &IssuerConfig) -> Option<String> {
    let rest = i.url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') { host.split_once(']').map_or(host, |(h, _)| h).trim_start_matches('[') } else { host.split(':').next().unwrap_or(host) };
    let loopback = host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or_else(|_| host.eq_ignore_ascii_case("localhost"));
    match (loopback, i.allow_http == Some(true)) {
        (true, _) => None,
        (false, true) => Some(format!("{WARNING}allow_http = true: credentials go to {host} over plain http, readable on the network; for a lab only")),
        (false, false) => Some(format!("url is plain http to {host}, not loopback: connectors refuse it; use https (or allow_http = true for a lab)")),
    }
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
    pub fn token(&self) -> Result<Option<SecretString>, String> {
        secret_from(&self.token_env, &self.token_file, "token")
    }

    pub fn client_secret(&self) -> Result<Option<SecretString>, String> {
        secret_from(&self.client_secret_env, &self.client_secret_file, "client_secret")
    }
}

/// A secret by reference: `<what>_env` names a variable, `<what>_file` a file.
fn secret_from(env: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<Option<SecretString>, String> {
    if let Some(var) = env {
        return std::env::var(var).map(|t| Some(t.into())).map_err(|_| format!("environment variable {var} ({what}_env) is not set"));
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|t| Some(SecretString::from(t.trim())))
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
    fn check_warns_of_operators_nobody_or_one_account_twice_can_be() {
        let text = "[operators.\"ana@acme.test\"]\nroles = [\"approver\"]\nos_user = \"ana\"\n\n[operators.\"bo@acme.test\"]\nroles = [\"approver\"]\nos_user = \"ana\"\n\n[operators.\"cy@acme.test\"]\nroles = [\"viewer\"]\n";
        let p = Config::check(text);
        assert!(p.iter().all(Problem::is_warning), "{p:?}");
        assert!(p.iter().any(|x| x.message.contains("'ana' is 2 identities (ana@acme.test, bo@acme.test)") && x.line == Some(1)), "{p:?}");
        assert!(p.iter().any(|x| x.message.contains("operator 'cy@acme.test' has no os_user") && x.line == Some(9)), "{p:?}");
        let one_each = "[operators.\"ana@acme.test\"]\nos_user = \"ana\"\naliases = [\"ana-gh\"]\n[operators.\"bo@acme.test\"]\nos_user = \"bo\"\naliases = [\"bo-gh\"]\n";
        assert!(Config::check(one_each).is_empty());
        let shared = Config::check(&one_each.replace("bo-gh", "ANA-GH"));
        assert_eq!(shared.len(), 1, "{shared:?}");
        assert!(shared[0].is_warning() && shared[0].message.contains("alias 'ana-gh' is listed by 2 identities (ana@acme.test, bo@acme.test)"), "{shared:?}");
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

    #[test]
    fn check_refuses_an_audit_key_others_can_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("audit.key");
        let text = format!("operator = \"a\"\n[audit]\nkey_file = \"{}\"\n", key.display());
        assert!(Config::check(&text).is_empty(), "a key not yet created is created 0600 on first use");
        std::fs::write(&key, "00").expect("key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let p = Config::check(&text);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].line, Some(3));
            assert!(p[0].message.contains("readable by others (mode 644; it must be 0600)") && !p[0].is_warning(), "{p:?}");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            assert!(Config::check(&text).is_empty());
        }
        let c = Config::parse(&text, Path::new("t")).expect("parses");
        assert_eq!(c.audit.key_file.as_deref(), Some(key.as_path()));
        assert!(Config::parse("[audit]\nhead = \"x\"\n", Path::new("t")).is_err(), "unknown [audit] keys are refused");
    }

    #[test]
    fn grants_and_findings_settings_parse_with_defaults_and_name_bad_values() {
        let c = Config::parse("[grants]\nsla = \"30m\"\norder = \"oldest\"\nbell = false\n[findings]\nstale = \"30d\"\nsensitive = [\"hr:\"]\n", Path::new("t")).expect("parses");
        assert_eq!(c.grants.sla(), Ok(chrono::Duration::minutes(30)));
        assert_eq!(c.grants.newest_first(), Ok(false));
        let t = c.findings.thresholds().expect("thresholds");
        assert_eq!((t.stale, t.max_admin, t.renewals), (chrono::Duration::days(30), chrono::Duration::days(7), 3));
        assert_eq!(t.sensitive, vec!["hr:".to_string()]);
        let d = Config::default();
        assert_eq!((d.grants.sla(), d.grants.newest_first()), (Ok(chrono::Duration::minutes(15)), Ok(true)));
        let bad = Config::check("operator = \"a\"\n[grants]\nsla = \"soon\"\n");
        assert_eq!(bad, vec![Problem { line: Some(3), message: "grants.sla 'soon' is not a duration like 15m, 8h, 90d".into() }]);
        assert!(Config::parse("[grants]\norder = \"random\"\n", Path::new("t")).unwrap_err().to_string().contains("newest"));
    }
}
