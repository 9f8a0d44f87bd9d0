//! Cloud access keys: AWS IAM users (under a path prefix) and their access keys,
//! over IAM's Query API signed with Signature Version 4 on the shared HTTP client
//! (no SDK: a few signed POSTs do not need one; see README). Owner and workload
//! come from user tags, scopes from the names of attached and inline policies,
//! last use from `GetAccessKeyLastUsed`. Revoking deactivates the key
//! (`UpdateAccessKey` to Inactive); deleting it stays a separate, explicit choice.
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Rejection, Result};
use super::http::HttpClient;
use crate::config::IssuerConfig;
use crate::domain::{parse_ts, text, Binding, Credential, CredentialKind, CredentialStatus, IssuerAnswer, IssuerKind, UsageEvent};

const VERSION: &str = "2010-05-08";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// Most users one page asks for (IAM's own ceiling is 1,000).
const MAX_USERS: u32 = 100;

pub struct AwsIam {
    http: HttpClient,
    key_id: String,
    secret: SecretString,
    session_token: Option<SecretString>,
    region: String,
    path_prefix: String,
    owner_tag: String,
    workload_tag: String,
}

impl AwsIam {
    pub fn new(cfg: &IssuerConfig, mut settings: HttpSettings) -> Result<Self> {
        let config_err = |message: String| ConnectorError::Config { issuer: cfg.name.clone(), message };
        // The session token (token_env / token_file) is signed into a header of its own, never sent as a bearer token.
        let session_token = settings.token.take();
        let key_id = cfg.client_id.clone().filter(|k| !k.trim().is_empty()).ok_or_else(|| config_err("aws-iam needs client_id: the access key id tokenward signs with".into()))?;
        let secret = cfg.client_secret().map_err(config_err)?.ok_or_else(|| config_err("aws-iam needs client_secret_env or client_secret_file: the secret access key".into()))?;
        Ok(AwsIam {
            http: HttpClient::new(&cfg.name, settings)?,
            key_id: key_id.trim().to_string(),
            secret,
            session_token,
            region: cfg.region.clone().unwrap_or_else(|| "us-east-1".into()),
            path_prefix: cfg.path_prefix.clone().unwrap_or_else(|| "/".into()),
            owner_tag: cfg.owner_tag.clone().unwrap_or_else(|| "owner".into()),
            workload_tag: cfg.workload_tag.clone().unwrap_or_else(|| "workload".into()),
        })
    }

    fn malformed(&self, message: String) -> ConnectorError {
        ConnectorError::Malformed { issuer: self.http.issuer.clone(), message }
    }

    /// One signed IAM action; the XML answer's text.
    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String> {
        let mut form: Vec<(&str, &str)> = vec![("Action", action), ("Version", VERSION)];
        form.extend_from_slice(params);
        let body = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let url = reqwest::Url::parse(&self.http.url("/")).map_err(|e| self.malformed(format!("endpoint: {e}")))?;
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let signed = sign(
            &Signing { key_id: &self.key_id, secret: self.secret.expose_secret(), region: &self.region, service: "iam" },
            &SignedRequest { method: "POST", host: &host, query: "", body: &body, session_token: self.session_token.as_ref().map(|t| t.expose_secret()) },
            Utc::now(),
        );
        let mut req = self.http.client.post(url).header("content-type", CONTENT_TYPE).body(body);
        for (name, value) in signed {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| self.http.transport_error(e))?;
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            return Err(self.http.redirected(&resp));
        }
        let bytes = self.http.read_capped(resp).await?;
        let xml = String::from_utf8(bytes).map_err(|_| self.malformed(format!("{action}: not UTF-8")))?;
        if !(200..300).contains(&status) {
            let code = tag(&xml, "Code").unwrap_or_default();
            let message = tag(&xml, "Message").unwrap_or_default();
            return Err(ConnectorError::Rejected { issuer: self.http.issuer.clone(), status, message: text::clean(&format!("{action}: {code} {message}"), 300) });
        }
        Ok(xml)
    }

    /// A user's access keys as credentials.
    async fn user_keys(&self, user: &str) -> Result<Vec<Credential>> {
        let keys = self.call("ListAccessKeys", &[("UserName", user)]).await?;
        let tags = self.call("ListUserTags", &[("UserName", user)]).await?;
        let tag_value = |name: &str| {
            members(&tags, "Tags").into_iter().find(|m| tag(m, "Key").is_some_and(|k| k.eq_ignore_ascii_case(name))).and_then(|m| tag(m, "Value"))
        };
        let owner = tag_value(&self.owner_tag).map(|o| text::clean(&o.to_lowercase(), 254)).filter(|o| !o.is_empty());
        let workload = tag_value(&self.workload_tag).map(|w| text::clean_field(&w)).filter(|w| !w.is_empty());
        let attached = self.call("ListAttachedUserPolicies", &[("UserName", user)]).await?;
        let inline = self.call("ListUserPolicies", &[("UserName", user)]).await?;
        let mut scopes: Vec<String> = members(&attached, "AttachedPolicies").into_iter().filter_map(|m| tag(m, "PolicyName")).collect();
        scopes.extend(members(&inline, "PolicyNames").into_iter().map(unescape));
        let mut scopes: Vec<String> = scopes.iter().map(|s| text::clean_field(s)).filter(|s| !s.is_empty()).take(256).collect();
        scopes.sort();
        scopes.dedup();
        let mut out = Vec::new();
        for key in members(&keys, "AccessKeyMetadata") {
            let Some(key_id) = tag(key, "AccessKeyId").map(|k| text::clean(&k, 128)).filter(|k| !k.is_empty()) else { continue };
            let used = self.call("GetAccessKeyLastUsed", &[("AccessKeyId", &key_id)]).await?;
            let last_used = tag(&used, "LastUsedDate").as_deref().and_then(parse_ts);
            let service = tag(&used, "ServiceName").filter(|s| s != "N/A").map(|s| text::clean(&s, 80));
            let region = tag(&used, "Region").filter(|s| s != "N/A").map(|s| text::clean(&s, 40));
            let status = match tag(key, "Status").as_deref() {
                Some("Active") => CredentialStatus::Active,
                _ => CredentialStatus::Revoked,
            };
            out.push(Credential {
                id: Credential::local_id(&self.http.issuer, &key_id),
                issuer: self.http.issuer.clone(),
                external_id: key_id.clone(),
                kind: CredentialKind::ApiKey,
                fingerprint: None,
                client_id: Some(key_id),
                subject: Some(text::clean(user, 128)),
                workload: workload.clone().or_else(|| Some(text::clean(user, 128))),
                owner: owner.clone(),
                scopes: scopes.clone(),
                audience: vec!["aws".into()],
                binding: Binding::Bearer,
                issued_at: tag(key, "CreateDate").as_deref().and_then(parse_ts),
                expires_at: None,
                last_used_at: last_used,
                status,
                task: None,
                parent_id: None,
                act_chain: Vec::new(),
                consent: Vec::new(),
                usage: last_used.map(|at| UsageEvent { at, workload: service, origin: region }).into_iter().collect(),
            });
        }
        Ok(out)
    }
}

impl Connector for AwsIam {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::AwsIam
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { credentials: true, revoke: true, ..Capabilities::default() }
    }

    /// A page of users (by IAM's marker) with all their keys.
    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(async move {
            let max = self.http.settings.page_size.clamp(1, MAX_USERS).to_string();
            let mut params = vec![("PathPrefix", self.path_prefix.as_str()), ("MaxItems", max.as_str())];
            if let Some(marker) = &cursor {
                params.push(("Marker", marker.as_str()));
            }
            let xml = self.call("ListUsers", &params).await?;
            let (mut items, mut rejected) = (Vec::new(), Vec::new());
            for user in members(&xml, "Users") {
                let Some(name) = tag(user, "UserName").filter(|n| !n.is_empty() && n.len() <= 128) else {
                    rejected.push(Rejection { id: None, reason: "a user without a readable UserName (1 to 128 characters)".into() });
                    continue;
                };
                // One user IAM refuses to describe costs only that user's keys; an unreachable IAM stops the page.
                match self.user_keys(&name).await {
                    Ok(keys) => items.extend(keys),
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(e) => rejected.push(Rejection { id: Some(text::clean(&name, 128)), reason: text::clean(&e.to_string(), 300) }),
                }
            }
            let next = (tag(&xml, "IsTruncated").as_deref() == Some("true")).then(|| tag(&xml, "Marker")).flatten().filter(|m| !m.is_empty());
            Ok(Page::with_rejected(items, next, rejected))
        })
    }

    /// Deactivates the key (UpdateAccessKey to Inactive): what it signs is refused
    /// from then on, and the key stays on record until someone deletes it.
    fn revoke<'a>(&'a self, external_id: &'a str, _actor: &'a str, _reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let used = self.call("GetAccessKeyLastUsed", &[("AccessKeyId", external_id)]).await?;
            let user = tag(&used, "UserName").filter(|u| !u.is_empty()).ok_or_else(|| self.malformed(format!("no user owns access key {external_id}")))?;
            self.call("UpdateAccessKey", &[("UserName", &user), ("AccessKeyId", external_id), ("Status", "Inactive")]).await?;
            Ok(IssuerAnswer { status: 200, body: text::clean(&format!("access key {external_id} of IAM user {user} is Inactive"), 300) })
        })
    }
}

/// Who signs, where.
pub struct Signing<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// What is signed: a request to `/` with its query (already canonical) and body.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub query: &'a str,
    pub body: &'a str,
    pub session_token: Option<&'a str>,
}

/// Signature Version 4: the headers to add (x-amz-date, an optional security
/// token, Authorization) for a request with the form content type.
pub fn sign(who: &Signing, req: &SignedRequest, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = now.format("%Y%m%d").to_string();
    let mut headers = vec![("content-type", CONTENT_TYPE.to_string()), ("host", req.host.to_string()), ("x-amz-date", amz_date.clone())];
    if let Some(t) = req.session_token {
        headers.push(("x-amz-security-token", t.to_string()));
    }
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical = format!("{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}", req.method, req.query, hex::encode(Sha256::digest(req.body.as_bytes())));
    let scope = format!("{date}/{}/{}/aws4_request", who.region, who.service);
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let mut key = hmac(format!("AWS4{}", who.secret).as_bytes(), date.as_bytes());
    for part in [who.region, who.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    let mut out = vec![("x-amz-date", amz_date)];
    if let Some(t) = req.session_token {
        out.push(("x-amz-security-token", t.to_string()));
    }
    out.push(("authorization", format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}", who.key_id)));
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return Vec::new() };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 unreserved characters kept, everything else percent-encoded (as SigV4 wants).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the first `<name>` element, unescaped (IAM's answers are flat enough).
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(unescape(&xml[start..end]))
}

/// The `<member>` elements directly inside the first `<container>`, nested members kept whole.
fn members<'a>(xml: &'a str, container: &str) -> Vec<&'a str> {
    let open = format!("<{container}>");
    let Some(start) = xml.find(&open).map(|i| i + open.len()) else { return Vec::new() };
    let Some(end) = xml[start..].find(&format!("</{container}>")).map(|i| i + start) else { return Vec::new() };
    let body = &xml[start..end];
    let mut out = Vec::new();
    let (mut depth, mut from, mut i) = (0usize, 0usize, 0usize);
    while i < body.len() {
        if body[i..].starts_with("<member>") {
            if depth == 0 {
                from = i + "<member>".len();
            }
            depth += 1;
            i += "<member>".len();
        } else if body[i..].starts_with("</member>") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                out.push(&body[from..i]);
            }
            i += "</member>".len();
        } else {
            i += body[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.trim().replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// AWS's own worked example of Signature Version 4 (IAM ListUsers, GET, 2015-08-30).
    #[test]
    fn signs_as_the_aws_documentation_example() {
        let who = Signing { key_id: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "iam" };
        let req = SignedRequest { method: "GET", host: "iam.amazonaws.com", query: "Action=ListUsers&Version=2010-05-08", body: "", session_token: None };
        let at = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).single().expect("time");
        let headers = sign(&who, &req, at);
        let auth = headers.iter().find(|(k, _)| *k == "authorization").map(|(_, v)| v.as_str()).unwrap_or_default();
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn reads_members_tags_and_escapes() {
        let xml = "<R><Users><member><UserName>a&amp;b</UserName><Tags><member><Key>k</Key></member></Tags></member><member><UserName>c</UserName></member></Users><IsTruncated>false</IsTruncated></R>";
        let users = members(xml, "Users");
        assert_eq!(users.len(), 2);
        assert_eq!(tag(users[0], "UserName").as_deref(), Some("a&b"));
        assert_eq!(members(users[0], "Tags").len(), 1);
        assert_eq!(tag(xml, "IsTruncated").as_deref(), Some("false"));
        assert!(members(xml, "Missing").is_empty() && tag("<a>unclosed", "a").is_none());
        assert_eq!(encode("a b/c=d"), "a%20b%2Fc%3Dd");
    }
}
