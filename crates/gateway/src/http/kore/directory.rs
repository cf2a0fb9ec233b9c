//! `GET /api/public/groups` and `GET /api/public/roles`: what the application's members add up
//! to, from what Roster stores. A group is created the first time a member names it, and its
//! name is its id; a role is a role id some member holds (without a bot: admin; with one: bot).
//! Roster keeps no group descriptions, role names or permissions: those fields are left out.

use axum::{
    Json,
    extract::{Query, State},
};
use proto::registry::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{KoreAdmin, KoreError, info::status};
use crate::clients::{Clients, RequestId};

/// Kore's largest page; a larger `limit` is taken as this.
const MAX_LIMIT: u32 = 50;

/// The rows a page skips and takes: `offset` is a page number, as Kore's. (Both are read as
/// `u32` and described as 64-bit, so every number the gateway takes is one the document allows.)
fn page(offset: Option<u32>, limit: Option<u32>) -> Result<(u64, u32), KoreError> {
    let limit = limit.unwrap_or(MAX_LIMIT);
    if limit == 0 {
        return Err(KoreError::bad_request("limit must be at least 1"));
    }
    let limit = limit.min(MAX_LIMIT);
    Ok((u64::from(offset.unwrap_or(0)) * u64::from(limit), limit))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupsQuery {
    /// The page, from 0 (the default).
    #[param(value_type = Option<u64>)]
    offset: Option<u32>,
    /// Groups per page: 50 (the default) at most; more is taken as 50.
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::GroupPage)]
pub struct GroupPage {
    /// Groups of the application, whatever the page.
    total: u64,
    available_more: bool,
    groups: Vec<GroupView>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::Group)]
pub struct GroupView {
    #[serde(rename = "_id")]
    #[schema(rename = "_id")]
    id: String,
    /// The group's id: Roster's groups have no other name.
    #[serde(rename = "gN")]
    #[schema(rename = "gN")]
    name: String,
    /// Groups within the group: always empty.
    groups: Vec<String>,
    /// Every member in the group, ordered by email id.
    users: Vec<GroupUser>,
    user_count: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::GroupUser)]
pub struct GroupUser {
    /// The Roster id.
    #[serde(rename = "_id")]
    #[schema(rename = "_id")]
    id: String,
    email_id: String,
    first_name: String,
    last_name: String,
    /// `active`, or `inactive` while the activation is pending or the user is deactivated.
    activation_status: &'static str,
    /// The application's id.
    org_id: String,
}

/// `?offset=<page>&limit=<1..50>` -> `{ "total", "availableMore", "groups": [...] }`.
#[utoipa::path(get, path = "/api/public/groups", tag = "Kore.ai", security(("kore_auth" = [])), params(GroupsQuery),
    responses((status = 200, description = "A page of the application's member groups, by id, each with its members", body = GroupPage), super::error::Errors))]
pub async fn groups(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    Query(query): Query<GroupsQuery>,
) -> Result<Json<GroupPage>, KoreError> {
    let (skip, limit) = page(query.offset, query.limit)?;
    let app_id = caller.app_id.as_str().to_owned();
    let request = pb::ListMemberGroupsRequest { app_id: app_id.clone(), offset: skip, limit };
    let page = clients.registry.clone().list_member_groups(request_id.grpc(request)).await?.into_inner();
    let groups: Vec<GroupView> = page
        .groups
        .into_iter()
        .map(|group| GroupView {
            id: group.group_id.clone(),
            name: group.group_id,
            groups: Vec::new(),
            user_count: group.members.len() as u64,
            users: group
                .members
                .into_iter()
                .map(|m| GroupUser {
                    id: m.id,
                    email_id: m.email_id,
                    first_name: m.given_name.unwrap_or_default(),
                    last_name: m.surname.unwrap_or_default(),
                    activation_status: status(m.is_active, m.activation),
                    org_id: app_id.clone(),
                })
                .collect(),
        })
        .collect();
    let available_more = skip.saturating_add(groups.len() as u64) < page.total;
    Ok(Json(GroupPage { total: page.total, available_more, groups }))
}

/// Kore's role types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = kore::RoleType)]
pub enum RoleType {
    /// Roles held without a bot.
    Admin,
    /// Roles held in a bot.
    Bot,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RolesQuery {
    #[serde(rename = "roleType")]
    #[param(rename = "roleType")]
    role_type: RoleType,
    /// Roles per page: 50 (the default) at most; more is taken as 50.
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: Option<u32>,
    /// The page, from 0 (the default). Roster's addition: Kore's reference has no paging here.
    #[param(value_type = Option<u64>)]
    offset: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::RolePage)]
pub struct RolePage {
    /// Distinct role ids of the type, whatever the page.
    total: u64,
    available_more: bool,
    roles: Vec<RoleView>,
}

/// A role as Roster knows it: its type and id (no name, description or permissions).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::ListedRole)]
pub struct RoleView {
    role_type: RoleType,
    #[serde(rename = "_id")]
    #[schema(rename = "_id")]
    id: String,
}

/// `?roleType=admin|bot&limit=<1..50>` -> `{ "total", "availableMore", "roles": [...] }`.
#[utoipa::path(get, path = "/api/public/roles", tag = "Kore.ai", security(("kore_auth" = [])), params(RolesQuery),
    responses((status = 200, description = "A page of the distinct role ids the application's members hold", body = RolePage), super::error::Errors))]
pub async fn roles(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    Query(query): Query<RolesQuery>,
) -> Result<Json<RolePage>, KoreError> {
    let (skip, limit) = page(query.offset, query.limit)?;
    let kind = match query.role_type {
        RoleType::Admin => pb::RoleKind::Admin,
        RoleType::Bot => pb::RoleKind::Bot,
    };
    let request = pb::ListMemberRolesRequest {
        app_id: caller.app_id.as_str().to_owned(),
        kind: kind.into(),
        offset: skip,
        limit,
    };
    let page = clients.registry.clone().list_member_roles(request_id.grpc(request)).await?.into_inner();
    let available_more = skip.saturating_add(page.role_ids.len() as u64) < page.total;
    let roles = page.role_ids.into_iter().map(|id| RoleView { role_type: query.role_type, id }).collect();
    Ok(Json(RolePage { total: page.total, available_more, roles }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_numbered_and_at_most_50() {
        assert_eq!(page(None, None).unwrap(), (0, 50));
        assert_eq!(page(Some(2), Some(10)).unwrap(), (20, 10));
        assert_eq!(page(Some(1), Some(500)).unwrap(), (50, 50));
        assert_eq!(page(Some(u32::MAX), Some(50)).unwrap(), (u64::from(u32::MAX) * 50, 50));
        assert_eq!(page(None, Some(0)).unwrap_err().status, 400);
    }
}
