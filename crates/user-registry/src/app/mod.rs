//! The registry's use cases, written against the `UserStore` trait, the `UserLifecycle` hook
//! and an injected clock.

mod bulk;
mod members;
mod ports;
mod privacy;
mod reap;
mod restore;

use std::sync::Arc;

use platform::{Clock, timed_map::TimedMap};

use crate::{
    domain::{
        AppId, DeletionReason, Identity, Lookup, Metadata, MetadataWrite, NewUser, Nickname, Origin, Profile,
        ProfileImage, ProfileUrl, RosterId, SensitiveFields, User, UserFilter, UserPatch, ValidationError,
    },
    error::RegistryError,
};

pub use bulk::{BulkItem, Import, ImportReport};
pub use members::MemberUpdate;
pub use ports::{Candidate, Created, Extras, StoreError, TakenKey, UserLifecycle, UserPage, UserStore};
pub use privacy::{EXPORT_LIFETIME_MS, PrivacyOutcome, PrivacyPage};
pub use reap::ReapReport;
pub use restore::{OnConflict, RestoreItem, Restored};

#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn UserStore>,
    lifecycle: Arc<dyn UserLifecycle>,
    clock: Arc<dyn Clock>,
    /// Wakes this process's privacy worker when a request is registered here.
    privacy_work: Arc<tokio::sync::Notify>,
    /// Applications token-service confirmed (they are never deleted), so a create asks once a day.
    known_apps: Arc<TimedMap<AppId, ()>>,
}

/// Most applications a replica remembers; past it, it starts again (costing one question each).
const KNOWN_APPS: usize = 10_000;
const KNOWN_APP_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Registry {
    pub const MAX_PAGE: u32 = 100;

    /// The registry's clock's reading, in milliseconds.
    pub fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    pub fn new(store: Arc<dyn UserStore>, lifecycle: Arc<dyn UserLifecycle>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            lifecycle,
            privacy_work: Arc::new(tokio::sync::Notify::new()),
            known_apps: Arc::new(TimedMap::new(KNOWN_APPS, clock.clone())),
            clock,
        }
    }

    /// Users are created only in applications token-service has: asked once per replica.
    pub(crate) async fn ensure_application(&self, app_id: &AppId) -> Result<(), RegistryError> {
        if self.known_apps.get(app_id).is_some() {
            return Ok(());
        }
        if !self.lifecycle.application_exists(app_id).await.map_err(RegistryError::ServiceUnavailable)? {
            return Err(RegistryError::ApplicationNotFound);
        }
        self.known_apps.insert(app_id.clone(), (), KNOWN_APP_TTL);
        Ok(())
    }

    pub async fn create_user(&self, app_id: AppId, new: NewUser) -> Result<User, RegistryError> {
        self.ensure_application(&app_id).await?;
        let (user, image, sensitive) = User::new(app_id, new, self.clock.now_millis());
        self.store.create(&user, &Extras { image: image.as_ref(), sensitive: &sensitive }).await?;
        tracing::info!(user.id = user.id.as_str(), app.id = user.app_id.as_str(), "user created");
        Ok(user)
    }

    /// The user with this external id, created when absent; `true` when this call created it.
    /// `mark_authenticated` (a JWT login) leaves the user authenticated.
    pub async fn upsert_user_by_external_id(
        &self,
        app_id: AppId,
        new: NewUser,
        mark_authenticated: bool,
    ) -> Result<(User, bool), RegistryError> {
        if new.external_id.is_none() {
            return Err(ValidationError::Missing { field: "external_id" }.into());
        }
        self.ensure_application(&app_id).await?;
        let (candidate, image, sensitive) = User::new(app_id, new, self.clock.now_millis());
        let extras = Extras { image: image.as_ref(), sensitive: &sensitive };
        let (user, created) = self.store.upsert_by_external_id(&candidate, &extras, mark_authenticated).await?;
        if created {
            tracing::info!(user.id = user.id.as_str(), app.id = user.app_id.as_str(), "user created");
        }
        Ok((user, created))
    }

    /// The user holding this channel identity, created (origin channel, with `profile`) when
    /// none does; `true` when this call created it. An existing user is answered unchanged.
    pub async fn upsert_user_from_channel(
        &self,
        app_id: AppId,
        identity: Identity,
        profile: Profile,
        nickname: Nickname,
        profile_url: ProfileUrl,
    ) -> Result<(User, bool), RegistryError> {
        self.ensure_application(&app_id).await?;
        let new = NewUser {
            user_id: None,
            external_id: None,
            nickname,
            profile_url,
            profile,
            metadata: Metadata::default(),
            discovery_keys: Vec::new(),
            preferred_languages: Vec::new(),
            origin: Origin::Channel,
            profile_image: None,
            sensitive: SensitiveFields::default(),
            expires_unassociated: false,
            signed_up_at: None,
            to_be_retained: false,
            identities: vec![identity.clone()],
            member: None,
        };
        let (candidate, _, _) = User::new(app_id, new, self.clock.now_millis());
        let (user, created) = self.store.upsert_by_identity(&candidate, &identity).await?;
        if created {
            tracing::info!(
                user.id = user.id.as_str(),
                app.id = user.app_id.as_str(),
                channel = identity.channel_type(),
                "user created from a channel"
            );
        }
        Ok((user, created))
    }

    pub async fn get_user(&self, app_id: &AppId, lookup: &Lookup) -> Result<User, RegistryError> {
        self.store.find(app_id, lookup).await?.ok_or(RegistryError::UserNotFound)
    }

    pub async fn get_profile_image(&self, app_id: &AppId, id: &RosterId) -> Result<ProfileImage, RegistryError> {
        self.store.find_profile_image(app_id, id).await?.ok_or(RegistryError::ProfileImageNotFound)
    }

    /// Deactivation reaches token-service before the registry records it, reactivation after
    /// it: a failure on either side leaves the user's tokens refused, never let through.
    pub async fn update_user(&self, app_id: &AppId, lookup: &Lookup, patch: UserPatch) -> Result<User, RegistryError> {
        if patch.is_active == Some(false) {
            let id = self.get_user(app_id, lookup).await?.id;
            self.lifecycle.set_active(app_id, &id, false).await.map_err(RegistryError::ServiceUnavailable)?;
        }
        let user = self.store.update(app_id, lookup, &patch, self.clock.now_millis()).await?;
        if patch.is_active == Some(true) {
            self.lifecycle.set_active(app_id, &user.id, true).await.map_err(RegistryError::ServiceUnavailable)?;
        }
        tracing::info!(user.id = user.id.as_str(), app.id = app_id.as_str(), "user updated");
        Ok(user)
    }

    /// Sunshine's "delete personal information": the record stays, what identifies the person
    /// goes.
    pub async fn delete_personal_information(&self, app_id: &AppId, lookup: &Lookup) -> Result<User, RegistryError> {
        let user = self.store.delete_personal_information(app_id, lookup, self.clock.now_millis()).await?;
        tracing::info!(user.id = user.id.as_str(), app.id = app_id.as_str(), "personal information deleted");
        Ok(user)
    }

    /// Deletes the user from every service. The user is claimed first: gone to every lookup,
    /// so a token issue, a join or an association racing the deletion finds nothing; the other
    /// services are told with no transaction open; then the row goes, with its `user.deleted`
    /// event. A call that fails half-way leaves the user claimed, and calling again finishes it.
    pub async fn delete_user(&self, app_id: &AppId, lookup: &Lookup) -> Result<RosterId, RegistryError> {
        self.delete_user_for(app_id, lookup, DeletionReason::Api).await
    }

    /// `delete_user`, its event saying why.
    pub(crate) async fn delete_user_for(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        reason: DeletionReason,
    ) -> Result<RosterId, RegistryError> {
        let now = self.clock.now_millis();
        let id = self.store.claim_user(app_id, lookup, now).await?.ok_or(RegistryError::UserNotFound)?;
        self.lifecycle.before_delete(app_id, &id).await.map_err(RegistryError::ServiceUnavailable)?;
        if self.store.delete_claimed(app_id, std::slice::from_ref(&id), now, reason).await?.is_empty() {
            // A later claim (a retried or concurrent delete) took the user over and deletes it.
            tracing::info!(user.id = id.as_str(), app.id = app_id.as_str(), "user deletion taken over");
        } else {
            tracing::info!(user.id = id.as_str(), app.id = app_id.as_str(), "user deleted");
        }
        Ok(id)
    }

    pub async fn list_users(
        &self,
        app_id: &AppId,
        after: Option<RosterId>,
        page_size: u32,
        filter: &UserFilter,
    ) -> Result<UserPage, RegistryError> {
        let size = page_size.clamp(1, Self::MAX_PAGE) as usize;
        // One extra row tells whether another page exists.
        let mut users = self.store.list(app_id, after.as_ref(), size as u64 + 1, filter).await?;
        let next = if users.len() > size {
            users.truncate(size);
            users.last().map(|u| u.id.clone())
        } else {
            None
        };
        Ok(UserPage { users, next })
    }

    pub async fn write_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        entries: Metadata,
        mode: MetadataWrite,
    ) -> Result<Metadata, RegistryError> {
        Ok(self.store.write_metadata(app_id, lookup, &entries, mode, self.clock.now_millis()).await?)
    }

    pub async fn delete_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        keys: Option<Vec<String>>,
    ) -> Result<(), RegistryError> {
        Ok(self.store.delete_metadata(app_id, lookup, keys.as_deref(), self.clock.now_millis()).await?)
    }

    /// Records that a conversation includes the user, which stops the reaper for it.
    pub async fn mark_associated(&self, app_id: &AppId, lookup: &Lookup) -> Result<User, RegistryError> {
        Ok(self.store.mark_associated(app_id, lookup, self.clock.now_millis()).await?)
    }

    /// The user's sensitive fields, for a caller holding `api_token` with the
    /// sensitive-metadata scope of this application.
    pub async fn sensitive_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        api_token: Option<&str>,
    ) -> Result<SensitiveFields, RegistryError> {
        self.authorize_sensitive(app_id, api_token).await?;
        let fields = self.store.find_sensitive(app_id, lookup).await?;
        tracing::info!(app.id = app_id.as_str(), fields = fields.entries().len(), "sensitive metadata read");
        Ok(fields)
    }

    /// The names of the user's sensitive fields, never their values.
    pub async fn sensitive_field_names(&self, app_id: &AppId, lookup: &Lookup) -> Result<Vec<String>, RegistryError> {
        let fields = self.store.find_sensitive(app_id, lookup).await?;
        Ok(fields.into_entries().into_keys().collect())
    }

    /// Refuses a caller whose API token (of this application) lacks the sensitive-metadata scope.
    pub async fn authorize_sensitive(&self, app_id: &AppId, api_token: Option<&str>) -> Result<(), RegistryError> {
        let allowed = match api_token {
            Some(token) => self.lifecycle.may_read_sensitive(app_id, token).await?,
            None => false,
        };
        if allowed { Ok(()) } else { Err(RegistryError::SensitiveScopeRequired) }
    }

    /// Users per ExportUsers message unless asked otherwise, and the most.
    pub const EXPORT_BATCH: u32 = 500;
    pub const MAX_EXPORT_BATCH: u32 = 1000;

    /// How many live users the application has.
    pub async fn count_users(&self, app_id: &AppId) -> Result<u64, RegistryError> {
        Ok(self.store.count(app_id).await?)
    }

    /// One page of an export: the next `size` users after `after` in id order, each with its
    /// sensitive fields when `sensitive` (the caller was authorized by `authorize_sensitive`).
    pub async fn export_page(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        size: u32,
        sensitive: bool,
    ) -> Result<Vec<(User, SensitiveFields)>, RegistryError> {
        let size = size.clamp(1, Self::MAX_EXPORT_BATCH);
        let users = self.store.list(app_id, after, u64::from(size), &UserFilter::default()).await?;
        let mut fields = if sensitive {
            let ids: Vec<RosterId> = users.iter().map(|u| u.id.clone()).collect();
            self.store.find_sensitive_many(app_id, &ids).await?
        } else {
            Default::default()
        };
        Ok(users
            .into_iter()
            .map(|user| {
                let sensitive = fields.remove(&user.id).unwrap_or_default();
                (user, sensitive)
            })
            .collect())
    }
}
