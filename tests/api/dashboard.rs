//! The dashboard over HTTP, as a browser drives it (cookies and forms by hand, no redirects
//! followed): sign-in with an API token, the session cookie's attributes, CSRF refusals, a
//! wrong token, users listed and searched, a test user created, another application's users
//! never shown, sign-out.

use reqwest::{
    StatusCode,
    header::{COOKIE, LOCATION, SET_COOKIE},
};
use serde_json::json;
use test_support::Backend;

use crate::{
    helpers::{TestStack, spawn_stack},
    sunshine::other_application,
};

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of `name` among a response's `Set-Cookie`s, with the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|header| {
        let value = header.split(';').next()?.strip_prefix(&format!("{name}="))?;
        Some((value.to_owned(), header.to_owned()))
    })
}

/// The hidden `csrf` of the first form of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a form with csrf") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// A browser: its cookie jar is the one session cookie and the sign-in one.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(stack: &TestStack) -> Self {
        Self { http: client(), base: stack.base.clone(), cookies: Vec::new() }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for name in ["roster_console", "roster_console_csrf"] {
            if let Some((value, _)) = set_cookie(response, name) {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_owned(), value));
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, path: &str) -> reqwest::Response {
        let response =
            self.http.get(format!("{}{path}", self.base)).header(COOKIE, self.cookie_header()).send().await.unwrap();
        self.keep(&response);
        response
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    /// Signs in with `token`; the page it lands on.
    async fn sign_in(&mut self, token: &str) -> reqwest::Response {
        let form = self.get("/dashboard/sign-in").await.text().await.unwrap();
        self.post("/dashboard/sign-in", &[("csrf", &csrf_of(&form)), ("api_token", token)]).await
    }
}

/// The id a "new credential" page shows beside its secret.
fn shown_id(html: &str) -> String {
    let after = html.split("<dt>Id</dt><dd><code>").nth(1).expect("the id shown");
    after.split("</code>").next().unwrap().to_owned()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn sign_in_lists_searches_and_creates_users_and_signs_out() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    for (user_id, nickname) in [("ana", "Ana Lima"), ("bruno", "Bruno"), ("<script>", "Mallory")] {
        let body =
            json!({ "user_id": user_id, "nickname": nickname, "profile_url": "", "metadata": { "plan": "gold" } });
        stack.ok(reqwest::Method::POST, "/v3/users", Some(body)).await;
    }
    let mut browser = Browser::new(&stack);

    // Signed out: every page leads to sign-in, which sets its double-submit cookie.
    let home = browser.get("/dashboard").await;
    assert_eq!((home.status(), location(&home)), (StatusCode::SEE_OTHER, "/dashboard/sign-in".to_owned()));
    let users_path = format!("/dashboard/apps/{}/users", stack.app_id);
    assert_eq!(location(&browser.get(&users_path).await), "/dashboard/sign-in");
    let form = browser.get("/dashboard/sign-in").await;
    assert_eq!(form.status(), StatusCode::OK);
    let csp = form.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(form.headers()["cache-control"], "no-store");
    let (_, attributes) = set_cookie(&form, "roster_console_csrf").expect("a sign-in cookie");
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"), "{attributes}");
    let html = form.text().await.unwrap();
    assert!(html.contains(r#"<label for="api_token">"#) && html.contains("<h1>"), "labelled, with a heading");

    // A form without the matching value is refused, whatever token it carries.
    let forged =
        browser.post("/dashboard/sign-in", &[("csrf", "0".repeat(64).as_str()), ("api_token", &stack.token)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&forged, "roster_console").is_none());

    // A wrong token: refused with words, no session.
    let wrong = browser.sign_in(&"f".repeat(40)).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "roster_console").is_none());
    assert!(wrong.text().await.unwrap().contains("That API token was not accepted"));

    // The right token: a session cookie holding a random id, never the token.
    let landed = browser.sign_in(&stack.token).await;
    assert_eq!((landed.status(), location(&landed)), (StatusCode::SEE_OTHER, users_path.clone()));
    let (id, attributes) = set_cookie(&landed, "roster_console").expect("a session cookie");
    assert_eq!(id.len(), 64);
    assert_ne!(id, stack.token);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(attributes.contains(attribute), "{attribute} in {attributes}");
    }

    // The users, escaped; a search by user id.
    let page = browser.get(&users_path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(">ana<") && html.contains(">bruno<"), "{html}");
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "escaped");
    let found = browser.get(&format!("{users_path}?field=user_id&q=bruno")).await.text().await.unwrap();
    assert!(found.contains(">bruno<") && !found.contains(">ana<"));
    let api_made = browser.get(&format!("{users_path}?origin=api")).await.text().await.unwrap();
    assert!(api_made.contains(">ana<") && api_made.contains(">bruno<"), "by origin");
    let imported = browser.get(&format!("{users_path}?origin=bulk")).await.text().await.unwrap();
    assert!(imported.contains("No users found."), "none imported");
    let by_nickname = browser.get(&format!("{users_path}?field=nickname&q=Ana")).await.text().await.unwrap();
    assert!(by_nickname.contains(">ana<") && !by_nickname.contains(">bruno<"));
    let email = json!({ "external_id": "crm-9", "profile": { "first_name": "Eva", "email": "Eva.Souza@Example.com" } });
    let made = stack
        .http
        .post(format!("{}/api/v2/end-users/", stack.base))
        .bearer_auth(&stack.token)
        .json(&email)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let by_email =
        browser.get(&format!("{users_path}?field=email&q=eva.souza%40example.com")).await.text().await.unwrap();
    assert!(by_email.contains("crm-9") && !by_email.contains(">ana<"), "by email, case ignored: {by_email}");

    // A test user, with its metadata; the form needs the session's CSRF token.
    let csrf = csrf_of(&html);
    let refused = browser.post(&users_path, &[("csrf", "nope"), ("user_id", "tester"), ("nickname", "T")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let made = browser
        .post(
            &users_path,
            &[("csrf", &csrf), ("user_id", "tester"), ("nickname", "Test user"), ("metadata", r#"{"role":"qa"}"#)],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let user_page = browser.get(&location(&made)).await;
    assert_eq!(user_page.status(), StatusCode::OK);
    let html = user_page.text().await.unwrap();
    assert!(html.contains("Test user") && html.contains("qa"), "{html}");
    let viewed = stack.ok(reqwest::Method::GET, "/v3/users/tester", None).await;
    assert_eq!(viewed["metadata"]["role"], "qa", "created through the registry, as the dialects see it");
    let taken = browser.post(&users_path, &[("csrf", &csrf), ("user_id", "tester"), ("nickname", "Again")]).await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    let bad_metadata =
        browser.post(&users_path, &[("csrf", &csrf), ("user_id", "x"), ("nickname", "X"), ("metadata", "[1]")]).await;
    assert_eq!(bad_metadata.status(), StatusCode::BAD_REQUEST);
    assert!(bad_metadata.text().await.unwrap().contains("JSON object"));

    // Another application's users are never shown: not signed in to it.
    let other = other_application(&stack).await;
    let elsewhere = browser.get(&format!("/dashboard/apps/{other}/users")).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    // Signing out ends the session in token-service: the old cookie opens nothing.
    let out = browser.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status(), location(&out)), (StatusCode::SEE_OTHER, "/dashboard/sign-in".to_owned()));
    let replayed = client()
        .get(format!("{}{users_path}", stack.base))
        .header(COOKIE, format!("roster_console={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&replayed), "/dashboard/sign-in");
}

#[tokio::test]
async fn wrong_tokens_are_limited_per_minute() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let mut browser = Browser::new(&stack);
    let mut statuses = Vec::new();
    for _ in 0..gateway::dashboard::FAILED_SIGN_INS_PER_MINUTE + 1 {
        statuses.push(browser.sign_in(&"e".repeat(40)).await.status());
    }
    assert!(statuses[..statuses.len() - 1].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn a_users_tokens_state_and_deletion_are_managed_from_its_page() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "user_id": "dora", "nickname": "Dora", "profile_url": "", "issue_access_token": true });
    let created = stack.ok(reqwest::Method::POST, "/v3/users", Some(body)).await;
    let access = created["access_token"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&stack);
    browser.sign_in(&stack.token).await;
    let users_path = format!("/dashboard/apps/{}/users", stack.app_id);
    let list = browser.get(&users_path).await.text().await.unwrap();
    let at = list.find(&format!("{users_path}/")).expect("a link to the user") + users_path.len() + 1;
    let id = list[at..at + 24].to_owned();
    let user_path = format!("{users_path}/{id}");
    let page = browser.get(&user_path).await.text().await.unwrap();
    let csrf = csrf_of(&page);
    assert!(page.contains("Access tokens") && !page.contains(&access), "token ids, never values");
    assert!(page.contains(">live<"), "the access token, live");

    // Metadata edited: a value set, then removed; a form without a key refused.
    let set =
        browser.post(&format!("{user_path}/metadata"), &[("csrf", &csrf), ("key", "tier"), ("value", "gold")]).await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    assert_eq!(stack.ok(reqwest::Method::GET, "/v3/users/dora", None).await["metadata"]["tier"], "gold");
    let keyless =
        browser.post(&format!("{user_path}/metadata"), &[("csrf", &csrf), ("key", " "), ("value", "x")]).await;
    assert_eq!(keyless.status(), StatusCode::BAD_REQUEST);
    let removed = browser.post(&format!("{user_path}/metadata/delete"), &[("csrf", &csrf), ("key", "tier")]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let metadata = stack.ok(reqwest::Method::GET, "/v3/users/dora", None).await["metadata"].clone();
    assert!(metadata.get("tier").is_none(), "{metadata}");
    let forged =
        browser.post(&format!("{user_path}/metadata"), &[("csrf", "x"), ("key", "tier"), ("value", "y")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A session token, shown once, that token-service accepts.
    let issued = browser.post(&format!("{user_path}/session-token"), &[("csrf", &csrf)]).await;
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let html = issued.text().await.unwrap();
    let at = html.find(r#"id="token" type="text" readonly value=""#).expect("the token field")
        + r#"id="token" type="text" readonly value=""#.len();
    let session_token = html[at..].split('"').next().unwrap().to_owned();
    assert!(stack.validate(&session_token).await.valid, "a working session token");
    let forged = browser.post(&format!("{user_path}/session-token"), &[("csrf", "x")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Revoke all: both kinds stop working.
    let revoked = browser.post(&format!("{user_path}/revoke-tokens"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert!(!stack.validate(&session_token).await.valid);
    assert!(!stack.validate(&access).await.valid);
    let after = browser.get(&user_path).await.text().await.unwrap();
    assert!(
        after.contains("<th scope=\"col\">Revoked</th>") && !after.contains(">live<"),
        "listed as revoked: {after}"
    );

    // Deactivate, then reactivate.
    let off = browser.post(&format!("{user_path}/active"), &[("csrf", &csrf), ("active", "false")]).await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(stack.ok(reqwest::Method::GET, "/v3/users/dora", None).await["is_active"], false);
    let page = browser.get(&user_path).await.text().await.unwrap();
    assert!(page.contains("Reactivate"));
    browser.post(&format!("{user_path}/active"), &[("csrf", &csrf), ("active", "true")]).await;
    assert_eq!(stack.ok(reqwest::Method::GET, "/v3/users/dora", None).await["is_active"], true);

    // Delete: a confirmation step that must name the user.
    let confirm = browser.get(&format!("{user_path}/delete")).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(confirm.text().await.unwrap().contains("Type the user id to confirm"));
    let mistyped = browser.post(&format!("{user_path}/delete"), &[("csrf", &csrf), ("confirm", "dor")]).await;
    assert_eq!(mistyped.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stack.ok(reqwest::Method::GET, "/v3/users/dora", None).await["user_id"], "dora", "still there");
    let deleted = browser.post(&format!("{user_path}/delete"), &[("csrf", &csrf), ("confirm", "dora")]).await;
    assert_eq!((deleted.status(), location(&deleted)), (StatusCode::SEE_OTHER, users_path.clone()));
    let gone = stack.call(reqwest::Method::GET, "/v3/users/dora", &stack.token, None).await;
    assert_eq!(gone.status(), StatusCode::BAD_REQUEST, "400201 in Sendbird's dialect");
    assert_eq!(browser.get(&user_path).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_applications_settings_and_credentials_are_managed_from_its_page() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let mut browser = Browser::new(&stack);
    browser.sign_in(&stack.token).await;
    let settings_path = format!("/dashboard/apps/{}/settings", stack.app_id);
    let page = browser.get(&settings_path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = csrf_of(&html);

    // Settings: saved through token-service, refused without the session's CSRF token or with
    // a number that is not one.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Support bot"),
        ("session_token_ttl_seconds", "3600"),
        ("access_token_limit", "3"),
        ("rate_limit_per_second", "50"),
        ("unassociated_user_ttl_seconds", "0"),
        ("allow_tokenless_users", "true"),
    ];
    let saved = browser.post(&settings_path, &form).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("The settings were saved."));
    let mut tokens = proto::token::v1::token_service_client::TokenServiceClient::new(
        test_support::channel(stack.stack().token).await,
    );
    let request = proto::token::v1::GetApplicationRequest { app_id: stack.app_id.clone() };
    let app = tokens.get_application(request.clone()).await.unwrap().into_inner().application.unwrap();
    let settings = app.settings.unwrap();
    assert_eq!(app.name, "Support bot");
    assert_eq!(
        (settings.session_token_ttl_seconds, settings.access_token_limit, settings.rate_limit_per_second),
        (3600, 3, 50)
    );
    assert!(settings.allow_tokenless_users);
    let mut forged = form;
    forged[0] = ("csrf", "0");
    assert_eq!(browser.post(&settings_path, &forged).await.status(), StatusCode::FORBIDDEN);
    let mut bad = form;
    bad[3] = ("access_token_limit", "-1");
    assert_eq!(browser.post(&settings_path, &bad).await.status(), StatusCode::BAD_REQUEST);
    let unchanged = tokens.get_application(request).await.unwrap().into_inner().application.unwrap();
    assert_eq!(unchanged.settings.unwrap().access_token_limit, 3, "a refused form changes nothing");

    // An app key: its secret shown once and working as Sunshine's Basic credential; then deleted.
    let made = browser.post(&format!("{settings_path}/app-keys"), &[("csrf", &csrf), ("name", "web")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    let at = html.find(r#"id="secret" type="text" readonly value=""#).unwrap()
        + r#"id="secret" type="text" readonly value=""#.len();
    let secret = html[at..].split('"').next().unwrap().to_owned();
    let key_id = shown_id(&html);
    let users = format!("{}/v2/apps/{}/users/nobody", stack.base, stack.app_id);
    let authorized = stack.http.get(&users).basic_auth(&key_id, Some(&secret)).send().await.unwrap();
    assert_eq!(authorized.status(), StatusCode::NOT_FOUND, "the key authenticates (the user does not exist)");
    let listed = browser.get(&settings_path).await.text().await.unwrap();
    assert!(listed.contains(&key_id) && !listed.contains(&secret), "listed by id, never by secret");
    let deleted = browser.post(&format!("{settings_path}/app-keys/{key_id}/delete"), &[("csrf", &csrf)]).await;
    assert!(deleted.text().await.unwrap().contains("The app key was deleted."));
    let refused = stack.http.get(&users).basic_auth(&key_id, Some(&secret)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // An API token of scope app: it signs in to the dashboard and calls the dialects.
    let made = browser
        .post(&format!("{settings_path}/api-tokens"), &[("csrf", &csrf), ("name", "ci"), ("scope", "app")])
        .await;
    let html = made.text().await.unwrap();
    let at = html.find(r#"id="secret" type="text" readonly value=""#).unwrap()
        + r#"id="secret" type="text" readonly value=""#.len();
    let api_token = html[at..].split('"').next().unwrap().to_owned();
    let answered = stack.call(reqwest::Method::GET, "/v3/users", &api_token, None).await;
    assert_eq!(answered.status(), StatusCode::OK);
    let token_id = shown_id(&html);
    let listed = browser.get(&settings_path).await.text().await.unwrap();
    assert!(listed.contains(&token_id) && !listed.contains(&api_token), "listed by id, never by value");
    let revoked = browser.post(&format!("{settings_path}/api-tokens/{token_id}/delete"), &[("csrf", &csrf)]).await;
    assert!(revoked.text().await.unwrap().contains("The API token was revoked."));
    let refused = stack.call(reqwest::Method::GET, "/v3/users", &api_token, None).await;
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], 400401, "refused at once by this replica: {refused}");
    assert!(!browser.get(&settings_path).await.text().await.unwrap().contains(&token_id));

    // An admin client: created, listed by id, deleted.
    let made = browser.post(&format!("{settings_path}/admin-clients"), &[("csrf", &csrf), ("name", "kore")]).await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    let client_id = shown_id(&html);
    assert!(browser.get(&settings_path).await.text().await.unwrap().contains(&client_id));
    let deleted = browser.post(&format!("{settings_path}/admin-clients/{client_id}/delete"), &[("csrf", &csrf)]).await;
    assert!(deleted.text().await.unwrap().contains("The admin client was deleted."));
    assert!(!browser.get(&settings_path).await.text().await.unwrap().contains(&client_id));
}

#[tokio::test]
async fn webhooks_and_their_delivery_log_are_shown() {
    use proto::events::v1 as events_pb;
    let stack = crate::helpers::spawn_stack_with(Backend::Sqlite, false, crate::webhooks_sendbird::quick).await;
    let mut receiver = crate::receiver::Receiver::start(0).await;
    let body = json!({"enabled": true, "url": receiver.url(), "enabled_events": ["*"]});
    stack.ok(reqwest::Method::PUT, "/v3/applications/settings/webhook", Some(body)).await;
    let user = json!({ "user_id": "hooked", "nickname": "Hooked", "profile_url": "" });
    stack.ok(reqwest::Method::POST, "/v3/users", Some(user)).await;
    receiver.next_delivered().await;
    crate::webhooks_sendbird::wait_for(&stack, events_pb::DeliveryStatus::Delivered, 1).await;

    let mut browser = Browser::new(&stack);
    browser.sign_in(&stack.token).await;
    let path = format!("/dashboard/apps/{}/webhooks", stack.app_id);
    let page = browser.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&receiver.url()) && html.contains("Sendbird"), "the subscription: {html}");
    assert!(
        html.contains("user.created") && html.contains("delivered") && html.contains("HTTP 200"),
        "the log: {html}"
    );
    let dead_only = browser.get(&format!("{path}?status=dead")).await.text().await.unwrap();
    assert!(dead_only.contains("No deliveries."), "filtered by status");
    let csrf = csrf_of(&html);
    let redelivered = browser.post(&format!("{path}/redeliver"), &[("csrf", &csrf)]).await;
    assert_eq!(redelivered.status(), StatusCode::OK);
    assert!(redelivered.text().await.unwrap().contains("0 dead deliveries will be sent again."));
    assert_eq!(browser.post(&format!("{path}/redeliver"), &[("csrf", "x")]).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sensitive_metadata_shows_its_field_names_never_its_values() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "profile": { "first_name": "Sam",
        "sensitive_metadata": { "fields": { "national_id": "123-45-6789", "auth_token": "tok_secret_value" } } } });
    let created = stack
        .http
        .post(format!("{}/api/v2/end-users/", stack.base))
        .bearer_auth(&stack.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<serde_json::Value>().await.unwrap()["end_user_id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&stack);
    browser.sign_in(&stack.token).await;
    let page = browser.get(&format!("/dashboard/apps/{}/users/{id}", stack.app_id)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<code>auth_token</code>") && html.contains("<code>national_id</code>"), "{html}");
    assert!(!html.contains("123-45-6789") && !html.contains("tok_secret_value"), "never the values");
}

#[tokio::test]
async fn a_users_context_objects_and_conversations_are_shown() {
    use proto::context::v1::{self as context_pb, context_service_client::ContextServiceClient};
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "user_id": "erin", "nickname": "Erin", "profile_url": "" });
    stack.ok(reqwest::Method::POST, "/v3/users", Some(body)).await;
    let mut registry = crate::sunshine::registry(&stack).await;
    let lookup =
        proto::registry::v1::UserLookup { key: Some(proto::registry::v1::user_lookup::Key::UserId("erin".into())) };
    let request = proto::registry::v1::GetUserRequest { app_id: stack.app_id.clone(), lookup: Some(lookup) };
    let id = registry.get_user(request).await.unwrap().into_inner().user.unwrap().id;
    let mut context = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let key =
        context_pb::ContextKey { app_id: stack.app_id.clone(), user_id: id.clone(), agent_id: "support-bot".into() };
    let set = context_pb::SetContextRequest {
        key: Some(key),
        language: Some("pt-BR".into()),
        country: Some("BR".into()),
        values: [("plan".to_owned(), "gold".to_owned())].into(),
    };
    context.set_context(set).await.unwrap();
    let conversation = context_pb::CreateConversationRequest {
        app_id: stack.app_id.clone(),
        kind: context_pb::ConversationKind::Personal.into(),
        participants: vec![context_pb::ParticipantRef {
            key: Some(context_pb::participant_ref::Key::UserId(id.clone())),
        }],
        display_name: Some("Billing question".into()),
        ..Default::default()
    };
    let conversation_id =
        context.create_conversation(conversation).await.unwrap().into_inner().conversation.unwrap().id;

    let mut browser = Browser::new(&stack);
    browser.sign_in(&stack.token).await;
    let html = browser.get(&format!("/dashboard/apps/{}/users/{id}", stack.app_id)).await.text().await.unwrap();
    for shown in ["support-bot", "pt-BR", "BR", "plan", "gold", conversation_id.as_str(), "Billing question", "active"]
    {
        assert!(html.contains(shown), "{shown} in {html}");
    }
}
