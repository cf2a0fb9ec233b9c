//! What the use cases need kept, one trait per concern, and the one error every store method
//! answers. `TokenStore` is all of them together, as `Tokens` holds it.

use async_trait::async_trait;
use platform::seal::Sealed;

use crate::{
    domain::{
        AccessToken, AdminClient, ApiToken, AppId, AppKey, Application, ConsoleApp, ConsoleSession, PublicKey,
        UserState,
    },
    error::TokenError,
};

/// Why a store refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("application not found")]
    ApplicationNotFound,
    #[error("user not found")]
    UserDeleted,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for TokenError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ApplicationNotFound => TokenError::ApplicationNotFound,
            StoreError::UserDeleted => TokenError::UserDeleted,
            StoreError::Unexpected(cause) => TokenError::Unexpected(cause),
        }
    }
}

/// Everything token-service keeps.
pub trait TokenStore: ApplicationStore + UserTokenStore + SigningKeyStore + ConsoleSessionStore {
    fn app_keys(&self) -> &dyn CredentialStore<SealedCredential<AppKey>>;
    fn public_keys(&self) -> &dyn CredentialStore<PublicKey>;
    fn admin_clients(&self) -> &dyn CredentialStore<SealedCredential<AdminClient>>;
}

/// Applications and their API tokens.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Creates the application and, when given, its first API token in one transaction.
    async fn create_application(&self, app: &Application, first_token: Option<&ApiToken>) -> Result<(), StoreError>;
    async fn find_application(&self, id: &AppId) -> Result<Option<Application>, StoreError>;
    /// Applications ordered by id, after `after` when given.
    async fn list_applications(&self, after: Option<&AppId>, limit: u64) -> Result<Vec<Application>, StoreError>;
    /// Replaces the application's name and settings; false when there is no such application.
    async fn update_application(&self, app: &Application) -> Result<bool, StoreError>;
    /// Fails with `ApplicationNotFound` when the application does not exist.
    async fn create_api_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// A live (unrevoked) token by its hash.
    async fn find_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// The application's live (unrevoked) tokens, oldest first.
    async fn list_api_tokens(&self, app_id: &AppId) -> Result<Vec<ApiToken>, StoreError>;
    /// Marks the token revoked; returns its hash, or `None` when no live token had that id.
    async fn revoke_api_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<String>, StoreError>;
}

/// The dashboard's sessions.
#[async_trait]
pub trait ConsoleSessionStore: Send + Sync {
    /// Stores a new session (with its first application); sessions expired at `now` go at the
    /// same time.
    async fn create_console_session(&self, session: &ConsoleSession, now: i64) -> Result<(), StoreError>;
    /// The session unexpired at `now`, with the applications whose API token is still live.
    async fn find_console_session(&self, id_hash: &str, now: i64) -> Result<Option<ConsoleSession>, StoreError>;
    /// Signs the session in to `app` (again, with another token, when it already was); false
    /// when there is no such session.
    async fn add_console_app(&self, id_hash: &str, app: &ConsoleApp) -> Result<bool, StoreError>;
    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError>;
}

/// The tokens users hold: access tokens, and the per-user state that revokes session tokens.
#[async_trait]
pub trait UserTokenStore: Send + Sync {
    /// Stores `token` and, in the same transaction, revokes the user's oldest live tokens beyond
    /// `limit`; answers the tokens it revoked. Concurrent issues for one user are serialised.
    /// Refuses with `UserDeleted` once the user's tokens were revoked for deletion.
    async fn issue_access_token(
        &self,
        token: &AccessToken,
        limit: u32,
        now: i64,
    ) -> Result<Vec<AccessToken>, StoreError>;
    /// The user's live access tokens, newest first.
    async fn list_access_tokens(&self, app_id: &AppId, user_id: &str) -> Result<Vec<AccessToken>, StoreError>;
    /// The user's access tokens, revoked ones too (with the instant they were revoked), newest
    /// first, at most `limit`.
    async fn access_token_history(
        &self,
        app_id: &AppId,
        user_id: &str,
        limit: u64,
    ) -> Result<Vec<(AccessToken, Option<i64>)>, StoreError>;
    async fn find_access_token(&self, token_hash: &str) -> Result<Option<AccessToken>, StoreError>;
    async fn revoke_access_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<AccessToken>, StoreError>;

    /// Records durably that the user's session tokens issued before `before` are revoked.
    async fn revoke_session_tokens(&self, app_id: &AppId, user_id: &str, before: i64) -> Result<(), StoreError>;
    /// Revokes every access token of the user, records `before` for session tokens and marks the
    /// user deleted, in one transaction; answers the access tokens it revoked.
    async fn revoke_user_tokens(
        &self,
        app_id: &AppId,
        user_id: &str,
        before: i64,
    ) -> Result<Vec<AccessToken>, StoreError>;
    /// What is kept of the user; `None` for a user token-service was never told of.
    async fn find_user_state(&self, app_id: &AppId, user_id: &str) -> Result<Option<UserState>, StoreError>;
    /// Records the registry's word that the user is deactivated (`active` false) or active
    /// again; answers the user's state after it.
    async fn set_user_active(
        &self,
        app_id: &AppId,
        user_id: &str,
        active: bool,
        now: i64,
    ) -> Result<UserState, StoreError>;
}

/// The keys session tokens are signed with, when the settings name none.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Generated signing keys, newest first.
    async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    async fn add_signing_key(&self, kid: &str, secret: &[u8], now: i64) -> Result<(), StoreError>;
}

/// One kind of credential a customer holds (app keys, public keys, admin clients), each of
/// one application and named by an id unique across applications.
#[async_trait]
pub trait CredentialStore<C>: Send + Sync {
    /// Fails with `ApplicationNotFound` when the application does not exist.
    async fn create(&self, credential: &C) -> Result<(), StoreError>;
    /// The application's credentials of this kind, oldest first.
    async fn list(&self, app_id: &AppId) -> Result<Vec<C>, StoreError>;
    /// A credential by id, whatever its application.
    async fn find(&self, id: &str) -> Result<Option<C>, StoreError>;
    /// False when the application has no such credential.
    async fn delete(&self, app_id: &AppId, id: &str) -> Result<bool, StoreError>;
}

/// A credential kept with its secret sealed: verifying HS256 needs the secret back, so it
/// cannot be hashed.
#[derive(Debug, Clone)]
pub struct SealedCredential<C> {
    pub credential: C,
    pub sealed: Sealed,
}
