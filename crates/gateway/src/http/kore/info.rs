//! `POST /api/public/usersInfo`: members by email id through the registry's GetMembers, in Kore's
//! shape, as a top-level array: one item per member found (those the `status` filter keeps) and
//! one failure item per email id no member holds, in the order asked.

use axum::{Json, body::Bytes, extract::State, extract::rejection::BytesRejection};
use proto::registry::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{KoreAdmin, KoreError, MAX_PER_REQUEST, failure::Failure, failure::Reason};
use crate::{
    clients::{Clients, RequestId},
    http::error::incomplete,
};

/// Kore's words for a member nobody holds the email id of.
const NOT_FOUND: &str = "User not found. Please check the provided email address.";

/// `POST /api/public/usersInfo`.
#[derive(utoipa::ToSchema)]
#[schema(as = kore::UsersInfoRequest)]
#[allow(dead_code)] // described, not built: the body is read by `asked`
pub struct UsersInfoRequest {
    #[schema(rename = "emailIds", min_items = 1, max_items = 1000)]
    email_ids: Vec<String>,
    /// `all` when absent.
    status: Option<StatusFilter>,
}

/// Which members the answer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[schema(as = kore::UserStatus)]
pub enum StatusFilter {
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "not active")]
    NotActive,
    #[serde(rename = "all")]
    All,
}

/// The email ids and the filter, or why the whole request is refused.
fn asked(body: &Value) -> Result<(Vec<String>, StatusFilter), KoreError> {
    let email_ids: Vec<String> = body
        .get("emailIds")
        .and_then(Value::as_array)
        .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| KoreError::bad_request("emailIds must be an array of strings"))?;
    if email_ids.is_empty() || email_ids.len() > MAX_PER_REQUEST {
        return Err(KoreError::bad_request(format!("emailIds must hold 1 to {MAX_PER_REQUEST} email ids")));
    }
    let status = match body.get("status") {
        None | Some(Value::Null) => StatusFilter::All,
        Some(status) => StatusFilter::deserialize(status)
            .map_err(|_| KoreError::bad_request("status must be active, not active or all"))?,
    };
    Ok((email_ids, status))
}

/// One item of the answer: a member, or an email id no member holds.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = kore::UserInfoItem)]
pub enum UserInfoItem {
    Found(Box<MemberView>),
    Failed {
        #[serde(rename = "userInfo")]
        user_info: FailedLookup,
    },
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::FailedLookup)]
pub struct FailedLookup {
    email_id: String,
    /// `failure`.
    status: &'static str,
    reason: Reason,
}

/// A member as Kore describes a user. Roster keeps ids only: no role or bot names, and a
/// group's name is its id.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::Member)]
pub struct MemberView {
    can_create_bot: bool,
    is_developer: bool,
    user_info: MemberInfoView,
    roles: RolesView,
    assign_bot_tasks: Vec<BotTaskView>,
    groups: Vec<GroupRef>,
}

/// Every `userInfo` field kept, and Kore's `userId` (the Roster id), `status` and `lastLogin`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::MemberInfo)]
pub struct MemberInfoView {
    email_id: String,
    /// The Roster id (as in `/v3/users/{id}`).
    user_id: String,
    /// `""` when none, as Kore answers.
    first_name: String,
    last_name: String,
    /// `active`, or `inactive` while the activation is pending or the user is deactivated.
    status: &'static str,
    /// When the user was last seen, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dept: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_contact_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "worknumber")]
    #[schema(rename = "worknumber")]
    work_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suite_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

/// Roles held in a bot (`btRoles`) and without one (`adminRoles`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::MemberRoles)]
pub struct RolesView {
    bt_roles: Vec<RoleView>,
    admin_roles: Vec<RoleView>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::MemberRole)]
pub struct RoleView {
    role_id: String,
    /// Groups the role comes through: always empty (Roster binds roles to members only).
    groups: Vec<String>,
    /// Bot roles only.
    #[serde(skip_serializing_if = "Option::is_none")]
    bot_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::BotTaskView)]
pub struct BotTaskView {
    bot_id: String,
    /// Empty: every dialog of the bot.
    dialogs: Vec<String>,
    /// Always empty: Roster assigns dialogs only.
    actions: Vec<String>,
    alerts: Vec<String>,
    knowledge_task: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::GroupRef)]
pub struct GroupRef {
    group_id: String,
    /// The group's id: Roster's groups have no other name.
    group_name: String,
}

/// Kore's status of a member: active once activated and while not deactivated.
pub fn status(is_active: bool, activation: i32) -> &'static str {
    if is_active && activation != pb::ActivationState::Pending as i32 { "active" } else { "inactive" }
}

fn view(user: pb::User) -> Option<MemberView> {
    let member = user.member?;
    let profile = user.profile.unwrap_or_default();
    let info = member.info.unwrap_or_default();
    let (bt_roles, admin_roles) = member
        .roles
        .into_iter()
        .map(|r| RoleView { role_id: r.role_id, groups: Vec::new(), bot_id: r.bot_id })
        .partition(|r| r.bot_id.is_some());
    Some(MemberView {
        can_create_bot: member.can_create_bot,
        is_developer: member.is_developer,
        user_info: MemberInfoView {
            email_id: member.email_id.unwrap_or_default(),
            user_id: user.id,
            first_name: profile.given_name.unwrap_or_default(),
            last_name: profile.surname.unwrap_or_default(),
            status: status(user.is_active, member.activation),
            last_login: user.last_seen_at.map(|t| platform::time::iso8601_millis(proto::timestamp_to_millis(&t))),
            org_user_id: member.org_user_id,
            company_name: info.company_name,
            dept: info.dept,
            company_contact_phone: info.company_contact_phone,
            work_number: info.work_number,
            street: info.street,
            suite_no: info.suite_no,
            city: info.city,
            zip: info.zip,
            state: info.state,
            country: info.country,
        },
        roles: RolesView { bt_roles, admin_roles },
        assign_bot_tasks: member
            .bot_tasks
            .into_iter()
            .map(|t| BotTaskView {
                bot_id: t.stream_id,
                dialogs: t.dialogs,
                actions: Vec::new(),
                alerts: Vec::new(),
                knowledge_task: Vec::new(),
            })
            .collect(),
        groups: member.groups.into_iter().map(|g| GroupRef { group_id: g.clone(), group_name: g }).collect(),
    })
}

/// `{ "emailIds": [...], "status"? }` -> `[ member | { "userInfo": { "emailId", "status":
/// "failure", "reason" } } ]`.
#[utoipa::path(post, path = "/api/public/usersInfo", tag = "Kore.ai", security(("kore_auth" = [])),
    request_body(content = UsersInfoRequest, content_type = "application/json"),
    responses((status = 200, description = "Each member found (as the status filter keeps) and each email id no member holds, in order", body = Vec<UserInfoItem>), super::error::Errors))]
pub async fn users_info(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<UserInfoItem>>, KoreError> {
    let (email_ids, filter) = asked(&super::json_body(body)?)?;
    let request = pb::GetMembersRequest { app_id: caller.app_id.as_str().to_owned(), email_ids: email_ids.clone() };
    let results = clients.registry.clone().get_members(request_id.grpc(request)).await?.into_inner().results;
    let mut items = Vec::with_capacity(results.len());
    for (email_id, result) in email_ids.into_iter().zip(results) {
        let failure = match result.result.ok_or_else(incomplete)? {
            pb::batch_item_result::Result::User(user) => {
                let member = view(user).ok_or_else(incomplete)?;
                let active = member.user_info.status == "active";
                let kept = match filter {
                    StatusFilter::All => true,
                    StatusFilter::Active => active,
                    StatusFilter::NotActive => !active,
                };
                if kept {
                    items.push(UserInfoItem::Found(Box::new(member)));
                }
                continue;
            }
            pb::batch_item_result::Result::Error(error) if error.code == "user_not_found" => {
                Failure { status: 400, message: NOT_FOUND.into() }
            }
            pb::batch_item_result::Result::Error(error) => Failure::from_registry(&error),
        };
        items.push(UserInfoItem::Failed {
            user_info: FailedLookup { email_id, status: "failure", reason: failure.reason() },
        });
    }
    Ok(Json(items))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_names_email_ids_and_a_status() {
        let (ids, filter) = asked(&json!({ "emailIds": ["a@b.co"] })).unwrap();
        assert_eq!((ids, filter), (vec!["a@b.co".to_string()], StatusFilter::All));
        assert_eq!(asked(&json!({ "emailIds": ["a"], "status": "not active" })).unwrap().1, StatusFilter::NotActive);
        for body in [
            json!({}),
            json!({ "emailIds": [] }),
            json!({ "emailIds": "a@b.co" }),
            json!({ "emailIds": [1] }),
            json!({ "emailIds": ["a@b.co"], "status": "inactive" }),
            json!({ "emailIds": vec!["a@b.co"; 1001] }),
        ] {
            assert_eq!(asked(&body).unwrap_err().status, 400, "{body}");
        }
        assert_eq!(status(true, pb::ActivationState::Active as i32), "active");
        assert_eq!(status(true, pb::ActivationState::Pending as i32), "inactive");
        assert_eq!(status(false, pb::ActivationState::Active as i32), "inactive");
    }

    /// A member with every part, and an email id nobody holds, as the answer renders them.
    #[test]
    fn answer_items() {
        let user = pb::User {
            id: "6571c2e9a1b2c3d4e5f60718".into(),
            profile: Some(pb::Profile { given_name: Some("Ana".into()), ..Default::default() }),
            is_active: true,
            last_seen_at: Some(proto::timestamp_from_millis(1_700_000_000_123)),
            member: Some(pb::Member {
                email_id: Some("ana@example.com".into()),
                org_user_id: Some("emp-1".into()),
                groups: vec!["support".into()],
                roles: vec![
                    pb::RoleBinding { role_id: "r-admin".into(), bot_id: None },
                    pb::RoleBinding { role_id: "r-dev".into(), bot_id: Some("st-1".into()) },
                ],
                bot_tasks: vec![pb::BotTaskAssignment { stream_id: "st-1".into(), dialogs: vec!["dg-1".into()] }],
                can_create_bot: true,
                is_developer: false,
                activation: pb::ActivationState::Active.into(),
                info: Some(pb::MemberInfo {
                    work_number: Some("321".into()),
                    city: Some("Porto".into()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let failed = Failure { status: 400, message: NOT_FOUND.into() };
        let items = vec![
            UserInfoItem::Found(Box::new(view(user).unwrap())),
            UserInfoItem::Failed {
                user_info: FailedLookup {
                    email_id: "nobody@example.com".into(),
                    status: "failure",
                    reason: failed.reason(),
                },
            },
        ];
        insta::assert_json_snapshot!(items);
    }
}
