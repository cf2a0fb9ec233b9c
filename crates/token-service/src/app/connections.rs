//! A chat server asks, on each connection, whether the user may connect: with a token valid for
//! that user, or without one where the application allows tokenless connections (for testing,
//! as Sendbird's dashboard offers) and the user exists and is active.

use super::Tokens;
use crate::{
    domain::{AppId, Connection, ConnectionRefusal, InvalidReason},
    error::TokenError,
};

impl Tokens {
    /// Only a broken service or an unknown application is an error; a refusal is `Ok(Err(_))`.
    pub async fn authorize_connection(
        &self,
        app_id: &AppId,
        user: &str,
        token: Option<&str>,
    ) -> Result<Connection, TokenError> {
        let app = self.get_application(app_id).await?;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            if !app.settings.allow_tokenless_users {
                return Ok(Err(ConnectionRefusal::TokenRequired));
            }
            return Ok(match self.config.directory.find(app_id, user).await? {
                None => Err(ConnectionRefusal::UserNotFound),
                Some(found) if !found.is_active => Err(ConnectionRefusal::UserDeactivated),
                Some(found) => Ok((found.id, None)),
            });
        };
        let valid = match self.validate(token, Some(app_id)).await? {
            Ok(valid) => valid,
            Err(InvalidReason::UserDeactivated) => return Ok(Err(ConnectionRefusal::UserDeactivated)),
            Err(reason) => return Ok(Err(ConnectionRefusal::TokenInvalid(reason))),
        };
        // Tokens name the Roster id; the caller may name the user by its own `user_id`.
        let same_user = valid.user_id == user
            || self.config.directory.find(app_id, user).await?.is_some_and(|found| found.id == valid.user_id);
        Ok(if same_user { Ok((valid.user_id, Some(valid.kind))) } else { Err(ConnectionRefusal::TokenOfAnotherUser) })
    }
}
