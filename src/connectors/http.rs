//! The HTTP client every connector uses: timeouts, size caps, error mapping.
use reqwest::{Client, Response};
use serde::de::DeserializeOwned;

use super::connector::{ConnectorError, HttpSettings, Result};
use crate::domain::text;

/// Largest answer body accepted from an issuer.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

pub struct HttpClient {
    pub issuer: String,
    pub client: Client,
    pub settings: HttpSettings,
}

impl HttpClient {
    pub fn new(issuer: &str, settings: HttpSettings) -> Result<Self> {
        let config_err = |message: String| ConnectorError::Config { issuer: issuer.to_string(), message };
        let mut builder = Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("tokenward/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| config_err(format!("cannot read ca_file {}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| config_err(format!("ca_file {}: {e}", path.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(|e| config_err(format!("http client: {e}")))?;
        Ok(HttpClient { issuer: issuer.to_string(), client, settings })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.base_url.trim_end_matches('/'), path)
    }

    pub fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub fn transport_error(&self, e: reqwest::Error) -> ConnectorError {
        // reqwest's message never contains the bearer token; it may contain the URL.
        let message = if e.is_timeout() { format!("timed out after {:?}", self.settings.timeout) } else { error_chain(&e) };
        ConnectorError::Unreachable { issuer: self.issuer.clone(), message: text::clean(&message, 300) }
    }

    /// Sends, reads at most MAX_BODY, and maps non-2xx answers to `Rejected`
    /// with the issuer's `{"error": ...}` message when it gave one.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>)> {
        let resp = self.authorize(req).send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let body = self.read_capped(resp).await?;
        if !(200..300).contains(&status) {
            return Err(ConnectorError::Rejected { issuer: self.issuer.clone(), status, message: error_message(&body) });
        }
        Ok((status, body))
    }

    pub async fn send_json<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<(u16, T)> {
        let (status, body) = self.send(req).await?;
        let value = serde_json::from_slice(&body).map_err(|e| ConnectorError::Malformed {
            issuer: self.issuer.clone(),
            message: text::clean(&format!("{e}"), 300),
        })?;
        Ok((status, value))
    }

    async fn read_capped(&self, mut resp: Response) -> Result<Vec<u8>> {
        if resp.content_length().is_some_and(|n| n as usize > MAX_BODY) {
            return Err(self.too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(self.too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn too_large(&self) -> ConnectorError {
        ConnectorError::Malformed { issuer: self.issuer.clone(), message: format!("answer larger than {} MiB", MAX_BODY >> 20) }
    }
}

/// The issuer's own words for an error, cleaned for the terminal: OAuth's
/// `error`/`error_description`, GitHub's `message` (+ its first detail), Vault's `errors`.
pub fn error_message(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let detail = |k: &str| {
        v.get(k).and_then(|e| e.as_array()).and_then(|a| a.first()).and_then(|e| e.as_str().map(str::to_string).or_else(|| e.get("message").and_then(|m| m.as_str()).map(str::to_string)))
    };
    let text = match (s("error"), s("error_description"), s("message")) {
        (Some(e), Some(d), _) => format!("{e}: {d}"),
        (Some(e), None, _) => e,
        (None, _, Some(m)) => match detail("errors") {
            Some(d) => format!("{m}: {d}"),
            None => m,
        },
        _ => match detail("errors") {
            Some(d) => d,
            None => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        },
    };
    text::clean(&text, 300)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
