//! Users as plain values. Every value is made by a `parse` that refuses bad input, so the rest
//! of the service only ever holds valid ones.

mod identity;
mod image;
mod member;
mod metadata;
mod privacy;
mod profile;
mod user;

pub use identity::{Identity, parse_instant};
pub use image::{ImageType, ProfileImage};
pub use member::{Activation, BotTask, EmailId, GroupId, Member, OrgUserId, RoleBinding};
pub use metadata::{MetaValue, Metadata, SensitiveFields};
pub use privacy::{ExportRef, MAX_SUBJECTS, PrivacyAction, PrivacyRequest, PrivacyStatus, Subject};
pub use profile::Profile;
pub use user::{
    DiscoveryKey, ExternalId, Lookup, MetadataWrite, NewUser, Nickname, Origin, ProfileUrl, RosterId, User, UserFilter,
    UserId, UserPatch, normalized_external_id, parse_languages,
};

pub use platform::{AppId, ValidationError, validation::bounded};
