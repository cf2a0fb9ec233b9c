//! Creating users in bulk: `BatchCreateUsers` (at most 1,000 users, one result each) and the
//! streaming import (any number, written in batches, one transaction per batch). Within one
//! request or import the first user to name a key wins it; a later user naming it again fails.

use std::{collections::HashSet, sync::Arc};

use platform::Clock;
use tokio::task::JoinHandle;

use super::{Candidate, Created, Registry, StoreError, TakenKey, UserStore};
use crate::{
    domain::{AppId, NewUser, User},
    error::RegistryError,
};

/// One user of a bulk request: what the caller sent, or why it could not be read.
pub type BulkItem = Result<NewUser, RegistryError>;

/// Keys already claimed by earlier users of one request or import.
#[derive(Debug, Default)]
pub(super) struct Claims {
    emails: HashSet<String>,
    org_user_ids: HashSet<String>,
    user_ids: HashSet<String>,
    external_ids: HashSet<String>,
    discovery_keys: HashSet<String>,
    identities: HashSet<(String, String)>,
}

impl Claims {
    /// Claims every key of `user`, or none when an earlier user claimed one of them.
    pub(super) fn claim(&mut self, user: &User) -> Result<(), RegistryError> {
        let member = user.member.as_ref();
        let email = member.map(|m| m.email_id.normalized());
        let org_user_id = member.and_then(|m| m.org_user_id.as_ref()).map(|o| o.as_str().to_owned());
        // A generated user_id equals the fresh Roster id: it cannot repeat, so it is not kept.
        let user_id = (user.user_id.as_str() != user.id.as_str()).then(|| user.user_id.as_str().to_owned());
        let external_id = user.external_id.as_ref().map(|e| e.normalized());
        let repeated = |field| Err(RegistryError::RepeatedInRequest { field });
        if email.as_ref().is_some_and(|e| self.emails.contains(e)) {
            return repeated("email_id");
        }
        if org_user_id.as_ref().is_some_and(|o| self.org_user_ids.contains(o)) {
            return repeated("org_user_id");
        }
        if user_id.as_ref().is_some_and(|u| self.user_ids.contains(u)) {
            return repeated("user_id");
        }
        if external_id.as_ref().is_some_and(|e| self.external_ids.contains(e)) {
            return repeated("external_id");
        }
        if user.discovery_keys.iter().any(|k| self.discovery_keys.contains(k.as_str())) {
            return repeated("discovery_keys");
        }
        let identity = |i: &crate::domain::Identity| (i.channel_type().to_owned(), i.value().to_owned());
        if user.identities.iter().any(|i| self.identities.contains(&identity(i))) {
            return repeated("identities");
        }
        self.emails.extend(email);
        self.org_user_ids.extend(org_user_id);
        self.user_ids.extend(user_id);
        self.external_ids.extend(external_id);
        self.discovery_keys.extend(user.discovery_keys.iter().map(|k| k.as_str().to_owned()));
        self.identities.extend(user.identities.iter().map(identity));
        Ok(())
    }
}

/// A batch checked and claimed, ready for the store.
struct Prepared {
    /// Per input, in order: `Ok` for those handed to the store (in `candidates`' order).
    checked: Vec<Result<(), RegistryError>>,
    candidates: Vec<Candidate>,
}

impl Prepared {
    fn new(app_id: &AppId, items: Vec<BulkItem>, claims: &mut Claims, now: i64) -> Self {
        let mut candidates = Vec::with_capacity(items.len());
        let checked = items
            .into_iter()
            .map(|item| {
                let candidate = Candidate::new(app_id.clone(), item?, now);
                claims.claim(&candidate.user)?;
                candidates.push(candidate);
                Ok(())
            })
            .collect();
        Self { checked, candidates }
    }

    /// Each input's result, given what the store did with the candidates.
    fn results(self, created: Vec<Created>) -> Vec<Result<User, RegistryError>> {
        let mut outcomes = created.into_iter().zip(self.candidates);
        self.checked
            .into_iter()
            .map(|checked| {
                checked?;
                match outcomes.next() {
                    Some((Created::Yes, candidate)) => Ok(candidate.user),
                    Some((Created::Taken(key), _)) => Err(taken(key)),
                    None => Err(anyhow::anyhow!("the store answered fewer outcomes than candidates").into()),
                }
            })
            .collect()
    }
}

pub(super) fn taken(key: TakenKey) -> RegistryError {
    match key {
        TakenKey::Id => RegistryError::IdTakenElsewhere,
        TakenKey::MemberEmail => RegistryError::MemberEmailTaken,
        TakenKey::OrgUserId => RegistryError::OrgUserIdTaken,
        TakenKey::UserId => RegistryError::UserIdTaken,
        TakenKey::ExternalId => RegistryError::ExternalIdTaken,
        TakenKey::DiscoveryKey => RegistryError::DiscoveryKeyTaken,
        TakenKey::Identity => RegistryError::IdentityTaken,
        TakenKey::Unknown => RegistryError::ConcurrentConflict,
    }
}

impl Registry {
    /// Most users one `batch_create_users` takes.
    pub const MAX_BATCH: usize = 1000;
    /// Users per transaction of an import.
    pub const IMPORT_BATCH: usize = 1000;

    /// Creates every valid user whose keys are free, in one transaction, and answers a result
    /// per input in order. More than `MAX_BATCH` users are refused whole, before any write.
    pub async fn batch_create_users(
        &self,
        app_id: AppId,
        items: Vec<BulkItem>,
    ) -> Result<Vec<Result<User, RegistryError>>, RegistryError> {
        if items.len() > Self::MAX_BATCH {
            return Err(RegistryError::TooManyUsers { max: Self::MAX_BATCH });
        }
        self.ensure_application(&app_id).await?;
        let prepared = Prepared::new(&app_id, items, &mut Claims::default(), self.clock.now_millis());
        let created = self.store.create_many(&prepared.candidates, true).await?;
        let results = prepared.results(created);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        tracing::info!(app.id = app_id.as_str(), created = ok, failed = results.len() - ok, "users created in a batch");
        Ok(results)
    }

    /// Starts a streaming import into `app_id`, an application token-service has.
    pub async fn import(&self, app_id: AppId) -> Result<Import, RegistryError> {
        self.ensure_application(&app_id).await?;
        Ok(Import {
            store: self.store.clone(),
            clock: self.clock.clone(),
            app_id,
            claims: Claims::default(),
            pending: Vec::new(),
            in_flight: None,
            meeting_stored: false,
            report: ImportReport::default(),
        })
    }
}

/// What an import did. A user whose member email id or org user id already belongs to a
/// stored member is skipped, so running an interrupted import again creates no duplicates.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub received: u64,
    pub created: u64,
    pub skipped_existing: u64,
    /// Position in the whole stream, and why.
    pub failures: Vec<(u64, RegistryError)>,
}

type BatchWrite = JoinHandle<(u64, Prepared, Result<Vec<Created>, StoreError>)>;

/// An import in progress. Users arrive in messages of any size and are written in batches of
/// `Registry::IMPORT_BATCH`; one batch is written while the next one is received and checked.
/// Dropped (the client went away), the batch in flight still finishes: it is one transaction
/// either way.
pub struct Import {
    store: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
    app_id: AppId,
    claims: Claims,
    pending: Vec<BulkItem>,
    in_flight: Option<BatchWrite>,
    /// Whether the last batch written met members already stored (a re-run): the next one then
    /// expects them too.
    meeting_stored: bool,
    report: ImportReport,
}

impl Import {
    pub fn app_id(&self) -> &AppId {
        &self.app_id
    }

    pub async fn add(&mut self, items: Vec<BulkItem>) -> Result<(), RegistryError> {
        for item in items {
            self.pending.push(item);
            self.report.received += 1;
            if self.pending.len() == Registry::IMPORT_BATCH {
                self.write_pending().await?;
            }
        }
        Ok(())
    }

    /// Writes what is left and answers the report.
    pub async fn finish(mut self) -> Result<ImportReport, RegistryError> {
        self.write_pending().await?;
        self.settle().await?;
        tracing::info!(
            app.id = self.app_id.as_str(),
            received = self.report.received,
            created = self.report.created,
            skipped_existing = self.report.skipped_existing,
            failed = self.report.failures.len(),
            "import finished"
        );
        Ok(self.report)
    }

    /// Starts writing the pending users, once the batch before has been written.
    async fn write_pending(&mut self) -> Result<(), RegistryError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let first = self.report.received - self.pending.len() as u64;
        let items = std::mem::take(&mut self.pending);
        let prepared = Prepared::new(&self.app_id, items, &mut self.claims, self.clock.now_millis());
        self.settle().await?;
        let (store, expect_new) = (self.store.clone(), !self.meeting_stored);
        self.in_flight = Some(tokio::spawn(async move {
            let created = store.create_many(&prepared.candidates, expect_new).await;
            (first, prepared, created)
        }));
        Ok(())
    }

    /// Waits for the batch being written and counts its results.
    async fn settle(&mut self) -> Result<(), RegistryError> {
        let Some(write) = self.in_flight.take() else {
            return Ok(());
        };
        let (first, prepared, created) = write.await.map_err(|e| anyhow::anyhow!("import batch task: {e}"))?;
        let created = created?;
        self.meeting_stored = created.iter().any(|c| matches!(c, Created::Taken(_)));
        for (offset, result) in prepared.results(created).into_iter().enumerate() {
            match result {
                Ok(_) => self.report.created += 1,
                Err(RegistryError::MemberEmailTaken | RegistryError::OrgUserIdTaken) => {
                    self.report.skipped_existing += 1;
                }
                Err(err) => self.report.failures.push((first + offset as u64, err)),
            }
        }
        Ok(())
    }
}
