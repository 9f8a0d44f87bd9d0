//! A secrets manager's tokens (Vault's token API): every token accessor becomes
//! a credential, its policies the scopes. The accessor is not the token: a
//! listing never carries a secret, and revocation by accessor needs none.
use chrono::{TimeZone, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::http::HttpClient;
use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Result};
use crate::domain::{parse_ts, text, Binding, Credential, CredentialKind, CredentialStatus, IssuerAnswer, IssuerKind};

pub struct VaultTokens {
    http: HttpClient,
    /// The accessor list of this sync, fetched once; pages are windows over it.
    accessors: OnceCell<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Debug, Deserialize)]
struct Keys {
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Lookup {
    accessor: String,
    #[serde(default)]
    creation_time: Option<i64>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    expire_time: Option<String>,
    #[serde(default)]
    issue_time: Option<String>,
    #[serde(default)]
    meta: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, rename = "type")]
    token_type: Option<String>,
    #[serde(default)]
    entity_id: Option<String>,
}

impl VaultTokens {
    pub fn new(name: &str, settings: HttpSettings) -> Result<Self> {
        Ok(VaultTokens { http: HttpClient::new(name, settings)?, accessors: OnceCell::new() })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.client.request(method, self.http.url(path));
        match self.http.settings.token.as_ref().map(|t| reqwest::header::HeaderValue::from_str(t.expose_secret())) {
            // Sensitive: reqwest and http leave it out of their Debug output.
            Some(Ok(mut v)) => {
                v.set_sensitive(true);
                req.header("X-Vault-Token", v)
            }
            // A token that is no header value: sent as none, so the issuer answers 403 rather than a panic or a leak.
            Some(Err(_)) | None => req,
        }
    }

    async fn accessors(&self) -> Result<&Vec<String>> {
        self.accessors
            .get_or_try_init(|| async {
                let list = reqwest::Method::from_bytes(b"LIST").map_err(|e| ConnectorError::Config { issuer: self.http.issuer.clone(), message: e.to_string() })?;
                let (_, d) = self.http.send_json::<Data<Keys>>(self.request(list, "/v1/auth/token/accessors")).await?;
                Ok(d.data.keys.iter().map(|k| text::clean(k, 128)).collect())
            })
            .await
    }

    fn map(&self, l: Lookup) -> Credential {
        let meta = l.meta.unwrap_or_default();
        let pick = |keys: &[&str]| keys.iter().find_map(|k| meta.get(*k)).map(|v| text::clean_field(v)).filter(|v| !v.is_empty());
        let external_id = text::clean(&l.accessor, 128);
        let expires_at = l.expire_time.as_deref().and_then(parse_ts);
        Credential {
            id: Credential::local_id(&self.http.issuer, &external_id),
            issuer: self.http.issuer.clone(),
            external_id,
            kind: CredentialKind::AccessToken,
            fingerprint: None,
            client_id: l.path.as_deref().map(text::clean_field),
            subject: l.entity_id.as_deref().or(l.display_name.as_deref()).map(text::clean_field).filter(|s| !s.is_empty()),
            workload: pick(&["workload", "service", "agent"]).or_else(|| l.display_name.as_deref().map(text::clean_field)),
            owner: pick(&["owner", "email", "owner_email"]).map(|o| o.to_lowercase()),
            scopes: l.policies.iter().map(|p| text::clean(p, 128).replace(char::is_whitespace, "_")).collect(),
            audience: vec![format!("vault:{}", l.token_type.as_deref().map(|t| text::clean(t, 64)).unwrap_or_else(|| "service".into()))],
            binding: Binding::Bearer,
            issued_at: l.issue_time.as_deref().and_then(parse_ts).or_else(|| l.creation_time.and_then(|s| Utc.timestamp_opt(s, 0).single())),
            status: if expires_at.is_some_and(|e| e < Utc::now()) { CredentialStatus::Expired } else { CredentialStatus::Active },
            expires_at,
            last_used_at: None,
            task: None,
            parent_id: None,
            act_chain: Vec::new(),
            consent: Vec::new(),
            usage: Vec::new(),
        }
    }
}

impl Connector for VaultTokens {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::Vault
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { credentials: true, revoke: true, ..Capabilities::default() }
    }

    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(async move {
            let all = self.accessors().await?;
            let start: usize = match &cursor {
                None => 0,
                Some(c) => c.parse().map_err(|_| ConnectorError::Malformed { issuer: self.http.issuer.clone(), message: "bad cursor".into() })?,
            };
            let end = (start + self.http.settings.page_size as usize).min(all.len());
            // Lookups a few at a time: one request per accessor is Vault's only way.
            let looked: Vec<Result<Option<Credential>>> = stream::iter(all[start.min(end)..end].iter().cloned())
                .map(|accessor| async move {
                    let req = self.request(reqwest::Method::POST, "/v1/auth/token/lookup-accessor").json(&serde_json::json!({ "accessor": accessor }));
                    match self.http.send_json::<Data<Lookup>>(req).await {
                        Ok((_, d)) => Ok(Some(self.map(d.data))),
                        // Revoked or expired between the list and the lookup: it is gone, not an error.
                        Err(ConnectorError::Rejected { status: 400 | 403 | 404, .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .buffered(8)
                .collect()
                .await;
            let mut items = Vec::new();
            for r in looked {
                if let Some(c) = r? {
                    items.push(c);
                }
            }
            Ok(Page::of(items, (end < all.len()).then(|| end.to_string())))
        })
    }

    fn revoke<'a>(&'a self, external_id: &'a str, _actor: &'a str, _reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let req = self.request(reqwest::Method::POST, "/v1/auth/token/revoke-accessor").json(&serde_json::json!({ "accessor": external_id }));
            let (status, body) = self.http.send(req).await?;
            Ok(IssuerAnswer::from_body(status, &body))
        })
    }
}
