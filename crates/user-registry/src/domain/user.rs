use super::{
    AppId, EmailId, Identity, Member, Metadata, OrgUserId, Profile, ProfileImage, SensitiveFields, ValidationError,
    bounded,
};

/// The immutable Roster id: 24 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RosterId(String);

impl RosterId {
    pub fn generate() -> Self {
        Self(platform::ids::new_id())
    }

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if !platform::ids::is_id(&value) {
            return Err(ValidationError::Invalid { field: "id", reason: "must be 24 lowercase hex characters" });
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The caller-chosen user id (Sendbird's `user_id`): 1 to 80 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Missing { field: "user_id" });
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::Invalid { field: "user_id", reason: "must not contain control characters" });
        }
        bounded("user_id", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&RosterId> for UserId {
    fn from(id: &RosterId) -> Self {
        Self(id.0.clone())
    }
}

/// `ExternalId::normalized` of a stored value (also used by the migrations that rewrote stored
/// forms). Unicode compatibility-normalised (NFKC), lower-cased, and normalised again, so one id
/// is one id however it was typed: "é" composed or as "e" and a combining accent, the Kelvin
/// sign and "K", full-width and ASCII digits. ("ß" and "ss" stay two ids: lower-casing is not
/// full case folding.) Done here, in Rust, so SQLite and PostgreSQL compare alike.
pub fn normalized_external_id(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = value.nfkc().collect::<String>().to_lowercase().nfkc().collect();
    if lower.len() <= ExternalId::MAX_INDEXED_BYTES {
        lower
    } else {
        format!("sha256:{}", platform::secret::hash_secret(&lower))
    }
}

/// An id from the customer's own system, unique per application, compared case-insensitively
/// after Unicode normalisation (`normalized_external_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Missing { field: "external_id" });
        }
        bounded("external_id", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Longest lower-case form kept as it is; longer ones are indexed by digest, because a
    /// PostgreSQL index entry holds at most ~2.7 KB and 1,024 characters can be 4 KB of UTF-8.
    pub const MAX_INDEXED_BYTES: usize = 512;

    /// The form uniqueness is decided on: the lower-case id, or for a long one `sha256:` and
    /// the digest of its lower-case form.
    pub fn normalized(&self) -> String {
        normalized_external_id(&self.0)
    }
}

/// The name a user is shown by: Sendbird's `nickname`, Ada's `display_name`. As long as the
/// longest dialect allows (Ada and Sunshine's 128); Sendbird's 80 is checked at its edge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nickname(String);

impl Nickname {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        bounded("nickname", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name a user without one is shown by: the given and family names joined, as far as
    /// they fit.
    pub fn from_names(profile: &Profile) -> Self {
        let names: Vec<&str> =
            [&profile.given_name, &profile.surname].into_iter().flatten().map(String::as_str).collect();
        Self(names.join(" ").chars().take(Self::MAX_CHARS).collect())
    }
}

/// A profile image URL (Sendbird's `profile_url`, Ada's `avatar`, Sunshine's `avatarUrl`); empty
/// means none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileUrl(String);

impl ProfileUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        bounded("profile_url", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key other users find this user by (a phone number, an email hash), unique per application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscoveryKey(String);

impl DiscoveryKey {
    pub const MAX_CHARS: usize = 256;
    pub const MAX_PER_USER: usize = 100;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Invalid { field: "discovery_keys", reason: "keys must not be empty" });
        }
        bounded("discovery_keys", value, Self::MAX_CHARS).map(Self)
    }

    /// A set of keys: duplicates collapse, at most `MAX_PER_USER`.
    pub fn parse_all(values: Vec<String>) -> Result<Vec<Self>, ValidationError> {
        let mut keys = values.into_iter().map(Self::parse).collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        keys.dedup();
        if keys.len() > Self::MAX_PER_USER {
            return Err(ValidationError::Invalid { field: "discovery_keys", reason: "has more than 100 keys" });
        }
        Ok(keys)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// BCP 47 tags the user prefers, most preferred first, at most 10.
pub fn parse_languages(values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if values.len() > 10 {
        return Err(ValidationError::Invalid { field: "preferred_languages", reason: "has more than 10 languages" });
    }
    values.into_iter().map(|v| platform::validation::language_tag("preferred_languages", v)).collect()
}

/// Why a user was deleted, as its "user.deleted" event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// A caller deleted it (any dialect, or gRPC).
    Api,
    /// The reaper: never associated with a conversation within the application's lifetime.
    Reaper,
    /// A data-subject erasure request.
    Erasure,
}

impl DeletionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Reaper => "reaper",
            Self::Erasure => "erasure",
        }
    }
}

/// How the user record came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    #[default]
    Api,
    Bulk,
    Login,
    Conversation,
    Channel,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Bulk => "bulk",
            Self::Login => "login",
            Self::Conversation => "conversation",
            Self::Channel => "channel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api" => Self::Api,
            "bulk" => Self::Bulk,
            "login" => Self::Login,
            "conversation" => Self::Conversation,
            "channel" => Self::Channel,
            _ => return None,
        })
    }
}

/// Which key a caller names a user by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Id(RosterId),
    UserId(UserId),
    ExternalId(ExternalId),
    /// Members only, by email id compared case-insensitively.
    MemberEmail(EmailId),
    /// Members only.
    OrgUserId(OrgUserId),
}

/// What a caller asks to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub user_id: Option<UserId>,
    pub external_id: Option<ExternalId>,
    pub nickname: Nickname,
    pub profile_url: ProfileUrl,
    pub profile: Profile,
    pub metadata: Metadata,
    pub discovery_keys: Vec<DiscoveryKey>,
    pub preferred_languages: Vec<String>,
    pub origin: Origin,
    /// Takes the place of `profile_url` when given.
    pub profile_image: Option<ProfileImage>,
    /// Sealed at rest, never part of the `User`.
    pub sensitive: SensitiveFields,
    /// Deleted by the reaper when never associated with a conversation in time.
    pub expires_unassociated: bool,
    /// When the user signed up in the customer's system (Sunshine's `signedUpAt`), in ms.
    pub signed_up_at: Option<i64>,
    pub to_be_retained: bool,
    /// Each unique per application.
    pub identities: Vec<Identity>,
    /// Kore.ai member attributes.
    pub member: Option<Member>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPatch {
    pub nickname: Option<Nickname>,
    pub profile_url: Option<ProfileUrl>,
    /// Replaces the whole profile.
    pub profile: Option<Profile>,
    pub is_active: Option<bool>,
    pub discovery_keys: Option<Vec<DiscoveryKey>>,
    pub preferred_languages: Option<Vec<String>>,
    pub last_seen_at: Option<i64>,
    /// `Some(None)` removes the external id.
    pub external_id: Option<Option<ExternalId>>,
    /// Replaces the image and `profile_url`.
    pub profile_image: Option<ProfileImage>,
    /// Keys written to the metadata in the same transaction, as `metadata_mode` says (merged,
    /// or the whole metadata).
    pub metadata: Option<Metadata>,
    pub metadata_mode: MetadataWrite,
    /// Keys merged into the sensitive metadata.
    pub sensitive: Option<SensitiveFields>,
    /// `Some(None)` removes the sign-up instant.
    pub signed_up_at: Option<Option<i64>>,
    pub to_be_retained: Option<bool>,
}

/// Which users a list returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFilter {
    pub is_active: Option<bool>,
    pub user_ids: Vec<UserId>,
    pub nickname: Option<String>,
    pub nickname_prefix: Option<String>,
    /// A metadata key and the string values it may have.
    pub metadata: Option<(String, Vec<String>)>,
    pub external_id: Option<ExternalId>,
    /// A profile email, compared ignoring ASCII case.
    pub email: Option<String>,
    pub origin: Option<Origin>,
}

/// How a metadata write treats keys that do or do not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataWrite {
    /// Set every key, existing or not.
    #[default]
    Upsert,
    /// Only new keys; an existing one refuses the whole write.
    Create,
    /// Only existing keys; a missing one refuses the whole write.
    Update,
    /// The given keys become the whole metadata.
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: RosterId,
    pub app_id: AppId,
    pub user_id: UserId,
    pub external_id: Option<ExternalId>,
    pub nickname: Nickname,
    pub profile_url: ProfileUrl,
    pub profile: Profile,
    pub metadata: Metadata,
    pub discovery_keys: Vec<DiscoveryKey>,
    pub preferred_languages: Vec<String>,
    pub is_active: bool,
    pub origin: Origin,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    /// When a conversation first included the user.
    pub associated_at: Option<i64>,
    pub expires_unassociated: bool,
    pub signed_up_at: Option<i64>,
    pub to_be_retained: bool,
    /// Set by a JWT login (Sunshine's `authenticated`); never cleared.
    pub authenticated: bool,
    /// Ordered by channel type, then value.
    pub identities: Vec<Identity>,
    pub member: Option<Member>,
}

impl User {
    /// A new user with a fresh id; `user_id` defaults to that id. The uploaded image and the
    /// sensitive fields, if any, come back beside the user (they are stored, not carried).
    pub fn new(app_id: AppId, new: NewUser, now: i64) -> (Self, Option<ProfileImage>, SensitiveFields) {
        let id = RosterId::generate();
        let user_id = new.user_id.unwrap_or_else(|| UserId::from(&id));
        let profile_url = match &new.profile_image {
            Some(image) => ProfileUrl(image.path(app_id.as_str(), id.as_str())),
            None => new.profile_url,
        };
        let nickname = if new.nickname.as_str().is_empty() { Nickname::from_names(&new.profile) } else { new.nickname };
        (
            Self {
                id,
                app_id,
                user_id,
                external_id: new.external_id,
                nickname,
                profile_url,
                profile: new.profile,
                metadata: new.metadata,
                discovery_keys: new.discovery_keys,
                preferred_languages: new.preferred_languages,
                is_active: true,
                origin: new.origin,
                created_at: now,
                updated_at: now,
                last_seen_at: None,
                associated_at: None,
                expires_unassociated: new.expires_unassociated,
                signed_up_at: new.signed_up_at,
                to_be_retained: new.to_be_retained,
                authenticated: false,
                identities: new.identities,
                member: new.member,
            },
            new.profile_image,
            new.sensitive,
        )
    }
}

/// What a restored user keeps of its first life (`RestoreUsers`): everything `User::new` would
/// otherwise choose.
#[derive(Debug, Clone)]
pub struct Kept {
    pub id: RosterId,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    pub associated_at: Option<i64>,
    pub is_active: bool,
    pub authenticated: bool,
}

impl User {
    /// The user `new` describes, with what it kept: its Roster id, instants, active state and
    /// authentication. `new.user_id` is required (an export always has one).
    pub fn restored(
        app_id: AppId,
        new: NewUser,
        kept: Kept,
    ) -> Result<(Self, Option<ProfileImage>, SensitiveFields), ValidationError> {
        if new.user_id.is_none() {
            return Err(ValidationError::Missing { field: "user_id" });
        }
        // As given, even empty: `new` would make one of the profile's names.
        let nickname = new.nickname.clone();
        let (user, image, sensitive) = Self::new(app_id, new, kept.created_at);
        let profile_url = match &image {
            Some(image) => ProfileUrl(image.path(user.app_id.as_str(), kept.id.as_str())),
            None => user.profile_url,
        };
        let user = Self {
            id: kept.id,
            nickname,
            profile_url,
            created_at: kept.created_at,
            updated_at: kept.updated_at,
            last_seen_at: kept.last_seen_at,
            associated_at: kept.associated_at,
            is_active: kept.is_active,
            authenticated: kept.authenticated,
            ..user
        };
        Ok((user, image, sensitive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_limits_count_characters_not_bytes() {
        assert!(UserId::parse("é".repeat(80)).is_ok());
        assert_eq!(UserId::parse("a".repeat(81)), Err(ValidationError::TooLong { field: "user_id", max: 80 }));
        assert_eq!(UserId::parse(String::new()), Err(ValidationError::Missing { field: "user_id" }));
        assert!(UserId::parse("a\u{0}b".into()).is_err());
    }

    #[test]
    fn nickname_and_profile_url_limits() {
        assert!(Nickname::parse(String::new()).is_ok());
        // A display name of Ada's or Sunshine's length; Sendbird's 80 is its edge's rule.
        assert!(Nickname::parse("n".repeat(128)).is_ok());
        assert!(Nickname::parse("n".repeat(129)).is_err());
        assert!(ProfileUrl::parse("u".repeat(2048)).is_ok());
        assert!(ProfileUrl::parse("u".repeat(2049)).is_err());
    }

    #[test]
    fn discovery_keys_collapse_and_are_bounded() {
        let keys = DiscoveryKey::parse_all(vec!["b".into(), "a".into(), "b".into()]).expect("valid");
        assert_eq!(keys.iter().map(DiscoveryKey::as_str).collect::<Vec<_>>(), ["a", "b"]);
        assert!(DiscoveryKey::parse_all(vec![String::new()]).is_err());
        assert!(DiscoveryKey::parse_all((0..101).map(|i| i.to_string()).collect()).is_err());
        assert!(parse_languages(vec!["en".into(), "ko-KR".into()]).is_ok());
        assert!(parse_languages(vec!["not a tag".into()]).is_err());
    }

    #[test]
    fn external_ids_compare_case_insensitively() {
        let a = ExternalId::parse("Crm-42".into()).expect("valid");
        let b = ExternalId::parse("CRM-42".into()).expect("valid");
        assert_ne!(a, b);
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn a_user_without_a_chosen_id_uses_its_roster_id() {
        let app = AppId::parse(platform::ids::new_id()).expect("id");
        let new = NewUser {
            user_id: None,
            external_id: None,
            nickname: Nickname::default(),
            profile_url: ProfileUrl::default(),
            profile: Profile::default(),
            metadata: Metadata::default(),
            discovery_keys: Vec::new(),
            preferred_languages: Vec::new(),
            origin: Origin::Api,
            profile_image: None,
            sensitive: SensitiveFields::default(),
            expires_unassociated: false,
            signed_up_at: None,
            to_be_retained: false,
            identities: Vec::new(),
            member: None,
        };
        let (user, image, _) = User::new(app, new, 1);
        assert!(image.is_none());
        assert_eq!(user.user_id.as_str(), user.id.as_str());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every bounded field accepts exactly the strings of at most its limit, counted in characters.
        #[test]
        fn limits_are_exact(s in "\\PC{0,120}") {
            let n = s.chars().count();
            prop_assert_eq!(Nickname::parse(s.clone()).is_ok(), n <= Nickname::MAX_CHARS);
            prop_assert_eq!(UserId::parse(s.clone()).is_ok(), (1..=UserId::MAX_CHARS).contains(&n));
            prop_assert_eq!(ProfileUrl::parse(s.clone()).is_ok(), n <= ProfileUrl::MAX_CHARS);
            prop_assert_eq!(ExternalId::parse(s.clone()).is_ok(), (1..=ExternalId::MAX_CHARS).contains(&n));
            prop_assert_eq!(DiscoveryKey::parse(s).is_ok(), (1..=DiscoveryKey::MAX_CHARS).contains(&n));
        }

        #[test]
        fn long_values_are_refused_with_their_limit(extra in 1usize..50) {
            prop_assert_eq!(
                ProfileUrl::parse("u".repeat(ProfileUrl::MAX_CHARS + extra)),
                Err(ValidationError::TooLong { field: "profile_url", max: ProfileUrl::MAX_CHARS })
            );
            prop_assert!(ExternalId::parse("e".repeat(ExternalId::MAX_CHARS + extra)).is_err());
        }

        #[test]
        fn external_ids_normalise_once_for_good(s in "\\PC{1,40}") {
            // Normalising a normalised form changes nothing, so a stored form is found again.
            let once = normalized_external_id(&s);
            prop_assert_eq!(normalized_external_id(&once), once);
        }

        #[test]
        fn external_ids_equal_up_to_case_collide(s in "[a-zA-Z0-9-]{1,40}") {
            let lower = ExternalId::parse(s.to_lowercase()).unwrap();
            let upper = ExternalId::parse(s.to_uppercase()).unwrap();
            prop_assert_eq!(lower.normalized(), upper.normalized());
        }
    }

    #[test]
    fn one_id_however_it_was_typed() {
        let same = |a: &str, b: &str| normalized_external_id(a) == normalized_external_id(b);
        assert!(same("caf\u{e9}", "cafe\u{301}"), "composed and decomposed e-acute");
        assert!(same("\u{212a}elvin", "Kelvin"), "the Kelvin sign and K");
        assert!(same("\u{ff21}\u{ff11}", "a1"), "full-width letters and digits");
        assert!(same("CAF\u{c9}", "cafe\u{301}"));
        assert!(!same("stra\u{df}e", "strasse"), "no full case folding: two ids");
        assert!(!same("a", "b"));
    }
}
