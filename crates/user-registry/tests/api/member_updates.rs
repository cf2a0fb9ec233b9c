//! Kore.ai members after their creation, over the registry's gRPC API on SQLite and PostgreSQL:
//! every particular kept, members found by email id or org user id, UpdateMembers changing one
//! member per transaction (a refused change writes nothing, concurrent changes of one member all
//! land), GetMembers in order, and the group and role listings kept in step by every write.

use platform::ApiError;
use proto::registry::v1 as pb;
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use test_support::Backend;
use tonic::Code;
use user_registry::migration::Migrator;

use crate::{
    helpers::{TestRegistry, count, spawn_registry_on},
    members::kore,
};

test_support::contract!(
    members_keep_every_particular_and_change_by_email_id_or_org_user_id,
    a_refused_change_writes_nothing,
    concurrent_changes_of_one_member_all_land,
    get_members_answers_each_email_id_in_order,
    groups_list_their_live_members_and_roles_list_distinct_ids,
    existing_members_are_indexed_by_the_migration,
);

fn info() -> pb::MemberInfo {
    pb::MemberInfo {
        company_name: Some("Acme".into()),
        dept: Some("Support".into()),
        company_contact_phone: Some("+351 21 000 0000".into()),
        work_number: Some("321".into()),
        street: Some("Rua Augusta".into()),
        suite_no: Some("4B".into()),
        city: Some("Lisboa".into()),
        zip: Some("1100-053".into()),
        state: Some("Lisboa".into()),
        country: Some("PT".into()),
    }
}

fn by_email(email: &str) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(pb::user_lookup::Key::MemberEmailId(email.into())) })
}

fn by_org(org_user_id: &str) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(pb::user_lookup::Key::OrgUserId(org_user_id.into())) })
}

fn role(role_id: &str, bot_id: Option<&str>) -> pb::RoleBinding {
    pb::RoleBinding { role_id: role_id.into(), bot_id: bot_id.map(str::to_owned) }
}

fn assign(bot: &str, dialogs: &[&str]) -> pb::BotTaskChange {
    let task =
        pb::BotTaskAssignment { stream_id: bot.into(), dialogs: dialogs.iter().map(|d| d.to_string()).collect() };
    pb::BotTaskChange { change: Some(pb::bot_task_change::Change::Assign(task)) }
}

/// A member with an org user id, groups and roles, created through CreateUser.
async fn member(
    registry: &mut TestRegistry,
    app_id: &str,
    email: &str,
    groups: &[&str],
    roles: &[pb::RoleBinding],
) -> pb::User {
    let mut user = kore(email);
    let m = user.member.as_mut().unwrap();
    m.org_user_id = Some(format!("org-{email}"));
    m.groups = groups.iter().map(|g| g.to_string()).collect();
    m.roles = roles.to_vec();
    let request = pb::CreateUserRequest { app_id: app_id.into(), user: Some(user) };
    registry.client.create_user(request).await.unwrap().into_inner().user.unwrap()
}

async fn update(
    registry: &mut TestRegistry,
    app_id: &str,
    updates: Vec<pb::MemberUpdate>,
) -> Vec<Result<pb::User, (String, String)>> {
    let request = pb::UpdateMembersRequest { app_id: app_id.into(), updates };
    let results = registry.client.update_members(request).await.unwrap().into_inner().results;
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(r.index as usize, i, "in order");
            match r.result.unwrap() {
                pb::batch_item_result::Result::User(user) => Ok(user),
                pb::batch_item_result::Result::Error(e) => Err((e.code, e.field)),
            }
        })
        .collect()
}

async fn get(registry: &mut TestRegistry, app_id: &str, id: &str) -> pb::User {
    let lookup = Some(pb::UserLookup { key: Some(pb::user_lookup::Key::Id(id.into())) });
    let request = pb::GetUserRequest { app_id: app_id.into(), lookup };
    registry.client.get_user(request).await.unwrap().into_inner().user.unwrap()
}

async fn members_keep_every_particular_and_change_by_email_id_or_org_user_id(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let mut ana = kore("Ana@Example.com");
    ana.member.as_mut().unwrap().info = Some(info());
    ana.member.as_mut().unwrap().org_user_id = Some("emp-1".into());
    ana.member.as_mut().unwrap().groups = vec!["support".into(), "sales".into()];
    ana.member.as_mut().unwrap().roles = vec![role("r-admin", None), role("r-dev", Some("st-1"))];
    ana.member.as_mut().unwrap().bot_tasks =
        vec![pb::BotTaskAssignment { stream_id: "st-1".into(), dialogs: vec!["dg-1".into()] }];
    let request = pb::CreateUserRequest { app_id: app_id.clone(), user: Some(ana) };
    let created = registry.client.create_user(request).await.unwrap().into_inner().user.unwrap();
    assert_eq!(created.member.as_ref().unwrap().info, Some(info()), "every particular kept");
    assert_eq!(get(&mut registry, &app_id, &created.id).await, created, "and read back");

    // Found by email id (any case) and by org user id; a user that is no member never is.
    let request = pb::GetUserRequest { app_id: app_id.clone(), lookup: by_email("ANA@example.COM") };
    assert_eq!(registry.client.get_user(request).await.unwrap().into_inner().user.unwrap().id, created.id);
    let request = pb::GetUserRequest { app_id: app_id.clone(), lookup: by_org("emp-1") };
    assert_eq!(registry.client.get_user(request).await.unwrap().into_inner().user.unwrap().id, created.id);
    let plain = pb::NewUser {
        user_id: Some("sb".into()),
        profile: Some(pb::Profile { email: Some("plain@example.com".into()), ..Default::default() }),
        ..Default::default()
    };
    registry.client.create_user(pb::CreateUserRequest { app_id: app_id.clone(), user: Some(plain) }).await.unwrap();
    let request = pb::GetUserRequest { app_id: app_id.clone(), lookup: by_email("plain@example.com") };
    assert_eq!(registry.client.get_user(request).await.unwrap_err().code(), Code::NotFound);

    let change = pb::MemberUpdate {
        lookup: by_email("ana@example.com"),
        org_user_id: Some("emp-9".into()),
        given_name: Some("Ana Maria".into()),
        surname: Some(String::new()),
        info: Some(pb::MemberInfo { city: Some("Porto".into()), zip: Some(String::new()), ..Default::default() }),
        remove_groups: vec!["support".into()],
        add_groups: vec!["emea".into(), "sales".into()],
        remove_roles: vec![role("r-dev", None), role("r-admin", None)],
        add_roles: vec![role("r-view", Some("st-2"))],
        bot_task_changes: vec![assign("st-2", &[]), assign("st-1", &["dg-2"])],
        can_create_bot: Some(false),
        is_developer: None,
    };
    let updated = update(&mut registry, &app_id, vec![change]).await.remove(0).unwrap();
    let m = updated.member.clone().unwrap();
    assert_eq!(m.org_user_id.as_deref(), Some("emp-9"));
    assert_eq!(m.email_id.as_deref(), Some("Ana@Example.com"), "the email id identifies; it does not change");
    let expected_info = pb::MemberInfo { city: Some("Porto".into()), zip: None, ..info() };
    assert_eq!(m.info, Some(expected_info));
    assert_eq!(m.groups, ["sales", "emea"]);
    assert_eq!(m.roles, [role("r-dev", Some("st-1")), role("r-view", Some("st-2"))], "removed with its bot only");
    let tasks: Vec<_> = m.bot_tasks.iter().map(|t| (t.stream_id.as_str(), t.dialogs.clone())).collect();
    assert_eq!(tasks, [("st-1", vec!["dg-2".to_string()]), ("st-2", vec![])]);
    assert!(!m.can_create_bot && m.is_developer);
    let profile = updated.profile.clone().unwrap();
    assert_eq!((profile.given_name.as_deref(), profile.surname), (Some("Ana Maria"), None));
    assert_eq!(profile.email.as_deref(), Some("Ana@Example.com"), "the rest of the profile stays");
    assert_eq!(get(&mut registry, &app_id, &created.id).await, updated);

    // By the new org user id; the old one finds nobody now. Unassigning all clears the tasks.
    let unassign = pb::BotTaskChange { change: Some(pb::bot_task_change::Change::UnassignAll(true)) };
    let change = pb::MemberUpdate { lookup: by_org("emp-9"), bot_task_changes: vec![unassign], ..Default::default() };
    let results = update(
        &mut registry,
        &app_id,
        vec![change, pb::MemberUpdate { lookup: by_org("emp-1"), is_developer: Some(false), ..Default::default() }],
    )
    .await;
    assert!(results[0].as_ref().unwrap().member.as_ref().unwrap().bot_tasks.is_empty());
    assert_eq!(results[1], Err(("user_not_found".into(), String::new())));
}

async fn a_refused_change_writes_nothing(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let ana = member(&mut registry, &app_id, "ana@example.com", &["a"], &[]).await;
    member(&mut registry, &app_id, "bo@example.com", &[], &[]).await;
    let too_many = (0..100).map(|i| format!("g{i}")).collect();
    let results = update(
        &mut registry,
        &app_id,
        vec![
            // Taken by another member: the other changes of this update are not kept either.
            pb::MemberUpdate {
                lookup: by_email("ana@example.com"),
                org_user_id: Some("org-bo@example.com".into()),
                given_name: Some("Changed".into()),
                ..Default::default()
            },
            pb::MemberUpdate {
                lookup: by_email("ana@example.com"),
                add_groups: too_many,
                given_name: Some("Changed".into()),
                ..Default::default()
            },
            pb::MemberUpdate {
                lookup: by_email("ana@example.com"),
                add_groups: vec![String::new()],
                ..Default::default()
            },
            pb::MemberUpdate {
                lookup: by_email("ana@example.com"),
                info: Some(pb::MemberInfo { city: Some("c".repeat(257)), ..Default::default() }),
                ..Default::default()
            },
            pb::MemberUpdate { lookup: by_email("not-an-email"), ..Default::default() },
            pb::MemberUpdate { lookup: None, ..Default::default() },
            pb::MemberUpdate { lookup: by_email("nobody@example.com"), ..Default::default() },
        ],
    )
    .await;
    let refusals: Vec<_> = results.into_iter().map(|r| r.unwrap_err()).collect();
    let expected = [
        ("already_exists", "org_user_id"),
        ("invalid_argument", "groups"),
        ("invalid_argument", "groups"),
        ("value_too_long", "info.city"),
        ("invalid_argument", "email_id"),
        ("missing_field", "lookup"),
        ("user_not_found", ""),
    ];
    let refusals: Vec<(&str, &str)> = refusals.iter().map(|(c, f)| (c.as_str(), f.as_str())).collect();
    assert_eq!(refusals, expected);
    assert_eq!(get(&mut registry, &app_id, &ana.id).await, ana, "nothing of the refused changes was written");
    let conn = registry.connection().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_group_users").await, 1, "only the group 'a'");

    let request = pb::UpdateMembersRequest { app_id: app_id.clone(), updates: vec![Default::default(); 1001] };
    let status = registry.client.update_members(request).await.unwrap_err();
    assert_eq!(
        (status.code(), ApiError::from_status(&status).field.as_deref()),
        (Code::InvalidArgument, Some("updates"))
    );
}

async fn concurrent_changes_of_one_member_all_land(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let ana = member(&mut registry, &app_id, "ana@example.com", &[], &[]).await;
    let changes = (0..12).map(|i| {
        let mut client = registry.client.clone();
        let change = pb::MemberUpdate {
            lookup: by_email("ana@example.com"),
            add_groups: vec![format!("g{i}")],
            add_roles: vec![role(&format!("r{i}"), None)],
            ..Default::default()
        };
        let request = pb::UpdateMembersRequest { app_id: app_id.clone(), updates: vec![change] };
        tokio::spawn(async move { client.update_members(request).await })
    });
    for change in changes {
        let results = change.await.unwrap().unwrap().into_inner().results;
        assert!(matches!(results[0].result, Some(pb::batch_item_result::Result::User(_))), "{results:?}");
    }
    let m = get(&mut registry, &app_id, &ana.id).await.member.unwrap();
    let mut groups = m.groups.clone();
    groups.sort();
    let mut expected: Vec<String> = (0..12).map(|i| format!("g{i}")).collect();
    expected.sort();
    assert_eq!(groups, expected, "no change lost another");
    assert_eq!(m.roles.len(), 12);
    let conn = registry.connection().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_group_users").await, 12);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_roles").await, 12);
}

async fn get_members_answers_each_email_id_in_order(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let ana = member(&mut registry, &app_id, "Ana@Example.com", &[], &[]).await;
    let bo = member(&mut registry, &app_id, "bo@example.com", &[], &[]).await;
    let other_app = registry.app().await;
    member(&mut registry, &other_app, "cy@example.com", &[], &[]).await;
    let emails =
        ["bo@example.com", "nobody@example.com", "ana@EXAMPLE.com", "not-an-email", "cy@example.com", "bo@example.com"];
    let request =
        pb::GetMembersRequest { app_id: app_id.clone(), email_ids: emails.iter().map(|e| e.to_string()).collect() };
    let results = registry.client.get_members(request).await.unwrap().into_inner().results;
    let outcomes: Vec<Result<String, (String, String)>> = results
        .into_iter()
        .map(|r| match r.result.unwrap() {
            pb::batch_item_result::Result::User(user) => Ok(user.id),
            pb::batch_item_result::Result::Error(e) => Err((e.code, e.field)),
        })
        .collect();
    let missing = || Err(("user_not_found".to_string(), String::new()));
    assert_eq!(
        outcomes,
        [
            Ok(bo.id.clone()),
            missing(),
            Ok(ana.id),
            Err(("invalid_argument".into(), "email_id".into())),
            missing(),
            Ok(bo.id),
        ]
    );
    let request = pb::GetMembersRequest { app_id, email_ids: vec!["a@example.com".into(); 1001] };
    assert_eq!(registry.client.get_members(request).await.unwrap_err().code(), Code::InvalidArgument);
}

async fn list_groups(
    registry: &mut TestRegistry,
    app_id: &str,
    offset: u64,
    limit: u32,
) -> pb::ListMemberGroupsResponse {
    let request = pb::ListMemberGroupsRequest { app_id: app_id.into(), offset, limit };
    registry.client.list_member_groups(request).await.unwrap().into_inner()
}

async fn list_roles(
    registry: &mut TestRegistry,
    app_id: &str,
    kind: pb::RoleKind,
    offset: u64,
    limit: u32,
) -> (u64, Vec<String>) {
    let request = pb::ListMemberRolesRequest { app_id: app_id.into(), kind: kind.into(), offset, limit };
    let page = registry.client.list_member_roles(request).await.unwrap().into_inner();
    (page.total, page.role_ids)
}

/// Each group's id and its members' email ids.
fn summary(page: &pb::ListMemberGroupsResponse) -> Vec<(String, Vec<String>)> {
    page.groups.iter().map(|g| (g.group_id.clone(), g.members.iter().map(|m| m.email_id.clone()).collect())).collect()
}

async fn groups_list_their_live_members_and_roles_list_distinct_ids(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let cy =
        member(&mut registry, &app_id, "cy@example.com", &["b", "a"], &[role("r2", None), role("r9", Some("st-1"))])
            .await;
    member(&mut registry, &app_id, "Ana@example.com", &["a"], &[role("r1", None), role("r9", Some("st-2"))]).await;
    // Through BatchCreateUsers too: one index, whatever the way in.
    let mut bo = kore("bo@example.com");
    bo.member.as_mut().unwrap().groups = vec!["c".into(), "a".into()];
    bo.member.as_mut().unwrap().roles = vec![role("r1", None), role("r1", None), role("r8", Some("st-1"))];
    let request = pb::BatchCreateUsersRequest { app_id: app_id.clone(), users: vec![bo] };
    registry.client.batch_create_users(request).await.unwrap();
    let other_app = registry.app().await;
    member(&mut registry, &other_app, "other@example.com", &["z"], &[role("r0", None)]).await;

    let all = list_groups(&mut registry, &app_id, 0, 0).await;
    assert_eq!(all.total, 3);
    let names = |emails: &[&str]| emails.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary(&all),
        [
            ("a".into(), names(&["Ana@example.com", "bo@example.com", "cy@example.com"])),
            ("b".into(), names(&["cy@example.com"])),
            ("c".into(), names(&["bo@example.com"])),
        ]
    );
    let cy_in_b = &all.groups[1].members[0];
    assert_eq!(
        (cy_in_b.id.as_str(), cy_in_b.given_name.as_deref(), cy_in_b.is_active),
        (cy.id.as_str(), Some("Given"), true)
    );
    let second = list_groups(&mut registry, &app_id, 1, 1).await;
    assert_eq!((second.total, summary(&second)), (3, vec![("b".into(), names(&["cy@example.com"]))]));
    assert!(list_groups(&mut registry, &app_id, u64::MAX, 50).await.groups.is_empty());

    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Admin, 0, 0).await, (2, names(&["r1", "r2"])));
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 0, 0).await, (2, names(&["r8", "r9"])));
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 1, 1).await, (2, names(&["r9"])));
    let request = pb::ListMemberRolesRequest { app_id: app_id.clone(), ..Default::default() };
    assert_eq!(registry.client.list_member_roles(request).await.unwrap_err().code(), Code::InvalidArgument);

    // An update moves cy out of "b" and "a"; a deleted member leaves every group. Groups stay.
    let change = pb::MemberUpdate {
        lookup: by_email("cy@example.com"),
        remove_groups: vec!["a".into(), "b".into()],
        remove_roles: vec![role("r2", None)],
        ..Default::default()
    };
    update(&mut registry, &app_id, vec![change]).await.remove(0).unwrap();
    // The store's delete (DeleteUser also needs token-service): the row goes, and with it (ON
    // DELETE CASCADE) its memberships.
    let conn = registry.connection().await;
    conn.execute_unprepared("DELETE FROM users WHERE member_email_norm = 'bo@example.com'").await.unwrap();
    let all = list_groups(&mut registry, &app_id, 0, 50).await;
    assert_eq!(summary(&all), [("a".into(), names(&["Ana@example.com"])), ("b".into(), vec![]), ("c".into(), vec![])]);
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Admin, 0, 0).await, (1, names(&["r1"])));
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 0, 0).await, (1, names(&["r9"])));
    // A member a deletion has claimed is gone already.
    conn.execute_unprepared("UPDATE users SET deleting_since = 1 WHERE member_email_norm = 'ana@example.com'")
        .await
        .unwrap();
    assert_eq!(summary(&list_groups(&mut registry, &app_id, 0, 1).await), [("a".into(), vec![])]);
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Admin, 0, 0).await, (0, vec![]));
    assert_eq!(list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 0, 0).await, (1, names(&["r9"])));
}

async fn existing_members_are_indexed_by_the_migration(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    member(&mut registry, &app_id, "ana@example.com", &["a", "b"], &[role("r1", None), role("r1", None)]).await;
    member(&mut registry, &app_id, "bo@example.com", &["b"], &[role("r2", Some("st-1"))]).await;
    let before = (
        list_groups(&mut registry, &app_id, 0, 0).await,
        list_roles(&mut registry, &app_id, pb::RoleKind::Admin, 0, 0).await,
        list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 0, 0).await,
    );
    // Members stored before the listing tables existed: the migration indexes them.
    let conn = registry.connection().await;
    Migrator::down(&conn, Some(1)).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_group_users").await, 3);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_roles").await, 2);
    let after = (
        list_groups(&mut registry, &app_id, 0, 0).await,
        list_roles(&mut registry, &app_id, pb::RoleKind::Admin, 0, 0).await,
        list_roles(&mut registry, &app_id, pb::RoleKind::Bot, 0, 0).await,
    );
    assert_eq!(after, before);
}
