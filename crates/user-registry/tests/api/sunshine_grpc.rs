//! Sunshine's user facts over the registry's gRPC API, on SQLite: the new fields in every
//! answer, JWT-login upserts, UpsertUserFromChannel and DeletePersonalInformation.

use platform::{ApiError, AppId, ErrorCode};
use proto::{Timestamp, registry::v1 as pb};
use tonic::Code;

use crate::helpers::spawn_registry;

fn identity(channel_type: &str, value: &str) -> pb::Identity {
    pb::Identity { channel_type: channel_type.into(), value: value.into() }
}

fn by_id(id: &str) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(pb::user_lookup::Key::Id(id.into())) })
}

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 123_000_000 })
}

fn error(status: &tonic::Status) -> (ErrorCode, Option<String>) {
    let err = ApiError::from_status(status);
    (err.code, err.field)
}

#[tokio::test]
async fn sunshine_fields_travel_in_every_answer() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let app_id = app.as_str().to_owned();
    let new = pb::NewUser {
        external_id: Some("Crm-1".into()),
        signed_up_at: at(1_600_000_000),
        to_be_retained: true,
        identities: vec![identity("whatsapp", "+15550100"), identity("line", "U1"), identity("line", "U1")],
        ..Default::default()
    };
    let create = pb::CreateUserRequest { app_id: app_id.clone(), user: Some(new.clone()) };
    let created = registry.client.create_user(create).await.unwrap().into_inner().user.unwrap();
    assert_eq!(created.signed_up_at, at(1_600_000_000));
    assert!(created.to_be_retained && !created.authenticated);
    assert_eq!(created.identities, [identity("line", "U1"), identity("whatsapp", "+15550100")], "sorted, once each");

    let get = pb::GetUserRequest { app_id: app_id.clone(), lookup: by_id(&created.id) };
    assert_eq!(registry.client.get_user(get).await.unwrap().into_inner().user.as_ref(), Some(&created));
    let list = pb::ListUsersRequest { app_id: app_id.clone(), page_size: 10, ..Default::default() };
    assert_eq!(registry.client.list_users(list).await.unwrap().into_inner().users, std::slice::from_ref(&created));

    let update = |patch: pb::UserPatch| pb::UpdateUserRequest {
        app_id: app_id.clone(),
        lookup: by_id(&created.id),
        patch: Some(patch),
    };
    let set = pb::UserPatch { signed_up_at: at(-1), to_be_retained: Some(false), ..Default::default() };
    let updated = registry.client.update_user(update(set)).await.unwrap().into_inner().user.unwrap();
    assert_eq!((updated.signed_up_at, updated.to_be_retained), (at(-1), false));
    let clear = pb::UserPatch { clear_signed_up_at: true, ..Default::default() };
    let updated = registry.client.update_user(update(clear)).await.unwrap().into_inner().user.unwrap();
    assert_eq!((updated.signed_up_at, updated.to_be_retained), (None, false));
    assert_eq!(updated.identities, created.identities);

    let both = pb::UserPatch { signed_up_at: at(1), clear_signed_up_at: true, ..Default::default() };
    let refused = registry.client.update_user(update(both)).await.unwrap_err();
    assert_eq!(error(&refused), (ErrorCode::InvalidArgument, Some("signed_up_at".into())));
    let year_10000 =
        pb::UserPatch { signed_up_at: Some(Timestamp { seconds: 253_402_300_800, nanos: 0 }), ..Default::default() };
    let refused = registry.client.update_user(update(year_10000)).await.unwrap_err();
    assert_eq!(error(&refused), (ErrorCode::InvalidArgument, Some("signed_up_at".into())));

    // Another user may not hold an identity this one holds; a refused create leaves nothing.
    let mut taken = pb::NewUser { identities: vec![identity("whatsapp", "+15550100")], ..Default::default() };
    let create = |user: &pb::NewUser| pb::CreateUserRequest { app_id: app_id.clone(), user: Some(user.clone()) };
    let refused = registry.client.create_user(create(&taken)).await.unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(error(&refused), (ErrorCode::AlreadyExists, Some("identities".into())));
    for bad in [identity("WhatsApp", "+1"), identity("sms", ""), identity("sms", "a\0b")] {
        taken.identities = vec![bad.clone()];
        let refused = registry.client.create_user(create(&taken)).await.unwrap_err();
        assert_eq!(error(&refused), (ErrorCode::InvalidArgument, Some("identities".into())), "{bad:?}");
    }
    taken.identities = (0..21).map(|i| identity("sms", &i.to_string())).collect();
    let refused = registry.client.create_user(create(&taken)).await.unwrap_err();
    assert_eq!(error(&refused), (ErrorCode::InvalidArgument, Some("identities".into())));
    let list = pb::ListUsersRequest { app_id: app_id.clone(), page_size: 10, ..Default::default() };
    assert_eq!(registry.client.list_users(list).await.unwrap().into_inner().users.len(), 1);
}

#[tokio::test]
async fn logins_mark_the_user_authenticated() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let upsert = |external: &str, mark_authenticated: bool| pb::UpsertUserByExternalIdRequest {
        app_id: app.as_str().into(),
        user: Some(pb::NewUser { external_id: Some(external.into()), ..Default::default() }),
        mark_authenticated,
    };
    let api = registry.client.upsert_user_by_external_id(upsert("Crm-1", false)).await.unwrap().into_inner();
    assert!(api.created && !api.user.unwrap().authenticated);
    let login = registry.client.upsert_user_by_external_id(upsert("CRM-1", true)).await.unwrap().into_inner();
    assert!(!login.created && login.user.unwrap().authenticated);
    let fresh = registry.client.upsert_user_by_external_id(upsert("Jwt-2", true)).await.unwrap().into_inner();
    assert!(fresh.created && fresh.user.unwrap().authenticated);
}

#[tokio::test]
async fn channel_upserts_create_once_and_then_find() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let upsert = |channel: Option<pb::Identity>, given_name: &str| pb::UpsertUserFromChannelRequest {
        app_id: app.as_str().into(),
        identity: channel,
        profile: Some(pb::Profile { given_name: Some(given_name.into()), ..Default::default() }),
    };
    let held = identity("messenger", "psid-1");
    let first = registry.client.upsert_user_from_channel(upsert(Some(held.clone()), "Ana")).await.unwrap().into_inner();
    let user = first.user.unwrap();
    assert!(first.created);
    assert_eq!(user.origin, pb::Origin::Channel as i32);
    assert_eq!((user.user_id.as_str(), user.identities.as_slice()), (user.id.as_str(), [held.clone()].as_slice()));
    assert_eq!(user.profile.as_ref().unwrap().given_name.as_deref(), Some("Ana"));
    let again = registry.client.upsert_user_from_channel(upsert(Some(held), "Bea")).await.unwrap().into_inner();
    assert!(!again.created);
    assert_eq!(again.user.as_ref(), Some(&user), "found unchanged");

    let missing = registry.client.upsert_user_from_channel(upsert(None, "Ana")).await.unwrap_err();
    assert_eq!(error(&missing), (ErrorCode::MissingField, Some("identity".into())));
    let bad = registry.client.upsert_user_from_channel(upsert(Some(identity("sms", "")), "Ana")).await.unwrap_err();
    assert_eq!(error(&bad), (ErrorCode::InvalidArgument, Some("identities".into())));
}

#[tokio::test]
async fn concurrent_channel_upserts_over_grpc_create_one_user() {
    let registry = spawn_registry().await;
    let app = registry.app_id().await;
    let calls = (0..100).map(|i| {
        let mut client = registry.client.clone();
        let request = pb::UpsertUserFromChannelRequest {
            app_id: app.as_str().into(),
            identity: Some(identity("whatsapp", "+15550177")),
            profile: Some(pb::Profile { given_name: Some(format!("Caller{i}")), ..Default::default() }),
        };
        tokio::spawn(async move { client.upsert_user_from_channel(request).await.map(|r| r.into_inner()) })
    });
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().expect("upserted"));
    }
    assert_eq!(answers.iter().filter(|a| a.created).count(), 1);
    let id = answers[0].user.as_ref().unwrap().id.clone();
    assert!(answers.iter().all(|a| a.user.as_ref().unwrap().id == id), "one user for every caller");
    let list = pb::ListUsersRequest { app_id: app.as_str().into(), page_size: 100, ..Default::default() };
    let mut client = registry.client.clone();
    assert_eq!(client.list_users(list).await.unwrap().into_inner().users.len(), 1);
}

#[tokio::test]
async fn delete_personal_information_keeps_the_record() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let app_id = app.as_str().to_owned();
    let new = pb::NewUser {
        user_id: Some("maria".into()),
        external_id: Some("Crm-5".into()),
        nickname: "Maria".into(),
        profile_url: "https://example.com/m.png".into(),
        profile: Some(pb::Profile {
            given_name: Some("Maria".into()),
            email: Some("m@example.com".into()),
            ..Default::default()
        }),
        metadata: [("tier".to_owned(), pb::MetadataValue { kind: Some(pb::metadata_value::Kind::BoolValue(true)) })]
            .into(),
        discovery_keys: vec!["k".into()],
        signed_up_at: at(1_000),
        to_be_retained: true,
        identities: vec![identity("sms", "+15550100")],
        ..Default::default()
    };
    let create = pb::CreateUserRequest { app_id: app_id.clone(), user: Some(new) };
    let before = registry.client.create_user(create).await.unwrap().into_inner().user.unwrap();

    let lookup = Some(pb::UserLookup { key: Some(pb::user_lookup::Key::ExternalId("CRM-5".into())) });
    let request = pb::DeletePersonalInformationRequest { app_id: app_id.clone(), lookup };
    let after = registry.client.delete_personal_information(request).await.unwrap().into_inner().user.unwrap();
    let expected = pb::User {
        nickname: String::new(),
        profile_url: String::new(),
        profile: Some(pb::Profile::default()),
        metadata: Default::default(),
        discovery_keys: Vec::new(),
        identities: Vec::new(),
        signed_up_at: None,
        updated_at: after.updated_at,
        ..before.clone()
    };
    assert_eq!(after, expected);
    assert_eq!(
        (after.id.as_str(), after.user_id.as_str(), after.external_id.as_deref()),
        (before.id.as_str(), "maria", Some("Crm-5"))
    );
    let get = pb::GetUserRequest { app_id: app_id.clone(), lookup: by_id(&before.id) };
    assert_eq!(registry.client.get_user(get).await.unwrap().into_inner().user, Some(after));

    let request =
        pb::DeletePersonalInformationRequest { app_id: AppId::generate().as_str().into(), lookup: by_id(&before.id) };
    let missing = registry.client.delete_personal_information(request).await.unwrap_err();
    assert_eq!(error(&missing).0, ErrorCode::UserNotFound);
}
