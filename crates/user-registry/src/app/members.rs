//! Kore.ai members beyond their creation: changed one by one, found by email id, and what they
//! add up to (their groups with who is in each, the distinct roles they hold).

use std::collections::HashMap;

use super::Registry;
use crate::{
    domain::{AppId, EmailId, GroupPage, Lookup, MemberPatch, RoleKind, RolePage, User},
    error::RegistryError,
};

/// One member to change, and how.
#[derive(Debug, Clone)]
pub struct MemberUpdate {
    pub lookup: Lookup,
    pub patch: MemberPatch,
}

impl Registry {
    /// Most updates or email ids one call takes.
    pub const MAX_MEMBERS: usize = 1000;
    /// Most groups or roles one page holds.
    pub const MAX_DIRECTORY_PAGE: u32 = 100;

    /// Changes each member in its own transaction, in order, and answers a result per input. A
    /// server fault stops the call (the changes made before it stay); any other failure is that
    /// update's alone.
    pub async fn update_members(
        &self,
        app_id: &AppId,
        updates: Vec<Result<MemberUpdate, RegistryError>>,
    ) -> Result<Vec<Result<User, RegistryError>>, RegistryError> {
        if updates.len() > Self::MAX_MEMBERS {
            return Err(RegistryError::TooMany { field: "updates", max: Self::MAX_MEMBERS });
        }
        let mut results = Vec::with_capacity(updates.len());
        for update in updates {
            let result = match update {
                Ok(MemberUpdate { lookup, patch }) => {
                    self.store.update_member(app_id, &lookup, &patch, self.clock.now_millis()).await.map_err(Into::into)
                }
                Err(err) => Err(err),
            };
            if let Err(RegistryError::Unexpected(err)) = result {
                return Err(RegistryError::Unexpected(err));
            }
            results.push(result);
        }
        let ok = results.iter().filter(|r| r.is_ok()).count();
        tracing::info!(app.id = app_id.as_str(), updated = ok, failed = results.len() - ok, "members updated");
        Ok(results)
    }

    /// The member holding each email id, in order; `UserNotFound` for one no member holds.
    pub async fn get_members(
        &self,
        app_id: &AppId,
        email_ids: Vec<Result<EmailId, RegistryError>>,
    ) -> Result<Vec<Result<User, RegistryError>>, RegistryError> {
        if email_ids.len() > Self::MAX_MEMBERS {
            return Err(RegistryError::TooMany { field: "email_ids", max: Self::MAX_MEMBERS });
        }
        let valid: Vec<EmailId> = email_ids.iter().filter_map(|e| e.as_ref().ok().cloned()).collect();
        let found = if valid.is_empty() { Vec::new() } else { self.store.find_members(app_id, &valid).await? };
        let by_email: HashMap<String, &User> =
            found.iter().filter_map(|u| u.member.as_ref().map(|m| (m.email_id.normalized(), u))).collect();
        Ok(email_ids
            .into_iter()
            .map(|email_id| {
                by_email.get(&email_id?.normalized()).map(|u| (*u).clone()).ok_or(RegistryError::UserNotFound)
            })
            .collect())
    }

    /// A page of the application's member groups in id order; `limit` 0 means the most.
    pub async fn list_member_groups(
        &self,
        app_id: &AppId,
        offset: u64,
        limit: u32,
    ) -> Result<GroupPage, RegistryError> {
        Ok(self.store.list_member_groups(app_id, page_offset(offset), page_limit(limit)).await?)
    }

    /// A page of the distinct role ids of `kind` the application's members hold.
    pub async fn list_member_roles(
        &self,
        app_id: &AppId,
        kind: RoleKind,
        offset: u64,
        limit: u32,
    ) -> Result<RolePage, RegistryError> {
        Ok(self.store.list_member_roles(app_id, kind, page_offset(offset), page_limit(limit)).await?)
    }
}

fn page_limit(limit: u32) -> u64 {
    u64::from(if limit == 0 { Registry::MAX_DIRECTORY_PAGE } else { limit.min(Registry::MAX_DIRECTORY_PAGE) })
}

/// Databases take signed 64-bit offsets; past that there is nothing anyway.
fn page_offset(offset: u64) -> u64 {
    offset.min(i64::MAX as u64)
}
