//! One profile, seen the same through every dialect: a user made in one dialect, read in the
//! other three. Sendbird's `nickname` is Ada's `display_name` (the given and family names joined
//! when none was given); Sendbird's `profile_url` is Ada's `avatar` and Sunshine's
//! `profile.avatarUrl`, an uploaded image included; Kore's `firstName`/`lastName` are the given
//! and family names. `docs/dialects/README.md` has the table.

use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

/// A dialect's answer that must be a 2xx, as JSON.
async fn body(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

async fn ada(stack: &TestStack, method: Method, path: &str, json: Option<Value>) -> Value {
    let mut request = stack.http.request(method, format!("{}{path}", stack.base)).bearer_auth(&stack.token);
    if let Some(json) = json {
        request = request.json(&json);
    }
    body(request.send().await.expect("request")).await
}

async fn sunshine(stack: &TestStack, key: &(String, String), method: Method, path: &str, json: Option<Value>) -> Value {
    let url = format!("{}/v2/apps/{}{path}", stack.base, stack.app_id);
    let mut request = stack.http.request(method, url).basic_auth(&key.0, Some(&key.1));
    if let Some(json) = json {
        request = request.json(&json);
    }
    body(request.send().await.expect("request")).await
}

/// The Roster id of a Sendbird `user_id`, as every other dialect names the user.
async fn roster_id(stack: &TestStack, user_id: &str) -> String {
    use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let lookup = Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(user_id.to_owned())) });
    let request = pb::GetUserRequest { app_id: stack.app_id.clone(), lookup };
    registry.get_user(request).await.expect("user").into_inner().user.expect("user").id
}

async fn kore_jwt(stack: &TestStack) -> String {
    use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = pb::CreateAdminClientRequest {
        app_id: stack.app_id.clone(),
        name: "profiles".into(),
        scopes: vec![pb::Scope::UserManagement as i32],
    };
    let admin = tokens.create_admin_client(request).await.expect("admin client").into_inner();
    let claims = json!({ "appId": admin.client.expect("client").id });
    let key = jsonwebtoken::EncodingKey::from_secret(admin.secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("JWT")
}

async fn app_key(stack: &TestStack) -> (String, String) {
    let key = crate::sunshine::app_key(stack, &stack.app_id).await;
    (key.id, key.secret)
}

#[tokio::test]
async fn one_profile_through_every_dialect() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let stack = spawn_stack(backend, false).await;
        let key = app_key(&stack).await;

        // Sendbird -> Ada, Sunshine.
        let url = "https://img.example/cross.png";
        stack
            .ok(Method::POST, "/v3/users", Some(json!({ "user_id": "cross", "nickname": "Cross", "profile_url": url })))
            .await;
        let id = roster_id(&stack, "cross").await;
        let end_user = ada(&stack, Method::GET, &format!("/api/v2/end-users/{id}"), None).await;
        assert_eq!(
            (end_user["profile"]["display_name"].as_str(), end_user["profile"]["avatar"].as_str()),
            (Some("Cross"), Some(url))
        );
        let user = sunshine(&stack, &key, Method::GET, &format!("/users/{id}"), None).await;
        assert_eq!(user["user"]["profile"]["avatarUrl"], url);

        // Ada -> Sendbird, Sunshine: the names joined are the nickname.
        let avatar = "https://img.example/ada.png";
        let profile = json!({ "profile": { "first_name": "Ada", "last_name": "Lovelace", "avatar": avatar } });
        let ada_user = ada(&stack, Method::POST, "/api/v2/end-users", Some(profile)).await;
        let ada_id = ada_user["end_user_id"].as_str().expect("id").to_owned();
        let seen = stack.ok(Method::GET, &format!("/v3/users/{ada_id}"), None).await;
        assert_eq!((seen["nickname"].as_str(), seen["profile_url"].as_str()), (Some("Ada Lovelace"), Some(avatar)));
        let user = sunshine(&stack, &key, Method::GET, &format!("/users/{ada_id}"), None).await;
        assert_eq!(user["user"]["profile"], json!({ "givenName": "Ada", "surname": "Lovelace", "avatarUrl": avatar }));

        // Sunshine -> Sendbird, Ada.
        let profile = json!({ "givenName": "Sun", "surname": "Shine", "avatarUrl": "https://img.example/sun.png" });
        let created =
            sunshine(&stack, &key, Method::POST, "/users", Some(json!({ "externalId": "sun-1", "profile": profile })))
                .await;
        let sun_id = created["user"]["id"].as_str().expect("id").to_owned();
        let seen = stack.ok(Method::GET, &format!("/v3/users/{sun_id}"), None).await;
        assert_eq!(
            (seen["nickname"].as_str(), seen["profile_url"].as_str()),
            (Some("Sun Shine"), Some("https://img.example/sun.png"))
        );
        let end_user = ada(&stack, Method::GET, &format!("/api/v2/end-users/{sun_id}"), None).await;
        assert_eq!(end_user["profile"]["display_name"], "Sun Shine");
        assert_eq!(
            (end_user["profile"]["first_name"].as_str(), end_user["profile"]["last_name"].as_str()),
            (Some("Sun"), Some("Shine"))
        );

        // Kore -> Sendbird, Ada, Sunshine: firstName and lastName are the given and family names.
        let jwt = kore_jwt(&stack).await;
        let users = json!({ "users": [ { "userInfo": { "emailId": "kim@example.com", "firstName": "Kim", "lastName": "Park" }, "sendEmail": false } ] });
        let response = stack
            .http
            .post(format!("{}/api/public/users", stack.base))
            .header("auth", &jwt)
            .json(&users)
            .send()
            .await
            .unwrap();
        assert_eq!(body(response).await["msg"], "Users are created Successfully");
        let listed = stack.ok(Method::GET, "/v3/users?nickname=Kim%20Park", None).await;
        let kim_id = listed["users"][0]["user_id"].as_str().expect("Kim by her joined names").to_owned();
        let end_user = ada(&stack, Method::GET, &format!("/api/v2/end-users/{kim_id}"), None).await;
        assert_eq!(
            (end_user["profile"]["first_name"].as_str(), end_user["profile"]["last_name"].as_str()),
            (Some("Kim"), Some("Park"))
        );
        let user = sunshine(&stack, &key, Method::GET, &format!("/users/{kim_id}"), None).await;
        assert_eq!(user["user"]["profile"]["email"], "kim@example.com");

        // A Sendbird nickname change is Ada's display name; an Ada display name is Sendbird's nickname.
        stack.ok(Method::PUT, "/v3/users/cross", Some(json!({ "nickname": "Crossed" }))).await;
        let end_user = ada(&stack, Method::GET, &format!("/api/v2/end-users/{id}"), None).await;
        assert_eq!(end_user["profile"]["display_name"], "Crossed");
        ada(
            &stack,
            Method::PATCH,
            &format!("/api/v2/end-users/{id}"),
            Some(json!({ "profile": { "display_name": "X" } })),
        )
        .await;
        assert_eq!(stack.ok(Method::GET, "/v3/users/cross", None).await["nickname"], "X");
    }
}

#[tokio::test]
async fn an_uploaded_image_is_every_dialect_s_avatar_and_survives_other_writes() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
        .unwrap();
    let fields = [("user_id", "pic"), ("nickname", "Pic")];
    let response = crate::sendbird_images::send_form(&stack, Method::POST, "/v3/users", &fields, Some(&png)).await;
    let url = body(response).await["profile_url"].as_str().expect("profile_url").to_owned();
    assert!(url.starts_with(&format!("{}/profile_images/", stack.base)), "{url}");
    let id = roster_id(&stack, "pic").await;

    let end_user = ada(&stack, Method::GET, &format!("/api/v2/end-users/{id}"), None).await;
    assert_eq!(end_user["profile"]["avatar"], url.as_str());
    let user = sunshine(&stack, &key, Method::GET, &format!("/users/{id}"), None).await;
    assert_eq!(user["user"]["profile"]["avatarUrl"], url.as_str());

    // Ada sends the whole profile back on a name change: the image stays.
    ada(&stack, Method::PATCH, &format!("/api/v2/end-users/{id}"), Some(json!({ "profile": { "first_name": "P" } })))
        .await;
    let image = stack.http.get(&url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"), "the image stays");
    // A new avatar replaces it.
    ada(
        &stack,
        Method::PATCH,
        &format!("/api/v2/end-users/{id}"),
        Some(json!({ "profile": { "avatar": "https://img.example/new.png" } })),
    )
    .await;
    assert_eq!(stack.ok(Method::GET, "/v3/users/pic", None).await["profile_url"], "https://img.example/new.png");
    assert_eq!(stack.http.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
