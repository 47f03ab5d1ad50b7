//! `watchlist`: objects on the ThreatQ watchlist that changed since the last poll (PRODUCT.md
//! §3.1, §6.3). Each collection is read newest `touched_at` first, back to that collection's
//! cursor (equal timestamps read again); a watched object alerts on first sight and then only
//! when a field of `alert_on` differs from the snapshot saved when it last alerted.
//!
//! The cursor is one JSON object with a `touched_at` per collection: collections are read one
//! after the other, so a single newest-of-all timestamp could skip an object touched in an
//! earlier collection while a later one was being read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::alert::{Alert, Field, NotificationType, ObjectKind, ThreatObject};
use crate::notifier::Notifier;
use crate::service::{Poll, PollContext, Service, ServiceError};
use crate::store::ObjectSnapshot;
use crate::threatq::wire::{self, format_date};
use crate::threatq::{ThreatQClient, collections};

/// How the watchlist service is set up (`[[services]]` of kind `watchlist`).
#[derive(Debug, Clone, PartialEq)]
pub struct WatchlistSettings {
    pub collections: Vec<String>,
    pub alert_on: Vec<Field>,
    pub initial_lookback: Duration,
    pub page_size: u32,
    pub interval: Duration,
}

pub struct WatchlistService {
    name: String,
    client: Arc<ThreatQClient>,
    settings: WatchlistSettings,
    notifiers: Vec<Arc<dyn Notifier>>,
}

impl WatchlistService {
    pub fn new(
        name: impl Into<String>,
        client: Arc<ThreatQClient>,
        settings: WatchlistSettings,
    ) -> Self {
        Self {
            name: name.into(),
            client,
            settings,
            notifiers: Vec::new(),
        }
    }

    fn watches_relations(&self) -> bool {
        self.settings.alert_on.contains(&Field::Relations)
    }
}

/// The saved cursor: collection → newest `touched_at` seen (ThreatQ's date format).
type Cursors = BTreeMap<String, String>;

/// Read a saved cursor; a plain date (an older form) applies to every collection. Anything
/// unreadable is reported and replaced by the first-run look-back: re-reading is safe, the
/// snapshots and alert keys drop what was already sent.
fn read_cursors(saved: Option<&str>, service: &str) -> Cursors {
    let Some(saved) = saved else {
        return Cursors::new();
    };
    if let Ok(map) = serde_json::from_str::<Cursors>(saved)
        && map.values().all(|v| wire::parse_date(v).is_some())
    {
        return map;
    }
    if wire::parse_date(saved).is_some() {
        return [("*".to_string(), saved.to_string())].into();
    }
    tracing::warn!(
        service,
        "the saved watchlist cursor is unreadable; looking back as on a first run"
    );
    Cursors::new()
}

#[async_trait]
impl Service for WatchlistService {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "watchlist"
    }

    fn notification_type(&self) -> NotificationType {
        NotificationType::Watchlist
    }

    fn interval(&self) -> Duration {
        self.settings.interval
    }

    async fn connect(&mut self) -> Result<(), ServiceError> {
        self.client.connect().await?;
        Ok(())
    }

    async fn fetch_alerts(&mut self, ctx: &PollContext) -> Result<Poll, ServiceError> {
        let saved = read_cursors(ctx.cursor(), &self.name);
        let lookback = chrono::Duration::from_std(self.settings.initial_lookback)
            .unwrap_or(chrono::Duration::hours(24));
        let first_run_floor = ctx.now() - lookback;
        let lookups = self.client.lookups().await?;
        let limit = self.settings.page_size.max(1);
        let mut next_cursors = Cursors::new();
        let mut fetched = 0usize;
        // Newest state of each watched object seen in this poll.
        let mut watched: BTreeMap<(ObjectKind, u64), ThreatObject> = BTreeMap::new();
        for collection in &self.settings.collections {
            let since: DateTime<Utc> = saved
                .get(collection)
                .or_else(|| saved.get("*"))
                .and_then(|c| wire::parse_date(c))
                .unwrap_or(first_run_floor);
            let with = collections::with_param(collection, self.watches_relations());
            let path = format!("/api/{collection}");
            let mut newest = since;
            let mut offset = 0u64;
            loop {
                let page = self
                    .client
                    .list(collection, "-touched_at", limit, offset, &with)
                    .await?;
                let n = page.objects.len();
                fetched += n;
                let mut reached_cursor = false;
                for raw in &page.objects {
                    let Some(touched) = wire::date_field(raw, "touched_at") else {
                        return Err(ServiceError::Source(format!(
                            "GET {path}: object {} has no readable `touched_at`; cannot page back to the cursor",
                            raw.get("id")
                                .map(|v| v.to_string())
                                .unwrap_or_else(|| "?".into())
                        )));
                    };
                    if touched < since {
                        reached_cursor = true;
                        break;
                    }
                    newest = newest.max(touched);
                    let on_watchlist = match raw.get("watchlist") {
                        Some(serde_json::Value::Array(entries)) => !entries.is_empty(),
                        Some(serde_json::Value::Null) => false,
                        // Silence here would look like an empty watchlist forever.
                        _ => {
                            return Err(ServiceError::Source(format!(
                                "GET {path}: objects come back without a `watchlist` list although `with=watchlist` was asked; cannot tell what is watched"
                            )));
                        }
                    };
                    if !on_watchlist {
                        continue;
                    }
                    let object = self.client.normalize(collection, raw, &lookups, &path)?;
                    let key = (object.kind.clone(), object.id);
                    let newer = watched
                        .get(&key)
                        .is_none_or(|seen| seen.touched_at <= object.touched_at);
                    if newer {
                        watched.insert(key, object);
                    }
                }
                ctx.report_progress(&format!("reading {collection}"), fetched as u64, page.total);
                if reached_cursor || n < limit as usize {
                    break;
                }
                offset += n as u64;
            }
            next_cursors.insert(collection.clone(), format_date(newest));
        }

        let alert_on = &self.settings.alert_on;
        let mut alerts = Vec::new();
        let mut snapshots = Vec::new();
        for ((kind, id), object) in watched {
            let snapshot = object.snapshot();
            let changes = match ctx.previous_snapshot(&kind, id)? {
                None => Vec::new(),
                Some(previous) => {
                    let changes = snapshot.changes_since(&previous, alert_on);
                    if changes.is_empty() {
                        continue;
                    }
                    changes
                }
            };
            snapshots.push(ObjectSnapshot { kind, id, snapshot });
            alerts.push(
                Alert::keyed_on(&self.name, NotificationType::Watchlist, object, alert_on)
                    .with_changes(changes),
            );
        }
        Ok(Poll {
            alerts,
            fetched,
            cursor: serde_json::to_string(&next_cursors).ok(),
            snapshots,
        })
    }

    fn add_notifier(&mut self, notifier: Arc<dyn Notifier>) {
        self.notifiers.push(notifier);
    }

    fn notifiers(&self) -> Vec<Arc<dyn Notifier>> {
        self.notifiers.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_cursors_are_read_per_collection_or_as_one_date() {
        let map = read_cursors(
            Some(r#"{"indicators":"2024-01-02 03:04:05","events":"2024-01-01 00:00:00"}"#),
            "w",
        );
        assert_eq!(map["events"], "2024-01-01 00:00:00");
        let plain = read_cursors(Some("2024-01-02 03:04:05"), "w");
        assert_eq!(plain["*"], "2024-01-02 03:04:05");
        for broken in ["", "{", r#"{"indicators":"soon"}"#, "[1,2]"] {
            assert!(read_cursors(Some(broken), "w").is_empty(), "{broken}");
        }
        assert!(read_cursors(None, "w").is_empty());
    }
}
