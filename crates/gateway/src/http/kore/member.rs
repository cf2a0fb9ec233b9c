//! A user in Kore.ai's shapes, and what it becomes in the registry: the new member of Create User
//! (shared by the Kore route and `roster users import`) and the change of Update User. The one
//! mapping in each direction. Kore's defaults apply to what is absent on create (`canCreateBot`,
//! `isDeveloper`, `sendEmail` all true); on update, what is absent stays.

use proto::registry::v1 as pb;
use serde::Deserialize;

/// Every `userInfo` field Kore documents. Any other is refused, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = kore::UserInfo)]
pub struct UserInfo {
    /// Required on create. On update, names the member (then `orgUserId`, if given, is set).
    pub email_id: Option<String>,
    /// On update without `emailId`, names the member.
    pub org_user_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub dept: Option<String>,
    pub company_contact_phone: Option<String>,
    pub worknumber: Option<String>,
    pub street: Option<String>,
    pub suite_no: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

impl UserInfo {
    /// The JSON names of its fields, as `UserInfo` reads them.
    pub const FIELDS: [&'static str; 14] = [
        "emailId",
        "orgUserId",
        "firstName",
        "lastName",
        "companyName",
        "dept",
        "companyContactPhone",
        "worknumber",
        "street",
        "suiteNo",
        "city",
        "zip",
        "state",
        "country",
    ];

    /// The particulars beside names, email and org user id; `None` stays `None`.
    fn particulars(&self) -> pb::MemberInfo {
        pb::MemberInfo {
            company_name: self.company_name.clone(),
            dept: self.dept.clone(),
            company_contact_phone: self.company_contact_phone.clone(),
            work_number: self.worknumber.clone(),
            street: self.street.clone(),
            suite_no: self.suite_no.clone(),
            city: self.city.clone(),
            zip: self.zip.clone(),
            state: self.state.clone(),
            country: self.country.clone(),
        }
    }
}

/// A user of Create User.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::User)]
pub struct KoreUser {
    pub user_info: UserInfo,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub roles: Vec<KoreRole>,
    #[serde(default)]
    pub assign_bot_tasks: Vec<KoreTask>,
    pub can_create_bot: Option<bool>,
    pub is_developer: Option<bool>,
    pub send_email: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::Role)]
pub struct KoreRole {
    pub role_id: String,
    /// Absent: an admin role.
    pub bot_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::BotTask)]
pub struct KoreTask {
    pub stream_id: String,
    /// Absent or empty: every dialog of the bot.
    #[serde(default)]
    pub dialogs: Vec<String>,
}

impl KoreUser {
    /// The registry's new member: created in bulk, its email also the profile's, activation
    /// pending when Kore would send the activation mail.
    pub fn into_new_user(self) -> pb::NewUser {
        let info = self.user_info.particulars();
        let UserInfo { email_id, org_user_id, first_name, last_name, .. } = self.user_info;
        let activation =
            if self.send_email.unwrap_or(true) { pb::ActivationState::Pending } else { pb::ActivationState::Active };
        pb::NewUser {
            origin: pb::Origin::Bulk.into(),
            profile: Some(pb::Profile {
                given_name: first_name,
                surname: last_name,
                email: email_id.clone(),
                ..Default::default()
            }),
            member: Some(pb::Member {
                email_id,
                org_user_id,
                groups: self.groups,
                roles: self.roles.into_iter().map(role_binding).collect(),
                bot_tasks: self
                    .assign_bot_tasks
                    .into_iter()
                    .map(|t| pb::BotTaskAssignment { stream_id: t.stream_id, dialogs: t.dialogs })
                    .collect(),
                can_create_bot: self.can_create_bot.unwrap_or(true),
                is_developer: self.is_developer.unwrap_or(true),
                activation: activation.into(),
                info: Some(info),
            }),
            ..Default::default()
        }
    }
}

fn role_binding(role: KoreRole) -> pb::RoleBinding {
    pb::RoleBinding { role_id: role.role_id, bot_id: role.bot_id }
}

/// A user of Update User: `userInfo` names the member and carries what changes. Described
/// for the OpenAPI document and built by the route's reader, which names each bad field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::UserChange)]
pub struct KoreUserChange {
    pub user_info: UserInfo,
    pub groups: Option<GroupChanges>,
    pub roles: Option<RoleChanges>,
    /// Each entry with a `botId` sets the member's dialogs of that bot; an entry without one
    /// unassigns every bot. Absent: the assignments stay.
    pub assign_bot_tasks: Option<Vec<KoreTaskChange>>,
    pub can_create_bot: Option<bool>,
    pub is_developer: Option<bool>,
}

/// Groups left (`removeFrom`), then joined (`addTo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::GroupChanges)]
pub struct GroupChanges {
    #[serde(default)]
    pub add_to: Vec<String>,
    #[serde(default)]
    pub remove_from: Vec<String>,
}

/// Roles removed (`removeFrom`, role and bot alike), then added (`addTo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::RoleChanges)]
pub struct RoleChanges {
    #[serde(default)]
    pub add_to: Vec<KoreRole>,
    #[serde(default)]
    pub remove_from: Vec<KoreRole>,
}

/// An entry of Update User's `assignBotTasks` (which names the bot `botId`, not `streamId`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::BotTaskChange)]
pub struct KoreTaskChange {
    /// Absent: every assignment is removed.
    pub bot_id: Option<String>,
    /// Absent or empty: every dialog of the bot.
    #[serde(default)]
    pub dialogs: Vec<String>,
}

impl KoreUserChange {
    /// The registry's change of one member; `None` when `userInfo` names no member (no
    /// `emailId` and no `orgUserId`). With both, `emailId` names it and `orgUserId` is set.
    pub fn into_member_update(self) -> Option<pb::MemberUpdate> {
        let info = self.user_info.particulars();
        let UserInfo { email_id, org_user_id, first_name, last_name, .. } = self.user_info;
        let present = |v: Option<String>| v.filter(|v| !v.is_empty());
        let (key, org_user_id) = match (present(email_id), org_user_id) {
            (Some(email_id), org_user_id) => (pb::user_lookup::Key::MemberEmailId(email_id), org_user_id),
            (None, org_user_id) => (pb::user_lookup::Key::OrgUserId(present(org_user_id)?), None),
        };
        let groups = self.groups.unwrap_or_default();
        let roles = self.roles.unwrap_or_default();
        let bot_task_changes = self
            .assign_bot_tasks
            .unwrap_or_default()
            .into_iter()
            .map(|task| pb::BotTaskChange {
                change: Some(match task.bot_id {
                    Some(stream_id) => {
                        pb::bot_task_change::Change::Assign(pb::BotTaskAssignment { stream_id, dialogs: task.dialogs })
                    }
                    None => pb::bot_task_change::Change::UnassignAll(true),
                }),
            })
            .collect();
        Some(pb::MemberUpdate {
            lookup: Some(pb::UserLookup { key: Some(key) }),
            org_user_id,
            given_name: first_name,
            surname: last_name,
            info: Some(info),
            remove_groups: groups.remove_from,
            add_groups: groups.add_to,
            remove_roles: roles.remove_from.into_iter().map(role_binding).collect(),
            add_roles: roles.add_to.into_iter().map(role_binding).collect(),
            bot_task_changes,
            can_create_bot: self.can_create_bot,
            is_developer: self.is_developer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(email: Option<&str>, org: Option<&str>) -> UserInfo {
        UserInfo { email_id: email.map(str::to_owned), org_user_id: org.map(str::to_owned), ..Default::default() }
    }

    fn key(update: &pb::MemberUpdate) -> pb::user_lookup::Key {
        update.lookup.clone().unwrap().key.unwrap()
    }

    #[test]
    fn the_email_id_names_the_member_else_the_org_user_id() {
        let both = KoreUserChange { user_info: info(Some("a@example.com"), Some("o-2")), ..Default::default() };
        let update = both.into_member_update().unwrap();
        assert_eq!(key(&update), pb::user_lookup::Key::MemberEmailId("a@example.com".into()));
        assert_eq!(update.org_user_id.as_deref(), Some("o-2"), "set, as the email id named the member");
        let org = KoreUserChange { user_info: info(Some(""), Some("o-1")), ..Default::default() };
        let update = org.into_member_update().unwrap();
        assert_eq!((key(&update), update.org_user_id), (pb::user_lookup::Key::OrgUserId("o-1".into()), None));
        assert!(
            KoreUserChange { user_info: info(None, Some("")), ..Default::default() }.into_member_update().is_none()
        );
        assert!(KoreUserChange::default().into_member_update().is_none());
    }

    #[test]
    fn every_part_of_a_change_is_carried() {
        let change = KoreUserChange {
            user_info: UserInfo {
                worknumber: Some("321".into()),
                first_name: Some(String::new()),
                ..info(Some("a@b.co"), None)
            },
            groups: Some(GroupChanges { add_to: vec!["g1".into()], remove_from: vec!["g0".into()] }),
            roles: Some(RoleChanges {
                add_to: vec![KoreRole { role_id: "r1".into(), bot_id: None }],
                remove_from: vec![KoreRole { role_id: "r0".into(), bot_id: Some("st-1".into()) }],
            }),
            assign_bot_tasks: Some(vec![
                KoreTaskChange { bot_id: None, dialogs: vec![] },
                KoreTaskChange { bot_id: Some("st-2".into()), dialogs: vec!["dg-1".into()] },
            ]),
            can_create_bot: Some(false),
            is_developer: None,
        };
        let update = change.into_member_update().unwrap();
        assert_eq!(update.info.as_ref().unwrap().work_number.as_deref(), Some("321"));
        assert_eq!(update.given_name.as_deref(), Some(""), "empty clears");
        assert_eq!((update.add_groups, update.remove_groups), (vec!["g1".to_string()], vec!["g0".to_string()]));
        assert_eq!(update.remove_roles[0].bot_id.as_deref(), Some("st-1"));
        assert_eq!(update.bot_task_changes[0].change, Some(pb::bot_task_change::Change::UnassignAll(true)));
        assert!(
            matches!(&update.bot_task_changes[1].change, Some(pb::bot_task_change::Change::Assign(t)) if t.stream_id == "st-2")
        );
        assert_eq!((update.can_create_bot, update.is_developer), (Some(false), None));
    }

    #[test]
    fn unknown_user_info_fields_are_refused_by_the_import_too() {
        let known: serde_json::Map<String, serde_json::Value> =
            UserInfo::FIELDS.iter().map(|f| (f.to_string(), serde_json::Value::from("x@example.com"))).collect();
        let parsed: UserInfo = serde_json::from_value(serde_json::Value::Object(known)).unwrap();
        assert_eq!(parsed.worknumber.as_deref(), Some("x@example.com"), "FIELDS are the names serde reads");
        let err = serde_json::from_str::<UserInfo>(r#"{ "emailId": "a@b.co", "jTitle": "CTO" }"#).unwrap_err();
        assert!(err.to_string().contains("jTitle"), "{err}");
        let user: KoreUser =
            serde_json::from_str(r#"{ "userInfo": { "emailId": "a@b.co", "city": "Porto" } }"#).unwrap();
        assert_eq!(user.into_new_user().member.unwrap().info.unwrap().city.as_deref(), Some("Porto"));
    }
}
