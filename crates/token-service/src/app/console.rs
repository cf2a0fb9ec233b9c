//! The dashboard's sessions: signing in with an application's API token (scope `app`, the
//! credential every operator has) starts one; more applications join it the same way. The
//! browser holds a random id (256 bits); only its SHA-256 is stored, with a CSRF token for the
//! session's forms and an expiry. A session reaches an application only while the API token it
//! was signed in with is live: revoking the token signs every session out of that application.

use super::Tokens;
use crate::{
    domain::{ConsoleApp, ConsoleSession, Scope, Secret},
    error::TokenError,
};

/// How long a dashboard session lasts from sign-in.
pub const CONSOLE_SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// A session as it starts: the id the browser keeps (shown this once) and the session.
#[derive(Debug)]
pub struct StartedConsoleSession {
    pub id: String,
    pub session: ConsoleSession,
}

impl Tokens {
    /// The application the API token belongs to, for the dashboard: refused unless the token
    /// holds the `app` scope (a token that may only read sensitive metadata signs no one in).
    async fn console_app(&self, api_token: Secret) -> Result<ConsoleApp, TokenError> {
        let caller = self.authenticate_api_token(api_token, None).await?;
        if !caller.scopes.contains(&Scope::App) {
            return Err(TokenError::CredentialInvalid);
        }
        Ok(ConsoleApp { app_id: caller.app_id, api_token_id: caller.credential_id, added_at: self.clock.now_millis() })
    }

    pub async fn start_console_session(&self, api_token: Secret) -> Result<StartedConsoleSession, TokenError> {
        let app = self.console_app(api_token).await?;
        let now = self.clock.now_millis();
        let id = platform::secret::new_secret(32);
        let session = ConsoleSession {
            id_hash: platform::secret::hash_secret(&id),
            csrf: platform::secret::new_secret(32),
            created_at: now,
            expires_at: now + CONSOLE_SESSION_TTL_MS,
            apps: vec![app],
        };
        self.store.create_console_session(&session, now).await?;
        tracing::info!(app.id = session.apps[0].app_id.as_str(), "dashboard session started");
        Ok(StartedConsoleSession { id, session })
    }

    /// The session the browser's id names, unexpired and with at least one application.
    pub async fn console_session(&self, id: &str) -> Result<Option<ConsoleSession>, TokenError> {
        let session =
            self.store.find_console_session(&platform::secret::hash_secret(id), self.clock.now_millis()).await?;
        Ok(session.filter(|s| !s.apps.is_empty()))
    }

    /// Signs the session in to the API token's application too; `None` when the session is gone.
    pub async fn add_console_application(
        &self,
        id: &str,
        api_token: Secret,
    ) -> Result<Option<ConsoleSession>, TokenError> {
        let app = self.console_app(api_token).await?;
        let app_id = app.app_id.clone();
        if !self.store.add_console_app(&platform::secret::hash_secret(id), &app).await? {
            return Ok(None);
        }
        tracing::info!(app.id = app_id.as_str(), "dashboard session signed in to another application");
        self.console_session(id).await
    }

    pub async fn end_console_session(&self, id: &str) -> Result<(), TokenError> {
        self.store.delete_console_session(&platform::secret::hash_secret(id)).await?;
        Ok(())
    }
}
