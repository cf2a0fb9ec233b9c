//! Data-subject requests as rows: registered, claimed by a worker under a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, the write lock on SQLite), finished with their subjects cleared.

use std::collections::BTreeMap;

use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, LockBehavior, LockType, Query},
};
use serde_json::{Value, json};

use super::{entity::privacy_requests as requests, rows::parse_id};
use crate::{
    app::{PrivacyOutcome, StoreError},
    domain::{
        AppId, EmailId, ExportRef, ExternalId, Lookup, OrgUserId, PrivacyAction, PrivacyRequest, PrivacyStatus,
        RosterId, Subject, UserId,
    },
};

fn encode_subjects(subjects: &[Subject]) -> String {
    let list: Vec<Value> = subjects
        .iter()
        .map(|subject| match subject {
            Subject::User(Lookup::Id(id)) => json!({ "id": id.as_str() }),
            Subject::User(Lookup::UserId(user_id)) => json!({ "user_id": user_id.as_str() }),
            Subject::User(Lookup::ExternalId(external_id)) => json!({ "external_id": external_id.as_str() }),
            Subject::User(Lookup::MemberEmail(email_id)) => json!({ "member_email_id": email_id.as_str() }),
            Subject::User(Lookup::OrgUserId(org_user_id)) => json!({ "org_user_id": org_user_id.as_str() }),
            Subject::Email(email) => json!({ "email": email }),
        })
        .collect();
    Value::Array(list).to_string()
}

fn decode_subjects(text: &str) -> anyhow::Result<Vec<Subject>> {
    let list: Vec<BTreeMap<String, String>> = serde_json::from_str(text)?;
    list.into_iter()
        .map(|entry| {
            let (key, value) = entry.into_iter().next().ok_or_else(|| anyhow::anyhow!("an empty subject"))?;
            Ok(match key.as_str() {
                "id" => Subject::User(Lookup::Id(RosterId::parse(value)?)),
                "user_id" => Subject::User(Lookup::UserId(UserId::parse(value)?)),
                "external_id" => Subject::User(Lookup::ExternalId(ExternalId::parse(value)?)),
                "member_email_id" => Subject::User(Lookup::MemberEmail(EmailId::parse(value)?)),
                "org_user_id" => Subject::User(Lookup::OrgUserId(
                    OrgUserId::parse(Some(value))?.ok_or_else(|| anyhow::anyhow!("an empty org user id"))?,
                )),
                "email" => Subject::Email(value),
                other => anyhow::bail!("a subject of kind {other}"),
            })
        })
        .collect()
}

fn into_request(row: requests::Model) -> Result<PrivacyRequest, StoreError> {
    let invalid = |what: &str| StoreError::Unexpected(anyhow::anyhow!("stored privacy request {}: {what}", row.id));
    Ok(PrivacyRequest {
        id: parse_id(row.id.clone())?,
        app_id: AppId::parse(row.app_id.clone()).map_err(|_| invalid("app id"))?,
        action: PrivacyAction::parse(&row.action).ok_or_else(|| invalid("action"))?,
        status: PrivacyStatus::parse(&row.status).ok_or_else(|| invalid("status"))?,
        subjects: row.subjects.as_deref().map(decode_subjects).transpose()?.unwrap_or_default(),
        options: serde_json::from_str(&row.options).map_err(anyhow::Error::from)?,
        users: u32::try_from(row.users).unwrap_or_default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        export: row.export_key.zip(row.export_expires_at).map(|(key, expires_at)| ExportRef { key, expires_at }),
    })
}

pub(super) async fn create(db: &DatabaseConnection, request: &PrivacyRequest) -> Result<(), StoreError> {
    let row = requests::ActiveModel {
        id: Set(request.id.as_str().to_owned()),
        app_id: Set(request.app_id.as_str().to_owned()),
        action: Set(request.action.as_str().to_owned()),
        status: Set(request.status.as_str().to_owned()),
        subjects: Set(Some(encode_subjects(&request.subjects))),
        options: Set(serde_json::to_string(&request.options).map_err(anyhow::Error::from)?),
        users: Set(0),
        created_at: Set(request.created_at),
        updated_at: Set(request.updated_at),
        claimed_until: Set(None),
        attempts: Set(0),
        export: Set(None),
        export_key: Set(None),
        export_expires_at: Set(None),
    };
    requests::Entity::insert(row).exec_without_returning(db).await.map_err(unexpected)?;
    Ok(())
}

fn of_app(app_id: &AppId) -> Condition {
    Condition::all().add(requests::Column::AppId.eq(app_id.as_str()))
}

pub(super) async fn find(
    db: &DatabaseConnection,
    app_id: &AppId,
    id: &RosterId,
) -> Result<Option<PrivacyRequest>, StoreError> {
    let row = requests::Entity::find_by_id(id.as_str()).filter(of_app(app_id)).one(db).await.map_err(unexpected)?;
    row.map(into_request).transpose()
}

pub(super) async fn list(
    db: &DatabaseConnection,
    app_id: &AppId,
    after: Option<&RosterId>,
    limit: u64,
) -> Result<Vec<PrivacyRequest>, StoreError> {
    let mut query = requests::Entity::find().filter(of_app(app_id)).order_by_asc(requests::Column::Id).limit(limit);
    if let Some(after) = after {
        query = query.filter(requests::Column::Id.gt(after.as_str()));
    }
    query.all(db).await.map_err(unexpected)?.into_iter().map(into_request).collect()
}

/// Cancels a request no worker holds; `None` when there is no such request, the request as it
/// is when it can no longer be cancelled (held by a worker, or ended).
pub(super) async fn cancel(
    db: &DatabaseConnection,
    app_id: &AppId,
    id: &RosterId,
    now: i64,
) -> Result<Option<(PrivacyRequest, bool)>, StoreError> {
    let cancelled = requests::Entity::update_many()
        .col_expr(requests::Column::Status, Expr::value(PrivacyStatus::Cancelled.as_str()))
        .col_expr(requests::Column::Subjects, Expr::value(Option::<String>::None))
        .col_expr(requests::Column::UpdatedAt, Expr::value(now))
        .filter(of_app(app_id))
        .filter(requests::Column::Id.eq(id.as_str()))
        .filter(requests::Column::Status.eq(PrivacyStatus::Processing.as_str()))
        .filter(
            Condition::any().add(requests::Column::ClaimedUntil.is_null()).add(requests::Column::ClaimedUntil.lt(now)),
        )
        .exec(db)
        .await
        .map_err(unexpected)?;
    Ok(find(db, app_id, id).await?.map(|request| (request, cancelled.rows_affected == 1)))
}

/// Takes the oldest open request no live lease holds, until `lease_until`; answers it and the
/// number of times it was taken (this one included).
pub(super) async fn claim(
    db: &DatabaseConnection,
    now: i64,
    lease_until: i64,
) -> Result<Option<(PrivacyRequest, u32)>, StoreError> {
    let open = requests::Entity::find()
        .select_only()
        .column(requests::Column::Id)
        .filter(requests::Column::Status.eq(PrivacyStatus::Processing.as_str()))
        .filter(
            Condition::any().add(requests::Column::ClaimedUntil.is_null()).add(requests::Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(requests::Column::CreatedAt)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let mut claim = Query::update();
    claim
        .table(requests::Entity)
        .value(requests::Column::ClaimedUntil, lease_until)
        .value(requests::Column::Attempts, Expr::col(requests::Column::Attempts).add(1))
        .and_where(requests::Column::Id.in_subquery(open))
        .returning(Query::returning().column(requests::Column::Id));
    let Some(row) = db.query_one(db.get_database_backend().build(&claim)).await.map_err(unexpected)? else {
        return Ok(None);
    };
    let id: String = row.try_get_by_index(0).map_err(unexpected)?;
    let row = requests::Entity::find_by_id(id).one(db).await.map_err(unexpected)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let attempts = u32::try_from(row.attempts).unwrap_or_default();
    Ok(Some((into_request(row)?, attempts)))
}

/// Ends a request the lease `claimed_until` still holds: its outcome recorded, its subjects
/// cleared. False when the lease was lost (another worker took the request over).
pub(super) async fn finish(
    db: &DatabaseConnection,
    id: &RosterId,
    claimed_until: i64,
    outcome: PrivacyOutcome,
    now: i64,
) -> Result<bool, StoreError> {
    let mut update = requests::Entity::update_many()
        .col_expr(requests::Column::Subjects, Expr::value(Option::<String>::None))
        .col_expr(requests::Column::ClaimedUntil, Expr::value(Option::<i64>::None))
        .col_expr(requests::Column::UpdatedAt, Expr::value(now));
    update = match outcome {
        PrivacyOutcome::Done { users, export } => {
            let update = update
                .col_expr(requests::Column::Status, Expr::value(PrivacyStatus::Done.as_str()))
                .col_expr(requests::Column::Users, Expr::value(i32::try_from(users).unwrap_or(i32::MAX)));
            match export {
                Some((bytes, ExportRef { key, expires_at })) => update
                    .col_expr(requests::Column::Export, Expr::value(bytes))
                    .col_expr(requests::Column::ExportKey, Expr::value(key))
                    .col_expr(requests::Column::ExportExpiresAt, Expr::value(expires_at)),
                None => update,
            }
        }
        PrivacyOutcome::Failed => {
            update.col_expr(requests::Column::Status, Expr::value(PrivacyStatus::Failed.as_str()))
        }
    };
    let finished = update
        .filter(requests::Column::Id.eq(id.as_str()))
        .filter(requests::Column::ClaimedUntil.eq(claimed_until))
        .exec(db)
        .await
        .map_err(unexpected)?;
    Ok(finished.rows_affected == 1)
}

/// Gives a request back for a later pass (its work so far stays done: erasing is idempotent).
pub(super) async fn release(db: &DatabaseConnection, id: &RosterId, claimed_until: i64) -> Result<(), StoreError> {
    requests::Entity::update_many()
        .col_expr(requests::Column::ClaimedUntil, Expr::value(Option::<i64>::None))
        .filter(requests::Column::Id.eq(id.as_str()))
        .filter(requests::Column::ClaimedUntil.eq(claimed_until))
        .exec(db)
        .await
        .map_err(unexpected)?;
    Ok(())
}

/// An export by its request and key, while it lasts.
pub(super) async fn find_export(
    db: &DatabaseConnection,
    app_id: &AppId,
    id: &RosterId,
    key: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let export: Option<Option<Vec<u8>>> = requests::Entity::find_by_id(id.as_str())
        .select_only()
        .column(requests::Column::Export)
        .filter(of_app(app_id))
        .filter(requests::Column::ExportKey.eq(key))
        .filter(requests::Column::ExportExpiresAt.gt(now))
        .into_tuple()
        .one(db)
        .await
        .map_err(unexpected)?;
    Ok(export.flatten())
}

/// Drops the exports past their expiry: personal data kept no longer than promised.
pub(super) async fn purge_exports(db: &DatabaseConnection, now: i64) -> Result<u64, StoreError> {
    let purged = requests::Entity::update_many()
        .col_expr(requests::Column::Export, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(requests::Column::ExportKey, Expr::value(Option::<String>::None))
        .col_expr(requests::Column::ExportExpiresAt, Expr::value(Option::<i64>::None))
        .filter(requests::Column::ExportExpiresAt.lte(now))
        .exec(db)
        .await
        .map_err(unexpected)?;
    Ok(purged.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip() {
        let subjects = vec![
            Subject::User(Lookup::Id(RosterId::generate())),
            Subject::User(Lookup::UserId(UserId::parse("jacob".into()).unwrap())),
            Subject::User(Lookup::ExternalId(ExternalId::parse("crm/42".into()).unwrap())),
            Subject::User(Lookup::MemberEmail(EmailId::parse("Jacob@Example.com".into()).unwrap())),
            Subject::User(Lookup::OrgUserId(OrgUserId::parse(Some("u-7".into())).unwrap().unwrap())),
            Subject::Email("a@example.com".into()),
        ];
        assert_eq!(decode_subjects(&encode_subjects(&subjects)).unwrap(), subjects);
        assert!(decode_subjects("[{\"phone\":\"1\"}]").is_err());
    }
}
