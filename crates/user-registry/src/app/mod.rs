//! The registry's use cases, written against the `UserStore` trait and an injected clock.

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;

use crate::{
    domain::{AppId, Lookup, NewUser, User},
    error::RegistryError,
};

/// Why the store refused a write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("user_id taken")]
    UserIdTaken,
    #[error("external_id taken")]
    ExternalIdTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for RegistryError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UserIdTaken => RegistryError::UserIdTaken,
            StoreError::ExternalIdTaken => RegistryError::ExternalIdTaken,
            StoreError::Unexpected(e) => RegistryError::Unexpected(e),
        }
    }
}

/// Persistence of users. Uniqueness is the store's job (constraints, not read-then-write).
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create(&self, user: &User) -> Result<(), StoreError>;
    async fn find(&self, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError>;
}

#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
}

impl Registry {
    pub fn new(store: Arc<dyn UserStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create_user(&self, app_id: AppId, new: NewUser) -> Result<User, RegistryError> {
        let user = User::new(app_id, new, self.clock.now_millis());
        self.store.create(&user).await?;
        tracing::info!(
            user.id = user.id.as_str(),
            app.id = user.app_id.as_str(),
            "user created"
        );
        Ok(user)
    }

    pub async fn get_user(&self, app_id: &AppId, lookup: &Lookup) -> Result<User, RegistryError> {
        self.store
            .find(app_id, lookup)
            .await?
            .ok_or(RegistryError::UserNotFound)
    }
}
