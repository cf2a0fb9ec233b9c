//! `/dashboard`: a console for people, server-rendered, over the same gRPC APIs as the dialects
//! (no second path to any database). Sign-in with an application's API token starts a session
//! in token-service (`session`); every page after names the application in its path and is
//! served only when the session holds it. Pages carry a CSP that allows nothing but this
//! origin's stylesheet and one script (the copy buttons; everything works without it), and are
//! never cached.

mod pages;
mod session;

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::Markup;
use proto::{context::v1 as context_pb, events::v1 as events_pb, registry::v1 as registry_pb, token::v1 as token_pb};
use serde::Deserialize;

use crate::clients::Clients;
use pages::{Chrome, UsersPage};
use session::{SESSION_COOKIE, SIGN_IN_COOKIE, Signed, csrf_matches, set_cookie, signed};

/// Failed sign-ins a gateway replica accepts per minute before answering 429 to all: tokens are
/// 160 random bits, so this bounds the noise, not the odds.
pub const FAILED_SIGN_INS_PER_MINUTE: u32 = 20;

/// Failed sign-ins of this replica: a bucket of `FAILED_SIGN_INS_PER_MINUTE` that each failure
/// empties by one and time refills at the same rate per minute.
#[derive(Clone)]
pub struct SignInLimit(Arc<Mutex<(f64, i64)>>);

impl SignInLimit {
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new((f64::from(FAILED_SIGN_INS_PER_MINUTE), platform::now_millis()))))
    }

    /// The bucket as of now.
    fn level(bucket: &mut (f64, i64)) -> f64 {
        let now = platform::now_millis();
        let capacity = f64::from(FAILED_SIGN_INS_PER_MINUTE);
        let refill = (now - bucket.1).max(0) as f64 * capacity / 60_000.0;
        *bucket = ((bucket.0 + refill).min(capacity), now);
        bucket.0
    }

    fn exhausted(&self) -> bool {
        self.0.lock().map(|mut bucket| Self::level(&mut bucket) < 1.0).unwrap_or(true)
    }

    fn count_failure(&self) {
        if let Ok(mut bucket) = self.0.lock() {
            Self::level(&mut bucket);
            bucket.0 = (bucket.0 - 1.0).max(0.0);
        }
    }
}

impl Default for SignInLimit {
    fn default() -> Self {
        Self::new()
    }
}

pub fn routes() -> Router<Clients> {
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/static/roster.css", get(stylesheet))
        .route("/dashboard/static/copy.js", get(copy_script))
        .route("/dashboard/sign-in", get(sign_in_page).post(sign_in))
        .route("/dashboard/sign-out", post(sign_out))
        .route("/dashboard/apps/{app_id}/users", get(users).post(create_user))
        .route("/dashboard/apps/{app_id}/users/{id}", get(user))
        .route("/dashboard/apps/{app_id}/users/{id}/session-token", post(issue_session_token))
        .route("/dashboard/apps/{app_id}/users/{id}/revoke-tokens", post(revoke_tokens))
        .route("/dashboard/apps/{app_id}/users/{id}/active", post(set_active))
        .route("/dashboard/apps/{app_id}/users/{id}/delete", get(confirm_delete).post(delete_user))
        .route("/dashboard/apps/{app_id}/users/{id}/metadata", post(set_metadata))
        .route("/dashboard/apps/{app_id}/users/{id}/metadata/delete", post(remove_metadata))
        .route("/dashboard/apps/{app_id}/webhooks", get(webhooks))
        .route("/dashboard/apps/{app_id}/webhooks/redeliver", post(redeliver))
        .route("/dashboard/apps/{app_id}/settings", get(settings).post(save_settings))
        .route("/dashboard/apps/{app_id}/settings/{kind}", post(create_credential))
        .route("/dashboard/apps/{app_id}/settings/{kind}/{id}/delete", post(delete_credential))
}

/// Every dashboard answer: HTML that nothing may frame, script or cache.
fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A failure of an upstream call, in words, on a page of its own.
fn upstream_problem(status: &tonic::Status, chrome: Option<&Chrome<'_>>) -> Response {
    let (code, title, message) = match status.code() {
        tonic::Code::NotFound => (StatusCode::NOT_FOUND, "Not found", status.message().to_owned()),
        tonic::Code::InvalidArgument | tonic::Code::AlreadyExists | tonic::Code::FailedPrecondition => {
            (StatusCode::BAD_REQUEST, "That did not work", status.message().to_owned())
        }
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again shortly",
            "A service behind the dashboard is not answering right now.".to_owned(),
        ),
        _ => (StatusCode::BAD_GATEWAY, "Something went wrong", "The request could not be completed.".to_owned()),
    };
    page(code, pages::problem(title, &message, chrome))
}

async fn stylesheet() -> Response {
    let mut response = include_str!("static/roster.css").into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn copy_script() -> Response {
    let mut response = include_str!("static/copy.js").into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn home(State(clients): State<Clients>, headers: HeaderMap) -> Response {
    match signed(&clients, &headers).await {
        Ok(Some(signed)) => match signed.session.app_ids.first() {
            Some(app) => see_other(&format!("/dashboard/apps/{app}/users")),
            None => see_other("/dashboard/sign-in"),
        },
        Ok(None) => see_other("/dashboard/sign-in"),
        Err(status) => upstream_problem(&status, None),
    }
}

/// The sign-in form, with a fresh double-submit value in its cookie (or the session's CSRF token
/// when already signed in, to add an application).
async fn sign_in_page(State(clients): State<Clients>, headers: HeaderMap) -> Response {
    let signed = match signed(&clients, &headers).await {
        Ok(signed) => signed,
        Err(status) => return upstream_problem(&status, None),
    };
    sign_in_form(&clients, signed.as_ref(), None, StatusCode::OK)
}

fn sign_in_form(clients: &Clients, signed: Option<&Signed>, error: Option<&str>, status: StatusCode) -> Response {
    match signed {
        Some(signed) => page(status, pages::sign_in(&signed.session.csrf, error, &signed.session.app_ids)),
        None => {
            let csrf = platform::secret::new_secret(32);
            let mut response = page(status, pages::sign_in(&csrf, error, &[]));
            response.headers_mut().append(header::SET_COOKIE, set_cookie(clients, SIGN_IN_COOKIE, &csrf, 3600));
            response
        }
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_token: String,
}

fn forbidden_form() -> Response {
    page(
        StatusCode::FORBIDDEN,
        pages::problem(
            "The form expired",
            "This form was not sent from a page of this dashboard (or it is too old). Open the page again and retry.",
            None,
        ),
    )
}

async fn sign_in(State(clients): State<Clients>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return forbidden_form();
    };
    let signed = match signed(&clients, &headers).await {
        Ok(signed) => signed,
        Err(status) => return upstream_problem(&status, None),
    };
    let expected = match &signed {
        Some(signed) => signed.session.csrf.clone(),
        None => session::cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default(),
    };
    if !csrf_matches(&form.csrf, &expected) {
        return forbidden_form();
    }
    let limit = &clients.sign_in_limit;
    if limit.exhausted() {
        let message = "Too many sign-in attempts failed in the last minute. Wait a minute and try again.";
        return sign_in_form(&clients, signed.as_ref(), Some(message), StatusCode::TOO_MANY_REQUESTS);
    }
    let token = form.api_token.trim().to_owned();
    let mut client = clients.token.clone();
    let answer = match &signed {
        Some(signed) => client
            .add_console_application(token_pb::AddConsoleApplicationRequest { id: signed.id.clone(), api_token: token })
            .await
            .map(|r| r.into_inner().session.map(|s| (signed.id.clone(), s))),
        None => client
            .start_console_session(token_pb::StartConsoleSessionRequest { api_token: token })
            .await
            .map(|r| r.into_inner())
            .map(|r| r.session.map(|s| (r.id, s))),
    };
    match answer {
        Ok(Some((id, session))) => {
            let app = session.app_ids.last().cloned().unwrap_or_default();
            tracing::info!(app.id = app, "dashboard sign-in");
            let mut response = see_other(&format!("/dashboard/apps/{app}/users"));
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, set_cookie(&clients, SESSION_COOKIE, &id, 12 * 3600));
            headers.append(header::SET_COOKIE, set_cookie(&clients, SIGN_IN_COOKIE, "", 0));
            response
        }
        // The session ended meanwhile: start over.
        Ok(None) => sign_in_form(&clients, None, Some("Your session ended. Sign in again."), StatusCode::UNAUTHORIZED),
        Err(status) if matches!(status.code(), tonic::Code::Unauthenticated | tonic::Code::InvalidArgument) => {
            limit.count_failure();
            let message = "That API token was not accepted. Check it, or make another with roster apps token.";
            sign_in_form(&clients, signed.as_ref(), Some(message), StatusCode::UNAUTHORIZED)
        }
        Err(status) => upstream_problem(&status, None),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(State(clients): State<Clients>, headers: HeaderMap, body: Bytes) -> Response {
    let form = serde_urlencoded::from_bytes::<CsrfForm>(&body).unwrap_or(CsrfForm { csrf: String::new() });
    let signed = match signed(&clients, &headers).await {
        Ok(Some(signed)) => signed,
        Ok(None) => return see_other("/dashboard/sign-in"),
        Err(status) => return upstream_problem(&status, None),
    };
    if !csrf_matches(&form.csrf, &signed.session.csrf) {
        return forbidden_form();
    }
    let ended = clients.token.clone().end_console_session(token_pb::EndConsoleSessionRequest { id: signed.id }).await;
    if let Err(status) = ended {
        return upstream_problem(&status, None);
    }
    let mut response = see_other("/dashboard/sign-in");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&clients, SESSION_COOKIE, "", 0));
    response
}

/// The session of a page about `app_id`: a redirect to sign-in without one, 404 when the
/// session does not hold the application (never showing whether it exists).
async fn session_for(clients: &Clients, headers: &HeaderMap, app_id: &str) -> Result<Signed, Response> {
    match signed(clients, headers).await {
        Ok(Some(signed)) if signed.has(app_id) => Ok(signed),
        Ok(Some(signed)) => {
            let chrome = Chrome { current: None, ..chrome_of(&signed, app_id) };
            let message = "This session is not signed in to that application. Add it with one of its API tokens.";
            Err(page(
                StatusCode::NOT_FOUND,
                pages::problem("Not signed in to this application", message, Some(&chrome)),
            ))
        }
        Ok(None) => Err(see_other("/dashboard/sign-in")),
        Err(status) => Err(upstream_problem(&status, None)),
    }
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    #[serde(default)]
    field: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    after: String,
}

async fn users(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    Query(query): Query<UsersQuery>,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let q = query.q.trim();
    let mut filter = registry_pb::UserFilter::default();
    if !q.is_empty() {
        match query.field.as_str() {
            "nickname" => filter.nickname_prefix = Some(q.to_owned()),
            "external_id" => filter.external_id = Some(q.to_owned()),
            "email" => filter.email = Some(q.to_owned()),
            _ => filter.user_ids = vec![q.to_owned()],
        }
    }
    let (origin, origin_name) = match query.origin.as_str() {
        "api" => (Some(registry_pb::Origin::Api), "api"),
        "bulk" => (Some(registry_pb::Origin::Bulk), "bulk"),
        "login" => (Some(registry_pb::Origin::Login), "login"),
        "conversation" => (Some(registry_pb::Origin::Conversation), "conversation"),
        "channel" => (Some(registry_pb::Origin::Channel), "channel"),
        _ => (None, ""),
    };
    filter.origin = origin.map(Into::into);
    filter.is_active = match query.active.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let request = registry_pb::ListUsersRequest {
        app_id: app_id.clone(),
        page_token: query.after.clone(),
        page_size: 50,
        filter: Some(filter),
    };
    let listed = clients.registry.clone().list_users(request).await;
    let (listed, error) = match listed {
        Ok(listed) => (listed.into_inner(), None),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            (registry_pb::ListUsersResponse::default(), Some(status.message().to_owned()))
        }
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let field = if ["nickname", "external_id", "email"].contains(&query.field.as_str()) {
        query.field.as_str()
    } else {
        "user_id"
    };
    let active = if ["true", "false"].contains(&query.active.as_str()) { query.active.as_str() } else { "" };
    let next = (!listed.next_page_token.is_empty()).then_some(listed.next_page_token);
    let page_data = UsersPage {
        app_id: &app_id,
        query: q,
        field,
        active,
        origin: origin_name,
        users: &listed.users,
        next,
        error: error.as_deref(),
    };
    page(StatusCode::OK, pages::users(&chrome, &page_data))
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    nickname: String,
    #[serde(default)]
    profile_url: String,
    #[serde(default)]
    metadata: String,
}

/// Creates a test user through the registry's CreateUser, as the dialects do.
async fn create_user(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let Ok(form) = serde_urlencoded::from_bytes::<NewUserForm>(&body) else {
        return forbidden_form();
    };
    if !csrf_matches(&form.csrf, &signed.session.csrf) {
        return forbidden_form();
    }
    let chrome = chrome_of(&signed, &app_id);
    let metadata = match form.metadata.trim() {
        "" => Default::default(),
        text => match serde_json::from_str::<std::collections::BTreeMap<String, String>>(text) {
            Ok(map) => crate::http::sendbird::metadata_to_pb(map),
            Err(_) => {
                let message = "Metadata must be a JSON object whose values are strings, e.g. {\"plan\": \"trial\"}.";
                return page(StatusCode::BAD_REQUEST, pages::problem("That did not work", message, Some(&chrome)));
            }
        },
    };
    let user = registry_pb::NewUser {
        user_id: Some(form.user_id.trim().to_owned()).filter(|u| !u.is_empty()),
        nickname: form.nickname.trim().to_owned(),
        profile_url: form.profile_url.trim().to_owned(),
        metadata,
        origin: registry_pb::Origin::Api.into(),
        ..Default::default()
    };
    if user.user_id.is_none() || user.nickname.is_empty() {
        let message = "A test user needs a user id and a nickname.";
        return page(StatusCode::BAD_REQUEST, pages::problem("That did not work", message, Some(&chrome)));
    }
    let request = registry_pb::CreateUserRequest { app_id: app_id.clone(), user: Some(user) };
    match clients.registry.clone().create_user(request).await {
        Ok(created) => {
            let id = created.into_inner().user.map(|u| u.id).unwrap_or_default();
            tracing::info!(app.id = app_id, user.id = id, "test user created in the dashboard");
            see_other(&format!("/dashboard/apps/{app_id}/users/{id}"))
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

/// The session, the form's CSRF checked, and the user the path names: what every action on a
/// user starts from.
async fn acting_on(
    clients: &Clients,
    headers: &HeaderMap,
    app_id: &str,
    id: String,
    body: Option<&Bytes>,
) -> Result<(Signed, registry_pb::User), Response> {
    let signed = session_for(clients, headers, app_id).await?;
    if body.is_some_and(|body| !form_csrf_ok(body, &signed)) {
        return Err(forbidden_form());
    }
    let lookup = by_id(id);
    let request = registry_pb::GetUserRequest { app_id: app_id.to_owned(), lookup };
    let found = clients.registry.clone().get_user(request).await;
    let chrome = chrome_of(&signed, app_id);
    match found.map(|f| f.into_inner().user) {
        Ok(Some(user)) => Ok((signed, user)),
        Ok(None) => Err(upstream_problem(&tonic::Status::not_found("user not found"), Some(&chrome))),
        Err(status) => Err(upstream_problem(&status, Some(&chrome))),
    }
}

/// The registry's lookup of a user by its Roster id.
fn by_id(id: String) -> Option<registry_pb::UserLookup> {
    Some(registry_pb::UserLookup { key: Some(registry_pb::user_lookup::Key::Id(id)) })
}

fn chrome_of<'a>(signed: &'a Signed, app_id: &'a str) -> Chrome<'a> {
    Chrome { csrf: &signed.session.csrf, app_ids: &signed.session.app_ids, current: Some(app_id) }
}

async fn user(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    // Three services, asked at once: none needs another's answer.
    let (mut registry, mut context, mut token) =
        (clients.registry.clone(), clients.context.clone(), clients.token.clone());
    let sensitive =
        registry_pb::ListSensitiveFieldNamesRequest { app_id: app_id.clone(), lookup: by_id(user.id.clone()) };
    let data = context_pb::ListUserDataRequest { app_id: app_id.clone(), user_id: user.id.clone() };
    let tokens =
        token_pb::ListAccessTokensRequest { app_id: app_id.clone(), user_id: user.id.clone(), include_revoked: true };
    let answers = tokio::try_join!(
        registry.list_sensitive_field_names(sensitive),
        context.list_user_data(data),
        token.list_access_tokens(tokens),
    );
    match answers {
        Ok((sensitive, data, tokens)) => {
            let (sensitive, data, tokens) =
                (sensitive.into_inner().names, data.into_inner(), tokens.into_inner().tokens);
            page(StatusCode::OK, pages::user(&chrome, &app_id, &user, &sensitive, &tokens, &data))
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

async fn issue_session_token(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let request =
        token_pb::IssueSessionTokenRequest { app_id: app_id.clone(), user_id: user.id.clone(), expires_at: None };
    match clients.token.clone().issue_session_token(request).await {
        Ok(issued) => {
            let issued = issued.into_inner();
            tracing::info!(app.id = app_id, user.id = user.id, "session token issued in the dashboard");
            page(
                StatusCode::OK,
                pages::issued_token(&chrome, &app_id, &user, &issued.token, issued.expires_at.as_ref()),
            )
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

async fn revoke_tokens(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let mut token = clients.token.clone();
    let sessions = token_pb::RevokeSessionTokensRequest { app_id: app_id.clone(), user_id: user.id.clone() };
    if let Err(status) = token.revoke_session_tokens(sessions).await {
        return upstream_problem(&status, Some(&chrome));
    }
    let request =
        token_pb::ListAccessTokensRequest { app_id: app_id.clone(), user_id: user.id.clone(), include_revoked: false };
    let tokens = match token.list_access_tokens(request).await {
        Ok(listed) => listed.into_inner().tokens,
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    for access in tokens {
        let revoke = token_pb::RevokeAccessTokenRequest { app_id: app_id.clone(), token_id: access.id };
        match token.revoke_access_token(revoke).await {
            Ok(_) => {}
            // Revoked meanwhile.
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => return upstream_problem(&status, Some(&chrome)),
        }
    }
    tracing::info!(app.id = app_id, user.id = user.id, "every token revoked in the dashboard");
    see_other(&format!("/dashboard/apps/{app_id}/users/{}", user.id))
}

#[derive(Deserialize)]
struct ActiveForm {
    #[serde(default)]
    active: String,
}

async fn set_active(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let active = match serde_urlencoded::from_bytes::<ActiveForm>(&body).map(|f| f.active) {
        Ok(value) if value == "true" => true,
        Ok(value) if value == "false" => false,
        _ => {
            let problem = pages::problem("That did not work", "The form named no state.", Some(&chrome));
            return page(StatusCode::BAD_REQUEST, problem);
        }
    };
    let patch = registry_pb::UserPatch { is_active: Some(active), ..Default::default() };
    let lookup = by_id(user.id.clone());
    let request = registry_pb::UpdateUserRequest { app_id: app_id.clone(), lookup, patch: Some(patch) };
    match clients.registry.clone().update_user(request).await {
        Ok(_) => see_other(&format!("/dashboard/apps/{app_id}/users/{}", user.id)),
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

async fn confirm_delete(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
) -> Response {
    match acting_on(&clients, &headers, &app_id, id, None).await {
        Ok((signed, user)) => page(StatusCode::OK, pages::confirm_delete(&chrome_of(&signed, &app_id), &app_id, &user)),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

async fn delete_user(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let confirmed = serde_urlencoded::from_bytes::<DeleteForm>(&body).is_ok_and(|f| f.confirm.trim() == user.user_id);
    if !confirmed {
        let message = "The user id typed did not match: nothing was deleted.";
        return page(StatusCode::BAD_REQUEST, pages::problem("Not deleted", message, Some(&chrome)));
    }
    let lookup = by_id(user.id.clone());
    let request = registry_pb::DeleteUserRequest { app_id: app_id.clone(), lookup };
    match clients.registry.clone().delete_user(request).await {
        Ok(_) => {
            tracing::info!(app.id = app_id, user.id = user.id, "user deleted in the dashboard");
            see_other(&format!("/dashboard/apps/{app_id}/users"))
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

/// What this replica's caller cache holds of the application goes at once (a deleted key, a new
/// rate limit), as the dialects' own credential calls do; other replicas follow within
/// `gateway.caller_cache_ms`.
fn forget_callers(clients: &Clients, app_id: &str) {
    if let Ok(app_id) = platform::AppId::parse(app_id.to_owned()) {
        clients.callers.forget_app(&app_id);
    }
}

/// A form's CSRF checked against the session's.
fn form_csrf_ok(body: &Bytes, signed: &Signed) -> bool {
    let form = serde_urlencoded::from_bytes::<CsrfForm>(body).unwrap_or(CsrfForm { csrf: String::new() });
    csrf_matches(&form.csrf, &signed.session.csrf)
}

async fn application_page(clients: &Clients, signed: &Signed, app_id: &str, notice: Option<&str>) -> Response {
    let chrome = chrome_of(signed, app_id);
    let mut token = clients.token.clone();
    let app = match token.get_application(token_pb::GetApplicationRequest { app_id: app_id.to_owned() }).await {
        Ok(found) => found.into_inner().application.unwrap_or_default(),
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let api_tokens = match token.list_api_tokens(token_pb::ListApiTokensRequest { app_id: app_id.to_owned() }).await {
        Ok(listed) => listed.into_inner().tokens,
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let keys = match token.list_app_keys(token_pb::ListAppKeysRequest { app_id: app_id.to_owned() }).await {
        Ok(keys) => keys.into_inner().keys,
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let admin = match token.list_admin_clients(token_pb::ListAdminClientsRequest { app_id: app_id.to_owned() }).await {
        Ok(listed) => listed.into_inner().clients,
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let page_data = pages::AppPage { app: &app, tokens: &api_tokens, keys: &keys, clients: &admin, notice };
    page(StatusCode::OK, pages::application(&chrome, &page_data))
}

async fn settings(State(clients): State<Clients>, headers: HeaderMap, Path(app_id): Path<String>) -> Response {
    match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => application_page(&clients, &signed, &app_id, None).await,
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    session_token_ttl_seconds: String,
    #[serde(default)]
    access_token_limit: String,
    #[serde(default)]
    rate_limit_per_second: String,
    #[serde(default)]
    unassociated_user_ttl_seconds: String,
    #[serde(default)]
    allow_tokenless_users: Option<String>,
}

async fn save_settings(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !form_csrf_ok(&body, &signed) {
        return forbidden_form();
    }
    let chrome = chrome_of(&signed, &app_id);
    let bad = |message: &str| page(StatusCode::BAD_REQUEST, pages::problem("Not saved", message, Some(&chrome)));
    let Ok(form) = serde_urlencoded::from_bytes::<SettingsForm>(&body) else {
        return bad("The form could not be read.");
    };
    let number = |value: &str| if value.trim().is_empty() { Ok(0) } else { value.trim().parse::<u64>() };
    let (Ok(session), Ok(access), Ok(rate), Ok(unassociated)) = (
        number(&form.session_token_ttl_seconds),
        number(&form.access_token_limit),
        number(&form.rate_limit_per_second),
        number(&form.unassociated_user_ttl_seconds),
    ) else {
        return bad("Every number must be a whole number of 0 or more.");
    };
    let (Ok(access), Ok(rate)) = (u32::try_from(access), u32::try_from(rate)) else {
        return bad("The access-token limit and the rate limit must be under 4,294,967,296.");
    };
    let settings = token_pb::ApplicationSettings {
        session_token_ttl_seconds: session,
        access_token_limit: access,
        allow_tokenless_users: form.allow_tokenless_users.is_some(),
        unassociated_user_ttl_seconds: unassociated,
        rate_limit_per_second: rate,
    };
    let name = Some(form.name.trim().to_owned()).filter(|n| !n.is_empty());
    let request = token_pb::UpdateApplicationRequest { app_id: app_id.clone(), name, settings: Some(settings) };
    match clients.token.clone().update_application(request).await {
        Ok(_) => {
            forget_callers(&clients, &app_id);
            tracing::info!(app.id = app_id, "application settings saved in the dashboard");
            application_page(&clients, &signed, &app_id, Some("The settings were saved.")).await
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

/// Creates an API token, app key or admin client (`kind`) and shows its secret once.
async fn create_credential(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, kind)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !form_csrf_ok(&body, &signed) {
        return forbidden_form();
    }
    let chrome = chrome_of(&signed, &app_id);
    let form = serde_urlencoded::from_bytes::<NameForm>(&body)
        .unwrap_or(NameForm { name: String::new(), scope: String::new() });
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        return page(StatusCode::BAD_REQUEST, pages::problem("Not created", "Give it a name.", Some(&chrome)));
    }
    let mut token = clients.token.clone();
    let created = match kind.as_str() {
        "api-tokens" => {
            let scope = match form.scope.as_str() {
                "sensitive-metadata" => token_pb::Scope::SensitiveMetadata,
                "user-management" => token_pb::Scope::UserManagement,
                _ => token_pb::Scope::App,
            };
            let request = token_pb::CreateApiTokenRequest { app_id: app_id.clone(), name, scopes: vec![scope as i32] };
            token.create_api_token(request).await.map(|r| {
                let r = r.into_inner();
                ("API token", r.info.map(|i| i.id).unwrap_or_default(), r.api_token)
            })
        }
        "app-keys" => {
            let request = token_pb::CreateAppKeyRequest { app_id: app_id.clone(), display_name: name };
            token.create_app_key(request).await.map(|r| {
                let r = r.into_inner();
                ("app key", r.key.map(|k| k.id).unwrap_or_default(), r.secret)
            })
        }
        "admin-clients" => {
            let request = token_pb::CreateAdminClientRequest { app_id: app_id.clone(), name, scopes: vec![] };
            token.create_admin_client(request).await.map(|r| {
                let r = r.into_inner();
                ("admin client", r.client.map(|c| c.id).unwrap_or_default(), r.secret)
            })
        }
        _ => return upstream_problem(&tonic::Status::not_found("no such page"), Some(&chrome)),
    };
    match created {
        Ok((what, id, secret)) => {
            tracing::info!(app.id = app_id, credential.id = id, "credential created in the dashboard");
            page(StatusCode::OK, pages::secret_once(&chrome, &app_id, what, &id, &secret))
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

/// Revokes an API token, or deletes an app key or admin client (`kind`).
async fn delete_credential(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, kind, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !form_csrf_ok(&body, &signed) {
        return forbidden_form();
    }
    let chrome = chrome_of(&signed, &app_id);
    let mut token = clients.token.clone();
    let deleted = match kind.as_str() {
        "api-tokens" => token
            .revoke_api_token(token_pb::RevokeApiTokenRequest { app_id: app_id.clone(), api_token_id: id.clone() })
            .await
            .map(|_| "The API token was revoked."),
        "app-keys" => token
            .delete_app_key(token_pb::DeleteAppKeyRequest { app_id: app_id.clone(), key_id: id.clone() })
            .await
            .map(|_| "The app key was deleted."),
        "admin-clients" => token
            .delete_admin_client(token_pb::DeleteAdminClientRequest { app_id: app_id.clone(), client_id: id.clone() })
            .await
            .map(|_| "The admin client was deleted."),
        _ => return upstream_problem(&tonic::Status::not_found("no such page"), Some(&chrome)),
    };
    match deleted {
        Ok(notice) => {
            forget_callers(&clients, &app_id);
            tracing::info!(app.id = app_id, credential.id = id, "credential deleted in the dashboard");
            application_page(&clients, &signed, &app_id, Some(notice)).await
        }
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

#[derive(Deserialize)]
struct MetadataForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

/// Sets one metadata value (a string; the registry checks key and value as for the dialects).
async fn set_metadata(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let form = serde_urlencoded::from_bytes::<MetadataForm>(&body)
        .unwrap_or(MetadataForm { key: String::new(), value: String::new() });
    let key = form.key.trim().to_owned();
    if key.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem("Not set", "A metadata value needs a key.", Some(&chrome)),
        );
    }
    let value = registry_pb::MetadataValue { kind: Some(registry_pb::metadata_value::Kind::StringValue(form.value)) };
    let lookup = by_id(user.id.clone());
    let request = registry_pb::SetMetadataRequest {
        app_id: app_id.clone(),
        lookup,
        metadata: [(key, value)].into(),
        mode: registry_pb::MetadataWriteMode::Upsert.into(),
    };
    match clients.registry.clone().set_metadata(request).await {
        Ok(_) => see_other(&format!("/dashboard/apps/{app_id}/users/{}", user.id)),
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

async fn remove_metadata(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path((app_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, user) = match acting_on(&clients, &headers, &app_id, id, Some(&body)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = chrome_of(&signed, &app_id);
    let form = serde_urlencoded::from_bytes::<MetadataForm>(&body)
        .unwrap_or(MetadataForm { key: String::new(), value: String::new() });
    if form.key.is_empty() {
        // An empty list would delete every key: never from this button.
        return page(StatusCode::BAD_REQUEST, pages::problem("Not removed", "The form named no key.", Some(&chrome)));
    }
    let lookup = by_id(user.id.clone());
    let request = registry_pb::DeleteMetadataRequest { app_id: app_id.clone(), lookup, keys: vec![form.key] };
    match clients.registry.clone().delete_metadata(request).await {
        Ok(_) => see_other(&format!("/dashboard/apps/{app_id}/users/{}", user.id)),
        Err(status) => upstream_problem(&status, Some(&chrome)),
    }
}

#[derive(Deserialize, Default)]
struct DeliveriesQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

async fn webhooks_page(
    clients: &Clients,
    signed: &Signed,
    app_id: &str,
    query: &DeliveriesQuery,
    notice: Option<&str>,
) -> Response {
    let chrome = chrome_of(signed, app_id);
    let mut events = clients.events.clone();
    let request = events_pb::ListSubscriptionsRequest { app_id: app_id.to_owned(), ..Default::default() };
    let subscriptions = match events.list_subscriptions(request).await {
        Ok(listed) => listed.into_inner().subscriptions,
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let (status, status_name) = match query.status.as_str() {
        "pending" => (events_pb::DeliveryStatus::Pending, "pending"),
        "delivered" => (events_pb::DeliveryStatus::Delivered, "delivered"),
        "dead" => (events_pb::DeliveryStatus::Dead, "dead"),
        _ => (events_pb::DeliveryStatus::Unspecified, ""),
    };
    let request = events_pb::ListDeliveriesRequest {
        app_id: app_id.to_owned(),
        status: status.into(),
        subscription_id: String::new(),
        page_token: query.after.clone(),
        page_size: 50,
    };
    let (deliveries, next) = match events.list_deliveries(request).await {
        Ok(listed) => {
            let listed = listed.into_inner();
            (listed.deliveries, (!listed.next_page_token.is_empty()).then_some(listed.next_page_token))
        }
        Err(status) => return upstream_problem(&status, Some(&chrome)),
    };
    let page_data = pages::WebhooksPage {
        app_id,
        subscriptions: &subscriptions,
        deliveries: &deliveries,
        status: status_name,
        next,
        notice,
    };
    page(StatusCode::OK, pages::webhooks(&chrome, &page_data))
}

async fn webhooks(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Response {
    match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => webhooks_page(&clients, &signed, &app_id, &query, None).await,
        Err(response) => response,
    }
}

async fn redeliver(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let signed = match session_for(&clients, &headers, &app_id).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !form_csrf_ok(&body, &signed) {
        return forbidden_form();
    }
    let request = events_pb::RedeliverDeliveriesRequest { app_id: app_id.clone(), ..Default::default() };
    match clients.events.clone().redeliver_deliveries(request).await {
        Ok(done) => {
            let count = done.into_inner().redelivered;
            tracing::info!(app.id = app_id, count, "dead deliveries redelivered from the dashboard");
            let notice = format!("{count} dead deliveries will be sent again.");
            webhooks_page(&clients, &signed, &app_id, &DeliveriesQuery::default(), Some(&notice)).await
        }
        Err(status) => upstream_problem(&status, Some(&chrome_of(&signed, &app_id))),
    }
}
