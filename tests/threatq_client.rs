//! The ThreatQ client against the simulator over real HTTP: both grants in their wire forms,
//! refresh before expiry, one re-login on 401, both error envelopes, the 500 a missing
//! expansion causes, and the refusals that protect the operator (plain http off loopback,
//! collection names that would change the path).

mod tq;

use std::time::Duration;

use tq_alerts::config::Secret;
use tq_alerts::config::{SecretSource, ThreatQAuth};
use tq_alerts::http::ClientOptions;
use tq_alerts::sim::threatq::{Fault, SimThreatQ};
use tq_alerts::threatq::{ThreatQClient, ThreatQError};
use url::Url;

fn client_credentials(secret: &str) -> ThreatQAuth {
    ThreatQAuth::ClientCredentials {
        client_id: tq::CLIENT_ID.into(),
        client_secret: Secret::new(secret, SecretSource::Env("TQ_CLIENT_SECRET".into())),
    }
}

fn password(sim: &SimThreatQ, password: &str) -> ThreatQAuth {
    ThreatQAuth::Password {
        email: sim.credentials().email.clone(),
        password: Secret::new(password, SecretSource::Env("TQ_PASSWORD".into())),
        client_id: tq::CLIENT_ID.into(),
    }
}

fn client(sim: &SimThreatQ, auth: ThreatQAuth) -> ThreatQClient {
    let options = ClientOptions {
        timeout: Some(Duration::from_secs(5)),
        ..ClientOptions::default()
    };
    ThreatQClient::new(sim.base_url(), auth, &options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_grants_log_in_and_bad_ones_name_who_was_rejected() {
    let sim = tq::start_sim(51).await;
    let c = client(&sim, client_credentials(tq::CLIENT_SECRET));
    let lookups = c.connect().await.unwrap();
    assert_eq!(lookups.indicator_types.len(), 17);
    assert!(lookups.indicator_statuses.values().any(|s| s == "Active"));
    let p = client(&sim, password(&sim, tq::CLIENT_SECRET));
    let page = p
        .list("indicators", "-touched_at", 3, 0, "type,status")
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 3);
    assert!(page.total.unwrap() > 600);

    let bad = client(&sim, client_credentials("not-the-secret"));
    let e = bad.login().await.unwrap_err();
    assert!(e.is_auth());
    assert_eq!(
        e.to_string(),
        format!(
            "ThreatQ rejected the credentials for {} (POST /api/token: HTTP 401)",
            tq::CLIENT_ID
        )
    );
    let bad = client(&sim, password(&sim, "not-the-password"));
    let e = bad.login().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "ThreatQ rejected the credentials for soc-automation@threatq.example.net (POST /api/token: HTTP 400)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_replaced_before_it_expires_without_a_401() {
    let sim = tq::start_sim(52).await;
    sim.set_token_lifetime(Duration::from_secs(2));
    let c = client(&sim, client_credentials(tq::CLIENT_SECRET));
    c.list("events", "-touched_at", 1, 0, "").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1700)).await;
    c.list("events", "-touched_at", 1, 0, "").await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert!(sim.arrivals().iter().all(|a| a.status != Some(401)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_means_one_new_login_and_a_second_401_is_an_auth_failure() {
    let sim = tq::start_sim(53).await;
    let c = client(&sim, client_credentials(tq::CLIENT_SECRET));
    c.login().await.unwrap();
    sim.inject(Fault::Unauthorized, "/api/adversaries", 1);
    c.list("adversaries", "-touched_at", 2, 0, "sources")
        .await
        .unwrap();
    assert_eq!(sim.token_requests(), 2);

    sim.inject(Fault::Unauthorized, "/api/adversaries", 2);
    let e = c
        .list("adversaries", "-touched_at", 2, 0, "")
        .await
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(matches!(e, ThreatQError::Unauthorized { .. }));
    assert!(
        e.to_string().contains("GET /api/adversaries: HTTP 401"),
        "{e}"
    );
    assert_eq!(sim.token_requests(), 3, "one re-login per call, not a loop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_are_not_data_say_what_and_where() {
    let sim = tq::start_sim(54).await;
    let c = client(&sim, client_credentials(tq::CLIENT_SECRET));
    // An expansion adversaries lack: ThreatQ answers 500.
    let e = c
        .list("adversaries", "-touched_at", 5, 0, "sources,status")
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /api/adversaries: HTTP 500 — Call to undefined relationship [status] on model [Adversary]."
    );
    sim.inject(Fault::ErrorsIn200, "/api/events", 1);
    let e = c.list("events", "-touched_at", 5, 0, "").await.unwrap_err();
    assert!(matches!(e, ThreatQError::Api { status: 200, .. }), "{e}");
    sim.inject(Fault::MalformedJson, "/api/events", 1);
    let e = c.list("events", "-touched_at", 5, 0, "").await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("GET /api/events: HTTP 200 with a body that is not the expected JSON"),
        "{e}"
    );
    let e = c.object("events", 999_999, "").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /api/events/999999: HTTP 404 — No event with id 999999"
    );
    let e = c
        .query_hash("indicators", "0123abcd", "*", 5, "")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 404"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_urls_and_collection_names_are_refused_before_any_request() {
    let sim = tq::start_sim(55).await;
    let e = ThreatQClient::new(
        &Url::parse("http://threatq.example.net").unwrap(),
        client_credentials(tq::CLIENT_SECRET),
        &ClientOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("plain http is refused for http://threatq.example.net"),
        "{e}"
    );
    let c = client(&sim, client_credentials(tq::CLIENT_SECRET));
    for bad in ["../token", "indicators?limit=1", "Indicators"] {
        let e = c.list(bad, "-touched_at", 1, 0, "").await.unwrap_err();
        assert!(
            e.to_string().contains("is not a ThreatQ collection name"),
            "{e}"
        );
    }
    let e = c
        .query_hash("indicators", "../../token", "*", 1, "")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("is not a data collection hash"),
        "{e}"
    );
    assert!(sim.arrivals().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_prefix_in_the_configured_url_is_not_doubled() {
    let sim = tq::start_sim(56).await;
    let with_api = sim.base_url().join("api/").unwrap();
    let c = ThreatQClient::new(
        &with_api,
        client_credentials(tq::CLIENT_SECRET),
        &ClientOptions::default(),
    )
    .unwrap();
    c.list("indicators", "-touched_at", 1, 0, "").await.unwrap();
    assert!(
        sim.arrivals()
            .iter()
            .all(|a| !a.path.starts_with("/api/api"))
    );
    assert_eq!(
        c.ui_base().as_str().trim_end_matches('/'),
        sim.base_url().as_str().trim_end_matches('/')
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_proxy_carries_threatq_calls_unless_no_proxy_names_the_host() {
    use std::sync::{Arc, Mutex};
    use tq_alerts::config::{NetworkConfig, ThreatQConfig};
    let sim = tq::start_sim(57).await;
    // A proxy that records what it is asked to fetch, and refuses to fetch it.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(request.uri().to_string());
            (axum::http::StatusCode::BAD_GATEWAY, "proxy says no")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = ThreatQConfig {
        url: sim.base_url().clone(),
        auth: client_credentials(tq::CLIENT_SECRET),
        ca_file: None,
        insecure_skip_verify: false,
        timeout: Duration::from_secs(5),
    };
    let mut network = NetworkConfig {
        proxy: Some(proxy),
        no_proxy: None,
    };
    let c = ThreatQClient::from_config(&config, &network).unwrap();
    let e = c.login().await.unwrap_err();
    assert_eq!(e.to_string(), "POST /api/token: HTTP 502 — proxy says no");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [format!(
            "{}api/token?grant_type=client_credentials",
            sim.base_url()
        )]
    );
    assert!(sim.arrivals().is_empty());

    network.no_proxy = Some("127.0.0.1".into());
    let c = ThreatQClient::from_config(&config, &network).unwrap();
    c.login().await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(sim.token_requests(), 1);
}
