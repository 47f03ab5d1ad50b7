//! The built-in services (PRODUCT.md §3.1): `watchlist` and `data-collection`, both polling
//! ThreatQ through one shared client.

pub mod data_collection;
pub mod watchlist;

pub use data_collection::DataCollectionService;
pub use watchlist::WatchlistService;
