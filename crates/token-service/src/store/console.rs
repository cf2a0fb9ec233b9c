//! The dashboard's sessions: a row each, and a row per application signed in to, valid while the
//! API token it was signed in with is live (a subquery on `api_tokens`, so revoking the token
//! signs the session out of that application with nothing else to update).

use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, SqlErr, TransactionTrait,
    sea_query::{OnConflict, Query},
};

use super::{
    SeaTokenStore,
    entity::{api_tokens, console_session_apps as apps, console_sessions as sessions},
};
use crate::{
    app::{ConsoleSessionStore, StoreError},
    domain::{AppId, ConsoleApp, ConsoleSession},
};

fn app_row(id_hash: &str, app: &ConsoleApp) -> apps::ActiveModel {
    apps::ActiveModel {
        session_hash: Set(id_hash.to_owned()),
        app_id: Set(app.app_id.as_str().to_owned()),
        api_token_id: Set(app.api_token_id.clone()),
        added_at: Set(app.added_at),
    }
}

#[async_trait]
impl ConsoleSessionStore for SeaTokenStore {
    async fn create_console_session(&self, session: &ConsoleSession, now: i64) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        let row = sessions::ActiveModel {
            id_hash: Set(session.id_hash.clone()),
            csrf: Set(session.csrf.clone()),
            created_at: Set(session.created_at),
            expires_at: Set(session.expires_at),
        };
        sessions::Entity::insert(row).exec_without_returning(&txn).await.map_err(unexpected)?;
        if !session.apps.is_empty() {
            let rows = session.apps.iter().map(|app| app_row(&session.id_hash, app));
            apps::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(unexpected)?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn find_console_session(&self, id_hash: &str, now: i64) -> Result<Option<ConsoleSession>, StoreError> {
        let Some(row) = sessions::Entity::find_by_id(id_hash.to_owned())
            .filter(sessions::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .map_err(unexpected)?
        else {
            return Ok(None);
        };
        let live_tokens = Query::select()
            .column(api_tokens::Column::Id)
            .from(api_tokens::Entity)
            .and_where(api_tokens::Column::RevokedAt.is_null())
            .to_owned();
        let rows = apps::Entity::find()
            .filter(apps::Column::SessionHash.eq(id_hash))
            .filter(apps::Column::ApiTokenId.in_subquery(live_tokens))
            .order_by_asc(apps::Column::AddedAt)
            .order_by_asc(apps::Column::AppId)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        let apps = rows
            .into_iter()
            .map(|r| {
                let app_id = AppId::parse(r.app_id).map_err(|e| anyhow::anyhow!("a stored application id: {e}"))?;
                Ok(ConsoleApp { app_id, api_token_id: r.api_token_id, added_at: r.added_at })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(ConsoleSession {
            id_hash: row.id_hash,
            csrf: row.csrf,
            created_at: row.created_at,
            expires_at: row.expires_at,
            apps,
        }))
    }

    async fn add_console_app(&self, id_hash: &str, app: &ConsoleApp) -> Result<bool, StoreError> {
        let inserted = apps::Entity::insert(app_row(id_hash, app))
            .on_conflict(
                OnConflict::columns([apps::Column::SessionHash, apps::Column::AppId])
                    .update_columns([apps::Column::ApiTokenId, apps::Column::AddedAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await;
        match inserted {
            Ok(_) => Ok(true),
            // The session is gone (signed out, or expired and swept).
            Err(err) if matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => Ok(false),
            Err(err) => Err(unexpected(err).into()),
        }
    }

    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sessions::Entity::delete_by_id(id_hash.to_owned()).exec(&self.db).await.map_err(unexpected)?;
        Ok(())
    }
}
