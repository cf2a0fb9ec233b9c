//! Events written in the transaction of the change they describe, for the relay to publish
//! (`store/outbox.rs`). Each carries the user after the change, encoded as it is published
//! (`roster.registry.v1.User`): the outbox is the wire's first stop, so it holds the wire's bytes.

use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::{entity::outbox_events as outbox, sql::rows_per_statement};
use crate::{
    app::StoreError,
    domain::{Activation, AppId, DeletionReason, User},
};

/// Columns bound per outbox row (the sequence is the database's).
const COLUMNS: usize = 8;

fn event(user: &User, kind: &str, payload: serde_json::Value, at: i64) -> outbox::ActiveModel {
    outbox::ActiveModel {
        id: Set(platform::ids::new_id()),
        app_id: Set(user.app_id.as_str().to_owned()),
        kind: Set(kind.to_owned()),
        subject_id: Set(user.id.as_str().to_owned()),
        payload: Set(payload.to_string()),
        resource: Set(Some(crate::grpc::snapshot(user))),
        created_at: Set(at),
        delivered_at: Set(None),
        ..Default::default()
    }
}

fn ids(user: &User) -> serde_json::Value {
    serde_json::json!({ "id": user.id.as_str(), "user_id": user.user_id.as_str() })
}

async fn insert(conn: &impl ConnectionTrait, events: Vec<outbox::ActiveModel>) -> Result<(), StoreError> {
    for chunk in events.chunks(rows_per_statement(COLUMNS)) {
        outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unexpected)?;
    }
    Ok(())
}

/// "user.created" for each user, and "member.activation_requested" for each member whose
/// activation is pending (the email travels in the user, never in the payload's ids), in as few
/// multi-row INSERTs as the backend's parameter limit allows.
pub(super) async fn record_created(conn: &impl ConnectionTrait, users: &[User]) -> Result<(), StoreError> {
    insert(conn, created(users)).await
}

/// The outbox INSERT of `user`'s creation events, to be run as part of another statement.
pub(super) fn created_statement(user: &User) -> sea_orm::sea_query::InsertStatement {
    use sea_orm::QueryTrait;
    outbox::Entity::insert_many(created(std::slice::from_ref(user))).into_query()
}

fn created(users: &[User]) -> Vec<outbox::ActiveModel> {
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        let mut payload = ids(user);
        payload["origin"] = user.origin.as_str().into();
        events.push(event(user, "user.created", payload, user.created_at));
        if user.member.as_ref().is_some_and(|m| m.activation == Activation::Pending) {
            events.push(event(user, "member.activation_requested", ids(user), user.created_at));
        }
    }
    events
}

/// "user.updated" for `user` as it is after the change, preceded by "user.deactivated" or
/// "user.reactivated" when the change flipped its active state (`was_active`).
pub(super) async fn record_updated(
    conn: &impl ConnectionTrait,
    user: &User,
    was_active: bool,
    now: i64,
) -> Result<(), StoreError> {
    let mut events = Vec::with_capacity(2);
    match (was_active, user.is_active) {
        (true, false) => events.push(event(user, "user.deactivated", ids(user), now)),
        (false, true) => events.push(event(user, "user.reactivated", ids(user), now)),
        _ => {}
    }
    events.push(event(user, "user.updated", ids(user), now));
    insert(conn, events).await
}

/// "user.deleted" for each user deleted at `now`, in the deleting transaction: the user as it was,
/// ids only (whatever else it held is gone, erasure or not), and why.
pub(super) async fn record_deleted(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    deleted: &[Deleted],
    reason: DeletionReason,
    now: i64,
) -> Result<(), StoreError> {
    let events = deleted
        .iter()
        .map(|d| {
            let user = proto::registry::v1::User {
                id: d.id.clone(),
                app_id: app_id.as_str().to_owned(),
                user_id: d.user_id.clone(),
                external_id: d.external_id.clone(),
                ..Default::default()
            };
            let payload = serde_json::json!({ "id": d.id, "user_id": d.user_id, "detail": reason.as_str() });
            outbox::ActiveModel {
                id: Set(platform::ids::new_id()),
                app_id: Set(app_id.as_str().to_owned()),
                kind: Set("user.deleted".to_owned()),
                subject_id: Set(d.id.clone()),
                payload: Set(payload.to_string()),
                resource: Set(Some(prost::Message::encode_to_vec(&user))),
                created_at: Set(now),
                delivered_at: Set(None),
                ..Default::default()
            }
        })
        .collect();
    insert(conn, events).await
}

/// The ids of a deleted user, as the deleting statement returned them.
#[derive(Debug, Clone)]
pub(super) struct Deleted {
    pub id: String,
    pub user_id: String,
    pub external_id: Option<String>,
}
