//! The benchmark's rows: the reference organisation's credentials as the
//! tokenward connector maps them, a page at a time, under one issuer name.
use color_eyre::eyre::{eyre, Result};

use crate::connectors::tokenward::map_credential;
use crate::domain::Credential;
use crate::reference::org::Org;

/// Credentials per issuer page.
pub const PAGE: u64 = 1000;
pub const ISSUER: &str = "bench";

/// Credentials `start..end` of the organisation.
pub fn page_of(org: &Org, start: u64, end: u64) -> Result<Vec<Credential>> {
    (start..end).map(|i| map_credential(ISSUER, org.credential(i)).map_err(|e| eyre!("generated credential: {e}"))).collect()
}
