//! Sunshine conversations: creating one upserts its participants named by `userExternalId`
//! (Roster's documented difference: Sunshine answers 404), and participants page by cursor.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::{
    helpers::spawn_stack,
    sunshine::{AppKey, Auth, all_users, app_key, assert_error, call, expect, other_application, path},
};

#[tokio::test]
async fn creating_a_conversation_creates_its_unknown_participants() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    let known =
        call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(json!({ "externalId": "known" }))).await;
    let known_id = expect(known, StatusCode::CREATED).await["user"]["id"].as_str().unwrap().to_owned();

    let body = json!({
        "type": "sdkGroup",
        "displayName": "Support",
        "description": null,
        "metadata": { "lang": "en", "priority": 2 },
        "participants": [
            { "userExternalId": "new-1", "subscribeSDKClient": false },
            { "userId": known_id },
            { "userExternalId": "New-2" },
        ],
    });
    let created = expect(
        call(&stack, Method::POST, &at("/conversations"), Auth::Basic(&key), Some(body)).await,
        StatusCode::CREATED,
    )
    .await;
    let conversation = &created["conversation"];
    let id = conversation["id"].as_str().unwrap();
    assert_eq!(conversation["type"], "sdkGroup");
    assert_eq!(conversation["displayName"], "Support");
    assert_eq!(conversation.get("description"), None, "absent, never null or empty");
    assert_eq!(conversation["metadata"], json!({ "lang": "en", "priority": 2 }));
    assert!(conversation["createdAt"].as_str().unwrap().ends_with('Z'));
    let viewed = expect(
        call(&stack, Method::GET, &at(&format!("/conversations/{id}")), Auth::Basic(&key), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(&viewed["conversation"], conversation);

    // The new participants are users now, found by externalId.
    for external_id in ["new-1", "new-2"] {
        let found = call(&stack, Method::GET, &at(&format!("/users/{external_id}")), Auth::Basic(&key), None).await;
        assert_eq!(
            expect(found, StatusCode::OK).await["user"]["externalId"].as_str().map(str::to_lowercase),
            Some(external_id.to_owned())
        );
    }
    assert_eq!(all_users(&stack, &stack.app_id).await.len(), 3);
    let listed =
        call(&stack, Method::GET, &at(&format!("/conversations/{id}/participants")), Auth::Basic(&key), None).await;
    let listed = expect(listed, StatusCode::OK).await;
    let external_ids: Vec<&str> =
        listed["participants"].as_array().unwrap().iter().map(|p| p["userExternalId"].as_str().unwrap()).collect();
    assert_eq!(external_ids, ["new-1", "known", "New-2"], "in the order given");
    assert_eq!(listed["participants"][1]["userId"], known_id.as_str());
    assert_eq!(listed["participants"][1]["unreadCount"], 0);
    assert_eq!(listed["meta"], json!({ "hasMore": false }));
    assert_eq!(listed["links"], json!({}));

    let personal = json!({ "type": "personal", "participants": [{ "userExternalId": "new-1" }] });
    let personal = expect(
        call(&stack, Method::POST, &at("/conversations"), Auth::Basic(&key), Some(personal)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(personal["conversation"]["type"], "personal");
    assert_eq!(all_users(&stack, &stack.app_id).await.len(), 3, "new-1 was found, not created again");
}

#[tokio::test]
async fn conversation_mistakes_get_sunshine_error_bodies() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    let conversations = at("/conversations");
    let unknown_user = json!({ "type": "sdkGroup", "participants": [{ "userId": platform::ids::new_id() }] });
    assert_error(
        call(&stack, Method::POST, &conversations, Auth::Basic(&key), Some(unknown_user)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for (body, status, code) in [
        (json!({ "participants": [] }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({ "type": "personal" }), StatusCode::BAD_REQUEST, "bad_request"),
        (
            json!({ "type": "personal", "participants": [{ "userExternalId": "a" }, { "userExternalId": "b" }] }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({ "type": "sdkGroup", "participants": (0..11).map(|i| json!({ "userExternalId": format!("u{i}") })).collect::<Vec<_>>() }),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (json!({ "type": "sdkGroup", "displayName": "n".repeat(101) }), StatusCode::BAD_REQUEST, "bad_request"),
        (
            json!({ "type": "sdkGroup", "metadata": { "nested": { "a": 1 } } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
        ),
        (
            json!({ "type": "sdkGroup", "metadata": { "k": "v".repeat(4100) } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
        ),
    ] {
        assert_error(call(&stack, Method::POST, &conversations, Auth::Basic(&key), Some(body)).await, status, code)
            .await;
    }
    assert!(all_users(&stack, &stack.app_id).await.is_empty(), "refused bodies created no participant");
    let missing = platform::ids::new_id();
    for p in [
        format!("/conversations/{missing}"),
        format!("/conversations/{missing}/participants"),
        "/conversations/nope/participants".into(),
    ] {
        assert_error(
            call(&stack, Method::GET, &at(&p), Auth::Basic(&key), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // Another application's conversation is not found here.
    let other_app = other_application(&stack).await;
    let other_key = app_key(&stack, &other_app).await;
    let theirs = json!({ "type": "sdkGroup", "participants": [{ "userExternalId": "t" }] });
    let theirs =
        call(&stack, Method::POST, &path(&other_app, "/conversations"), Auth::Basic(&other_key), Some(theirs)).await;
    let theirs = expect(theirs, StatusCode::CREATED).await["conversation"]["id"].as_str().unwrap().to_owned();
    let foreign =
        call(&stack, Method::GET, &at(&format!("/conversations/{theirs}/participants")), Auth::Basic(&key), None).await;
    assert_error(foreign, StatusCode::NOT_FOUND, "not_found").await;
    // Join: the new participant is upserted by externalId and associated; once. Leave: gone.
    let (join_path, leave_path) = (
        path(&other_app, &format!("/conversations/{theirs}/join")),
        path(&other_app, &format!("/conversations/{theirs}/leave")),
    );
    let act = |action: &str, body: Value| {
        let at = if action == "join" { &join_path } else { &leave_path };
        call(&stack, Method::POST, at, Auth::Basic(&other_key), Some(body))
    };
    let joined = expect(act("join", json!({ "userExternalId": "newcomer" })).await, StatusCode::CREATED).await;
    assert_eq!(joined["participant"]["userExternalId"], "newcomer");
    let again = expect(act("join", json!({ "userExternalId": "newcomer" })).await, StatusCode::CREATED).await;
    assert_eq!(again["participant"]["id"], joined["participant"]["id"], "a participant joins once");
    let newcomer =
        all_users(&stack, &other_app).await.into_iter().find(|u| u.external_id.as_deref() == Some("newcomer"));
    assert!(newcomer.expect("upserted").associated_at.is_some(), "joining associates the user");
    let unknown = act("join", json!({ "userId": platform::ids::new_id() })).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(act("join", json!({})).await, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(expect(act("leave", json!({ "userExternalId": "newcomer" })).await, StatusCode::OK).await, json!({}));
    assert_error(act("leave", json!({ "userExternalId": "newcomer" })).await, StatusCode::NOT_FOUND, "not_found").await;
}

async fn page(stack: &crate::helpers::TestStack, key: &AppKey, url: &str) -> Value {
    let response = stack.http.get(url).basic_auth(&key.id, Some(&key.secret)).send().await.unwrap();
    expect(response, StatusCode::OK).await
}

#[tokio::test]
async fn participants_page_by_cursor_in_both_query_forms() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let names: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let body = json!({ "type": "sdkGroup", "participants": names.iter().map(|n| json!({ "userExternalId": n })).collect::<Vec<_>>() });
    let created =
        call(&stack, Method::POST, &path(&stack.app_id, "/conversations"), Auth::Basic(&key), Some(body)).await;
    let id = expect(created, StatusCode::CREATED).await["conversation"]["id"].as_str().unwrap().to_owned();
    let base = format!("{}/sc{}", stack.base, path(&stack.app_id, &format!("/conversations/{id}/participants")));

    // Forward by links.next, three at a time.
    let (mut seen, mut url, mut pages) = (Vec::new(), format!("{base}?page[size]=3"), 0);
    let mut all_ids = Vec::new();
    loop {
        let answer = page(&stack, &key, &url).await;
        pages += 1;
        for p in answer["participants"].as_array().unwrap() {
            seen.push(p["userExternalId"].as_str().unwrap().to_owned());
            all_ids.push(p["id"].as_str().unwrap().to_owned());
        }
        match answer["links"]["next"].as_str() {
            Some(next) => {
                assert_eq!(answer["meta"]["hasMore"], true);
                assert_eq!(answer["meta"]["afterCursor"], all_ids.last().unwrap().as_str());
                assert!(next.starts_with(&base), "{next}");
                url = next.to_owned();
            }
            None => {
                assert_eq!(answer["meta"]["hasMore"], false);
                break;
            }
        }
    }
    assert_eq!((seen, pages), (names.clone(), 4));

    // The official client's form: ?page=<JSON>.
    let json_page = serde_json::to_string(&json!({ "after": all_ids[1], "size": 4 })).unwrap();
    let encoded: String = json_page.bytes().map(|b| format!("%{b:02X}")).collect();
    let answer = page(&stack, &key, &format!("{base}?page={encoded}")).await;
    let ids: Vec<&str> = answer["participants"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, all_ids[2..6].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(answer["meta"]["beforeCursor"], all_ids[2].as_str());
    assert_eq!(answer["meta"]["afterCursor"], all_ids[5].as_str());

    // Backwards: page[before].
    let answer = page(&stack, &key, &format!("{base}?page[before]={}&page[size]=2", all_ids[5])).await;
    let ids: Vec<&str> = answer["participants"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [all_ids[3].as_str(), all_ids[4].as_str()]);
    assert_eq!(answer["meta"]["hasMore"], true);
    let prev = answer["links"]["prev"].as_str().unwrap().to_owned();
    let earlier = page(&stack, &key, &prev).await;
    assert_eq!(earlier["participants"][0]["id"], all_ids[1].as_str());

    for bad in [
        "page[size]=0",
        "page[size]=101",
        "page=%7B",
        "page[after]=tooshort",
        &format!("page[after]={}", platform::ids::new_id()),
    ] {
        let response =
            stack.http.get(format!("{base}?{bad}")).basic_auth(&key.id, Some(&key.secret)).send().await.unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
