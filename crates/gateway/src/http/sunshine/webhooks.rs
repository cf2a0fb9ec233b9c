//! Sunshine's webhook triggers and the envelope each delivery is posted in:
//! `{app: {id}, webhook: {id, version: "v2"}, events: [{id, type, createdAt, payload}]}`.

use proto::events::v1 as events;
use serde_json::{Value, json};

use super::resource;
use crate::clients::PublicBase;

/// Sunshine's triggers and the Roster events they carry.
pub const TRIGGERS: [(&str, &str); 5] = [
    ("user:update", "user.updated"),
    ("user:remove", "user.deleted"),
    ("conversation:create", "conversation.created"),
    ("conversation:join", "participant.joined"),
    ("conversation:leave", "participant.left"),
];

/// `{id, externalId, authenticated}`: the user as Sunshine sends it without `includeFullUser`.
fn truncated(user: &proto::registry::v1::User) -> Value {
    let mut value = json!({ "id": user.id, "authenticated": user.authenticated });
    if let Some(external_id) = user.external_id.as_ref().filter(|e| !e.is_empty()) {
        value["externalId"] = external_id.clone().into();
    }
    value
}

/// The body of a delivery to `subscription`; `None` for an event Sunshine has no trigger for.
pub fn delivery_body(event: &events::Event, subscription: &events::Subscription, base: &PublicBase) -> Option<Value> {
    let (trigger, _) = TRIGGERS.iter().find(|(_, t)| *t == event.r#type)?;
    let attributes: Value = serde_json::from_str(&subscription.attributes_json).unwrap_or_default();
    let full_user = attributes["includeFullUser"].as_bool().unwrap_or(false);
    let user = |u: &proto::registry::v1::User| {
        if full_user { serde_json::to_value(resource::user(u.clone(), base)).unwrap_or_default() } else { truncated(u) }
    };
    let payload = match event.r#type.as_str() {
        "user.updated" => json!({ "user": user(event.user.as_ref()?) }),
        "user.deleted" => json!({ "user": truncated(event.user.as_ref()?) }),
        _ => {
            let conversation = event.conversation.as_ref()?;
            let metadata: Value = serde_json::from_str(&conversation.metadata_json).unwrap_or_else(|_| json!({}));
            let kind = if conversation.kind() == proto::context::v1::ConversationKind::Group {
                "sdkGroup"
            } else {
                "personal"
            };
            let mut payload = json!({ "conversation": { "id": conversation.id, "type": kind, "metadata": metadata } });
            if let Some(u) = event.user.as_ref() {
                payload["user"] = if event.r#type == "conversation.created" { user(u) } else { truncated(u) };
            }
            payload
        }
    };
    Some(json!({
        "app": { "id": event.app_id },
        "webhook": { "id": subscription.id, "version": "v2" },
        "events": [{
            "id": event.id,
            "type": trigger,
            "createdAt": platform::time::iso8601_millis(event.occurred_at),
            "payload": payload,
        }],
    }))
}
