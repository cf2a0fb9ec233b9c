//! Data-subject requests: registered by a dialect (Sendbird's GDPR API, Ada's data-subject
//! request), carried out by a worker that any replica may run. A worker takes one request under
//! a lease, erases each user the way every deletion does (claimed, the other services told,
//! then deleted with a `user.deleted` event) or exports what the registry holds of them, and
//! ends the request with its subjects cleared. A worker that dies mid-request leaves it to the
//! next once the lease runs out; erasing again is harmless.

use serde_json::{Map, Value, json};

use super::{Registry, StoreError};
use crate::{
    domain::{
        AppId, DeletionReason, ExportRef, Lookup, MetaValue, PrivacyAction, PrivacyRequest, RosterId, Subject, User,
    },
    error::RegistryError,
};

/// What became of a request a worker carried out.
#[derive(Debug)]
pub enum PrivacyOutcome {
    Done {
        users: u32,
        /// An export's bytes and where and until when it is served.
        export: Option<(Vec<u8>, ExportRef)>,
    },
    Failed,
}

/// How long a worker holds a request before another may take it over.
const LEASE_MS: i64 = 10 * 60 * 1000;
/// Attempts before a request is given up on (failed).
const MAX_ATTEMPTS: u32 = 5;
/// How long an export can be downloaded.
pub const EXPORT_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// A page of requests and where the next one starts.
#[derive(Debug)]
pub struct PrivacyPage {
    pub requests: Vec<PrivacyRequest>,
    pub next: Option<RosterId>,
}

impl Registry {
    pub async fn create_privacy_request(&self, request: PrivacyRequest) -> Result<PrivacyRequest, RegistryError> {
        self.store.create_privacy_request(&request).await?;
        tracing::info!(
            app.id = request.app_id.as_str(),
            request.id = request.id.as_str(),
            action = request.action.as_str(),
            subjects = request.subjects.len(),
            "privacy request registered"
        );
        self.privacy_work.notify_one();
        Ok(request)
    }

    pub async fn privacy_request(&self, app_id: &AppId, id: &RosterId) -> Result<PrivacyRequest, RegistryError> {
        self.store.find_privacy_request(app_id, id).await?.ok_or(RegistryError::PrivacyRequestNotFound)
    }

    pub async fn privacy_requests(
        &self,
        app_id: &AppId,
        after: Option<RosterId>,
        page_size: u32,
    ) -> Result<PrivacyPage, RegistryError> {
        let size = page_size.clamp(1, Self::MAX_PAGE) as usize;
        let mut requests = self.store.list_privacy_requests(app_id, after.as_ref(), size as u64 + 1).await?;
        let next = if requests.len() > size {
            requests.truncate(size);
            requests.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(PrivacyPage { requests, next })
    }

    /// Cancels a request no worker has taken yet.
    pub async fn cancel_privacy_request(&self, app_id: &AppId, id: &RosterId) -> Result<PrivacyRequest, RegistryError> {
        match self.store.cancel_privacy_request(app_id, id, self.clock.now_millis()).await? {
            None => Err(RegistryError::PrivacyRequestNotFound),
            Some((request, true)) => Ok(request),
            Some((_, false)) => Err(RegistryError::PrivacyRequestNotCancellable),
        }
    }

    /// An export's bytes, by its request and the key in its URL, while it lasts.
    pub async fn privacy_export(&self, app_id: &AppId, id: &RosterId, key: &str) -> Result<Vec<u8>, RegistryError> {
        let export = self.store.find_privacy_export(app_id, id, key, self.clock.now_millis()).await?;
        export.ok_or(RegistryError::PrivacyRequestNotFound)
    }

    /// Waits until a request is registered in this process or `idle` passes.
    pub async fn privacy_work_or(&self, idle: std::time::Duration) {
        let _ = tokio::time::timeout(idle, self.privacy_work.notified()).await;
    }

    /// One pass of the worker: drops expired exports, then carries out every open request no
    /// other worker holds. Answers how many it ended.
    pub async fn run_privacy_requests(&self) -> usize {
        if let Err(err) = self.store.purge_privacy_exports(self.clock.now_millis()).await {
            tracing::warn!(error = %err, "expired privacy exports not purged; retrying next pass");
        }
        let mut ended = 0;
        loop {
            let now = self.clock.now_millis();
            let lease_until = now + LEASE_MS;
            let (request, attempts) = match self.store.claim_privacy_request(now, lease_until).await {
                Ok(Some(claimed)) => claimed,
                Ok(None) => return ended,
                Err(err) => {
                    tracing::warn!(error = %err, "privacy requests unavailable; retrying next pass");
                    return ended;
                }
            };
            let outcome = match self.carry_out(&request).await {
                Ok(outcome) => outcome,
                Err(err) if attempts < MAX_ATTEMPTS => {
                    tracing::warn!(request.id = request.id.as_str(), attempts, error = %err, "privacy request failed; retrying");
                    if let Err(err) = self.store.release_privacy_request(&request.id, lease_until).await {
                        tracing::warn!(error = %err, "privacy request not released; its lease will run out");
                    }
                    return ended;
                }
                Err(err) => {
                    tracing::error!(request.id = request.id.as_str(), attempts, error = %err, "privacy request given up");
                    PrivacyOutcome::Failed
                }
            };
            match self.store.finish_privacy_request(&request.id, lease_until, outcome, self.clock.now_millis()).await {
                Ok(true) => {
                    ended += 1;
                    tracing::info!(
                        app.id = request.app_id.as_str(),
                        request.id = request.id.as_str(),
                        "privacy request ended"
                    );
                }
                Ok(false) => tracing::warn!(
                    request.id = request.id.as_str(),
                    "privacy request lease lost; another worker has it"
                ),
                Err(err) => tracing::warn!(request.id = request.id.as_str(), error = %err, "privacy request not ended"),
            }
        }
    }

    async fn carry_out(&self, request: &PrivacyRequest) -> Result<PrivacyOutcome, RegistryError> {
        let ids = self.subjects_users(request).await?;
        match request.action {
            PrivacyAction::Erase => {
                for id in &ids {
                    match self.delete_user_for(&request.app_id, &Lookup::Id(id.clone()), DeletionReason::Erasure).await
                    {
                        Ok(_) | Err(RegistryError::UserNotFound) => {}
                        Err(err) => return Err(err),
                    }
                }
                Ok(PrivacyOutcome::Done { users: count(&ids), export: None })
            }
            PrivacyAction::Export => {
                let mut users = Vec::with_capacity(ids.len());
                for id in &ids {
                    let lookup = Lookup::Id(id.clone());
                    let Some(user) = self.store.find(&request.app_id, &lookup).await? else {
                        continue;
                    };
                    let sensitive = self.store.find_sensitive(&request.app_id, &lookup).await?;
                    users.push(export_user(&user, sensitive.entries().keys()));
                }
                let document = json!({
                    "request_id": request.id.as_str(),
                    "app_id": request.app_id.as_str(),
                    "exported_at": platform::time::iso8601_millis(self.clock.now_millis()),
                    "users": users,
                });
                let reference = ExportRef {
                    key: platform::ids::new_id(),
                    expires_at: self.clock.now_millis() + EXPORT_LIFETIME_MS,
                };
                let bytes = serde_json::to_vec_pretty(&document).map_err(anyhow::Error::from)?;
                Ok(PrivacyOutcome::Done { users: count(&users), export: Some((bytes, reference)) })
            }
        }
    }

    /// Every user the request's subjects name, each once.
    async fn subjects_users(&self, request: &PrivacyRequest) -> Result<Vec<RosterId>, StoreError> {
        let mut ids = Vec::new();
        for subject in &request.subjects {
            match subject {
                Subject::User(lookup) => {
                    if let Some(user) = self.store.find(&request.app_id, lookup).await? {
                        ids.push(user.id);
                    }
                }
                Subject::Email(email) => ids.extend(self.store.users_with_email(&request.app_id, email).await?),
            }
        }
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.dedup();
        Ok(ids)
    }
}

fn count<T>(items: &[T]) -> u32 {
    u32::try_from(items.len()).unwrap_or(u32::MAX)
}

/// What the registry holds of a user, as its export shows it. Sensitive metadata is named, not
/// shown: its values are readable only with the sensitive-metadata scope.
fn export_user<'a>(user: &User, sensitive: impl Iterator<Item = &'a String>) -> Value {
    let metadata: Map<String, Value> = user
        .metadata
        .entries()
        .iter()
        .map(|(key, value)| {
            let value = match value {
                MetaValue::String(s) => Value::from(s.clone()),
                MetaValue::Int(i) => Value::from(*i),
                MetaValue::Double(d) => Value::from(*d),
                MetaValue::Bool(b) => Value::from(*b),
            };
            (key.clone(), value)
        })
        .collect();
    let instant = |ms: i64| platform::time::iso8601_millis(ms);
    json!({
        "id": user.id.as_str(),
        "user_id": user.user_id.as_str(),
        "external_id": user.external_id.as_ref().map(|e| e.as_str()),
        "nickname": user.nickname.as_str(),
        "profile_url": user.profile_url.as_str(),
        "profile": {
            "given_name": user.profile.given_name,
            "surname": user.profile.surname,
            "email": user.profile.email,
            "language": user.profile.language,
        },
        "metadata": metadata,
        "sensitive_metadata_fields": sensitive.collect::<Vec<_>>(),
        "discovery_keys": user.discovery_keys.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "preferred_languages": user.preferred_languages,
        "identities": user.identities.iter().map(|i| json!({ "type": i.channel_type(), "value": i.value() })).collect::<Vec<_>>(),
        "member": user.member.as_ref().map(|m| json!({
            "email_id": m.email_id.as_str(),
            "org_user_id": m.org_user_id.as_ref().map(|o| o.as_str()),
            "groups": m.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        })),
        "is_active": user.is_active,
        "origin": user.origin.as_str(),
        "created_at": instant(user.created_at),
        "updated_at": instant(user.updated_at),
        "last_seen_at": user.last_seen_at.map(instant),
        "signed_up_at": user.signed_up_at.map(instant),
        "associated_at": user.associated_at.map(instant),
    })
}
