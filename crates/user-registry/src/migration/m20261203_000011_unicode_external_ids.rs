//! External ids are compared after Unicode normalisation (`normalized_external_id`): rewrites the
//! stored form of every id it changes. Only ids with a character outside ASCII can change. Where
//! two stored ids of one application now read as one, the one whose stored form is already the
//! new form keeps it and answers lookups by that id; the other is left as stored (reachable by its
//! Roster id and user_id, never merged or deleted) and the migration logs its Roster id.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, FromQueryResult},
};

use crate::domain::normalized_external_id;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AppId,
    ExternalId,
    ExternalIdNorm,
}

#[derive(FromQueryResult)]
struct Row {
    id: String,
    app_id: String,
    external_id: String,
    external_id_norm: Option<String>,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let select = Query::select()
            .columns([Users::Id, Users::AppId, Users::ExternalId, Users::ExternalIdNorm])
            .from(Users::Table)
            .and_where(Expr::col(Users::ExternalId).is_not_null())
            .to_owned();
        let rows = Row::find_by_statement(backend.build(&select)).all(db).await?;
        // Every stored form per application, and what each changed id becomes.
        let mut stored: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for row in &rows {
            stored.entry(row.app_id.as_str()).or_default().insert(row.external_id_norm.as_deref().unwrap_or_default());
        }
        let changed: Vec<(&Row, String)> = rows
            .iter()
            .filter(|row| !row.external_id.is_ascii())
            .map(|row| (row, normalized_external_id(&row.external_id)))
            .filter(|(row, norm)| row.external_id_norm.as_deref() != Some(norm.as_str()))
            .collect();
        let mut wanted: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (row, norm) in &changed {
            *wanted.entry((row.app_id.as_str(), norm.as_str())).or_default() += 1;
        }
        for (row, norm) in &changed {
            let taken = stored.get(row.app_id.as_str()).is_some_and(|forms| forms.contains(norm.as_str()));
            if taken || wanted[&(row.app_id.as_str(), norm.as_str())] > 1 {
                tracing::warn!(
                    user.id = row.id,
                    "external id left as stored: another user's reads the same once normalised"
                );
                continue;
            }
            let update = Query::update()
                .table(Users::Table)
                .value(Users::ExternalIdNorm, norm.clone())
                .and_where(Expr::col(Users::Id).eq(row.id.clone()))
                .to_owned();
            db.execute(backend.build(&update)).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The lower-case forms are recomputed from `external_id` by whoever needs them.
        Ok(())
    }
}
