//! The only place that names generated proto types.

use proto::token::v1 as pb;

use crate::{
    domain::{
        AccessToken, AdminClient, ApiToken, AppId, AppKey, AppSettings, Application, Connection, ConnectionRefusal,
        InvalidReason, Name, PublicKey, Scope, TokenKind, ValidToken, Validation, ValidationError,
    },
    error::TokenError,
};

pub fn app_id(value: String) -> Result<AppId, TokenError> {
    Ok(AppId::parse(value)?)
}

pub fn name(field: &'static str, value: String) -> Result<Name, TokenError> {
    Ok(Name::parse(field, value)?)
}

pub fn scopes(values: Vec<i32>) -> Result<Vec<Scope>, TokenError> {
    let invalid = ValidationError::Invalid { field: "scopes", reason: "unknown scope" };
    let mut scopes: Vec<Scope> = values
        .into_iter()
        .map(|v| match pb::Scope::try_from(v) {
            Ok(pb::Scope::App) => Ok(Scope::App),
            Ok(pb::Scope::UserManagement) => Ok(Scope::UserManagement),
            Ok(pb::Scope::SensitiveMetadata) => Ok(Scope::SensitiveMetadata),
            Ok(pb::Scope::Unspecified) | Err(_) => Err(invalid.clone()),
        })
        .collect::<Result<_, _>>()?;
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

pub fn scopes_to_pb(scopes: &[Scope]) -> Vec<i32> {
    scopes
        .iter()
        .map(|s| match s {
            Scope::App => pb::Scope::App,
            Scope::UserManagement => pb::Scope::UserManagement,
            Scope::SensitiveMetadata => pb::Scope::SensitiveMetadata,
        } as i32)
        .collect()
}

/// Zero fields mean "the default", so a caller can set only what it cares about. Values are
/// range-checked so that every stored setting reads back.
pub fn settings(settings: Option<pb::ApplicationSettings>) -> Result<AppSettings, TokenError> {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    let defaults = AppSettings::default();
    let Some(pb::ApplicationSettings {
        session_token_ttl_seconds,
        access_token_limit,
        allow_tokenless_users,
        unassociated_user_ttl_seconds,
        rate_limit_per_second,
    }) = settings
    else {
        return Ok(defaults);
    };
    let out_of_range = |field| TokenError::from(ValidationError::Invalid { field, reason: "is out of range" });
    if session_token_ttl_seconds > TEN_YEARS {
        return Err(out_of_range("session_token_ttl_seconds"));
    }
    if unassociated_user_ttl_seconds > TEN_YEARS {
        return Err(out_of_range("unassociated_user_ttl_seconds"));
    }
    if access_token_limit > 1000 {
        return Err(out_of_range("access_token_limit"));
    }
    if rate_limit_per_second > 1_000_000 {
        return Err(out_of_range("rate_limit_per_second"));
    }
    Ok(AppSettings {
        session_token_ttl_secs: nonzero_or(session_token_ttl_seconds, defaults.session_token_ttl_secs),
        access_token_limit: nonzero_or(access_token_limit, defaults.access_token_limit),
        allow_tokenless_users,
        unassociated_user_ttl_secs: unassociated_user_ttl_seconds,
        rate_limit_per_second,
    })
}

fn nonzero_or<T: PartialEq + Default>(value: T, default: T) -> T {
    if value == T::default() { default } else { value }
}

impl From<Application> for pb::Application {
    fn from(app: Application) -> Self {
        let Application { id, name, settings, created_at } = app;
        let AppSettings {
            session_token_ttl_secs,
            access_token_limit,
            allow_tokenless_users,
            unassociated_user_ttl_secs,
            rate_limit_per_second,
        } = settings;
        pb::Application {
            id: id.as_str().to_owned(),
            name: name.as_str().to_owned(),
            settings: Some(pb::ApplicationSettings {
                session_token_ttl_seconds: session_token_ttl_secs,
                access_token_limit,
                allow_tokenless_users,
                unassociated_user_ttl_seconds: unassociated_user_ttl_secs,
                rate_limit_per_second,
            }),
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<ApiToken> for pb::ApiTokenInfo {
    fn from(token: ApiToken) -> Self {
        let ApiToken { id, app_id, name, token_hash: _, scopes, created_at } = token;
        pb::ApiTokenInfo {
            id,
            app_id: app_id.as_str().to_owned(),
            name: name.as_str().to_owned(),
            scopes: scopes_to_pb(&scopes),
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<AppKey> for pb::AppKey {
    fn from(key: AppKey) -> Self {
        let AppKey { id, app_id, display_name, created_at } = key;
        pb::AppKey {
            id,
            app_id: app_id.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<AdminClient> for pb::AdminClient {
    fn from(client: AdminClient) -> Self {
        let AdminClient { id, app_id, name, scopes, created_at } = client;
        pb::AdminClient {
            id,
            app_id: app_id.as_str().to_owned(),
            name: name.as_str().to_owned(),
            scopes: scopes_to_pb(&scopes),
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<PublicKey> for pb::PublicKey {
    fn from(key: PublicKey) -> Self {
        let PublicKey { id, app_id, algorithm, pem, created_at } = key;
        pb::PublicKey {
            id,
            app_id: app_id.as_str().to_owned(),
            algorithm: algorithm.as_str().to_owned(),
            pem,
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<AccessToken> for pb::AccessTokenInfo {
    fn from(token: AccessToken) -> Self {
        let AccessToken { id, app_id: _, user_id, token_hash: _, created_at } = token;
        pb::AccessTokenInfo {
            id,
            user_id,
            created_at: Some(proto::timestamp_from_millis(created_at)),
            revoked_at: None,
        }
    }
}

pub fn validation(outcome: Validation) -> pb::ValidateTokenResponse {
    match outcome {
        Ok(ValidToken { app_id, user_id, kind, expires_at }) => pb::ValidateTokenResponse {
            valid: true,
            app_id: app_id.as_str().to_owned(),
            user_id,
            kind: token_kind(kind).into(),
            expires_at: expires_at.map(proto::timestamp_from_millis),
            reason: pb::InvalidReason::Unspecified.into(),
        },
        Err(reason) => {
            pb::ValidateTokenResponse { valid: false, reason: invalid_reason(reason).into(), ..Default::default() }
        }
    }
}

fn token_kind(kind: TokenKind) -> pb::TokenKind {
    match kind {
        TokenKind::Access => pb::TokenKind::Access,
        TokenKind::Session => pb::TokenKind::Session,
    }
}

fn invalid_reason(reason: InvalidReason) -> pb::InvalidReason {
    match reason {
        InvalidReason::Malformed => pb::InvalidReason::Malformed,
        InvalidReason::Unknown => pb::InvalidReason::Unknown,
        InvalidReason::Expired => pb::InvalidReason::Expired,
        InvalidReason::Revoked => pb::InvalidReason::Revoked,
        InvalidReason::BadSignature => pb::InvalidReason::BadSignature,
        InvalidReason::Unavailable => pb::InvalidReason::Unavailable,
        InvalidReason::UserDeactivated => pb::InvalidReason::UserDeactivated,
    }
}

pub fn connection(connection: Connection) -> pb::AuthorizeConnectionResponse {
    use pb::ConnectionRefusal as Refusal;
    match connection {
        Ok((user_id, kind)) => pb::AuthorizeConnectionResponse {
            allowed: true,
            user_id,
            kind: kind.map_or(pb::TokenKind::Unspecified, token_kind).into(),
            ..Default::default()
        },
        Err(refusal) => {
            let (refusal, reason) = match refusal {
                ConnectionRefusal::TokenInvalid(reason) => (Refusal::TokenInvalid, invalid_reason(reason)),
                ConnectionRefusal::TokenOfAnotherUser => (Refusal::TokenOfAnotherUser, pb::InvalidReason::Unspecified),
                ConnectionRefusal::TokenRequired => (Refusal::TokenRequired, pb::InvalidReason::Unspecified),
                ConnectionRefusal::UserNotFound => (Refusal::UserNotFound, pb::InvalidReason::Unspecified),
                ConnectionRefusal::UserDeactivated => (Refusal::UserDeactivated, pb::InvalidReason::UserDeactivated),
            };
            pb::AuthorizeConnectionResponse {
                allowed: false,
                refusal: refusal.into(),
                invalid_reason: reason.into(),
                ..Default::default()
            }
        }
    }
}

pub fn console_session(session: crate::domain::ConsoleSession) -> pb::ConsoleSession {
    pb::ConsoleSession {
        csrf: session.csrf,
        expires_at: Some(proto::timestamp_from_millis(session.expires_at)),
        app_ids: session.apps.into_iter().map(|app| app.app_id.as_str().to_owned()).collect(),
    }
}
