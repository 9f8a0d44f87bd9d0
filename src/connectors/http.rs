//! The HTTP client every connector uses: timeouts, size caps, no redirects,
//! https only (loopback and an explicit lab setting excepted), error mapping.
use reqwest::{Client, Response, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::connector::{ConnectorError, HttpSettings, Result};
use crate::domain::text;

/// Largest answer body accepted from an issuer (a page of 1,000 rich credentials is a few MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct HttpClient {
    pub issuer: String,
    pub client: Client,
    pub settings: HttpSettings,
}

impl HttpClient {
    pub fn new(issuer: &str, settings: HttpSettings) -> Result<Self> {
        let config_err = |message: String| ConnectorError::Config { issuer: issuer.to_string(), message };
        check_url(&settings.base_url, settings.allow_http).map_err(config_err)?;
        let mut builder = Client::builder()
            // A redirect would re-send our bearer token, X-Vault-Token or a leaked token in a form body to whatever host it names.
            .redirect(reqwest::redirect::Policy::none())
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
            Some(t) => req.bearer_auth(t.expose_secret()),
            None => req,
        }
    }

    pub fn transport_error(&self, e: reqwest::Error) -> ConnectorError {
        // reqwest's message never contains the bearer token; it may contain the URL.
        let message = if e.is_timeout() { format!("timed out after {:?}", self.settings.timeout) } else { error_chain(&e) };
        ConnectorError::Unreachable { issuer: self.issuer.clone(), message: text::clean(&crate::domain::redact::redact(&message), 300) }
    }

    /// Sends, reads at most MAX_BODY, and maps non-2xx answers to `Rejected`
    /// with the issuer's `{"error": ...}` message when it gave one.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>)> {
        let resp = self.authorize(req).send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            return Err(self.redirected(&resp));
        }
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

    /// A 3xx is never followed: it is an error naming where it pointed (origin only, a query may carry secrets).
    pub fn redirected(&self, resp: &Response) -> ConnectorError {
        let location = resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("");
        let target = match resp.url().join(location) {
            Ok(u) if !location.is_empty() => origin(&u),
            _ => "nowhere".to_string(),
        };
        ConnectorError::Rejected {
            issuer: self.issuer.clone(),
            status: resp.status().as_u16(),
            message: text::clean(&format!("redirected to {target}; redirects are not followed"), 300),
        }
    }

    /// Reads the body chunk by chunk and stops at MAX_BODY: a huge answer is never buffered whole.
    pub async fn read_capped(&self, mut resp: Response) -> Result<Vec<u8>> {
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

/// `scheme://host[:port]` of a URL, as the web's same-origin rule compares it.
pub fn origin(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_string(),
    }
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// An issuer URL is https, or http to a loopback host, or http where the config says `allow_http = true` (a lab).
pub fn check_url(url: &str, allow_http: bool) -> std::result::Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("url '{}': {e}", text::clean(url, 200)))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_http || is_loopback(&parsed) => Ok(parsed),
        "http" => Err(format!(
            "url {} is plain http to a host that is not loopback: credentials would cross the network in clear; use https (or allow_http = true for a lab)",
            origin(&parsed)
        )),
        other => Err(format!("url scheme '{}' is not http or https", text::clean(other, 20))),
    }
}

/// localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
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
    // Redacted: an issuer may quote the credential it refused.
    text::clean(&crate::domain::redact::redact(&text::clean(&text, usize::MAX)), 300)
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
