//! A user in Kore.ai's Create User shape, and the registry member it becomes: the one mapping,
//! shared by the Kore route and `roster users import`. Kore's defaults apply to what is absent
//! (`canCreateBot`, `isDeveloper`, `sendEmail` all true).

use proto::registry::v1 as pb;
use serde::Deserialize;

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

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::UserInfo)]
pub struct UserInfo {
    pub email_id: Option<String>,
    pub org_user_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::Role)]
pub struct KoreRole {
    pub role_id: String,
    pub bot_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::BotTask)]
pub struct KoreTask {
    pub stream_id: String,
    #[serde(default)]
    pub dialogs: Vec<String>,
}

impl KoreUser {
    /// The registry's new member: created in bulk, its email also the profile's, activation
    /// pending when Kore would send the activation mail.
    pub fn into_new_user(self) -> pb::NewUser {
        let UserInfo { email_id, org_user_id, first_name, last_name } = self.user_info;
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
                roles: self
                    .roles
                    .into_iter()
                    .map(|r| pb::RoleBinding { role_id: r.role_id, bot_id: r.bot_id })
                    .collect(),
                bot_tasks: self
                    .assign_bot_tasks
                    .into_iter()
                    .map(|t| pb::BotTaskAssignment { stream_id: t.stream_id, dialogs: t.dialogs })
                    .collect(),
                can_create_bot: self.can_create_bot.unwrap_or(true),
                is_developer: self.is_developer.unwrap_or(true),
                activation: activation.into(),
                info: None,
            }),
            ..Default::default()
        }
    }
}
