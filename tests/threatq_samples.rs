//! The shipped sample API objects (`assets/samples/threatq/`) normalise without a client, the
//! way `preview --alert FILE` reads a ThreatQ object, and stay what the simulator serves.

use tq_alerts::alert::ObjectKind;
use tq_alerts::threatq::normalize::object_from_api_inferred;
use tq_alerts::threatq::{Lookups, infer_kind};
use url::Url;

fn sample(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/samples/threatq")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn each_sample_normalises_to_its_kind_with_names_and_links() {
    let base = Url::parse("https://threatq.example.net").unwrap();
    let cases = [
        (
            "indicator.json",
            ObjectKind::Indicator,
            "redcrossworld.com",
            Some("FQDN"),
        ),
        (
            "event.json",
            ObjectKind::Event,
            "Stealth Falcon",
            Some("Incident"),
        ),
        ("adversary.json", ObjectKind::Adversary, "Turla Group", None),
    ];
    for (name, kind, value, object_type) in cases {
        let api = sample(name);
        assert_eq!(infer_kind(&api), Some(kind.clone()), "{name}");
        let o = object_from_api_inferred(&api, &base, &Lookups::default()).unwrap();
        assert_eq!(o.value, value);
        assert_eq!(o.object_type.as_deref(), object_type);
        assert!(!o.sources.is_empty(), "{name}");
        assert_eq!(o.tlp.as_deref(), Some("WHITE"), "{name}");
        assert!(o.touched_at.is_some());
        assert_eq!(
            o.url.unwrap(),
            format!(
                "https://threatq.example.net/{}/{}/details",
                kind.collection(),
                o.id
            )
        );
        assert!(!o.relations.is_empty(), "{name} carries its relations");
    }
    let indicator =
        object_from_api_inferred(&sample("indicator.json"), &base, &Lookups::default()).unwrap();
    assert_eq!(indicator.status.as_deref(), Some("Active"));
    assert!(indicator.score.is_some());
    let event =
        object_from_api_inferred(&sample("event.json"), &base, &Lookups::default()).unwrap();
    let description = event.description.unwrap();
    assert!(
        description.starts_with("Indicators published by Citizen Lab on 2016-05-01"),
        "{description}"
    );
    assert!(!description.contains('<'));
    let key = object_from_api_inferred(
        &sample("indicator-registry-key.json"),
        &base,
        &Lookups::default(),
    )
    .unwrap();
    assert_eq!(key.object_type.as_deref(), Some("Registry Key"));
    assert!(key.value.contains('\\'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_samples_have_the_fields_the_simulator_serves() {
    use tq_alerts::sim::threatq::{SimKind, SimOptions, SimRef, SimThreatQ};
    let sim = SimThreatQ::start(SimOptions {
        seed: Some(1),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    for (name, kind, id, with) in [
        (
            "indicator.json",
            SimKind::Indicator,
            256,
            "type,status,score,sources,attributes,tags,watchlist,adversaries,events",
        ),
        (
            "event.json",
            SimKind::Event,
            5,
            "type,sources,attributes,tags,watchlist,adversaries",
        ),
        (
            "adversary.json",
            SimKind::Adversary,
            3,
            "sources,attributes,tags,watchlist,events",
        ),
    ] {
        let served = sim.object_json(SimRef { kind, id }, with).unwrap();
        let shipped = sample(name);
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&served), keys(&shipped), "{name}");
        for field in [
            "value", "title", "name", "type", "status", "sources", "tags",
        ] {
            assert_eq!(served.get(field), shipped.get(field), "{name}: {field}");
        }
    }
}
