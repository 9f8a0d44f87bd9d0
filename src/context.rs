//! What one run needs, resolved once from flags, environment and config: paths,
//! the operator, the configuration, and constructors for the store, the
//! connectors, the actions and the TUI's settings. The CLI, the TUI, `demo` and
//! `bench` depend on this room; it depends on nothing above it.
use std::path::PathBuf;
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr};

use crate::actions::Actions;
use crate::config::{self, Config, Thresholds};
use crate::connectors::{self, Connector};
use crate::domain::text;
use crate::store::Store;

/// How listing commands and errors are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// Markdown (review evidence; tables elsewhere).
    Md,
}

/// The flags and environment a context is resolved from (the CLI's global options).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub db: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub operator: Option<String>,
    pub read_only: bool,
    pub theme: Option<String>,
    /// `--view`: the view the console opens on, over `[tui] start`.
    pub view: Option<String>,
}

/// Everything a command needs, resolved once from flags, environment and config.
pub struct Context {
    pub config: Config,
    /// Where the configuration was read from (or would be: it may not exist).
    pub config_path: PathBuf,
    pub db_path: PathBuf,
    pub operator: String,
    /// The name given by `--operator`, `TOKENWARD_OPERATOR` or the config, if any.
    pub claimed: Option<String>,
    /// No `[operators]` table: the name is not proven and everyone may approve (said on every action).
    pub unverified: bool,
    pub read_only: bool,
    pub format: Format,
    pub theme: Option<String>,
}

/// What the TUI takes from the context: plain values, so the TUI owns how they are used.
#[derive(Debug, Clone)]
pub struct TuiSettings {
    pub operator: String,
    /// Shown at start: why the operator's name is not proven (no `[operators]` table).
    pub identity_warning: Option<String>,
    pub read_only: bool,
    /// A theme name or path, as chosen by `--theme` or the config.
    pub theme: Option<String>,
    /// `NO_COLOR` is set: one monochrome theme, whatever was chosen.
    pub no_color: bool,
    /// `[keys.*]` overrides of the default keymap.
    pub keys: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// `[grants]`: how long a grant may wait, newest first, ring the bell.
    pub grant_sla: chrono::Duration,
    pub grants_newest_first: bool,
    pub bell: bool,
    /// `[findings]` thresholds, for a recompute from the findings view or after a sync.
    pub thresholds: Thresholds,
    /// Whether any `[[issuer]]` is configured: an empty inventory says what to do next.
    pub has_issuers: bool,
    /// `[tui] start`: the view it opens on.
    pub start: Option<String>,
}

impl TuiSettings {
    /// What an empty configuration gives: the built-in theme and keys, a 15-minute SLA.
    pub fn defaults(operator: &str) -> TuiSettings {
        TuiSettings {
            operator: operator.to_string(),
            identity_warning: None,
            read_only: false,
            theme: None,
            no_color: false,
            keys: Default::default(),
            grant_sla: chrono::Duration::minutes(15),
            grants_newest_first: true,
            bell: true,
            thresholds: Thresholds::default(),
            has_issuers: true,
            start: None,
        }
    }
}

impl Context {
    pub fn resolve(given: &Overrides, format: Format) -> Result<Context> {
        let (path, required) = match &given.config {
            Some(p) => (p.clone(), true),
            None => (config::default_config_path(), false),
        };
        let mut config = Config::load(&path, required)?;
        let db_path = given.db.clone().or_else(|| config.db.clone()).unwrap_or_else(config::default_db_path);
        let account = os_account().map_err(|e| color_eyre::eyre::eyre!(e))?;
        let claimed = given.operator.clone().or_else(|| config.operator.clone());
        // On PostgreSQL the database proves who acts (see `actions_with`): the
        // [operators] table's OS accounts have no say there.
        let identity = if is_postgres_url(&db_path) {
            Identity { operator: claimed.clone().unwrap_or_else(|| account.clone()), unverified: false }
        } else {
            resolve_identity(claimed.as_deref(), &account, &config.operators).map_err(|e| color_eyre::eyre::eyre!(e))?
        };
        let unverified = identity.unverified;
        if given.view.is_some() {
            config.tui.start = given.view.clone();
        }
        Ok(Context {
            theme: given.theme.clone().or_else(|| config.theme.clone()),
            config,
            config_path: path,
            db_path,
            operator: text::clean(&identity.operator, 120),
            claimed: claimed.clone(),
            unverified,
            read_only: given.read_only,
            format,
        })
    }

    /// What every action says when identities are not proven.
    pub fn identity_warning(&self) -> Option<String> {
        self.unverified.then(|| NO_OPERATORS_WARNING.to_string())
    }

    /// A `postgres://` URL is a shared PostgreSQL inventory; anything else a SQLite file.
    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.db_path)
    }

    pub async fn store(&self) -> Result<Store> {
        let key = self.config.audit.key_file.as_deref();
        if self.is_postgres() {
            // The URL may carry a password: only the store's location (without it) is ever shown.
            return Store::open_postgres(&self.db_path.to_string_lossy(), key).await.wrap_err("opening the PostgreSQL inventory");
        }
        Store::open_with_audit_key(&self.db_path, key).await.wrap_err_with(|| format!("opening {}", self.db_path.display()))
    }

    /// Connectors for every configured issuer; one with a broken config is reported, not fatal.
    pub fn connectors(&self) -> (Vec<Arc<dyn Connector>>, Vec<String>) {
        let mut ok = Vec::new();
        let mut errors = Vec::new();
        for cfg in &self.config.issuers {
            match connectors::build(cfg) {
                Ok(c) => ok.push(Arc::from(c)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (ok, errors)
    }

    /// The actions over these connectors, with the configured policies and operators.
    /// On PostgreSQL the database proves who acts: the operator is the login, with
    /// the roles and groups it is a member of, and no other name may be claimed.
    pub async fn actions_with(&self, store: Store, connectors: &[Arc<dyn Connector>]) -> Result<Actions> {
        let policy = crate::policy::PolicyEngine::load(self.config.policies.as_deref())?;
        if let Some(login) = store.acting_login().await? {
            if let Some(claimed) = self.claimed.as_deref().filter(|c| !c.eq_ignore_ascii_case(&login.name)) {
                return Err(color_eyre::eyre::eyre!(
                    "on PostgreSQL the operator is the database login ({}); --operator or TOKENWARD_OPERATOR may not name {claimed}",
                    login.name
                ));
            }
            let me = config::OperatorConfig { roles: login.roles.clone(), groups: login.groups.clone(), ..Default::default() };
            let operators = std::iter::once((login.name.clone(), me)).collect();
            return Ok(Actions::new(store, connectors, &login.name, self.read_only).with_governance(policy, operators).with_login_limits(login.may_not_record));
        }
        Ok(Actions::new(store, connectors, &self.operator, self.read_only).with_governance(policy, self.config.operators.clone()))
    }

    pub async fn actions(&self) -> Result<Actions> {
        let (connectors, _) = self.connectors();
        self.actions_with(self.store().await?, &connectors).await
    }

    /// `[findings]` thresholds; a bad value is an error here (config check names its line).
    pub fn thresholds(&self) -> Result<Thresholds> {
        self.config.findings.thresholds().map_err(|e| color_eyre::eyre::eyre!(e))
    }

    pub fn tui_settings(&self) -> TuiSettings {
        // Config::parse validated these; the defaults stand in for a config built in code.
        let grants = &self.config.grants;
        TuiSettings {
            operator: self.operator.clone(),
            identity_warning: self.identity_warning(),
            read_only: self.read_only,
            theme: self.theme.clone(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            keys: self.config.keys.clone(),
            grant_sla: grants.sla().unwrap_or(chrono::Duration::minutes(15)),
            grants_newest_first: grants.newest_first().unwrap_or(true),
            bell: grants.bell.unwrap_or(true) && std::env::var_os("TOKENWARD_NO_BELL").is_none(),
            thresholds: self.config.findings.thresholds().unwrap_or_default(),
            has_issuers: !self.config.issuers.is_empty(),
            start: self.config.tui.start.clone(),
        }
    }
}

fn is_postgres_url(db: &std::path::Path) -> bool {
    let db = db.to_string_lossy();
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Said by the TUI and every CLI action while no `[operators]` table proves who is acting.
pub const NO_OPERATORS_WARNING: &str =
    "warning: no [operators] configured: everyone may approve, revoke and decide, and the operator's name is not proven";

/// Who is acting, as resolved from the OS account and the `[operators]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub operator: String,
    /// No `[operators]` table: a claimed name is only a label.
    pub unverified: bool,
}

/// The uid of this process, from the owner of `/proc/self` (not from `$USER`, which
/// anyone sets); where there is no `/proc` (macOS, BSD), from the owner of a file it creates.
fn os_uid() -> Result<u32, String> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(m) => Ok(m.uid()),
        Err(_) => uid_of_a_new_file(),
    }
}

/// A file this process creates belongs to its (effective) uid.
fn uid_of_a_new_file() -> Result<u32, String> {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().map_err(|e| format!("cannot tell which OS account runs tokenward: {e}"))?;
    probe.as_file().metadata().map(|m| m.uid()).map_err(|e| format!("cannot tell which OS account runs tokenward: {e}"))
}

/// The name of `uid` in a passwd file's text, if it has one.
pub fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok() == Some(uid) && !name.is_empty()).then(|| name.to_string())
    })
}

/// The OS account running this process: its passwd name, else `uid:<n>`.
pub fn os_account() -> Result<String, String> {
    let uid = os_uid()?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    Ok(user_name(&passwd, uid).unwrap_or_else(|| format!("uid:{uid}")))
}

/// The operator: with `[operators]`, an identity mapped to `account` (a claim may only
/// name one of those); without, the claim or the account name, flagged as unproven.
pub fn resolve_identity(
    claimed: Option<&str>,
    account: &str,
    operators: &std::collections::BTreeMap<String, config::OperatorConfig>,
) -> std::result::Result<Identity, String> {
    let claimed = claimed.map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty());
    if operators.is_empty() {
        return Ok(Identity { operator: claimed.unwrap_or_else(|| account.to_string()), unverified: true });
    }
    let mine: Vec<String> = operators.iter().filter(|(_, o)| o.os_user.as_deref() == Some(account)).map(|(k, _)| k.to_lowercase()).collect();
    match (claimed, mine.as_slice()) {
        (_, []) => Err(format!("your account {account} is not an operator here: no [operators] entry has os_user = \"{account}\"")),
        (Some(c), _) if mine.contains(&c) => Ok(Identity { operator: c, unverified: false }),
        (Some(c), _) => Err(format!("--operator {c} is not you: your account {account} maps to {}", mine.join(", "))),
        (None, [one]) => Ok(Identity { operator: one.clone(), unverified: false }),
        (None, _) => Err(format!("your account {account} maps to {}: name one with --operator", mine.join(", "))),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn without_proc_the_uid_comes_from_a_file_it_creates() {
        use std::os::unix::fs::MetadataExt;
        let from_proc = std::fs::metadata("/proc/self").expect("linux /proc").uid();
        assert_eq!(uid_of_a_new_file(), Ok(from_proc));
    }
    use super::*;

    fn ops(entries: &[(&str, Option<&str>)]) -> std::collections::BTreeMap<String, config::OperatorConfig> {
        entries.iter().map(|(k, u)| (k.to_string(), config::OperatorConfig { os_user: u.map(str::to_string), ..Default::default() })).collect()
    }

    #[test]
    fn uid_to_name_reads_passwd_and_skips_comments() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken\n";
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name(passwd, 42), None);
        assert!(os_account().is_ok_and(|a| !a.is_empty()), "this process has an account");
    }

    #[test]
    fn with_operators_the_account_decides_and_a_claim_must_be_its_own() {
        let table = ops(&[("ana@acme.test", Some("alice")), ("bob@acme.test", Some("bob")), ("nobody@acme.test", None)]);
        assert_eq!(resolve_identity(None, "alice", &table), Ok(Identity { operator: "ana@acme.test".into(), unverified: false }));
        assert_eq!(resolve_identity(Some("ANA@acme.test"), "alice", &table).map(|i| i.operator), Ok("ana@acme.test".into()));
        assert_eq!(
            resolve_identity(Some("bob@acme.test"), "alice", &table),
            Err("--operator bob@acme.test is not you: your account alice maps to ana@acme.test".into())
        );
        assert!(resolve_identity(None, "mallory", &table).is_err_and(|e| e.contains("not an operator here")));
        let shared = ops(&[("a@x", Some("alice")), ("b@y", Some("alice"))]);
        assert!(resolve_identity(None, "alice", &shared).is_err_and(|e| e.contains("name one with --operator")));
        assert_eq!(resolve_identity(Some("b@y"), "alice", &shared).map(|i| i.operator), Ok("b@y".into()));
    }

    #[test]
    fn without_operators_the_name_is_a_label_and_flagged() {
        let none = ops(&[]);
        assert_eq!(resolve_identity(None, "alice", &none), Ok(Identity { operator: "alice".into(), unverified: true }));
        assert_eq!(resolve_identity(Some("x@y"), "alice", &none), Ok(Identity { operator: "x@y".into(), unverified: true }));
    }
}
