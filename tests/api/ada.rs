//! The Ada API v2 end users, as code written for Ada calls them.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

async fn ada(stack: &TestStack, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
    let mut request = stack.http.request(method, format!("{}{path}", stack.base));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    request.send().await.unwrap()
}

async fn ok(stack: &TestStack, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
    let response = ada(stack, method.clone(), path, Some(&stack.token), body).await;
    assert_eq!(response.status(), status, "{method} {path}");
    response.json().await.unwrap()
}

/// Ada's error body, and the type it names.
async fn assert_ada_error(response: Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["type"], kind, "{body}");
    assert!(body["errors"][0]["message"].is_string());
    body
}

#[tokio::test]
async fn end_users_are_created_once_per_external_id() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let blank = ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
    assert!(platform::ids::is_id(blank["end_user_id"].as_str().unwrap()));
    assert_eq!(blank["external_id"], Value::Null);
    assert!(blank["created_at"].as_str().unwrap().ends_with("+00:00"));

    let body = json!({
        "external_id": "Crm-1",
        "profile": { "first_name": "Maria", "last_name": "Santos", "email": "maria@example.com",
                     "language": "pt-BR", "metadata": { "region": "latam", "tier": 2, "vip": true } }
    });
    let created = ok(&stack, Method::POST, "/api/v2/end-users", Some(body), StatusCode::CREATED).await;
    assert_eq!(created["profile"]["display_name"], "Maria Santos", "derived from the names");
    assert_eq!(created["profile"]["metadata"], json!({ "region": "latam", "tier": 2, "vip": true }));
    let again = json!({ "external_id": "CRM-1", "profile": { "first_name": "Someone else" } });
    let existing = ok(&stack, Method::POST, "/api/v2/end-users/", Some(again), StatusCode::OK).await;
    assert_eq!(existing, created, "the known end user, unchanged");

    // The same user through the Sendbird dialect, by its Roster id.
    let id = created["end_user_id"].as_str().unwrap();
    let sendbird = stack.ok(Method::GET, &format!("/v3/users/{id}"), None).await;
    assert_eq!(sendbird["user_id"], id);
}

#[tokio::test]
async fn end_users_are_read_patched_and_listed() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "external_id": "a-1", "profile": { "first_name": "Ada", "email": "ada@example.com", "metadata": { "k": "v" } } });
    let created = ok(&stack, Method::POST, "/api/v2/end-users/", Some(body), StatusCode::CREATED).await;
    let id = created["end_user_id"].as_str().unwrap().to_owned();
    assert_eq!(ok(&stack, Method::GET, &format!("/api/v2/end-users/{id}"), None, StatusCode::OK).await, created);
    assert_eq!(ok(&stack, Method::GET, &format!("/api/v2/end-users/{id}/"), None, StatusCode::OK).await, created);

    let patch = json!({ "profile": { "last_name": "Lovelace", "metadata": { "plan": "pro" } } });
    let patched = ok(&stack, Method::PATCH, &format!("/api/v2/end-users/{id}"), Some(patch), StatusCode::OK).await;
    assert_eq!(patched["profile"]["first_name"], "Ada", "keys not sent survive");
    assert_eq!(patched["profile"]["email"], "ada@example.com");
    assert_eq!(patched["profile"]["last_name"], "Lovelace");
    assert_eq!(patched["profile"]["display_name"], "Ada Lovelace", "a derived display name follows the names");
    let named = json!({ "profile": { "display_name": "The Countess" } });
    let named = ok(&stack, Method::PATCH, &format!("/api/v2/end-users/{id}"), Some(named), StatusCode::OK).await;
    let renamed = json!({ "profile": { "first_name": "Augusta" } });
    let renamed = ok(&stack, Method::PATCH, &format!("/api/v2/end-users/{id}"), Some(renamed), StatusCode::OK).await;
    assert_eq!(
        (named["profile"]["display_name"].as_str(), renamed["profile"]["display_name"].as_str()),
        (Some("The Countess"), Some("The Countess")),
        "one set explicitly stays"
    );
    assert_eq!(patched["profile"]["metadata"], json!({ "k": "v", "plan": "pro" }));
    let cleared = ok(
        &stack,
        Method::PATCH,
        &format!("/api/v2/end-users/{id}/"),
        Some(json!({ "external_id": null })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["external_id"], Value::Null);

    ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({ "external_id": "taken" })), StatusCode::CREATED).await;
    let conflict = ada(
        &stack,
        Method::PATCH,
        &format!("/api/v2/end-users/{id}"),
        Some(&stack.token),
        Some(json!({ "external_id": "TAKEN" })),
    )
    .await;
    assert_ada_error(conflict, StatusCode::CONFLICT, "conflict").await;

    for _ in 0..3 {
        ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
    }
    let mut seen = Vec::new();
    let mut url = format!("{}/api/v2/end-users/?limit=2", stack.base);
    loop {
        let page: Value = stack.http.get(&url).bearer_auth(&stack.token).send().await.unwrap().json().await.unwrap();
        seen.extend(page["data"].as_array().unwrap().iter().map(|u| u["end_user_id"].as_str().unwrap().to_owned()));
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5), "every end user once");
    let found = ok(&stack, Method::GET, "/api/v2/end-users/?external_id=TaKeN", None, StatusCode::OK).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["meta"]["next_page_url"], Value::Null);
}

#[tokio::test]
async fn mistakes_get_adas_error_bodies_and_change_nothing() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    for (body, parameter) in [
        (json!({ "external_id": "x".repeat(37) }), "external_id"),
        (json!({ "external_id": "<script>" }), "external_id"),
        (json!({ "external_id": 7 }), "external_id"),
        (json!({ "profile": { "email": "not-an-email" } }), "profile.email"),
        (json!({ "profile": { "language": "english please" } }), "profile.language"),
        (json!({ "profile": { "metadata": { "nested": { "no": 1 } } } }), "profile.metadata.nested"),
        (json!({ "profile": { "sensitive_metadata": "s" } }), "profile.sensitive_metadata"),
        (
            json!({ "profile": { "sensitive_metadata": { "fields": { "t": 1 } } } }),
            "profile.sensitive_metadata.fields.t",
        ),
        (
            json!({ "profile": { "sensitive_metadata": { "fields": { "": "s" } } } }),
            "profile.sensitive_metadata.fields",
        ),
    ] {
        let response = ada(&stack, Method::POST, "/api/v2/end-users/", Some(&stack.token), Some(body)).await;
        let error = assert_ada_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(error["errors"][0]["details"][0]["parameter"], parameter, "{error}");
        assert_eq!(error["errors"][0]["details"][0]["location"], "body");
    }
    let big = json!({ "profile": { "metadata": { "k": "v".repeat(5000) } } });
    let too_large = ada(&stack, Method::POST, "/api/v2/end-users/", Some(&stack.token), Some(big)).await;
    assert_ada_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let unauthorized = ada(&stack, Method::POST, "/api/v2/end-users/", None, Some(json!({}))).await;
    assert_ada_error(unauthorized, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = ada(&stack, Method::GET, "/api/v2/end-users/", Some("nope"), None).await;
    assert_ada_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for id in ["nope".to_owned(), platform::ids::new_id()] {
        let missing = ada(&stack, Method::GET, &format!("/api/v2/end-users/{id}"), Some(&stack.token), None).await;
        assert_ada_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    }
    let listed = ok(&stack, Method::GET, "/api/v2/end-users/", None, StatusCode::OK).await;
    assert_eq!(listed["data"], json!([]), "nothing was created");
    let bad_limit = ada(&stack, Method::GET, "/api/v2/end-users/?limit=0", Some(&stack.token), None).await;
    let error = assert_ada_error(bad_limit, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(error["errors"][0]["details"][0]["location"], "query");

    // Another application's token finds nothing.
    let created =
        ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({ "external_id": "mine" })), StatusCode::CREATED)
            .await;
    let other = stack.second_application().await;
    let path = format!("/api/v2/end-users/{}", created["end_user_id"].as_str().unwrap());
    assert_ada_error(ada(&stack, Method::GET, &path, Some(&other), None).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let patch =
        ada(&stack, Method::PATCH, &path, Some(&other), Some(json!({ "profile": { "first_name": "x" } }))).await;
    assert_ada_error(patch, StatusCode::NOT_FOUND, "not_found").await;
    let theirs = ada(&stack, Method::GET, "/api/v2/end-users/?external_id=mine", Some(&other), None).await;
    assert_eq!(theirs.json::<Value>().await.unwrap()["data"], json!([]));
}

async fn two_hundred_concurrent_creates_of_one_external_id(backend: Backend) {
    let stack = spawn_stack(backend, false).await;
    let creates = (0..200).map(|i| {
        let (http, base, token) = (stack.http.clone(), stack.base.clone(), stack.token.clone());
        let external = if i % 2 == 0 { "Crowd-1" } else { "CROWD-1" };
        tokio::spawn(async move {
            let response = http
                .post(format!("{base}/api/v2/end-users/"))
                .bearer_auth(token)
                .json(&json!({ "external_id": external }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body["end_user_id"].as_str().unwrap_or_default().to_owned())
        })
    });
    let (mut created, mut existing, mut ids) = (0, 0, Vec::new());
    for create in creates {
        let (status, id) = create.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => existing += 1,
            other => panic!("unexpected {other}"),
        }
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!((created, existing, ids.len()), (1, 199, 1));
}

#[tokio::test]
async fn two_hundred_concurrent_creates_give_one_201_on_sqlite() {
    two_hundred_concurrent_creates_of_one_external_id(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_hundred_concurrent_creates_give_one_201_on_postgres() {
    two_hundred_concurrent_creates_of_one_external_id(Backend::Postgres).await;
}

#[tokio::test]
async fn sensitive_metadata_is_write_only_and_read_back_only_with_the_scope() {
    use proto::{
        registry::v1::{self as registry_pb, registry_service_client::RegistryServiceClient},
        token::v1::{self as token_pb, token_service_client::TokenServiceClient},
    };
    let stack = spawn_stack(Backend::Postgres, true).await;
    let secret = "eyJhbGciOiJIUzI1NiIs.sealed";
    let body = json!({ "external_id": "s-1", "profile": { "first_name": "Maria",
        "sensitive_metadata": { "fields": { "auth_token": secret, "session_id": "sess_abc123" } } } });
    let response = ada(&stack, Method::POST, "/api/v2/end-users/", Some(&stack.token), Some(body)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["end_user_id"].as_str().unwrap().to_owned();
    let patch = json!({ "profile": { "sensitive_metadata": { "fields": { "session_id": "sess_new" } } } });
    let patched = ada(&stack, Method::PATCH, &format!("/api/v2/end-users/{id}"), Some(&stack.token), Some(patch)).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let mut answers = vec![text, patched.text().await.unwrap()];
    for path in
        [format!("/api/v2/end-users/{id}"), "/api/v2/end-users/?external_id=s-1".into(), format!("/v3/users/{id}")]
    {
        let response = if path.starts_with("/v3") {
            stack.get(&path, Some(&stack.token)).await
        } else {
            ada(&stack, Method::GET, &path, Some(&stack.token), None).await
        };
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        answers.push(response.text().await.unwrap());
    }
    for answer in &answers {
        for hidden in [secret, "sess_abc123", "sess_new", "sensitive", "auth_token"] {
            assert!(!answer.contains(hidden), "{hidden} in {answer}");
        }
    }

    // Over gRPC only, and only with an API token of this application holding the scope.
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let read = |token: Option<String>| {
        let mut request = tonic::Request::new(registry_pb::GetSensitiveMetadataRequest {
            app_id: stack.app_id.clone(),
            lookup: Some(registry_pb::UserLookup { key: Some(registry_pb::user_lookup::Key::Id(id.clone())) }),
        });
        if let Some(token) = token {
            request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    };
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let scoped = |app_id: String| token_pb::CreateApiTokenRequest {
        app_id,
        name: "agent-runtime".into(),
        scopes: vec![token_pb::Scope::SensitiveMetadata as i32],
    };
    let reader = tokens.create_api_token(scoped(stack.app_id.clone())).await.unwrap().into_inner().api_token;
    let other_app = tokens
        .create_application(token_pb::CreateApplicationRequest {
            name: "o".into(),
            settings: None,
            with_api_token: false,
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
        .id;
    let foreign_reader = tokens.create_api_token(scoped(other_app)).await.unwrap().into_inner().api_token;
    for (who, token) in [
        ("no token", None),
        ("the app's dialect token", Some(stack.token.clone())),
        ("another app's reader", Some(foreign_reader)),
        ("garbage", Some("nope".to_owned())),
    ] {
        let refused = registry.get_sensitive_metadata(read(token)).await.expect_err(who);
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{who}");
    }
    let fields = registry.get_sensitive_metadata(read(Some(reader.clone()))).await.unwrap().into_inner().fields;
    assert_eq!(fields.len(), 2);
    assert_eq!(fields["auth_token"], secret);
    assert_eq!(fields["session_id"], "sess_new", "merged by the PATCH");
    // The reader token is not a key to the dialect APIs.
    let refused = ada(&stack, Method::GET, "/api/v2/end-users/", Some(&reader), None).await;
    assert_ada_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
}

/// Keyset pages visit every end user present throughout exactly once, while others are
/// inserted and not-yet-visited ones deleted between pages.
#[tokio::test]
async fn paging_visits_each_end_user_once_under_concurrent_inserts_and_deletes() {
    use std::collections::{BTreeSet, HashMap};
    let stack = spawn_stack(Backend::Postgres, false).await;
    let mut originals = BTreeSet::new();
    for _ in 0..40 {
        let created = ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
        originals.insert(created["end_user_id"].as_str().unwrap().to_owned());
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut deleted = BTreeSet::new();
    let mut next = Some(format!("{}/api/v2/end-users/?limit=7", stack.base));
    while let Some(url) = next {
        let page: Value = stack.http.get(&url).bearer_auth(&stack.token).send().await.unwrap().json().await.unwrap();
        let ids: Vec<String> =
            page["data"].as_array().unwrap().iter().map(|u| u["end_user_id"].as_str().unwrap().to_owned()).collect();
        let last = ids.last().cloned();
        for id in ids {
            *seen.entry(id).or_default() += 1;
        }
        // Between pages: three new end users, and one original not reached yet is deleted.
        for _ in 0..3 {
            ok(&stack, Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
        }
        // Only ahead of a page that had rows: after an empty last page every original was seen.
        let ahead = last.and_then(|last| originals.iter().find(|id| **id > last && !deleted.contains(*id)).cloned());
        if let Some(ahead) = ahead {
            stack.ok(Method::DELETE, &format!("/v3/users/{ahead}"), None).await;
            deleted.insert(ahead);
        }
        next = page["meta"]["next_page_url"].as_str().map(str::to_owned);
    }
    assert!(seen.values().all(|n| *n == 1), "an end user came twice");
    for id in &originals {
        let expected = usize::from(!deleted.contains(id));
        assert_eq!(
            seen.get(id).copied().unwrap_or(0),
            expected,
            "{id}: deleted before its page = {}",
            deleted.contains(id)
        );
    }
    assert!(!deleted.is_empty());
}
