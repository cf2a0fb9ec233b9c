//! Events written in the transaction of the change they describe, for webhook delivery to read.

use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::{entity::outbox_events as outbox, sql::rows_per_statement};
use crate::{
    app::StoreError,
    domain::{Activation, User},
};

fn event(user: &User, kind: &str, payload: serde_json::Value) -> outbox::ActiveModel {
    outbox::ActiveModel {
        id: Set(platform::ids::new_id()),
        app_id: Set(user.app_id.as_str().to_owned()),
        kind: Set(kind.to_owned()),
        subject_id: Set(user.id.as_str().to_owned()),
        payload: Set(payload.to_string()),
        created_at: Set(user.created_at),
        delivered_at: Set(None),
    }
}

/// "user.created" for each user, and "member.activation_requested" for each member whose
/// activation is pending (ids only: an email never enters the outbox), in as few multi-row
/// INSERTs as the backend's parameter limit allows.
pub(super) async fn record_created(conn: &impl ConnectionTrait, users: &[User]) -> Result<(), StoreError> {
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        events.push(event(
            user,
            "user.created",
            serde_json::json!({
                "id": user.id.as_str(),
                "user_id": user.user_id.as_str(),
                "origin": user.origin.as_str(),
                "expires_unassociated": user.expires_unassociated,
            }),
        ));
        if user.member.as_ref().is_some_and(|m| m.activation == Activation::Pending) {
            let payload = serde_json::json!({ "id": user.id.as_str(), "user_id": user.user_id.as_str() });
            events.push(event(user, "member.activation_requested", payload));
        }
    }
    for chunk in events.chunks(rows_per_statement(7)) {
        outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unexpected)?;
    }
    Ok(())
}

/// "user.deleted" for each user deleted at `now`, in the deleting transaction (`reason`: an
/// explicit delete, the reaper, an erasure request).
pub(super) async fn record_deleted(
    conn: &impl ConnectionTrait,
    app_id: &crate::domain::AppId,
    ids: &[crate::domain::RosterId],
    now: i64,
) -> Result<(), StoreError> {
    let events: Vec<outbox::ActiveModel> = ids
        .iter()
        .map(|id| outbox::ActiveModel {
            id: Set(platform::ids::new_id()),
            app_id: Set(app_id.as_str().to_owned()),
            kind: Set("user.deleted".to_owned()),
            subject_id: Set(id.as_str().to_owned()),
            payload: Set(serde_json::json!({ "id": id.as_str() }).to_string()),
            created_at: Set(now),
            delivered_at: Set(None),
        })
        .collect();
    for chunk in events.chunks(rows_per_statement(7)) {
        outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unexpected)?;
    }
    Ok(())
}
