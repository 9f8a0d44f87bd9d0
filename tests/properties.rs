//! Property tests for the three places hostile or typed-by-hand text enters:
//! the filter parser, the protocol-v1 decoder and the sanitizer.
//!
//! Each property runs `PROPTEST_CASES` cases (256 by default, what `scripts/test`
//! runs); a longer run is `PROPTEST_CASES=100000 cargo test --release --test properties`.
//! Failures are not persisted to files: a case that fails becomes a plain unit
//! test next to the code it broke.
use proptest::prelude::*;
use proptest::string::string_regex;
use proptest::test_runner::Config;

use tokenward::connectors::tokenward::{map_credential, map_grant, map_owner};
use tokenward::domain::text::{clean, is_hostile, MAX_FIELD};
use tokenward::domain::{Binding, Credential, CredentialKind, CredentialStatus, OwnerStatus};
use tokenward::filter::{parse, Clause, Query, Term};
use tokenward::protocol::{Page, WireConsent, WireCredential, WireGrant, WireOwner, WireTask, WireUsage};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    Config { cases, failure_persistence: None, ..Config::default() }
}

fn regex(r: &str) -> BoxedStrategy<String> {
    string_regex(r).expect("a valid test regex").boxed()
}

// ---------------------------------------------------------------- characters

/// Control, format, line and paragraph separator characters, as Unicode's own
/// categories name them (the tables of proptest's regex engine, not tokenward's).
fn hostile_char() -> BoxedStrategy<char> {
    prop_oneof![
        regex(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"),
        // The tag block, including its unassigned code points.
        (0xE0000u32..=0xE007F).prop_map(|n| char::from_u32(n).map(String::from).unwrap_or_default()),
    ]
    .prop_filter_map("one char", |s| s.chars().next())
    .boxed()
}

/// Letters, marks, numbers, punctuation, symbols and the plain space: text that must survive.
fn safe_char() -> BoxedStrategy<char> {
    regex(r"[\p{L}\p{M}\p{N}\p{P}\p{S} ]").prop_filter_map("one char", |s| s.chars().next()).boxed()
}

/// Any char, weighted towards the ones that make trouble.
fn wild_char() -> BoxedStrategy<char> {
    prop_oneof![
        4 => any::<char>(),
        2 => hostile_char(),
        2 => safe_char(),
        1 => prop::sample::select(vec!['"', '-', ':', '<', '>', ' ', '\t', '\n', '\u{1b}', '\u{9b}', 'İ', 'ẞ', '…']),
    ]
    .boxed()
}

fn wild_string(max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(wild_char(), 0..max).prop_map(|v| v.into_iter().collect()).boxed()
}

/// The characters the sanitizer's documentation promises to remove, listed here
/// on their own: bidi marks and overrides, invisible operators, soft hyphen,
/// byte order mark, separators, tags.
fn documented_hostile(c: char) -> bool {
    let n = c as u32;
    c.is_control()
        || matches!(
            n,
            0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xE0000..=0xE007F
        )
}

// ---------------------------------------------------------------- sanitizer

proptest! {
    #![proptest_config(config())]

    #[test]
    fn clean_output_has_no_hostile_char_and_is_capped(s in wild_string(200), cap in 0usize..80) {
        let out = clean(&s, cap);
        for c in out.chars() {
            prop_assert!(!documented_hostile(c) && !is_hostile(c), "U+{:04X} survived in {:?}", c as u32, out);
        }
        let n = out.chars().count();
        // The cap counts kept characters; a cut string ends in one '…' beyond it.
        prop_assert!(n <= cap || (n == cap + 1 && out.ends_with('…')), "{n} chars for cap {cap}");
        prop_assert!(out.len() <= s.len() + '…'.len_utf8());
    }

    #[test]
    fn clean_is_idempotent(s in wild_string(200), cap in 0usize..80) {
        let once = clean(&s, cap);
        prop_assert_eq!(clean(&once, cap), once.clone());
        prop_assert_eq!(clean(&once, MAX_FIELD.max(cap + 1)), once);
    }

    /// Interleave kept text with hostile characters drawn from Unicode's categories:
    /// exactly the kept text comes out, so nothing hostile survives and nothing else is lost.
    #[test]
    fn clean_removes_exactly_the_hostile_categories(
        pieces in prop::collection::vec((prop::collection::vec(safe_char(), 0..6), prop::collection::vec(hostile_char(), 0..3)), 0..12)
    ) {
        let input: String = pieces.iter().flat_map(|(safe, bad)| safe.iter().chain(bad.iter())).collect();
        let expected: String = pieces.iter().flat_map(|(safe, _)| safe.iter()).collect();
        prop_assert_eq!(clean(&input, 10_000), expected);
    }

    #[test]
    fn every_categorised_hostile_char_is_hostile(c in hostile_char()) {
        prop_assert!(is_hostile(c), "U+{:04X} is Cc, Cf, Zl, Zp or a tag but not removed", c as u32);
    }
}

// ---------------------------------------------------------------- filter parser

/// Raw text built from the pieces of the filter language and noise.
fn filter_soup() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "owner:", "owner-status:", "workload:", "scope:", "binding:", "status:", "issuer:", "kind:", "expires<", "expires>",
            "expires:never", "unused>", "finding:", "-", "\"", ":", " ", "  ", "\t", "none", "7d", "12h", "30m", "2w", "99999w", "100000d",
            "-1d", "+3d", "active", "bearer", "api_key", "offboarded", "é", "İ", "東京", "\u{202E}", "\u{0}",
        ])
        .prop_map(String::from),
        wild_string(6),
    ];
    prop::collection::vec(piece, 0..14).prop_map(|v| v.concat()).boxed()
}

fn duration() -> BoxedStrategy<chrono::Duration> {
    (0i64..100_000, prop::sample::select(vec!['m', 'h', 'd', 'w']))
        .prop_map(|(n, unit)| match unit {
            'm' => chrono::Duration::minutes(n),
            'h' => chrono::Duration::hours(n),
            'd' => chrono::Duration::days(n),
            _ => chrono::Duration::weeks(n),
        })
        .boxed()
}

/// A value a user can type after `key:` (quoted if it holds spaces): never a quote
/// (quotes only group), never blank.
fn value() -> BoxedStrategy<String> {
    prop_oneof![
        regex(r"[a-z0-9@._:/\-]{1,12}"),
        regex(r"[a-zA-Z0-9 :\-<>]{1,12}"),
        prop::collection::vec(wild_char(), 1..10).prop_map(|v| v.into_iter().collect()),
    ]
    .prop_map(|s: String| s.replace('"', ""))
    .prop_filter("a value", |s| !s.trim().is_empty())
    .boxed()
}

fn term() -> BoxedStrategy<Term> {
    prop_oneof![
        value().prop_map(|v| v.to_lowercase()).prop_filter("not none", |v| v != "none").prop_map(Term::Owner),
        Just(Term::OwnerNone),
        prop::sample::select(OwnerStatus::ALL.to_vec()).prop_map(Term::OwnerStatus),
        value().prop_map(Term::Workload),
        value().prop_map(Term::Scope),
        prop::sample::select(Binding::ALL.to_vec()).prop_map(Term::Binding),
        prop::sample::select(CredentialStatus::ALL.to_vec()).prop_map(Term::Status),
        value().prop_map(Term::Issuer),
        prop::sample::select(CredentialKind::ALL.to_vec()).prop_map(Term::Kind),
        duration().prop_map(Term::ExpiresWithin),
        duration().prop_map(Term::ExpiresBeyond),
        Just(Term::ExpiresNever),
        duration().prop_map(Term::UnusedFor),
        value().prop_map(Term::Finding),
        value().prop_map(Term::Text),
    ]
    .boxed()
}

fn query() -> BoxedStrategy<Query> {
    prop::collection::vec((any::<bool>(), term()), 0..8)
        .prop_map(|v| Query { clauses: v.into_iter().map(|(negated, term)| Clause { negated, term }).collect() })
        .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn filter_parse_never_panics(s in prop_oneof![wild_string(60), filter_soup()]) {
        if let Err(e) = parse(&s) {
            prop_assert!(e.position <= s.chars().count(), "position {} past the end of {:?}", e.position, s);
            let _ = e.caret_line(&s);
        }
    }

    /// Whatever parses prints to text that parses back to the same query.
    #[test]
    fn filter_print_of_a_parse_is_stable(s in filter_soup()) {
        if let Ok(q) = parse(&s) {
            let printed = q.to_string();
            prop_assert_eq!(parse(&printed), Ok(q.clone()), "printed as {:?}", printed);
            prop_assert_eq!(parse(&printed).map(|p| p.to_string()), Ok(printed));
        }
    }

    /// A query built from the term grammar prints to text that parses back to it.
    #[test]
    fn filter_query_round_trips(q in query()) {
        let printed = q.to_string();
        prop_assert_eq!(parse(&printed), Ok(q), "printed as {:?}", printed);
    }
}

// ---------------------------------------------------------------- protocol decoder

fn timestamp() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0i64..4_000_000_000).prop_map(|s| chrono::DateTime::from_timestamp(s, 0).map(|t| t.to_rfc3339()).unwrap_or_default()),
        1 => wild_string(30),
        1 => Just("9999-12-31T23:59:60+23:59".to_string()),
    ]
    .boxed()
}

fn enum_or_wild(all: Vec<&'static str>) -> BoxedStrategy<String> {
    prop_oneof![3 => prop::sample::select(all).prop_map(String::from), 1 => wild_string(20)].boxed()
}

fn long_wild() -> BoxedStrategy<String> {
    prop_oneof![4 => wild_string(40), 1 => (wild_string(8), 60usize..400).prop_map(|(s, n)| s.repeat(n))].boxed()
}

fn list() -> BoxedStrategy<Vec<String>> {
    prop::collection::vec(long_wild(), 0..6).boxed()
}

fn wire_credential() -> BoxedStrategy<WireCredential> {
    let kinds = CredentialKind::ALL.iter().map(|k| k.as_str()).collect();
    let bindings = Binding::ALL.iter().map(|b| b.as_str()).collect();
    let statuses = CredentialStatus::ALL.iter().map(|s| s.as_str()).collect();
    let fingerprint = prop_oneof![regex("sha256:[0-9a-fA-F]{64}"), wild_string(20)];
    let task = (long_wild(), prop::option::of(long_wild()), prop::option::of(timestamp()))
        .prop_map(|(id, intent, ended_at)| WireTask { id, intent, ended_at });
    let consent = (timestamp(), long_wild(), long_wild(), list(), prop::option::of(long_wild()))
        .prop_map(|(at, actor, action, scopes, note)| WireConsent { at, actor, action, scopes, note });
    let usage = (timestamp(), prop::option::of(long_wild()), prop::option::of(long_wild()))
        .prop_map(|(at, workload, origin)| WireUsage { at, workload, origin });
    let ids = (long_wild(), enum_or_wild(kinds), prop::option::of(fingerprint), enum_or_wild(bindings), enum_or_wild(statuses));
    let who = (prop::option::of(long_wild()), prop::option::of(long_wild()), prop::option::of(long_wild()), prop::option::of(long_wild()));
    let times = (prop::option::of(timestamp()), prop::option::of(timestamp()), prop::option::of(timestamp()));
    let rest = (
        list(),
        list(),
        prop::option::of(task),
        prop::option::of(long_wild()),
        list(),
        prop::collection::vec(consent, 0..3),
        prop::collection::vec(usage, 0..3),
    );
    (ids, who, times, rest)
        .prop_map(|((id, kind, fingerprint, binding, status), (client_id, subject, workload, owner), (issued_at, expires_at, last_used_at), rest)| {
            let (scopes, audience, task, parent_id, act_chain, consent, usage) = rest;
            WireCredential {
                id,
                kind,
                fingerprint,
                client_id,
                subject,
                workload,
                owner,
                scopes,
                audience,
                binding,
                issued_at,
                expires_at,
                last_used_at,
                status,
                task,
                parent_id,
                act_chain,
                consent,
                usage,
            }
        })
        .boxed()
}

/// Every string a mapped credential holds, with the cap it must respect.
fn strings_of(c: &Credential) -> Vec<(&str, &str, usize)> {
    let mut out = vec![("id", c.id.as_str(), 16), ("external_id", c.external_id.as_str(), 200)];
    for (name, v) in [("client_id", &c.client_id), ("subject", &c.subject), ("workload", &c.workload), ("owner", &c.owner)] {
        out.extend(v.as_deref().map(|s| (name, s, MAX_FIELD)));
    }
    out.extend(c.fingerprint.as_deref().map(|s| ("fingerprint", s, 71)));
    out.extend(c.parent_id.as_deref().map(|s| ("parent_id", s, 16)));
    out.extend(c.scopes.iter().map(|s| ("scopes", s.as_str(), 256)));
    out.extend(c.audience.iter().map(|s| ("audience", s.as_str(), 256)));
    out.extend(c.act_chain.iter().map(|s| ("act_chain", s.as_str(), MAX_FIELD)));
    if let Some(t) = &c.task {
        out.push(("task.id", t.id.as_str(), 200));
        out.extend(t.intent.as_deref().map(|s| ("task.intent", s, MAX_FIELD)));
    }
    for e in &c.consent {
        out.push(("consent.actor", e.actor.as_str(), MAX_FIELD));
        out.push(("consent.action", e.action.as_str(), 40));
        out.extend(e.note.as_deref().map(|s| ("consent.note", s, MAX_FIELD)));
        out.extend(e.scopes.iter().map(|s| ("consent.scopes", s.as_str(), 256)));
    }
    for u in &c.usage {
        out.extend(u.workload.as_deref().map(|s| ("usage.workload", s, MAX_FIELD)));
        out.extend(u.origin.as_deref().map(|s| ("usage.origin", s, MAX_FIELD)));
    }
    out
}

/// Arbitrary JSON-shaped text: real credentials serialised, cut and spliced,
/// and JSON-ish noise.
fn json_soup() -> BoxedStrategy<String> {
    let page = (prop::collection::vec(wire_credential(), 0..3), prop::option::of(wild_string(10)))
        .prop_map(|(items, next_cursor)| serde_json::to_string(&Page::new(items, next_cursor)).unwrap_or_default());
    let cut = (page.clone(), any::<prop::sample::Index>(), wild_string(8)).prop_map(|(s, at, noise)| {
        let cuts: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let i = cuts[at.index(cuts.len())];
        format!("{}{noise}{}", &s[..i], &s[i..])
    });
    let noise = prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                "{", "}", "[", "]", ",", ":", "\"items\"", "\"next_cursor\"", "\"id\"", "\"kind\"", "\"scopes\"", "\"consent\"", "null", "true",
                "1e999", "-0", "\"\\u0000\"", "\"\\ud800\"", "\"", "\\", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            ])
            .prop_map(String::from),
            wild_string(4),
        ],
        0..30,
    )
    .prop_map(|v| v.concat());
    prop_oneof![page, cut, noise].boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_credential_output_is_clean_and_capped(w in wire_credential(), issuer in regex("[a-z][a-z0-9-]{0,10}")) {
        match map_credential(&issuer, w) {
            Ok(c) => {
                for (field, s, cap) in strings_of(&c) {
                    prop_assert!(!s.chars().any(|ch| documented_hostile(ch) || is_hostile(ch)), "{field} holds a hostile char: {s:?}");
                    prop_assert!(s.chars().count() <= cap + 1, "{field} has {} chars, cap {cap}", s.chars().count());
                }
                for s in c.scopes.iter().chain(&c.audience) {
                    prop_assert!(!s.is_empty() && !s.contains(char::is_whitespace), "scope or audience {s:?}");
                }
            }
            Err(message) => {
                prop_assert!(!message.chars().any(|ch| documented_hostile(ch) || is_hostile(ch)), "error holds a hostile char: {message:?}");
            }
        }
    }

    /// Owners and grants: the lower-cased fields too stay clean and within their caps.
    #[test]
    fn map_owner_and_grant_are_clean_and_capped(
        text in (long_wild(), prop::option::of(long_wild()), prop::option::of(long_wild()), prop::option::of(long_wild()), list()),
        ttl_seconds in any::<i64>(),
        status in enum_or_wild(vec!["active", "offboarded", "inactive", "pending", "approved", "denied"]),
    ) {
        let (email, name, team, intent, scopes) = text;
        let owner = WireOwner { email: email.clone(), name: name.clone(), team, status: status.clone(), offboarded_at: None };
        if let Ok(o) = map_owner("b", owner) {
            let fields = [("email", Some(o.email.as_str()), 254), ("name", o.name.as_deref(), MAX_FIELD), ("team", o.team.as_deref(), MAX_FIELD)];
            for (field, s, cap) in fields.into_iter().filter_map(|(f, s, c)| s.map(|s| (f, s, c))) {
                prop_assert!(!s.chars().any(|ch| documented_hostile(ch) || is_hostile(ch)), "{field} holds a hostile char: {s:?}");
                prop_assert!(s.chars().count() <= cap + 1, "{field} has {} chars, cap {cap}", s.chars().count());
            }
        }
        let grant = WireGrant {
            id: email, workload: name.clone(), requested_by: name, intent, scopes, audience: vec![], ttl_seconds,
            binding: "bearer".into(), requested_at: None, expires_at: None, status,
        };
        if let Ok(g) = map_grant("b", grant) {
            prop_assert!(g.ttl_seconds >= 0);
            for s in [g.workload.as_deref(), g.requested_by.as_deref(), g.intent.as_deref()].into_iter().flatten() {
                prop_assert!(!s.chars().any(|ch| documented_hostile(ch) || is_hostile(ch)), "hostile char in {s:?}");
                prop_assert!(s.chars().count() <= MAX_FIELD + 1, "{} chars", s.chars().count());
            }
        }
    }

    #[test]
    fn page_decoding_never_panics(s in json_soup(), issuer in regex("[a-z]{1,8}")) {
        if let Ok(page) = serde_json::from_str::<Page<WireCredential>>(&s) {
            for w in page.items {
                let _ = map_credential(&issuer, w);
            }
        }
        let _ = serde_json::from_str::<Page<serde_json::Value>>(&s);
    }
}
