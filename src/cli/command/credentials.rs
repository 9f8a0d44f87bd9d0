//! `tokenward credentials`: the inventory in keyset pages, streamed as it is read.
use std::io::Write;

use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{self, csv_writer, write_csv_row, write_table};
use crate::context::{Context, Format};
use crate::domain::{fmt_ts, OwnerStatus};
use crate::filter;
use crate::store::{CredentialRow, PageAnchor, PageRequest, Sort, SortColumn};

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// Filter query, e.g. "owner-status:offboarded binding:bearer expires<7d".
    #[arg(long, short)]
    pub filter: Option<String>,
    /// Sort order: active-first (active credentials, soonest to expire first, then the
    /// rest), expires, last-used, owner, workload, binding, status, id.
    #[arg(long, value_enum, default_value = "active-first")]
    pub sort: SortColumn,
    /// Reverse the order.
    #[arg(long)]
    pub desc: bool,
    /// At most this many rows (default: all).
    #[arg(long)]
    pub limit: Option<usize>,
}

const HEADER: [&str; 11] = ["ID", "ISSUER", "ISSUER ID", "KIND", "OWNER", "WORKLOAD", "SCOPES", "BINDING", "EXPIRES", "LAST USED", "STATUS"];

/// Rows a table holds before it is printed, so a huge listing keeps memory flat.
const TABLE_CHUNK: usize = 5000;

pub async fn run(ctx: &Context, args: CredentialsArgs) -> Result<()> {
    let text = args.filter.unwrap_or_default();
    let query = filter::parse(&text).map_err(|e| eyre!("bad filter: {}\n{}", e.message, e.caret_line(&text)))?;
    let store = ctx.store().await?;
    let now = chrono::Utc::now();
    let mut anchor = PageAnchor::First;
    let mut left = args.limit.unwrap_or(usize::MAX);
    let out = if ctx.format == Format::Json { output::stdout_json() } else { output::stdout() };
    let mut listing = Listing::start(std::io::BufWriter::new(out), ctx.format)?;
    while left > 0 {
        let req = PageRequest { query: query.clone(), now, sort: Sort { column: args.sort, descending: args.desc }, anchor, limit: left.min(1000) };
        let page = store.page(&req).await?;
        let Some(last) = page.last() else { break };
        anchor = PageAnchor::After(last.key.clone());
        left = left.saturating_sub(page.len());
        for r in &page {
            listing.row(r)?;
        }
        listing.page_done()?;
        if page.len() < req.limit {
            break;
        }
    }
    listing.finish()
}

/// Where the pages go as they arrive: CSV and JSON stream, a table is printed in chunks.
enum Listing<W: Write> {
    // Boxed: the CSV writer carries its own buffer.
    Csv(Box<csv::Writer<W>>),
    Json { out: W, first: bool },
    Table { out: W, rows: Vec<Vec<String>> },
}

impl<W: Write> Listing<W> {
    fn start(mut out: W, format: Format) -> Result<Self> {
        Ok(match format {
            Format::Csv => Listing::Csv(Box::new(csv_writer(out, &HEADER)?)),
            Format::Json => {
                write!(out, "[")?;
                Listing::Json { out, first: true }
            }
            Format::Table | Format::Md => Listing::Table { out, rows: Vec::new() },
        })
    }

    fn row(&mut self, r: &CredentialRow) -> Result<()> {
        match self {
            Listing::Csv(csv) => write_csv_row(csv, &row_fields(r))?,
            Listing::Json { out, first } => {
                write!(out, "{}{}", if *first { "\n  " } else { ",\n  " }, credential_json(r))?;
                *first = false;
            }
            Listing::Table { rows, .. } => rows.push(row_fields(r)),
        }
        Ok(())
    }

    fn page_done(&mut self) -> Result<()> {
        if let Listing::Table { out, rows } = self
            && rows.len() >= TABLE_CHUNK
        {
            write_table(out, &HEADER, rows)?;
            rows.clear();
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Listing::Csv(mut csv) => csv.flush()?,
            Listing::Json { mut out, first } => {
                writeln!(out, "{}]", if first { "" } else { "\n" })?;
                out.flush()?;
            }
            Listing::Table { mut out, rows } => {
                write_table(&mut out, &HEADER, &rows)?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// The JSON shape of DESIGN.md for one credential row.
fn credential_json(r: &CredentialRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "issuer": r.issuer, "external_id": r.external_id, "kind": r.kind,
        "owner": if r.owner.is_empty() { None } else { Some(&r.owner) },
        "owner_status": OwnerStatus::or_none(r.owner_status),
        "workload": if r.workload.is_empty() { None } else { Some(&r.workload) },
        "scopes": r.scopes,
        "audience": r.audience,
        "binding": r.binding,
        "issued_at": r.issued_at.as_ref().map(fmt_ts),
        "expires_at": r.expires_at.as_ref().map(fmt_ts),
        "last_used_at": r.last_used_at.as_ref().map(fmt_ts),
        "status": r.status,
        "task_id": r.task_id,
    })
}

fn row_fields(r: &CredentialRow) -> Vec<String> {
    let owner = match r.owner_status {
        Some(OwnerStatus::Offboarded) => format!("{} (offboarded)", r.owner),
        None => "-".into(),
        Some(_) => r.owner.clone(),
    };
    vec![
        r.id.clone(),
        r.issuer.clone(),
        r.external_id.clone(),
        r.kind.to_string(),
        owner,
        r.workload.clone(),
        r.scopes.join(" "),
        r.binding.to_string(),
        r.expires_at.as_ref().map(fmt_ts).unwrap_or_else(|| "never".into()),
        r.last_used_at.as_ref().map(fmt_ts).unwrap_or_else(|| "never".into()),
        r.status.to_string(),
    ]
}
