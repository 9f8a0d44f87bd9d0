//! A synthetic organisation generated lazily from (seed, index): credential i
//! is a pure function, so a million of them cost no memory until asked for.
use chrono::{DateTime, Duration, Utc};

use crate::domain::{fingerprint, fmt_ts};
use crate::protocol::{WireConsent, WireCredential, WireGrant, WireOwner, WireTask, WireUsage};

const FIRST: &[&str] = &[
    "ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun", "kofi", "lena", "mateo", "nadia", "omar",
    "priya", "quinn", "rosa", "sami", "tara", "uma", "viktor", "wen", "xavi", "yara", "zane",
];
const LAST: &[&str] = &[
    "silva", "okafor", "nguyen", "schmidt", "kowalski", "haddad", "tanaka", "moreau", "rossi", "berg", "costa", "ivanova",
    "mensah", "park", "reyes", "larsen", "sato", "fischer", "alvarez", "khan",
];
const TEAMS: &[&str] = &["platform", "payments", "data", "support", "security", "sales", "ml", "infra"];
/// (agent, namespace/team, typical scopes, audience)
const AGENTS: &[(&str, &str, &[&str], &str)] = &[
    ("deploy-bot", "platform", &["repo:read", "repo:write", "deploy:prod"], "https://github.com/acme"),
    ("triage-agent", "support", &["tickets:read", "tickets:write", "crm:read"], "https://api.acme.test/support"),
    ("invoice-agent", "payments", &["payments:read", "payments:write", "crm:read"], "https://api.acme.test/payments"),
    ("crm-sync", "sales", &["crm:read", "crm:write"], "https://api.acme.test/crm"),
    ("support-copilot", "support", &["tickets:read", "crm:read"], "https://api.acme.test/support"),
    ("data-etl", "data", &["data:read", "data:export", "secrets:read"], "https://api.acme.test/warehouse"),
    ("release-agent", "platform", &["repo:read", "repo:write", "admin:org"], "https://github.com/acme"),
    ("infra-reconciler", "infra", &["infra:read", "infra:write", "secrets:read"], "https://api.acme.test/infra"),
    ("fraud-scorer", "ml", &["payments:read", "data:read"], "https://api.acme.test/payments"),
    ("access-reviewer", "security", &["directory:read", "audit:read"], "https://api.acme.test/directory"),
    ("code-review-agent", "platform", &["repo:read", "pulls:write"], "https://github.com/acme"),
    ("sales-forecaster", "sales", &["crm:read", "data:read"], "https://api.acme.test/crm"),
];
const INTENTS: &[&str] = &[
    "Reconcile March invoices for ACME-1234",
    "Deploy release 4.2 to production",
    "Summarise open P1 tickets for the weekly review",
    "Sync won opportunities to the CRM",
    "Export churn features for the retention model",
    "Rotate the staging database credentials",
    "Review dependency updates on payments-api",
    "Answer customer ticket #58812",
    "Rebuild the search index after migration",
    "Quarterly access review of admin groups",
];
const ORIGINS: &[&str] = &["10.0.4.17", "10.0.9.3", "ci-runner-12", "k8s:prod-eu-1", "k8s:prod-us-2", "lambda:us-east-1", "203.0.113.50"];

/// splitmix64: small, fast, and deterministic across platforms.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A stream of random numbers for one (seed, stream, index).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, i: u64) -> Rng {
        Rng(mix(seed ^ mix(stream.wrapping_mul(0xA24B_AED4_963E_E407) ^ mix(i))))
    }
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    /// True with probability p per mille.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Org {
    seed: u64,
    credentials: u64,
    now: DateTime<Utc>,
    /// Per mille of credentials used again since `now`, for a re-sync that finds changes.
    churn: u64,
}

pub const HOSTILE_INTENT: &str = "Fix billing \u{1b}[2J\u{1b}]0;pwned\u{7} now";

impl Org {
    pub fn new(credentials: u64, seed: u64, now: DateTime<Utc>) -> Org {
        Org { seed, credentials, now, churn: 0 }
    }

    /// The same organisation a little later: `per_mille` of its credentials were
    /// used again (one more usage event, a newer last use), the rest unchanged.
    pub fn churned(mut self, per_mille: u64) -> Org {
        self.churn = per_mille;
        self
    }

    /// Whether credential `i` changed in the churned organisation.
    pub fn is_churned(&self, i: u64) -> bool {
        self.churn > 0 && mix(self.seed ^ mix(i ^ 0x5EED_C4A2)) % 1000 < self.churn
    }

    pub fn len(&self) -> u64 {
        self.credentials
    }

    pub fn is_empty(&self) -> bool {
        self.credentials == 0
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// What makes two organisations the same one (seed, size, moment), and how much
    /// of it was used again since: a delta listing compares these.
    pub fn generation(&self) -> (u64, u64, i64, u64) {
        (self.seed, self.credentials, self.now.timestamp(), self.churn)
    }

    pub fn people(&self) -> u64 {
        (self.credentials / 25).max(40)
    }

    pub fn person_email(&self, p: u64) -> String {
        // first = p mod 26 and last a bijection of p div 26: unique below 520 people, numbered after.
        let (f, l) = (FIRST.len() as u64, LAST.len() as u64);
        let first = FIRST[(p % f) as usize];
        // 19k mod 20 is a bijection over k, so the pair stays unique per first name.
        let last = LAST[((p / f) * 19 + 3 * (p % f) + self.seed) as usize % l as usize];
        format!("{first}.{last}{}@acme.test", if p < f * l { String::new() } else { p.to_string() })
    }

    fn person_team(&self, p: u64) -> &'static str {
        TEAMS[(mix(self.seed ^ p) % TEAMS.len() as u64) as usize]
    }

    /// About 3% of people have left.
    pub fn person_offboarded(&self, p: u64) -> bool {
        Rng::new(self.seed, 2, p).chance(30)
    }

    pub fn owners(&self) -> Vec<WireOwner> {
        (0..self.people())
            .map(|p| {
                let email = self.person_email(p);
                let name = email.split('@').next().unwrap_or("").split('.').map(capitalise).collect::<Vec<_>>().join(" ");
                let off = self.person_offboarded(p);
                WireOwner {
                    name: Some(name.trim_end_matches(char::is_numeric).to_string()),
                    team: Some(self.person_team(p).to_string()),
                    status: if off { "offboarded" } else { "active" }.into(),
                    offboarded_at: off.then(|| fmt_ts(&(self.now - Duration::days(3 + (mix(p) % 60) as i64)))),
                    email,
                }
            })
            .collect()
    }

    /// The raw synthetic token of credential i. Only tests and the demo's triage see it.
    pub fn secret(&self, i: u64) -> String {
        format!("twk_{:016x}{:016x}", mix(self.seed ^ 0x5EC2E7 ^ i), mix(i.wrapping_add(self.seed)))
    }

    pub fn credential_id(i: u64) -> String {
        format!("cred-{i:07}")
    }

    pub fn credential(&self, i: u64) -> WireCredential {
        let mut r = Rng::new(self.seed, 3, i);
        let now = self.now;
        let (agent, _team, agent_scopes, audience) = *r.pick(AGENTS);
        let instance = r.below(4);
        let workload = if instance == 0 { agent.to_string() } else { format!("{agent}-{instance}") };
        let kind = match r.below(100) {
            0..=39 => "access_token",
            40..=54 => "refresh_token",
            55..=69 => "api_key",
            70..=81 => "personal_access_token",
            82..=91 => "client_secret",
            _ => "svid",
        };
        let binding = if kind == "svid" {
            "mtls"
        } else {
            match r.below(100) {
                0..=71 => "bearer",
                72..=87 => "dpop",
                _ => "mtls",
            }
        };
        // Owner: mostly a person, 2% none, 1% unknown to the directory.
        let owner_roll = r.below(1000);
        let owner = if owner_roll < 20 {
            None
        } else if owner_roll < 30 {
            Some(format!("contractor{}@partner.example", r.below(50)))
        } else {
            Some(self.person_email(r.below(self.people())))
        };
        // Scopes: a subset of the agent's, sometimes an admin scope on top.
        let mut scopes: Vec<String> = agent_scopes.iter().filter(|_| r.chance(650)).map(|s| s.to_string()).collect();
        if scopes.is_empty() {
            scopes.push(agent_scopes[0].to_string());
        }
        if r.chance(40) {
            scopes.push("admin:org".into());
        }
        scopes.dedup();
        let age_minutes = match r.below(10) {
            0..=3 => r.below(60 * 24) as i64,
            4..=7 => r.below(60 * 24 * 90) as i64,
            _ => r.below(60 * 24 * 400) as i64,
        } + 1;
        let issued = now - Duration::minutes(age_minutes);
        let ttl = match kind {
            "access_token" | "svid" => Some(Duration::minutes([5, 15, 60, 240, 1440, 10080][r.below(6) as usize])),
            "refresh_token" => Some(Duration::days([1, 30, 90][r.below(3) as usize])),
            _ if r.chance(450) => None,
            _ => Some(Duration::days([30, 90, 365][r.below(3) as usize])),
        };
        let expires = ttl.map(|t| issued + t);
        let mut status = if expires.is_some_and(|e| e < now) { "expired" } else { "active" };
        if r.chance(15) {
            status = "revoked";
        }
        let last_used = match r.below(10) {
            0 => None,
            1 => Some(issued + Duration::minutes((age_minutes / 10).max(1))),
            _ => Some(now - Duration::minutes(r.below(age_minutes as u64) as i64)),
        };
        let client_id = Some(agent.to_string());
        let subject = match kind {
            "svid" => Some(format!("spiffe://acme.test/ns/{}/sa/{agent}", _team)),
            "personal_access_token" => owner.clone(),
            _ => Some(format!("spiffe://acme.test/ns/{}/sa/{agent}", _team)),
        };
        // Tasks: most access tokens are task-scoped; some tasks ended.
        let task = (kind == "access_token" && r.chance(800)).then(|| {
            let ended = r.chance(400).then(|| issued + Duration::minutes((age_minutes / 2).max(1)));
            WireTask {
                id: format!("task-{:05}", mix(self.seed ^ i) % 100_000),
                intent: Some(if i == 7 || (i > 7 && r.chance(1) && r.chance(200)) { HOSTILE_INTENT.to_string() } else { r.pick(INTENTS).to_string() }),
                ended_at: ended.map(|e| fmt_ts(&e)),
            }
        });
        // Delegation: some credentials are exchanged from an earlier one.
        let (parent_id, act_chain) = if i > 10 && r.chance(80) {
            let parent = r.below(i);
            let hops = 1 + r.below(4);
            let chain = (0..hops).map(|_| r.pick(AGENTS).0.to_string()).collect();
            (Some(Self::credential_id(parent)), chain)
        } else {
            (None, Vec::new())
        };
        // Consent: request and approval for most agent tokens; sometimes scope creep or silent renewals.
        let mut consent = Vec::new();
        if !r.chance(150) {
            let requester = owner.clone().unwrap_or_else(|| self.person_email(r.below(self.people())));
            let approver = self.person_email(r.below(self.people()));
            let granted: Vec<String> = scopes.iter().filter(|s| *s != "admin:org" || r.chance(300)).cloned().collect();
            consent.push(WireConsent { at: fmt_ts(&(issued - Duration::minutes(3))), actor: requester, action: "request".into(), scopes: scopes.clone(), note: task.as_ref().and_then(|t| t.intent.clone()) });
            consent.push(WireConsent { at: fmt_ts(&(issued - Duration::minutes(1))), actor: approver, action: "approve".into(), scopes: granted, note: Some("approved for the task".into()) });
            if r.chance(60) {
                consent.push(WireConsent { at: fmt_ts(&(issued + Duration::minutes(age_minutes / 3))), actor: workload.clone(), action: "scope_change".into(), scopes: scopes.clone(), note: None });
            }
            if kind == "refresh_token" && r.chance(300) {
                for k in 1..=3 {
                    consent.push(WireConsent { at: fmt_ts(&(issued + Duration::minutes(age_minutes * k / 4))), actor: workload.clone(), action: "renew".into(), scopes: Vec::new(), note: Some("silent refresh".into()) });
                }
            }
        }
        if status == "revoked" {
            consent.push(WireConsent { at: fmt_ts(&(now - Duration::minutes(r.below(age_minutes as u64) as i64))), actor: "security@acme.test".into(), action: "revoke".into(), scopes: Vec::new(), note: Some("rotated".into()) });
        }
        // Usage: a few events; ~0.5% forwarded between workloads and origins; some human use.
        let mut usage = Vec::new();
        if let Some(lu) = last_used {
            let n = 1 + r.below(4);
            let forwarded = r.chance(5) || i == 11;
            let human = !forwarded && owner.is_some() && r.chance(5);
            for k in 0..n {
                let at = lu - Duration::minutes((k * 37) as i64);
                let (w, origin) = if forwarded {
                    (r.pick(AGENTS).0.to_string(), r.pick(ORIGINS).to_string())
                } else if human && k == 0 {
                    (owner.clone().unwrap_or_default(), format!("laptop:{}-mbp", owner.as_deref().unwrap_or("x").split('.').next().unwrap_or("x")))
                } else {
                    (workload.clone(), ORIGINS[(mix(i) % 3) as usize].to_string())
                };
                usage.push(WireUsage { at: fmt_ts(&at), workload: Some(w), origin: Some(origin) });
            }
        }
        let mut last_used_at = last_used.map(|t| fmt_ts(&t));
        if self.is_churned(i) {
            let again = fmt_ts(&(now + Duration::minutes(1)));
            usage.insert(0, WireUsage { at: again.clone(), workload: Some(workload.clone()), origin: Some(ORIGINS[(mix(i) % 3) as usize].to_string()) });
            last_used_at = Some(again);
        }
        WireCredential {
            id: Self::credential_id(i),
            kind: kind.into(),
            fingerprint: Some(fingerprint(self.secret(i).as_bytes())),
            client_id,
            subject,
            workload: Some(workload),
            owner,
            scopes,
            audience: vec![audience.to_string()],
            binding: binding.into(),
            issued_at: Some(fmt_ts(&issued)),
            expires_at: expires.map(|e| fmt_ts(&e)),
            last_used_at,
            status: status.into(),
            task,
            parent_id,
            act_chain,
            consent,
            usage,
        }
    }

    pub fn grant_count(&self) -> u64 {
        24 + self.credentials / 5000
    }

    pub fn grant(&self, g: u64) -> WireGrant {
        let mut r = Rng::new(self.seed, 4, g);
        let (agent, _, scopes, audience) = *r.pick(AGENTS);
        let mut asked: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        if r.chance(200) {
            asked.push("admin:org".into());
        }
        let requested = self.now - Duration::minutes(1 + r.below(40) as i64);
        let ttl = [300, 900, 3600, 14_400, 86_400][r.below(5) as usize];
        WireGrant {
            id: format!("grant-{g:04}"),
            workload: Some(agent.to_string()),
            requested_by: Some(self.person_email(r.below(self.people()))),
            intent: Some(r.pick(INTENTS).to_string()),
            scopes: asked,
            audience: vec![audience.to_string()],
            ttl_seconds: ttl,
            binding: if r.chance(600) { "bearer" } else { "dpop" }.into(),
            requested_at: Some(fmt_ts(&requested)),
            expires_at: Some(fmt_ts(&(requested + Duration::hours(4)))),
            status: "pending".into(),
        }
    }

    pub fn pending_grants(&self) -> Vec<WireGrant> {
        (0..self.grant_count()).map(|g| self.grant(g)).collect()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn org(n: u64, seed: u64) -> Org {
        Org::new(n, seed, Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().expect("time"))
    }

    #[test]
    fn a_churned_organisation_changes_only_its_share_and_only_their_last_use() {
        let (before, after) = (org(10_000, 3), org(10_000, 3).churned(100));
        let changed: Vec<u64> = (0..10_000).filter(|i| before.credential(*i) != after.credential(*i)).collect();
        assert!((900..1100).contains(&changed.len()), "{} of 10,000 changed", changed.len());
        assert!(changed.iter().all(|i| after.is_churned(*i)));
        let (b, a) = (before.credential(changed[0]), after.credential(changed[0]));
        assert_eq!((a.usage.len(), a.scopes.clone(), a.status.clone()), (b.usage.len() + 1, b.scopes.clone(), b.status.clone()));
        assert!(a.last_used_at > b.last_used_at);
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(org(100, 1).credential(42), org(100, 1).credential(42));
        assert_ne!(org(100, 1).credential(42), org(100, 2).credential(42));
        assert_eq!(org(100, 1).owners(), org(100, 1).owners());
    }

    #[test]
    fn covers_every_kind_binding_and_case() {
        let o = org(5000, 42);
        let creds: Vec<_> = (0..5000).map(|i| o.credential(i)).collect();
        for kind in ["access_token", "refresh_token", "api_key", "personal_access_token", "client_secret", "svid"] {
            assert!(creds.iter().any(|c| c.kind == kind), "no {kind}");
        }
        for b in ["bearer", "dpop", "mtls"] {
            assert!(creds.iter().any(|c| c.binding == b), "no {b}");
        }
        assert!(creds.iter().any(|c| c.owner.is_none()));
        assert!(creds.iter().any(|c| c.expires_at.is_none()));
        assert!(creds.iter().any(|c| c.status == "expired") && creds.iter().any(|c| c.status == "revoked"));
        assert!(creds.iter().any(|c| c.act_chain.len() == 4 && c.parent_id.is_some()));
        assert!(creds.iter().any(|c| c.task.as_ref().is_some_and(|t| t.ended_at.is_some())));
        assert!(creds.iter().any(|c| c.usage.iter().map(|u| &u.origin).collect::<std::collections::BTreeSet<_>>().len() > 1));
        assert!(creds.iter().any(|c| c.consent.iter().any(|e| e.action == "renew")));
        let people = o.owners();
        let off = people.iter().filter(|p| p.status == "offboarded").count() as f64 / people.len() as f64;
        assert!((0.01..0.06).contains(&off), "offboarded share {off}");
        let emails: std::collections::BTreeSet<_> = people.iter().map(|p| &p.email).collect();
        assert_eq!(emails.len(), people.len(), "people emails are unique");
        assert!(o.credential(7).task.and_then(|t| t.intent).is_some_and(|s| s.contains('\u{1b}')));
        assert_eq!(o.credential(3).fingerprint, Some(fingerprint(o.secret(3).as_bytes())));
    }
}
