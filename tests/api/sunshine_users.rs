//! Sunshine users by Roster id or `externalId`: create, get, PATCH with Sunshine's semantics,
//! delete, delete personal information; externalIds of any characters, percent-encoded in paths.

use proto::registry::v1 as registry_pb;
use reqwest::{Method, StatusCode};
use serde_json::json;
use test_support::Backend;

use crate::{
    helpers::spawn_stack,
    sunshine::{Auth, all_users, app_key, assert_error, call, encode, expect, path, registry},
};

#[tokio::test]
async fn users_are_created_read_patched_and_deleted() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    let body = json!({
        "externalId": "Crm-42",
        "signedUpAt": "2020-09-20T12:11:12.345+02:00",
        "toBeRetained": true,
        "profile": { "givenName": "Maria", "surname": "Santos", "email": "maria@example.com",
                     "avatarUrl": "https://example.com/m.png", "locale": "pt-BR" },
        "metadata": { "tier": 2, "vip": true, "region": "latam", "score": 1.5 },
    });
    let created =
        expect(call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(body)).await, StatusCode::CREATED)
            .await["user"]
            .clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(platform::ids::is_id(&id), "{created}");
    assert_eq!(
        created,
        json!({
            "id": id, "externalId": "Crm-42", "signedUpAt": "2020-09-20T10:11:12.345Z", "toBeRetained": true,
            "profile": { "givenName": "Maria", "surname": "Santos", "email": "maria@example.com",
                         "avatarUrl": "https://example.com/m.png", "locale": "pt-BR" },
            "metadata": { "tier": 2, "vip": true, "region": "latam", "score": 1.5 },
            "identities": [], "authenticated": false,
        })
    );
    for lookup in [id.as_str(), "Crm-42", "CRM-42"] {
        let found = expect(
            call(&stack, Method::GET, &at(&format!("/users/{lookup}")), Auth::Basic(&key), None).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(found["user"], created, "{lookup}");
    }
    let duplicate =
        call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(json!({ "externalId": "crm-42" }))).await;
    assert_error(duplicate, StatusCode::CONFLICT, "conflict").await;

    // PATCH: sent profile fields replace theirs, null clears one, absent ones stay; metadata sent
    // replaces the whole map.
    let patch =
        json!({ "profile": { "givenName": "Mary", "email": null }, "metadata": { "plan": "pro" }, "signedUpAt": null });
    let patched =
        expect(call(&stack, Method::PATCH, &at("/users/crm-42"), Auth::Basic(&key), Some(patch)).await, StatusCode::OK)
            .await;
    let patched = &patched["user"];
    assert_eq!(
        patched["profile"],
        json!({ "givenName": "Mary", "surname": "Santos", "avatarUrl": "https://example.com/m.png", "locale": "pt-BR" })
    );
    assert_eq!(patched["metadata"], json!({ "plan": "pro" }));
    assert_eq!(patched.get("signedUpAt"), None);
    assert_eq!(patched["toBeRetained"], true, "absent: unchanged");
    let only_metadata = json!({ "metadata": null, "toBeRetained": false });
    let cleared = expect(
        call(&stack, Method::PATCH, &at(&format!("/users/{id}")), Auth::Basic(&key), Some(only_metadata)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["user"]["metadata"], json!({}));
    assert_eq!(cleared["user"]["toBeRetained"], false);
    assert_eq!(cleared["user"]["profile"]["givenName"], "Mary", "profile not sent: unchanged");
    let no_profile = expect(
        call(&stack, Method::PATCH, &at(&format!("/users/{id}")), Auth::Basic(&key), Some(json!({ "profile": null })))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(no_profile["user"]["profile"], json!({}));
    let read_back =
        expect(call(&stack, Method::GET, &at(&format!("/users/{id}")), Auth::Basic(&key), None).await, StatusCode::OK)
            .await;
    assert_eq!(read_back["user"], no_profile["user"], "what PATCH answered is what was stored");

    let deleted = call(&stack, Method::DELETE, &at("/users/CRM-42"), Auth::Basic(&key), None).await;
    assert_eq!(expect(deleted, StatusCode::OK).await, json!({}));
    let gone = call(&stack, Method::GET, &at(&format!("/users/{id}")), Auth::Basic(&key), None).await;
    assert_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    let again = call(&stack, Method::DELETE, &at(&format!("/users/{id}")), Auth::Basic(&key), None).await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn deleting_personal_information_keeps_the_record_and_its_ids() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    // A user who reached out on a channel: it holds an identity.
    let request = registry_pb::UpsertUserFromChannelRequest {
        app_id: stack.app_id.clone(),
        identity: Some(registry_pb::Identity { channel_type: "whatsapp".into(), value: "+15550100".into() }),
        profile: Some(registry_pb::Profile { given_name: Some("Wanda".into()), ..Default::default() }),
    };
    let channel_user =
        registry(&stack).await.upsert_user_from_channel(request).await.unwrap().into_inner().user.unwrap();
    let user_path = path(&stack.app_id, &format!("/users/{}", channel_user.id));
    let found = expect(call(&stack, Method::GET, &user_path, Auth::Basic(&key), None).await, StatusCode::OK).await;
    assert_eq!(found["user"]["identities"], json!([{ "type": "whatsapp", "value": "+15550100" }]));
    assert_eq!(found["user"]["profile"], json!({ "givenName": "Wanda" }));
    assert_eq!(found["user"].get("externalId"), None);
    let patch = json!({ "externalId": "ignored", "metadata": { "k": "v" }, "signedUpAt": "2021-01-01T00:00:00.000Z" });
    expect(call(&stack, Method::PATCH, &user_path, Auth::Basic(&key), Some(patch)).await, StatusCode::OK).await;

    let pii = call(&stack, Method::DELETE, &format!("{user_path}/personalinformation"), Auth::Basic(&key), None).await;
    let pii = expect(pii, StatusCode::OK).await;
    assert_eq!(
        pii["user"],
        json!({ "id": channel_user.id, "toBeRetained": false, "profile": {}, "metadata": {}, "identities": [], "authenticated": false })
    );
    let kept = expect(call(&stack, Method::GET, &user_path, Auth::Basic(&key), None).await, StatusCode::OK).await;
    assert_eq!(kept, pii);

    // With an externalId: found by it, and it is kept.
    let at = |p: &str| path(&stack.app_id, p);
    let body = json!({ "externalId": "pii-1", "profile": { "email": "p@example.com" } });
    expect(call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(body)).await, StatusCode::CREATED).await;
    let pii = call(&stack, Method::DELETE, &at("/users/PII-1/personalinformation"), Auth::Basic(&key), None).await;
    let pii = expect(pii, StatusCode::OK).await;
    assert_eq!((pii["user"]["externalId"].as_str(), &pii["user"]["profile"]), (Some("pii-1"), &json!({})));
}

#[tokio::test]
async fn external_ids_travel_percent_encoded_in_paths() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    let ids = ["crm/42", "a+b", "with space", "naïve/ü+ 1?#%", "日本語"];
    for external_id in ids {
        let body = json!({ "externalId": external_id });
        expect(call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(body)).await, StatusCode::CREATED)
            .await;
    }
    for external_id in ids {
        let user_path = at(&format!("/users/{}", encode(external_id)));
        let found = expect(call(&stack, Method::GET, &user_path, Auth::Basic(&key), None).await, StatusCode::OK).await;
        assert_eq!(found["user"]["externalId"], external_id);
        let patch = json!({ "metadata": { "seen": true } });
        let patched =
            expect(call(&stack, Method::PATCH, &user_path, Auth::Basic(&key), Some(patch)).await, StatusCode::OK).await;
        assert_eq!(patched["user"]["externalId"], external_id);
    }
    // `+` in a path is a plus, never a space; `%20` is the space.
    let plus =
        expect(call(&stack, Method::GET, &at("/users/a+b"), Auth::Basic(&key), None).await, StatusCode::OK).await;
    assert_eq!(plus["user"]["externalId"], "a+b");
    assert_error(
        call(&stack, Method::GET, &at("/users/a%20b"), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let space =
        expect(call(&stack, Method::GET, &at("/users/with%20space"), Auth::Basic(&key), None).await, StatusCode::OK)
            .await;
    assert_eq!(space["user"]["externalId"], "with space");
    assert_error(
        call(&stack, Method::GET, &at("/users/with+space"), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A raw `/` is a path separator, not part of the id.
    assert_error(
        call(&stack, Method::GET, &at("/users/crm/42"), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let deleted =
        call(&stack, Method::DELETE, &at(&format!("/users/{}", encode("naïve/ü+ 1?#%"))), Auth::Basic(&key), None)
            .await;
    expect(deleted, StatusCode::OK).await;
    assert_eq!(all_users(&stack, &stack.app_id).await.len(), ids.len() - 1);

    // A 24-hex value is the Roster id first, then an externalId.
    let first =
        expect(call(&stack, Method::GET, &at("/users/crm%2F42"), Auth::Basic(&key), None).await, StatusCode::OK).await;
    let first_id = first["user"]["id"].as_str().unwrap().to_owned();
    let shadow = json!({ "externalId": first_id });
    let shadow =
        expect(call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(shadow)).await, StatusCode::CREATED)
            .await;
    let by_id = expect(
        call(&stack, Method::GET, &at(&format!("/users/{first_id}")), Auth::Basic(&key), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_id["user"]["externalId"], "crm/42", "the id wins over an equal externalId");
    let hex_like = platform::ids::new_id();
    let body = json!({ "externalId": hex_like });
    expect(call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(body)).await, StatusCode::CREATED).await;
    let by_external = expect(
        call(&stack, Method::GET, &at(&format!("/users/{hex_like}")), Auth::Basic(&key), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_external["user"]["externalId"], hex_like.as_str());
    assert_ne!(by_external["user"]["id"], shadow["user"]["id"]);
}
