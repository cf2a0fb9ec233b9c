//! sea-orm implementation of `TokenStore`, and the credential caches (Redis and in-process).

mod cache;
mod entity;

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::{UniqueIndex, unexpected};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    TransactionTrait,
    sea_query::{Expr, OnConflict},
};

pub use cache::{MemoryKv, RedisKv};
use entity::{
    access_tokens, admin_clients, api_tokens, app_keys, applications, public_keys, signing_keys, token_users,
};

use platform::seal::Sealed;

use crate::{
    app::{StoreError, TokenStore},
    domain::{
        AccessToken, AdminClient, ApiToken, AppId, AppKey, AppSettings, Application, KeyAlgorithm, Name, PublicKey,
        Scope,
    },
};

pub const API_TOKEN_HASH_KEY: UniqueIndex =
    UniqueIndex { name: "api_tokens_hash_key", table: "api_tokens", columns: &["token_hash"] };
pub const ACCESS_TOKEN_HASH_KEY: UniqueIndex =
    UniqueIndex { name: "access_tokens_hash_key", table: "access_tokens", columns: &["token_hash"] };

#[derive(Debug, Clone)]
pub struct SeaTokenStore {
    db: DatabaseConnection,
}

impl SeaTokenStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl TokenStore for SeaTokenStore {
    async fn create_application(&self, app: &Application, first_token: Option<&ApiToken>) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        applications::Entity::insert(application_row(app)).exec_without_returning(&txn).await.map_err(unexpected)?;
        if let Some(token) = first_token {
            api_tokens::Entity::insert(api_token_row(token)).exec_without_returning(&txn).await.map_err(unexpected)?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn find_application(&self, id: &AppId) -> Result<Option<Application>, StoreError> {
        let row = applications::Entity::find_by_id(id.as_str()).one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(into_application).transpose()?)
    }

    async fn list_applications(&self, after: Option<&AppId>, limit: u64) -> Result<Vec<Application>, StoreError> {
        let mut query = applications::Entity::find().order_by_asc(applications::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(applications::Column::Id.gt(after.as_str()));
        }
        let rows = query.all(&self.db).await.map_err(unexpected)?;
        Ok(rows.into_iter().map(into_application).collect::<anyhow::Result<_>>()?)
    }

    async fn update_application(&self, app: &Application) -> Result<bool, StoreError> {
        let mut row = application_row(app);
        row.created_at = sea_orm::ActiveValue::NotSet;
        let updated = applications::Entity::update_many()
            .set(row)
            .filter(applications::Column::Id.eq(app.id.as_str()))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(updated.rows_affected == 1)
    }

    async fn create_api_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        api_tokens::Entity::insert(api_token_row(token)).exec_without_returning(&self.db).await.map_err(
            |err| match err.sql_err() {
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::ApplicationNotFound,
                // A 160-bit random token colliding is a fault, not a caller's mistake.
                _ if API_TOKEN_HASH_KEY.is_violated_by(&err) => {
                    StoreError::Unexpected(anyhow::anyhow!("API token hash collision"))
                }
                _ => StoreError::Unexpected(unexpected(err)),
            },
        )?;
        Ok(())
    }

    async fn find_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(token_hash))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_api_token).transpose()?)
    }

    async fn revoke_api_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let row = api_tokens::Entity::find_by_id(id)
            .filter(api_tokens::Column::AppId.eq(app_id.as_str()))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .one(&txn)
            .await
            .map_err(unexpected)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let updated = api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(id))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        txn.commit().await.map_err(unexpected)?;
        Ok((updated.rows_affected == 1).then_some(row.token_hash))
    }

    async fn issue_access_token(
        &self,
        token: &AccessToken,
        limit: u32,
        now: i64,
    ) -> Result<Vec<AccessToken>, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        lock_user(&txn, &token.app_id, &token.user_id, None).await?;
        if deleted(&txn, &token.app_id, &token.user_id).await? {
            return Err(StoreError::UserDeleted);
        }
        access_tokens::Entity::insert(access_token_row(token))
            .exec_without_returning(&txn)
            .await
            .map_err(unexpected)?;
        let live = live_access_tokens(&txn, &token.app_id, &token.user_id).await?;
        let extra: Vec<access_tokens::Model> = live.into_iter().skip(limit as usize).collect();
        if !extra.is_empty() {
            access_tokens::Entity::update_many()
                .col_expr(access_tokens::Column::RevokedAt, Expr::value(now))
                .filter(access_tokens::Column::Id.is_in(extra.iter().map(|t| t.id.clone())))
                .exec(&txn)
                .await
                .map_err(unexpected)?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(extra.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn list_access_tokens(&self, app_id: &AppId, user_id: &str) -> Result<Vec<AccessToken>, StoreError> {
        let live = live_access_tokens(&self.db, app_id, user_id).await?;
        Ok(live.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn find_access_token(&self, token_hash: &str) -> Result<Option<AccessToken>, StoreError> {
        let row = access_tokens::Entity::find()
            .filter(access_tokens::Column::TokenHash.eq(token_hash))
            .filter(access_tokens::Column::RevokedAt.is_null())
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_access_token).transpose()?)
    }

    async fn revoke_access_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<AccessToken>, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let row = access_tokens::Entity::find_by_id(id)
            .filter(access_tokens::Column::AppId.eq(app_id.as_str()))
            .filter(access_tokens::Column::RevokedAt.is_null())
            .one(&txn)
            .await
            .map_err(unexpected)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let updated = access_tokens::Entity::update_many()
            .col_expr(access_tokens::Column::RevokedAt, Expr::value(now))
            .filter(access_tokens::Column::Id.eq(id))
            .filter(access_tokens::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        txn.commit().await.map_err(unexpected)?;
        if updated.rows_affected == 1 { Ok(Some(into_access_token(row)?)) } else { Ok(None) }
    }

    async fn revoke_session_tokens(&self, app_id: &AppId, user_id: &str, before: i64) -> Result<(), StoreError> {
        lock_user(&self.db, app_id, user_id, Some(before)).await
    }

    async fn revoke_user_tokens(
        &self,
        app_id: &AppId,
        user_id: &str,
        before: i64,
    ) -> Result<Vec<AccessToken>, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        lock_user(&txn, app_id, user_id, Some(before)).await?;
        token_users::Entity::update_many()
            .col_expr(token_users::Column::DeletedAt, Expr::value(before))
            .filter(token_users::Column::AppId.eq(app_id.as_str()))
            .filter(token_users::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        let live = live_access_tokens(&txn, app_id, user_id).await?;
        if !live.is_empty() {
            access_tokens::Entity::update_many()
                .col_expr(access_tokens::Column::RevokedAt, Expr::value(before))
                .filter(access_tokens::Column::Id.is_in(live.iter().map(|t| t.id.clone())))
                .exec(&txn)
                .await
                .map_err(unexpected)?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(live.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn find_user_revocation(&self, app_id: &AppId, user_id: &str) -> Result<Option<i64>, StoreError> {
        let row = token_users::Entity::find_by_id((app_id.as_str().to_owned(), user_id.to_owned()))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(|r| r.revoked_before).filter(|before| *before > 0))
    }

    async fn is_user_deleted(&self, app_id: &AppId, user_id: &str) -> Result<bool, StoreError> {
        deleted(&self.db, app_id, user_id).await
    }

    async fn create_app_key(&self, key: &AppKey, sealed: &Sealed) -> Result<(), StoreError> {
        let row = app_keys::ActiveModel {
            id: Set(key.id.clone()),
            app_id: Set(key.app_id.as_str().to_owned()),
            display_name: Set(key.display_name.as_str().to_owned()),
            seal_kid: Set(sealed.kid.clone()),
            sealed_secret: Set(sealed.bytes.clone()),
            created_at: Set(key.created_at),
        };
        app_keys::Entity::insert(row).exec_without_returning(&self.db).await.map_err(foreign_app)?;
        Ok(())
    }

    async fn list_app_keys(&self, app_id: &AppId) -> Result<Vec<AppKey>, StoreError> {
        let rows = app_keys::Entity::find()
            .filter(app_keys::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(app_keys::Column::CreatedAt)
            .order_by_asc(app_keys::Column::Id)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(|row| into_app_key(row).map(|(key, _)| key)).collect::<anyhow::Result<_>>()?)
    }

    async fn find_app_key(&self, key_id: &str) -> Result<Option<(AppKey, Sealed)>, StoreError> {
        if !storable(key_id) {
            return Ok(None);
        }
        let row = app_keys::Entity::find_by_id(key_id.to_owned()).one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(into_app_key).transpose()?)
    }

    async fn delete_app_key(&self, app_id: &AppId, key_id: &str) -> Result<bool, StoreError> {
        if !storable(key_id) {
            return Ok(false);
        }
        let deleted = app_keys::Entity::delete_many()
            .filter(app_keys::Column::Id.eq(key_id))
            .filter(app_keys::Column::AppId.eq(app_id.as_str()))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn create_public_key(&self, key: &PublicKey) -> Result<(), StoreError> {
        let row = public_keys::ActiveModel {
            id: Set(key.id.clone()),
            app_id: Set(key.app_id.as_str().to_owned()),
            algorithm: Set(key.algorithm.as_str().to_owned()),
            pem: Set(key.pem.clone()),
            created_at: Set(key.created_at),
        };
        public_keys::Entity::insert(row).exec_without_returning(&self.db).await.map_err(foreign_app)?;
        Ok(())
    }

    async fn list_public_keys(&self, app_id: &AppId) -> Result<Vec<PublicKey>, StoreError> {
        let rows = public_keys::Entity::find()
            .filter(public_keys::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(public_keys::Column::CreatedAt)
            .order_by_asc(public_keys::Column::Id)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(into_public_key).collect::<anyhow::Result<_>>()?)
    }

    async fn find_public_key(&self, key_id: &str) -> Result<Option<PublicKey>, StoreError> {
        if !storable(key_id) {
            return Ok(None);
        }
        let row = public_keys::Entity::find_by_id(key_id.to_owned()).one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(into_public_key).transpose()?)
    }

    async fn delete_public_key(&self, app_id: &AppId, key_id: &str) -> Result<bool, StoreError> {
        if !storable(key_id) {
            return Ok(false);
        }
        let deleted = public_keys::Entity::delete_many()
            .filter(public_keys::Column::Id.eq(key_id))
            .filter(public_keys::Column::AppId.eq(app_id.as_str()))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn create_admin_client(&self, client: &AdminClient, sealed: &Sealed) -> Result<(), StoreError> {
        let row = admin_clients::ActiveModel {
            id: Set(client.id.clone()),
            app_id: Set(client.app_id.as_str().to_owned()),
            name: Set(client.name.as_str().to_owned()),
            scopes: Set(join_scopes(&client.scopes)),
            seal_kid: Set(sealed.kid.clone()),
            sealed_secret: Set(sealed.bytes.clone()),
            created_at: Set(client.created_at),
        };
        admin_clients::Entity::insert(row).exec_without_returning(&self.db).await.map_err(foreign_app)?;
        Ok(())
    }

    async fn list_admin_clients(&self, app_id: &AppId) -> Result<Vec<AdminClient>, StoreError> {
        let rows = admin_clients::Entity::find()
            .filter(admin_clients::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(admin_clients::Column::CreatedAt)
            .order_by_asc(admin_clients::Column::Id)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(rows
            .into_iter()
            .map(|row| into_admin_client(row).map(|(client, _)| client))
            .collect::<anyhow::Result<_>>()?)
    }

    async fn find_admin_client(&self, client_id: &str) -> Result<Option<(AdminClient, Sealed)>, StoreError> {
        if !storable(client_id) {
            return Ok(None);
        }
        let row = admin_clients::Entity::find_by_id(client_id.to_owned()).one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(into_admin_client).transpose()?)
    }

    async fn delete_admin_client(&self, app_id: &AppId, client_id: &str) -> Result<bool, StoreError> {
        if !storable(client_id) {
            return Ok(false);
        }
        let deleted = admin_clients::Entity::delete_many()
            .filter(admin_clients::Column::Id.eq(client_id))
            .filter(admin_clients::Column::AppId.eq(app_id.as_str()))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = signing_keys::Entity::find()
            .order_by_desc(signing_keys::Column::CreatedAt)
            .order_by_desc(signing_keys::Column::Kid)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        rows.into_iter()
            .map(|row| {
                Ok((row.kid.clone(), hex::decode(&row.secret).with_context(|| format!("signing key {}", row.kid))?))
            })
            .collect()
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

/// Upserts the user's row, which locks it until the transaction ends (PostgreSQL row lock,
/// SQLite write lock). `revoked_before`, when given, moves the revocation instant.
async fn lock_user(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_id: &str,
    revoked_before: Option<i64>,
) -> Result<(), StoreError> {
    let row = token_users::ActiveModel {
        app_id: Set(app_id.as_str().to_owned()),
        user_id: Set(user_id.to_owned()),
        revoked_before: Set(revoked_before.unwrap_or(0)),
        deleted_at: Set(None),
    };
    let current = Expr::col((token_users::Entity, token_users::Column::RevokedBefore));
    let mut on_conflict = OnConflict::columns([token_users::Column::AppId, token_users::Column::UserId]);
    match revoked_before {
        // Never backwards: a late or skewed revocation keeps the later instant.
        Some(before) => on_conflict.value(
            token_users::Column::RevokedBefore,
            Expr::case(current.clone().gt(before), current.clone()).finally(before),
        ),
        // A no-op update still takes the lock.
        None => on_conflict.value(
            token_users::Column::RevokedBefore,
            Expr::col((token_users::Entity, token_users::Column::RevokedBefore)),
        ),
    };
    token_users::Entity::insert(row)
        .on_conflict(on_conflict.to_owned())
        .exec_without_returning(conn)
        .await
        .map_err(unexpected)?;
    Ok(())
}

async fn deleted(conn: &impl ConnectionTrait, app_id: &AppId, user_id: &str) -> Result<bool, StoreError> {
    let row = token_users::Entity::find_by_id((app_id.as_str().to_owned(), user_id.to_owned()))
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(row.is_some_and(|r| r.deleted_at.is_some()))
}

/// Newest first.
async fn live_access_tokens(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_id: &str,
) -> Result<Vec<access_tokens::Model>, StoreError> {
    let rows = access_tokens::Entity::find()
        .filter(access_tokens::Column::AppId.eq(app_id.as_str()))
        .filter(access_tokens::Column::UserId.eq(user_id))
        .filter(access_tokens::Column::RevokedAt.is_null())
        .order_by_desc(access_tokens::Column::CreatedAt)
        .order_by_desc(access_tokens::Column::Id)
        .all(conn)
        .await
        .map_err(unexpected)?;
    Ok(rows)
}

fn access_token_row(token: &AccessToken) -> access_tokens::ActiveModel {
    access_tokens::ActiveModel {
        id: Set(token.id.clone()),
        app_id: Set(token.app_id.as_str().to_owned()),
        user_id: Set(token.user_id.clone()),
        token_hash: Set(token.token_hash.clone()),
        created_at: Set(token.created_at),
        revoked_at: Set(None),
    }
}

fn into_access_token(row: access_tokens::Model) -> anyhow::Result<AccessToken> {
    Ok(AccessToken {
        id: row.id,
        app_id: AppId::parse(row.app_id).context("stored access token app id")?,
        user_id: row.user_id,
        token_hash: row.token_hash,
        created_at: row.created_at,
    })
}

fn application_row(app: &Application) -> applications::ActiveModel {
    let s = &app.settings;
    applications::ActiveModel {
        id: Set(app.id.as_str().to_owned()),
        name: Set(app.name.as_str().to_owned()),
        session_token_ttl_secs: Set(s.session_token_ttl_secs as i64),
        access_token_limit: Set(s.access_token_limit as i32),
        allow_tokenless_users: Set(s.allow_tokenless_users),
        unassociated_user_ttl_secs: Set(s.unassociated_user_ttl_secs as i64),
        rate_limit_per_second: Set(s.rate_limit_per_second as i32),
        created_at: Set(app.created_at),
    }
}

fn api_token_row(token: &ApiToken) -> api_tokens::ActiveModel {
    api_tokens::ActiveModel {
        id: Set(token.id.clone()),
        app_id: Set(token.app_id.as_str().to_owned()),
        name: Set(token.name.as_str().to_owned()),
        token_hash: Set(token.token_hash.clone()),
        scopes: Set(join_scopes(&token.scopes)),
        created_at: Set(token.created_at),
        revoked_at: Set(None),
    }
}

fn into_application(row: applications::Model) -> anyhow::Result<Application> {
    Ok(Application {
        id: AppId::parse(row.id).context("stored application id")?,
        name: Name::parse("name", row.name).context("stored application name")?,
        settings: AppSettings {
            session_token_ttl_secs: row.session_token_ttl_secs.try_into()?,
            access_token_limit: row.access_token_limit.try_into()?,
            allow_tokenless_users: row.allow_tokenless_users,
            unassociated_user_ttl_secs: row.unassociated_user_ttl_secs.try_into()?,
            rate_limit_per_second: row.rate_limit_per_second.try_into()?,
        },
        created_at: row.created_at,
    })
}

fn into_api_token(row: api_tokens::Model) -> anyhow::Result<ApiToken> {
    let scopes = parse_scopes(&row.scopes)?;
    Ok(ApiToken {
        id: row.id,
        app_id: AppId::parse(row.app_id).context("stored token app id")?,
        name: Name::parse("name", row.name).context("stored token name")?,
        token_hash: row.token_hash,
        scopes,
        created_at: row.created_at,
    })
}

/// A credential insert naming an application that does not exist.
fn foreign_app(err: sea_orm::DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::ApplicationNotFound,
        _ => StoreError::Unexpected(unexpected(err)),
    }
}

fn into_app_key(row: app_keys::Model) -> anyhow::Result<(AppKey, Sealed)> {
    let key = AppKey {
        app_id: AppId::parse(row.app_id).with_context(|| format!("app key {}", row.id))?,
        display_name: Name::parse("display_name", row.display_name)?,
        created_at: row.created_at,
        id: row.id,
    };
    Ok((key, Sealed { kid: row.seal_kid, bytes: row.sealed_secret }))
}

fn into_public_key(row: public_keys::Model) -> anyhow::Result<PublicKey> {
    Ok(PublicKey {
        app_id: AppId::parse(row.app_id).with_context(|| format!("public key {}", row.id))?,
        algorithm: KeyAlgorithm::parse_public(&row.algorithm)?,
        pem: row.pem,
        created_at: row.created_at,
        id: row.id,
    })
}

fn into_admin_client(row: admin_clients::Model) -> anyhow::Result<(AdminClient, Sealed)> {
    let scopes = parse_scopes(&row.scopes)?;
    let client = AdminClient {
        app_id: AppId::parse(row.app_id).with_context(|| format!("admin client {}", row.id))?,
        name: Name::parse("name", row.name)?,
        scopes,
        created_at: row.created_at,
        id: row.id,
    };
    Ok((client, Sealed { kid: row.seal_kid, bytes: row.sealed_secret }))
}

/// Whether an id a caller presented can be stored at all: PostgreSQL text holds no NUL, so such
/// an id names nothing (rather than failing the query).
fn storable(id: &str) -> bool {
    !id.contains('\0')
}

/// Scopes as stored: comma-separated names.
fn parse_scopes(stored: &str) -> anyhow::Result<Vec<Scope>> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).with_context(|| format!("stored scope {s}")))
        .collect()
}

fn join_scopes(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}
