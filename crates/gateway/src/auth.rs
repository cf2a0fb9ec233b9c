//! Caller authentication, shared by the dialects: a presented credential (an API token, or an
//! app key's Basic credential or JWT) goes to token-service, which answers the application it
//! belongs to.

use platform::{ApiError, AppId, ErrorCode};
use proto::token::v1 as pb;

use crate::{
    caller_cache::{CallerCache, Verified, jwt_expiry},
    clients::{Clients, RequestId},
};

/// The application on whose behalf a request acts.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app_id: AppId,
}

/// Checks an API token (Sendbird `Api-Token`, Ada `Bearer`).
pub async fn api_token(clients: &Clients, request_id: &RequestId, token: Option<&str>) -> Result<Caller, ApiError> {
    let token = presented(token, "API token is missing")?;
    let request = pb::AuthenticateCallerRequest {
        credential: Some(pb::authenticate_caller_request::Credential::ApiToken(token)),
        app_id: None,
    };
    authenticate(clients, request_id, request, pb::Scope::App, "this API token is not allowed to call the API").await
}

/// A credential that was sent and is not blank, trimmed.
fn presented(token: Option<&str>, missing: &str) -> Result<String, ApiError> {
    match token.map(str::trim) {
        Some(token) if !token.is_empty() => Ok(token.to_owned()),
        _ => Err(ApiError::new(ErrorCode::CredentialMissing, missing)),
    }
}

/// A credential of one application's app keys (Sunshine): HTTP Basic `key_id:secret`, or a
/// `scope: app` JWT signed by one of them.
#[derive(Clone)]
pub enum AppKeyCredential {
    Basic { key_id: String, secret: String },
    Jwt(String),
}

impl std::fmt::Debug for AppKeyCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { key_id, .. } => write!(f, "Basic({key_id}, ..)"),
            Self::Jwt(_) => f.write_str("Jwt(..)"),
        }
    }
}

/// Checks an app-key credential that must belong to `app_id` (the application the path names):
/// a credential of another application is refused like a wrong one.
pub async fn app_key(
    clients: &Clients,
    request_id: &RequestId,
    credential: Option<AppKeyCredential>,
    app_id: &str,
) -> Result<Caller, ApiError> {
    use pb::authenticate_caller_request::Credential;
    let Some(credential) = credential else {
        return Err(ApiError::new(ErrorCode::CredentialMissing, "Authorization is required"));
    };
    // No application has an id of another shape, so no credential belongs to it.
    if !platform::ids::is_id(app_id) {
        return Err(ApiError::new(ErrorCode::CredentialInvalid, "the credential is not valid for this app"));
    }
    let credential = match credential {
        AppKeyCredential::Basic { key_id, secret } => Credential::Basic(pb::BasicCredential { key_id, secret }),
        AppKeyCredential::Jwt(jwt) => Credential::Jwt(jwt),
    };
    let request = pb::AuthenticateCallerRequest { credential: Some(credential), app_id: Some(app_id.to_owned()) };
    authenticate(clients, request_id, request, pb::Scope::App, "this API token is not allowed to call the API").await
}

/// Asks token-service who `request` is (or this replica's caller cache, which keeps its recent
/// acceptances); admits callers holding `scope` (refused with `denied` otherwise), within their
/// application's rate limit.
async fn authenticate(
    clients: &Clients,
    request_id: &RequestId,
    request: pb::AuthenticateCallerRequest,
    scope: pb::Scope,
    denied: &str,
) -> Result<Caller, ApiError> {
    let (key, expires_at) = cache_key(&request);
    let verified = match clients.callers.get(&key) {
        Some(verified) => verified,
        None => {
            let response = clients
                .token
                .clone()
                .authenticate_caller(request_id.grpc(request))
                .await
                .map_err(|status| ApiError::from_status(&status))?
                .into_inner();
            let app_id = AppId::parse(response.app_id).map_err(|e| {
                ApiError::internal(&anyhow::Error::from(e).context("token-service answered a malformed application id"))
            })?;
            let verified =
                Verified { app_id, scopes: response.scopes, rate_limit_per_second: response.rate_limit_per_second };
            clients.callers.put(key, verified.clone(), expires_at);
            verified
        }
    };
    // A token made for one internal purpose (reading sensitive metadata) is not a dialect key.
    if !verified.scopes.contains(&(scope as i32)) {
        return Err(ApiError::new(ErrorCode::PermissionDenied, denied));
    }
    if let Err(wait) = clients.limiter.check(&verified.app_id, verified.rate_limit_per_second) {
        return Err(ApiError::new(ErrorCode::RateLimited, "Too many requests.").with_retry_after(wait));
    }
    Ok(Caller { app_id: verified.app_id })
}

/// The caller cache's key for a request's credential, and the JWT's `exp` when it is one.
fn cache_key(request: &pb::AuthenticateCallerRequest) -> ([u8; 32], Option<i64>) {
    use pb::authenticate_caller_request::Credential;
    let app_id = request.app_id.as_deref();
    match &request.credential {
        Some(Credential::ApiToken(token)) => (CallerCache::key("api_token", &[token], app_id), None),
        Some(Credential::Basic(basic)) => (CallerCache::key("basic", &[&basic.key_id, &basic.secret], app_id), None),
        Some(Credential::Jwt(jwt)) => (CallerCache::key("jwt", &[jwt], app_id), jwt_expiry(jwt)),
        None => (CallerCache::key("none", &[], app_id), Some(0)),
    }
}

/// Checks a Kore-style admin JWT (the `auth` header): HS256, signed with an admin client's
/// secret, naming the client in `appId`. The caller must hold `scope`.
pub async fn admin_jwt(
    clients: &Clients,
    request_id: &RequestId,
    token: Option<&str>,
    scope: pb::Scope,
) -> Result<Caller, ApiError> {
    let token = presented(token, "the auth header is missing")?;
    let request = pb::AuthenticateCallerRequest {
        credential: Some(pb::authenticate_caller_request::Credential::Jwt(token)),
        app_id: None,
    };
    let denied = format!("the admin client lacks the {} scope", scope_name(scope));
    authenticate(clients, request_id, request, scope, &denied).await
}

fn scope_name(scope: pb::Scope) -> &'static str {
    match scope {
        pb::Scope::UserManagement => "user-management",
        pb::Scope::SensitiveMetadata => "sensitive-metadata",
        pb::Scope::App | pb::Scope::Unspecified => "app",
    }
}
