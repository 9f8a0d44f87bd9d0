//! The consent-action vocabulary of docs/protocol.md: the canonical words the
//! findings read, and the variants issuers write for them.

/// What a consent event records; `as_str` is the word stored and read by the findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentAction {
    Request,
    Approve,
    Deny,
    Renew,
    ScopeChange,
    Revoke,
    Exchange,
}

impl ConsentAction {
    pub const ALL: [ConsentAction; 7] = [
        ConsentAction::Request,
        ConsentAction::Approve,
        ConsentAction::Deny,
        ConsentAction::Renew,
        ConsentAction::ScopeChange,
        ConsentAction::Revoke,
        ConsentAction::Exchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::Request => "request",
            ConsentAction::Approve => "approve",
            ConsentAction::Deny => "deny",
            ConsentAction::Renew => "renew",
            ConsentAction::ScopeChange => "scope_change",
            ConsentAction::Revoke => "revoke",
            ConsentAction::Exchange => "exchange",
        }
    }
}

/// Every accepted spelling, compared lowercased with separators removed
/// (so `Scope-Changed`, `scope_changed` and `scopeChanged` are one word).
/// docs/protocol.md lists the same table: change both together.
pub const VOCABULARY: &[(ConsentAction, &[&str])] = &[
    (ConsentAction::Request, &["request", "requested", "requests", "requesting", "ask", "asked", "accessrequest", "accessrequested"]),
    (
        ConsentAction::Approve,
        &[
            "approve", "approved", "approves", "approval", "grant", "granted", "grants", "consent", "consented", "allow", "allowed",
            "accept", "accepted", "authorize", "authorized", "authorise", "authorised",
        ],
    ),
    (ConsentAction::Deny, &["deny", "denied", "denies", "denial", "reject", "rejected", "rejection", "decline", "declined", "refuse", "refused"]),
    (ConsentAction::Renew, &["renew", "renewed", "renews", "renewal", "refresh", "refreshed", "refreshes", "extend", "extended", "extension"]),
    (
        ConsentAction::ScopeChange,
        &[
            "scopechange", "scopechanged", "scopeschanged", "scopeupdate", "scopeupdated", "scopesupdated", "rescope", "rescoped",
            "narrow", "narrowed",
        ],
    ),
    (ConsentAction::Revoke, &["revoke", "revoked", "revokes", "revocation", "rescind", "rescinded", "withdraw", "withdrawn"]),
    (ConsentAction::Exchange, &["exchange", "exchanged", "exchanges", "tokenexchange", "tokenexchanged"]),
];

/// The canonical action an issuer's word means, or None for a word outside the
/// vocabulary (kept as written and counted, never guessed).
pub fn consent_action(word: &str) -> Option<ConsentAction> {
    let key: String = word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if key.is_empty() || key.len() > 40 {
        return None;
    }
    VOCABULARY.iter().find(|(_, words)| words.contains(&key.as_str())).map(|(action, _)| *action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_words_map_to_themselves() {
        for a in ConsentAction::ALL {
            assert_eq!(consent_action(a.as_str()), Some(a), "{a:?}");
        }
    }

    #[test]
    fn tense_synonyms_case_and_separators_are_accepted() {
        for (word, want) in [
            ("requested", ConsentAction::Request),
            ("APPROVED", ConsentAction::Approve),
            ("granted", ConsentAction::Approve),
            ("Rejected", ConsentAction::Deny),
            ("denied", ConsentAction::Deny),
            ("refreshed", ConsentAction::Renew),
            ("renewed", ConsentAction::Renew),
            ("scope-changed", ConsentAction::ScopeChange),
            ("Scope Change", ConsentAction::ScopeChange),
            ("scopeChange", ConsentAction::ScopeChange),
            ("revoked", ConsentAction::Revoke),
            ("token_exchanged", ConsentAction::Exchange),
        ] {
            assert_eq!(consent_action(word), Some(want), "{word}");
        }
    }

    #[test]
    fn unknown_words_are_not_guessed() {
        for word in ["", "rotated", "approve-ish", "requestapprove", "é", "  "] {
            assert_eq!(consent_action(word), None, "{word}");
        }
    }

    #[test]
    fn no_spelling_means_two_actions() {
        let mut seen = std::collections::HashSet::new();
        for (_, words) in VOCABULARY {
            for w in *words {
                assert!(seen.insert(*w), "{w} twice");
                assert!(w.chars().all(|c| c.is_ascii_lowercase()), "{w} is not in compared form");
            }
        }
    }
}
