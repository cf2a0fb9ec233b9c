//! sea-orm implementation of `UserStore`, for PostgreSQL and SQLite alike. Each file holds one
//! concern; this one only delegates.

mod bulk;
mod children;
mod codec;
mod constraints;
mod create;
mod delete;
mod entity;
mod events;
mod identities;
mod load;
mod members;
mod metadata;
mod outbox;
mod privacy;
mod rows;
mod sensitive;
mod sql;
mod update;

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform::seal::Sealer;
use sea_orm::DatabaseConnection;

pub use constraints::UNIQUE_KEYS;
pub use outbox::SeaOutbox;

use crate::{
    app::{Candidate, Created, Extras, PrivacyOutcome, StoreError, UserStore},
    domain::{
        AppId, DeletionReason, EmailId, GroupPage, Identity, Lookup, MemberPatch, Metadata, MetadataWrite,
        PrivacyRequest, ProfileImage, RoleKind, RolePage, RosterId, SensitiveFields, User, UserFilter, UserPatch,
    },
};

#[derive(Debug, Clone)]
pub struct SeaUserStore {
    db: DatabaseConnection,
    /// Where reads that belong to no write go: `platform::db::connect_reader`'s pool, or `db`.
    reads: DatabaseConnection,
    sealer: Sealer,
}

impl SeaUserStore {
    /// `sealer` seals sensitive metadata; see `sealer_from_settings`.
    pub fn new(db: DatabaseConnection, sealer: Sealer) -> Self {
        Self { reads: db.clone(), db, sealer }
    }

    /// User reads and lists (GetUser, ListUsers, member lookups) through `reads`.
    pub fn with_reader(self, reads: DatabaseConnection) -> Self {
        Self { reads, ..self }
    }
}

/// The configured sealing keys, or else the registry's own generated key.
pub async fn sealer_from_settings(db: &DatabaseConnection, settings: &platform::Settings) -> anyhow::Result<Sealer> {
    platform::db::sealer(db, settings, "registry_keys").await
}

#[async_trait]
impl UserStore for SeaUserStore {
    async fn create(&self, user: &User, extras: &Extras<'_>) -> Result<(), StoreError> {
        create::create(&self.db, &self.sealer, user, extras).await
    }

    async fn create_many(&self, candidates: &[Candidate], expect_new: bool) -> Result<Vec<Created>, StoreError> {
        bulk::create_many(&self.db, &self.sealer, candidates, expect_new).await
    }

    async fn upsert_by_external_id(
        &self,
        user: &User,
        extras: &Extras<'_>,
        mark_authenticated: bool,
    ) -> Result<(User, bool), StoreError> {
        create::upsert_by_external_id(&self.db, &self.sealer, user, extras, mark_authenticated).await
    }

    async fn upsert_by_identity(&self, user: &User, identity: &Identity) -> Result<(User, bool), StoreError> {
        create::upsert_by_identity(&self.db, &self.sealer, user, identity).await
    }

    async fn find(&self, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError> {
        load::find_user(&self.reads, app_id, lookup).await
    }

    async fn update(&self, app_id: &AppId, lookup: &Lookup, patch: &UserPatch, now: i64) -> Result<User, StoreError> {
        update::update(&self.db, &self.sealer, app_id, lookup, patch, now).await
    }

    async fn find_members(&self, app_id: &AppId, email_ids: &[EmailId]) -> Result<Vec<User>, StoreError> {
        load::find_members(&self.reads, app_id, email_ids).await
    }

    async fn update_member(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        patch: &MemberPatch,
        now: i64,
    ) -> Result<User, StoreError> {
        update::update_member(&self.db, app_id, lookup, patch, now).await
    }

    async fn list_member_groups(&self, app_id: &AppId, offset: u64, limit: u64) -> Result<GroupPage, StoreError> {
        members::list_groups(&self.reads, app_id, offset, limit).await
    }

    async fn list_member_roles(
        &self,
        app_id: &AppId,
        kind: RoleKind,
        offset: u64,
        limit: u64,
    ) -> Result<RolePage, StoreError> {
        members::list_roles(&self.reads, app_id, kind, offset, limit).await
    }

    async fn delete(&self, app_id: &AppId, id: &RosterId) -> Result<bool, StoreError> {
        delete::delete(&self.db, app_id, id).await
    }

    async fn delete_personal_information(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError> {
        update::delete_personal_information(&self.db, app_id, lookup, now).await
    }

    async fn list(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        limit: u64,
        filter: &UserFilter,
    ) -> Result<Vec<User>, StoreError> {
        load::list(&self.reads, app_id, after, limit, filter).await
    }

    async fn write_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        entries: &Metadata,
        mode: MetadataWrite,
        now: i64,
    ) -> Result<Metadata, StoreError> {
        metadata::write(&self.db, app_id, lookup, entries, mode, now).await
    }

    async fn find_profile_image(&self, app_id: &AppId, id: &RosterId) -> Result<Option<ProfileImage>, StoreError> {
        children::find_image(&self.db, app_id, id).await
    }

    async fn delete_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        keys: Option<&[String]>,
        now: i64,
    ) -> Result<(), StoreError> {
        metadata::delete(&self.db, app_id, lookup, keys, now).await
    }

    async fn mark_associated(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError> {
        update::mark_associated(&self.db, app_id, lookup, now).await
    }

    async fn find_sensitive(&self, app_id: &AppId, lookup: &Lookup) -> Result<SensitiveFields, StoreError> {
        sensitive::find(&self.db, &self.sealer, app_id, lookup).await
    }

    async fn find_sensitive_many(
        &self,
        app_id: &AppId,
        ids: &[RosterId],
    ) -> Result<BTreeMap<RosterId, SensitiveFields>, StoreError> {
        sensitive::find_many(&self.reads, &self.sealer, app_id, ids).await
    }

    async fn count(&self, app_id: &AppId) -> Result<u64, StoreError> {
        load::count(&self.reads, app_id).await
    }

    async fn replace(&self, candidate: &Candidate) -> Result<User, StoreError> {
        create::replace(&self.db, &self.sealer, candidate).await
    }

    async fn claim_unassociated(
        &self,
        app_id: &AppId,
        created_before: i64,
        stale_before: i64,
        limit: u64,
        now: i64,
    ) -> Result<Vec<RosterId>, StoreError> {
        delete::claim_unassociated(&self.db, app_id, created_before, stale_before, limit, now).await
    }

    async fn delete_claimed(
        &self,
        app_id: &AppId,
        ids: &[RosterId],
        claimed_at: i64,
        reason: DeletionReason,
    ) -> Result<Vec<RosterId>, StoreError> {
        delete::delete_claimed(&self.db, app_id, ids, claimed_at, reason).await
    }

    async fn claim_user(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<Option<RosterId>, StoreError> {
        delete::claim_user(&self.db, app_id, lookup, now).await
    }

    async fn users_with_email(&self, app_id: &AppId, email: &str) -> Result<Vec<RosterId>, StoreError> {
        delete::with_email(&self.db, app_id, email).await
    }

    async fn create_privacy_request(&self, request: &PrivacyRequest) -> Result<(), StoreError> {
        privacy::create(&self.db, request).await
    }

    async fn find_privacy_request(&self, app_id: &AppId, id: &RosterId) -> Result<Option<PrivacyRequest>, StoreError> {
        privacy::find(&self.db, app_id, id).await
    }

    async fn list_privacy_requests(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        limit: u64,
    ) -> Result<Vec<PrivacyRequest>, StoreError> {
        privacy::list(&self.db, app_id, after, limit).await
    }

    async fn cancel_privacy_request(
        &self,
        app_id: &AppId,
        id: &RosterId,
        now: i64,
    ) -> Result<Option<(PrivacyRequest, bool)>, StoreError> {
        privacy::cancel(&self.db, app_id, id, now).await
    }

    async fn claim_privacy_request(
        &self,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<(PrivacyRequest, u32)>, StoreError> {
        privacy::claim(&self.db, now, lease_until).await
    }

    async fn finish_privacy_request(
        &self,
        id: &RosterId,
        lease_until: i64,
        outcome: PrivacyOutcome,
        now: i64,
    ) -> Result<bool, StoreError> {
        privacy::finish(&self.db, id, lease_until, outcome, now).await
    }

    async fn release_privacy_request(&self, id: &RosterId, lease_until: i64) -> Result<(), StoreError> {
        privacy::release(&self.db, id, lease_until).await
    }

    async fn find_privacy_export(
        &self,
        app_id: &AppId,
        id: &RosterId,
        key: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        privacy::find_export(&self.db, app_id, id, key, now).await
    }

    async fn purge_privacy_exports(&self, now: i64) -> Result<u64, StoreError> {
        privacy::purge_exports(&self.db, now).await
    }
}
