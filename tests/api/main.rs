//! End-to-end tests of the whole stack: every service started in one process on port 0, the
//! gateway reaching them over real gRPC, driven over HTTP as a Sendbird client would.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod ada;
mod ada_conversations;
mod architecture;
mod browser;
mod caller_cache;
mod compat;
mod dashboard;
mod deactivation;
mod deletion_races;
mod events;
mod faults;
mod fuzz;
mod helpers;
mod kore;
mod kore_email;
mod kore_import;
mod kore_users;
mod listeners;
mod logs;
mod migrating;
mod outages;
mod privacy;
mod profiles;
mod receiver;
mod sendbird;
mod sendbird_agents;
mod sendbird_images;
mod sendbird_tokens;
mod sendbird_users;
mod shutdown;
mod smtp;
mod stack;
mod sunshine;
mod sunshine_compat;
mod sunshine_conversations;
mod sunshine_errors;
mod sunshine_jwt;
mod sunshine_users;
mod traces;
mod webhooks_ada;
mod webhooks_sendbird;
