//! `PUT /api/public/users`: up to 1,000 members changed through the registry's UpdateMembers,
//! each in its own transaction; a user that cannot be changed is reported in
//! `failedUserDetails` and nothing of it is written.

use axum::{Json, body::Bytes, extract::State, extract::rejection::BytesRejection};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::Value;

use super::{
    KoreAdmin, KoreError,
    failure::Failure,
    member::{GroupChanges, KoreTaskChange, KoreUserChange, RoleChanges},
    read::{changes, flag, optional_string, roles, strings, user_info},
    users::{FailedUser, failed_users, users_of},
};
use crate::clients::{Clients, RequestId};

/// One of Kore's users to change, read field by field.
fn change(item: &Value) -> Result<pb::MemberUpdate, Failure> {
    let item = item.as_object().ok_or_else(|| Failure::invalid("user"))?;
    let groups = match item.get("groups") {
        None | Some(Value::Null) => None,
        Some(Value::Object(groups)) => {
            let (add_to, remove_from) = changes(groups, "groups", |v| strings(v, "groups"))?;
            Some(GroupChanges { add_to, remove_from })
        }
        Some(_) => return Err(Failure::invalid("groups")),
    };
    let roles = match item.get("roles") {
        None | Some(Value::Null) => None,
        Some(Value::Object(bindings)) => {
            let (add_to, remove_from) = changes(bindings, "roles", roles)?;
            Some(RoleChanges { add_to, remove_from })
        }
        Some(_) => return Err(Failure::invalid("roles")),
    };
    let assign_bot_tasks = match item.get("assignBotTasks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(tasks)) => Some(
            tasks
                .iter()
                .map(|task| {
                    let task = task.as_object().ok_or_else(|| Failure::invalid("assignBotTasks"))?;
                    Ok(KoreTaskChange {
                        bot_id: optional_string(task, "botId", "assignBotTasks")?,
                        dialogs: strings(task.get("dialogs"), "assignBotTasks")?,
                    })
                })
                .collect::<Result<_, Failure>>()?,
        ),
        Some(_) => return Err(Failure::invalid("assignBotTasks")),
    };
    let user = KoreUserChange {
        user_info: user_info(item)?,
        groups,
        roles,
        assign_bot_tasks,
        can_create_bot: flag(item, "canCreateBot")?,
        is_developer: flag(item, "isDeveloper")?,
    };
    // Neither `emailId` nor `orgUserId`: nothing names the member.
    user.into_member_update().ok_or_else(|| Failure::invalid("userInfo"))
}

/// `PUT /api/public/users`.
#[derive(utoipa::ToSchema)]
#[schema(as = kore::UpdateUsers)]
#[allow(dead_code)] // described, not built: the body is read field by field (`change`)
pub struct UpdateUsers {
    /// 1 to 1,000 users, each named by `userInfo.emailId` or `userInfo.orgUserId`.
    users: Vec<KoreUserChange>,
}

/// The answer: every user changed, or the ones that were not, each with its reason.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = kore::UpdateUsersAnswer)]
pub enum UpdateUsersAnswer {
    Updated {
        /// `Users are updated Successfully`.
        msg: &'static str,
    },
    Failed {
        #[serde(rename = "failedUserDetails")]
        failed_user_details: Vec<FailedUser>,
    },
}

/// `{ "users": [...] }` -> `{ "msg": "Users are updated Successfully" }`, or 200 with
/// `failedUserDetails` naming each user that was not changed (the others are).
#[utoipa::path(put, path = "/api/public/users", tag = "Kore.ai", security(("kore_auth" = [])),
    request_body(content = UpdateUsers, content_type = "application/json"),
    responses((status = 200, description = "Every valid user changed; the others named with their reason", body = UpdateUsersAnswer), super::error::Errors))]
pub async fn update(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UpdateUsersAnswer>, KoreError> {
    let body = super::json_body(body)?;
    let users = users_of(&body)?;
    let mut failures = Vec::new();
    let mut valid_at = Vec::new();
    let mut updates = Vec::new();
    for (at, item) in users.iter().enumerate() {
        match change(item) {
            Ok(update) => {
                valid_at.push(at);
                updates.push(update);
            }
            Err(failure) => failures.push((at, failure)),
        }
    }
    if !updates.is_empty() {
        let request = pb::UpdateMembersRequest { app_id: caller.app_id.as_str().to_owned(), updates };
        let results = clients.registry.clone().update_members(request_id.grpc(request)).await?.into_inner().results;
        for result in results {
            if let Some(pb::batch_item_result::Result::Error(error)) = result.result {
                let at = valid_at.get(result.index as usize).copied().unwrap_or_default();
                failures.push((at, Failure::from_registry(&error)));
            }
        }
    }
    if failures.is_empty() {
        return Ok(Json(UpdateUsersAnswer::Updated { msg: "Users are updated Successfully" }));
    }
    Ok(Json(UpdateUsersAnswer::Failed { failed_user_details: failed_users(users, failures) }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kore_changes_become_member_updates_or_name_their_mistake() {
        let full = json!({
            "userInfo": { "emailId": "a@example.com", "firstName": "A", "city": "Porto" },
            "groups": { "addTo": ["g1"], "removeFrom": ["g0"] },
            "roles": { "addTo": [ { "roleId": "r1", "botId": "st-1" } ], "removeFrom": [ { "roleId": "r0" } ] },
            "assignBotTasks": [ { "botId": "st-1", "dialogs": ["dg-1"] }, {} ],
            "canCreateBot": false
        });
        let update = change(&full).unwrap();
        assert_eq!(update.lookup.unwrap().key, Some(pb::user_lookup::Key::MemberEmailId("a@example.com".into())));
        assert_eq!((update.add_groups, update.remove_groups), (vec!["g1".to_string()], vec!["g0".to_string()]));
        assert_eq!(update.remove_roles, [pb::RoleBinding { role_id: "r0".into(), bot_id: None }]);
        assert_eq!(update.bot_task_changes.len(), 2);
        assert_eq!(update.info.unwrap().city.as_deref(), Some("Porto"));
        assert_eq!((update.can_create_bot, update.is_developer), (Some(false), None));
        let by_org = change(&json!({ "userInfo": { "orgUserId": "o-1" } })).unwrap();
        assert_eq!(by_org.lookup.unwrap().key, Some(pb::user_lookup::Key::OrgUserId("o-1".into())));

        for (item, message) in [
            (json!({ "userInfo": { "firstName": "A" } }), "INVALID_USERINFO"),
            (json!({ "userInfo": { "emailId": "a@b.co", "manager": "x" } }), "INVALID_USERINFO"),
            (json!({ "userInfo": { "emailId": "a@b.co" }, "groups": ["g"] }), "INVALID_GROUPS"),
            (json!({ "userInfo": { "emailId": "a@b.co" }, "groups": { "add": ["g"] } }), "INVALID_GROUPS"),
            (json!({ "userInfo": { "emailId": "a@b.co" }, "roles": { "addTo": [ "r" ] } }), "INVALID_ROLES"),
            (
                json!({ "userInfo": { "emailId": "a@b.co" }, "assignBotTasks": [ { "botId": 1 } ] }),
                "INVALID_ASSIGNBOTTASKS",
            ),
            (json!({ "userInfo": { "emailId": "a@b.co" }, "isDeveloper": 1 }), "INVALID_ISDEVELOPER"),
            (json!(7), "INVALID_USER"),
        ] {
            assert_eq!(change(&item).unwrap_err().message, message, "{item}");
        }
    }
}
