//! What the registry's use cases need of the world: a `UserStore` that keeps users and their
//! invariants, and a `UserLifecycle` that reaches the other services.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::privacy::PrivacyOutcome;
use crate::{
    domain::{
        AppId, DeletionReason, EmailId, GroupPage, Identity, Lookup, MemberPatch, Metadata, MetadataWrite, NewUser,
        PrivacyRequest, ProfileImage, RoleKind, RolePage, RosterId, SensitiveFields, User, UserFilter, UserPatch,
        ValidationError,
    },
    error::RegistryError,
};

/// Why the store refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("user not found")]
    UserNotFound,
    #[error("user_id taken")]
    UserIdTaken,
    #[error("Roster id taken")]
    IdTaken,
    #[error("external_id taken")]
    ExternalIdTaken,
    #[error("a discovery key is taken")]
    DiscoveryKeyTaken,
    #[error("an identity is taken")]
    IdentityTaken,
    #[error("member email_id taken")]
    MemberEmailTaken,
    #[error("member org_user_id taken")]
    OrgUserIdTaken,
    #[error("metadata key {0} exists")]
    MetadataKeyExists(String),
    #[error("metadata key {0} not found")]
    MetadataKeyNotFound(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for RegistryError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UserNotFound => RegistryError::UserNotFound,
            StoreError::UserIdTaken => RegistryError::UserIdTaken,
            // Only a restored user brings its id; RestoreUsers tells this application's from another's.
            StoreError::IdTaken => RegistryError::IdTakenElsewhere,
            StoreError::ExternalIdTaken => RegistryError::ExternalIdTaken,
            StoreError::DiscoveryKeyTaken => RegistryError::DiscoveryKeyTaken,
            StoreError::IdentityTaken => RegistryError::IdentityTaken,
            StoreError::MemberEmailTaken => RegistryError::MemberEmailTaken,
            StoreError::OrgUserIdTaken => RegistryError::OrgUserIdTaken,
            StoreError::MetadataKeyExists(key) => RegistryError::MetadataKeyExists(key),
            StoreError::MetadataKeyNotFound(key) => RegistryError::MetadataKeyNotFound(key),
            StoreError::Invalid(e) => RegistryError::Invalid(e),
            StoreError::Unexpected(e) => RegistryError::Unexpected(e),
        }
    }
}

/// What a new user brings beside its row.
#[derive(Debug)]
pub struct Extras<'a> {
    pub image: Option<&'a ProfileImage>,
    pub sensitive: &'a SensitiveFields,
}

impl Extras<'static> {
    /// Nothing beside the row.
    pub const NONE: Self = Self { image: None, sensitive: &SensitiveFields::EMPTY };
}

/// A user to create, with what it brings beside its row.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub user: User,
    pub image: Option<ProfileImage>,
    pub sensitive: SensitiveFields,
}

impl Candidate {
    pub fn new(app_id: AppId, new: NewUser, now: i64) -> Self {
        let (user, image, sensitive) = User::new(app_id, new, now);
        Self { user, image, sensitive }
    }

    pub fn extras(&self) -> Extras<'_> {
        Extras { image: self.image.as_ref(), sensitive: &self.sensitive }
    }
}

/// The key of a candidate that another user already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenKey {
    /// The Roster id (only a restored user brings one).
    Id,
    MemberEmail,
    OrgUserId,
    UserId,
    ExternalId,
    DiscoveryKey,
    Identity,
    /// The holder was gone by the time it was looked for (deleted concurrently).
    Unknown,
}

/// What became of one candidate of `UserStore::create_many`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Yes,
    /// Nothing of it was written.
    Taken(TakenKey),
}

/// Persistence of users. Every invariant is the store's job, held by constraints and
/// transactions, never by reading first and writing after.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user with everything it brings and its "user.created" event, in one transaction.
    async fn create(&self, user: &User, extras: &Extras<'_>) -> Result<(), StoreError>;
    /// Creates every candidate (all of one application) whose keys no other user holds, in one
    /// transaction with multi-row INSERTs, and answers what became of each, in order. A
    /// candidate refused for a taken key leaves nothing written; the others are created with
    /// everything they bring and their events. Concurrent calls with one key create one user.
    /// `expect_new` (few keys taken, as in a first import) picks a faster way to write that
    /// costs more when keys are taken; the outcome is the same either way.
    async fn create_many(&self, candidates: &[Candidate], expect_new: bool) -> Result<Vec<Created>, StoreError>;
    /// The user with `user.external_id`, created from `user` when there is none (true then);
    /// concurrent calls for one external id (compared case-insensitively) create exactly one.
    /// With `mark_authenticated`, the user found or created is authenticated, in the same
    /// transaction.
    async fn upsert_by_external_id(
        &self,
        user: &User,
        extras: &Extras<'_>,
        mark_authenticated: bool,
    ) -> Result<(User, bool), StoreError>;
    /// The user holding `identity`, created from `user` (which must hold it) when none does
    /// (true then); concurrent calls for one identity create exactly one.
    async fn upsert_by_identity(&self, user: &User, identity: &Identity) -> Result<(User, bool), StoreError>;
    async fn find(&self, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError>;
    /// The application's members holding these email ids, in no particular order.
    async fn find_members(&self, app_id: &AppId, email_ids: &[EmailId]) -> Result<Vec<User>, StoreError>;
    async fn update(&self, app_id: &AppId, lookup: &Lookup, patch: &UserPatch, now: i64) -> Result<User, StoreError>;
    /// Applies `patch` to the member `lookup` names (a user that is not a member is not found),
    /// in one transaction that works the change out from the member as it is once locked; a
    /// refused change writes nothing.
    async fn update_member(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        patch: &MemberPatch,
        now: i64,
    ) -> Result<User, StoreError>;
    /// A page of the application's member groups, in id order, each with its members.
    async fn list_member_groups(&self, app_id: &AppId, offset: u64, limit: u64) -> Result<GroupPage, StoreError>;
    /// A page of the distinct role ids of `kind` the application's members hold, in order.
    async fn list_member_roles(
        &self,
        app_id: &AppId,
        kind: RoleKind,
        offset: u64,
        limit: u64,
    ) -> Result<RolePage, StoreError>;
    /// Deletes the user and everything hanging off it, without telling anyone (the registry
    /// deletes by claim: `claim_user`, `delete_claimed`); false when there was none.
    async fn delete(&self, app_id: &AppId, id: &RosterId) -> Result<bool, StoreError>;
    /// Clears, in one transaction, everything personal about the user: profile, nickname,
    /// profile URL and image, metadata, sensitive metadata, identities, discovery keys and
    /// sign-up instant. The record and its ids stay.
    async fn delete_personal_information(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError>;
    /// Users ordered by id, after `after` when given.
    async fn list(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        limit: u64,
        filter: &UserFilter,
    ) -> Result<Vec<User>, StoreError>;
    /// Writes metadata keys as `mode` says and answers the user's whole metadata after it.
    async fn write_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        entries: &Metadata,
        mode: MetadataWrite,
        now: i64,
    ) -> Result<Metadata, StoreError>;
    async fn find_profile_image(&self, app_id: &AppId, id: &RosterId) -> Result<Option<ProfileImage>, StoreError>;
    /// Deletes the given keys (each must exist), or every key when `keys` is `None`.
    async fn delete_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        keys: Option<&[String]>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Sets `associated_at` (the first instant stays) and answers the user.
    async fn mark_associated(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError>;
    /// The user's sensitive fields, opened.
    async fn find_sensitive(&self, app_id: &AppId, lookup: &Lookup) -> Result<SensitiveFields, StoreError>;
    /// The sensitive fields of each of these users of the application that has any, opened.
    async fn find_sensitive_many(
        &self,
        app_id: &AppId,
        ids: &[RosterId],
    ) -> Result<BTreeMap<RosterId, SensitiveFields>, StoreError>;
    /// How many live users the application has.
    async fn count(&self, app_id: &AppId) -> Result<u64, StoreError>;
    /// Replaces the application's user with `candidate.user`'s id by the candidate, whole, in one
    /// transaction with its "user.updated" event (and "user.deactivated" or "user.reactivated"
    /// when the active state flips); its sensitive fields stay when the candidate brings none.
    /// `UserNotFound` when no live user of the application has that id.
    async fn replace(&self, candidate: &Candidate) -> Result<User, StoreError>;
    /// Claims for deletion, at `now`, at most `limit` of the application's users for the reaper,
    /// oldest first: expiring users created before `created_before` and never associated, and
    /// users whose claim was made before `stale_before` (its claimer died or failed) and never
    /// finished. Answers the ids claimed. A claimed user is gone to every other call (a
    /// MarkAssociated after the claim finds nothing) and stays so until `delete_claimed`: a claim
    /// is never given back. Concurrent claims never take the same user.
    async fn claim_unassociated(
        &self,
        app_id: &AppId,
        created_before: i64,
        stale_before: i64,
        limit: u64,
        now: i64,
    ) -> Result<Vec<RosterId>, StoreError>;
    /// Deletes those of `ids` that the claim made at `claimed_at` still holds, with everything
    /// hanging off them, and a "user.deleted" event each saying `reason`; answers them. A user a
    /// later claim took over is that claim's to delete.
    async fn delete_claimed(
        &self,
        app_id: &AppId,
        ids: &[RosterId],
        claimed_at: i64,
        reason: DeletionReason,
    ) -> Result<Vec<RosterId>, StoreError>;
    /// Claims at `now` the user `lookup` names, live or left claimed by a deletion that did not
    /// finish: it is gone to every lookup from now on.
    async fn claim_user(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<Option<RosterId>, StoreError>;
    /// The application's users whose profile or member email is `email`, case-insensitively.
    async fn users_with_email(&self, app_id: &AppId, email: &str) -> Result<Vec<RosterId>, StoreError>;
    async fn create_privacy_request(&self, request: &PrivacyRequest) -> Result<(), StoreError>;
    async fn find_privacy_request(&self, app_id: &AppId, id: &RosterId) -> Result<Option<PrivacyRequest>, StoreError>;
    /// Requests ordered by id, after `after` when given.
    async fn list_privacy_requests(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        limit: u64,
    ) -> Result<Vec<PrivacyRequest>, StoreError>;
    /// `None`: no such request; else the request, and whether it was cancelled (false: a worker
    /// holds it, or it ended).
    async fn cancel_privacy_request(
        &self,
        app_id: &AppId,
        id: &RosterId,
        now: i64,
    ) -> Result<Option<(PrivacyRequest, bool)>, StoreError>;
    /// The oldest open request no live lease holds, now held until `lease_until`, with the number
    /// of times it was taken. Two workers never hold one request at once.
    async fn claim_privacy_request(
        &self,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<(PrivacyRequest, u32)>, StoreError>;
    /// Ends a request its lease still holds, its subjects cleared; false when the lease was lost.
    async fn finish_privacy_request(
        &self,
        id: &RosterId,
        lease_until: i64,
        outcome: PrivacyOutcome,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn release_privacy_request(&self, id: &RosterId, lease_until: i64) -> Result<(), StoreError>;
    async fn find_privacy_export(
        &self,
        app_id: &AppId,
        id: &RosterId,
        key: &str,
        now: i64,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    async fn purge_privacy_exports(&self, now: i64) -> Result<u64, StoreError>;
}

/// What the registry needs of the other services. A deleted user's tokens and context go
/// first, so a failure leaves a user without tokens, never tokens without a user.
#[async_trait]
pub trait UserLifecycle: Send + Sync {
    /// Idempotent: a deletion taken over after its lease ran out tells the services again.
    async fn before_delete(&self, app_id: &AppId, id: &RosterId) -> anyhow::Result<()>;
    /// The user was deactivated (`active` false) or reactivated: token-service refuses or
    /// accepts their tokens again.
    async fn set_active(&self, app_id: &AppId, id: &RosterId, active: bool) -> anyhow::Result<()>;
    /// Every application whose unassociated end users expire, with the lifetime in milliseconds.
    async fn unassociated_lifetimes(&self) -> anyhow::Result<Vec<(AppId, i64)>>;
    /// Whether token-service has this application. Applications are never deleted, so a `true`
    /// may be remembered.
    async fn application_exists(&self, app_id: &AppId) -> anyhow::Result<bool>;
    /// Whether `api_token` is a credential of `app_id` holding the sensitive-metadata scope.
    async fn may_read_sensitive(&self, app_id: &AppId, api_token: &str) -> anyhow::Result<bool>;
}

/// A page of users and where the next one starts.
#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<User>,
    pub next: Option<RosterId>,
}
