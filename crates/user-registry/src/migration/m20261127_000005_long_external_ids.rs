//! Long external ids are indexed by digest (`ExternalId::normalized`): rewrites the stored
//! normalized form of any that were kept whole (possible on SQLite only: PostgreSQL refused
//! them, its index entries being limited to ~2.7 KB).

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, FromQueryResult},
};

use crate::domain::{ExternalId, normalized_external_id};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ExternalId,
    ExternalIdNorm,
}

#[derive(FromQueryResult)]
struct Row {
    id: String,
    external_id: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        // More than MAX_INDEXED_BYTES bytes means more than a quarter as many characters.
        let min_chars = (ExternalId::MAX_INDEXED_BYTES / 4) as i64;
        let select = Query::select()
            .columns([Users::Id, Users::ExternalId])
            .from(Users::Table)
            .and_where(Expr::col(Users::ExternalId).is_not_null())
            .and_where(Expr::expr(Func::cust(Alias::new("length")).arg(Expr::col(Users::ExternalIdNorm))).gt(min_chars))
            .to_owned();
        let rows = Row::find_by_statement(backend.build(&select)).all(db).await?;
        for row in rows {
            let normalized = normalized_external_id(&row.external_id);
            let update = Query::update()
                .table(Users::Table)
                .value(Users::ExternalIdNorm, normalized)
                .and_where(Expr::col(Users::Id).eq(row.id))
                .to_owned();
            db.execute(backend.build(&update)).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The digests cannot be turned back; the lower-case forms they replaced are recomputed
        // from `external_id` by whoever needs them.
        Ok(())
    }
}
