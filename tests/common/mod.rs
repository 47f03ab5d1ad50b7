//! Shared parts of the integration tests: a real HTTP receiver on a free loopback port that
//! records every request, a service written the way a library user would write one, and real
//! published indicators from the shipped data.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tq_alerts::alert::{Alert, NotificationType, ObjectKind, ThreatObject};
use tq_alerts::notifier::Notifier;
use tq_alerts::service::{Poll, PollContext, Service, ServiceError};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub uri: axum::http::Uri,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

/// What the receiver answers to the n-th request (0-based).
pub type Script = Box<dyn FnMut(usize, &Received) -> Response + Send>;

/// An HTTP receiver on 127.0.0.1 that records requests and answers by script.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    shutdown: Arc<tokio::sync::Notify>,
}

impl Receiver {
    /// Answer 200 `ok` to everything.
    pub async fn start() -> Receiver {
        Self::scripted(Box::new(|_, _| (StatusCode::OK, "ok").into_response())).await
    }

    pub async fn scripted(script: Script) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, script)
    }

    /// Start on a given address (a port that refused connections until now).
    pub async fn start_at(addr: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        Self::serve(
            listener,
            Box::new(|_, _| (StatusCode::OK, "ok").into_response()),
        )
    }

    fn serve(listener: tokio::net::TcpListener, script: Script) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let receiver = Receiver {
            addr,
            requests: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(Mutex::new(script)),
            shutdown: Arc::new(tokio::sync::Notify::new()),
        };
        let state = receiver.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let received = Received {
                        at: Instant::now(),
                        uri,
                        headers,
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    };
                    let n = {
                        let mut requests = state.requests.lock().unwrap();
                        requests.push(received.clone());
                        requests.len() - 1
                    };
                    let mut script = state.script.lock().unwrap();
                    (script)(n, &received)
                }
            },
        );
        let stop = receiver.shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
                .unwrap();
        });
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/T0001/B0001/s3cr3tW3bh00kP4th", self.addr)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    /// Alert keys of every request, in arrival order (single alerts and digests).
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for body in self.bodies() {
            if let Some(key) = body["alert"]["key"].as_str() {
                keys.push(key.to_string());
            }
            for alert in body["alerts"].as_array().into_iter().flatten() {
                keys.push(alert["key"].as_str().unwrap_or_default().to_string());
            }
        }
        keys
    }

    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.count() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.count() >= n
    }

    pub fn stop(&self) {
        self.shutdown.notify_waiters();
    }
}

/// A free loopback address nobody listens on (connections are refused).
pub fn refusing_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `n` real published indicators (Citizen Lab, ESET) as watchlist alerts of `service`.
pub fn real_alerts(n: usize, service: &str) -> Vec<Alert> {
    tq_alerts::sim::data::indicators()
        .take(n)
        .enumerate()
        .map(|(i, (report, indicator))| {
            let id = 1000 + i as u64;
            let mut o = ThreatObject::new(ObjectKind::Indicator, id, indicator.value.clone());
            o.object_type = Some(indicator.threatq_type.to_string());
            o.status = Some(if indicator.to_ids { "Active" } else { "Review" }.to_string());
            o.score = Some(if indicator.to_ids { 8.0 } else { 5.0 });
            o.sources = vec![report.publisher.to_string()];
            o.tags = report.malware.clone();
            o.url = Some(ThreatObject::ui_url(
                "https://threatq.example.net",
                &ObjectKind::Indicator,
                id,
            ));
            Alert::new(service, NotificationType::Watchlist, o)
        })
        .collect()
}

/// A service as a library user writes one: it hands out a fixed batch of alerts on every poll.
pub struct BatchService {
    pub name: String,
    pub alerts: Vec<Alert>,
    pub notifiers: Vec<Arc<dyn Notifier>>,
}

impl BatchService {
    pub fn new(name: &str, alerts: Vec<Alert>) -> Self {
        Self {
            name: name.into(),
            alerts,
            notifiers: Vec::new(),
        }
    }
}

#[async_trait]
impl Service for BatchService {
    fn name(&self) -> &str {
        &self.name
    }

    fn notification_type(&self) -> NotificationType {
        NotificationType::Watchlist
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn fetch_alerts(&mut self, _ctx: &PollContext) -> Result<Poll, ServiceError> {
        Ok(Poll {
            fetched: self.alerts.len(),
            alerts: self.alerts.clone(),
            ..Poll::default()
        })
    }

    fn add_notifier(&mut self, notifier: Arc<dyn Notifier>) {
        self.notifiers.push(notifier);
    }

    fn notifiers(&self) -> Vec<Arc<dyn Notifier>> {
        self.notifiers.clone()
    }
}
