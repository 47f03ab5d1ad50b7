//! The configuration file (PRODUCT.md §4): the validated model, loading with `FILE:LINE:COL`
//! errors, secrets, and the edit API the console writes back through.

pub mod duration;
pub mod edit;
pub mod load;
pub mod model;
pub mod secret;

pub use duration::{format_duration, parse_duration};
pub use edit::{ConfigFile, EditError};
pub use load::{
    ConfigError, Environment, NotFound, ProcessEnv, default_location, load, load_with, locate,
    parse,
};
pub use model::*;
pub use secret::{Secret, SecretSource};

/// The commented starter file `tq-alerts-tui init` writes: valid once its `_env` variables are
/// set, with every optional key shown in a comment.
pub fn starter() -> &'static str {
    include_str!("config/starter.toml")
}
