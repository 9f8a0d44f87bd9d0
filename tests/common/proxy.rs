//! A counting proxy in front of an issuer (`tokenward issuer serve`): forwards
//! every request, counts the revocations that reach the issuer, and can hold a
//! request so that two processes provably overlap. Shared by the process races
//! on SQLite (sync_outbox_races.rs) and on PostgreSQL (postgres_team.rs).
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// In front of the reference issuer: forwards every request, counts the revocations
/// that reach it per path, and can hold one request so two processes provably overlap.
pub struct Proxy {
    pub upstream: String,
    pub client: reqwest::Client,
    /// POST .../revoke paths that reached the issuer, and how often.
    pub revocations: std::sync::Mutex<BTreeMap<String, usize>>,
    /// Hold the first credentials listing until released (two syncs at once).
    pub hold_listing: std::sync::atomic::AtomicBool,
    pub listing_held: Notify,
    pub release_listing: Notify,
    /// Hold the first revocation until a second is in flight (two outbox retries at once).
    pub hold_revocation: std::sync::atomic::AtomicBool,
    pub revocations_in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
    pub second_revocation: Notify,
}

impl Proxy {
    pub async fn start(upstream: &str) -> (Arc<Proxy>, String) {
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            revocations: Default::default(),
            hold_listing: Default::default(),
            listing_held: Notify::new(),
            release_listing: Notify::new(),
            hold_revocation: Default::default(),
            revocations_in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            second_revocation: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (proxy, url)
    }

    pub fn revocations(&self) -> BTreeMap<String, usize> {
        self.revocations.lock().expect("counts").clone()
    }
}

async fn forward(axum::extract::State(p): axum::extract::State<Arc<Proxy>>, req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let target = format!("{}{}", p.upstream, req.uri().path_and_query().map(|q| q.as_str()).unwrap_or("/"));
    let content_type = req.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.expect("body");
    let revocation = method == reqwest::Method::POST && path.ends_with("/revoke");
    if path == "/v1/credentials" && p.hold_listing.swap(false, Ordering::SeqCst) {
        p.listing_held.notify_one();
        p.release_listing.notified().await;
    }
    if revocation {
        let now = p.revocations_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        p.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if now >= 2 {
            p.second_revocation.notify_one();
        }
        if p.hold_revocation.swap(false, Ordering::SeqCst) {
            // A bound, not a timing assertion: the test then fails on `most_in_flight`.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(60), p.second_revocation.notified()).await;
        }
    }
    let mut upstream = p.client.request(method, target).body(body);
    if let Some(ct) = content_type {
        upstream = upstream.header(reqwest::header::CONTENT_TYPE, ct);
    }
    let answer = upstream.send().await;
    if revocation {
        p.revocations_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    match answer {
        Ok(r) => {
            if revocation && r.status().is_success() {
                *p.revocations.lock().expect("counts").entry(path).or_default() += 1;
            }
            let status = axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
            let ct = r.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            let bytes = r.bytes().await.unwrap_or_default();
            let mut resp = (status, bytes).into_response();
            if let Some(ct) = ct {
                resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, ct);
            }
            resp
        }
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// What the issuer itself lists now, id -> status (read directly, not through tokenward).
pub async fn issuer_statuses(url: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = reqwest::Client::new().get(format!("{url}/v1/credentials")).query(&[("limit", "500")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c.as_str())]);
        }
        let page: serde_json::Value = req.send().await.expect("issuer answers").json().await.expect("json");
        for c in page["items"].as_array().expect("items") {
            out.insert(c["id"].as_str().expect("id").to_string(), c["status"].as_str().expect("status").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}
