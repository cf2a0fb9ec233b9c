//! The user's own row: written from a `User`, picked by a `Lookup`, locked by a touch. A row a
//! deletion has claimed is gone to every lookup.

use platform::db::unexpected;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};

use super::{codec, entity::users};
use crate::{
    app::StoreError,
    domain::{AppId, ExternalId, Lookup, RosterId, User},
};

/// An id the database gave back: invalid would be a server fault.
pub(super) fn parse_id(id: String) -> Result<RosterId, StoreError> {
    RosterId::parse(id).map_err(|e| StoreError::Unexpected(e.into()))
}

/// The application's users, but those a deletion has claimed: their tokens and context may be
/// gone already, so nothing may find, change or associate them again.
pub(super) fn live(app_id: &AppId) -> Condition {
    Condition::all().add(users::Column::AppId.eq(app_id.as_str())).add(users::Column::DeletingSince.is_null())
}

/// The application's live user that `lookup` names.
pub(super) fn lookup_condition(app_id: &AppId, lookup: &Lookup) -> Condition {
    live(app_id).add(by_lookup(lookup))
}

/// The column test naming the user `lookup` names, live or claimed.
pub(super) fn by_lookup(lookup: &Lookup) -> SimpleExpr {
    match lookup {
        Lookup::Id(id) => users::Column::Id.eq(id.as_str()),
        Lookup::UserId(user_id) => users::Column::UserId.eq(user_id.as_str()),
        Lookup::ExternalId(external_id) => users::Column::ExternalIdNorm.eq(external_id.normalized()),
        Lookup::MemberEmail(email_id) => users::Column::MemberEmailNorm.eq(email_id.normalized()),
        Lookup::OrgUserId(org_user_id) => users::Column::MemberOrgUserId.eq(org_user_id.as_str()),
    }
}

/// Bumps `updated_at`, locking the row for the rest of the transaction; answers the user's id.
pub(super) async fn touch(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    lookup: &Lookup,
    now: i64,
) -> Result<String, StoreError> {
    let touched = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(lookup_condition(app_id, lookup))
        .exec(conn)
        .await
        .map_err(unexpected)?;
    if touched.rows_affected == 0 {
        return Err(StoreError::UserNotFound);
    }
    find_id(conn, app_id, lookup).await?.ok_or(StoreError::UserNotFound)
}

/// The id of the user `lookup` names.
pub(super) async fn find_id(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    lookup: &Lookup,
) -> Result<Option<String>, StoreError> {
    let id = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(lookup_condition(app_id, lookup))
        .into_tuple()
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(id)
}

pub(super) fn user_row(user: &User) -> Result<users::ActiveModel, StoreError> {
    let member = codec::encode_member(user.member.as_ref())?;
    Ok(users::ActiveModel {
        id: Set(user.id.as_str().to_owned()),
        app_id: Set(user.app_id.as_str().to_owned()),
        user_id: Set(user.user_id.as_str().to_owned()),
        external_id: Set(user.external_id.as_ref().map(|e| e.as_str().to_owned())),
        external_id_norm: Set(user.external_id.as_ref().map(ExternalId::normalized)),
        nickname: Set(user.nickname.as_str().to_owned()),
        profile_url: Set(user.profile_url.as_str().to_owned()),
        given_name: Set(user.profile.given_name.clone()),
        surname: Set(user.profile.surname.clone()),
        email: Set(user.profile.email.clone()),
        language: Set(user.profile.language.clone()),
        preferred_languages: Set(serde_json::to_string(&user.preferred_languages).map_err(anyhow::Error::from)?),
        is_active: Set(user.is_active),
        origin: Set(user.origin.as_str().to_owned()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
        last_seen_at: Set(user.last_seen_at),
        associated_at: Set(user.associated_at),
        expires_unassociated: Set(user.expires_unassociated),
        signed_up_at: Set(user.signed_up_at),
        to_be_retained: Set(user.to_be_retained),
        authenticated: Set(user.authenticated),
        member_email_id: Set(member.email_id),
        member_email_norm: Set(member.email_norm),
        member_org_user_id: Set(member.org_user_id),
        member_activation: Set(member.activation),
        member_attributes: Set(member.attributes),
        deleting_since: NotSet,
    })
}
