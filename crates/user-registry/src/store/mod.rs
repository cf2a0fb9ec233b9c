//! sea-orm implementation of `UserStore`, for PostgreSQL and SQLite alike.

mod entity;

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::{UniqueIndex, unexpected};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    app::{StoreError, UserStore},
    domain::{
        AppId, ExternalId, Lookup, MetaValue, Metadata, Nickname, Origin, ProfileUrl, RosterId,
        User, UserId,
    },
};
use entity::{ActiveModel, Column, Entity as Users, Model};

pub const USER_ID_KEY: UniqueIndex = UniqueIndex {
    name: "users_app_user_id_key",
    table: "users",
    columns: &["app_id", "user_id"],
};
pub const EXTERNAL_ID_KEY: UniqueIndex = UniqueIndex {
    name: "users_app_external_id_key",
    table: "users",
    columns: &["app_id", "external_id_norm"],
};

#[derive(Debug, Clone)]
pub struct SeaUserStore {
    db: DatabaseConnection,
}

impl SeaUserStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl UserStore for SeaUserStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let row = ActiveModel {
            id: Set(user.id.as_str().to_owned()),
            app_id: Set(user.app_id.as_str().to_owned()),
            user_id: Set(user.user_id.as_str().to_owned()),
            external_id: Set(user.external_id.as_ref().map(|e| e.as_str().to_owned())),
            external_id_norm: Set(user.external_id.as_ref().map(ExternalId::normalized)),
            nickname: Set(user.nickname.as_str().to_owned()),
            profile_url: Set(user.profile_url.as_str().to_owned()),
            metadata: Set(encode_metadata(&user.metadata)),
            is_active: Set(user.is_active),
            origin: Set(user.origin.as_str().to_owned()),
            created_at: Set(user.created_at),
            updated_at: Set(user.updated_at),
        };
        Users::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|err| {
                if USER_ID_KEY.is_violated_by(&err) {
                    StoreError::UserIdTaken
                } else if EXTERNAL_ID_KEY.is_violated_by(&err) {
                    StoreError::ExternalIdTaken
                } else {
                    StoreError::Unexpected(unexpected(err))
                }
            })?;
        Ok(())
    }

    async fn find(&self, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError> {
        let query = Users::find().filter(Column::AppId.eq(app_id.as_str()));
        let query = match lookup {
            Lookup::Id(id) => query.filter(Column::Id.eq(id.as_str())),
            Lookup::UserId(user_id) => query.filter(Column::UserId.eq(user_id.as_str())),
            Lookup::ExternalId(external_id) => {
                query.filter(Column::ExternalIdNorm.eq(external_id.normalized()))
            }
        };
        let row = query.one(&self.db).await.map_err(unexpected)?;
        Ok(row.map(into_user).transpose()?)
    }
}

/// Rows were validated on the way in; a row that no longer parses is a server fault.
fn into_user(row: Model) -> anyhow::Result<User> {
    let context = || format!("stored user {} is invalid", row.id);
    Ok(User {
        id: RosterId::parse(row.id.clone()).with_context(context)?,
        app_id: AppId::parse(row.app_id).with_context(context)?,
        user_id: UserId::parse(row.user_id).with_context(context)?,
        external_id: row
            .external_id
            .map(ExternalId::parse)
            .transpose()
            .with_context(context)?,
        nickname: Nickname::parse(row.nickname).with_context(context)?,
        profile_url: ProfileUrl::parse(row.profile_url).with_context(context)?,
        metadata: decode_metadata(&row.metadata).with_context(context)?,
        is_active: row.is_active,
        origin: Origin::parse(&row.origin).with_context(context)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn encode_metadata(metadata: &Metadata) -> String {
    let map: serde_json::Map<String, serde_json::Value> = metadata
        .entries()
        .iter()
        .map(|(k, v)| {
            let value = match v {
                MetaValue::String(s) => serde_json::Value::from(s.as_str()),
                MetaValue::Int(i) => serde_json::Value::from(*i),
                MetaValue::Double(d) => serde_json::Value::from(*d),
                MetaValue::Bool(b) => serde_json::Value::from(*b),
            };
            (k.clone(), value)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn decode_metadata(json: &str) -> anyhow::Result<Metadata> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)?;
    let mut entries = BTreeMap::new();
    for (key, value) in map {
        let value = match value {
            serde_json::Value::String(s) => MetaValue::String(s),
            serde_json::Value::Bool(b) => MetaValue::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => MetaValue::Int(i),
                None => MetaValue::Double(n.as_f64().context("number out of range")?),
            },
            other => anyhow::bail!("metadata value {other} is not a scalar"),
        };
        entries.insert(key, value);
    }
    Ok(Metadata::parse(entries)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_json_keeping_number_kinds() {
        let entries: BTreeMap<_, _> = [
            ("s".to_owned(), MetaValue::String("v".into())),
            ("i".to_owned(), MetaValue::Int(123)),
            ("d".to_owned(), MetaValue::Double(1.0)),
            ("b".to_owned(), MetaValue::Bool(true)),
        ]
        .into();
        let metadata = Metadata::parse(entries).expect("valid");
        assert_eq!(
            decode_metadata(&encode_metadata(&metadata)).expect("decodes"),
            metadata
        );
    }
}
