//! The admin commands of the `roster` binary, one module each.

pub mod apps;
pub mod events;
pub mod export;
pub mod import;
pub mod pull;
pub mod record;
