//! Generated code for Roster's four gRPC APIs (`proto/roster/*/v1`), nothing else.
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
