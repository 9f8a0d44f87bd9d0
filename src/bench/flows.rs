//! Benchmarks of the keyboard flows, through the TUI's own `App::update` and
//! `tui::effects::execute` (the code the terminal runs) against the reference issuer over
//! HTTP: clearing a grant queue and walking a review campaign. Measured: the keys
//! an operator presses and the time from the Enter that sends a decision to the
//! issuer's answer on screen (the operator's typing is not timed).
use std::time::{Duration, Instant};

use color_eyre::eyre::{eyre, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Serialize;
use tokio::sync::mpsc;

use super::stats::percentile;
use crate::reference::org::Org;
use crate::store::Store;
use crate::tui::app::{App, Effect, Mode, Msg, View};
use crate::tui::effects;

#[derive(Debug, Serialize)]
pub struct ApprovalFigures {
    pub decided: usize,
    pub approved: usize,
    pub first_of_two: usize,
    pub denied: usize,
    /// Every key pressed, all of them letters, space, Enter or `j`: the home row.
    pub keys: usize,
    pub keypress_to_answer_p50_ms: f64,
    pub keypress_to_answer_p95_ms: f64,
    /// Machine time to clear the queue (the approver's typing excluded).
    pub clear_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct ReviewFigures {
    pub decided: usize,
    pub kept: usize,
    pub revoked: usize,
    /// Every key pressed: `y`/`r`, the reason once per kind (then offered again), Enter, `j` where needed.
    pub keys: usize,
    pub keypress_to_answer_p50_ms: f64,
    pub keypress_to_answer_p95_ms: f64,
    pub seconds: f64,
}

/// The reference issuer, a store synced from it, and the TUI loop over both.
struct Rig {
    _issuer: crate::reference::server::RunningIssuer,
    _dir: tempfile::TempDir,
    session: crate::tui::Session,
    env: effects::Env,
    app: App,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    keys: usize,
}

impl Rig {
    async fn new(credentials: u64, operator: &str) -> Result<Rig> {
        let now = chrono::Utc::now();
        let issuer = crate::reference::server::spawn("127.0.0.1:0", Org::new(credentials, 11, now), None).await?;
        let cfg = crate::config::IssuerConfig {
            name: "broker".into(),
            kind: crate::domain::IssuerKind::Tokenward,
            url: issuer.url(),
            timeout_s: Some(10),
            ..Default::default()
        };
        let connector: std::sync::Arc<dyn crate::connectors::Connector> = std::sync::Arc::from(crate::connectors::build(&cfg)?);
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("flows.db")).await?;
        store.upsert_issuer("broker", crate::domain::IssuerKind::Tokenward, Some(&issuer.url())).await?;
        let report = crate::sync::sync_issuer(&store, connector.as_ref(), None).await;
        if let Some(e) = report.error {
            return Err(eyre!("bench sync of the reference issuer failed: {e}"));
        }
        crate::findings::recompute(&store, &crate::config::Thresholds::default(), now).await?;
        let actions = crate::actions::Actions::new(store.clone(), std::slice::from_ref(&connector), operator, false);
        let settings = crate::context::TuiSettings { bell: false, ..crate::context::TuiSettings::defaults(operator) };
        let session = crate::tui::Session::new(&settings, store, actions, vec![connector]).with_db_label("bench".into());
        let env = session.env();
        let mut app = session.app(now);
        app.update(Msg::Resize { width: 160, height: 48 });
        let (tx, rx) = mpsc::channel::<Msg>(1024);
        Ok(Rig { _issuer: issuer, _dir: dir, session, env, app, tx, rx, keys: 0 })
    }

    fn apply(&mut self, msg: Msg) {
        for e in self.app.update(msg) {
            if !matches!(e, Effect::Quit | Effect::Bell) {
                effects::spawn(e, &self.env, &self.tx);
            }
        }
    }

    fn run(&mut self, command: &str) {
        for e in self.app.run_command(command) {
            effects::spawn(e, &self.env, &self.tx);
        }
    }

    fn press(&mut self, code: KeyCode) {
        self.keys += 1;
        self.apply(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Applies replies until `done` holds (or gives up after 10 s).
    async fn settle(&mut self, done: impl Fn(&App) -> bool) -> Result<()> {
        while !done(&self.app) {
            match tokio::time::timeout(Duration::from_secs(10), self.rx.recv()).await {
                Ok(Some(m)) => self.apply(m),
                _ => return Err(eyre!("the TUI loop stopped answering")),
            }
        }
        Ok(())
    }
}

/// Clears `count` grants: approve as asked where Cedar allows it, else deny.
pub async fn approvals(count: usize) -> Result<ApprovalFigures> {
    let mut rig = Rig::new(1000, "bench-oncall@acme.test").await?;
    rig.run("grants");
    rig.apply(Msg::Tick(chrono::Utc::now()));
    rig.settle(|a| !a.grants.queue.is_empty() && a.grants.queue.iter().all(|g| a.grants.verdicts.contains_key(&g.id))).await?;
    let mut decided = std::collections::HashSet::new();
    let (mut approved, mut first_of_two, mut denied) = (0, 0, 0);
    let mut samples = Vec::new();
    let started = Instant::now();
    while decided.len() < count {
        // `j` past the grants already decided (a first-of-two approval stays in the queue).
        while rig.app.grants.selected_grant().is_some_and(|g| decided.contains(&g.id)) && rig.app.grants.selected + 1 < rig.app.grants.queue.len() {
            rig.press(KeyCode::Char('j'));
        }
        let Some(grant) = rig.app.grants.selected_grant().cloned() else { break };
        if decided.contains(&grant.id) {
            break;
        }
        let allowed = rig.app.grants.verdicts.get(&grant.id).is_some_and(|v| v.allowed);
        let (open, text) = if allowed { ('a', "one task, as asked") } else { ('d', "outside policy, ask again narrower") };
        rig.press(KeyCode::Char(open));
        rig.typed(text);
        let t = Instant::now();
        rig.press(KeyCode::Enter);
        rig.settle(|a| matches!(a.mode, Mode::Normal) || matches!(&a.mode, Mode::Decide(f) if !f.waiting)).await?;
        samples.push(t.elapsed());
        if let Mode::Decide(f) = &rig.app.mode {
            return Err(eyre!("grant {} was not decided: {}", grant.external_id, f.error.clone().unwrap_or_default()));
        }
        let partial = rig.app.status.as_ref().is_some_and(|(_, s)| s.contains("first approval"));
        match (partial, allowed) {
            (true, _) => first_of_two += 1,
            (false, true) => approved += 1,
            (false, false) => denied += 1,
        }
        decided.insert(grant.id.clone());
        // The queue re-reads after each decision; wait for it before the next key.
        rig.settle(|a| a.grants.queue.iter().all(|g| a.grants.verdicts.contains_key(&g.id)) && (partial || !a.grants.queue.iter().any(|g| g.id == grant.id))).await?;
    }
    Ok(ApprovalFigures {
        decided: decided.len(),
        approved,
        first_of_two,
        denied,
        keys: rig.keys,
        keypress_to_answer_p50_ms: percentile(&mut samples, 0.5),
        keypress_to_answer_p95_ms: percentile(&mut samples, 0.95),
        clear_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Walks `count` items of a campaign over admin scopes: revoke what nobody answers for
/// (owner gone or unknown, stale, used after its task), keep the rest.
pub async fn review(count: usize) -> Result<ReviewFigures> {
    let mut rig = Rig::new(2000, "bench-reviewer@acme.test").await?;
    let campaign = rig.session.actions.start_review("bench-review", Some("status:active scope:admin:org")).await?;
    if (campaign.items as usize) < count {
        return Err(eyre!("the bench campaign has {} items, fewer than {count}", campaign.items));
    }
    rig.run("review bench-review");
    rig.settle(|a| a.review.open.is_some() && !a.review.items.is_empty()).await?;
    let (mut kept, mut revoked) = (0, 0);
    let mut samples = Vec::new();
    let started = Instant::now();
    for _ in 0..count {
        // After a decision the cursor moves on; `n` finds the next undecided item when it does not.
        if rig.app.review.items.get(rig.app.review.selected).is_some_and(|i| i.decision.is_some()) {
            rig.press(KeyCode::Char('n'));
        }
        let Some(item) = rig.app.review.items.get(rig.app.review.selected).cloned() else { break };
        let findings = item.snapshot.findings.clone().unwrap_or_default();
        let revoke = ["owner-offboarded", "owner-missing", "stale-unused", "used-after-task"].iter().any(|r| findings.contains(r));
        let (key, reason) = if revoke { ('r', "nobody answers for it") } else { ('y', "owner confirmed it is still needed") };
        rig.press(KeyCode::Char(key));
        // The form offers the last reason given for this decision: type it only the first time.
        let offered = matches!(&rig.app.mode, Mode::Review(f) if !f.reason.lines().join("").is_empty());
        if !offered {
            rig.typed(reason);
        }
        let t = Instant::now();
        rig.press(KeyCode::Enter);
        rig.settle(|a| matches!(a.mode, Mode::Normal) || matches!(&a.mode, Mode::Review(f) if !f.waiting)).await?;
        samples.push(t.elapsed());
        if let Mode::Review(f) = &rig.app.mode {
            return Err(eyre!("review item {} was not decided: {}", item.id, f.error.clone().unwrap_or_default()));
        }
        if revoke { revoked += 1 } else { kept += 1 }
        let id = item.id;
        rig.settle(|a| a.review.items.iter().any(|i| i.id == id && i.decision.is_some())).await?;
    }
    if rig.app.view != View::Review {
        return Err(eyre!("left the review view"));
    }
    Ok(ReviewFigures {
        decided: kept + revoked,
        kept,
        revoked,
        keys: rig.keys,
        keypress_to_answer_p50_ms: percentile(&mut samples, 0.5),
        keypress_to_answer_p95_ms: percentile(&mut samples, 0.95),
        seconds: started.elapsed().as_secs_f64(),
    })
}
