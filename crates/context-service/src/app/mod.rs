//! Context-service use cases, against the `ContextStore` trait and an injected clock.

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;

use crate::{
    domain::{AppId, Context, ContextKey, ContextValues, Country, Language},
    error::ContextError,
};

#[async_trait]
pub trait ContextStore: Send + Sync {
    /// Inserts or replaces the whole object.
    async fn put(&self, context: &Context) -> anyhow::Result<()>;
    async fn find(&self, key: &ContextKey) -> anyhow::Result<Option<Context>>;
    /// True when something was deleted.
    async fn delete(&self, key: &ContextKey) -> anyhow::Result<bool>;
    /// Everything kept for one user of one application.
    async fn delete_user(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<()>;
}

#[derive(Clone)]
pub struct Contexts {
    store: Arc<dyn ContextStore>,
    clock: Arc<dyn Clock>,
}

impl Contexts {
    pub fn new(store: Arc<dyn ContextStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn set(
        &self,
        key: ContextKey,
        language: Option<Language>,
        country: Option<Country>,
        values: ContextValues,
    ) -> Result<Context, ContextError> {
        let context = Context { key, language, country, values, updated_at: self.clock.now_millis() };
        self.store.put(&context).await?;
        Ok(context)
    }

    pub async fn get(&self, key: &ContextKey) -> Result<Context, ContextError> {
        self.store.find(key).await?.ok_or(ContextError::NotFound)
    }

    pub async fn delete(&self, key: &ContextKey) -> Result<(), ContextError> {
        if self.store.delete(key).await? { Ok(()) } else { Err(ContextError::NotFound) }
    }

    /// Called when the registry deletes a user.
    pub async fn delete_user_data(&self, app_id: &AppId, user_id: &str) -> Result<(), ContextError> {
        self.store.delete_user(app_id, user_id).await?;
        Ok(())
    }
}
