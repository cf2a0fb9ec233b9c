//! RestoreUsers: users as an export gave them, keeping their Roster ids, user ids, external ids
//! and instants, so the export of one Roster goes into another unchanged. A batch is written
//! with the bulk create (one transaction, multi-row INSERTs); a record refused for a taken key
//! is then told apart: its own user already here (skipped, or replaced whole on
//! `OnConflict::Update`, each replacement its own transaction after the batch's), or a key
//! another user holds (reported).

use std::collections::HashSet;

use super::{
    Candidate, Created, Registry, StoreError,
    bulk::{Claims, taken},
};
use crate::{
    domain::{AppId, Kept, Lookup, NewUser, User},
    error::RegistryError,
};

/// One record of a restore: what the caller sent, or why it could not be read.
pub type RestoreItem = Result<(NewUser, Kept), RegistryError>;

/// What to do with a record whose Roster id is already a user of the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    Skip,
    Update,
}

/// What became of one record.
#[derive(Debug)]
pub enum Restored {
    Created,
    Updated,
    /// Its user is already here (`OnConflict::Skip`).
    Skipped,
    /// Refused, and why.
    LeftOut(RegistryError),
}

impl Registry {
    /// Most records one restore message takes.
    pub const MAX_RESTORE_BATCH: usize = 1000;

    /// Writes one batch of records into `app_id` and answers what became of each, in order.
    /// Inactive users are reported to token-service before they are written, so their tokens
    /// are refused from the start.
    pub async fn restore_users(
        &self,
        app_id: &AppId,
        items: Vec<RestoreItem>,
        on_conflict: OnConflict,
    ) -> Result<Vec<Restored>, RegistryError> {
        if items.len() > Self::MAX_RESTORE_BATCH {
            return Err(RegistryError::TooManyUsers { max: Self::MAX_RESTORE_BATCH });
        }
        self.ensure_application(app_id).await?;
        let mut claims = Claims::default();
        let mut ids = HashSet::new();
        let mut candidates = Vec::with_capacity(items.len());
        let checked: Vec<Result<(), RegistryError>> = items
            .into_iter()
            .map(|item| {
                let (new, kept) = item?;
                let (user, image, sensitive) = User::restored(app_id.clone(), new, kept)?;
                if !ids.insert(user.id.clone()) {
                    return Err(RegistryError::RepeatedInRequest { field: "id" });
                }
                claims.claim(&user)?;
                candidates.push(Candidate { user, image, sensitive });
                Ok(())
            })
            .collect();
        // An inactive record whose user is not here yet reaches token-service before it is
        // written (a failure after would leave its tokens honoured); one whose user is here
        // changes it only when it replaces it (`conflict`).
        for candidate in candidates.iter().filter(|c| !c.user.is_active) {
            if self.store.find(app_id, &Lookup::Id(candidate.user.id.clone())).await?.is_none() {
                self.lifecycle
                    .set_active(app_id, &candidate.user.id, false)
                    .await
                    .map_err(RegistryError::ServiceUnavailable)?;
            }
        }
        let created = self.store.create_many(&candidates, true).await?;
        let mut outcomes = created.into_iter().zip(candidates);
        let mut results = Vec::with_capacity(checked.len());
        for check in checked {
            let result = match check {
                Err(err) => Restored::LeftOut(err),
                Ok(()) => match outcomes.next() {
                    Some((Created::Yes, _)) => Restored::Created,
                    Some((Created::Taken(key), candidate)) => {
                        self.conflict(app_id, candidate, taken(key), on_conflict).await?
                    }
                    None => return Err(anyhow::anyhow!("the store answered fewer outcomes than candidates").into()),
                },
            };
            results.push(result);
        }
        let count = |f: fn(&Restored) -> bool| results.iter().filter(|r| f(r)).count();
        tracing::info!(
            app.id = app_id.as_str(),
            created = count(|r| matches!(r, Restored::Created)),
            updated = count(|r| matches!(r, Restored::Updated)),
            skipped = count(|r| matches!(r, Restored::Skipped)),
            left_out = count(|r| matches!(r, Restored::LeftOut(_))),
            "users restored"
        );
        Ok(results)
    }

    /// A record refused for a taken key: its own user already here is skipped or replaced; a key
    /// held by another user (or its id by another application's) leaves it out with why.
    async fn conflict(
        &self,
        app_id: &AppId,
        candidate: Candidate,
        refused: RegistryError,
        on_conflict: OnConflict,
    ) -> Result<Restored, RegistryError> {
        let own = self.store.find(app_id, &Lookup::Id(candidate.user.id.clone())).await?;
        let Some(old) = own else {
            return Ok(Restored::LeftOut(refused));
        };
        if on_conflict == OnConflict::Skip {
            return Ok(Restored::Skipped);
        }
        // Deactivation before the write, reactivation after, as UpdateUser does; a replacement
        // that fails gives an active user its tokens back.
        let deactivates = old.is_active && !candidate.user.is_active;
        if deactivates {
            self.lifecycle.set_active(app_id, &old.id, false).await.map_err(RegistryError::ServiceUnavailable)?;
        }
        let replaced = self.store.replace(&candidate).await;
        if replaced.is_err() && deactivates {
            self.lifecycle.set_active(app_id, &old.id, true).await.map_err(RegistryError::ServiceUnavailable)?;
        }
        match replaced {
            Ok(user) => {
                if user.is_active && !old.is_active {
                    self.lifecycle
                        .set_active(app_id, &user.id, true)
                        .await
                        .map_err(RegistryError::ServiceUnavailable)?;
                }
                Ok(Restored::Updated)
            }
            Err(StoreError::Unexpected(err)) => Err(RegistryError::Unexpected(err)),
            // Gone or replaced meanwhile.
            Err(StoreError::UserNotFound | StoreError::IdTaken) => {
                Ok(Restored::LeftOut(RegistryError::ConcurrentConflict))
            }
            Err(err) => Ok(Restored::LeftOut(err.into())),
        }
    }
}
