//! The `watchlist` service against the ThreatQ simulator, from a config file through the real
//! worker and state file to a webhook receiver: each recent watched object once, nothing on a
//! second run, then exactly the objects whose watched fields changed, with `changes` filled.

mod common;
mod tq;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use common::Receiver;
use tq_alerts::sim::threatq::{Change, SimKind, SimRef};
use tq_alerts::store::Store;

/// Receipts per object (`kind:id`), from the alert keys the receiver got.
fn receipts(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for key in receiver.keys() {
        let object = key.rsplit_once(':').map(|(o, _)| o.to_string()).unwrap();
        *out.entry(object).or_insert(0) += 1;
    }
    out
}

fn object_key(r: &SimRef) -> String {
    r.key_prefix().trim_end_matches(':').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_watched_objects_arrive_once_and_only_real_changes_alert_again() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(11).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        tq::WATCHLIST,
    );
    let expected = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    let stale = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(1000));
    assert!(expected.len() > 30 && stale.len() > expected.len());
    assert!(expected.iter().any(|r| r.kind == SimKind::Event));
    assert!(expected.iter().any(|r| r.kind == SimKind::Adversary));

    let report = tq::run_once(&config).await;
    assert!(report.success(), "{:?}", report.services);
    let got = receipts(&receiver);
    let want: BTreeMap<String, usize> = expected.iter().map(|r| (object_key(r), 1)).collect();
    assert_eq!(
        got, want,
        "each watched object touched in the look-back, once"
    );
    // Paging really happened: 25 per page over hundreds of indicators.
    let pages = sim
        .arrivals()
        .iter()
        .filter(|a| a.path == "/api/indicators")
        .count();
    assert!(pages >= 2, "{pages} pages");

    let report = tq::run_once(&config).await;
    assert!(report.success());
    assert_eq!(
        receiver.count(),
        expected.len(),
        "a second run sends nothing"
    );

    // One delivered watched indicator gets a new score, one object joins the watchlist, one
    // unwatched object changes: only the first two are alerts.
    let touched = *expected
        .iter()
        .find(|r| r.kind == SimKind::Indicator)
        .unwrap();
    sim.touch(touched, Change::Score).unwrap();
    let added = sim.add_watched_object().unwrap();
    let unwatched = sim.objects_watched(SimKind::Indicator, false)[0];
    sim.touch(unwatched, Change::Score).unwrap();
    let before = receiver.count();
    let report = tq::run_once(&config).await;
    assert!(report.success());
    let bodies = receiver.bodies();
    let new: Vec<&serde_json::Value> = bodies[before..].iter().collect();
    assert_eq!(new.len(), 2, "{new:#?}");
    let by_object = |r: &SimRef| {
        new.iter()
            .find(|b| {
                b["alert"]["key"]
                    .as_str()
                    .unwrap()
                    .starts_with(&r.key_prefix())
            })
            .unwrap_or_else(|| panic!("no alert for {r:?}"))
    };
    assert_eq!(
        by_object(&touched)["alert"]["changes"],
        serde_json::json!(["score"])
    );
    assert_eq!(by_object(&added)["alert"]["changes"], serde_json::json!([]));
    let score = sim.object(touched).unwrap().manual_score.unwrap();
    assert_eq!(
        by_object(&touched)["alert"]["score"],
        serde_json::json!(score)
    );

    // The cursor is per collection and in ThreatQ's date format.
    let store = Store::open(&tq::state_path(dir.path())).unwrap();
    let cursor: BTreeMap<String, String> =
        serde_json::from_str(&store.cursor("watchlist").unwrap().unwrap()).unwrap();
    assert_eq!(cursor.len(), 3);
    assert!(tq_alerts::threatq::wire::parse_date(&cursor["indicators"]).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_touch_that_changes_nothing_watched_delivers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(12).await;
    let receiver = Receiver::start().await;
    let services = tq::WATCHLIST.replace(
        "notifiers = [\"soar-hook\"]",
        "alert_on = [\"score\", \"status\"]\nnotifiers = [\"soar-hook\"]",
    );
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        &services,
    );
    assert!(tq::run_once(&config).await.success());
    let first = receiver.count();
    assert!(first > 0);
    let watched = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    let indicators: Vec<SimRef> = watched
        .iter()
        .filter(|r| r.kind == SimKind::Indicator)
        .copied()
        .collect();
    // Re-ingested unchanged (only touched_at moves), and a change outside `alert_on`.
    sim.touch(indicators[0], Change::Nothing).unwrap();
    sim.touch(indicators[1], Change::Tag).unwrap();
    sim.touch(indicators[2], Change::Source).unwrap();
    // Let a second pass the cursor so the touched objects are read again on their own.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = tq::run_once(&config).await;
    assert!(report.success());
    assert_eq!(
        receiver.count(),
        first,
        "nothing `alert_on` watches changed"
    );
    // A watched field still alerts.
    sim.touch(indicators[0], Change::Status).unwrap();
    assert!(tq::run_once(&config).await.success());
    assert_eq!(receiver.count(), first + 1);
    assert_eq!(
        receiver.bodies().last().unwrap()["alert"]["changes"],
        serde_json::json!(["status"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_touched_in_the_cursor_second_are_read_again_but_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(13).await;
    let receiver = Receiver::start().await;
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        tq::WATCHLIST,
    );
    assert!(tq::run_once(&config).await.success());
    let first = receiver.count();
    // Two watched objects touched in the same second as each other, across two runs: the
    // second is touched after the first run read the second it shares with the cursor.
    let watched = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    let a = watched[0];
    let b = watched[1];
    sim.touch(a, Change::Attribute).unwrap();
    assert!(tq::run_once(&config).await.success());
    sim.touch(b, Change::Attribute).unwrap();
    assert!(tq::run_once(&config).await.success());
    assert!(tq::run_once(&config).await.success());
    let keys = receiver.keys();
    let new = &keys[first..];
    assert_eq!(new.len(), 2, "{new:?}");
    assert!(new[0].starts_with(&a.key_prefix()));
    assert!(new[1].starts_with(&b.key_prefix()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_relation_alerts_when_relations_are_watched() {
    let dir = tempfile::tempdir().unwrap();
    let sim = tq::start_sim(14).await;
    let receiver = Receiver::start().await;
    let services = tq::WATCHLIST.replace(
        "notifiers = [\"soar-hook\"]",
        "alert_on = [\"relations\"]\nnotifiers = [\"soar-hook\"]",
    );
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url(),
        "",
        &services,
    );
    assert!(tq::run_once(&config).await.success());
    let first = receiver.count();
    let watched = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    let indicator = *watched
        .iter()
        .find(|r| r.kind == SimKind::Indicator)
        .unwrap();
    let event = *watched.iter().find(|r| r.kind == SimKind::Event).unwrap();
    sim.touch(indicator, Change::Relation).unwrap();
    sim.touch(event, Change::Relation).unwrap();
    // A change outside `alert_on`.
    sim.touch(watched[2], Change::Attribute).unwrap();
    assert!(tq::run_once(&config).await.success());
    let bodies = receiver.bodies();
    let new: Vec<&serde_json::Value> = bodies[first..].iter().collect();
    assert_eq!(new.len(), 2, "{new:#?}");
    for body in new {
        assert_eq!(body["alert"]["changes"], serde_json::json!(["relations"]));
    }
    // The relations were asked with the page, not object by object.
    let asked = sim
        .arrivals()
        .iter()
        .filter(|a| a.path == "/api/indicators")
        .all(|a| {
            a.query.contains("adversaries%2Cevents") || a.query.contains("adversaries,events")
        });
    assert!(asked);
}
