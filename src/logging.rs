//! Logs go to a file in the state directory: stdout and stderr belong to the console and to
//! the command's own output. Secrets are never passed to a log call (they are `Secret`s, which
//! print as a mask), and URLs are logged by origin only.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// The log file beside a state file.
pub fn log_path(state: &Path) -> PathBuf {
    state
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("tq-alerts.log")
}

/// Send `tracing` output to the log file beside `state` (level from `TQ_ALERTS_LOG`, default
/// `info`). Returns the file's path. Safe to call more than once (later calls do nothing).
pub fn init(state: &Path) -> std::io::Result<PathBuf> {
    let path = log_path(state);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    let filter = EnvFilter::try_from_env("TQ_ALERTS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,hyper=warn,reqwest=warn,h2=warn,rustls=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(path)
}
