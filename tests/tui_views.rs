//! The TUI's pure update and its views, over a store seeded from the reference
//! organisation: insta snapshots at a fixed size and a fixed clock.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokenward::store::Store;
use tokenward::tui::app::{App, Effect, Landing, Mode, Msg, View};
use tokenward::tui::effects::{self, Env};
use tokenward::tui::keymap::Keymap;
use tokenward::tui::theme::Theme;
use tokenward::tui::views::credentials::{FETCH, WINDOW_CAP};

mod common;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Runs the effects that read the store with the TUI's own executor, one at a
/// time; effects that act on issuers are left to their own tests.
async fn settle(app: &mut App, store: &Store, mut fx: Vec<Effect>) {
    let env = Env {
        store: store.clone(),
        actions: tokenward::actions::Actions::new(store.clone(), &[], "ana@acme.test", false),
        thresholds: Default::default(),
        clock: common::fixed_now,
    };
    let (progress, _replies) = tokio::sync::mpsc::channel(64);
    while let Some(e) = fx.pop() {
        let acts = matches!(
            e,
            Effect::Revoke { .. }
                | Effect::Quit
                | Effect::SyncIssuer { .. }
                | Effect::Triage { .. }
                | Effect::Approve(_)
                | Effect::Deny { .. }
                | Effect::Bell
                | Effect::RevokeOwner { .. }
                | Effect::RevokeFilter { .. }
                | Effect::StartReview { .. }
                | Effect::ReviewDecide { .. }
        );
        if acts {
            continue;
        }
        for msg in effects::execute(e, &env, &progress).await {
            fx.extend(app.update(msg));
        }
    }
}

async fn app_on(store: &Store, width: u16, height: u16) -> App {
    let mut app = App::new(Keymap::default_map(), "ana@acme.test", "test.db", false, common::fixed_now());
    app.update(Msg::Resize { width, height });
    let fx = app.start();
    settle(&mut app, store, fx).await;
    app
}

fn render(app: &App, width: u16, height: u16) -> String {
    let theme = Theme::load("dark").expect("theme");
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    t.draw(|f| tokenward::tui::draw::draw(f, app, &theme)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn credential_view_snapshot() {
    let store = common::seeded_store(300).await;
    let app = app_on(&store, 150, 30).await;
    insta::assert_snapshot!("credentials_150x30", render(&app, 150, 30));
}

#[tokio::test]
async fn detail_pane_snapshot() {
    let store = common::seeded_store(300).await;
    let mut app = app_on(&store, 160, 40).await;
    // A credential with a delegation chain, consent and usage, found by its id.
    let id = common::rich_credential(300, 3);
    let fx = app.update(Msg::Key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)));
    assert!(fx.is_empty());
    for c in id[..10].chars() {
        app.update(key(c));
    }
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert!(app.credentials.detail.as_ref().is_some_and(|d| d.data.is_some()));
    insta::assert_snapshot!("detail_160x40", render(&app, 160, 40));
}

#[tokio::test]
async fn help_overlay_snapshot_lists_every_bound_action() {
    let store = common::seeded_store(50).await;
    let mut app = app_on(&store, 120, 36).await;
    app.update(key('?'));
    assert!(matches!(app.mode, Mode::Help));
    let screen = render(&app, 120, 36);
    for (_, action) in app.keymap.bindings("credentials") {
        assert!(screen.contains(action.description().split(' ').next().unwrap_or("")), "help lacks {action:?}");
    }
    insta::assert_snapshot!("help_120x36", screen);
    app.update(key('x'));
    assert!(matches!(app.mode, Mode::Normal));
}

#[tokio::test]
async fn window_slides_and_never_holds_more_than_its_cap() {
    let store = common::seeded_store(2000).await;
    let mut app = app_on(&store, 120, 30).await;
    assert_eq!(app.credentials.window.total, Some(2000));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..1999 {
        seen.insert(app.selected_row().expect("row").id.clone());
        let fx = app.update(key('j'));
        settle(&mut app, &store, fx).await;
        assert!(app.credentials.window.rows.len() <= WINDOW_CAP);
    }
    seen.insert(app.selected_row().expect("row").id.clone());
    assert_eq!(seen.len(), 2000, "every row visited once, in order");
    assert_eq!(app.absolute_selected(), Some(1999));
    // And back up past the window's start: rows are prepended by keyset.
    for _ in 0..(FETCH * 2) {
        let fx = app.update(key('k'));
        settle(&mut app, &store, fx).await;
    }
    assert_eq!(app.absolute_selected(), Some(1999 - 2 * FETCH as i64));
}

#[tokio::test]
async fn home_end_and_sort_reload_by_keyset() {
    let store = common::seeded_store(1000).await;
    let mut app = app_on(&store, 120, 30).await;
    let first = app.selected_row().expect("row").id.clone();
    let fx = app.update(key('G'));
    settle(&mut app, &store, fx).await;
    let last = app.selected_row().expect("row").clone();
    assert!(app.credentials.window.at_end);
    assert_eq!(app.absolute_selected(), Some(999));
    let fx = app.update(key('g'));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.selected_row().expect("row").id, first);
    let fx = app.update(key('S'));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.selected_row().expect("row").id, last.id, "reversed order starts at the old end");
    let fx = app.update(key('s'));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadPage { landing: Landing::First, .. })));
}

#[tokio::test]
async fn stale_replies_are_dropped() {
    let store = common::seeded_store(100).await;
    let mut app = app_on(&store, 120, 30).await;
    let old = app.credentials.window.generation;
    let fx = app.update(key('s'));
    assert!(app.credentials.window.generation > old);
    app.update(Msg::Page { generation: old, landing: Landing::First, rows: Ok(Vec::new()) });
    assert!(!app.credentials.window.rows.is_empty(), "a reply of an old generation must not land");
    settle(&mut app, &store, fx).await;
}

#[tokio::test]
async fn filter_errors_show_inline_and_valid_filters_apply() {
    let store = common::seeded_store(300).await;
    let mut app = app_on(&store, 120, 30).await;
    app.update(key('/'));
    for c in "binding:purple".chars() {
        app.update(key(c));
    }
    assert!(app.filter_error().is_some_and(|e| e.contains("column 1")));
    assert!(app.update(code(KeyCode::Enter)).is_empty(), "an invalid filter is not applied");
    assert!(matches!(app.mode, Mode::Filter(_)));
    assert!(render(&app, 120, 30).contains("filter:"));
    app.update(code(KeyCode::Esc));
    app.update(key('/'));
    for c in "binding:dpop".chars() {
        app.update(key(c));
    }
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert!(!app.credentials.window.rows.is_empty());
    assert!(app.credentials.window.rows.iter().all(|r| r.binding.as_str() == "dpop"));
    let fx = app.update(code(KeyCode::Esc));
    settle(&mut app, &store, fx).await;
    assert!(app.credentials.query.is_empty());
}

#[tokio::test]
async fn revoke_all_takes_the_filter_to_a_dry_run_a_reason_and_a_confirmation() {
    use tokenward::tui::forms::bulk::{BulkPlan, BulkStage};
    let store = common::seeded_store(300).await;
    let mut app = app_on(&store, 150, 30).await;
    // No filter: the key says to set one first instead of offering the whole inventory.
    assert!(app.update(key('X')).is_empty());
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("set a filter first")), "{:?}", app.status);
    app.update(key('/'));
    type_text(&mut app, "binding:bearer");
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    // `X`: the CLI's plan of `revoke --filter`, loaded off the input path, then the form.
    let fx = app.update(key('X'));
    assert!(matches!(app.mode, Mode::Normal), "the form waits for the plan");
    settle(&mut app, &store, fx).await;
    let Mode::Bulk(form) = &app.mode else { panic!("the bulk form opens: {:?}", app.status) };
    let BulkPlan::Filter(plan) = &form.plan else { panic!("a filter plan") };
    let q = tokenward::filter::parse("binding:bearer status:active").expect("filter");
    let active = store.count(&q, chrono::Utc::now()).await.expect("count");
    assert_eq!((plan.filter.as_str(), plan.active, plan.credentials.len() as i64), ("binding:bearer", active, active));
    assert!(plan.credentials.iter().all(|c| c.status.as_str() == "active"));
    let screen = render(&app, 150, 30);
    assert!(screen.contains("revoke every active credential of 'binding:bearer'") && screen.contains("dry run:"), "{screen}");
    app.update(code(KeyCode::Enter));
    assert!(matches!(&app.mode, Mode::Bulk(f) if f.error.as_deref() == Some("a reason is required")));
    type_text(&mut app, "bearer tokens retired, SEC-12");
    app.update(code(KeyCode::Enter));
    assert!(matches!(&app.mode, Mode::Bulk(f) if f.stage == BulkStage::Confirm));
    let fx = app.update(key('y'));
    assert_eq!(fx, vec![Effect::RevokeFilter { filter: "binding:bearer".into(), reason: "bearer tokens retired, SEC-12".into() }]);

    // A viewer: the key is refused with the reason, no plan is asked for.
    let mut ro = App::new(Keymap::default_map(), "ana", "t.db", true, common::fixed_now());
    ro.update(Msg::Resize { width: 120, height: 30 });
    let fx = ro.start();
    settle(&mut ro, &store, fx).await;
    assert!(ro.update(key('X')).is_empty());
    assert!(ro.status.as_ref().is_some_and(|(_, s)| s.contains("read-only")), "{:?}", ro.status);
}

#[tokio::test]
async fn the_deployments_view_lists_what_a_scan_found_and_opens_its_credential() {
    let store = common::seeded_store(120).await;
    let mut app = app_on(&store, 150, 30).await;
    let id = app.selected_row().expect("row").id.clone();
    let fp = store.credential(&id).await.expect("credential").fingerprint.expect("fingerprint");
    let at = |location: &str, fingerprint: String| tokenward::store::FoundSecret {
        path: "/srv/agents/claude_desktop_config.json".into(),
        location: location.into(),
        format: "mcp".into(),
        fingerprint,
        key_id: None,
    };
    let found = [at("mcpServers.github.env.GITHUB_TOKEN", fp), at("mcpServers.shadow.env.API_KEY", tokenward::domain::fingerprint(b"shadow"))];
    store.record_deployments("host-a", &["/srv/agents".into()], &found, common::fixed_now()).await.expect("deployments");
    tokenward::findings::recompute(&store, &Default::default(), common::fixed_now()).await.expect("findings");

    let fx = app.run_command("deployments");
    settle(&mut app, &store, fx).await;
    assert_eq!(app.deployments.rows.len(), 2);
    let screen = render(&app, 150, 30);
    assert!(screen.contains("2 secret(s) in plain text in 1 file(s)") && screen.contains("1 unknown to every issuer"), "{screen}");
    // The known one opens in the credential table; the unknown one says what to do instead.
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert_eq!((app.view, app.credentials.query_text.clone()), (View::Credentials, id.clone()));
    assert_eq!(app.credentials.window.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [id]);
    let fx = app.run_command("deployments");
    settle(&mut app, &store, fx).await;
    app.update(key('j'));
    app.update(code(KeyCode::Enter));
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("unknown to every issuer")), "{:?}", app.status);
    // From the findings view, the shadow credentials' rule opens this view.
    let fx = app.run_command("findings");
    settle(&mut app, &store, fx).await;
    let at = app.findings.counts.iter().position(|c| c.rule == "unknown-in-config").expect("the rule fired");
    for _ in 0..at {
        app.update(key('j'));
    }
    let fx = app.update(code(KeyCode::Enter));
    assert_eq!(app.view, View::Deployments);
    settle(&mut app, &store, fx).await;
}

#[tokio::test]
async fn home_says_what_needs_attention_and_each_line_opens_what_it_counts() {
    let store = common::seeded_store(300).await;
    tokenward::findings::recompute(&store, &Default::default(), common::fixed_now()).await.expect("findings");
    let mut app = app_on(&store, 150, 40).await;
    let fx = app.run_command("home");
    assert!(render(&app, 150, 40).contains("counting…"), "the screen shows before its figures");
    settle(&mut app, &store, fx).await;
    let home = app.home.home.clone().expect("the figures loaded");
    let screen = render(&app, 150, 40);
    assert!(screen.contains("what needs attention") && screen.contains("where to start"), "{screen}");
    assert!(screen.contains(&format!("{} pending", home.grants.pending)), "{screen}");
    insta::assert_snapshot!("home_150x40", screen);
    // The first line is the grant queue.
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.view, View::Grants);
    // The findings line opens the findings view.
    let fx = app.run_command("home");
    settle(&mut app, &store, fx).await;
    app.update(key('j'));
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.view, View::Findings);
    // The busiest owner opens the credential table on their active credentials.
    let top = home.owners.first().expect("an owner with high findings").clone();
    let fx = app.run_command("home");
    settle(&mut app, &store, fx).await;
    let doors = tokenward::tui::views::Pane::position(&app.home).expect("lines").1;
    let at = doors - home.workloads.len() - home.owners.len();
    app.update(key('g'));
    for _ in 0..at {
        app.update(key('j'));
    }
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert_eq!((app.view, app.credentials.query_text.clone()), (View::Credentials, format!("owner:{} status:active", top.name)));
    assert!(!app.credentials.window.rows.is_empty() && app.credentials.window.rows.iter().all(|r| r.owner == top.name));
}

/// Every line of home is a doorway: each opens another view, every kind of view it
/// counts is reached, and each owner's and workload's line opens the table on exactly
/// their active credentials.
#[tokio::test]
async fn every_home_line_opens_what_it_counts() {
    let store = common::seeded_store(300).await;
    tokenward::findings::recompute(&store, &Default::default(), common::fixed_now()).await.expect("findings");
    let mut app = app_on(&store, 150, 40).await;
    let fx = app.run_command("home");
    settle(&mut app, &store, fx).await;
    let home = app.home.home.clone().expect("the figures loaded");
    let doors = tokenward::tui::views::Pane::position(&app.home).expect("lines").1;
    let mut opened = Vec::new();
    for d in 0..doors {
        let fx = app.run_command("home");
        settle(&mut app, &store, fx).await;
        app.update(key('g'));
        for _ in 0..d {
            app.update(key('j'));
        }
        let fx = app.update(code(KeyCode::Enter));
        settle(&mut app, &store, fx).await;
        assert_ne!(app.view, View::Home, "line {d} of home opens nothing");
        opened.push((app.view, app.credentials.query_text.clone()));
    }
    for view in [View::Grants, View::Findings, View::Expiring, View::Issuers, View::Credentials] {
        assert!(opened.iter().any(|(v, _)| *v == view), "no line of home opens {view:?}: {opened:?}");
    }
    let tables: Vec<&String> = opened.iter().filter(|(v, _)| *v == View::Credentials).map(|(_, q)| q).collect();
    for p in &home.owners {
        assert!(tables.contains(&&format!("owner:{} status:active", p.name)), "{tables:?}");
    }
    for p in &home.workloads {
        assert!(tables.contains(&&format!("workload:{} status:active", p.name)), "{tables:?}");
    }
    for p in &home.findings.new_in_last_run {
        assert!(tables.contains(&&format!("finding:{}", p.name)), "{tables:?}");
    }
}

/// Tab walks the header's tabs in order, back-tab the other way, round the ends.
#[tokio::test]
async fn tab_and_back_tab_walk_the_views_in_header_order() {
    let store = common::seeded_store(30).await;
    let mut app = app_on(&store, 150, 40).await;
    let fx = app.run_command("home");
    settle(&mut app, &store, fx).await;
    let mut seen = vec![app.view];
    for _ in 1..View::ALL.len() {
        let fx = app.update(code(KeyCode::Tab));
        settle(&mut app, &store, fx).await;
        seen.push(app.view);
    }
    assert_eq!(seen, View::ALL, "tab follows the header");
    let fx = app.update(code(KeyCode::Tab));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.view, View::Home, "and wraps round");
    let fx = app.update(code(KeyCode::BackTab));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.view, *View::ALL.last().expect("views"));
    assert!(render(&app, 150, 40).contains("deployments"), "the view it lands on is drawn");
}

#[tokio::test]
async fn revoke_asks_a_reason_then_confirms_and_read_only_refuses() {
    let store = common::seeded_store(50).await;
    let mut app = app_on(&store, 120, 30).await;
    let id = app.selected_row().expect("row").id.clone();
    app.update(key('r'));
    assert!(matches!(app.mode, Mode::Revoke(_)));
    assert!(app.update(code(KeyCode::Enter)).is_empty(), "no reason, no revoke");
    assert!(render(&app, 120, 30).contains("a reason is required"));
    for c in "leaked".chars() {
        app.update(key(c));
    }
    assert!(app.update(code(KeyCode::Enter)).is_empty(), "enter asks to confirm first");
    let fx = app.update(key('y'));
    assert_eq!(fx, vec![Effect::Revoke { id: id.clone(), reason: "leaked".into() }]);
    app.update(Msg::Revoked { id: id.clone(), result: Err("issuer answered 500: boom".into()) });
    assert!(render(&app, 120, 30).contains("not revoked: issuer answered 500"));

    let mut ro = App::new(Keymap::default_map(), "ana", "t.db", true, common::fixed_now());
    ro.update(Msg::Resize { width: 120, height: 30 });
    let fx = ro.start();
    settle(&mut ro, &store, fx).await;
    ro.update(key('r'));
    assert!(matches!(ro.mode, Mode::Normal));
    assert!(ro.status.as_ref().is_some_and(|(_, s)| s.contains("read-only")));
}

#[tokio::test]
async fn views_switch_by_name_and_tiny_terminals_do_not_panic() {
    let store = common::seeded_store(30).await;
    let mut app = app_on(&store, 120, 30).await;
    app.update(key(':'));
    for c in "iss".chars() {
        app.update(key(c));
    }
    let fx = app.update(code(KeyCode::Tab));
    assert!(fx.is_empty());
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.view, View::Issuers);
    assert!(render(&app, 120, 30).contains("acme-broker"));
    app.run_command("grants");
    assert_eq!(app.view, View::Grants);
    for (w, h) in [(1, 1), (10, 3), (19, 5), (20, 6), (40, 8), (300, 100)] {
        app.update(Msg::Resize { width: w, height: h });
        render(&app, w, h);
    }
}

#[tokio::test]
async fn triage_prompt_masks_the_token_and_never_prints_it() {
    let store = common::seeded_store(20).await;
    let mut app = app_on(&store, 120, 36).await;
    app.run_command("triage");
    assert!(matches!(app.mode, Mode::Triage(_)));
    for c in "twk_supersecret".chars() {
        app.update(key(c));
    }
    let screen = render(&app, 120, 36);
    assert!(!screen.contains("supersecret"), "the token must be masked on screen");
    assert!(screen.contains("•••"));
    let fx = app.update(code(KeyCode::Enter));
    assert_eq!(fx.len(), 1);
    assert!(matches!(&fx[0], Effect::Triage { token, reason: None } if secrecy::ExposeSecret::expose_secret(&token.0) == "twk_supersecret"));
    assert!(!format!("{fx:?}").contains("supersecret"), "Debug of an effect must not show the token");
    assert!(!format!("{:?}", app.mode).contains("supersecret"), "nor Debug of the form holding it");
    let report = tokenward::actions::TriageReport {
        fingerprint: tokenward::domain::fingerprint(b"twk_supersecret"),
        credential: None,
        owner_status: None,
        introspections: vec![tokenward::actions::TriageFinding {
            issuer: "auth".into(),
            introspection: Some(tokenward::domain::Introspection {
                active: true,
                scopes: vec!["repo:write".into()],
                client_id: Some("deploy-bot".into()),
                subject: None,
                audience: vec![],
                expires_at: None,
                issued_at: None,
                token_type: None,
                issuer: None,
            }),
            error: None,
        }],
        inventory_revocation_error: None,
        inventory_revocation: None,
        revocations: vec![],
        audit_seq: 3,
    };
    app.update(Msg::Triaged(Ok(Box::new(report))));
    let screen = render(&app, 120, 36);
    assert!(screen.contains("ACTIVE, client deploy-bot"), "{screen}");
    app.update(key('r'));
    assert!(app.update(code(KeyCode::Enter)).is_empty(), "no reason, no revoke");
    for c in "leaked".chars() {
        app.update(key(c));
    }
    let fx = app.update(code(KeyCode::Enter));
    assert!(matches!(&fx[0], Effect::Triage { reason: Some(r), .. } if r == "leaked"));
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal), "esc forgets the token");
}

#[tokio::test]
async fn sync_now_from_the_issuers_view_shows_a_gauge_then_refreshes() {
    use tokenward::sync::{SyncEvent, SyncReport};
    let store = common::seeded_store(100).await;
    let mut app = app_on(&store, 140, 30).await;
    app.run_command("issuers");
    let fx = app.start();
    settle(&mut app, &store, fx).await;
    let fx = app.update(key('S'));
    assert_eq!(fx, vec![Effect::SyncIssuer { name: "acme-broker".into() }]);
    assert!(app.update(key('S')).is_empty(), "one sync per issuer at a time");
    app.update(Msg::Sync(SyncEvent::Progress { issuer: "acme-broker".into(), pages: 1, credentials: 50, elapsed: std::time::Duration::from_secs(1) }));
    assert!(render(&app, 140, 30).contains("▕█████░░░░░▏ 50"));
    let report = SyncReport { issuer: "acme-broker".into(), run_id: 2, owners: 0, credentials: 100, pages: 2, grants: 0, gone: 0, delta: false, resumed: false, seconds: 1.0, error: None, notes: vec![], rejected: 0, unrecognised_actions: 0 };
    let fx = app.update(Msg::Sync(SyncEvent::Finished(report)));
    assert!(fx.contains(&Effect::LoadIssuers), "the view reloads after a sync");
    assert!(render(&app, 140, 30).contains("acme-broker: synced 100 credentials"));
}

fn a_grant() -> tokenward::domain::Grant {
    tokenward::domain::Grant {
        id: "g1".into(),
        issuer: "acme-broker".into(),
        external_id: "grant-0001".into(),
        workload: Some("deploy-bot".into()),
        requested_by: Some("ana@acme.test".into()),
        intent: Some("Deploy release 4.2".into()),
        scopes: vec!["repo:read".into(), "repo:write".into(), "deploy:prod".into()],
        audience: vec![],
        ttl_seconds: 4 * 3600,
        binding: tokenward::domain::Binding::Bearer,
        requested_at: Some(common::fixed_now() - chrono::Duration::minutes(20)),
        expires_at: None,
        status: tokenward::domain::GrantStatus::Pending,
    }
}

#[tokio::test]
async fn approving_narrows_shortens_binds_and_needs_a_justification() {
    let store = common::seeded_store(10).await;
    let mut app = app_on(&store, 140, 40).await;
    app.run_command("grants");
    app.grants.queue = vec![a_grant()];
    assert!(render(&app, 140, 40).contains("grant-0001"));
    app.update(key('a'));
    assert!(matches!(app.mode, Mode::Decide(_)));
    assert!(app.update(code(KeyCode::Enter)).is_empty(), "no justification, no approval");
    assert!(render(&app, 140, 40).contains("a justification is required"));
    // Uncheck the first scope (repo:read), shorten the TTL, require DPoP, justify.
    let go_to = |app: &mut App, field: usize| {
        while let Mode::Decide(f) = &app.mode {
            if f.field == field {
                break;
            }
            app.update(code(if f.field < field { KeyCode::Tab } else { KeyCode::BackTab }));
        }
    };
    go_to(&mut app, 0);
    app.update(key(' '));
    go_to(&mut app, 3);
    for _ in 0..4 {
        app.update(code(KeyCode::Backspace));
    }
    for c in "30m".chars() {
        app.update(key(c));
    }
    go_to(&mut app, 4);
    app.update(key(' '));
    go_to(&mut app, 5);
    for c in "release 4.2 only".chars() {
        app.update(key(c));
    }
    let screen = render(&app, 140, 40);
    assert!(screen.contains("[ ] repo:read") && screen.contains("[x] deploy:prod") && screen.contains("binding  dpop"), "{screen}");
    let fx = app.update(code(KeyCode::Enter));
    let expected = tokenward::actions::ApproveInput {
        grant: "g1".into(),
        scopes: Some(vec!["repo:write".into(), "deploy:prod".into()]),
        ttl_seconds: Some(1800),
        binding: Some(tokenward::domain::Binding::Dpop),
        justification: "release 4.2 only".into(),
    };
    assert_eq!(fx, vec![Effect::Approve(expected)]);
    app.update(Msg::Decided(Err("someone else decided first (the issuer answered 409: grant is approved, not pending); the queue was refreshed".into())));
    assert!(render(&app, 140, 40).contains("someone else decided first"));
    app.update(code(KeyCode::Esc));
    app.update(key('d'));
    for c in "no ticket".chars() {
        app.update(key(c));
    }
    assert_eq!(app.update(code(KeyCode::Enter)), vec![Effect::Deny { grant: "g1".into(), reason: "no ticket".into() }]);
}

#[tokio::test]
async fn grant_queue_and_approval_form_snapshots() {
    let store = common::seeded_store(10).await;
    let mut app = app_on(&store, 150, 30).await;
    app.run_command("grants");
    let mut late = a_grant();
    late.id = "g2".into();
    late.external_id = "grant-0002".into();
    late.requested_at = Some(common::fixed_now() - chrono::Duration::minutes(3));
    app.grants.queue = vec![a_grant(), late];
    let engine = tokenward::policy::PolicyEngine::default_engine().expect("policies");
    let ctx = tokenward::policy::DecisionContext {
        operator: "ana@acme.test".into(),
        roles: vec!["approver".into()],
        requested_by: "ana@acme.test".into(),
        scopes: a_grant().scopes,
        scope_class: "write".into(),
        ttl_seconds: 4 * 3600,
        binding: "bearer".into(),
        sensitive: true,
        ..Default::default()
    };
    app.update(Msg::Verdicts([("g1".to_string(), engine.decide("approve", &ctx))].into_iter().collect()));
    let queue = render(&app, 150, 30);
    assert!(queue.contains("✗ no-self-approval") || queue.contains("✗ no-bearer-on-sensitive"), "{queue}");
    insta::assert_snapshot!("grants_150x30", queue);
    app.update(key('a'));
    insta::assert_snapshot!("approve_form_150x30", render(&app, 150, 30));
}

#[tokio::test]
async fn the_queue_keeps_the_cursor_on_its_grant_and_announces_new_ones() {
    let store = common::seeded_store(10).await;
    let mut app = app_on(&store, 150, 30).await;
    app.run_command("grants");
    let mut second = a_grant();
    second.id = "g2".into();
    app.update(Msg::Grants(Ok(vec![a_grant(), second.clone()])));
    app.update(key('j'));
    assert_eq!(app.grants.queue[app.grants.selected].id, "g2");
    let mut newest = a_grant();
    newest.id = "g0".into();
    let fx = app.update(Msg::Grants(Ok(vec![newest, a_grant(), second])));
    assert_eq!(fx, vec![Effect::Bell]);
    assert_eq!(app.grants.queue[app.grants.selected].id, "g2", "the cursor stays on its grant");
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("1 new grant")));
    assert_eq!(app.update(Msg::Tick(common::fixed_now())), vec![Effect::LoadGrants], "the queue refreshes on a timer");
}

#[tokio::test]
async fn the_queue_orders_by_age_calls_out_the_sla_and_says_when_two_approvers_are_needed() {
    let store = common::seeded_store(10).await;
    let mut app = app_on(&store, 150, 30).await;
    app.run_command("grants");
    let mut older = a_grant();
    older.id = "g-old".into();
    older.external_id = "grant-0000".into();
    older.requested_at = Some(common::fixed_now() - chrono::Duration::minutes(50));
    app.update(Msg::Grants(Ok(vec![older.clone(), a_grant()])));
    assert_eq!(app.grants.queue[0].id, "g1", "newest first by default");
    // `o` flips to oldest first and the cursor stays on its grant.
    app.update(key('o'));
    assert_eq!(app.grants.queue.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["g-old", "g1"]);
    assert_eq!(app.grants.queue[app.grants.selected].id, "g1");
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("oldest first")));
    // The SLA comes from the config: at 30 minutes only the 50-minute-old grant is late.
    app.grants.sla = chrono::Duration::minutes(30);
    assert!(app.grants.breached(&older, app.now) && !app.grants.breached(&a_grant(), app.now));
    app.grants.sla = chrono::Duration::minutes(60);
    assert!(!app.grants.breached(&older, app.now));
    // With the bell off, a new grant is still announced, silently.
    app.grants.bell = false;
    let mut newest = a_grant();
    newest.id = "g-new".into();
    let fx = app.update(Msg::Grants(Ok(vec![newest, older, a_grant()])));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(app.status.as_ref().is_some_and(|(_, s)| s.contains("1 new grant")));
    // Allowed as asked, but as the first of two approvals: the queue says so.
    let verdict = tokenward::policy::Verdict { allowed: true, reasons: vec![], errors: vec![], second_approval: Some("two-person-rule: ...".into()) };
    app.update(Msg::Verdicts([("g1".to_string(), verdict)].into_iter().collect()));
    assert!(render(&app, 150, 30).contains("needs a 2nd approver"));
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(key(c));
    }
}

#[tokio::test]
async fn findings_owners_blast_radius_and_review_views() {
    use tokenward::domain::ReviewDecisionKind;
    use tokenward::tui::forms::bulk::BulkStage;
    let store = common::seeded_store(400).await;
    tokenward::findings::recompute(&store, &Default::default(), common::fixed_now()).await.expect("findings");
    let mut app = app_on(&store, 150, 30).await;

    // Findings: counts by rule and severity, most severe first; Enter lists the rule's credentials.
    let fx = app.run_command("findings");
    settle(&mut app, &store, fx).await;
    assert!(!app.findings.counts.is_empty());
    assert_eq!(app.findings.counts[0].severity.as_str(), "high");
    // How long the recompute took varies from run to run; the snapshot pins it.
    if let Some(run) = &mut app.findings.last_run {
        run.1 = 12;
    }
    insta::assert_snapshot!("findings_150x30", render(&app, 150, 30));
    let rule = app.findings.counts[0].rule.clone();
    let fx = app.update(code(KeyCode::Enter));
    assert_eq!((app.view, app.credentials.query_text.clone()), (View::Credentials, format!("finding:{rule}")));
    settle(&mut app, &store, fx).await;
    assert_eq!(app.credentials.window.total, Some(app.findings.counts[0].open), "the drill-down lists exactly the rule's credentials");

    // Owners: `f` shows the people who left; Enter opens one's blast radius.
    let fx = app.run_command("owners");
    settle(&mut app, &store, fx).await;
    let fx = app.update(key('f'));
    settle(&mut app, &store, fx).await;
    assert!(!app.owners.rows.is_empty() && app.owners.rows.iter().all(|o| o.status.as_str() == "offboarded"));
    let with_live = app.owners.rows.iter().position(|o| o.active > 0).expect("a leaver with live credentials");
    for _ in 0..with_live {
        app.update(key('j'));
    }
    let fx = app.update(code(KeyCode::Enter));
    settle(&mut app, &store, fx).await;
    let blast = app.owners.blast.as_ref().and_then(|b| b.data.clone()).expect("blast radius loaded");
    assert!(blast.revocable().count() as i64 >= app.owners.rows[with_live].active);
    insta::assert_snapshot!("owners_blast_150x30", render(&app, 150, 30));

    // `r`: the dry run and a reason, then a confirm, then one effect that revokes it all.
    app.update(key('r'));
    assert!(matches!(&app.mode, Mode::Bulk(f) if f.stage == BulkStage::Reason));
    assert!(render(&app, 150, 30).contains("dry run:"));
    app.update(code(KeyCode::Enter));
    assert!(matches!(&app.mode, Mode::Bulk(f) if f.error.as_deref() == Some("a reason is required")));
    type_text(&mut app, "left the company, HR-7");
    app.update(code(KeyCode::Enter));
    assert!(matches!(&app.mode, Mode::Bulk(f) if f.stage == BulkStage::Confirm));
    let fx = app.update(key('y'));
    assert_eq!(fx, vec![Effect::RevokeOwner { owner: blast.owner.clone(), reason: "left the company, HR-7".into() }]);

    // Review: a campaign walked item by item with the evidence beside it.
    app.mode = Mode::Normal;
    let q = tokenward::filter::parse("status:active scope:admin:org").expect("filter");
    let draft = tokenward::store::AuditDraft {
        at: common::fixed_now(),
        actor: "ana@acme.test".into(),
        action: "review.start".into(),
        target: "review:q4".into(),
        detail: serde_json::json!({}),
    };
    store.start_campaign("q4", Some(&q.to_string()), &q, common::fixed_now(), &draft).await.expect("campaign");
    let fx = app.run_command("review q4");
    settle(&mut app, &store, fx).await;
    assert!(app.review.open.as_ref().is_some_and(|c| c.items as usize == app.review.items.len() && c.items > 0));
    insta::assert_snapshot!("review_150x30", render(&app, 150, 30));
    // `c` reduces scopes: the form offers the scopes held, the reviewer removes one and gives a reason.
    app.update(key('c'));
    let Mode::Review(form) = &app.mode else { panic!("review form") };
    assert_eq!(form.kind, ReviewDecisionKind::Reduce);
    let held = form.param.lines().join(" ");
    assert!(held.contains("admin:org"), "{held}");
    let item = form.item.id;
    for _ in 0.."admin:org".len() {
        app.update(code(KeyCode::Backspace));
    }
    app.update(code(KeyCode::Tab));
    type_text(&mut app, "admin not needed");
    let fx = app.update(code(KeyCode::Enter));
    let kept: Vec<String> = held.split_whitespace().filter(|s| *s != "admin:org").map(str::to_string).collect();
    assert!(held.ends_with("admin:org"), "the org puts admin:org last: {held}");
    assert_eq!(
        fx,
        vec![Effect::ReviewDecide { item, decision: tokenward::actions::ReviewDecision::Reduce { scopes: kept }, reason: "admin not needed".into() }]
    );
}

#[tokio::test]
async fn a_late_owners_page_of_an_older_filter_is_dropped() {
    let store = common::seeded_store(50).await;
    let mut app = app_on(&store, 150, 30).await;
    let first = app.run_command("owners");
    assert_eq!(first, vec![Effect::LoadOwners { status: None, after: None }]);
    let fx = app.update(key('f'));
    assert_eq!(fx, vec![Effect::LoadOwners { status: Some(tokenward::domain::OwnerStatus::Offboarded), after: None }]);
    // The reply to the first request arrives after the filter changed: it must not show.
    let everyone = store.owners_page(None, None, 200).await.expect("owners");
    app.update(Msg::Owners { status: None, after: None, rows: Ok(everyone) });
    assert!(app.owners.rows.is_empty());
    settle(&mut app, &store, fx).await;
    assert!(!app.owners.rows.is_empty() && app.owners.rows.iter().all(|o| o.status.as_str() == "offboarded"));
}

#[tokio::test]
async fn another_consoles_change_shows_without_a_key() {
    let store = common::seeded_store(300).await;
    let mut app = app_on(&store, 150, 30).await;
    assert!(render(&app, 150, 30).contains("300 credentials"));
    // Another console syncs five more (on PostgreSQL its commit is announced to every console).
    let org = tokenward::reference::org::Org::new(305, 42, common::fixed_now());
    let more: Vec<_> = (300..305).map(|i| tokenward::connectors::tokenward::map_credential("acme-broker", org.credential(i)).expect("maps")).collect();
    let run = store.begin_sync_run("acme-broker", common::fixed_now()).await.expect("run");
    store.ingest_credential_page(run.id, run.started_at, &more, 1, None).await.expect("page");
    assert!(render(&app, 150, 30).contains("300 credentials"), "nothing changes on screen before the news");
    let change = |action: &str, actor: &str| Msg::Changed(tokenward::store::Change { action: action.into(), actor: actor.into(), target: "issuer:acme-broker".into() });
    let fx = app.update(change("sync", "bob"));
    settle(&mut app, &store, fx).await;
    let screen = render(&app, 150, 30);
    assert!(screen.contains("305 credentials") && screen.contains("bob: sync issuer:acme-broker (another console)"), "{screen}");
    // An intent is not news (its outcome follows), nor is the operator's own change.
    app.status = None;
    app.update(change("revoke.intent", "bob"));
    app.update(change("revoke", "ana@acme.test"));
    assert_eq!(app.status, None);
    // A form in progress is left alone.
    app.update(Msg::Key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE)));
    assert!(app.update(change("revoke", "bob")).is_empty());
}

#[tokio::test]
async fn a_viewer_sees_decisions_as_unavailable_with_the_reason_and_no_form_opens() {
    use tokenward::actions::{Act, Actions};
    let store = common::seeded_store(20).await;
    let operators = [("vera@acme.test".to_string(), tokenward::config::OperatorConfig { roles: vec!["viewer".into()], ..Default::default() })].into_iter().collect();
    let engine = tokenward::policy::PolicyEngine::default_engine().expect("policies");
    let may = Actions::new(store.clone(), &[], "vera@acme.test", false).with_governance(engine, operators).permissions();
    // The policies let a viewer revoke only what they own: revoke stays offered, the rest is not.
    assert_eq!(may.unavailable.keys().copied().collect::<Vec<_>>(), vec![Act::Approve, Act::Deny, Act::RevokeOwner, Act::Review]);
    let mut app = App::new(Keymap::default_map(), "vera@acme.test", "test.db", false, common::fixed_now());
    app.permissions = may;
    app.update(Msg::Resize { width: 150, height: 30 });
    let fx = app.start();
    settle(&mut app, &store, fx).await;
    assert!(render(&app, 150, 30).contains("unavailable: approve, deny, revoke everything of a person, review decisions"));
    app.run_command("grants");
    app.grants.queue = vec![a_grant()];
    app.update(key('a'));
    assert!(matches!(app.mode, Mode::Normal), "no approval form opens");
    let status = app.status.clone().expect("a status").1;
    assert!(status.starts_with("approve is unavailable: no policy permits it") && status.contains("approver or admin role"), "{status}");
    app.update(key('?'));
    let help = render(&app, 150, 30);
    assert!(help.contains("(unavailable: no policy permits it"), "{help}");

    // Read-only mode, or a database login that may record nothing: every decision, one reason.
    let limited = Actions::new(store.clone(), &[], "vera", false).with_login_limits(Some("the database login vera may not record decisions".into())).permissions();
    assert_eq!(limited.unavailable.len(), Act::ALL.len());
    assert_eq!(limited.summary().as_deref(), Some("approve, deny, revoke, revoke everything of a person, review decisions unavailable: the database login vera may not record decisions"));
    let mut viewer = App::new(Keymap::default_map(), "vera", "postgres://db", false, common::fixed_now());
    viewer.permissions = limited;
    viewer.update(Msg::Resize { width: 150, height: 30 });
    let fx = viewer.start();
    settle(&mut viewer, &store, fx).await;
    assert!(render(&viewer, 150, 30).contains("VIEW ONLY"));
    viewer.update(key('r'));
    assert!(matches!(viewer.mode, Mode::Normal));
    assert_eq!(viewer.status.clone().map(|s| s.1).as_deref(), Some("revoke is unavailable: the database login vera may not record decisions"));
    // An approver with no [operators] table may do everything.
    assert!(Actions::new(store.clone(), &[], "ana", false).permissions().unavailable.is_empty());
}

#[tokio::test]
async fn a_capped_count_shows_at_once_and_the_exact_one_replaces_it() {
    let store = common::seeded_store(30).await;
    let mut app = app_on(&store, 150, 30).await;
    // As after a new filter: its count not known yet.
    app.views.credentials.window.total = None;
    let generation = app.views.credentials.window.generation;
    app.update(Msg::Count { generation, total: Ok(10_000), at_least: true });
    assert!(render(&app, 150, 30).contains("10,000+ credentials, counting…"));
    app.update(Msg::Count { generation, total: Ok(12_345), at_least: false });
    assert!(render(&app, 150, 30).contains("12,345 credentials │"));
    // A late estimate never replaces the exact count, nor does an older filter's.
    app.update(Msg::Count { generation, total: Ok(10_000), at_least: true });
    app.update(Msg::Count { generation: generation - 1, total: Ok(7), at_least: false });
    assert!(render(&app, 150, 30).contains("12,345 credentials │"));
}
