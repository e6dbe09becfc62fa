//! Where a rotation's new values come from: the sources setup uses too
//! ([`crate::sources::lookup`]), in the same order.

pub use crate::sources::lookup::{Found, Sources, describe};
