//! The tokens users hold: access tokens, and each user's row in `token_users` (the instant
//! before which their session tokens are revoked, and whether they were deleted). Writes that
//! must not race for one user first lock that row.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, Func, OnConflict},
};

use super::{
    SeaTokenStore,
    entity::{access_tokens, token_users},
    hashed_tokens::{find_live, revoke_one},
};
use crate::{
    app::{StoreError, UserTokenStore},
    domain::{AccessToken, AppId, UserState},
};

#[async_trait]
impl UserTokenStore for SeaTokenStore {
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
        revoke_all(&txn, &extra, now).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(extra.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn list_access_tokens(&self, app_id: &AppId, user_id: &str) -> Result<Vec<AccessToken>, StoreError> {
        let live = live_access_tokens(&self.db, app_id, user_id).await?;
        Ok(live.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn access_token_history(
        &self,
        app_id: &AppId,
        user_id: &str,
        limit: u64,
    ) -> Result<Vec<(AccessToken, Option<i64>)>, StoreError> {
        let rows = access_tokens::Entity::find()
            .filter(access_tokens::Column::AppId.eq(app_id.as_str()))
            .filter(access_tokens::Column::UserId.eq(user_id))
            .order_by_desc(access_tokens::Column::CreatedAt)
            .order_by_desc(access_tokens::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        let tokens = rows.into_iter().map(|row| {
            let revoked_at = row.revoked_at;
            into_access_token(row).map(|token| (token, revoked_at))
        });
        Ok(tokens.collect::<anyhow::Result<_>>()?)
    }

    async fn find_access_token(&self, token_hash: &str) -> Result<Option<AccessToken>, StoreError> {
        let row = find_live::<access_tokens::Entity>(&self.db, token_hash).await?;
        Ok(row.map(into_access_token).transpose()?)
    }

    async fn revoke_access_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<AccessToken>, StoreError> {
        let row = revoke_one::<access_tokens::Entity>(&self.db, app_id, id, now).await?;
        Ok(row.map(into_access_token).transpose()?)
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
        revoke_all(&txn, &live, before).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(live.into_iter().map(into_access_token).collect::<anyhow::Result<_>>()?)
    }

    async fn find_user_state(&self, app_id: &AppId, user_id: &str) -> Result<Option<UserState>, StoreError> {
        user_state(&self.db, app_id, user_id).await
    }

    async fn set_user_active(
        &self,
        app_id: &AppId,
        user_id: &str,
        active: bool,
        now: i64,
    ) -> Result<UserState, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        lock_user(&txn, app_id, user_id, None).await?;
        // The first deactivation's instant stays; reactivation clears it.
        let deactivated_at = Expr::col(token_users::Column::DeactivatedAt);
        let value = if active {
            Expr::value(Option::<i64>::None)
        } else {
            Func::coalesce([deactivated_at.into(), Expr::value(now)]).into()
        };
        token_users::Entity::update_many()
            .col_expr(token_users::Column::DeactivatedAt, value)
            .filter(token_users::Column::AppId.eq(app_id.as_str()))
            .filter(token_users::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        let state = user_state(&txn, app_id, user_id).await?.unwrap_or_default();
        txn.commit().await.map_err(unexpected)?;
        Ok(state)
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
        deactivated_at: Set(None),
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

async fn user_state(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_id: &str,
) -> Result<Option<UserState>, StoreError> {
    let row = token_users::Entity::find_by_id((app_id.as_str().to_owned(), user_id.to_owned()))
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(row.map(|r| UserState {
        revoked_before: r.revoked_before,
        deactivated: r.deactivated_at.is_some(),
        deleted: r.deleted_at.is_some(),
    }))
}

async fn deleted(conn: &impl ConnectionTrait, app_id: &AppId, user_id: &str) -> Result<bool, StoreError> {
    Ok(user_state(conn, app_id, user_id).await?.is_some_and(|state| state.deleted))
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

/// Marks `tokens` revoked at `now`.
async fn revoke_all(conn: &impl ConnectionTrait, tokens: &[access_tokens::Model], now: i64) -> Result<(), StoreError> {
    if tokens.is_empty() {
        return Ok(());
    }
    access_tokens::Entity::update_many()
        .col_expr(access_tokens::Column::RevokedAt, Expr::value(now))
        .filter(access_tokens::Column::Id.is_in(tokens.iter().map(|t| t.id.clone())))
        .exec(conn)
        .await
        .map_err(unexpected)?;
    Ok(())
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
