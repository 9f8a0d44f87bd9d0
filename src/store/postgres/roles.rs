//! Who may do what, enforced by PostgreSQL itself: `tokenward db init-roles`
//! creates group roles whose privileges match the policies' roles, and the
//! operator is the login PostgreSQL authenticated, with the roles it is in.
use super::PgStore;
use crate::store::error::Result;

/// The group roles, each granted to logins by the DBA (`GRANT tokenward_approver TO alice`).
pub const ROLES: [&str; 5] = ["tokenward_viewer", "tokenward_reviewer", "tokenward_approver", "tokenward_admin", "tokenward_sync"];

/// The privileges, in order. No role may UPDATE, DELETE or TRUNCATE the audit
/// log: appending is all anyone does. Only the sync's role writes the inventory
/// tables; a decision changes just the columns it must (a revocation the status).
const GRANTS: &[&str] = &[
    "GRANT USAGE ON SCHEMA public TO tokenward_viewer, tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO tokenward_viewer, tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    "GRANT INSERT ON audit_log TO tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    // Decisions: claims, their consent events, a revocation and what it closes.
    "GRANT INSERT, UPDATE, DELETE ON action_claims TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    // The sync retries the outbox: a revocation it sees confirmed ends its credential's claim.
    "GRANT DELETE ON action_claims TO tokenward_sync",
    "GRANT INSERT ON consent_events TO tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    "GRANT UPDATE (status) ON credentials TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    "GRANT UPDATE (closed_at) ON findings TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    "GRANT INSERT, UPDATE ON revocation_outbox TO tokenward_reviewer, tokenward_approver, tokenward_admin, tokenward_sync",
    "GRANT UPDATE (status, decided_by, decided_at, decision_note, credential_id) ON grants TO tokenward_approver, tokenward_admin",
    // Reviews: campaigns, decisions, and what a decision narrows.
    "GRANT INSERT ON review_campaigns TO tokenward_reviewer, tokenward_admin",
    "GRANT INSERT ON review_items TO tokenward_reviewer, tokenward_admin",
    "GRANT UPDATE (decision, decided_by, decided_at, reason, detail, issuer_answer) ON review_items TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    "GRANT UPDATE (owner, scopes, expires_at) ON credentials TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    "GRANT INSERT, DELETE ON credential_scopes TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    // A credential's key in the default order, which its scope rows carry (a trigger
    // rewrites it when a decision changes the credential's status or expiry).
    "GRANT UPDATE (k) ON credential_scopes TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    "GRANT INSERT ON scope_snapshots TO tokenward_reviewer, tokenward_approver, tokenward_admin",
    // The sync: the inventory itself, and the findings computed from it.
    "GRANT INSERT, UPDATE, DELETE ON issuers, owners, workloads, credentials, credential_scopes, delegation, consent_events, usage_events, grants, sync_runs, sync_locks, scope_snapshots, findings, findings_runs, sync_seen TO tokenward_sync",
    // A scan records where credentials are deployed: a sync login's job, or an admin's.
    "GRANT INSERT, UPDATE, DELETE ON deployments TO tokenward_sync, tokenward_admin",
    // An admin may do what approvers and reviewers do.
    "GRANT tokenward_approver, tokenward_reviewer TO tokenward_admin",
];

impl PgStore {
    /// Creates the group roles (those missing) and grants their privileges on
    /// this database's tables; run by a login that owns the schema. Returns the
    /// statements it ran, for the operator to see.
    pub async fn init_roles(&self) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut ran = Vec::new();
        for role in ROLES {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)").bind(role).fetch_one(&mut *tx).await?;
            if !exists {
                // A fixed name from ROLES, never input.
                let create = format!("CREATE ROLE {role} NOLOGIN");
                sqlx::query(sqlx::AssertSqlSafe(create.clone())).execute(&mut *tx).await?;
                ran.push(create);
            }
        }
        for grant in GRANTS {
            sqlx::query(*grant).execute(&mut *tx).await?;
            ran.push((*grant).to_string());
        }
        tx.commit().await?;
        Ok(ran)
    }

    pub async fn acting_login(&self) -> Result<Option<crate::store::rows::DbLogin>> {
        let (roles, groups) = self.login_roles().await?;
        let name = self.session_user().await?;
        // A decision needs its claim and its audit entries; a login granted neither records none.
        let (audit, claims): (bool, bool) = sqlx::query_as(
            "SELECT has_table_privilege(session_user, 'audit_log', 'INSERT'), has_table_privilege(session_user, 'action_claims', 'INSERT')",
        )
        .fetch_one(&self.pool)
        .await?;
        let may_not_record = (!(audit && claims)).then(|| {
            let held = if roles.is_empty() { "no tokenward role".to_string() } else { format!("tokenward roles: {}", roles.join(", ")) };
            format!("the database login {name} may not record decisions (PostgreSQL grants it no INSERT on the audit log; {held})")
        });
        Ok(Some(crate::store::rows::DbLogin { name, roles, groups, may_not_record }))
    }

    /// The roles (`tokenward_approver` as `approver`) and the other groups this
    /// session's login is a member of: what Cedar sees of the operator.
    pub async fn login_roles(&self) -> Result<(Vec<String>, Vec<String>)> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT r.rolname::text FROM pg_roles r
             WHERE r.rolname <> session_user AND r.rolname NOT LIKE 'pg\\_%' AND pg_has_role(session_user, r.oid, 'MEMBER')
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let (roles, groups): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| n.starts_with("tokenward_"));
        Ok((roles.into_iter().map(|r| r.trim_start_matches("tokenward_").to_string()).collect(), groups))
    }
}
