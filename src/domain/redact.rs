//! Token-shaped text replaced by a short fingerprint, so an issuer that echoes a
//! secret back never gets it into the audit log, the outbox or a review record.

/// Prefixes of well-known tokens, each with the least length of what follows it.
const PREFIXES: &[(&str, usize)] = &[
    ("github_pat_", 8),
    ("ghp_", 8),
    ("gho_", 8),
    ("ghu_", 8),
    ("ghs_", 8),
    ("ghr_", 8),
    ("glpat-", 8),
    ("hvs.", 8),
    ("hvb.", 8),
    ("hvr.", 8),
    ("s.", 20),
    ("b.", 20),
    ("twk_", 8),
    ("xoxb-", 8),
    ("xoxp-", 8),
    ("xapp-", 8),
    ("sk-", 16),
    ("AKIA", 16),
];

/// Shortest run of hex or base64 taken for a secret.
const MIN_RUN: usize = 32;

/// What stands in for a secret: the first 12 hex digits of its sha256.
fn placeholder(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let hex = hex::encode(Sha256::digest(secret.as_bytes()));
    format!("[redacted sha256:{}]", &hex[..12])
}

/// Replaces JWTs, `Bearer <x>` credentials, long hex or base64 runs and known
/// token prefixes with `[redacted sha256:<12 hex>]`. `sha256:<hex>` fingerprints stay.
pub fn redact(s: &str) -> String {
    let s = redact_bearer(s);
    let s = replace_words(&s, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'), dotted_secret);
    replace_words(&s, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/'), long_run)
}

/// Replaces each maximal run of `word` characters that `secret` picks out
/// (as a sub-range of the run, given the text before it).
fn replace_words(s: &str, word: impl Fn(char) -> bool, secret: impl Fn(&str, &str) -> Option<(usize, usize)>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut done = 0;
    while let Some(start) = rest.find(&word) {
        let len = rest[start..].find(|c| !word(c)).unwrap_or(rest.len() - start);
        let run = &rest[start..start + len];
        out.push_str(&rest[..start]);
        match secret(run, &s[..done + start]) {
            Some((a, b)) => {
                out.push_str(&run[..a]);
                out.push_str(&placeholder(&run[a..b]));
                out.push_str(&run[b..]);
            }
            None => out.push_str(run),
        }
        done += start + len;
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// A known token prefix or a JWT, without dots at either end of the run.
fn dotted_secret(run: &str, _before: &str) -> Option<(usize, usize)> {
    let a = run.len() - run.trim_start_matches('.').len();
    let core = run.trim_matches('.');
    let b = a + core.len();
    let prefixed = PREFIXES.iter().any(|(p, min)| core.strip_prefix(p).is_some_and(|t| t.len() >= *min && !t.contains('.')));
    (prefixed || is_jwt(core)).then_some((a, b))
}

/// Three base64url parts separated by dots: a JSON header (`eyJ`), or three long parts.
fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    let b64url = |p: &str| p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if parts.len() != 3 || !parts.iter().all(|p| b64url(p)) {
        return false;
    }
    (parts[0].starts_with("eyJ") && parts[0].len() >= 10 && parts[1].len() >= 10) || parts.iter().all(|p| p.len() >= 16)
}

/// A run of 32 or more hex digits, or base64 with upper and lower case and digits; not a `sha256:` fingerprint.
fn long_run(run: &str, before: &str) -> Option<(usize, usize)> {
    if run.len() < MIN_RUN || before.ends_with("sha256:") {
        return None;
    }
    let hex = run.chars().all(|c| c.is_ascii_hexdigit());
    let mixed = run.chars().any(|c| c.is_ascii_digit()) && run.chars().any(|c| c.is_ascii_uppercase()) && run.chars().any(|c| c.is_ascii_lowercase());
    (hex || mixed).then_some((0, run.len()))
}

/// `Bearer <credential>` in any case: the credential, up to a space, quote or separator.
fn redact_bearer(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("bearer") {
        let start = at + found;
        let after_word = start + "bearer".len();
        let gap = s[after_word..].len() - s[after_word..].trim_start_matches([' ', '\t', ':', '=']).len();
        let cred_start = after_word + gap;
        let cred_len = s[cred_start..].find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '}' | ']' | ')')).unwrap_or(s.len() - cred_start);
        let boundary = !s[..start].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&s[at..cred_start]);
        let already = s[cred_start..].starts_with("[redacted");
        if boundary && gap > 0 && cred_len > 0 && !already {
            out.push_str(&placeholder(&s[cred_start..cred_start + cred_len]));
            at = cred_start + cred_len;
        } else {
            at = cred_start;
        }
    }
    out.push_str(&s[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(input: &str, secret: &str) {
        let out = redact(input);
        assert!(!out.contains(secret), "{secret} kept in {out}");
        assert!(out.contains(&placeholder(secret)), "no placeholder for {secret} in {out}");
    }

    #[test]
    fn jwt_is_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        hidden(&format!("{{\"echo\":\"{jwt}\"}}"), jwt);
        hidden(&format!("token {jwt}."), jwt);
    }

    #[test]
    fn bearer_credential_is_redacted() {
        hidden("sent Authorization: Bearer abc.def-1 to us", "abc.def-1");
        hidden("{\"auth\":\"bearer short\"}", "short");
        assert_eq!(redact("Bearer: x1"), format!("Bearer: {}", placeholder("x1")));
        assert_eq!(redact("forbearer x"), "forbearer x");
    }

    #[test]
    fn long_hex_and_base64_runs_are_redacted() {
        let hex = "0123456789abcdef0123456789abcdef";
        hidden(&format!("key={hex}"), hex);
        let b64 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        hidden(&format!("secret {b64} end"), b64);
        let short = "0123456789abcdef0123456789abcde";
        assert_eq!(redact(short), short);
    }

    #[test]
    fn known_prefixes_are_redacted() {
        for t in ["ghp_1234567890abcdef", "github_pat_11ABCDEFG_xyz", "hvs.CAESIJ-security", "s.AbCdEfGhIjKlMnOpQrStUvWx", "twk_issued_1_2026", "glpat-abcdefgh12"] {
            hidden(&format!("echo: {t}, done"), t);
            hidden(&format!("/v1/revoke/{t}"), t);
        }
    }

    #[test]
    fn ordinary_text_and_fingerprints_stay() {
        for s in [
            "revoked",
            "credential c-000123 revoked at https://issuer.example.com/v1/credentials",
            "s.example and hvs.x",
            "/v1/auth/token/lookup-accessor/1234567890abcdefghijkl",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "version 1.2.3 of a.b.c",
        ] {
            assert_eq!(redact(s), s);
        }
    }

    #[test]
    fn redaction_is_stable() {
        let once = redact("Bearer ghp_1234567890abcdef and eyJhbGciOiJI.eyJzdWIiOiIx.sig");
        assert_eq!(redact(&once), once);
    }
}
