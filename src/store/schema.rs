//! Versioned migrations of the state file. `PRAGMA user_version` holds the version; each step
//! runs in its own transaction, so a crash mid-upgrade leaves the previous version intact.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `i` to `i + 1`. Append only; never edit a step
/// that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: cursors, snapshots, outbox with its keys, the delivery log, runs.
    "CREATE TABLE cursors (
        service    TEXT PRIMARY KEY,
        cursor     TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE snapshots (
        service   TEXT NOT NULL,
        kind      TEXT NOT NULL,
        object_id INTEGER NOT NULL,
        snapshot  TEXT NOT NULL,
        seen_at   INTEGER NOT NULL,
        PRIMARY KEY (service, kind, object_id)
    );
    CREATE INDEX snapshots_seen ON snapshots (seen_at);
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        service         TEXT NOT NULL,
        notifier        TEXT NOT NULL,
        target          TEXT NOT NULL,
        data            TEXT NOT NULL,
        summary         TEXT NOT NULL,
        alerts          INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        sending_since   INTEGER,
        maybe_duplicate INTEGER NOT NULL DEFAULT 0,
        finished_at     INTEGER
    );
    CREATE INDEX outbox_lane ON outbox (notifier, target, status, id);
    CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_service ON outbox (service, id);
    CREATE TABLE outbox_keys (
        alert_key TEXT NOT NULL,
        notifier  TEXT NOT NULL,
        target    TEXT NOT NULL,
        row_id    INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
        PRIMARY KEY (alert_key, notifier, target)
    ) WITHOUT ROWID;
    CREATE INDEX outbox_keys_row ON outbox_keys (row_id);
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        row_id          INTEGER,
        at              INTEGER NOT NULL,
        service         TEXT NOT NULL,
        notifier        TEXT NOT NULL,
        target          TEXT NOT NULL,
        result          TEXT NOT NULL,
        attempts        INTEGER NOT NULL,
        status_code     INTEGER,
        word            TEXT,
        detail          TEXT,
        hint            TEXT,
        payload         TEXT,
        receipt_channel TEXT,
        receipt_ts      TEXT,
        latency_ms      INTEGER NOT NULL,
        summary         TEXT NOT NULL
    );
    CREATE INDEX deliveries_at ON deliveries (at);
    CREATE TABLE runs (
        id           INTEGER PRIMARY KEY,
        service      TEXT NOT NULL,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        fetched      INTEGER,
        new_alerts   INTEGER,
        queued       INTEGER,
        error        TEXT,
        auth_failure INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_service ON runs (service, id);",
    // 2: Slack names resolved to ids (PRODUCT.md §6.4), per workspace, so a large workspace is
    // not listed on every start. `key` is the name as matched (no `#`/`@`, lower case);
    // `post_to` is where messages go (the channel itself, or a user's `D…` conversation).
    "CREATE TABLE slack_targets (
        team_id     TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('channel', 'user')),
        key         TEXT NOT NULL,
        id          TEXT NOT NULL,
        post_to     TEXT NOT NULL,
        label       TEXT NOT NULL,
        resolved_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, kind, key)
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let wrap = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(wrap)?;
    if current > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known: VERSION,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(wrap)?;
        tx.execute_batch(step).map_err(wrap)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
    }
    Ok(())
}
