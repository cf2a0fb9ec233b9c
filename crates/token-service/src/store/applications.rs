//! Applications and their API tokens.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::{
    API_TOKEN_HASH_KEY, SeaTokenStore,
    entity::{api_tokens, applications},
    foreign_app,
    hashed_tokens::{find_live, revoke_one},
    join_scopes, parse_scopes,
};
use crate::{
    app::{ApplicationStore, StoreError},
    domain::{ApiToken, AppId, AppSettings, Application, Name},
};

#[async_trait]
impl ApplicationStore for SeaTokenStore {
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
        api_tokens::Entity::insert(api_token_row(token)).exec_without_returning(&self.db).await.map_err(|err| {
            // A 160-bit random token colliding is a fault, not a caller's mistake.
            if API_TOKEN_HASH_KEY.is_violated_by(&err) {
                StoreError::Unexpected(anyhow::anyhow!("API token hash collision"))
            } else {
                foreign_app(err)
            }
        })?;
        Ok(())
    }

    async fn find_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = find_live::<api_tokens::Entity>(&self.db, token_hash).await?;
        Ok(row.map(into_api_token).transpose()?)
    }

    async fn list_api_tokens(&self, app_id: &AppId) -> Result<Vec<ApiToken>, StoreError> {
        let rows = api_tokens::Entity::find()
            .filter(api_tokens::Column::AppId.eq(app_id.as_str()))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .order_by_asc(api_tokens::Column::CreatedAt)
            .order_by_asc(api_tokens::Column::Id)
            .all(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(into_api_token).collect::<anyhow::Result<_>>()?)
    }

    async fn revoke_api_token(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<String>, StoreError> {
        let row = revoke_one::<api_tokens::Entity>(&self.db, app_id, id, now).await?;
        Ok(row.map(|row| row.token_hash))
    }
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
