//! Protocol v1 over HTTP (axum). State is the lazily generated `Org` plus the
//! changes made through the API: revocations, decided grants, issued credentials.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::org::Org;
use crate::domain::{fingerprint, fmt_ts};
use crate::protocol::{
    ApproveRequest, ApproveResponse, DenyRequest, ErrorBody, Page, RevokeRequest, WireConsent, WireCredential, WireGrant, WireTask,
};

const DEFAULT_LIMIT: u64 = 500;
const MAX_LIMIT: u64 = 1000;

#[derive(Default)]
struct Changes {
    /// Credentials changed through the API (revoked), by id.
    credentials: HashMap<String, WireCredential>,
    /// How many changes were made through the API, and the number of the last
    /// change to each credential (generated or issued): what a delta listing reads.
    seq: u64,
    changed: HashMap<String, u64>,
    /// Credentials issued by approvals, after the generated ones.
    issued: Vec<WireCredential>,
    /// Grants whose status changed, by id.
    grants: HashMap<String, WireGrant>,
}

pub struct IssuerState {
    org: Org,
    token: Option<String>,
    changes: Mutex<Changes>,
    /// This process's changes are its own: a watermark names the process it came from.
    instance: u64,
}

impl Changes {
    /// Credential `id` changed through the API now.
    fn touch(&mut self, id: &str) {
        self.seq += 1;
        self.changed.insert(id.to_string(), self.seq);
    }
}

/// Where a reference issuer stood: its organisation's generation and how many API
/// changes of which process it had made (`ref1:SEED:N:AT:CHURN:INSTANCE:SEQ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Watermark {
    generation: (u64, u64, i64, u64),
    instance: u64,
    seq: u64,
}

impl Watermark {
    fn parse(s: &str) -> Option<Watermark> {
        let mut parts = s.strip_prefix("ref1:")?.split(':').map(|p| p.parse::<i64>().ok());
        let mut next = || parts.next().flatten();
        let generation = (next()? as u64, next()? as u64, next()?, next()? as u64);
        let (instance, seq) = (next()? as u64, next()? as u64);
        Some(Watermark { generation, instance, seq })
    }

    fn to_text(self) -> String {
        let (seed, n, at, churn) = self.generation;
        format!("ref1:{seed}:{n}:{at}:{churn}:{}:{}", self.instance as i64, self.seq as i64)
    }
}

impl IssuerState {
    pub fn new(org: Org, token: Option<String>) -> IssuerState {
        let instance = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) & (i64::MAX as u64);
        IssuerState { org, token, changes: Mutex::new(Changes::default()), instance }
    }

    fn watermark(&self) -> Watermark {
        Watermark { generation: self.org.generation(), instance: self.instance, seq: self.changes().seq }
    }

    /// What changed after `since`, by index: `None` when `since` is not a position
    /// of this organisation (another seed, size or moment, or another process's
    /// changes), which only a full listing answers.
    fn changed_since(&self, since: &Watermark) -> Option<impl Fn(u64) -> bool + '_> {
        let (seed, n, at, churn) = self.org.generation();
        if (since.generation.0, since.generation.1, since.generation.2) != (seed, n, at) || (since.instance != self.instance && since.seq > 0) {
            return None;
        }
        // Another churn: what either one used again changed.
        let then = (since.generation.3 != churn).then(|| self.org.clone().churned(since.generation.3));
        let after = if since.instance == self.instance { since.seq } else { 0 };
        Some(move |i: u64| {
            let generated = i < self.org.len() && then.as_ref().is_some_and(|then| self.org.is_churned(i) || then.is_churned(i));
            generated || self.id_at(i).is_some_and(|id| self.changes().changed.get(&id).is_some_and(|seq| *seq > after))
        })
    }

    fn id_at(&self, i: u64) -> Option<String> {
        if i < self.org.len() {
            return Some(Org::credential_id(i));
        }
        self.changes().issued.get((i - self.org.len()) as usize).map(|c| c.id.clone())
    }

    fn changes(&self) -> MutexGuard<'_, Changes> {
        // A panic while holding the lock cannot leave Changes half-written: every write is one insert.
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn index_of(&self, id: &str) -> Option<u64> {
        id.strip_prefix("cred-").and_then(|n| n.parse::<u64>().ok()).filter(|n| *n < self.org.len())
    }

    /// The current state of a credential, generated or issued, with changes applied.
    pub fn credential_by_id(&self, id: &str) -> Option<WireCredential> {
        let changes = self.changes();
        if let Some(c) = changes.credentials.get(id) {
            return Some(c.clone());
        }
        if let Some(c) = changes.issued.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        drop(changes);
        self.index_of(id).map(|i| self.org.credential(i))
    }

    pub fn grant(&self, id: &str) -> Option<WireGrant> {
        if let Some(g) = self.changes().grants.get(id) {
            return Some(g.clone());
        }
        let n = id.strip_prefix("grant-")?.parse::<u64>().ok()?;
        (n < self.org.grant_count()).then(|| self.org.grant(n))
    }

    fn total(&self) -> u64 {
        self.org.len() + self.changes().issued.len() as u64
    }

    fn credential_at(&self, i: u64) -> Option<WireCredential> {
        if i < self.org.len() {
            let id = Org::credential_id(i);
            if let Some(c) = self.changes().credentials.get(&id) {
                return Some(c.clone());
            }
            return Some(self.org.credential(i));
        }
        let changes = self.changes();
        let c = changes.issued.get((i - self.org.len()) as usize)?;
        Some(changes.credentials.get(&c.id).cloned().unwrap_or_else(|| c.clone()))
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(ErrorBody { error: message.into() })).into_response()
}

#[derive(Deserialize)]
struct PageParams {
    cursor: Option<String>,
    limit: Option<u64>,
    /// Delta listings: only what changed after this watermark.
    since: Option<String>,
}

/// How many credentials one delta page looks at, at most, for changed ones.
const DELTA_SCAN: u64 = 100_000;

// The error is the HTTP answer itself, returned early from a handler: its size does not matter.
#[allow(clippy::result_large_err)]
fn parse_page(p: &PageParams) -> Result<(u64, u64), Response> {
    let start = match &p.cursor {
        None => 0,
        Some(c) => c.parse::<u64>().map_err(|_| error(StatusCode::BAD_REQUEST, format!("bad cursor '{c}'")))?,
    };
    Ok((start, p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)))
}

async fn list_credentials(State(s): State<Arc<IssuerState>>, Query(p): Query<PageParams>) -> Response {
    let (start, limit) = match parse_page(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let total = s.total();
    // The position before this listing, on its first page.
    let watermark = p.cursor.is_none().then(|| s.watermark().to_text());
    let since = p.since.as_deref().and_then(Watermark::parse);
    if let Some(changed) = since.as_ref().and_then(|w| s.changed_since(w)) {
        let mut items = Vec::new();
        let mut i = start;
        while i < total && i < start + DELTA_SCAN && (items.len() as u64) < limit {
            if changed(i) {
                items.extend(s.credential_at(i));
            }
            i += 1;
        }
        // Nothing is ever deleted here: a delta page has no tombstones.
        let page = Page { watermark, delta: true, ..Page::new(items, (i < total).then(|| i.to_string())) };
        return Json(page).into_response();
    }
    let end = (start + limit).min(total);
    let items: Vec<WireCredential> = (start..end).filter_map(|i| s.credential_at(i)).collect();
    let next_cursor = (end < total).then(|| end.to_string());
    Json(Page { watermark, ..Page::new(items, next_cursor) }).into_response()
}

async fn list_owners(State(s): State<Arc<IssuerState>>, Query(p): Query<PageParams>) -> Response {
    let (start, limit) = match parse_page(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let owners = s.org.owners();
    let total = owners.len() as u64;
    let end = (start + limit).min(total);
    let items = owners.into_iter().skip(start as usize).take((end.saturating_sub(start)) as usize).collect();
    Json(Page::new(items, (end < total).then(|| end.to_string()))).into_response()
}

#[derive(Deserialize)]
struct GrantParams {
    status: Option<String>,
}

async fn list_grants(State(s): State<Arc<IssuerState>>, Query(p): Query<GrantParams>) -> Response {
    let items: Vec<WireGrant> = (0..s.org.grant_count())
        .filter_map(|g| s.grant(&format!("grant-{g:04}")))
        .filter(|g| p.status.as_deref().is_none_or(|st| g.status == st))
        .collect();
    Json(Page::new(items, None)).into_response()
}

/// A change to one credential: the body must parse, carry a reason, and name a credential we hold.
#[allow(clippy::result_large_err)]
fn credential_change<T>(s: &IssuerState, id: &str, body: Result<Json<T>, axum::extract::rejection::JsonRejection>, reason: impl Fn(&T) -> &str) -> Result<(T, WireCredential), Response> {
    let Json(req) = body.map_err(|e| error(StatusCode::BAD_REQUEST, e.body_text()))?;
    if reason(&req).trim().is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, "reason is required"));
    }
    let c = s.credential_by_id(id).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no credential {id}")))?;
    Ok((req, c))
}

async fn revoke(State(s): State<Arc<IssuerState>>, Path(id): Path<String>, body: Result<Json<RevokeRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let (req, mut c) = match credential_change(&s, &id, body, |r| &r.reason) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if c.status != "revoked" {
        c.status = "revoked".into();
        c.consent.push(WireConsent { at: fmt_ts(&Utc::now()), actor: req.actor, action: "revoke".into(), scopes: Vec::new(), note: Some(req.reason) });
        let mut changes = s.changes();
        changes.credentials.insert(id.clone(), c);
        changes.touch(&id);
    }
    Json(serde_json::json!({"id": id, "status": "revoked"})).into_response()
}

async fn update(State(s): State<Arc<IssuerState>>, Path(id): Path<String>, body: Result<Json<crate::protocol::UpdateRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let (req, mut c) = match credential_change(&s, &id, body, |r| &r.reason) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if c.status != "active" {
        return error(StatusCode::CONFLICT, format!("credential is {}, not active", c.status));
    }
    let now = fmt_ts(&Utc::now());
    if let Some(scopes) = &req.scopes {
        if scopes.is_empty() || scopes.iter().any(|x| !c.scopes.contains(x)) {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "scopes may only be reduced to a non-empty subset of those held");
        }
        c.scopes = scopes.clone();
        c.consent.push(WireConsent { at: now.clone(), actor: req.actor.clone(), action: "scope_change".into(), scopes: scopes.clone(), note: Some(req.reason.clone()) });
    }
    if let Some(exp) = &req.expires_at {
        let Some(new) = crate::domain::parse_ts(exp) else { return error(StatusCode::BAD_REQUEST, format!("expires_at '{exp}' is not RFC 3339")) };
        let earlier = c.expires_at.as_deref().and_then(crate::domain::parse_ts).is_none_or(|old| new < old);
        if !earlier || new <= Utc::now() {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "expires_at may only move earlier, and not into the past");
        }
        c.expires_at = Some(fmt_ts(&new));
        c.consent.push(WireConsent { at: now.clone(), actor: req.actor.clone(), action: "renew".into(), scopes: Vec::new(), note: Some(format!("shortened: {}", req.reason)) });
    }
    if let Some(owner) = &req.owner {
        c.owner = Some(owner.trim().to_lowercase());
    }
    let mut changes = s.changes();
    changes.credentials.insert(id.clone(), c.clone());
    changes.touch(&id);
    Json(c).into_response()
}

async fn approve(State(s): State<Arc<IssuerState>>, Path(id): Path<String>, body: Result<Json<ApproveRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    // One lock for check-and-set, so two approvers racing get one 200 and one 409.
    let Some(grant) = s.grant(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no grant {id}"));
    };
    let mut changes = s.changes();
    let grant = changes.grants.get(&id).cloned().unwrap_or(grant);
    if grant.status != "pending" {
        return error(StatusCode::CONFLICT, format!("grant is {}, not pending", grant.status));
    }
    if req.scopes.is_empty() || req.scopes.iter().any(|sc| !grant.scopes.contains(sc)) {
        return error(StatusCode::BAD_REQUEST, "scopes must be a non-empty subset of those asked");
    }
    if req.binding.as_deref().is_some_and(|b| !["bearer", "dpop", "mtls"].contains(&b)) {
        return error(StatusCode::BAD_REQUEST, "binding must be bearer, dpop or mtls");
    }
    if req.ttl_seconds <= 0 || req.ttl_seconds > grant.ttl_seconds {
        return error(StatusCode::BAD_REQUEST, format!("ttl_seconds must be 1..={}", grant.ttl_seconds));
    }
    let now = Utc::now();
    let n = s.org.len() + changes.issued.len() as u64;
    let cred_id = Org::credential_id(n);
    let secret = format!("twk_issued_{n}_{}", fmt_ts(&now));
    let credential = WireCredential {
        id: cred_id.clone(),
        kind: "access_token".into(),
        fingerprint: Some(fingerprint(secret.as_bytes())),
        client_id: grant.workload.clone(),
        subject: grant.workload.clone(),
        workload: grant.workload.clone(),
        owner: grant.requested_by.clone(),
        scopes: req.scopes.clone(),
        audience: grant.audience.clone(),
        binding: req.binding.clone().unwrap_or_else(|| grant.binding.clone()),
        issued_at: Some(fmt_ts(&now)),
        expires_at: Some(fmt_ts(&(now + Duration::seconds(req.ttl_seconds)))),
        last_used_at: None,
        status: "active".into(),
        task: Some(WireTask { id: format!("task-{id}"), intent: grant.intent.clone(), ended_at: None }),
        parent_id: None,
        act_chain: Vec::new(),
        consent: vec![
            WireConsent {
                at: grant.requested_at.clone().unwrap_or_else(|| fmt_ts(&now)),
                actor: grant.requested_by.clone().unwrap_or_default(),
                action: "request".into(),
                scopes: grant.scopes.clone(),
                note: grant.intent.clone(),
            },
            WireConsent { at: fmt_ts(&now), actor: req.approver.clone(), action: "approve".into(), scopes: req.scopes.clone(), note: Some(req.justification.clone()) },
        ],
        usage: Vec::new(),
    };
    let mut decided = grant;
    decided.status = "approved".into();
    changes.touch(&credential.id);
    changes.issued.push(credential);
    changes.grants.insert(id, decided.clone());
    Json(ApproveResponse { grant: decided, credential_id: cred_id }).into_response()
}

async fn deny(State(s): State<Arc<IssuerState>>, Path(id): Path<String>, body: Result<Json<DenyRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(_req) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let Some(grant) = s.grant(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no grant {id}"));
    };
    let mut changes = s.changes();
    let mut grant = changes.grants.get(&id).cloned().unwrap_or(grant);
    if grant.status != "pending" {
        return error(StatusCode::CONFLICT, format!("grant is {}, not pending", grant.status));
    }
    grant.status = "denied".into();
    changes.grants.insert(id, grant.clone());
    Json(grant).into_response()
}

async fn auth(State(s): State<Arc<IssuerState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let ok = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t == token);
        if !ok {
            return error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
    }
    next.run(req).await
}

pub fn router(state: Arc<IssuerState>) -> Router {
    Router::new()
        .route("/v1/credentials", get(list_credentials))
        .route("/v1/owners", get(list_owners))
        .route("/v1/grants", get(list_grants))
        .route("/v1/grants/{id}/approve", post(approve))
        .route("/v1/grants/{id}/deny", post(deny))
        .route("/v1/credentials/{id}/revoke", post(revoke))
        .route("/v1/credentials/{id}/update", post(update))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

pub struct RunningIssuer {
    pub addr: SocketAddr,
    pub state: Arc<IssuerState>,
}

impl RunningIssuer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds (use port 0 for a free one) and serves in the background.
pub async fn spawn(listen: &str, org: Org, token: Option<String>) -> std::io::Result<RunningIssuer> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(IssuerState::new(org, token));
    let app = router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RunningIssuer { addr, state })
}

/// `tokenward issuer serve`: announces its address on stderr, serves until ctrl-c.
pub async fn serve_forever(listen: &str, org: Org, token: Option<String>) -> std::io::Result<()> {
    let (n, grants) = (org.len(), org.grant_count());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    eprintln!("tokenward reference issuer listening on http://{addr} ({n} credentials, {grants} pending grants)");
    let app = router(Arc::new(IssuerState::new(org, token)));
    axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn org(n: u64) -> Org {
        Org::new(n, 5, Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().expect("time"))
    }

    async fn start(n: u64, token: Option<&str>) -> (RunningIssuer, reqwest::Client) {
        (spawn("127.0.0.1:0", org(n), token.map(str::to_string)).await.expect("binds"), reqwest::Client::new())
    }

    #[tokio::test]
    async fn pages_cover_every_credential_once() {
        let (issuer, client) = start(2345, None).await;
        let mut ids = std::collections::BTreeSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut req = client.get(format!("{}/v1/credentials", issuer.url())).query(&[("limit", "1000")]);
            if let Some(c) = &cursor {
                req = req.query(&[("cursor", c)]);
            }
            let page: Page<WireCredential> = req.send().await.expect("answers").json().await.expect("json");
            pages += 1;
            ids.extend(page.items.into_iter().map(|c| c.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!((ids.len(), pages), (2345, 3));
        let bad = client.get(format!("{}/v1/credentials?cursor=abc", issuer.url())).send().await.expect("answers");
        assert_eq!(bad.status(), 400);
    }

    #[tokio::test]
    async fn revoke_is_idempotent_and_visible() {
        let (issuer, client) = start(50, None).await;
        let url = format!("{}/v1/credentials/cred-0000003/revoke", issuer.url());
        for _ in 0..2 {
            let r = client.post(&url).json(&RevokeRequest { actor: "sec".into(), reason: "leak".into() }).send().await.expect("answers");
            assert_eq!(r.status(), 200);
        }
        let c = issuer.state.credential_by_id("cred-0000003").expect("exists");
        assert_eq!(c.status, "revoked");
        assert_eq!(c.consent.iter().filter(|e| e.action == "revoke" && e.actor == "sec").count(), 1);
        let r = client.post(&url).json(&RevokeRequest { actor: "sec".into(), reason: " ".into() }).send().await.expect("answers");
        assert_eq!(r.status(), 400);
        let r = client.post(format!("{}/v1/credentials/nope/revoke", issuer.url())).json(&RevokeRequest { actor: "s".into(), reason: "r".into() }).send().await.expect("answers");
        assert_eq!(r.status(), 404);
    }

    #[tokio::test]
    async fn approve_narrower_issues_exactly_that_and_only_once() {
        let (issuer, client) = start(50, None).await;
        let g = issuer.state.grant("grant-0001").expect("grant");
        let url = format!("{}/v1/grants/grant-0001/approve", issuer.url());
        let wider = ApproveRequest { approver: "a".into(), scopes: vec!["made:up".into()], ttl_seconds: 60, justification: "j".into(), binding: None };
        assert_eq!(client.post(&url).json(&wider).send().await.expect("answers").status(), 400);
        let longer = ApproveRequest { approver: "a".into(), scopes: vec![g.scopes[0].clone()], ttl_seconds: g.ttl_seconds + 1, justification: "j".into(), binding: None };
        assert_eq!(client.post(&url).json(&longer).send().await.expect("answers").status(), 400);
        let ok = ApproveRequest { approver: "a@acme.test".into(), scopes: vec![g.scopes[0].clone()], ttl_seconds: 120, justification: "task".into(), binding: None };
        let r = client.post(&url).json(&ok).send().await.expect("answers");
        assert_eq!(r.status(), 200);
        let body: ApproveResponse = r.json().await.expect("json");
        let c = issuer.state.credential_by_id(&body.credential_id).expect("issued");
        assert_eq!(c.scopes, vec![g.scopes[0].clone()]);
        let ttl = crate::domain::parse_ts(c.expires_at.as_deref().expect("exp")).expect("ts") - crate::domain::parse_ts(c.issued_at.as_deref().expect("iat")).expect("ts");
        assert_eq!(ttl.num_seconds(), 120);
        assert!(c.consent.iter().any(|e| e.action == "approve" && e.actor == "a@acme.test"));
        assert_eq!(client.post(&url).json(&ok).send().await.expect("answers").status(), 409);
        let deny = format!("{}/v1/grants/grant-0002/deny", issuer.url());
        assert_eq!(client.post(&deny).json(&DenyRequest { approver: "a".into(), reason: "no".into() }).send().await.expect("answers").status(), 200);
        let approve2 = format!("{}/v1/grants/grant-0002/approve", issuer.url());
        assert_eq!(client.post(&approve2).json(&ok).send().await.expect("answers").status(), 409);
        let pending: Page<WireGrant> = client.get(format!("{}/v1/grants?status=pending", issuer.url())).send().await.expect("a").json().await.expect("json");
        assert_eq!(pending.items.len() as u64, org(50).grant_count() - 2);
    }

    #[tokio::test]
    async fn a_token_is_required_when_set() {
        let (issuer, client) = start(10, Some("t0k")).await;
        let url = format!("{}/v1/credentials", issuer.url());
        assert_eq!(client.get(&url).send().await.expect("answers").status(), 401);
        assert_eq!(client.get(&url).bearer_auth("wrong").send().await.expect("answers").status(), 401);
        assert_eq!(client.get(&url).bearer_auth("t0k").send().await.expect("answers").status(), 200);
    }
}
