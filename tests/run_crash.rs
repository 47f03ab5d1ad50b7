//! `run` killed with SIGKILL again and again — a dozen times, half of them while the receiver
//! holds a request it has not answered — and restarted on the same state file, against the
//! ThreatQ simulator with 500 watched objects and a slow webhook receiver: every alert
//! arrives, and there are no more duplicates than kills.

mod tq;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::Utc;
use rand::{Rng, SeedableRng};
use tq_alerts::sim::threatq::{SimOptions, SimThreatQ, WatchPlan};

/// A receiver that takes its time: each request is held `hold` before `ok`. Keys are counted
/// when a request arrives, so one the sender was killed waiting for counts as received.
#[derive(Clone, Default)]
struct SlowReceiver {
    keys: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
}

impl SlowReceiver {
    async fn start(hold: Duration) -> (SlowReceiver, String) {
        let receiver = SlowReceiver::default();
        let state = receiver.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let state = state.clone();
            async move {
                state.in_flight.fetch_add(1, Ordering::SeqCst);
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                state
                    .keys
                    .lock()
                    .unwrap()
                    .push(value["alert"]["key"].as_str().unwrap().to_string());
                tokio::time::sleep(hold).await;
                state.in_flight.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/crash-test", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn count(&self) -> usize {
        self.keys.lock().unwrap().len()
    }

    fn holding(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }
}

fn spawn(args: &[&str], config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(args)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_alerts_survive_a_dozen_sigkills_with_at_most_one_duplicate_each() {
    let sim = SimThreatQ::start(SimOptions {
        watch: WatchPlan {
            indicators: 500,
            events: 0,
            adversaries: 0,
            stale_share: 0.0,
            reserve: 0,
        },
        ..tq::sim_options(81)
    })
    .await
    .unwrap();
    let expected = sim.watched_touched_since(Utc::now() - chrono::Duration::hours(24));
    assert_eq!(expected.len(), 500);
    let (receiver, url) = SlowReceiver::start(Duration::from_millis(25)).await;
    let dir = tempfile::tempdir().unwrap();
    let services = tq::WATCHLIST.replace("page_size = 25", "page_size = 100");
    let config = tq::write_config(dir.path(), sim.base_url().as_str(), &url, "", &services);

    let mut rng = rand::rngs::StdRng::seed_from_u64(81);
    let mut kills = 0;
    let mut kills_while_held = 0;
    for round in 0..12 {
        let before = receiver.count();
        let mut child = spawn(&["run"], &config);
        if round % 2 == 0 {
            // Kill while a request is on the wire and unanswered, some way into the sending.
            let progress = rng.random_range(5..40);
            let reached = wait_until(Duration::from_secs(30), || {
                receiver.count() >= before + progress && receiver.holding()
            })
            .await;
            assert!(reached, "round {round}: no progress");
            if receiver.holding() {
                kills_while_held += 1;
            }
        } else {
            // Kill anywhere: while polling, committing, or sending.
            tokio::time::sleep(Duration::from_millis(rng.random_range(50..700))).await;
        }
        child.kill().unwrap(); // SIGKILL on Unix: no cleanup runs.
        child.wait().unwrap();
        kills += 1;
    }
    assert!(kills >= 10);
    assert!(kills_while_held >= 5, "{kills_while_held}");

    // A last run to the end.
    let mut last = spawn(&["run", "--once"], &config);
    let finished = wait_until(Duration::from_secs(120), || {
        last.try_wait().unwrap().is_some()
    })
    .await;
    assert!(finished, "run --once did not finish");

    let keys = receiver.keys.lock().unwrap().clone();
    let mut per_object: BTreeMap<String, usize> = BTreeMap::new();
    for key in &keys {
        let object = key.rsplit_once(':').unwrap().0.to_string();
        *per_object.entry(object).or_insert(0) += 1;
    }
    for r in &expected {
        let object = r.key_prefix().trim_end_matches(':').to_string();
        assert!(per_object.contains_key(&object), "{object} never arrived");
    }
    assert_eq!(per_object.len(), 500, "only watched objects arrive");
    let duplicates = keys.len() - 500;
    assert!(
        duplicates <= kills,
        "{duplicates} duplicates for {kills} kills"
    );
    eprintln!(
        "{kills} kills ({kills_while_held} while a request was held): {} receipts, {duplicates} duplicates",
        keys.len()
    );
}
