//! `init`: write the commented starter config, never over an existing file, readable by its
//! owner only (it names where secrets come from).

use std::io::Write as _;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} already exists; not overwriting it (remove it first, or give another FILE)")]
    Exists(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub fn write_starter(path: &Path) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists(path.display().to_string())
        } else {
            io(e)
        }
    })?;
    file.write_all(crate::config::starter().as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}
