//! The `ConversationStore` contract: channels, conversations, their participants, ending, and
//! one application never seeing another's.

use context_service::{
    app::{ContextStore, ConversationStore, Joined, StoreError},
    domain::{
        AppId, Channel, ChannelSpec, Conversation, ConversationKind, ConversationStatus, Metadata, Modality,
        Participant,
    },
};
use platform::ids::new_id;
use serde_json::json;
use test_support::Backend;

use crate::stores;

test_support::contract!(
    channels_are_kept_found_and_paged,
    conversations_are_written_with_their_participants_in_order,
    a_conversation_needs_a_channel_of_its_own_application,
    ending_is_idempotent_and_keeps_the_first_instant,
    another_application_sees_nothing,
    deleting_a_users_data_removes_their_places_only,
    joins_append_once_and_leaves_remove,
    concurrent_joins_take_distinct_positions,
    nothing_is_added_to_a_deleted_user,
    a_join_racing_a_deletion_leaves_nothing_behind,
);

fn metadata(value: serde_json::Value) -> Metadata {
    Metadata::parse(value.as_object().unwrap().clone()).unwrap()
}

fn channel(app: &AppId, name: &str, modality: Modality, at: i64) -> Channel {
    let spec = ChannelSpec::parse(name.into(), Some("about".into()), modality, metadata(json!({ "k": 1 }))).unwrap();
    Channel { app_id: app.clone(), id: new_id(), spec, created_at: at, updated_at: at }
}

fn conversation(app: &AppId, channel_id: Option<&str>, at: i64) -> Conversation {
    Conversation {
        app_id: app.clone(),
        id: new_id(),
        kind: ConversationKind::Group,
        display_name: Some("Support".into()),
        description: None,
        metadata: metadata(json!({ "source": "web", "vip": true, "score": 0.5 })),
        channel_id: channel_id.map(str::to_owned),
        agent_id: Some("helper".into()),
        status: ConversationStatus::Active,
        created_at: at,
        updated_at: at,
    }
}

fn participants(users: &[&str], at: i64) -> Vec<Participant> {
    users
        .iter()
        .zip(0..)
        .map(|(user, position)| Participant { id: new_id(), user_id: (*user).to_owned(), position, joined_at: at })
        .collect()
}

async fn channels_are_kept_found_and_paged(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let mut created = Vec::new();
    for (i, modality) in [Modality::Messaging, Modality::Email, Modality::Messaging].into_iter().enumerate() {
        let c = channel(&app, &format!("c{i}"), modality, i as i64);
        store.create_channel(&c).await.unwrap();
        created.push(c);
    }
    created.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.find_channel(&app, &created[0].id).await.unwrap(), Some(created[0].clone()));
    assert_eq!(store.find_channel(&app, &new_id()).await.unwrap(), None);

    let first = store.list_channels(&app, None, None, 2).await.unwrap();
    assert_eq!(first, created[..2].to_vec());
    let rest = store.list_channels(&app, None, Some(&first[1].id), 2).await.unwrap();
    assert_eq!(rest, created[2..].to_vec(), "keyset: the page after the last id seen");
    let email = store.list_channels(&app, Some(Modality::Email), None, 10).await.unwrap();
    assert_eq!(email.len(), 1);
    assert_eq!(email[0].spec.name, "c1");
}

async fn conversations_are_written_with_their_participants_in_order(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let c = channel(&app, "web", Modality::Messaging, 1);
    store.create_channel(&c).await.unwrap();
    let conv = conversation(&app, Some(&c.id), 2);
    let (zed, amy, bob) = (new_id(), new_id(), new_id());
    let members = participants(&[&zed, &amy, &bob], 2);
    store.create_conversation(&conv, &members).await.unwrap();
    assert_eq!(store.find_conversation(&app, &conv.id).await.unwrap(), Some(conv.clone()));

    let all = store.list_participants(&app, &conv.id, None, 10).await.unwrap();
    assert_eq!(all, members, "in the order given, not by id");
    let after_first = store.list_participants(&app, &conv.id, Some(0), 1).await.unwrap();
    assert_eq!(after_first, members[1..2].to_vec());

    // No channel at all is allowed (Sunshine's conversations have none).
    let loose = conversation(&app, None, 3);
    store.create_conversation(&loose, &participants(&[&amy], 3)).await.unwrap();
    assert_eq!(store.find_conversation(&app, &loose.id).await.unwrap(), Some(loose));
}

async fn a_conversation_needs_a_channel_of_its_own_application(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let (app, other) = (AppId::generate(), AppId::generate());
    let theirs = channel(&other, "theirs", Modality::Email, 1);
    store.create_channel(&theirs).await.unwrap();
    for channel_id in [theirs.id.clone(), new_id()] {
        let conv = conversation(&app, Some(&channel_id), 2);
        let result = store.create_conversation(&conv, &participants(&[&new_id()], 2)).await;
        assert!(matches!(result, Err(StoreError::ChannelNotFound)), "{result:?}");
        assert_eq!(store.find_conversation(&app, &conv.id).await.unwrap(), None, "nothing half-written");
        assert!(store.list_participants(&app, &conv.id, None, 10).await.unwrap().is_empty());
    }
}

async fn ending_is_idempotent_and_keeps_the_first_instant(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let conv = conversation(&app, None, 10);
    store.create_conversation(&conv, &participants(&[&new_id()], 10)).await.unwrap();
    let ended = store.end_conversation(&app, &conv.id, 20).await.unwrap().expect("found");
    assert_eq!((ended.status, ended.updated_at, ended.created_at), (ConversationStatus::Ended, 20, 10));
    let again = store.end_conversation(&app, &conv.id, 30).await.unwrap().expect("found");
    assert_eq!(again, ended, "unchanged");
    assert_eq!(store.end_conversation(&app, &new_id(), 40).await.unwrap(), None);
}

async fn another_application_sees_nothing(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let (app, other) = (AppId::generate(), AppId::generate());
    let c = channel(&app, "web", Modality::Messaging, 1);
    store.create_channel(&c).await.unwrap();
    let conv = conversation(&app, Some(&c.id), 2);
    store.create_conversation(&conv, &participants(&[&new_id()], 2)).await.unwrap();

    assert_eq!(store.find_channel(&other, &c.id).await.unwrap(), None);
    assert!(store.list_channels(&other, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.find_conversation(&other, &conv.id).await.unwrap(), None);
    assert!(store.list_participants(&other, &conv.id, None, 10).await.unwrap().is_empty());
    assert_eq!(store.end_conversation(&other, &conv.id, 3).await.unwrap(), None);
    let mine = store.find_conversation(&app, &conv.id).await.unwrap().expect("still there");
    assert_eq!(mine.status, ConversationStatus::Active, "another application cannot end it");
}

async fn deleting_a_users_data_removes_their_places_only(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let (gone, kept) = (new_id(), new_id());
    let conv = conversation(&app, None, 1);
    let members = participants(&[&gone, &kept], 1);
    store.create_conversation(&conv, &members).await.unwrap();
    // The same user id in another application is someone else.
    let other = AppId::generate();
    let theirs = conversation(&other, None, 1);
    store.create_conversation(&theirs, &participants(&[&gone], 1)).await.unwrap();

    store.delete_user(&app, &gone, 1).await.unwrap();
    assert_eq!(store.list_participants(&app, &conv.id, None, 10).await.unwrap(), members[1..].to_vec());
    assert!(store.find_conversation(&app, &conv.id).await.unwrap().is_some(), "the conversation stays");
    assert_eq!(store.list_participants(&other, &theirs.id, None, 10).await.unwrap().len(), 1);
}

async fn joins_append_once_and_leaves_remove(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let conv = conversation(&app, None, 1);
    let (amy, bob) = (new_id(), new_id());
    store.create_conversation(&conv, &participants(&[&amy], 1)).await.unwrap();
    let Joined::Added(joined) = store.add_participant(&app, &conv.id, &bob, &new_id(), 100, 5).await.unwrap() else {
        panic!("bob joins");
    };
    assert_eq!((joined.user_id.as_str(), joined.position, joined.joined_at), (bob.as_str(), 1, 5));
    let again = store.add_participant(&app, &conv.id, &bob, &new_id(), 100, 6).await.unwrap();
    assert_eq!(again, Joined::Present(joined.clone()), "a participant joins once");
    let nowhere = store.add_participant(&app, &new_id(), &bob, &new_id(), 100, 6).await.unwrap();
    assert_eq!(nowhere, Joined::NoConversation);
    let foreign = store.add_participant(&AppId::generate(), &conv.id, &bob, &new_id(), 100, 6).await.unwrap();
    assert_eq!(foreign, Joined::NoConversation);
    let full = store.add_participant(&app, &conv.id, &new_id(), &new_id(), 2, 6).await.unwrap();
    assert_eq!(full, Joined::Full, "two participants is all this conversation takes");

    assert!(store.remove_participant(&app, &conv.id, &amy, 1).await.unwrap());
    assert!(!store.remove_participant(&app, &conv.id, &amy, 2).await.unwrap());
    let left = store.list_participants(&app, &conv.id, None, 10).await.unwrap();
    assert_eq!(left, vec![joined]);
}

async fn concurrent_joins_take_distinct_positions(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let conv = conversation(&app, None, 1);
    store.create_conversation(&conv, &[]).await.unwrap();
    let mut joins = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, app, conv_id) = (store.clone(), app.clone(), conv.id.clone());
        joins.spawn(async move { store.add_participant(&app, &conv_id, &new_id(), &new_id(), 100, 2).await });
    }
    while let Some(joined) = joins.join_next().await {
        assert!(matches!(joined.unwrap().unwrap(), Joined::Added(_)));
    }
    let all = store.list_participants(&app, &conv.id, None, 100).await.unwrap();
    let positions: Vec<u32> = all.iter().map(|p| p.position).collect();
    assert_eq!(positions, (0..20).collect::<Vec<u32>>(), "no two joins took one position");
}

async fn nothing_is_added_to_a_deleted_user(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    let (gone, kept) = (new_id(), new_id());
    let conv = conversation(&app, None, 1);
    store.create_conversation(&conv, &participants(&[&kept], 1)).await.unwrap();
    store.delete_user(&app, &gone, 1).await.unwrap();
    assert!(matches!(
        store.add_participant(&app, &conv.id, &gone, &new_id(), 100, 2).await.unwrap(),
        Joined::UserDeleted
    ));
    let another = conversation(&app, None, 3);
    assert!(matches!(
        store.create_conversation(&another, &participants(&[&kept, &gone], 3)).await,
        Err(context_service::app::StoreError::UserDeleted)
    ));
    assert!(store.find_conversation(&app, &another.id).await.unwrap().is_none(), "nothing half-written");
    // Another application's user of the same id is someone else.
    let other = AppId::generate();
    let theirs = conversation(&other, None, 4);
    store.create_conversation(&theirs, &participants(&[&gone], 4)).await.unwrap();
}

/// Joins and the deletion of the joining user, at once: whatever the order they run in, the
/// user is in no conversation after.
async fn a_join_racing_a_deletion_leaves_nothing_behind(backend: Backend) {
    let (store, _db) = stores(backend).await;
    let app = AppId::generate();
    for round in 0..20 {
        let user = new_id();
        let convs: Vec<_> = (0..4).map(|i| conversation(&app, None, round * 10 + i)).collect();
        for conv in &convs {
            store.create_conversation(conv, &participants(&[&new_id()], 1)).await.unwrap();
        }
        let joins = convs.iter().map(|conv| {
            let (store, app, user, id) = (store.clone(), app.clone(), user.clone(), conv.id.clone());
            tokio::spawn(async move { store.add_participant(&app, &id, &user, &new_id(), 100, 5).await })
        });
        let deletion = {
            let (store, app, user) = (store.clone(), app.clone(), user.clone());
            tokio::spawn(async move { store.delete_user(&app, &user, 5).await })
        };
        for join in joins {
            join.await.unwrap().unwrap();
        }
        deletion.await.unwrap().unwrap();
        for conv in &convs {
            let members = store.list_participants(&app, &conv.id, None, 10).await.unwrap();
            assert!(
                members.iter().all(|p| p.user_id != user),
                "round {round}: a deleted user stayed in a conversation"
            );
        }
    }
}
