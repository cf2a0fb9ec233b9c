//! App keys, public keys and admin clients: three tables of one shape (an `id` primary key, the
//! `app_id` each belongs to, `created_at`), kept by one generic `CredentialStore`. Each table
//! says only how its rows map to domain values.

use std::marker::PhantomData;

use anyhow::Context as _;
use async_trait::async_trait;
use platform::{db::unexpected, seal::Sealed};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::{
    entity::{admin_clients, app_keys, public_keys},
    foreign_app, join_scopes, parse_scopes,
};
use crate::{
    app::{CredentialStore, SealedCredential, StoreError},
    domain::{AdminClient, AppId, AppKey, KeyAlgorithm, Name, PublicKey},
};

/// A table of one kind of credential, and how its rows map to domain values.
pub(super) trait CredentialTable: EntityTrait {
    type Credential: Send + Sync;
    const ID: Self::Column;
    const APP_ID: Self::Column;
    const CREATED_AT: Self::Column;

    fn row(credential: &Self::Credential) -> Self::ActiveModel;
    fn credential(row: Self::Model) -> anyhow::Result<Self::Credential>;
}

/// The credentials kept in table `T`.
#[derive(Debug, Clone)]
pub(super) struct SeaCredentials<T> {
    db: DatabaseConnection,
    table: PhantomData<fn() -> T>,
}

impl<T> SeaCredentials<T> {
    pub(super) fn new(db: DatabaseConnection) -> Self {
        Self { db, table: PhantomData }
    }
}

#[async_trait]
impl<T> CredentialStore<T::Credential> for SeaCredentials<T>
where
    T: CredentialTable,
    T::Model: IntoActiveModel<T::ActiveModel>,
    T::ActiveModel: Send,
{
    async fn create(&self, credential: &T::Credential) -> Result<(), StoreError> {
        T::insert(T::row(credential)).exec_without_returning(&self.db).await.map_err(foreign_app)?;
        Ok(())
    }

    async fn list(&self, app_id: &AppId) -> Result<Vec<T::Credential>, StoreError> {
        let rows = T::find()
            .filter(T::APP_ID.eq(app_id.as_str()))
            .order_by_asc(T::CREATED_AT)
            .order_by_asc(T::ID)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(T::credential).collect::<anyhow::Result<_>>()?)
    }

    async fn find(&self, id: &str) -> Result<Option<T::Credential>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let row = T::find().filter(T::ID.eq(id)).one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(T::credential).transpose()?)
    }

    async fn delete(&self, app_id: &AppId, id: &str) -> Result<bool, StoreError> {
        if !storable(id) {
            return Ok(false);
        }
        let deleted = T::delete_many()
            .filter(T::ID.eq(id))
            .filter(T::APP_ID.eq(app_id.as_str()))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }
}

/// Whether an id a caller presented can be stored at all: PostgreSQL text holds no NUL, so such
/// an id names nothing (rather than failing the query).
fn storable(id: &str) -> bool {
    !id.contains('\0')
}

impl CredentialTable for app_keys::Entity {
    type Credential = SealedCredential<AppKey>;
    const ID: app_keys::Column = app_keys::Column::Id;
    const APP_ID: app_keys::Column = app_keys::Column::AppId;
    const CREATED_AT: app_keys::Column = app_keys::Column::CreatedAt;

    fn row(stored: &Self::Credential) -> app_keys::ActiveModel {
        let SealedCredential { credential: key, sealed } = stored;
        app_keys::ActiveModel {
            id: Set(key.id.clone()),
            app_id: Set(key.app_id.as_str().to_owned()),
            display_name: Set(key.display_name.as_str().to_owned()),
            seal_kid: Set(sealed.kid.clone()),
            sealed_secret: Set(sealed.bytes.clone()),
            created_at: Set(key.created_at),
        }
    }

    fn credential(row: app_keys::Model) -> anyhow::Result<Self::Credential> {
        let key = AppKey {
            app_id: AppId::parse(row.app_id).with_context(|| format!("app key {}", row.id))?,
            display_name: Name::parse("display_name", row.display_name)?,
            created_at: row.created_at,
            id: row.id,
        };
        Ok(SealedCredential { credential: key, sealed: Sealed { kid: row.seal_kid, bytes: row.sealed_secret } })
    }
}

impl CredentialTable for public_keys::Entity {
    type Credential = PublicKey;
    const ID: public_keys::Column = public_keys::Column::Id;
    const APP_ID: public_keys::Column = public_keys::Column::AppId;
    const CREATED_AT: public_keys::Column = public_keys::Column::CreatedAt;

    fn row(key: &PublicKey) -> public_keys::ActiveModel {
        public_keys::ActiveModel {
            id: Set(key.id.clone()),
            app_id: Set(key.app_id.as_str().to_owned()),
            algorithm: Set(key.algorithm.as_str().to_owned()),
            pem: Set(key.pem.clone()),
            created_at: Set(key.created_at),
        }
    }

    fn credential(row: public_keys::Model) -> anyhow::Result<PublicKey> {
        Ok(PublicKey {
            app_id: AppId::parse(row.app_id).with_context(|| format!("public key {}", row.id))?,
            algorithm: KeyAlgorithm::parse_public(&row.algorithm)?,
            pem: row.pem,
            created_at: row.created_at,
            id: row.id,
        })
    }
}

impl CredentialTable for admin_clients::Entity {
    type Credential = SealedCredential<AdminClient>;
    const ID: admin_clients::Column = admin_clients::Column::Id;
    const APP_ID: admin_clients::Column = admin_clients::Column::AppId;
    const CREATED_AT: admin_clients::Column = admin_clients::Column::CreatedAt;

    fn row(stored: &Self::Credential) -> admin_clients::ActiveModel {
        let SealedCredential { credential: client, sealed } = stored;
        admin_clients::ActiveModel {
            id: Set(client.id.clone()),
            app_id: Set(client.app_id.as_str().to_owned()),
            name: Set(client.name.as_str().to_owned()),
            scopes: Set(join_scopes(&client.scopes)),
            seal_kid: Set(sealed.kid.clone()),
            sealed_secret: Set(sealed.bytes.clone()),
            created_at: Set(client.created_at),
        }
    }

    fn credential(row: admin_clients::Model) -> anyhow::Result<Self::Credential> {
        let client = AdminClient {
            scopes: parse_scopes(&row.scopes)?,
            app_id: AppId::parse(row.app_id).with_context(|| format!("admin client {}", row.id))?,
            name: Name::parse("name", row.name)?,
            created_at: row.created_at,
            id: row.id,
        };
        Ok(SealedCredential { credential: client, sealed: Sealed { kid: row.seal_kid, bytes: row.sealed_secret } })
    }
}
