//! Users as plain values. Every value is made by a `parse` that refuses bad input, so the rest
//! of the service only ever holds valid ones.

mod details;
mod directory;
mod identity;
mod image;
mod member;
mod member_patch;
mod metadata;
mod privacy;
mod profile;
mod user;

pub use details::{Detail, Details};
pub use directory::{GroupMember, GroupPage, MemberGroup, RoleKind, RolePage};
pub use identity::{Identity, parse_instant};
pub use image::{ImageType, ProfileImage};
pub use member::{Activation, BotTask, EmailId, GroupId, Member, OrgUserId, RoleBinding};
pub use member_patch::{BotTaskChange, MemberPatch};
pub use metadata::{MetaValue, Metadata, SensitiveFields};
pub use privacy::{ExportRef, MAX_SUBJECTS, PrivacyAction, PrivacyRequest, PrivacyStatus, Subject};
pub use profile::Profile;
pub use user::{
    DeletionReason, DiscoveryKey, ExternalId, Kept, Lookup, MetadataWrite, NewUser, Nickname, Origin, ProfileUrl,
    RosterId, User, UserFilter, UserId, UserPatch, normalized_external_id, parse_languages,
};

pub use platform::{AppId, ValidationError, validation::bounded};
