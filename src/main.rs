//! `tq-alerts-tui`: parse the command line, run the command, report errors in one or two plain
//! lines. The work lives in the library (`tq_alerts::commands`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, CommandFactory, Parser, Subcommand, ValueEnum};
use tq_alerts::commands;
use tq_alerts::config::{self, Config, ProcessEnv};
use tq_alerts::slack::render::PreviewFormat;

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
    /// Console theme: default, light, high-contrast, mono, nightwatch, or a theme file
    #[arg(long, value_name = "NAME")]
    theme: Option<String>,
    /// No colours (the mono theme); also when NO_COLOR is set
    #[arg(long, global = true)]
    no_color: bool,
    /// Look, but change nothing (no worker runs in this console)
    #[arg(long)]
    read_only: bool,
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
    Check {
        /// Also log in to ThreatQ (one page per service) and Slack (auth.test, every channel and user); sends nothing
        #[arg(long)]
        online: bool,
    },
    /// The product against built-in simulators fed with real published threat intelligence
    Demo {
        /// The console's theme
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
        /// Print runs and deliveries as lines instead of the console
        #[arg(long)]
        headless: bool,
        /// Stop after this long (e.g. `30s`, `5m`)
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_arg, requires = "headless")]
        run_for: Option<std::time::Duration>,
    },
    /// Run the simulators alone, to try a config against them
    Sim {
        /// Address of the ThreatQ simulator (e.g. 127.0.0.1:8443)
        #[arg(long, value_name = "ADDR")]
        threatq: Option<std::net::SocketAddr>,
        /// Address of the Slack simulator
        #[arg(long, value_name = "ADDR")]
        slack: Option<std::net::SocketAddr>,
        /// Serve the threat-intel data of this folder (laid out like assets/threat-intel/)
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
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
    /// Show the message a formatter makes for an alert, or draw a Slack message payload
    #[command(group(ArgGroup::new("what").required(true).args(["formatter", "payload"])))]
    Preview {
        /// A formatter of the config, or the built-in `slack-blocks` or `plain`
        #[arg(long, value_name = "NAME")]
        formatter: Option<String>,
        /// The alert: a ThreatQ object, or a JSON array of them for a digest (`-` reads
        /// standard input); without it, the built-in samples
        #[arg(
            long,
            value_name = "FILE|-",
            requires = "formatter",
            conflicts_with = "payload"
        )]
        alert: Option<PathBuf>,
        /// Draw a Slack message payload (Block Kit JSON; `-` reads standard input)
        #[arg(long, value_name = "FILE|-")]
        payload: Option<PathBuf>,
        /// text or ansi: drawn as Slack draws it; json: the exact request body, one line per
        /// message
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Columns of the drawing
        #[arg(long, value_name = "N", default_value_t = 80, value_parser = clap::value_parser!(u16).range(20..=1000))]
        width: u16,
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

/// How `preview` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Ansi,
    Json,
}

fn main() -> ExitCode {
    tq_alerts::tui::mark_start();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Run { once }) => {
            with_config(&cli.config, |cfg| commands::run::run(cfg, once))
        }
        Some(Command::Check { online }) => {
            with_config(&cli.config, |cfg| commands::check::check(cfg, online))
        }
        Some(Command::Demo {
            theme,
            headless,
            run_for,
        }) => {
            if headless {
                commands::demo::headless(run_for)
            } else {
                commands::demo::console(theme.or(cli.theme), cli.no_color)
            }
        }
        Some(Command::Sim {
            threatq,
            slack,
            data,
        }) => commands::sim::sim(commands::sim::SimArgs {
            threatq,
            slack,
            data,
        }),
        Some(Command::SendTest { notifier }) => with_config(&cli.config, |cfg| {
            commands::send_test::send_test(cfg, &notifier)
        }),
        Some(Command::Status { json, retry }) => with_config(&cli.config, |cfg| {
            commands::run::status(cfg, json, retry.as_deref())
        }),
        Some(Command::Preview {
            formatter,
            alert,
            payload,
            format,
            width,
        }) => {
            let options = commands::preview::PreviewOptions {
                format: match format {
                    Format::Text => PreviewFormat::Text,
                    Format::Ansi => PreviewFormat::Ansi,
                    Format::Json => PreviewFormat::Json,
                },
                width,
            };
            match (formatter, payload) {
                (Some(name), _) => with_config(&cli.config, |cfg| {
                    commands::preview::formatter(&cfg, &name, alert.as_deref(), options)
                }),
                (None, Some(path)) => commands::preview::payload(&path, options),
                (None, None) => unreachable!("clap requires --formatter or --payload"),
            }
        }
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
            let (theme, no_color, read_only) = (cli.theme, cli.no_color, cli.read_only);
            with_config(&cli.config, |config| {
                console(config, theme, no_color, read_only)
            })
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

fn console(
    config: Config,
    theme: Option<String>,
    no_color: bool,
    read_only: bool,
) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the console needs a terminal; for scripts and systemd use `tq-alerts-tui run`"
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(tq_alerts::tui::run(tq_alerts::tui::ConsoleOptions {
        config,
        theme,
        no_color,
        read_only,
        env: std::sync::Arc::new(ProcessEnv),
    }))?;
    Ok(ExitCode::SUCCESS)
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

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    config::parse_duration(text)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
