//! Credentials customers hold: app keys (Basic `id:secret`, HS256 JWTs) and registered public
//! keys (RS256/ES256 login JWTs); checking `scope: app` callers; JWT login, which upserts the
//! user in the registry and answers a session token.

use std::sync::Arc;

use async_trait::async_trait;

use super::{CredentialStore, SealedCredential, Tokens, sessions::IssuedSessionToken};
use crate::{
    customer_jwt::{self, CustomerClaims},
    domain::{
        AdminClient, AppId, AppKey, Caller, JwtRefusal, KeyAlgorithm, KeySecret, Name, PublicKey, Scope,
        ValidationError,
    },
    error::TokenError,
};

/// A user as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The Roster id.
    pub id: String,
    pub is_active: bool,
}

/// The registry, as login and connection checks see it.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user with this external id, created when absent and marked authenticated either
    /// way; answers it and whether this call created it.
    async fn login(&self, app_id: &AppId, external_id: &str) -> Result<(DirectoryUser, bool), TokenError>;
    /// The user a Roster id or an application-chosen `user_id` names, if any.
    async fn find(&self, app_id: &AppId, user: &str) -> Result<Option<DirectoryUser>, TokenError>;
}

/// A logged-in user and the session token issued for it.
pub struct Login {
    pub user_id: String,
    pub external_id: String,
    pub created: bool,
    pub session: IssuedSessionToken,
}

impl Tokens {
    pub async fn create_app_key(&self, app_id: AppId, display_name: Name) -> Result<(AppKey, KeySecret), TokenError> {
        let key = AppKey { id: AppKey::new_id(), app_id, display_name, created_at: self.clock.now_millis() };
        let secret = KeySecret::generate();
        let sealed = self.config.sealer.seal(secret.expose().as_bytes(), key.id.as_bytes());
        let stored = SealedCredential { credential: key, sealed };
        self.store.app_keys().create(&stored).await?;
        let key = stored.credential;
        tracing::info!(app.id = key.app_id.as_str(), credential.id = key.id, "app key created");
        Ok((key, secret))
    }

    pub async fn list_app_keys(&self, app_id: &AppId) -> Result<Vec<AppKey>, TokenError> {
        let keys = self.list_credentials(self.store.app_keys(), app_id).await?;
        Ok(keys.into_iter().map(|key| key.credential).collect())
    }

    pub async fn get_app_key(&self, app_id: &AppId, key_id: &str) -> Result<AppKey, TokenError> {
        match self.store.app_keys().find(key_id).await? {
            Some(key) if key.credential.app_id == *app_id => Ok(key.credential),
            _ => Err(TokenError::AppKeyNotFound),
        }
    }

    /// Deleting a key refuses its Basic credential and every JWT it signed from now on.
    pub async fn delete_app_key(&self, app_id: &AppId, key_id: &str) -> Result<(), TokenError> {
        self.delete_credential(self.store.app_keys(), app_id, key_id, "app key", TokenError::AppKeyNotFound).await?;
        self.app_keys.forget(key_id);
        Ok(())
    }

    pub async fn register_public_key(
        &self,
        app_id: AppId,
        algorithm: &str,
        pem: String,
    ) -> Result<PublicKey, TokenError> {
        let algorithm = KeyAlgorithm::parse_public(algorithm)?;
        let pem = crate::customer_jwt::public_key(algorithm, pem)?;
        let key = PublicKey { id: PublicKey::new_id(), app_id, algorithm, pem, created_at: self.clock.now_millis() };
        self.store.public_keys().create(&key).await?;
        tracing::info!(app.id = key.app_id.as_str(), credential.id = key.id, "public key registered");
        Ok(key)
    }

    pub async fn list_public_keys(&self, app_id: &AppId) -> Result<Vec<PublicKey>, TokenError> {
        self.list_credentials(self.store.public_keys(), app_id).await
    }

    pub async fn delete_public_key(&self, app_id: &AppId, key_id: &str) -> Result<(), TokenError> {
        self.delete_credential(self.store.public_keys(), app_id, key_id, "public key", TokenError::PublicKeyNotFound)
            .await?;
        self.public_keys.forget(key_id);
        Ok(())
    }

    pub async fn create_admin_client(
        &self,
        app_id: AppId,
        name: Name,
        scopes: Vec<Scope>,
    ) -> Result<(AdminClient, KeySecret), TokenError> {
        let scopes = if scopes.is_empty() { vec![Scope::UserManagement] } else { scopes };
        let client =
            AdminClient { id: AdminClient::new_id(), app_id, name, scopes, created_at: self.clock.now_millis() };
        let secret = KeySecret::generate();
        let sealed = self.config.sealer.seal(secret.expose().as_bytes(), client.id.as_bytes());
        let stored = SealedCredential { credential: client, sealed };
        self.store.admin_clients().create(&stored).await?;
        let client = stored.credential;
        tracing::info!(app.id = client.app_id.as_str(), credential.id = client.id, "admin client created");
        Ok((client, secret))
    }

    pub async fn list_admin_clients(&self, app_id: &AppId) -> Result<Vec<AdminClient>, TokenError> {
        let clients = self.list_credentials(self.store.admin_clients(), app_id).await?;
        Ok(clients.into_iter().map(|client| client.credential).collect())
    }

    /// Deleting a client refuses every JWT it signed from now on.
    pub async fn delete_admin_client(&self, app_id: &AppId, client_id: &str) -> Result<(), TokenError> {
        let not_found = TokenError::AdminClientNotFound;
        self.delete_credential(self.store.admin_clients(), app_id, client_id, "admin client", not_found).await?;
        self.admin_clients.forget(client_id);
        Ok(())
    }

    /// An existing application's credentials of one kind; `ApplicationNotFound` otherwise.
    async fn list_credentials<C>(&self, store: &dyn CredentialStore<C>, app_id: &AppId) -> Result<Vec<C>, TokenError> {
        self.get_application(app_id).await?;
        Ok(store.list(app_id).await?)
    }

    /// `not_found` when the application has no such credential.
    async fn delete_credential<C>(
        &self,
        store: &dyn CredentialStore<C>,
        app_id: &AppId,
        id: &str,
        kind: &str,
        not_found: TokenError,
    ) -> Result<(), TokenError> {
        if !store.delete(app_id, id).await? {
            return Err(not_found);
        }
        tracing::info!(app.id = app_id.as_str(), credential.id = id, "{kind} deleted");
        Ok(())
    }

    /// An app key's secret, opened; `None` when no key of `expected_app` has this id.
    async fn app_key_secret(
        &self,
        key_id: &str,
        expected_app: Option<&AppId>,
    ) -> Result<Option<(AppKey, KeySecret)>, TokenError> {
        let (key, plain) = match self.app_keys.get(key_id) {
            Some(opened) => opened,
            None => {
                let Some(SealedCredential { credential: key, sealed }) = self.store.app_keys().find(key_id).await?
                else {
                    return Ok(None);
                };
                let plain: Arc<[u8]> =
                    self.config.sealer.open(&sealed, key.id.as_bytes()).map_err(anyhow::Error::from)?.into();
                self.app_keys.put(key_id, (key.clone(), plain.clone()));
                (key, plain)
            }
        };
        if expected_app.is_some_and(|app| *app != key.app_id) {
            return Ok(None);
        }
        Ok(Some((key, KeySecret::from_bytes(plain.to_vec())?)))
    }

    async fn app_caller(&self, key: AppKey) -> Result<Caller, TokenError> {
        let rate_limit_per_second = self.get_application(&key.app_id).await?.settings.rate_limit_per_second;
        Ok(Caller { app_id: key.app_id, scopes: vec![Scope::App], credential_id: key.id, rate_limit_per_second })
    }

    /// HTTP Basic `key_id:secret` of an app key.
    pub async fn authenticate_basic(
        &self,
        key_id: &str,
        secret: &str,
        expected_app: Option<&AppId>,
    ) -> Result<Caller, TokenError> {
        if key_id.is_empty() || secret.is_empty() {
            return Err(TokenError::CredentialMissing);
        }
        match self.app_key_secret(key_id, expected_app).await? {
            Some((key, stored)) if stored.matches(secret) => self.app_caller(key).await,
            _ => Err(TokenError::CredentialInvalid),
        }
    }

    /// A JWT credential: with a `kid`, a `scope: app` token of an app key; without, a Kore-style
    /// admin token naming its client in `appId`.
    pub async fn authenticate_jwt(&self, token: &str, expected_app: Option<&AppId>) -> Result<Caller, TokenError> {
        if customer_jwt::has_kid(token)? {
            self.authenticate_app_jwt(token, expected_app).await
        } else {
            self.authenticate_admin_jwt(token, expected_app).await
        }
    }

    /// An HS256 JWT signed with an admin client's secret, `appId` naming the client; the caller
    /// holds the client's scopes.
    async fn authenticate_admin_jwt(&self, token: &str, expected_app: Option<&AppId>) -> Result<Caller, TokenError> {
        let client_id = customer_jwt::claimed_client(token)?;
        let (client, secret) = match self.admin_clients.get(&client_id) {
            Some(opened) => opened,
            None => {
                let Some(SealedCredential { credential: client, sealed }) =
                    self.store.admin_clients().find(&client_id).await?
                else {
                    return Err(JwtRefusal::UnknownClient.into());
                };
                let secret: Arc<[u8]> =
                    self.config.sealer.open(&sealed, client.id.as_bytes()).map_err(anyhow::Error::from)?.into();
                self.admin_clients.put(&client_id, (client.clone(), secret.clone()));
                (client, secret)
            }
        };
        if expected_app.is_some_and(|app| *app != client.app_id) {
            return Err(JwtRefusal::UnknownClient.into());
        }
        let key = customer_jwt::decoding_key(KeyAlgorithm::Hs256, &secret)?;
        customer_jwt::verify_unkeyed(token, &key, self.clock.now_millis())?;
        let rate_limit_per_second = self.get_application(&client.app_id).await?.settings.rate_limit_per_second;
        Ok(Caller { app_id: client.app_id, scopes: client.scopes, credential_id: client.id, rate_limit_per_second })
    }

    /// A `scope: app` JWT signed HS256 by one of the application's app keys.
    async fn authenticate_app_jwt(&self, token: &str, expected_app: Option<&AppId>) -> Result<Caller, TokenError> {
        let (key, claims) = self.verify_customer_jwt(token, expected_app, false).await?;
        if claims.scope.as_deref() != Some("app") {
            return Err(JwtRefusal::WrongScope.into());
        }
        match key {
            VerifiedBy::AppKey(key) => self.app_caller(key).await,
            // Public keys sign logins only.
            VerifiedBy::PublicKey => Err(JwtRefusal::WrongScope.into()),
        }
    }

    /// Verifies a customer JWT against the key its `kid` names: an app key (HS256) or, when
    /// `public_keys`, a registered public key (its own algorithm).
    async fn verify_customer_jwt(
        &self,
        token: &str,
        expected_app: Option<&AppId>,
        public_keys: bool,
    ) -> Result<(VerifiedBy, CustomerClaims), TokenError> {
        let (kid, _) = customer_jwt::header(token)?;
        if let Some((key, secret)) = self.app_key_secret(&kid, expected_app).await? {
            let decoding = customer_jwt::decoding_key(KeyAlgorithm::Hs256, secret.expose().as_bytes())?;
            let claims = customer_jwt::verify(token, KeyAlgorithm::Hs256, &decoding, self.clock.now_millis())?;
            return Ok((VerifiedBy::AppKey(key), claims));
        }
        if public_keys
            && let Some(key) = self.public_key(&kid).await?
            && expected_app.is_none_or(|app| *app == key.app_id)
        {
            let decoding = customer_jwt::decoding_key(key.algorithm, key.pem.as_bytes())?;
            let claims = customer_jwt::verify(token, key.algorithm, &decoding, self.clock.now_millis())?;
            return Ok((VerifiedBy::PublicKey, claims));
        }
        Err(JwtRefusal::UnknownKey.into())
    }

    /// A registered public key, as this replica read it lately.
    async fn public_key(&self, kid: &str) -> Result<Option<PublicKey>, TokenError> {
        if let Some(key) = self.public_keys.get(kid) {
            return Ok(Some(key));
        }
        let found = self.store.public_keys().find(kid).await?;
        if let Some(key) = &found {
            self.public_keys.put(kid, key.clone());
        }
        Ok(found)
    }

    /// Exchanges a `scope: user` login JWT (signed by an app key or a registered public key of
    /// `app_id`, naming an `external_id`) for a session token; the user is created if absent
    /// and marked authenticated.
    pub async fn login_with_jwt(&self, app_id: &AppId, token: &str) -> Result<Login, TokenError> {
        let (_, claims) = self.verify_customer_jwt(token, Some(app_id), true).await?;
        if claims.scope.as_deref() != Some("user") {
            return Err(JwtRefusal::WrongScope.into());
        }
        let external_id = claims.external_id.filter(|e| !e.is_empty()).ok_or(JwtRefusal::MissingExternalId)?;
        if external_id.chars().count() > 1024 || external_id.contains('\0') {
            return Err(
                ValidationError::Invalid { field: "external_id", reason: "must be 1 to 1024 characters" }.into()
            );
        }
        let (user, created) = self.config.directory.login(app_id, &external_id).await?;
        if !user.is_active {
            return Err(TokenError::UserDeactivated);
        }
        let user_id = user.id;
        let session = self.issue_session_token(app_id, &user_id, None).await?;
        tracing::info!(app.id = app_id.as_str(), user.id = user_id, created, "user logged in with a JWT");
        Ok(Login { user_id, external_id, created, session })
    }
}

/// Which kind of key verified a customer JWT.
enum VerifiedBy {
    AppKey(AppKey),
    PublicKey,
}
