//! sea-orm implementation of `ContextStore`.

mod entity;

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::OnConflict};

use crate::{
    app::ContextStore,
    domain::{AppId, Context, ContextKey, ContextValues, Country, Language},
};
use entity::{ActiveModel, Column, Entity as Contexts, Model};

#[derive(Debug, Clone)]
pub struct SeaContextStore {
    db: DatabaseConnection,
}

impl SeaContextStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ContextStore for SeaContextStore {
    async fn put(&self, context: &Context) -> anyhow::Result<()> {
        let row = ActiveModel {
            app_id: Set(context.key.app_id.as_str().to_owned()),
            user_id: Set(context.key.user_id.clone()),
            agent_id: Set(context.key.agent_id.clone()),
            language: Set(context.language.as_ref().map(|l| l.as_str().to_owned())),
            country: Set(context.country.as_ref().map(|c| c.as_str().to_owned())),
            values: Set(serde_json::to_string(context.values.entries())?),
            updated_at: Set(context.updated_at),
        };
        // One statement, so concurrent writers of the same key never collide on insert.
        Contexts::insert(row)
            .on_conflict(
                OnConflict::columns([Column::AppId, Column::UserId, Column::AgentId])
                    .update_columns([Column::Language, Column::Country, Column::Values, Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(())
    }

    async fn find(&self, key: &ContextKey) -> anyhow::Result<Option<Context>> {
        let row = Contexts::find()
            .filter(Column::AppId.eq(key.app_id.as_str()))
            .filter(Column::UserId.eq(&key.user_id))
            .filter(Column::AgentId.eq(&key.agent_id))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        row.map(into_context).transpose()
    }

    async fn delete(&self, key: &ContextKey) -> anyhow::Result<bool> {
        let result = Contexts::delete_many()
            .filter(Column::AppId.eq(key.app_id.as_str()))
            .filter(Column::UserId.eq(&key.user_id))
            .filter(Column::AgentId.eq(&key.agent_id))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_user(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<()> {
        Contexts::delete_many()
            .filter(Column::AppId.eq(app_id.as_str()))
            .filter(Column::UserId.eq(user_id))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(())
    }
}

fn into_context(row: Model) -> anyhow::Result<Context> {
    let context = || "stored context is invalid";
    Ok(Context {
        key: ContextKey {
            app_id: AppId::parse(row.app_id).with_context(context)?,
            user_id: row.user_id,
            agent_id: row.agent_id,
        },
        language: row.language.map(Language::parse).transpose().with_context(context)?,
        country: row.country.map(Country::parse).transpose().with_context(context)?,
        values: ContextValues::parse(serde_json::from_str(&row.values)?).with_context(context)?,
        updated_at: row.updated_at,
    })
}
