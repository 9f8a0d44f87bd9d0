//! An OAuth 2.0 authorization server: RFC 7662 introspection and RFC 7009
//! revocation with client authentication. No standard lists tokens, so this
//! kind serves triage of a leaked token; it never lists credentials.
use chrono::{TimeZone, Utc};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::http::{check_url, origin, same_origin, HttpClient};
use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Result};
use crate::config::IssuerConfig;
use crate::domain::{text, Credential, Introspection, IssuerAnswer, IssuerKind};

pub struct OAuthServer {
    http: HttpClient,
    client_id: String,
    client_secret: SecretString,
    configured: (Option<String>, Option<String>),
    endpoints: OnceCell<Endpoints>,
}

#[derive(Debug, Clone)]
struct Endpoints {
    introspection: String,
    revocation: String,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    #[serde(default)]
    introspection_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IntrospectionBody {
    active: bool,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

impl OAuthServer {
    pub fn new(cfg: &IssuerConfig, settings: HttpSettings) -> Result<Self> {
        let config = |message: String| ConnectorError::Config { issuer: cfg.name.clone(), message };
        let client_id = cfg.client_id.clone().ok_or_else(|| config("client_id is required for kind oauth".into()))?;
        let client_secret = cfg.client_secret().map_err(config)?.ok_or_else(|| config("client_secret_env or client_secret_file is required".into()))?;
        for (url, what) in [(&cfg.introspection_url, "introspection_url"), (&cfg.revocation_url, "revocation_url")] {
            if let Some(u) = url {
                check_url(u, settings.allow_http).map_err(|e| config(format!("{what}: {e}")))?;
            }
        }
        Ok(OAuthServer {
            http: HttpClient::new(&cfg.name, settings)?,
            client_id,
            client_secret,
            configured: (cfg.introspection_url.clone(), cfg.revocation_url.clone()),
            endpoints: OnceCell::new(),
        })
    }

    /// Configured endpoints win; else RFC 8414 metadata, then OIDC discovery.
    async fn endpoints(&self) -> Result<&Endpoints> {
        self.endpoints
            .get_or_try_init(|| async {
                if let (Some(i), Some(r)) = &self.configured {
                    return Ok(Endpoints { introspection: i.clone(), revocation: r.clone() });
                }
                let mut found = Discovery { introspection_endpoint: None, revocation_endpoint: None };
                for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
                    if let Ok((_, d)) = self.http.send_json::<Discovery>(self.http.client.get(self.http.url(path))).await {
                        found = d;
                        break;
                    }
                }
                let config = |message: String| ConnectorError::Config { issuer: self.http.issuer.clone(), message };
                let pick = |configured: &Option<String>, discovered: Option<String>, what: &str| match (configured, discovered) {
                    (Some(c), _) => Ok(c.clone()),
                    (None, Some(d)) => self.on_our_origin(&d, what).map_err(config),
                    (None, None) => Err(config(format!("no {what} endpoint: the server publishes none; set {what}_url"))),
                };
                Ok(Endpoints {
                    introspection: pick(&self.configured.0, found.introspection_endpoint, "introspection")?,
                    revocation: pick(&self.configured.1, found.revocation_endpoint, "revocation")?,
                })
            })
            .await
    }
}

impl OAuthServer {
    /// A token in a form body, with our client's credentials: the one place either secret is exposed.
    fn token_request(&self, url: String, token: &SecretString) -> reqwest::RequestBuilder {
        self.http.client.post(url).basic_auth(&self.client_id, Some(self.client_secret.expose_secret())).form(&[("token", token.expose_secret())])
    }

    /// A discovered endpoint is believed only on the issuer URL's own origin:
    /// a hostile document must not route leaked tokens and our client secret elsewhere.
    fn on_our_origin(&self, endpoint: &str, what: &str) -> std::result::Result<String, String> {
        let ours = reqwest::Url::parse(&self.http.settings.base_url).map_err(|e| format!("url: {e}"))?;
        let theirs = reqwest::Url::parse(endpoint).map_err(|e| text::clean(&format!("discovered {what} endpoint is not a URL: {e}"), 300))?;
        if !same_origin(&ours, &theirs) {
            return Err(text::clean(
                &format!("discovered {what} endpoint is on {}, not the issuer's origin {}: refused; set {what}_url to trust it", origin(&theirs), origin(&ours)),
                300,
            ));
        }
        Ok(theirs.to_string())
    }
}

fn ts(secs: Option<i64>) -> Option<crate::domain::Timestamp> {
    secs.and_then(|s| Utc.timestamp_opt(s, 0).single())
}

impl Connector for OAuthServer {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::Oauth
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { introspect: true, ..Capabilities::default() }
    }

    fn list_credentials(&self, _cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(async { Ok(Page::of(Vec::new(), None)) })
    }

    fn introspect<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, Result<Introspection>> {
        Box::pin(async move {
            let url = self.endpoints().await?.introspection.clone();
            let req = self.token_request(url, token);
            let (_, b) = self.http.send_json::<IntrospectionBody>(req).await?;
            let audience = match b.aud {
                Some(serde_json::Value::String(s)) => vec![s],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            };
            // Redacted too: a hostile server may echo the token it was asked about.
            let clean = |s: Option<String>| s.map(|s| text::clean_field(&crate::domain::redact::redact(&s)));
            Ok(Introspection {
                active: b.active,
                scopes: b.scope.as_deref().unwrap_or("").split_whitespace().map(|s| text::clean(s, 256)).collect(),
                client_id: clean(b.client_id),
                subject: clean(b.sub),
                audience: audience.iter().map(|a| text::clean_field(a)).collect(),
                expires_at: ts(b.exp),
                issued_at: ts(b.iat),
                token_type: clean(b.token_type),
                issuer: clean(b.iss),
            })
        })
    }

    fn revoke_token<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let url = self.endpoints().await?.revocation.clone();
            let req = self.token_request(url, token);
            let (status, body) = self.http.send(req).await?;
            Ok(IssuerAnswer::from_body(status, &body))
        })
    }

    fn revoke<'a>(&'a self, _e: &'a str, _a: &'a str, _r: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { Err(self.unsupported("revoke by credential id (triage revokes by token value)")) })
    }
}
