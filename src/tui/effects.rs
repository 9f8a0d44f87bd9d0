//! The one executor of `Effect`s: the terminal loop, the view tests and the
//! bench all run effects here, so each exercises what users get.
use tokio::sync::mpsc;

use super::msg::{Effect, Msg};
use super::views::{owners::OWNERS_PAGE, review::REVIEW_PAGE};

/// Matches a filter counts before the status line shows a number ("10,000+"); the
/// exact count follows. A capped count stops early on a filter that matches many.
pub const COUNT_CAP: i64 = 10_000;

pub use super::job::Env;

/// A progress channel for a long worker, each event forwarded to the UI as a message;
/// await the handle once the worker is done so every event lands before its result.
fn relay<T: Send + 'static>(tx: &mpsc::Sender<Msg>, wrap: fn(T) -> Msg) -> (mpsc::Sender<T>, tokio::task::JoinHandle<()>) {
    let (ptx, mut prx) = mpsc::channel(64);
    let forward = tx.clone();
    let handle = tokio::spawn(async move {
        while let Some(ev) = prx.recv().await {
            let _ = forward.send(wrap(ev)).await;
        }
    });
    (ptx, handle)
}

/// Runs one effect to its replies; progress of a long run goes to `progress` as it happens.
pub async fn execute(effect: Effect, env: &Env, progress: &mpsc::Sender<Msg>) -> Vec<Msg> {
    let store = &env.store;
    let actions = &env.actions;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    match effect {
        Effect::Quit => Vec::new(),
        Effect::Bell => {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07");
            let _ = out.flush();
            Vec::new()
        }
        Effect::Load(job) => {
            let view = job.view;
            vec![Msg::Data { view, data: job.run(env.clone()).await }]
        }
        Effect::LoadPage { generation, landing, page } => {
            let rows = store.page(&page).await.map_err(|e| err(&e));
            vec![Msg::Page { generation, landing, rows }]
        }
        Effect::Count { generation, filter } => {
            // A capped count first, shown at once; the exact one when it arrives.
            match store.count_capped(&filter.query, filter.now, COUNT_CAP).await {
                Ok(n) if n < COUNT_CAP => return vec![Msg::Count { generation, total: Ok(n), at_least: false }],
                Ok(n) => {
                    let _ = progress.send(Msg::Count { generation, total: Ok(n), at_least: true }).await;
                }
                Err(e) => return vec![Msg::Count { generation, total: Err(err(&e)), at_least: false }],
            }
            let total = store.count(&filter.query, filter.now).await.map_err(|e| err(&e));
            vec![Msg::Count { generation, total, at_least: false }]
        }
        Effect::Position { generation, filter, sort, key } => match store.position(&filter.query, filter.now, sort, &key).await {
            Ok(position) => vec![Msg::Position { generation, first_id: key.id, position }],
            Err(_) => Vec::new(),
        },
        Effect::LoadDetail { id } => vec![Msg::Detail(crate::detail::load(store, &id).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::LoadGrants => {
            let g = store.grants(Some(crate::domain::GrantStatus::Pending), 5000).await.map_err(|e| err(&e));
            let mut verdicts = std::collections::HashMap::new();
            for grant in g.iter().flatten() {
                if let Ok(v) = actions.verdict_as_asked(grant).await {
                    verdicts.insert(grant.id.clone(), v);
                }
            }
            vec![Msg::Grants(g), Msg::Verdicts(verdicts)]
        }
        Effect::LoadIssuers => vec![
            Msg::Issuers(store.issuer_summaries().await.map_err(|e| err(&e))),
            Msg::SyncRuns(store.sync_runs(50).await.map_err(|e| err(&e))),
        ],
        Effect::SyncIssuer { name } => {
            let Some(connector) = actions.connector_named(&name) else {
                let report = crate::sync::SyncReport { error: Some(format!("issuer '{name}' is not configured here")), ..crate::sync::SyncReport::new(&name) };
                return vec![Msg::Sync(crate::sync::SyncEvent::Finished(report))];
            };
            let (ptx, relayed) = relay(progress, Msg::Sync);
            crate::sync::sync_issuer(store, connector.as_ref(), Some(ptx)).await;
            let _ = relayed.await;
            // Findings follow every sync.
            vec![Msg::Recomputed(crate::findings::recompute(store, &env.thresholds, (env.clock)()).await.map_err(|e| err(&e)))]
        }
        Effect::Approve(input) => vec![Msg::Decided(actions.approve(&input).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::Deny { grant, reason } => vec![Msg::Decided(actions.deny(&grant, &reason).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::Triage { token, reason } => vec![Msg::Triaged(actions.triage(&token.0, reason.as_deref()).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::LoadFindings => {
            let r = async { Ok::<_, crate::store::StoreError>((store.finding_counts().await?, store.last_findings_run().await?)) }.await.map_err(|e| err(&e));
            vec![Msg::Findings(r)]
        }
        Effect::RecomputeFindings => vec![Msg::Recomputed(crate::findings::recompute(store, &env.thresholds, (env.clock)()).await.map_err(|e| err(&e)))],
        Effect::LoadOwners { status, after } => {
            let rows = store.owners_page(status, after.as_deref(), OWNERS_PAGE).await.map_err(|e| err(&e));
            vec![Msg::Owners { status, after, rows }]
        }
        Effect::LoadBlast { owner } => vec![Msg::Blast(store.blast_radius(&owner).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::RevokeOwner { owner, reason } => {
            let (ptx, relayed) = relay(progress, Msg::BulkProgress);
            let r = actions.revoke_owner(&owner, &reason, false, Some(ptx)).await.map(|r| (r.owner, Box::new(r.results))).map_err(|e| err(&e));
            let _ = relayed.await;
            vec![Msg::BulkDone(r)]
        }
        Effect::RevokeFilter { filter, reason } => {
            let (ptx, relayed) = relay(progress, Msg::BulkProgress);
            let r = actions.revoke_filter(&filter, &reason, false, Some(ptx)).await.map(|r| (format!("'{}'", r.filter), Box::new(r.results))).map_err(|e| err(&e));
            let _ = relayed.await;
            vec![Msg::BulkDone(r)]
        }
        Effect::LoadExpiring { window } => {
            let now = (env.clock)();
            let until = now + crate::domain::parse_duration(&window).unwrap_or(chrono::Duration::days(7));
            let groups = store.expiring_by_owner(now, until, 2000).await.map_err(|e| err(&e));
            vec![Msg::Expiring { window, groups }]
        }
        Effect::LoadCampaigns => vec![Msg::Campaigns(store.campaigns().await.map_err(|e| err(&e)))],
        Effect::StartReview { name, filter } => vec![Msg::ReviewStarted(actions.start_review(&name, filter.as_deref()).await.map_err(|e| err(&e)))],
        Effect::LoadReview { name, after } => {
            let campaign = store.campaign(&name).await.map_err(|e| err(&e));
            let items = match &campaign {
                Ok(c) => store.review_items(c.id, after, REVIEW_PAGE).await.map_err(|e| err(&e)),
                Err(e) => Err(e.clone()),
            };
            vec![Msg::ReviewItems { after, campaign, items }]
        }
        Effect::ReviewDecide { item, decision, reason } => vec![Msg::Reviewed(actions.decide_review(item, &decision, &reason).await.map(Box::new).map_err(|e| err(&e)))],
        Effect::Revoke { id, reason } => {
            let result = actions.revoke(&id, &reason).await.map_err(|e| err(&e));
            vec![Msg::Revoked { id, result }]
        }
    }
}

/// Runs an effect off the input path (the loop's way); its replies come back as messages.
pub fn spawn(effect: Effect, env: &Env, tx: &mpsc::Sender<Msg>) {
    let (env, tx) = (env.clone(), tx.clone());
    tokio::spawn(async move {
        for msg in execute(effect, &env, &tx).await {
            if tx.send(msg).await.is_err() {
                break;
            }
        }
    });
}
