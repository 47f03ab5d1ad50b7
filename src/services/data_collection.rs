//! `data-collection`: new and changed objects of a saved ThreatQ search, by its hash, paged
//! with ThreatQ's `cursorMark` (PRODUCT.md §3.1, §6.3). The first run records where the
//! collection ends without alerting (a baseline) unless `notify_existing`; later runs alert on
//! what comes after the saved mark. Objects served without their expansions are fetched one by
//! one; bare type and status ids are named through the lookups.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::alert::{Alert, Field, NotificationType};
use crate::notifier::Notifier;
use crate::service::{Poll, PollContext, Service, ServiceError};
use crate::store::ObjectSnapshot;
use crate::threatq::{ThreatQClient, collections, wire};

/// How the data-collection service is set up (`[[services]]` of kind `data-collection`).
#[derive(Debug, Clone, PartialEq)]
pub struct DataCollectionSettings {
    pub collection_hash: String,
    pub collection: String,
    pub notify_existing: bool,
    pub page_size: u32,
    pub interval: Duration,
}

pub struct DataCollectionService {
    name: String,
    client: Arc<ThreatQClient>,
    settings: DataCollectionSettings,
    notifiers: Vec<Arc<dyn Notifier>>,
}

/// The start of a saved search.
const START: &str = "*";

/// A saved search that never stops handing out new marks is cut off here.
const MAX_PAGES: usize = 100_000;

impl DataCollectionService {
    pub fn new(
        name: impl Into<String>,
        client: Arc<ThreatQClient>,
        settings: DataCollectionSettings,
    ) -> Self {
        Self {
            name: name.into(),
            client,
            settings,
            notifiers: Vec::new(),
        }
    }

    /// True when the object lacks what the alert needs: its value or one of the content
    /// expansions asked for. Type and status may be ids: the lookups name them.
    fn is_bare(&self, object: &Value) -> bool {
        let kind = crate::alert::ObjectKind::from_collection(&self.settings.collection);
        let value_field = collections::value_field(&kind);
        let Some(map) = object.as_object() else {
            return true;
        };
        let mut needed = vec![value_field, "sources", "attributes", "tags"];
        if collections::expansions(&self.settings.collection).contains(&"score") {
            needed.push("score");
        }
        needed.iter().any(|k| !map.contains_key(*k))
    }
}

#[async_trait]
impl Service for DataCollectionService {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "data-collection"
    }

    fn notification_type(&self) -> NotificationType {
        NotificationType::DataCollection
    }

    fn interval(&self) -> Duration {
        self.settings.interval
    }

    async fn connect(&mut self) -> Result<(), ServiceError> {
        self.client.connect().await?;
        Ok(())
    }

    async fn fetch_alerts(&mut self, ctx: &PollContext) -> Result<Poll, ServiceError> {
        let s = &self.settings;
        let baseline = ctx.cursor().is_none() && !s.notify_existing;
        let mut mark = ctx.cursor().unwrap_or(START).to_string();
        let with = collections::with_param(&s.collection, false);
        let path = format!("/api/{}/query/hash/{}", s.collection, s.collection_hash);
        let lookups = self.client.lookups().await?;
        let mut fetched = 0usize;
        let mut alerts = Vec::new();
        let mut snapshots = Vec::new();
        let what = if baseline {
            format!("baseline of {}", s.collection)
        } else {
            format!("reading {}", s.collection)
        };
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .query_hash(
                    &s.collection,
                    &s.collection_hash,
                    &mark,
                    s.page_size.max(1),
                    &with,
                )
                .await?;
            if page.objects.is_empty() {
                break;
            }
            fetched += page.objects.len();
            if !baseline {
                for raw in &page.objects {
                    let (object_path, raw) = if self.is_bare(raw) {
                        let id = raw.get("id").and_then(wire::id).ok_or_else(|| {
                            ServiceError::Source(format!(
                                "GET {path}: an object without a numeric `id`"
                            ))
                        })?;
                        let full = self.client.object(&s.collection, id, &with).await?;
                        (format!("/api/{}/{id}", s.collection), full)
                    } else {
                        (path.clone(), raw.clone())
                    };
                    let object =
                        self.client
                            .normalize(&s.collection, &raw, &lookups, &object_path)?;
                    let snapshot = object.snapshot();
                    let changes = match ctx.previous_snapshot(&object.kind, object.id)? {
                        None => Vec::new(),
                        Some(previous) => {
                            let changes = snapshot.changes_since(&previous, &Field::ALL);
                            if changes.is_empty() {
                                // Changed outside the alertable fields: nothing to say.
                                continue;
                            }
                            changes
                        }
                    };
                    snapshots.push(ObjectSnapshot {
                        kind: object.kind.clone(),
                        id: object.id,
                        snapshot,
                    });
                    alerts.push(
                        Alert::new(&self.name, NotificationType::DataCollection, object)
                            .with_changes(changes),
                    );
                }
            }
            ctx.report_progress(&what, fetched as u64, page.total);
            let next = page.next_cursor_mark.ok_or_else(|| {
                ServiceError::Source(format!(
                    "GET {path}: the answer has no `nextCursorMark`; cannot page the data collection"
                ))
            })?;
            if next == mark {
                break;
            }
            mark = next;
        }
        if baseline {
            tracing::info!(service = %self.name, objects = fetched, "data collection baseline recorded; changes from now on alert");
        }
        Ok(Poll {
            alerts,
            fetched,
            cursor: Some(mark),
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
