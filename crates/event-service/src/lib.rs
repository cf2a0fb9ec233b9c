//! event-service: owns the events every service publishes from its transactional outbox, the
//! subscriptions that want them (webhooks in each dialect's format), and their deliveries:
//! at least once, in order per subscription and user, leased so replicas never send one twice at
//! once, retried with backoff, then dead-lettered and redeliverable.

pub mod app;
pub mod domain;
pub mod grpc;
pub mod migration;
pub mod startup;
pub mod store;

pub use startup::Application;
