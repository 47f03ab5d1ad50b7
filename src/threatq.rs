//! The ThreatQ side of the product: the API client (both OAuth grants, token refresh, one
//! re-login on 401, paging, lookups of type and status names) and the normalisation of API
//! objects into the `ThreatObject` every formatter and template sees (PRODUCT.md §6.1–6.3).

pub mod auth;
pub mod client;
pub mod collections;
pub mod lookups;
pub mod normalize;
pub mod wire;

pub use client::{Page, ThreatQClient, ThreatQError};
pub use lookups::Lookups;
pub use normalize::{NormalizeError, infer_kind, object_from_api, object_from_api_inferred};
