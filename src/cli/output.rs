//! How listing commands print: an aligned table, CSV (RFC 4180, via the `csv`
//! crate) or JSON. Markdown is the review evidence's; listings print it as a table.
use std::io::Write;
use std::path::Path;

use color_eyre::eyre::Result;
use serde::Serialize;

use crate::context::Format;
use crate::domain::text;

/// Pretty JSON on stdout: the shape `--format json` promises.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Rows under a header, as CSV or as a table (JSON callers serialise their own rows).
pub fn print_rows(format: Format, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut out = std::io::stdout().lock();
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

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let mut out = Vec::new();
        write_table(&mut out, &["A", "B"], &[vec!["long cell".into(), "x".into()]]).expect("table");
        assert_eq!(String::from_utf8(out).expect("utf8"), "A          B\nlong cell  x\n");
    }
}
