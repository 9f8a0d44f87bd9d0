//! Inventory protocol v1 (docs/protocol.md): tokenward's own JSON protocol for
//! brokers and issuers that have no other API.
use futures_util::future::BoxFuture;
use serde_json::value::RawValue;

use super::http::HttpClient;
use super::connector::{Capabilities, Connector, ConnectorError, HttpSettings, Page, Rejection, Result};
use crate::domain::{
    consent_action, fmt_ts, parse_ts, text, Binding, ConsentEvent, Credential, CredentialChange, CredentialKind, CredentialStatus, Grant, GrantStatus, IssuerAnswer,
    IssuerKind, Owner, OwnerStatus, Task, Timestamp, UsageEvent,
};
use crate::protocol::{self, WireCredential, WireGrant, WireOwner};

/// Bounds on what one credential may carry; beyond them the record is rejected.
const MAX_LIST: usize = 256;
/// Most tombstones one delta page may carry, and the longest watermark kept.
const MAX_REMOVED: usize = 10_000;
const MAX_WATERMARK: usize = 512;
/// Longest string an issuer may send in any field (kept fields are capped far shorter):
/// beyond it the record is hostile, not merely long.
pub const MAX_RAW_STRING: usize = 16 * 1024;
/// Longest grant an issuer may ask for: ten years.
pub const MAX_TTL_SECONDS: i64 = 10 * 366 * 86_400;

pub struct ProtocolV1 {
    http: HttpClient,
    /// Grants the last listing refused, until the sync takes them for its report.
    rejected_grants: std::sync::Mutex<Vec<Rejection>>,
}

impl ProtocolV1 {
    pub fn new(name: &str, settings: HttpSettings) -> Result<Self> {
        Ok(ProtocolV1 { http: HttpClient::new(name, settings)?, rejected_grants: Default::default() })
    }

    fn malformed(&self, message: String) -> ConnectorError {
        ConnectorError::Malformed { issuer: self.http.issuer.clone(), message: text::clean(&message, 300) }
    }

    /// A page of credentials: all of them, or (`since`) only what changed after a watermark.
    async fn credentials(&self, cursor: Option<String>, since: Option<String>) -> Result<Page<Credential>> {
        let mut query = self.page_query(&cursor);
        query.extend(since.map(|s| ("since", s)));
        let req = self.http.client.get(self.http.url("/v1/credentials")).query(&query);
        let (_, page) = self.http.send_json::<protocol::Page<Box<RawValue>>>(req).await?;
        if page.next_cursor.is_some() && page.next_cursor == cursor {
            return Err(self.malformed("next_cursor repeats the cursor asked for: the issuer would loop".into()));
        }
        if page.removed.len() > MAX_REMOVED {
            return Err(self.malformed(format!("a page lists {} removed credentials (at most {MAX_REMOVED})", page.removed.len())));
        }
        let (items, rejected) = decode_each(page.items, "id", |w: WireCredential| map_credential(&self.http.issuer, w));
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
            rejected,
            watermark: page.watermark.map(|w| text::clean(&w, MAX_WATERMARK)),
            delta: page.delta,
            removed: page.removed.iter().map(|id| text::clean(id, 256)).collect(),
        })
    }

    fn page_query(&self, cursor: &Option<String>) -> Vec<(&'static str, String)> {
        let mut q = vec![("limit", self.http.settings.page_size.to_string())];
        if let Some(c) = cursor {
            q.push(("cursor", c.clone()));
        }
        q
    }
}

impl Connector for ProtocolV1 {
    fn name(&self) -> &str {
        &self.http.issuer
    }

    fn kind(&self) -> IssuerKind {
        IssuerKind::Tokenward
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { owners: true, credentials: true, grants: true, revoke: true, narrow: true, delta: true, ..Capabilities::default() }
    }

    fn list_owners(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Owner>>> {
        Box::pin(async move {
            let req = self.http.client.get(self.http.url("/v1/owners")).query(&self.page_query(&cursor));
            let (_, page) = match self.http.send_json::<protocol::Page<Box<RawValue>>>(req).await {
                // The owners listing is an optional extension: a broker without it has no people.
                Err(ConnectorError::Rejected { status: 404, .. }) => return Ok(Page::of(Vec::new(), None)),
                other => other?,
            };
            let (items, rejected) = decode_each(page.items, "email", |w: WireOwner| map_owner(&self.http.issuer, w));
            Ok(Page::with_rejected(items, page.next_cursor, rejected))
        })
    }

    fn list_credentials(&self, cursor: Option<String>) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(self.credentials(cursor, None))
    }

    fn list_changed_credentials(&self, cursor: Option<String>, since: String) -> BoxFuture<'_, Result<Page<Credential>>> {
        Box::pin(self.credentials(cursor, Some(since)))
    }

    fn list_grants(&self) -> BoxFuture<'_, Result<Vec<Grant>>> {
        Box::pin(async move {
            let req = self.http.client.get(self.http.url("/v1/grants")).query(&[("status", "pending")]);
            let (_, page) = self.http.send_json::<protocol::Page<Box<RawValue>>>(req).await?;
            let (items, rejected) = decode_each(page.items, "id", |w: WireGrant| map_grant(&self.http.issuer, w));
            if let Ok(mut last) = self.rejected_grants.lock() {
                *last = rejected;
            }
            Ok(items)
        })
    }

    fn take_rejected(&self) -> Vec<Rejection> {
        self.rejected_grants.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }

    fn approve<'a>(&'a self, d: &'a super::connector::Approval) -> BoxFuture<'a, Result<super::connector::ApprovalAnswer>> {
        Box::pin(async move {
            let path = format!("/v1/grants/{}/approve", url_segment(&d.external_id));
            let body = protocol::ApproveRequest {
                approver: d.approver.clone(),
                scopes: d.scopes.clone(),
                ttl_seconds: d.ttl_seconds,
                justification: d.justification.clone(),
                binding: Some(d.binding.as_str().to_string()),
            };
            let (status, body) = self.http.send(self.http.client.post(self.http.url(&path)).json(&body)).await?;
            let parsed: Option<protocol::ApproveResponse> = serde_json::from_slice(&body).ok();
            Ok(super::connector::ApprovalAnswer {
                credential_external_id: parsed.map(|p| text::clean(&p.credential_id, 200)),
                answer: IssuerAnswer::from_body(status, &body),
            })
        })
    }

    fn deny<'a>(&'a self, external_id: &'a str, approver: &'a str, reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let path = format!("/v1/grants/{}/deny", url_segment(external_id));
            self.post(&path, &protocol::DenyRequest { approver: approver.to_string(), reason: reason.to_string() }).await
        })
    }

    fn update<'a>(&'a self, external_id: &'a str, change: &'a CredentialChange) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let body = protocol::UpdateRequest {
                actor: change.actor.clone(),
                reason: change.reason.clone(),
                owner: change.owner.clone(),
                scopes: change.scopes.clone(),
                expires_at: change.expires_at.as_ref().map(fmt_ts),
            };
            self.post(&format!("/v1/credentials/{}/update", url_segment(external_id)), &body).await
        })
    }

    fn revoke<'a>(&'a self, external_id: &'a str, actor: &'a str, reason: &'a str) -> BoxFuture<'a, Result<IssuerAnswer>> {
        Box::pin(async move {
            let path = format!("/v1/credentials/{}/revoke", url_segment(external_id));
            self.post(&path, &protocol::RevokeRequest { actor: actor.to_string(), reason: reason.to_string() }).await
        })
    }
}

impl ProtocolV1 {
    /// POSTs a JSON body; the issuer's answer comes back cleaned and capped.
    async fn post<B: serde::Serialize>(&self, path: &str, body: &B) -> Result<IssuerAnswer> {
        let (status, body) = self.http.send(self.http.client.post(self.http.url(path)).json(body)).await?;
        Ok(IssuerAnswer::from_body(status, &body))
    }
}

/// Percent-encodes everything but unreserved characters: ids are issuer data.
pub fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes and maps each record on its own: one that fails is rejected with its
/// id (read from `id_field`, when it is a string) and the reason, the rest stand.
/// Records arrive as raw JSON text and are decoded straight into their wire type;
/// only a failing or oversized record is parsed into a tree, to name the id and the culprit.
fn decode_each<W, T>(records: Vec<Box<RawValue>>, id_field: &str, map: impl Fn(W) -> std::result::Result<T, String>) -> (Vec<T>, Vec<Rejection>)
where
    W: serde::de::DeserializeOwned,
{
    let mut items = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for raw in records {
        match decode_one(&raw).and_then(&map) {
            Ok(item) => items.push(item),
            Err(reason) => {
                let value: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
                let id = value.get(id_field).and_then(|v| v.as_str()).map(|s| text::clean(s, 200)).filter(|s| !s.is_empty());
                // The mappers name the record ("credential ID: ..."); the rejection carries the id already.
                let reason = id.as_ref().and_then(|id| reason.split_once(&format!(" {id}: ")).filter(|(kind, _)| !kind.contains(' '))).map_or(reason.as_str(), |(_, r)| r);
                rejected.push(Rejection { id, reason: text::clean(reason, 300) });
            }
        }
    }
    (items, rejected)
}

fn decode_one<W: serde::de::DeserializeOwned>(raw: &RawValue) -> std::result::Result<W, String> {
    let text = raw.get();
    // A record no longer than the cap cannot hold a longer string; a longer one is searched for it.
    if !text.starts_with('{') || text.len() > MAX_RAW_STRING {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !value.is_object() {
            return Err(format!("not a JSON object but {}", json_kind(&value)));
        }
        if let Some((path, len)) = oversize(&value, "") {
            return Err(format!("{path} is {len} bytes (at most {MAX_RAW_STRING})"));
        }
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." { inner } else { format!("{path}: {inner}") }
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The path and size of the first string (or key) longer than `MAX_RAW_STRING`.
fn oversize(v: &serde_json::Value, at: &str) -> Option<(String, usize)> {
    match v {
        serde_json::Value::String(s) if s.len() > MAX_RAW_STRING => Some((if at.is_empty() { "a value".into() } else { at.to_string() }, s.len())),
        serde_json::Value::Array(a) => a.iter().enumerate().find_map(|(n, x)| oversize(x, &format!("{at}[{n}]"))),
        serde_json::Value::Object(o) => o.iter().find_map(|(k, x)| {
            if k.len() > MAX_RAW_STRING {
                return Some(("a field name".into(), k.len()));
            }
            let here = if at.is_empty() { text::clean(k, 40) } else { format!("{at}.{}", text::clean(k, 40)) };
            oversize(x, &here)
        }),
        _ => None,
    }
}

fn clean_opt(s: Option<String>) -> Option<String> {
    s.map(|s| text::clean_field(&s)).filter(|s| !s.is_empty())
}

fn clean_list(field: &str, v: Vec<String>) -> std::result::Result<Vec<String>, String> {
    if v.len() > MAX_LIST {
        return Err(format!("{field} has {} entries (at most {MAX_LIST})", v.len()));
    }
    // Scopes and audiences are space-separated in the store, as in OAuth.
    Ok(v.iter().map(|s| text::clean(s, 256).replace(char::is_whitespace, "_")).filter(|s| !s.is_empty()).collect())
}

fn ts(field: &str, s: Option<String>) -> std::result::Result<Option<Timestamp>, String> {
    match s {
        None => Ok(None),
        Some(s) => match parse_ts(&s) {
            Some(t) if in_time_range(&t) => Ok(Some(t)),
            Some(_) => Err(format!("{field} is out of range (1970 to 9999): {}", text::clean(&s, 40))),
            None => Err(format!("{field} is not an RFC 3339 time: {}", text::clean(&s, 40))),
        },
    }
}

/// Times an issuer may send: from 1970 to the end of year 9999 in UTC (an offset
/// can push a year-9999 time past what the store's fixed format orders correctly).
fn in_time_range(t: &Timestamp) -> bool {
    let (min, max) = (chrono::DateTime::UNIX_EPOCH, parse_ts("9999-12-31T23:59:59Z"));
    *t >= min && max.is_some_and(|max| *t <= max)
}

fn req_ts(field: &str, s: String) -> std::result::Result<Timestamp, String> {
    ts(field, Some(s))?.ok_or_else(|| format!("{field} missing"))
}

pub fn map_credential(issuer: &str, w: WireCredential) -> std::result::Result<Credential, String> {
    let external_id = text::clean(&w.id, 200);
    if external_id.is_empty() {
        return Err("a credential has an empty id".into());
    }
    let ctx = |m: String| format!("credential {external_id}: {m}");
    let kind = CredentialKind::parse(&w.kind).ok_or_else(|| ctx(format!("unknown kind '{}'", text::clean(&w.kind, 40))))?;
    let binding = Binding::parse(&w.binding).ok_or_else(|| ctx(format!("unknown binding '{}'", text::clean(&w.binding, 40))))?;
    let status = CredentialStatus::parse(&w.status)
        .filter(|s| *s != CredentialStatus::Gone)
        .ok_or_else(|| ctx(format!("unknown status '{}'", text::clean(&w.status, 40))))?;
    if w.consent.len() > MAX_LIST || w.usage.len() > MAX_LIST || w.act_chain.len() > 32 {
        return Err(ctx("too many consent, usage or delegation entries".into()));
    }
    let fingerprint = match w.fingerprint {
        Some(f) if is_fingerprint(&f) => Some(f.to_ascii_lowercase()),
        Some(f) => return Err(ctx(format!("fingerprint is not sha256:<64 hex>: {}", text::clean(&f, 20)))),
        None => None,
    };
    let task = match w.task {
        Some(t) => Some(Task {
            id: text::clean(&t.id, 200),
            intent: clean_opt(t.intent),
            ended_at: ts("task.ended_at", t.ended_at).map_err(ctx)?,
        }),
        None => None,
    };
    let consent = w
        .consent
        .into_iter()
        .map(|e| {
            Ok(ConsentEvent {
                at: req_ts("consent.at", e.at)?,
                actor: text::clean_field(&e.actor),
                // Known words become the canonical one the findings read; others are kept as written, and counted by the sync.
                action: consent_action(&e.action).map_or_else(|| text::clean(&e.action, 40), |a| a.as_str().to_string()),
                scopes: clean_list("consent.scopes", e.scopes)?,
                note: clean_opt(e.note),
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(ctx)?;
    let usage = w
        .usage
        .into_iter()
        .map(|u| Ok(UsageEvent { at: req_ts("usage.at", u.at)?, workload: clean_opt(u.workload), origin: clean_opt(u.origin) }))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(ctx)?;
    Ok(Credential {
        id: Credential::local_id(issuer, &external_id),
        issuer: issuer.to_string(),
        kind,
        fingerprint,
        client_id: clean_opt(w.client_id),
        subject: clean_opt(w.subject),
        workload: clean_opt(w.workload),
        // Lower-cased before the cap: lower-casing can lengthen a string (İ is two chars).
        owner: clean_opt(w.owner.map(|o| o.to_lowercase())),
        scopes: clean_list("scopes", w.scopes).map_err(ctx)?,
        audience: clean_list("audience", w.audience).map_err(ctx)?,
        binding,
        issued_at: ts("issued_at", w.issued_at).map_err(ctx)?,
        expires_at: ts("expires_at", w.expires_at).map_err(ctx)?,
        last_used_at: ts("last_used_at", w.last_used_at).map_err(ctx)?,
        status,
        task,
        parent_id: w.parent_id.map(|p| Credential::local_id(issuer, &text::clean(&p, 200))),
        act_chain: w.act_chain.iter().map(|a| text::clean_field(a)).collect(),
        consent,
        usage,
        external_id,
    })
}

fn is_fingerprint(f: &str) -> bool {
    f.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn map_owner(issuer: &str, o: WireOwner) -> std::result::Result<Owner, String> {
    let email = text::clean(&o.email.to_lowercase(), 254);
    if email.is_empty() {
        return Err("an owner has an empty email".into());
    }
    let status = match o.status.as_str() {
        "active" => OwnerStatus::Active,
        "offboarded" | "inactive" => OwnerStatus::Offboarded,
        other => return Err(format!("owner {email}: unknown status '{}'", text::clean(other, 40))),
    };
    Ok(Owner {
        name: clean_opt(o.name),
        team: clean_opt(o.team),
        status,
        source: Some(issuer.to_string()),
        offboarded_at: ts("offboarded_at", o.offboarded_at).map_err(|m| format!("owner {email}: {m}"))?,
        email,
        alias_of: None,
    })
}

pub fn map_grant(issuer: &str, g: WireGrant) -> std::result::Result<Grant, String> {
    let external_id = text::clean(&g.id, 200);
    let ctx = |m: String| format!("grant {external_id}: {m}");
    Ok(Grant {
        id: Credential::local_id(issuer, &format!("grant/{external_id}")),
        issuer: issuer.to_string(),
        workload: clean_opt(g.workload),
        requested_by: clean_opt(g.requested_by.map(|s| s.to_lowercase())),
        intent: clean_opt(g.intent),
        scopes: clean_list("scopes", g.scopes).map_err(ctx)?,
        audience: clean_list("audience", g.audience).map_err(ctx)?,
        ttl_seconds: match g.ttl_seconds {
            t @ 0..=MAX_TTL_SECONDS => t,
            t => return Err(ctx(format!("ttl_seconds {t} is out of range (0 to {MAX_TTL_SECONDS})"))),
        },
        binding: Binding::parse(&g.binding).ok_or_else(|| ctx(format!("unknown binding '{}'", text::clean(&g.binding, 40))))?,
        requested_at: ts("requested_at", g.requested_at).map_err(ctx)?,
        expires_at: ts("expires_at", g.expires_at).map_err(ctx)?,
        status: GrantStatus::parse(&g.status).ok_or_else(|| ctx(format!("unknown status '{}'", text::clean(&g.status, 40))))?,
        external_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire() -> WireCredential {
        serde_json::from_value(serde_json::json!({
            "id": "cred-1", "kind": "access_token", "binding": "bearer", "status": "active",
            "owner": "Ana.Silva@ACME.test", "scopes": ["repo:read", "repo write"],
            "task": {"id": "t1", "intent": "fix \u{1b}[2Jbug", "ended_at": null},
            "parent_id": "cred-0", "act_chain": ["a", "b"], "future_field": 1
        }))
        .expect("valid wire credential")
    }

    #[test]
    fn maps_and_sanitizes_a_credential() {
        let c = map_credential("broker", wire()).expect("maps");
        assert_eq!(c.owner.as_deref(), Some("ana.silva@acme.test"));
        assert_eq!(c.scopes, vec!["repo:read", "repo_write"]);
        assert_eq!(c.task.as_ref().and_then(|t| t.intent.as_deref()), Some("fix [2Jbug"));
        assert_eq!(c.parent_id, Some(Credential::local_id("broker", "cred-0")));
        assert_eq!(c.id, Credential::local_id("broker", "cred-1"));
    }

    /// Found by tests/properties.rs: lower-casing after the cap let İ (one char,
    /// two lower-cased) push an owner past MAX_FIELD.
    #[test]
    fn lower_cased_fields_stay_within_the_cap() {
        let long = "İ".repeat(text::MAX_FIELD);
        let mut w = wire();
        w.owner = Some(long.clone());
        let owner = map_credential("b", w).expect("maps").owner.unwrap_or_default();
        assert!(owner.chars().count() <= text::MAX_FIELD + 1, "{} chars", owner.chars().count());
        let o = WireOwner { email: long, name: None, team: None, status: "active".into(), offboarded_at: None };
        assert!(map_owner("b", o).expect("maps").email.chars().count() <= 255);
    }

    #[test]
    fn rejects_unknown_enum_values_and_bad_times() {
        let mut w = wire();
        w.kind = "magic".into();
        assert!(map_credential("b", w).unwrap_err().contains("unknown kind 'magic'"));
        let mut w = wire();
        w.expires_at = Some("tomorrow".into());
        assert!(map_credential("b", w).unwrap_err().contains("expires_at is not an RFC 3339"));
        let mut w = wire();
        w.fingerprint = Some("md5:abc".into());
        assert!(map_credential("b", w).is_err());
    }

    #[test]
    fn times_are_bounded_to_what_the_store_orders() {
        let mut w = wire();
        w.issued_at = Some("9999-12-31T23:59:59-05:00".into());
        assert!(map_credential("b", w).unwrap_err().contains("issued_at is out of range"), "an offset past year 9999");
        let mut w = wire();
        w.last_used_at = Some("1969-12-31T23:59:59Z".into());
        assert!(map_credential("b", w).is_err());
        let mut w = wire();
        w.expires_at = Some("9999-12-31T23:59:59Z".into());
        assert!(map_credential("b", w).is_ok(), "a far expiry some issuers write for never");
    }

    #[test]
    fn consent_words_are_normalized_and_unknown_ones_kept() {
        let mut w = wire();
        let event = |action: &str| protocol::WireConsent { at: "2026-01-01T00:00:00Z".into(), actor: "a".into(), action: action.into(), scopes: vec![], note: None };
        w.consent = vec![event("Approved"), event("granted"), event("Scope-Changed"), event("rotated\u{1b}[2J")];
        let actions: Vec<String> = map_credential("b", w).map(|c| c.consent.into_iter().map(|e| e.action).collect()).unwrap_or_default();
        assert_eq!(actions, ["approve", "approve", "scope_change", "rotated[2J"]);
    }

    #[test]
    fn grant_ttl_is_bounded() {
        let grant = |ttl: i64| WireGrant {
            id: "g".into(),
            workload: None,
            requested_by: None,
            intent: None,
            scopes: vec![],
            audience: vec![],
            ttl_seconds: ttl,
            binding: "bearer".into(),
            requested_at: None,
            expires_at: None,
            status: "pending".into(),
        };
        assert_eq!(map_grant("b", grant(3600)).map(|g| g.ttl_seconds), Ok(3600));
        assert!(map_grant("b", grant(MAX_TTL_SECONDS + 1)).is_err());
        assert!(map_grant("b", grant(i64::MAX)).is_err(), "would panic in Duration::seconds on every render");
        assert!(map_grant("b", grant(-1)).is_err());
    }

    #[test]
    fn url_segment_escapes_path_characters() {
        assert_eq!(url_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(url_segment("cred-01_x.y~"), "cred-01_x.y~");
    }
}
