//! The unique indexes whose violations mean something to a caller, and the mapping of a write
//! error by the one it violated. The migrations that made these indexes keep their own copies of
//! the names: renaming one here takes a new migration.

use platform::db::{UniqueIndex, unexpected};
use sea_orm::DbErr;

use crate::app::StoreError;

const USER_ID_KEY: UniqueIndex =
    UniqueIndex { name: "users_app_user_id_key", table: "users", columns: &["app_id", "user_id"] };
const EXTERNAL_ID_KEY: UniqueIndex =
    UniqueIndex { name: "users_app_external_id_key", table: "users", columns: &["app_id", "external_id_norm"] };
const DISCOVERY_KEY: UniqueIndex = UniqueIndex {
    name: "user_discovery_keys_pkey",
    table: "user_discovery_keys",
    columns: &["app_id", "discovery_key"],
};
const IDENTITY_KEY: UniqueIndex = UniqueIndex {
    name: "user_identities_pkey",
    table: "user_identities",
    columns: &["app_id", "channel_type", "value_digest"],
};
const MEMBER_EMAIL_KEY: UniqueIndex =
    UniqueIndex { name: "users_app_member_email_key", table: "users", columns: &["app_id", "member_email_norm"] };
const ORG_USER_ID_KEY: UniqueIndex = UniqueIndex {
    name: "users_app_member_org_user_id_key",
    table: "users",
    columns: &["app_id", "member_org_user_id"],
};

/// The users' primary key: only a restored user brings its own id.
const USER_PK: UniqueIndex = UniqueIndex { name: "users_pkey", table: "users", columns: &["id"] };

/// Every unique index `write_error` maps, for a test that holds the names to the schema the
/// migrations made.
pub const UNIQUE_KEYS: [UniqueIndex; 6] =
    [USER_ID_KEY, EXTERNAL_ID_KEY, DISCOVERY_KEY, IDENTITY_KEY, MEMBER_EMAIL_KEY, ORG_USER_ID_KEY];

/// Maps a write error by the constraint it violated.
pub(super) fn write_error(err: DbErr) -> StoreError {
    if USER_PK.is_violated_by(&err) {
        StoreError::IdTaken
    } else if USER_ID_KEY.is_violated_by(&err) {
        StoreError::UserIdTaken
    } else if EXTERNAL_ID_KEY.is_violated_by(&err) {
        StoreError::ExternalIdTaken
    } else if DISCOVERY_KEY.is_violated_by(&err) {
        StoreError::DiscoveryKeyTaken
    } else if IDENTITY_KEY.is_violated_by(&err) {
        StoreError::IdentityTaken
    } else if MEMBER_EMAIL_KEY.is_violated_by(&err) {
        StoreError::MemberEmailTaken
    } else if ORG_USER_ID_KEY.is_violated_by(&err) {
        StoreError::OrgUserIdTaken
    } else {
        StoreError::Unexpected(unexpected(err))
    }
}
