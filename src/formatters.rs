//! The built-in formatters (PRODUCT.md §3.3).

pub mod plain;

pub use plain::PlainFormatter;
