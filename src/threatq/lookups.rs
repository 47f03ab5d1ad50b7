//! Type and status names by id. Ids differ between ThreatQ installations, so they are never
//! hard-coded: they are read from `/api/indicator/types`, `/api/indicator/statuses` and
//! `/api/event/types` once per connection (PRODUCT.md §6.1).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::alert::ObjectKind;

use super::wire;

/// Names by id for the kinds that have them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    pub indicator_types: BTreeMap<u64, String>,
    pub indicator_statuses: BTreeMap<u64, String>,
    pub event_types: BTreeMap<u64, String>,
}

impl Lookups {
    /// Build from the three lists as the API returns them (`data` arrays of `{id, name}`);
    /// entries without an id or a name are skipped.
    pub fn from_lists(
        indicator_types: &[Value],
        indicator_statuses: &[Value],
        event_types: &[Value],
    ) -> Self {
        Self {
            indicator_types: by_id(indicator_types),
            indicator_statuses: by_id(indicator_statuses),
            event_types: by_id(event_types),
        }
    }

    /// The type name of an object of `kind` with type id `id`.
    pub fn type_name(&self, kind: &ObjectKind, id: u64) -> Option<&str> {
        match kind {
            ObjectKind::Indicator => self.indicator_types.get(&id),
            ObjectKind::Event => self.event_types.get(&id),
            _ => None,
        }
        .map(String::as_str)
    }

    /// The status name of an object of `kind` with status id `id` (indicators have statuses).
    pub fn status_name(&self, kind: &ObjectKind, id: u64) -> Option<&str> {
        match kind {
            ObjectKind::Indicator => self.indicator_statuses.get(&id).map(String::as_str),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.indicator_types.is_empty()
            && self.indicator_statuses.is_empty()
            && self.event_types.is_empty()
    }
}

fn by_id(items: &[Value]) -> BTreeMap<u64, String> {
    items
        .iter()
        .filter_map(|item| {
            let id = wire::id(item.get("id")?)?;
            let name = item.get("name")?.as_str()?.trim();
            (!name.is_empty()).then(|| (id, name.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_found_by_id_per_kind() {
        let lookups = Lookups::from_lists(
            &[
                json!({"id": 7, "name": "FQDN"}),
                json!({"id": "9", "name": "MD5"}),
            ],
            &[json!({"id": 2, "name": "Active"}), json!({"name": "no id"})],
            &[
                json!({"id": 7, "name": "Incident"}),
                json!({"id": 8, "name": ""}),
            ],
        );
        assert_eq!(lookups.type_name(&ObjectKind::Indicator, 7), Some("FQDN"));
        assert_eq!(lookups.type_name(&ObjectKind::Indicator, 9), Some("MD5"));
        assert_eq!(lookups.type_name(&ObjectKind::Event, 7), Some("Incident"));
        assert_eq!(lookups.type_name(&ObjectKind::Event, 8), None);
        assert_eq!(lookups.type_name(&ObjectKind::Adversary, 7), None);
        assert_eq!(
            lookups.status_name(&ObjectKind::Indicator, 2),
            Some("Active")
        );
        assert_eq!(lookups.status_name(&ObjectKind::Event, 2), None);
        assert_eq!(lookups.indicator_statuses.len(), 1);
    }
}
