//! Generated session signing keys, for stacks whose settings name none.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};

use super::{SeaTokenStore, entity::signing_keys};
use crate::app::{SigningKeyStore, StoreError};

#[async_trait]
impl SigningKeyStore for SeaTokenStore {
    async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = signing_keys::Entity::find()
            .order_by_desc(signing_keys::Column::CreatedAt)
            .order_by_desc(signing_keys::Column::Kid)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        let keys = rows.into_iter().map(|row| {
            let secret = hex::decode(&row.secret).with_context(|| format!("signing key {}", row.kid))?;
            Ok((row.kid, secret))
        });
        Ok(keys.collect::<anyhow::Result<_>>()?)
    }

    async fn add_signing_key(&self, kid: &str, secret: &[u8], now: i64) -> Result<(), StoreError> {
        let row = signing_keys::ActiveModel {
            kid: Set(kid.to_owned()),
            secret: Set(hex::encode(secret)),
            created_at: Set(now),
        };
        signing_keys::Entity::insert(row).exec_without_returning(&self.db).await.map_err(unexpected)?;
        Ok(())
    }
}
