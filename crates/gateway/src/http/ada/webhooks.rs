//! Ada's webhook events: the event names and the body of each delivery, as Ada (through Svix)
//! sends them: `{type, timestamp, data}` and, for end-user events, `tags` naming the end user.

use proto::events::v1 as events;
use serde_json::{Value, json};

use super::end_users;
use crate::clients::PublicBase;

/// Ada's event names and the Roster events they carry.
pub const EVENT_TYPES: [(&str, &str); 4] = [
    ("v1.end_user.created", "user.created"),
    ("v1.end_user.updated", "user.updated"),
    ("v1.conversation.created", "conversation.created"),
    ("v1.conversation.ended", "conversation.ended"),
];

/// The body of a delivery; `None` for an event Ada has no name for.
pub fn delivery_body(event: &events::Event, base: &PublicBase) -> Option<Value> {
    let (name, _) = EVENT_TYPES.iter().find(|(_, t)| *t == event.r#type)?;
    let timestamp = platform::time::iso8601_offset(event.occurred_at);
    match event.r#type.as_str() {
        "user.created" | "user.updated" => {
            let user = event.user.clone()?;
            let end_user_id = user.id.clone();
            let data = serde_json::to_value(end_users::resource(user, base)).ok()?;
            Some(json!({ "type": name, "timestamp": timestamp, "data": data, "tags": [end_user_id] }))
        }
        _ => {
            let conversation = event.conversation.as_ref()?;
            let time = |t: &Option<proto::Timestamp>| {
                t.as_ref().map(|t| platform::time::iso8601_offset(proto::timestamp_to_millis(t)))
            };
            let metadata: Value = serde_json::from_str(&conversation.metadata_json).unwrap_or_else(|_| json!({}));
            let mut data = json!({
                "conversation_id": conversation.id,
                "channel_id": conversation.channel_id,
                "end_user_id": event.user.as_ref().map(|u| u.id.clone()),
                "created_at": time(&conversation.created_at),
                "metadata": metadata,
            });
            if event.r#type == "conversation.ended" {
                data["updated_at"] = time(&conversation.updated_at).into();
                data["ended_by"] = json!({ "id": event.detail, "role": "system" });
            }
            Some(json!({ "type": name, "timestamp": timestamp, "data": data }))
        }
    }
}
