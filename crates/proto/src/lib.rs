//! Generated code for Roster's four gRPC APIs (`proto/roster/*/v1`), with the timestamp
//! conversions and the one mapping between messages (an export back into a restore).
//! Services and the gateway name these types only at their edges (`grpc/convert.rs`).

// Generated code: a oneof holding a whole message is as prost writes it.
#![allow(clippy::large_enum_variant)]

pub mod registry {
    pub mod v1 {
        tonic::include_proto!("roster.registry.v1");
    }
}

pub mod token {
    pub mod v1 {
        tonic::include_proto!("roster.token.v1");
    }
}

pub mod context {
    pub mod v1 {
        tonic::include_proto!("roster.context.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("roster.events.v1");
    }
}

/// An exported user as RestoreUsers takes it back, field for field. An uploaded profile image
/// travels apart (ExportUsers gives its URL, GetProfileImage its bytes); the URL is dropped when
/// it names the image stored by the exporting Roster (`/profile_images/...`).
impl From<registry::v1::ExportedUser> for registry::v1::RestoreRecord {
    fn from(exported: registry::v1::ExportedUser) -> Self {
        let registry::v1::ExportedUser { user, sensitive_metadata } = exported;
        let registry::v1::User {
            id,
            app_id: _,
            user_id,
            external_id,
            nickname,
            profile_url,
            profile,
            metadata,
            discovery_keys,
            preferred_languages,
            is_active,
            origin,
            created_at,
            updated_at,
            last_seen_at,
            associated_at,
            authenticated,
            identities,
            member,
            signed_up_at,
            to_be_retained,
            expires_unassociated,
        } = user.unwrap_or_default();
        let stored_image = profile_url.starts_with("/profile_images/");
        let mut profile = profile;
        if stored_image && let Some(profile) = profile.as_mut() {
            profile.avatar_url = None;
        }
        Self {
            user: Some(registry::v1::NewUser {
                user_id: Some(user_id),
                external_id,
                nickname,
                profile_url: if stored_image { String::new() } else { profile_url },
                profile,
                metadata,
                discovery_keys,
                preferred_languages,
                origin,
                sensitive_metadata,
                member,
                profile_image: None,
                expires_unassociated,
                signed_up_at,
                to_be_retained,
                identities,
            }),
            id,
            created_at,
            updated_at,
            last_seen_at,
            associated_at,
            is_active,
            authenticated,
        }
    }
}

/// Encoded `FileDescriptorSet` of every Roster proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/roster_descriptor.bin"));

pub use prost_types::Timestamp;

/// Milliseconds since the Unix epoch as a protobuf `Timestamp`.
pub fn timestamp_from_millis(ms: i64) -> Timestamp {
    Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

/// A protobuf `Timestamp` as milliseconds since the Unix epoch, saturating rather than
/// overflowing on absurd values (callers then refuse them as out of range).
pub fn timestamp_to_millis(ts: &Timestamp) -> i64 {
    ts.seconds.saturating_mul(1000).saturating_add(i64::from(ts.nanos) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_the_epoch() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1, -1001] {
            assert_eq!(timestamp_to_millis(&timestamp_from_millis(ms)), ms);
        }
        assert_eq!(timestamp_to_millis(&Timestamp { seconds: i64::MAX, nanos: 0 }), i64::MAX);
    }
}
