//! `tq-alerts-tui`: parse the command line, run the command, report errors in one or two plain
//! lines. The work lives in the library (`tq_alerts::commands`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use tq_alerts::commands;
use tq_alerts::config::{self, Config, ProcessEnv};

#[derive(Parser, Debug)]
#[command(
    name = "tq-alerts-tui",
    version,
    about = "ThreatQ alerts delivered to Slack, with a console for operators",
    long_about = "ThreatQ alerts delivered to Slack and other receivers, reliably.\n\nWithout a command: the console, with the embedded worker."
)]
struct Cli {
    /// The config file (default: $TQ_ALERTS_CONFIG, then $XDG_CONFIG_HOME/tq-alerts/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The headless worker (for systemd): polls, formats, delivers, retries
    Run {
        /// Poll each enabled service once, send what is due within 30 s, then exit
        #[arg(long)]
        once: bool,
    },
    /// Validate the config: keys, names, secrets, templates
    Check,
    /// Send a test message through a notifier to each of its targets; exit 1 if any failed
    SendTest {
        /// The notifier's name in the config
        #[arg(long, value_name = "NAME")]
        notifier: String,
    },
    /// Runs, outbox and recent deliveries from the state file; exit 1 when unhealthy
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Queue a failed row again: its id, or `all`
        #[arg(long, value_name = "ID|all")]
        retry: Option<String>,
    },
    /// Write a commented starter config
    Init {
        /// Where to write it (default: $XDG_CONFIG_HOME/tq-alerts/config.toml)
        file: Option<PathBuf>,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run { once }) => {
            with_config(&cli.config, |cfg| commands::run::run(cfg, once))
        }
        Some(Command::Check) => with_config(&cli.config, commands::check::check),
        Some(Command::SendTest { notifier }) => with_config(&cli.config, |cfg| {
            commands::send_test::send_test(cfg, &notifier)
        }),
        Some(Command::Status { json, retry }) => with_config(&cli.config, |cfg| {
            commands::run::status(cfg, json, retry.as_deref())
        }),
        Some(Command::Init { file }) => init(file),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tq-alerts-tui",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("the console is not part of this build yet; see `tq-alerts-tui --help`");
            Ok(ExitCode::from(2))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Find and load the config, or say where we looked and what to do.
fn with_config(
    explicit: &Option<PathBuf>,
    command: impl FnOnce(Config) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let path = match config::locate(explicit.as_deref(), &ProcessEnv) {
        Ok(path) => path,
        Err(not_found) => {
            eprintln!("{not_found}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match config::load(&path) {
        Ok(cfg) => {
            for warning in &cfg.warnings {
                eprintln!("warning: {warning}");
            }
            command(cfg)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn init(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = match file.or_else(|| config::default_location(&ProcessEnv)) {
        Some(p) => p,
        None => anyhow::bail!(
            "cannot tell where the config goes (no $XDG_CONFIG_HOME or $HOME); give a FILE"
        ),
    };
    commands::init::write_starter(&path)?;
    let shown = display(&path);
    println!("wrote {shown}");
    println!(
        "next: set the variables it names, edit it, then `tq-alerts-tui check --config {shown}`"
    );
    if std::io::stdout().is_terminal() {
        println!("or try the product first with `tq-alerts-tui demo`");
    }
    Ok(ExitCode::SUCCESS)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
