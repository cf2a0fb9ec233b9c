//! What API tokens and access tokens share: each is kept as a hash, found while live by that
//! hash, and revoked by id (the row stays, with `revoked_at` set, and is never found again).

use platform::db::unexpected;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};

use super::entity::{access_tokens, api_tokens};
use crate::{app::StoreError, domain::AppId};

/// A table of hashed tokens: `id`, the `app_id` each belongs to, `token_hash`, `revoked_at`
/// (null while live).
pub(super) trait TokenTable: EntityTrait {
    const ID: Self::Column;
    const APP_ID: Self::Column;
    const TOKEN_HASH: Self::Column;
    const REVOKED_AT: Self::Column;
}

impl TokenTable for api_tokens::Entity {
    const ID: api_tokens::Column = api_tokens::Column::Id;
    const APP_ID: api_tokens::Column = api_tokens::Column::AppId;
    const TOKEN_HASH: api_tokens::Column = api_tokens::Column::TokenHash;
    const REVOKED_AT: api_tokens::Column = api_tokens::Column::RevokedAt;
}

impl TokenTable for access_tokens::Entity {
    const ID: access_tokens::Column = access_tokens::Column::Id;
    const APP_ID: access_tokens::Column = access_tokens::Column::AppId;
    const TOKEN_HASH: access_tokens::Column = access_tokens::Column::TokenHash;
    const REVOKED_AT: access_tokens::Column = access_tokens::Column::RevokedAt;
}

/// The live (unrevoked) token with this hash.
pub(super) async fn find_live<T: TokenTable>(
    db: &DatabaseConnection,
    token_hash: &str,
) -> Result<Option<T::Model>, StoreError> {
    let row = T::find()
        .filter(T::TOKEN_HASH.eq(token_hash))
        .filter(T::REVOKED_AT.is_null())
        .one(db)
        .await
        .map_err(unexpected)?;
    Ok(row)
}

/// Marks the application's live token `id` revoked at `now`; answers its row, or `None` when the
/// application had no such live token (or a concurrent revocation came first).
pub(super) async fn revoke_one<T: TokenTable>(
    db: &DatabaseConnection,
    app_id: &AppId,
    id: &str,
    now: i64,
) -> Result<Option<T::Model>, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let row = T::find()
        .filter(T::ID.eq(id))
        .filter(T::APP_ID.eq(app_id.as_str()))
        .filter(T::REVOKED_AT.is_null())
        .one(&txn)
        .await
        .map_err(unexpected)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let updated = T::update_many()
        .col_expr(T::REVOKED_AT, Expr::value(now))
        .filter(T::ID.eq(id))
        .filter(T::REVOKED_AT.is_null())
        .exec(&txn)
        .await
        .map_err(unexpected)?;
    txn.commit().await.map_err(unexpected)?;
    Ok((updated.rows_affected == 1).then_some(row))
}
