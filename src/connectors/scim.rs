//! A SCIM 2.0 directory (RFC 7643/7644): who the people are and who has left.
//! It lists people only; its word on a person's status wins over any issuer's.
use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::http::HttpClient;
use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Result};
use crate::domain::{parse_ts, text, Credential, IssuerAnswer, IssuerKind, Owner, OwnerStatus};

pub struct ScimDirectory {
    http: HttpClient,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    total_results: u64,
    #[serde(default)]
    start_index: Option<u64>,
    #[serde(default)]
    items_per_page: Option<u64>,
    #[serde(default, rename = "Resources")]
    resources: Vec<ScimUser>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimUser {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    name: Option<ScimName>,
    #[serde(default)]
    emails: Vec<ScimEmail>,
    /// RFC 7643 §4.1.1: absent means active.
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    meta: Option<ScimMeta>,
    #[serde(default, rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    enterprise: Option<ScimEnterprise>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimName {
    #[serde(default)]
    formatted: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScimEmail {
    value: String,
    #[serde(default)]
    primary: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimMeta {
    #[serde(default)]
    last_modified: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScimEnterprise {
    #[serde(default)]
    department: Option<String>,
}

impl ScimDirectory {
    pub fn new(name: &str, settings: HttpSettings) -> Result<Self> {
        Ok(ScimDirectory { http: HttpClient::new(name, settings)? })
    }
}

/// The person's email: the primary one, else the first, else a userName that is an email.
fn email_of(u: &ScimUser) -> Option<String> {
    let primary = u.emails.iter().find(|e| e.primary == Some(true)).or_else(|| u.emails.first()).map(|e| e.value.clone());
    primary.or_else(|| u.user_name.clone().filter(|n| n.contains('@'))).map(|e| text::clean(e.trim(), 254).to_lowercase())
}

fn map_user(directory: &str, u: &ScimUser) -> Option<Owner> {
    let email = email_of(u).filter(|e| !e.is_empty())?;
    let name = u
        .display_name
        .clone()
        .or_else(|| u.name.as_ref().and_then(|n| n.formatted.clone()))
        .or_else(|| {
            u.name.as_ref().map(|n| format!("{} {}", n.given_name.clone().unwrap_or_default(), n.family_name.clone().unwrap_or_default()))
        })
        .map(|n| text::clean_field(n.trim()))
        .filter(|n| !n.is_empty());
    let active = u.active.unwrap_or(true);
    Some(Owner {
        email,
        name,
        team: u.enterprise.as_ref().and_then(|e| e.department.as_deref()).map(text::clean_field),
        status: if active { OwnerStatus::Active } else { OwnerStatus::Offboarded },
        source: Some(directory.to_string()),
        // The directory says when the record last changed; for an inactive person that is our best "left at".
        offboarded_at: if active { None } else { u.meta.as_ref().and_then(|m| m.last_modified.as_deref()).and_then(parse_ts) },
        alias_of: None,
    })
}

/// Credentials and requests name their owner by email or by user name (a code
/// host login such as a GitHub login): a person whose userName is not their email
/// is listed under both, so either joins, and the alias names its person, so a
/// login counts as that person (no self-approval of one's own GitHub request).
fn with_username_alias(owner: Option<Owner>, u: &ScimUser) -> Vec<Owner> {
    let Some(owner) = owner else { return Vec::new() };
    let alias = u
        .user_name
        .as_deref()
        .map(|n| text::clean(n.trim(), 254).to_lowercase())
        .filter(|n| !n.is_empty() && !n.contains('@') && *n != owner.email);
    match alias {
        Some(name) => vec![Owner { email: name, alias_of: Some(owner.email.clone()), ..owner.clone() }, owner],
        None => vec![owner],
    }
}

impl Connector for ScimDirectory {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::Scim
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { owners: true, directory: true, ..Capabilities::default() }
    }

    fn list_owners(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Owner>>> {
        Box::pin(async move {
            let start: u64 = match &cursor {
                None => 1,
                Some(c) => c.parse().map_err(|_| ConnectorError::Malformed {
                    issuer: self.http.issuer.clone(),
                    message: format!("bad SCIM cursor '{}'", text::clean(c, 20)),
                })?,
            };
            let count = self.http.settings.page_size.to_string();
            // sortBy keeps pages stable: the default order of some servers is their random ids.
            let req = self.http.client.get(self.http.url("/Users")).query(&[
                ("startIndex", start.to_string().as_str()),
                ("count", count.as_str()),
                ("sortBy", "userName"),
            ]);
            let req = req.header(reqwest::header::ACCEPT, "application/scim+json, application/json");
            let (_, list) = self.http.send_json::<ListResponse>(req).await?;
            let got = list.resources.len() as u64;
            let items = list.resources.iter().flat_map(|u| with_username_alias(map_user(&self.http.issuer, u), u)).collect();
            let next = list.start_index.unwrap_or(start) + list.items_per_page.unwrap_or(got).max(got);
            let next_cursor = (got > 0 && next <= list.total_results).then(|| next.to_string());
            Ok(Page::of(items, next_cursor))
        })
    }

    fn list_credentials(&self, _cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(async { Ok(Page::of(Vec::new(), None)) })
    }

    fn revoke<'a>(&'a self, _e: &'a str, _a: &'a str, _r: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move { Err(ConnectorError::Unsupported { issuer: self.http.issuer.clone(), kind: "scim", what: "revoke credentials" }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn maps_primary_email_status_and_department() {
        let u: ScimUser = serde_json::from_value(serde_json::json!({
            "userName": "ana", "active": false,
            "name": {"givenName": "Ana", "familyName": "Silva"},
            "emails": [{"value": "other@acme.test"}, {"value": "Ana.Silva@ACME.test", "primary": true}],
            "meta": {"lastModified": "2026-11-20T10:00:00Z"},
            ENTERPRISE: {"department": "payments\u{1b}[31m"}
        }))
        .expect("user");
        let o = map_user("dir", &u).expect("maps");
        assert_eq!(o.email, "ana.silva@acme.test");
        assert_eq!(o.name.as_deref(), Some("Ana Silva"));
        assert_eq!(o.status, OwnerStatus::Offboarded);
        assert_eq!(o.team.as_deref(), Some("payments[31m"));
        assert!(o.offboarded_at.is_some());
        let no_email: ScimUser = serde_json::from_value(serde_json::json!({"userName": "svc"})).expect("user");
        assert!(map_user("dir", &no_email).is_none(), "no email, no owner to join on");
        let both = with_username_alias(map_user("dir", &u), &u);
        assert_eq!(both.iter().map(|o| o.email.as_str()).collect::<Vec<_>>(), vec!["ana", "ana.silva@acme.test"]);
        assert!(both.iter().all(|o| o.status == OwnerStatus::Offboarded));
        assert_eq!(both.iter().map(|o| o.alias_of.as_deref()).collect::<Vec<_>>(), vec![Some("ana.silva@acme.test"), None], "the login names its person");
        let absent: ScimUser = serde_json::from_value(serde_json::json!({"userName": "bo@acme.test"})).expect("user");
        assert_eq!(map_user("dir", &absent).expect("maps").status, OwnerStatus::Active, "active defaults to true");
    }
}
