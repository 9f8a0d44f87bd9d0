//! The database file itself: created private (0600 in a 0700 directory on Unix),
//! its companion WAL and shm files, and the demo marker in its header. The probe
//! reads the header bytes only, so looking at a file never changes it.
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::store::error::{Result, StoreError};

/// `PRAGMA application_id` of a demo database ("twdm"): the header marks it, so a
/// probe needs no query and a file of any other origin never matches.
pub(super) const DEMO_APPLICATION_ID: i32 = 0x7477_646d;

/// What a path holds, as far as the demo is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFile {
    Missing,
    /// A database `tokenward demo` created and marked.
    Demo,
    /// A SQLite database without the demo marker: perhaps a real inventory.
    Unmarked,
    /// Something that is not a SQLite database at all.
    NotSqlite,
}

/// Reads the 100-byte header: the SQLite magic, then the application id at offset 68.
pub fn probe(path: &Path) -> std::io::Result<DbFile> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DbFile::Missing),
        Err(e) => return Err(e),
    };
    let mut header = [0u8; 100];
    match file.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(DbFile::NotSqlite),
        Err(e) => return Err(e),
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Ok(DbFile::NotSqlite);
    }
    let id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    Ok(if id == DEMO_APPLICATION_ID { DbFile::Demo } else { DbFile::Unmarked })
}

/// The file and the WAL and shm files SQLite keeps beside it.
pub fn with_companions(path: &Path) -> [PathBuf; 3] {
    let name = path.as_os_str();
    let suffixed = |s: &str| {
        let mut n = name.to_os_string();
        n.push(s);
        PathBuf::from(n)
    };
    [path.to_path_buf(), suffixed("-wal"), suffixed("-shm")]
}

/// Creates the directory (0700) and an empty database file (0600) if missing:
/// SQLite gives the WAL and shm files the mode of the database file.
pub(super) fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|source| StoreError::Dir { path: dir.to_path_buf(), source })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Dir { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn probe_tells_missing_foreign_and_short_files_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.db");
        assert_eq!(probe(&p).expect("probe"), DbFile::Missing);
        std::fs::write(&p, "").expect("write");
        assert_eq!(probe(&p).expect("probe"), DbFile::NotSqlite);
        std::fs::write(&p, vec![b'a'; 4096]).expect("write");
        assert_eq!(probe(&p).expect("probe"), DbFile::NotSqlite);
        assert_eq!(with_companions(&p)[1], dir.path().join("x.db-wal"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_its_wal_and_shm_are_0600_in_a_fresh_0700_dir() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("fresh").join("tokenward");
        let p = data.join("t.db");
        let store = SqliteStore::open(&p, None).await.expect("open");
        store.upsert_issuer("a", crate::domain::IssuerKind::Tokenward, None).await.expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        for f in with_companions(&p) {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&dir.path().join("fresh")), 0o700);
        store.close().await;
    }
}
