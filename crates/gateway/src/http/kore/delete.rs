//! `DELETE /api/public/users`: members removed by email id or by org user id, each through the
//! registry's DeleteUser, the way every Roster user is deleted (token-service and
//! context-service are told first). One that cannot be removed is reported in
//! `failedUserDetails`; a server fault stops the request, keeping the removals before it.

use axum::{Json, body::Bytes, extract::State, extract::rejection::BytesRejection};
use platform::{ApiError, ErrorCode};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::Value;

use super::{KoreAdmin, KoreError, MAX_PER_REQUEST, failure::Failure, failure::Reason};
use crate::clients::{Clients, RequestId};

/// `DELETE /api/public/users`: one of the two lists.
#[derive(utoipa::ToSchema)]
#[schema(as = kore::DeleteUsers)]
#[allow(dead_code)] // described, not built: the body is read by `named`
pub struct DeleteUsers {
    /// Email ids (compared case-insensitively) of the members to remove.
    #[schema(rename = "deleteEmailIds", min_items = 1, max_items = 1000)]
    delete_email_ids: Option<Vec<String>>,
    /// Or their org user ids.
    #[schema(rename = "orgUserIds", min_items = 1, max_items = 1000)]
    org_user_ids: Option<Vec<String>>,
}

/// How the request names the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Email,
    OrgUserId,
}

/// The key the body names members by and the ids, each once (emails compared case-insensitively),
/// or why the whole request is refused.
fn named(body: &Value) -> Result<(Key, Vec<String>), KoreError> {
    let list = |name: &str| body.get(name).filter(|v| !v.is_null());
    let (key, name, ids) = match (list("deleteEmailIds"), list("orgUserIds")) {
        (Some(ids), None) => (Key::Email, "deleteEmailIds", ids),
        (None, Some(ids)) => (Key::OrgUserId, "orgUserIds", ids),
        (Some(_), Some(_)) => return Err(KoreError::bad_request("give deleteEmailIds or orgUserIds, not both")),
        (None, None) => return Err(KoreError::bad_request("the body must name deleteEmailIds or orgUserIds")),
    };
    let ids: Vec<String> = ids
        .as_array()
        .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| KoreError::bad_request(format!("{name} must be an array of strings")))?;
    if ids.is_empty() || ids.len() > MAX_PER_REQUEST {
        return Err(KoreError::bad_request(format!("{name} must hold 1 to {MAX_PER_REQUEST} ids")));
    }
    let mut seen = std::collections::HashSet::new();
    let once = ids
        .into_iter()
        .filter(|id| seen.insert(if key == Key::Email { id.to_lowercase() } else { id.clone() }))
        .collect();
    Ok((key, once))
}

/// The answer: every member removed, or the ones that were not, each with its reason.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = kore::DeleteUsersAnswer)]
pub enum DeleteUsersAnswer {
    Removed {
        /// `Users are removed Successfully`.
        msg: &'static str,
    },
    Failed {
        #[serde(rename = "failedUserDetails")]
        failed_user_details: Vec<NotRemoved>,
    },
}

/// A member not removed: its email id (or org user id, as the request named it) and why.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::NotRemoved)]
pub struct NotRemoved {
    #[serde(skip_serializing_if = "Option::is_none")]
    email_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_user_id: Option<String>,
    reason: Reason,
}

/// `{ "deleteEmailIds": [...] }` or `{ "orgUserIds": [...] }` -> `{ "msg": "Users are removed
/// Successfully" }`, or 200 with `failedUserDetails` naming each member not removed.
#[utoipa::path(delete, path = "/api/public/users", tag = "Kore.ai", security(("kore_auth" = [])),
    request_body(content = DeleteUsers, content_type = "application/json"),
    responses((status = 200, description = "Every member named removed; the others named with their reason", body = DeleteUsersAnswer), super::error::Errors))]
pub async fn delete(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DeleteUsersAnswer>, KoreError> {
    let (key, ids) = named(&super::json_body(body)?)?;
    let mut failed = Vec::new();
    for id in ids {
        let lookup = match key {
            Key::Email => pb::user_lookup::Key::MemberEmailId(id.clone()),
            Key::OrgUserId => pb::user_lookup::Key::OrgUserId(id.clone()),
        };
        let request = pb::DeleteUserRequest {
            app_id: caller.app_id.as_str().to_owned(),
            lookup: Some(pb::UserLookup { key: Some(lookup) }),
        };
        let Err(status) = clients.registry.clone().delete_user(request_id.grpc(request)).await else {
            continue;
        };
        let refusal = ApiError::from_status(&status);
        let failure = match refusal.code {
            ErrorCode::UserNotFound => Failure::not_found(),
            ErrorCode::InvalidArgument | ErrorCode::MissingField | ErrorCode::ValueTooLong => {
                Failure::invalid(if key == Key::Email { "email" } else { "orgUserId" })
            }
            _ => return Err(refusal.into()),
        };
        let (email_id, org_user_id) = match key {
            Key::Email => (Some(id), None),
            Key::OrgUserId => (None, Some(id)),
        };
        failed.push(NotRemoved { email_id, org_user_id, reason: failure.reason() });
    }
    if failed.is_empty() {
        return Ok(Json(DeleteUsersAnswer::Removed { msg: "Users are removed Successfully" }));
    }
    Ok(Json(DeleteUsersAnswer::Failed { failed_user_details: failed }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_body_names_members_by_one_key_each_once() {
        let (key, ids) = named(&json!({ "deleteEmailIds": ["a@b.co", "A@B.co", "c@d.co"] })).unwrap();
        assert_eq!((key, ids), (Key::Email, vec!["a@b.co".to_string(), "c@d.co".to_string()]));
        let (key, ids) = named(&json!({ "orgUserIds": ["o-1", "O-1", "o-1"], "deleteEmailIds": null })).unwrap();
        assert_eq!((key, ids), (Key::OrgUserId, vec!["o-1".to_string(), "O-1".to_string()]), "compared exactly");
        for body in [
            json!({}),
            json!({ "deleteEmailIds": [], }),
            json!({ "deleteEmailIds": ["a@b.co"], "orgUserIds": ["o-1"] }),
            json!({ "deleteEmailIds": "a@b.co" }),
            json!({ "orgUserIds": [1] }),
            json!({ "orgUserIds": vec!["o"; 1001] }),
            json!([]),
        ] {
            assert_eq!(named(&body).unwrap_err().status, 400, "{body}");
        }
    }
}
