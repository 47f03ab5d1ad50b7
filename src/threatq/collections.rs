//! What each ThreatQ collection offers: the `with=` expansions it has (asking for one it lacks
//! can make ThreatQ answer 500), the field that names its objects, and the relations the
//! watchlist service asks for when it alerts on `relations` (PRODUCT.md §6.3).

use crate::alert::ObjectKind;

/// The expansions of §6.3 for a collection; custom object collections get those every object
/// kind has.
pub fn expansions(collection: &str) -> &'static [&'static str] {
    match collection {
        "indicators" => &[
            "type",
            "status",
            "score",
            "sources",
            "attributes",
            "tags",
            "watchlist",
        ],
        "events" => &["type", "sources", "attributes", "tags", "watchlist"],
        _ => &["sources", "attributes", "tags", "watchlist"],
    }
}

/// Related collections asked with `with=` when relations matter. Adversaries and events only:
/// those lists stay short, whereas an event's or adversary's `indicators` can run to
/// thousands of objects on every page.
pub fn relation_expansions(collection: &str) -> &'static [&'static str] {
    match collection {
        "indicators" => &["adversaries", "events"],
        "events" => &["adversaries"],
        "adversaries" => &["events"],
        _ => &[],
    }
}

/// The `with=` value for a collection, with relations or without.
pub fn with_param(collection: &str, relations: bool) -> String {
    let mut names: Vec<&str> = expansions(collection).to_vec();
    if relations {
        names.extend(relation_expansions(collection));
    }
    names.join(",")
}

/// The field that holds an object's display value: an indicator's `value`, an event's `title`,
/// an adversary's `name`.
pub fn value_field(kind: &ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Indicator => "value",
        ObjectKind::Event => "title",
        ObjectKind::Adversary => "name",
        // Custom objects mostly use `value`; the normaliser falls back to `name` and `title`.
        ObjectKind::Other(_) => "value",
    }
}

/// A collection name as it may appear in a URL path: lower-case letters, digits and `_`.
pub fn is_valid_collection(collection: &str) -> bool {
    !collection.is_empty()
        && collection.len() <= 64
        && collection
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_collection_asks_only_for_what_it_has() {
        assert_eq!(
            with_param("indicators", false),
            "type,status,score,sources,attributes,tags,watchlist"
        );
        assert_eq!(
            with_param("events", true),
            "type,sources,attributes,tags,watchlist,adversaries"
        );
        assert!(!with_param("adversaries", true).contains("status"));
        assert!(!with_param("adversaries", true).contains("type"));
    }

    #[test]
    fn collection_names_that_could_change_the_path_are_refused() {
        for ok in ["indicators", "attack_pattern", "malware"] {
            assert!(is_valid_collection(ok), "{ok}");
        }
        for bad in ["", "../token", "indicators?x=1", "Indicators", "a/b", "ü"] {
            assert!(!is_valid_collection(bad), "{bad}");
        }
    }
}
