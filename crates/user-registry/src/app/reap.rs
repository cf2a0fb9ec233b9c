//! The reaper of end users never associated with a conversation in time. It never holds a
//! transaction while it tells the other services: each batch is claimed (which makes its users
//! gone to every other call), told about with nothing open, then deleted.

use super::Registry;
use crate::{
    domain::{AppId, DeletionReason},
    error::RegistryError,
};

/// What one reaper pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReapReport {
    pub deleted: u64,
    /// Applications whose pass failed (logged); the next pass retries them.
    pub failed_apps: u64,
}

impl Registry {
    /// How long a claim on users being deleted holds off other deleters: longer than one batch's
    /// calls to the other services should ever take. Past it, another pass takes the users over
    /// and tells the services again.
    pub const DELETION_LEASE_MS: i64 = 10 * 60 * 1000;

    /// One pass of the reaper: in every application with a lifetime, deletes the end users
    /// created through a dialect that expires them and never associated within it, in batches
    /// of `batch`.
    pub async fn reap(&self, batch: u32) -> ReapReport {
        let mut report = ReapReport::default();
        let lifetimes = match self.lifecycle.unassociated_lifetimes().await {
            Ok(lifetimes) => lifetimes,
            Err(err) => {
                tracing::warn!(error = %err, "reaper: application settings unavailable; retrying next pass");
                report.failed_apps += 1;
                return report;
            }
        };
        for (app_id, lifetime_ms) in lifetimes {
            let mut deleted = 0u64;
            if let Err(err) = self.reap_app(&app_id, lifetime_ms, batch, &mut deleted).await {
                tracing::warn!(app.id = app_id.as_str(), error = %err, "reaper: a batch failed; retrying next pass");
                report.failed_apps += 1;
            }
            if deleted > 0 {
                metrics::counter!("roster_reaper_deleted_users_total").increment(deleted);
                tracing::info!(
                    app.id = app_id.as_str(),
                    deleted,
                    "reaper deleted end users never associated with a conversation"
                );
            }
            report.deleted += deleted;
        }
        report
    }

    /// Reaps one application batch by batch, adding to `deleted`. Each batch is claimed, its
    /// users' tokens and context deleted with no transaction open, and then the users; a failed
    /// call stops the pass, and the users it left claimed are taken over once the claim's lease
    /// has run out.
    async fn reap_app(
        &self,
        app_id: &AppId,
        lifetime_ms: i64,
        batch: u32,
        deleted: &mut u64,
    ) -> Result<(), RegistryError> {
        let cutoff = self.clock.now_millis().saturating_sub(lifetime_ms);
        loop {
            let now = self.clock.now_millis();
            let stale_before = now.saturating_sub(Self::DELETION_LEASE_MS);
            let claimed = self.store.claim_unassociated(app_id, cutoff, stale_before, u64::from(batch), now).await?;
            let mut told = Vec::with_capacity(claimed.len());
            let mut failed = None;
            for id in &claimed {
                if let Err(err) = self.lifecycle.before_delete(app_id, id).await {
                    failed = Some(err);
                    break;
                }
                told.push(id.clone());
            }
            if !told.is_empty() {
                *deleted += self.store.delete_claimed(app_id, &told, now, DeletionReason::Reaper).await?.len() as u64;
            }
            if let Some(err) = failed {
                return Err(err.into());
            }
            if claimed.len() < batch as usize {
                return Ok(());
            }
        }
    }
}
