//! Issuer text made safe for a terminal.

/// Longest string kept from an issuer field.
pub const MAX_FIELD: usize = 512;

/// Strip control characters (C0, DEL, C1, which carry terminal escape
/// sequences), every format character (bidi marks and overrides, invisible
/// operators, soft hyphen, tags), line and paragraph separators, and cap the length. Every issuer string
/// passes through here before the store, so nothing hostile reaches a terminal.
pub fn clean(s: &str, max_chars: usize) -> String {
    keep(s, max_chars, |c| !is_hostile(c))
}

/// `clean` that keeps line breaks: a message of several lines (an error and its caret line).
pub fn clean_lines(s: &str, max_chars: usize) -> String {
    keep(s, max_chars, |c| c == '\n' || !is_hostile(c))
}

fn keep(s: &str, max_chars: usize, wanted: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars));
    for (n, ch) in s.chars().filter(|c| wanted(*c)).enumerate() {
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

/// This machine's name, as the kernel (else `$HOSTNAME`) says, cleaned and capped
/// as a DNS name is; `localhost` when neither says. The host of a sync lock's
/// holder and of a scan's deployments.
pub fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().or_else(|| std::env::var("HOSTNAME").ok()).unwrap_or_default();
    let name = clean(name.trim(), 253);
    if name.is_empty() { "localhost".into() } else { name }
}

/// Control characters, Unicode's format characters (general category Cf, as of
/// Unicode 15.1), the line and paragraph separators, and the whole tag block.
pub fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Text for a terminal as written, line breaks kept: every hostile character
/// removed (the same set `clean` strips), nothing capped. What text output passes through.
pub fn for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(|c| c != '\n' && is_hostile(c)) {
        clean_lines(s, usize::MAX).into()
    } else {
        s.into()
    }
}

/// JSON text for a terminal: each hostile character but the line break written
/// as its `\uXXXX` escape (a surrogate pair above U+FFFF). A serializer leaves such
/// characters only inside strings, where the escape is the same value: still
/// valid JSON, and nothing a terminal would obey.
pub fn escape_for_terminal(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.chars().any(|c| c != '\n' && is_hostile(c)) {
        return json.into();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c != '\n' && is_hostile(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.into()
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

    #[test]
    fn clean_strips_each_class_the_issue_names() {
        assert_eq!(clean("a\u{061C}b", 10), "ab", "arabic letter mark");
        assert_eq!(clean("a\u{2028}b\u{2029}c", 10), "abc", "line and paragraph separators");
        assert_eq!(clean("a\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}b", 10), "ab", "word joiner and invisible operators");
        assert_eq!(clean("ad\u{00AD}min", 10), "admin", "soft hyphen");
        assert_eq!(clean("ok\u{E0001}\u{E0041}\u{E0061}\u{E007F}", 10), "ok", "tag characters");
        assert_eq!(clean("\u{E0000}\u{E0020}x", 10), "x", "the whole tag block");
        // Letters, marks and emoji around them survive.
        assert_eq!(clean("café ✓ 東京 🦀", 20), "café ✓ 東京 🦀");
    }

    /// Every control, format (Cf), separator (Zl, Zp) or tag code point, written
    /// out here independently of `is_hostile`, is removed.
    fn listed(c: char) -> bool {
        let n = c as u32;
        c.is_control()
            || [0x00AD, 0x061C, 0x06DD, 0x070F, 0x08E2, 0x180E, 0xFEFF, 0x110BD, 0x110CD].contains(&n)
            || [
                (0x0600, 0x0605),
                (0x0890, 0x0891),
                (0x200B, 0x200F),
                (0x2028, 0x2029),
                (0x202A, 0x202E),
                (0x2060, 0x2064),
                (0x2066, 0x206F),
                (0xFFF9, 0xFFFB),
                (0x13430, 0x1343F),
                (0x1BCA0, 0x1BCA3),
                (0x1D173, 0x1D17A),
                (0xE0000, 0xE007F),
            ]
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&n))
    }

    #[test]
    fn every_control_format_separator_and_tag_code_point_is_removed() {
        let mut removed = 0;
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let out = clean(&format!("a{c}b"), 10);
            if listed(c) {
                assert_eq!(out, "ab", "U+{:04X} must be removed", c as u32);
                removed += 1;
            } else {
                assert_eq!(out, format!("a{c}b"), "U+{:04X} must be kept", c as u32);
            }
        }
        assert_eq!(removed, 268, "65 controls, 75 other format or separator code points, 128 tags");
    }

    #[test]
    fn terminal_text_keeps_line_breaks_and_drops_the_rest() {
        assert_eq!(for_terminal("a\n\x1b]52;c;aGk=\x07b\u{202E}\r\t\u{E0041}c"), "a\n]52;c;aGk=bc");
        assert!(matches!(for_terminal("plain\ntext"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(clean_lines("bad\n  ^\x1b[2J here", 9), "bad\n  ^[2…");
    }

    #[test]
    fn json_for_a_terminal_escapes_hostile_characters_and_keeps_the_value() {
        let value = serde_json::json!({"a": "x\u{9b}\u{202E}\u{2028}\u{E0041}\u{1b}y", "n": [1, 2]});
        let raw = serde_json::to_string_pretty(&value).expect("json");
        let shown = escape_for_terminal(&raw);
        assert!(shown.contains(r"x\u009b\u202e\u2028\udb40\udc41\u001by"), "{shown}");
        assert!(!shown.chars().any(|c| c != '\n' && is_hostile(c)), "{shown:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&shown).expect("still JSON"), value, "the same value");
        assert!(matches!(escape_for_terminal("{\"a\": \"caf\u{e9}\"}\n"), std::borrow::Cow::Borrowed(_)), "clean JSON passes as it is");
    }
}
