//! A code host's organisation: fine-grained personal access tokens with access
//! to it, and the pending requests for such access (GitHub's REST API, called
//! with a GitHub App installation token). Link-header paging, rate limits honoured.
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::http::{error_message, HttpClient};
use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Result};
use crate::config::IssuerConfig;
use crate::domain::{
    parse_ts, text, Binding, Credential, CredentialKind, CredentialStatus, Grant, GrantStatus, IssuerAnswer, IssuerKind,
};

/// Longest rate-limit wait done in place; beyond it the sync fails and says until when.
const MAX_WAIT: Duration = Duration::from_secs(90);

pub struct GithubOrg {
    http: HttpClient,
    org: String,
    notes: Mutex<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Login {
    login: String,
}

#[derive(Debug, Default, Deserialize)]
struct Permissions {
    #[serde(default)]
    organization: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    repository: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    other: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct OrgToken {
    id: u64,
    owner: Login,
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    permissions: Permissions,
    #[serde(default)]
    access_granted_at: Option<String>,
    #[serde(default)]
    token_name: Option<String>,
    #[serde(default)]
    token_expired: bool,
    #[serde(default)]
    token_expires_at: Option<String>,
    #[serde(default)]
    token_last_used_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    id: u64,
    #[serde(default)]
    reason: Option<String>,
    owner: Login,
    #[serde(default)]
    permissions: Permissions,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    token_name: Option<String>,
    #[serde(default)]
    token_expires_at: Option<String>,
}

impl GithubOrg {
    pub fn new(cfg: &IssuerConfig, mut settings: HttpSettings) -> Result<Self> {
        let org = cfg.org.clone().ok_or_else(|| ConnectorError::Config { issuer: cfg.name.clone(), message: "org is required".into() })?;
        settings.page_size = settings.page_size.min(100);
        Ok(GithubOrg { http: HttpClient::new(&cfg.name, settings)?, org, notes: Mutex::new(Vec::new()) })
    }

    fn note(&self, s: String) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(s);
        }
    }

    /// GETs a page; waits out a rate limit once when it resets soon. Returns the body and the next link.
    async fn get_page<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<(T, Option<String>)> {
        for attempt in 0..2 {
            let req = self
                .http
                .authorize(self.http.client.get(url))
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            let resp = req.send().await.map_err(|e| self.http.transport_error(e))?;
            let status = resp.status().as_u16();
            if resp.status().is_redirection() {
                return Err(self.http.redirected(&resp));
            }
            let headers = resp.headers().clone();
            let body = self.http.read_capped(resp).await?;
            if (status == 403 || status == 429)
                && attempt == 0
                && let Some(wait) = rate_limit_wait(&headers)
            {
                if wait <= MAX_WAIT {
                    self.note(format!("rate limited by GitHub: waited {}s for the limit to reset", wait.as_secs()));
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(ConnectorError::Rejected {
                    issuer: self.http.issuer.clone(),
                    status,
                    message: format!("rate limited; the limit resets in {}s, try again then", wait.as_secs()),
                });
            }
            if !(200..300).contains(&status) {
                return Err(ConnectorError::Rejected { issuer: self.http.issuer.clone(), status, message: error_message(&body) });
            }
            let value = serde_json::from_slice(&body).map_err(|e| ConnectorError::Malformed {
                issuer: self.http.issuer.clone(),
                message: text::clean(&e.to_string(), 300),
            })?;
            return Ok((value, self.next_link(&headers)));
        }
        Err(ConnectorError::Rejected { issuer: self.http.issuer.clone(), status: 403, message: "still rate limited after waiting".into() })
    }

    /// The `rel="next"` link, only if it stays on the configured API host: a
    /// hostile Link header must not send our token elsewhere.
    fn next_link(&self, headers: &HeaderMap) -> Option<String> {
        let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
        let next = link.split(',').find(|part| part.contains("rel=\"next\""))?;
        let url = next.split(';').next()?.trim().trim_start_matches('<').trim_end_matches('>').to_string();
        let base = self.http.settings.base_url.trim_end_matches('/');
        (url.starts_with(&format!("{base}/")) || url == base).then_some(url)
    }

    fn first_url(&self, path: &str) -> String {
        format!("{}/orgs/{}/{path}?per_page={}", self.http.settings.base_url.trim_end_matches('/'), self.org, self.http.settings.page_size)
    }

    async fn post_action(&self, path: &str, body: serde_json::Value) -> Result<IssuerAnswer> {
        let url = format!("{}/orgs/{}/{path}", self.http.settings.base_url.trim_end_matches('/'), self.org);
        let req = self.http.client.post(url).header("Accept", "application/vnd.github+json").header("X-GitHub-Api-Version", "2022-11-28").json(&body);
        let (status, body) = self.http.send(req).await?;
        Ok(IssuerAnswer::from_body(status, &body))
    }
}

fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(secs) = get("retry-after") {
        return Some(Duration::from_secs(secs.clamp(0, 86_400) as u64));
    }
    if get("x-ratelimit-remaining") == Some(0) {
        let reset = get("x-ratelimit-reset")?;
        return Some(Duration::from_secs((reset - Utc::now().timestamp()).clamp(0, 86_400) as u64));
    }
    None
}

/// `organization:members:read`, `repository:contents:write`: one scope per permission.
fn scopes(p: &Permissions) -> Vec<String> {
    let mut out = Vec::new();
    for (class, map) in [("organization", &p.organization), ("repository", &p.repository), ("other", &p.other)] {
        for (k, v) in map {
            out.push(text::clean(&format!("{class}:{k}:{v}").replace(char::is_whitespace, "_"), 128));
        }
    }
    out
}

fn ts(s: &Option<String>) -> Option<crate::domain::Timestamp> {
    s.as_deref().and_then(parse_ts)
}

impl GithubOrg {
    fn map_token(&self, t: OrgToken) -> Credential {
        let external_id = format!("pat-{}", t.id);
        let login = text::clean(&t.owner.login, 100).to_lowercase();
        let mut audience = vec![format!("https://github.com/{}", self.org)];
        if let Some(sel) = &t.repository_selection {
            audience.push(format!("repositories:{}", text::clean(sel, 40)));
        }
        Credential {
            id: Credential::local_id(&self.http.issuer, &external_id),
            issuer: self.http.issuer.clone(),
            external_id,
            kind: CredentialKind::PersonalAccessToken,
            fingerprint: None,
            client_id: None,
            subject: Some(login.clone()),
            workload: t.token_name.as_deref().map(text::clean_field),
            owner: Some(login),
            scopes: scopes(&t.permissions),
            audience,
            binding: Binding::Bearer,
            issued_at: ts(&t.access_granted_at),
            expires_at: ts(&t.token_expires_at),
            last_used_at: ts(&t.token_last_used_at),
            status: if t.token_expired { CredentialStatus::Expired } else { CredentialStatus::Active },
            task: None,
            parent_id: None,
            act_chain: Vec::new(),
            consent: Vec::new(),
            usage: Vec::new(),
        }
    }
}

impl Connector for GithubOrg {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::Github
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { credentials: true, grants: true, revoke: true, ..Capabilities::default() }
    }

    fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()
    }

    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(async move {
            let url = cursor.unwrap_or_else(|| self.first_url("personal-access-tokens"));
            let (tokens, next) = self.get_page::<Vec<OrgToken>>(&url).await?;
            Ok(Page::of(tokens.into_iter().map(|t| self.map_token(t)).collect(), next))
        })
    }

    fn list_grants(&self) -> BoxFuture<'_, Result<Vec<Grant>>> {
        Box::pin(async move {
            let mut url = Some(self.first_url("personal-access-token-requests"));
            let mut grants = Vec::new();
            while let Some(u) = url.take() {
                let (requests, next) = self.get_page::<Vec<TokenRequest>>(&u).await?;
                for r in requests {
                    let external_id = format!("request-{}", r.id);
                    let requested = ts(&r.created_at);
                    let expires = ts(&r.token_expires_at);
                    grants.push(Grant {
                        id: Credential::local_id(&self.http.issuer, &format!("grant/{external_id}")),
                        issuer: self.http.issuer.clone(),
                        external_id,
                        workload: r.token_name.as_deref().map(text::clean_field),
                        requested_by: Some(text::clean(&r.owner.login, 100).to_lowercase()),
                        intent: r.reason.as_deref().map(text::clean_field),
                        scopes: scopes(&r.permissions),
                        audience: vec![format!("https://github.com/{}", self.org)],
                        // A token that never expires asks for standing access: TTL 0 says "unbounded".
                        ttl_seconds: match (requested, expires) {
                            (Some(a), Some(b)) => (b - a).num_seconds().max(0),
                            _ => 0,
                        },
                        binding: Binding::Bearer,
                        requested_at: requested,
                        expires_at: expires,
                        status: GrantStatus::Pending,
                    });
                }
                url = next;
                if grants.len() > 100_000 {
                    break;
                }
            }
            Ok(grants)
        })
    }

    /// GitHub approves a request exactly as asked: the actions refuse narrowing
    /// before this is called (`narrow` is false), so the justification is all we send.
    fn approve<'a>(&'a self, decision: &'a super::connector::Approval) -> BoxFuture<'a, Result<super::connector::ApprovalAnswer>> {
        Box::pin(async move {
            let answer = self.review_request(&decision.external_id, true, &decision.justification).await?;
            // The token already exists (GitHub issued it with the request); it appears with the next sync.
            Ok(super::connector::ApprovalAnswer { answer, credential_external_id: None })
        })
    }

    fn deny<'a>(&'a self, external_id: &'a str, _approver: &'a str, reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { self.review_request(external_id, false, reason).await })
    }

    fn revoke<'a>(&'a self, external_id: &'a str, _actor: &'a str, _reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let id = external_id.strip_prefix("pat-").filter(|n| n.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| ConnectorError::Config {
                issuer: self.http.issuer.clone(),
                message: format!("'{external_id}' is not a GitHub token grant id"),
            })?;
            self.post_action(&format!("personal-access-tokens/{id}"), serde_json::json!({"action": "revoke"})).await
        })
    }
}

impl GithubOrg {
    /// Approves or denies a pending token request, with the reason GitHub shows the requester.
    pub async fn review_request(&self, external_id: &str, approve: bool, reason: &str) -> Result<IssuerAnswer> {
        let id = external_id.strip_prefix("request-").filter(|n| n.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| ConnectorError::Config {
            issuer: self.http.issuer.clone(),
            message: format!("'{external_id}' is not a GitHub token request id"),
        })?;
        let action = if approve { "approve" } else { "deny" };
        self.post_action(&format!("personal-access-token-requests/{id}"), serde_json::json!({"action": action, "reason": reason})).await
    }
}
