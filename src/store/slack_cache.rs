//! The Slack resolution cache (PRODUCT.md §6.4): names as the config writes them, resolved to
//! ids and the conversation to post in, per workspace. A stale entry heals itself: a
//! `channel_not_found` at send time forgets it and resolves the name once more.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, from_millis, millis};

/// One resolved name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSlackTarget {
    /// The workspace (`auth.test`'s `team_id`): a token for another workspace never sees it.
    pub team_id: String,
    /// `channel` or `user`.
    pub kind: String,
    /// The name as matched: no `#` or `@`, lower case; or an e-mail or id as written.
    pub key: String,
    /// The channel or user id (`C…`, `G…`, `U…`, `W…`).
    pub id: String,
    /// Where messages go: the channel itself, or the user's `D…` conversation.
    pub post_to: String,
    /// How messages name the target: `#tq-alerts`, `@msantos (Maria Santos)`.
    pub label: String,
    pub resolved_at: DateTime<Utc>,
}

impl Store {
    /// The cached resolution of `key`, if any.
    pub fn slack_target(
        &self,
        team_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<CachedSlackTarget>, StoreError> {
        self.conn()
            .query_row(
                "SELECT team_id, kind, key, id, post_to, label, resolved_at FROM slack_targets
                 WHERE team_id = ?1 AND kind = ?2 AND key = ?3",
                params![team_id, kind, key],
                |r| {
                    Ok(CachedSlackTarget {
                        team_id: r.get(0)?,
                        kind: r.get(1)?,
                        key: r.get(2)?,
                        id: r.get(3)?,
                        post_to: r.get(4)?,
                        label: r.get(5)?,
                        resolved_at: from_millis(r.get(6)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Remember a resolution (replacing an older one for the same name).
    pub fn save_slack_target(&self, target: &CachedSlackTarget) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO slack_targets (team_id, kind, key, id, post_to, label, resolved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (team_id, kind, key) DO UPDATE SET id = excluded.id,
                     post_to = excluded.post_to, label = excluded.label,
                     resolved_at = excluded.resolved_at",
                params![
                    target.team_id,
                    target.kind,
                    target.key,
                    target.id,
                    target.post_to,
                    target.label,
                    millis(target.resolved_at)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drop a resolution that Slack no longer accepts. Returns whether there was one.
    pub fn forget_slack_target(
        &self,
        team_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM slack_targets WHERE team_id = ?1 AND kind = ?2 AND key = ?3",
                params![team_id, kind, key],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

impl Store {
    /// Where each cached name posts (`(kind, key)` → `C…` or `D…`), so a preview can show
    /// the exact body the notifier sends.
    pub fn slack_destinations(
        &self,
    ) -> Result<std::collections::HashMap<(String, String), String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT kind, key, post_to FROM slack_targets")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every cached channel and user id with its name (no `#` or `@`), for drawing mentions
    /// as names. One map serves both: Slack ids carry their kind in their first letter.
    pub fn slack_names(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id, label FROM slack_targets")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut names = std::collections::HashMap::new();
        for row in rows {
            let (id, label) = row.map_err(|e| self.err(e))?;
            // `#tq-alerts` → `tq-alerts`; `@msantos (Maria Santos)` → `msantos`.
            let name = label
                .trim_start_matches(['#', '@'])
                .split(" (")
                .next()
                .unwrap_or_default()
                .to_string();
            if !name.is_empty() {
                names.insert(id, name);
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str) -> CachedSlackTarget {
        CachedSlackTarget {
            team_id: "T0SIMTQ01".into(),
            kind: "channel".into(),
            key: "tq-alerts".into(),
            id: id.into(),
            post_to: id.into(),
            label: "#tq-alerts".into(),
            resolved_at: from_millis(1_700_000_000_000),
        }
    }

    #[test]
    fn a_resolution_is_saved_replaced_and_forgotten_per_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        assert_eq!(
            store
                .slack_target("T0SIMTQ01", "channel", "tq-alerts")
                .unwrap(),
            None
        );
        store.save_slack_target(&target("C0TQALERT1")).unwrap();
        store.save_slack_target(&target("C0TQALERT2")).unwrap();
        let got = store
            .slack_target("T0SIMTQ01", "channel", "tq-alerts")
            .unwrap()
            .unwrap();
        assert_eq!(got, target("C0TQALERT2"));
        // Another workspace, or the same name as a user, is another entry.
        assert_eq!(
            store
                .slack_target("T0OTHER01", "channel", "tq-alerts")
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .slack_target("T0SIMTQ01", "user", "tq-alerts")
                .unwrap(),
            None
        );
        assert!(
            store
                .forget_slack_target("T0SIMTQ01", "channel", "tq-alerts")
                .unwrap()
        );
        assert!(
            !store
                .forget_slack_target("T0SIMTQ01", "channel", "tq-alerts")
                .unwrap()
        );
    }
}
