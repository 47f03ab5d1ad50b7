//! The `data-collection` service against the simulator's saved searches: a baseline on the
//! first run, alerts for what changes after it, `cursorMark` paging with percent-encoded
//! marks, bare objects fetched by id, and type/status names right although this start of the
//! simulator gave them ids of its own.

mod common;
mod tq;

use common::Receiver;
use tq_alerts::sim::threatq::{Change, Shape, SimKind, SimRef, SimThreatQ};
use tq_alerts::store::Store;

fn service(hash: &str, notify_existing: bool) -> String {
    format!(
        r#"[[services]]
name = "iocs"
kind = "data-collection"
collection_hash = "{hash}"
collection = "indicators"
notify_existing = {notify_existing}
page_size = 15
interval = "1h"
notifiers = ["soar-hook"]
"#
    )
}

fn hash(sim: &SimThreatQ, shape: Shape) -> String {
    sim.data_collections()
        .into_iter()
        .find(|c| c.shape == shape)
        .unwrap()
        .hash
}

/// The receiver's alert for indicator `id`.
fn alert_for(receiver: &Receiver, id: u64) -> serde_json::Value {
    receiver
        .bodies()
        .into_iter()
        .map(|b| b["alert"].clone())
        .find(|a| a["id"] == serde_json::json!(id))
        .unwrap_or_else(|| panic!("no alert for indicator {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_objects_are_fetched_and_named_despite_shuffled_ids() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(41).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        &service(&hash(&sim, Shape::Bare), true),
    );
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{:?}", report.services);
    let n = receiver.count();
    assert!(n > 30, "{n} alerts");
    // Every alert names its type and status as the simulator holds them.
    for body in receiver.bodies() {
        let alert = &body["alert"];
        let id = alert["id"].as_u64().unwrap();
        let o = sim
            .object(SimRef {
                kind: SimKind::Indicator,
                id,
            })
            .unwrap();
        assert_eq!(alert["type"], serde_json::json!(o.type_name), "{alert}");
        assert_eq!(alert["status"], serde_json::json!(o.status_name), "{alert}");
        assert_eq!(alert["value"], serde_json::json!(o.value));
        assert!(!alert["sources"].as_array().unwrap().is_empty());
        assert_eq!(body["notification_type"], "data-collection");
    }
    let arrivals = sim.arrivals();
    let fetched_one_by_one = arrivals
        .iter()
        .filter(|a| a.path.starts_with("/api/indicators/") && !a.path.contains("/query/"))
        .count();
    assert_eq!(fetched_one_by_one, n, "each bare object fetched by id");
    let marks: Vec<&str> = arrivals
        .iter()
        .filter(|a| a.path.contains("/query/hash/"))
        .map(|a| a.query.as_str())
        .collect();
    assert!(marks.len() > 2, "paged by cursorMark: {marks:?}");
    assert!(marks[0].contains("cursorMark=*") || marks[0].contains("cursorMark=%2A"));
    assert!(
        marks[1..]
            .iter()
            .all(|q| q.contains("%2B") && q.contains("%2F")),
        "marks are percent-encoded: {marks:?}"
    );

    // Nothing changed: nothing more.
    assert!(tq::run_once(&config).await.success());
    assert_eq!(receiver.count(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_is_a_baseline_and_later_changes_alert_with_looked_up_names() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(42).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        &service(&hash(&sim, Shape::IdsForNames), false),
    );
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{:?}", report.services);
    assert_eq!(receiver.count(), 0, "a baseline sends nothing");
    let store = Store::open(&tq::state_path(dir.path())).unwrap();
    let baseline = store.cursor("iocs").unwrap().expect("the baseline's mark");
    assert_ne!(baseline, "*");
    drop(store);

    // An analyst adds a sighting to one member of the collection.
    let member = sim
        .objects_watched(SimKind::Indicator, false)
        .into_iter()
        .chain(sim.objects_watched(SimKind::Indicator, true))
        .find(|r| sim.object(*r).unwrap().effective_score() >= 7.0)
        .unwrap();
    sim.touch(member, Change::Attribute).unwrap();
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{:?}", report.services);
    assert_eq!(receiver.count(), 1);
    let alert = alert_for(&receiver, member.id);
    let o = sim.object(member).unwrap();
    assert_eq!(alert["type"], serde_json::json!(o.type_name));
    assert_eq!(alert["status"], serde_json::json!(o.status_name));
    assert!(
        alert["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "Sighting")
    );
    // The type name came from the lookups: the search served only ids.
    let served = sim
        .arrivals()
        .iter()
        .filter(|a| a.path.starts_with("/api/indicator/types"))
        .count();
    assert!(served >= 1);

    // A new source, a second later (a saved search orders by `updated_at` to the second, so
    // a second change within the second the mark was taken at sorts before the mark, in
    // ThreatQ as here): one more alert, naming the change.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sim.touch(member, Change::Source).unwrap();
    assert!(tq::run_once(&config).await.success());
    assert_eq!(receiver.count(), 2);
    assert_eq!(
        receiver.bodies()[1]["alert"]["changes"],
        serde_json::json!(["sources"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_and_status_ids_differ_between_starts() {
    let a = tq::start_sim(43).await;
    let b = tq::start_sim(44).await;
    let names = ["FQDN", "URL", "MD5", "IP Address", "SHA-256"];
    let ids_a: Vec<_> = names.iter().map(|n| a.indicator_type_id(n)).collect();
    let ids_b: Vec<_> = names.iter().map(|n| b.indicator_type_id(n)).collect();
    assert!(ids_a.iter().all(Option::is_some));
    assert_ne!(ids_a, ids_b);
}
