//! The console's promises over a real terminal (tmux), with the product against the ThreatQ
//! simulator and a webhook receiver: a SIGHUP with deliveries in flight stops it promptly and
//! keeps every undelivered row for the next `run --once`; an idle console writes next to
//! nothing and uses next to no CPU; and how long start-up to first frame takes. Figures are
//! printed (and go in the README); only generous bounds are asserted, machines being noisy.

mod tmux;
mod tq;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tmux::{BIN, Tmux};
use tokio::sync::watch;
use tq_alerts::store::Store;

/// A webhook receiver that records each alert key on arrival and answers only once released.
struct HoldingReceiver {
    url: String,
    arrived: Arc<Mutex<Vec<String>>>,
    release: watch::Sender<bool>,
}

async fn holding_receiver(hold: bool) -> HoldingReceiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let (release, released) = watch::channel(!hold);
    let log = arrived.clone();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let log = log.clone();
        let mut released = released.clone();
        async move {
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if let Some(key) = json["alert"]["key"].as_str() {
                log.lock().unwrap().push(key.to_string());
            }
            let _ = released.wait_for(|r| *r).await;
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    HoldingReceiver {
        url: format!("http://{addr}/hooks/soar"),
        arrived,
        release,
    }
}

/// The simulator, a receiver (holding its answers or not), a config pointing at both, and how
/// many alerts the first poll finds.
struct Scene {
    sim: tq_alerts::sim::threatq::SimThreatQ,
    receiver: HoldingReceiver,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    expected: usize,
}

async fn scene(seed: u64, hold: bool) -> Scene {
    let sim = tq::start_sim(seed).await;
    let receiver = holding_receiver(hold).await;
    let dir = tempfile::tempdir().unwrap();
    let config = tq::write_config(
        dir.path(),
        sim.base_url().as_str(),
        &receiver.url,
        "",
        tq::WATCHLIST,
    );
    let expected = tq::first_poll_alerts(&sim);
    Scene {
        sim,
        receiver,
        dir,
        config,
        expected,
    }
}

/// The pid in the state file's lock, once a live process holds it.
async fn owner_pid(dir: &Path) -> u32 {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || pid_of_owner(&dir))
        .await
        .unwrap()
}

fn pid_of_owner(dir: &Path) -> u32 {
    let lock = dir.join("state.db.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(&lock)
            && let Ok(pid) = text.trim().parse()
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "the console never took the state file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by tmux's shell) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.split(") ")
                .nth(1)
                .is_some_and(|rest| rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_deliveries_in_flight_stops_promptly_and_keeps_every_undelivered_row() {
    let Some(t) = Tmux::available() else { return };
    let Scene {
        sim: _sim,
        receiver,
        dir,
        config,
        expected,
    } = scene(21, true).await;

    t.start_shell(120, 40);
    t.type_line(&format!("{BIN} --config {}", config.display()));
    let pid = owner_pid(dir.path()).await;
    // Wait until a delivery is in flight: the receiver holds its request.
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.arrived.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no delivery started:\n{}",
            t.screen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    while alive(pid) {
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "still running after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped_in = sent.elapsed();
    println!(
        "SIGHUP with a delivery in flight: the console exited in {} ms",
        stopped_in.as_millis()
    );
    assert!(
        stopped_in < Duration::from_secs(3),
        "took {stopped_in:?} (grace is 1.5 s)"
    );
    t.wait_for("the prompt", Duration::from_secs(5), |s| s.contains("tq$ "));

    let store = Store::open(&tq::state_path(dir.path())).unwrap();
    let counts = store.outbox_counts().unwrap();
    assert_eq!(counts.sending, 0, "interrupted rows are queued again");
    assert_eq!(counts.delivered, 0, "nothing was acknowledged");
    assert_eq!(
        counts.queued as usize, expected,
        "every undelivered row is kept"
    );

    // The next run sends them all; at most the interrupted one twice.
    receiver.release.send(true).unwrap();
    let report = tq::run_once(&config).await;
    assert!(report.success(), "{report:?}");
    let arrived = receiver.arrived.lock().unwrap().clone();
    let distinct: BTreeSet<&String> = arrived.iter().collect();
    assert_eq!(distinct.len(), expected, "every alert arrived");
    assert!(
        arrived.len() <= expected + 1,
        "{} arrivals for {expected} alerts",
        arrived.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_console_writes_almost_nothing_and_uses_almost_no_cpu() {
    let Some(t) = Tmux::available() else { return };
    let Scene {
        sim: _sim,
        receiver,
        dir,
        config,
        expected,
    } = scene(22, false).await;

    t.start_shell(120, 40);
    let started = Instant::now();
    t.type_line(&format!("{BIN} --config {}", config.display()));
    let pid = owner_pid(dir.path()).await;
    // Wait for the first poll's deliveries to finish: then nothing is due for an hour.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.arrived.lock().unwrap().len() < expected {
        assert!(Instant::now() < deadline, "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = started;
    // Let the last "just now" fields settle past their per-second phase.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let capture = dir.path().join("pty-output");
    let out = t.tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        "main",
        &format!("cat >> {}", capture.display()),
    ]);
    assert!(out.status.success());
    let cpu_before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let cpu = cpu_seconds(pid) - cpu_before;
    t.tmux(&["pipe-pane", "-t", "main"]);
    let bytes = std::fs::metadata(&capture).map(|m| m.len()).unwrap_or(0);
    println!(
        "idle console over 10 s: {bytes} bytes written to the terminal ({:.0} B/s), CPU {:.2} s ({:.2}% of a core)",
        bytes as f64 / 10.0,
        cpu,
        cpu / 10.0 * 100.0
    );
    // At most one small write a second (relative times like "12s ago"): a generous bound.
    assert!(bytes <= 10 * 600, "{bytes} bytes in 10 s of idling");
    assert!(cpu < 0.5, "{cpu} s of CPU in 10 s of idling");

    let log = std::fs::read_to_string(dir.path().join("tq-alerts.log")).unwrap();
    let first_frame: f64 = log
        .lines()
        .find(|l| l.contains("first frame drawn"))
        .and_then(|l| l.split("ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("the console logs its first frame");
    println!(
        "start-up to first frame: {first_frame:.1} ms ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    t.quit_and_check_prompt();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_sigterm_within_the_grace_of_a_call_in_flight_and_keeps_the_rows() {
    let Scene {
        sim: _sim,
        receiver,
        dir,
        config,
        expected,
    } = scene(23, true).await;
    let mut child = std::process::Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.arrived.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = sent.elapsed();
    println!(
        "run: SIGTERM with a call in flight, exited in {} ms",
        took.as_millis()
    );
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let counts = Store::open(&tq::state_path(dir.path()))
        .unwrap()
        .outbox_counts()
        .unwrap();
    assert_eq!(
        (counts.sending, counts.delivered, counts.queued as usize),
        (0, 0, expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_console_takes_over_when_the_owner_dies() {
    let Some(t) = Tmux::available() else { return };
    let Scene {
        sim: _sim,
        receiver: _receiver,
        dir,
        config,
        ..
    } = scene(24, false).await;
    let mut owner = std::process::Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = owner_pid(dir.path()).await;
    assert_eq!(pid, owner.id());
    t.start_shell(120, 40);
    t.type_line(&format!("{BIN} --config {}", config.display()));
    let screen = t.wait_for("the read-only console", Duration::from_secs(20), |s| {
        s.contains("READ-ONLY")
    });
    assert!(screen.contains(&format!("pid {pid}")), "{screen}");
    owner.kill().unwrap();
    owner.wait().unwrap();
    let screen = t.wait_for("the take-over", Duration::from_secs(15), |s| {
        s.contains("now runs the worker")
    });
    assert!(!screen.contains("READ-ONLY"), "{screen}");
    t.keys(&["1", "Space"]);
    t.wait_for("a change to be allowed", Duration::from_secs(5), |s| {
        s.contains("turned off — saved")
    });
    t.quit_and_check_prompt();
}
