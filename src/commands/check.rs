//! `check`: the config is valid (checked when it was loaded) and everything it names can be
//! built: notifiers, formatters, services.

use std::process::ExitCode;

use crate::config::Config;
use crate::worker::from_config;

pub fn check(config: Config) -> anyhow::Result<ExitCode> {
    if let Err(e) = from_config::build(&config) {
        eprintln!("{}: {e}", config.path.display());
        return Ok(ExitCode::FAILURE);
    }
    let enabled = config.services.iter().filter(|s| s.enabled).count();
    println!(
        "{}: ok — {} service(s) ({} enabled), {} notifier(s), {} formatter(s)",
        config.path.display(),
        config.services.len(),
        enabled,
        config.notifiers.len(),
        config.formatters.len()
    );
    Ok(ExitCode::SUCCESS)
}
