//! The secrets core shared by setup, rotate and verify: the catalog, its
//! rules, generation, the API-key JWTs, the JWK sets, the opaque `sb_` keys
//! and the redacted value type.

pub mod asymmetric;
pub mod catalog;
pub mod defaults;
pub mod es256;
pub mod generate;
pub mod jwk;
pub mod jwt;
pub mod opaque;
pub mod rules;
mod value;

pub use catalog::{CATALOG, Make, Role, SecretSpec, Tier, name};
pub use value::Secret;
