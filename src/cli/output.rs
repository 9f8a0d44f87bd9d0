//! How commands print: an aligned table, CSV (RFC 4180, via the `csv` crate) or
//! JSON. Markdown is the review evidence's; listings print it as a table.
//!
//! Every byte a command prints goes through a `Terminal` writer (`stdout`,
//! `stdout_json`, `stderr`, or `say`/`tell` for a line), the one place where text
//! loses the characters a terminal would obey (`text::is_hostile`), whatever the
//! store held: a database from an older version or edited by hand included.
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::Path;

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::context::Format;
use crate::domain::text;

/// What a `Terminal` writer does to the text through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shield {
    /// Hostile characters removed, line breaks kept: text for people, on a terminal or in a file.
    Text,
    /// Hostile characters written as JSON `\uXXXX` escapes: the same value, nothing a terminal obeys.
    Json,
    /// Byte for byte: JSON to a pipe or a file.
    Exact,
}

/// A writer that passes text through its `Shield`. Text may arrive split anywhere,
/// even inside a character: an incomplete one waits for the rest.
pub struct Terminal<W: Write> {
    inner: W,
    shield: Shield,
    pending: Vec<u8>,
}

impl<W: Write> Terminal<W> {
    pub fn new(inner: W, shield: Shield) -> Self {
        Terminal { inner, shield, pending: Vec::new() }
    }

    fn pass(&mut self, s: &str) -> std::io::Result<()> {
        match self.shield {
            Shield::Text => self.inner.write_all(text::for_terminal(s).as_bytes()),
            Shield::Json => self.inner.write_all(text::escape_for_terminal(s).as_bytes()),
            Shield::Exact => self.inner.write_all(s.as_bytes()),
        }
    }
}

impl<W: Write> Write for Terminal<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.shield == Shield::Exact {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let pending = std::mem::take(&mut self.pending);
        let mut rest = pending.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.pass(s)?;
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    self.pass(std::str::from_utf8(good).unwrap_or_default())?;
                    match e.error_len() {
                        // Not UTF-8 at all: shown as U+FFFD, as a lossy conversion would.
                        Some(n) => {
                            self.pass("\u{FFFD}")?;
                            rest = &bad[n..];
                        }
                        None => {
                            self.pending = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            self.pass(&rest)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Terminal<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard output for text (tables, CSV, `show`, messages).
pub fn stdout() -> Terminal<std::io::StdoutLock<'static>> {
    Terminal::new(std::io::stdout().lock(), Shield::Text)
}

/// Standard output for JSON: escaped on a terminal, exact to a pipe or a file.
pub fn stdout_json() -> Terminal<std::io::StdoutLock<'static>> {
    let shield = if std::io::stdout().is_terminal() { Shield::Json } else { Shield::Exact };
    Terminal::new(std::io::stdout().lock(), shield)
}

/// Standard error: messages, progress lines and errors, which may quote an issuer.
pub fn stderr() -> Terminal<std::io::StderrLock<'static>> {
    Terminal::new(std::io::stderr().lock(), Shield::Text)
}

/// One line of text on stdout (what `println!` would print, shielded).
pub fn say(line: fmt::Arguments) -> std::io::Result<()> {
    writeln!(stdout(), "{line}")
}

/// One line on stderr (what `eprintln!` would print, shielded). A message that
/// cannot be written has nowhere else to go, so a failure is dropped.
pub fn tell(line: fmt::Arguments) {
    let _ = writeln!(stderr(), "{line}");
}

/// Pretty JSON on stdout: the shape `--format json` promises.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    writeln!(stdout_json(), "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// Rows under a header, as CSV or as a table (JSON callers serialise their own rows).
pub fn print_rows(format: Format, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut out = stdout();
    match format {
        Format::Csv => {
            let mut csv = csv_writer(&mut out, header)?;
            for r in rows {
                write_csv_row(&mut csv, r)?;
            }
            csv.flush()?;
        }
        Format::Table | Format::Json | Format::Md => write_table(&mut out, header, rows)?,
    }
    Ok(())
}

/// A CSV writer whose first record is the header in snake case (`LAST USED` -> `last_used`).
pub fn csv_writer<W: Write>(out: W, header: &[&str]) -> Result<csv::Writer<W>> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(header.iter().map(|h| h.to_lowercase().replace(' ', "_")))?;
    Ok(csv)
}

/// One record, each field cleaned of control characters and defused as a spreadsheet formula.
pub fn write_csv_row<W: Write>(csv: &mut csv::Writer<W>, fields: &[String]) -> Result<()> {
    csv.write_record(fields.iter().map(|f| csv_field(f)))?;
    Ok(())
}

fn csv_field(s: &str) -> String {
    let s = text::clean(s, 4096);
    // A leading quote keeps a spreadsheet from running the field as a formula (tab and CR too, should cleaning keep them).
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s }
}

/// A Markdown table cell: HTML and pipes escaped (an issuer's string can neither
/// inject markup nor break the table), control characters and newlines gone.
pub fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in text::clean(&s.replace(['\n', '\r'], " "), 4096).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

/// Writes an export file readable by its owner only (0600 on Unix), whether it is
/// new or replaces an older export.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Columns padded to their widest cell (by display width), two spaces apart.
pub fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| text::clean(c, 120)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.width());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i + 1 < cols.len() {
                s.push_str(&" ".repeat(w - c.width() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in &cells {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(rows: &[Vec<String>]) -> String {
        let mut buf = Vec::new();
        let mut csv = csv_writer(&mut buf, &["ID", "LAST USED"]).expect("header");
        for r in rows {
            write_csv_row(&mut csv, r).expect("row");
        }
        drop(csv);
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn csv_quotes_as_rfc_4180_and_defuses_formulas() {
        let rows = vec![
            vec!["plain".to_string(), "a, b".to_string()],
            vec!["say \"hi\"".to_string(), "=SUM(A1)".to_string()],
            vec!["line\nbreak".to_string(), String::new()],
        ];
        assert_eq!(csv_of(&rows), "id,last_used\nplain,\"a, b\"\n\"say \"\"hi\"\"\",'=SUM(A1)\nlinebreak,\n");
    }

    #[test]
    fn csv_defuses_every_formula_lead_and_markdown_escapes_html_and_pipes() {
        for lead in ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"] {
            let out = csv_of(&[vec![lead.to_string(), String::new()]]);
            let cell = out.lines().nth(1).expect("row");
            assert!(cell.starts_with('\'') || cell.starts_with("\"'"), "{lead:?} -> {cell}");
        }
        assert_eq!(md_cell("<script>a|b</script> & \\|\nx"), "&lt;script&gt;a\\|b&lt;/script&gt; &amp; \\\\\\| x");
    }

    #[cfg(unix)]
    #[test]
    fn exports_are_written_0600_even_over_an_open_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("e.csv");
        std::fs::write(&p, "old").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&p, "new").expect("export");
        assert_eq!(std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "new");
        let fresh = dir.path().join("f.md");
        write_private(&fresh, "x").expect("export");
        assert_eq!(std::fs::metadata(&fresh).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    fn through(shield: Shield, pieces: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        {
            let mut out = Terminal::new(&mut buf, shield);
            for p in pieces {
                out.write_all(p).expect("write");
            }
        }
        buf
    }

    #[test]
    fn the_terminal_writer_shields_characters_split_across_writes() {
        // U+202E is E2 80 AE, U+009B is C2 9B, a tag is F3 A0 81 81: each cut in two.
        let pieces: [&[u8]; 6] = [b"a\xE2\x80", b"\xAEb\xC2", b"\x9B[2Jc\xF3\xA0", b"\x81\x81\n", b"\x1b]52;c;eA==\x07", b"\xFFz"];
        assert_eq!(String::from_utf8(through(Shield::Text, &pieces)).expect("utf8"), "ab[2Jc\n]52;c;eA==\u{FFFD}z");
        let json = through(Shield::Json, &[b"{\"a\": \"x\xE2\x80", b"\xAEy\xC2\x9B\xF3\xA0\x81", b"\x81\"}\n"]);
        let json = String::from_utf8(json).expect("utf8");
        assert_eq!(json, "{\"a\": \"x\\u202ey\\u009b\\udb40\\udc41\"}\n");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).expect("json")["a"], "x\u{202E}y\u{9b}\u{E0041}", "the same value");
        let raw: &[u8] = b"{\"a\": \"\xE2\x80\xAE\x1b\"}";
        assert_eq!(through(Shield::Exact, &[raw]), raw, "to a pipe, byte for byte");
    }

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let mut out = Vec::new();
        write_table(&mut out, &["A", "B"], &[vec!["long cell".into(), "x".into()]]).expect("table");
        assert_eq!(String::from_utf8(out).expect("utf8"), "A          B\nlong cell  x\n");
    }
}
