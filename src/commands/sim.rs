//! `sim`: run the simulators alone, to try a config against them. Each simulator is started
//! by its own function returning a `RunningSim`, which says how to reach it; a second
//! simulator (Slack) slots in beside ThreatQ in `start_all`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::sim::data;
use crate::sim::slack::{SlackSim, SlackSimOptions};
use crate::sim::threatq::{SimOptions, SimThreatQ};

/// What `sim` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct SimArgs {
    /// Where the ThreatQ simulator listens.
    pub threatq: Option<SocketAddr>,
    /// Where the Slack simulator listens (wired when the Slack simulator lands).
    pub slack: Option<SocketAddr>,
    /// A folder laid out like `assets/threat-intel/` to serve instead of the shipped data.
    pub data: Option<PathBuf>,
}

/// A simulator that is running: how to reach it, and how to stop it.
pub trait RunningSim: Send {
    /// `ThreatQ`, `Slack`.
    fn name(&self) -> &'static str;
    /// Lines telling an operator how to point a config at it.
    fn describe(&self) -> Vec<String>;
    fn stop(&self);
}

impl RunningSim for SimThreatQ {
    fn name(&self) -> &'static str {
        "ThreatQ"
    }

    fn describe(&self) -> Vec<String> {
        let c = self.credentials();
        let mut lines = vec![
            format!("ThreatQ simulator at {}", self.base_url()),
            format!(
                "  client credentials: client_id = \"{}\", client secret {}",
                c.client_id, c.client_secret
            ),
            format!(
                "  password grant: email = \"{}\", password {}",
                c.email, c.password
            ),
            format!(
                "  seed {} (type and status ids are this start's own)",
                self.seed()
            ),
        ];
        for dc in self.data_collections() {
            lines.push(format!(
                "  data collection \"{}\": collection = \"{}\", collection_hash = \"{}\"",
                dc.name, dc.collection, dc.hash
            ));
        }
        lines
    }

    fn stop(&self) {
        SimThreatQ::stop(self);
    }
}

impl RunningSim for SlackSim {
    fn name(&self) -> &'static str {
        "Slack"
    }

    fn describe(&self) -> Vec<String> {
        let channels: Vec<String> = self
            .workspace()
            .channels
            .iter()
            .map(|c| format!("#{}", c.name))
            .collect();
        vec![
            format!("Slack simulator at {}", self.api_url()),
            format!(
                "  api_url = \"{}\", bot token {}",
                self.api_url(),
                self.token()
            ),
            format!("  incoming webhook: {}", self.webhook_url()),
            format!("  channels: {}", channels.join(" ")),
        ]
    }

    fn stop(&self) {
        SlackSim::stop(self);
    }
}

/// Start the ThreatQ simulator on `addr` with the data of `data_dir` (or the shipped data).
pub async fn start_threatq(
    addr: SocketAddr,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<SimThreatQ> {
    let reports = match data_dir {
        Some(dir) => Some(data::reports_from_dir(dir)?),
        None => None,
    };
    let options = SimOptions {
        bind: addr,
        reports,
        ..SimOptions::default()
    };
    SimThreatQ::start(options)
        .await
        .context("cannot start the ThreatQ simulator")
}

/// Every simulator asked for; with no address given at all, ThreatQ on a free port.
pub async fn start_all(args: &SimArgs) -> anyhow::Result<Vec<Box<dyn RunningSim>>> {
    let mut running: Vec<Box<dyn RunningSim>> = Vec::new();
    let threatq = match (args.threatq, args.slack) {
        (Some(addr), _) => Some(addr),
        (None, None) => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        (None, Some(_)) => None,
    };
    if let Some(addr) = threatq {
        running.push(Box::new(start_threatq(addr, args.data.as_deref()).await?));
    }
    if let Some(addr) = args.slack {
        let slack = SlackSim::start(addr, SlackSimOptions::default())
            .await
            .context("cannot start the Slack simulator")?;
        running.push(Box::new(slack));
    }
    Ok(running)
}

pub fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let running = start_all(&args).await?;
        for sim in &running {
            for line in sim.describe() {
                println!("{line}");
            }
        }
        println!("Ctrl-C stops.");
        let _ = tokio::signal::ctrl_c().await;
        for sim in &running {
            sim.stop();
        }
        Ok(ExitCode::SUCCESS)
    })
}
