//! Receptor platform tooling: `cargo xtask setup`, `rotate` and `verify`.
fn main() {}
