//! Sunshine Conversations API v2 dialect (`/v2/apps/{appId}`, and the same under `/sc` as on
//! Zendesk's hosts): app keys, users by Roster id or `externalId`, conversations and their
//! participants, and Roster's own JWT login. Callers authenticate with an app key (HTTP Basic
//! `keyId:secret`, or a `scope: app` JWT it signed) of the application the path names; errors
//! are Sunshine's `{ "errors": [ { "code", "title" } ] }`, always as JSON.

mod body;
mod conversations;
mod error;
mod integration_webhooks;
mod integrations;
mod keys;
mod login;
mod participants;
mod resource;
mod schema;
mod users;
mod webhooks;

use std::collections::HashMap;

use axum::{
    extract::{DefaultBodyLimit, FromRequestParts, Path},
    http::{HeaderMap, header::AUTHORIZATION, request::Parts},
};
use base64::Engine;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::SunshineError;
pub use webhooks::delivery_body;

use crate::{
    auth::{self, AppKeyCredential, Caller},
    clients::{Clients, RequestId},
};

/// Room for every field at its limit with each character `\u`-escaped, as the official client
/// sends non-ASCII; larger bodies are 413.
const MAX_BODY: usize = 64 * 1024;

/// Every route under `/v2/apps/{app_id}` (Zendesk's `/sc` prefix is dropped before routing, by
/// `http::canonical_path`). Path parameters arrive percent-encoded (`%2F`, `%2B`, UTF-8): axum
/// routes on the raw path and decodes each segment, leaving `+` a `+`. Other paths under
/// `/v2/apps/` answer Sunshine's 404 (`http::not_found`).
pub fn routes() -> OpenApiRouter<Clients> {
    OpenApiRouter::new()
        .routes(routes!(login::login))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::view, keys::delete))
        .routes(routes!(users::create))
        .routes(routes!(users::view, users::update, users::delete))
        .routes(routes!(users::delete_personal_information))
        .routes(routes!(conversations::create))
        .routes(routes!(conversations::view))
        .routes(routes!(participants::list))
        .routes(routes!(participants::join))
        .routes(routes!(participants::leave))
        .routes(routes!(integrations::list, integrations::create))
        .routes(routes!(integrations::view, integrations::update, integrations::delete))
        .routes(routes!(integration_webhooks::list_hooks, integration_webhooks::create_hook))
        .routes(routes!(
            integration_webhooks::view_hook,
            integration_webhooks::update_hook,
            integration_webhooks::delete_hook
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(crate::http::error::json_rejections::<SunshineError>))
}

/// The application the path names, when the caller holds one of its app keys.
pub struct SunshineCaller(pub Caller);

impl FromRequestParts<Clients> for SunshineCaller {
    type Rejection = SunshineError;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, clients).await.unwrap_or_default();
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, clients)
            .await
            .map_err(|_| SunshineError::bad_request("The path could not be read."))?;
        let app_id = params.get("app_id").cloned().unwrap_or_default();
        let credential = credential(&parts.headers)?;
        let caller = auth::app_key(clients, &request_id, credential, &app_id).await?;
        // No id holds NUL, and no database column can be asked about one.
        if params.values().any(|v| v.contains('\0')) {
            return Err(SunshineError::not_found("Not found."));
        }
        Ok(Self(caller))
    }
}

/// `Authorization: Bearer <JWT>` or `Basic base64(keyId:secret)`; Bearer wins when both are sent
/// (the official client configured with both means its `access_token`).
fn credential(headers: &HeaderMap) -> Result<Option<AppKeyCredential>, SunshineError> {
    let values: Vec<&str> = headers.get_all(AUTHORIZATION).iter().filter_map(|v| v.to_str().ok()).collect();
    if let Some(jwt) = values.iter().find_map(|v| scheme(v, "Bearer")) {
        return Ok(Some(AppKeyCredential::Jwt(jwt.to_owned())));
    }
    let Some(encoded) = values.iter().find_map(|v| scheme(v, "Basic")) else {
        return Ok(None);
    };
    let unreadable = || {
        SunshineError::from(platform::ApiError::new(
            platform::ErrorCode::CredentialInvalid,
            "the Basic credential is not base64 of keyId:secret",
        ))
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| unreadable())?;
    let decoded = String::from_utf8(decoded).map_err(|_| unreadable())?;
    let (key_id, secret) = decoded.split_once(':').ok_or_else(unreadable)?;
    if decoded.contains('\0') {
        return Err(unreadable());
    }
    Ok(Some(AppKeyCredential::Basic { key_id: key_id.to_owned(), secret: secret.to_owned() }))
}

/// The credential after `<scheme> ` (the scheme compared case-insensitively), when non-empty.
fn scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    (name.eq_ignore_ascii_case(scheme) && !rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn credentials_bearer_first_then_basic() {
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("app_1:s3:cret"));
        match credential(&headers(&[&basic])).unwrap() {
            Some(AppKeyCredential::Basic { key_id, secret }) => {
                assert_eq!((key_id.as_str(), secret.as_str()), ("app_1", "s3:cret"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(credential(&headers(&[&basic, "Bearer a.b.c"])).unwrap(), Some(AppKeyCredential::Jwt(j)) if j == "a.b.c")
        );
        assert!(
            matches!(credential(&headers(&["bearer  a.b.c "])).unwrap(), Some(AppKeyCredential::Jwt(j)) if j == "a.b.c")
        );
        assert!(credential(&headers(&[])).unwrap().is_none());
        assert!(credential(&headers(&["Bearer "])).unwrap().is_none());
        for bad in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic YQBiOnM="] {
            assert_eq!(credential(&headers(&[bad])).unwrap_err().status, axum::http::StatusCode::UNAUTHORIZED, "{bad}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Any Authorization header is a credential, none, or a 401: never a panic, never
            /// another status.
            #[test]
            fn any_authorization_header_is_read_or_refused(value in "\\PC{0,200}") {
                let Ok(header) = HeaderValue::from_str(&value) else { return Ok(()) };
                let mut map = HeaderMap::new();
                map.insert(AUTHORIZATION, header);
                if let Err(err) = credential(&map) {
                    prop_assert_eq!(err.status, axum::http::StatusCode::UNAUTHORIZED);
                }
            }

            /// Basic credentials come back as sent: the key id up to the first colon, the rest
            /// the secret (colons and all).
            #[test]
            fn basic_credentials_round_trip(key_id in "[^:\\x00]{0,40}", secret in "[^\\x00]{0,80}") {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key_id}:{secret}"));
                match credential(&headers(&[&format!("Basic {encoded}")])).unwrap() {
                    Some(AppKeyCredential::Basic { key_id: k, secret: s }) => prop_assert_eq!((k, s), (key_id, secret)),
                    other => prop_assert!(false, "{:?}", other),
                }
            }

            /// Bytes that are not `id:secret` in UTF-8 are refused as a credential, not misread.
            #[test]
            fn undecodable_basic_credentials_are_refused(bytes in any::<Vec<u8>>()) {
                let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
                let readable = std::str::from_utf8(&bytes).is_ok_and(|s| s.contains(':') && !s.contains('\0'));
                let answer = credential(&headers(&[&format!("Basic {encoded}")]));
                prop_assert_eq!(answer.is_ok(), readable || bytes.is_empty());
            }
        }
    }
}
