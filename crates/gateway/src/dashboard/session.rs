//! The dashboard's cookies and CSRF. The session cookie holds a random id and nothing else
//! (token-service keeps the session under its SHA-256); it is HttpOnly, SameSite=Strict, scoped
//! to `/dashboard`, and Secure when the gateway is served over HTTPS. Forms carry the session's
//! CSRF token; the sign-in form, before there is a session, carries a random value that must
//! equal the one in a cookie of its own (double submit).

use axum::http::{HeaderMap, HeaderValue, header};
use proto::token::v1 as pb;

use crate::clients::Clients;

pub const SESSION_COOKIE: &str = "roster_console";
pub const SIGN_IN_COOKIE: &str = "roster_console_csrf";

/// A signed-in request: the session's id (the cookie) and what token-service says of it.
pub struct Signed {
    pub id: String,
    pub session: pb::ConsoleSession,
}

impl Signed {
    /// Whether `app_id` is one of the session's applications.
    pub fn has(&self, app_id: &str) -> bool {
        self.session.app_ids.iter().any(|a| a == app_id)
    }
}

/// The value of cookie `name`, when the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The session the request's cookie names, when token-service still has it.
pub async fn signed(clients: &Clients, headers: &HeaderMap) -> Result<Option<Signed>, tonic::Status> {
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|id| id.len() == 64) else {
        return Ok(None);
    };
    let found = clients.token.clone().get_console_session(pb::GetConsoleSessionRequest { id: id.clone() }).await?;
    Ok(found.into_inner().session.map(|session| Signed { id, session }))
}

/// `Set-Cookie` for `name`: the dashboard's attributes; `max_age` 0 removes it.
pub fn set_cookie(clients: &Clients, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if clients.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("roster_console=; Max-Age=0"))
}

/// Constant-time comparison of a submitted CSRF value with the expected one (never empty).
pub fn csrf_matches(submitted: &str, expected: &str) -> bool {
    if expected.is_empty() || submitted.len() != expected.len() {
        return false;
    }
    submitted.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; roster_console=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn csrf_must_match_exactly_and_never_empty() {
        assert!(csrf_matches("abcd", "abcd"));
        assert!(!csrf_matches("abce", "abcd"));
        assert!(!csrf_matches("abc", "abcd"));
        assert!(!csrf_matches("", ""));
    }
}
