//! The configuration file (PRODUCT.md §4): the validated model, loading with `FILE:LINE:COL`
//! errors, secrets, and the edit API the console writes back through.

pub mod model;
pub mod secret;

pub use model::*;
pub use secret::{Secret, SecretSource};
