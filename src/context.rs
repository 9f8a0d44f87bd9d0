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
}

/// Everything a command needs, resolved once from flags, environment and config.
pub struct Context {
    pub config: Config,
    pub db_path: PathBuf,
    pub operator: String,
    pub read_only: bool,
    pub format: Format,
    pub theme: Option<String>,
}

/// What the TUI takes from the context: plain values, so the TUI owns how they are used.
#[derive(Debug, Clone)]
pub struct TuiSettings {
    pub operator: String,
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
}

impl TuiSettings {
    /// What an empty configuration gives: the built-in theme and keys, a 15-minute SLA.
    pub fn defaults(operator: &str) -> TuiSettings {
        TuiSettings {
            operator: operator.to_string(),
            read_only: false,
            theme: None,
            no_color: false,
            keys: Default::default(),
            grant_sla: chrono::Duration::minutes(15),
            grants_newest_first: true,
            bell: true,
            thresholds: Thresholds::default(),
        }
    }
}

impl Context {
    pub fn resolve(given: &Overrides, format: Format) -> Result<Context> {
        let (path, required) = match &given.config {
            Some(p) => (p.clone(), true),
            None => (config::default_config_path(), false),
        };
        let config = Config::load(&path, required)?;
        let db_path = given.db.clone().or_else(|| config.db.clone()).unwrap_or_else(config::default_db_path);
        let operator = given
            .operator
            .clone()
            .or_else(|| config.operator.clone())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown-operator".into());
        Ok(Context {
            theme: given.theme.clone().or_else(|| config.theme.clone()),
            config,
            db_path,
            operator: text::clean(&operator, 120),
            read_only: given.read_only,
            format,
        })
    }

    pub async fn store(&self) -> Result<Store> {
        Store::open(&self.db_path).await.wrap_err_with(|| format!("opening {}", self.db_path.display()))
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
    pub async fn actions_with(&self, store: Store, connectors: &[Arc<dyn Connector>]) -> Result<Actions> {
        let policy = crate::policy::PolicyEngine::load(self.config.policies.as_deref())?;
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
            read_only: self.read_only,
            theme: self.theme.clone(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            keys: self.config.keys.clone(),
            grant_sla: grants.sla().unwrap_or(chrono::Duration::minutes(15)),
            grants_newest_first: grants.newest_first().unwrap_or(true),
            bell: grants.bell.unwrap_or(true) && std::env::var_os("TOKENWARD_NO_BELL").is_none(),
            thresholds: self.config.findings.thresholds().unwrap_or_default(),
        }
    }
}
