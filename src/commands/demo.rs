//! `demo`: the product against its own simulators on 127.0.0.1, fed with real published
//! threat intelligence, needing nothing installed. `Demo::start` sets the scene (the ThreatQ
//! and Slack simulators, a webhook receiver, a config in a temporary folder with its secrets in
//! files); `demo` opens the console on it, `demo --headless` prints runs and deliveries as
//! lines, while the simulator keeps touching watched objects.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::Value;

use crate::config::{self, Config};
use crate::headless::{Verbosity, print_events};
use crate::sim::slack::{SlackSim, SlackSimOptions};
use crate::sim::threatq::{SimOptions, SimThreatQ, seeded_rng};
use crate::worker::Worker;

/// How the demo is set up.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seeds the simulator's library and the touches; random when `None`.
    pub seed: Option<u64>,
    /// How often the simulator changes a watched object.
    pub touch_every: Duration,
    /// How often the services poll.
    pub poll_every: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: None,
            touch_every: Duration::from_secs(3),
            poll_every: Duration::from_secs(5),
        }
    }
}

/// An in-process webhook receiver that answers `ok` and keeps every body.
pub struct DemoReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DemoReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DemoReceiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot start the demo's webhook receiver")?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let store = store.clone();
            async move {
                let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                store.lock().unwrap_or_else(|p| p.into_inner()).push(value);
                (StatusCode::OK, "ok")
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            received,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/demo", self.addr)
    }

    /// Bodies received so far.
    pub fn received(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The demo's scene: simulator, receiver and a config that points at both.
pub struct Demo {
    /// Holds the config, its secret files, the state file and the log.
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub threatq: Arc<SimThreatQ>,
    pub slack: Arc<SlackSim>,
    pub receiver: DemoReceiver,
    options: DemoOptions,
}

fn write_secret(path: &Path, value: &str) -> anyhow::Result<()> {
    std::fs::write(path, value).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

impl Demo {
    /// Start the simulator and the receiver and write the config. Inside a tokio runtime.
    pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
        let dir = tempfile::Builder::new()
            .prefix("tq-alerts-demo-")
            .tempdir()
            .context("cannot make the demo's folder")?;
        let threatq = SimThreatQ::start(SimOptions {
            seed: options.seed,
            ..SimOptions::default()
        })
        .await?;
        let receiver = DemoReceiver::start().await?;
        let slack = SlackSim::start_local(SlackSimOptions::default())
            .await
            .context("cannot start the Slack simulator")?;
        write_secret(&dir.path().join("slack-token"), slack.token())?;
        write_secret(
            &dir.path().join("threatq-secret"),
            &threatq.credentials().client_secret,
        )?;
        write_secret(&dir.path().join("webhook-url"), &receiver.url())?;
        let collections = threatq.data_collections();
        let high_score = collections
            .first()
            .map(|c| c.hash.clone())
            .unwrap_or_default();
        let poll = config::format_duration(options.poll_every);
        let text = format!(
            r##"# Written by `tq-alerts-tui demo`: the product against its simulators.
[state]
path = "state.db"

[threatq]
url = "{url}"
auth = "client-credentials"
client_id = "{client_id}"
client_secret_file = "threatq-secret"
timeout = "10s"

[[services]]
name = "watchlist"
kind = "watchlist"
interval = "{poll}"
collections = ["indicators", "events", "adversaries"]
notifiers = ["soc-slack", "soar-hook"]

# Off until you turn it on (Space in the console's Services pane).
[[services]]
name = "high-score-iocs"
kind = "data-collection"
collection_hash = "{high_score}"
enabled = false
interval = "{poll}"
notifiers = ["hunt-slack"]

# The SOC channel, the general channel and one analyst, at Slack's real pace.
[[notifiers]]
name = "soc-slack"
kind = "slack"
token_file = "slack-token"
api_url = "{slack_api}"
channels = ["#tq-alerts", "general"]
users = ["analyst1"]
formatter = "watchlist-blocks"

[[notifiers]]
name = "hunt-slack"
kind = "slack"
token_file = "slack-token"
api_url = "{slack_api}"
channels = ["#soc-triage"]
formatter = "hunt-brief"

# A SOAR's webhook (here an in-process receiver).
[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_file = "webhook-url"
formatter = "plain-text"
rate = 20.0

[[formatters]]
name = "watchlist-blocks"
kind = "slack-blocks"
notification_type = "watchlist"

[[formatters]]
name = "plain-text"
kind = "plain"

# Edit me: `e` in the console's Attached pane with hunt-slack selected.
[[formatters]]
name = "hunt-brief"
kind = "template"
output = "mrkdwn"
template = """
:mag: *{{{{ object.type }}}}* {{{{ object.value }}}} — score {{{{ object.score }}}} ({{{{ object.score | severity }}}})
Sources: {{{{ object.sources | join(", ") }}}}
<{{{{ object.url }}}}|Open in ThreatQ>
"""
"##,
            url = threatq.base_url(),
            client_id = threatq.credentials().client_id,
            slack_api = slack.api_url(),
        );
        let config_path = dir.path().join("config.toml");
        // Owner-only, like the secrets it names (the console warns about anything looser).
        write_secret(&config_path, &text)?;
        Ok(Demo {
            dir,
            config_path,
            threatq: Arc::new(threatq),
            slack: Arc::new(slack),
            receiver,
            options,
        })
    }

    /// The demo's config, loaded and validated like any other.
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(config::load(&self.config_path)?)
    }

    /// Keep changing watched objects as feeds and analysts would; each change is reported
    /// through `report`. Stops when the returned handle is aborted or dropped with the runtime.
    pub fn spawn_toucher(
        &self,
        report: impl Fn(String) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let sim = self.threatq.clone();
        let every = self.options.touch_every;
        let mut rng = seeded_rng(self.threatq.seed().wrapping_add(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Some((r, change)) = sim.touch_random(&mut rng) {
                    report(format!(
                        "threatq sim: {} {} touched ({})",
                        r.kind.object_kind(),
                        r.id,
                        change.as_str()
                    ));
                }
            }
        })
    }
}

/// `demo --headless [--for DURATION]`.
pub fn headless(run_for: Option<Duration>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let demo = Demo::start(DemoOptions::default()).await?;
        let config = demo.config()?;
        let state = config.state.resolved_path();
        crate::logging::init(&state)?;
        let (_lock, store) = crate::commands::run::own_state(&config)?;
        println!(
            "demo: ThreatQ simulator at {}, Slack simulator at {}, webhook receiver at {}, files in {}",
            demo.threatq.base_url(),
            demo.slack.api_url(),
            crate::http::origin(&url::Url::parse(&demo.receiver.url())?),
            demo.dir.path().display()
        );
        let worker = Worker::from_config(&config, store)?;
        let printer = print_events(worker.subscribe(), Verbosity::Deliveries);
        let handle = worker.start()?;
        let toucher = demo
            .spawn_toucher(|line| println!("{} {line}", chrono::Local::now().format("%H:%M:%S")));
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let time_up = async {
            match run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = time_up => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
        toucher.abort();
        handle.shutdown().await;
        let _ = printer.await;
        println!(
            "demo: stopped; Slack accepted {} message(s), the webhook receiver got {}",
            demo.slack.accepted().len(),
            demo.receiver.received().len()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `demo`: the console on the demo's scene. The simulators stop and the folder is removed
/// when the console quits.
pub fn console(theme: Option<String>, no_color: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the console needs a terminal; try `tq-alerts-tui demo --headless` in scripts"
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let demo = Demo::start(DemoOptions::default()).await?;
        let config = demo.config()?;
        let toucher = demo.spawn_toucher(|line| tracing::info!("{line}"));
        let result = crate::tui::run(crate::tui::ConsoleOptions {
            config,
            theme,
            no_color,
            read_only: false,
            env: Arc::new(config::ProcessEnv),
        })
        .await;
        toucher.abort();
        demo.slack.stop();
        result?;
        Ok(ExitCode::SUCCESS)
    })
}
