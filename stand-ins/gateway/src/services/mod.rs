//! The services behind the gateway's routes, each a stand-in that checks the JWT the way
//! that service does and answers with its status codes and error bodies.

pub mod edge;
pub mod gotrue;
pub mod postgrest;
pub mod users;
