//! The demo marker: `tokenward demo` marks the database it creates, and replaces
//! only a file that carries the mark (`file::probe` reads it from the header).
use super::SqliteStore;
use crate::store::error::Result;

impl SqliteStore {
    /// Marks this database as the demo's and checkpoints, so the mark is in the
    /// main file (where the probe reads it) even if the demo is killed later.
    pub async fn mark_demo(&self) -> Result<()> {
        // A pragma takes no bound values: the literal is file::DEMO_APPLICATION_ID (the test below checks).
        sqlx::query("PRAGMA application_id = 1953981549").execute(&self.pool).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::file::{probe, DbFile, DEMO_APPLICATION_ID};

    #[tokio::test]
    async fn a_marked_database_probes_as_demo_while_still_open() {
        assert_eq!(DEMO_APPLICATION_ID, 1_953_981_549);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.db");
        let store = SqliteStore::open(&p, None).await.expect("open");
        assert_eq!(probe(&p).expect("probe"), DbFile::Unmarked);
        store.mark_demo().await.expect("mark");
        assert_eq!(probe(&p).expect("probe"), DbFile::Demo);
        store.close().await;
    }
}
