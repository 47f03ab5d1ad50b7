//! The simulators (PRODUCT.md §9) and the real data they serve: the product's own test peers,
//! used by `demo`, `sim` and the tests.

pub mod data;
pub mod slack;
pub mod threatq;
