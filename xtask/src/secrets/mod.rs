//! The secrets core shared by setup, rotate and verify: the catalog, its
//! rules, generation, the API-key JWTs and the redacted value type.

pub mod catalog;
pub mod defaults;
pub mod generate;
pub mod jwt;
pub mod rules;
mod value;

pub use catalog::{CATALOG, Make, Role, SecretSpec, Tier};
pub use value::Secret;
