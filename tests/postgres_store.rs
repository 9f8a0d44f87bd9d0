//! The PostgreSQL backend against a real, throwaway PostgreSQL cluster (started
//! by the test, stopped after): it migrates a new database, knows the login it
//! runs as, and refuses a database whose schema is newer than the binary.
use tokenward::store::postgres::{known_version, PgStore};

mod common;

#[tokio::test]
async fn a_new_database_is_migrated_and_the_login_is_the_operator() {
    let pg = common::peers::postgres();
    let store = PgStore::open(&pg.url).await.expect("opens and migrates");
    assert_eq!(store.schema_version().await.expect("version"), Some(known_version()));
    assert_eq!(store.session_user().await.expect("login"), "postgres");
    assert!(!store.location().contains(common::peers::PG_SUPERUSER_PASSWORD), "{}", store.location());
    store.close().await;
    // Opening again changes nothing.
    let again = PgStore::open(&pg.url).await.expect("opens again");
    assert_eq!(again.schema_version().await.expect("version"), Some(known_version()));
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let pg = common::peers::postgres();
    let store = PgStore::open(&pg.url).await.expect("opens");
    let raw = sqlx::PgPool::connect(&pg.url).await.expect("connect");
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, 'from the future', true, '\\x00', 1)")
        .bind(known_version() + 1)
        .execute(&raw)
        .await
        .expect("a future migration");
    store.close().await;
    let err = PgStore::open(&pg.url).await.err().expect("refused").to_string();
    assert!(err.contains("newer than this tokenward knows") && err.contains("upgrade tokenward"), "{err}");
}
