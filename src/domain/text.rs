//! Issuer text made safe for a terminal.

/// Longest string kept from an issuer field.
pub const MAX_FIELD: usize = 512;

/// Strip control characters (C0, DEL, C1, which carry terminal escape
/// sequences) and bidi overrides, and cap the length. Every issuer string
/// passes through here before the store, so nothing hostile reaches a terminal.
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars));
    for (n, ch) in s.chars().filter(|c| !is_hostile(*c)).enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        out.push(ch);
    }
    out
}

pub fn clean_field(s: &str) -> String {
    clean(s, MAX_FIELD)
}

fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_escape_sequences_and_caps() {
        assert_eq!(clean("a\x1b[31mred\x07\u{202E}b", 100), "a[31mredb");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("\u{9b}2J", 10), "2J");
    }
}
