//! Kore.ai members to and from proto: the member a user carries, the change an update makes, and
//! the groups and roles members add up to. Every field destructured, as in the parent module.

use proto::registry::v1 as pb;

use super::lookup;
use crate::{
    app::MemberUpdate,
    domain::{
        Activation, BotTask, BotTaskChange, Detail, Details, EmailId, GroupId, GroupMember, GroupPage, Member,
        MemberGroup, MemberPatch, OrgUserId, Profile, RoleBinding, RoleKind, ValidationError,
    },
    error::RegistryError,
};

/// The particulars as (detail, value) pairs, values not yet parsed.
fn info_pairs(info: pb::MemberInfo) -> [(Detail, Option<String>); 10] {
    let pb::MemberInfo {
        company_name,
        dept,
        company_contact_phone,
        work_number,
        street,
        suite_no,
        city,
        zip,
        state,
        country,
    } = info;
    [
        (Detail::CompanyName, company_name),
        (Detail::Dept, dept),
        (Detail::CompanyContactPhone, company_contact_phone),
        (Detail::WorkNumber, work_number),
        (Detail::Street, street),
        (Detail::SuiteNo, suite_no),
        (Detail::City, city),
        (Detail::Zip, zip),
        (Detail::State, state),
        (Detail::Country, country),
    ]
}

fn info_to_pb(details: &Details) -> pb::MemberInfo {
    let value = |detail| details.get(detail).map(str::to_owned);
    pb::MemberInfo {
        company_name: value(Detail::CompanyName),
        dept: value(Detail::Dept),
        company_contact_phone: value(Detail::CompanyContactPhone),
        work_number: value(Detail::WorkNumber),
        street: value(Detail::Street),
        suite_no: value(Detail::SuiteNo),
        city: value(Detail::City),
        zip: value(Detail::Zip),
        state: value(Detail::State),
        country: value(Detail::Country),
    }
}

fn roles_from_pb(roles: Vec<pb::RoleBinding>) -> Result<Vec<RoleBinding>, ValidationError> {
    RoleBinding::parse_all(roles.into_iter().map(|pb::RoleBinding { role_id, bot_id }| (role_id, bot_id)).collect())
}

fn activation_to_pb(activation: Activation) -> pb::ActivationState {
    match activation {
        Activation::Pending => pb::ActivationState::Pending,
        Activation::Active => pb::ActivationState::Active,
    }
}

pub fn member_from_pb(member: pb::Member) -> Result<Member, RegistryError> {
    let pb::Member { email_id, org_user_id, groups, roles, bot_tasks, can_create_bot, is_developer, activation, info } =
        member;
    let activation = match pb::ActivationState::try_from(activation) {
        Ok(pb::ActivationState::Pending) => Activation::Pending,
        Ok(pb::ActivationState::Active | pb::ActivationState::Unspecified) => Activation::Active,
        Err(_) => {
            return Err(ValidationError::Invalid { field: "activation", reason: "unknown activation state" }.into());
        }
    };
    Ok(Member {
        email_id: EmailId::parse(email_id.unwrap_or_default())?,
        org_user_id: OrgUserId::parse(org_user_id)?,
        details: Details::parse(info_pairs(info.unwrap_or_default()))?,
        groups: GroupId::parse_all(groups)?,
        roles: roles_from_pb(roles)?,
        bot_tasks: BotTask::parse_all(
            bot_tasks.into_iter().map(|pb::BotTaskAssignment { stream_id, dialogs }| (stream_id, dialogs)).collect(),
        )?,
        can_create_bot,
        is_developer,
        activation,
    })
}

pub fn member_to_pb(member: Member) -> pb::Member {
    let Member { email_id, org_user_id, details, groups, roles, bot_tasks, can_create_bot, is_developer, activation } =
        member;
    pb::Member {
        email_id: Some(email_id.as_str().to_owned()),
        org_user_id: org_user_id.map(|o| o.as_str().to_owned()),
        groups: groups.iter().map(|g| g.as_str().to_owned()).collect(),
        roles: roles
            .iter()
            .map(|r| pb::RoleBinding { role_id: r.role_id().to_owned(), bot_id: r.bot_id().map(str::to_owned) })
            .collect(),
        bot_tasks: bot_tasks
            .iter()
            .map(|t| pb::BotTaskAssignment { stream_id: t.stream_id().to_owned(), dialogs: t.dialogs().to_vec() })
            .collect(),
        can_create_bot,
        is_developer,
        activation: activation_to_pb(activation).into(),
        info: (!details.is_empty()).then(|| info_to_pb(&details)),
    }
}

impl TryFrom<pb::MemberUpdate> for MemberUpdate {
    type Error = RegistryError;

    fn try_from(update: pb::MemberUpdate) -> Result<Self, Self::Error> {
        let pb::MemberUpdate {
            lookup: key,
            org_user_id,
            given_name,
            surname,
            info,
            remove_groups,
            add_groups,
            remove_roles,
            add_roles,
            bot_task_changes,
            can_create_bot,
            is_developer,
        } = update;
        let mut details = Vec::new();
        for (detail, value) in info_pairs(info.unwrap_or_default()) {
            if let Some(value) = value {
                details.push((detail, detail.parse_value(Some(value))?));
            }
        }
        let bot_tasks = bot_task_changes
            .into_iter()
            .map(|pb::BotTaskChange { change }| match change {
                Some(pb::bot_task_change::Change::Assign(pb::BotTaskAssignment { stream_id, dialogs })) => {
                    Ok(BotTaskChange::Assign(BotTask::parse(stream_id, dialogs)?))
                }
                Some(pb::bot_task_change::Change::UnassignAll(true)) => Ok(BotTaskChange::UnassignAll),
                Some(pb::bot_task_change::Change::UnassignAll(false)) | None => {
                    Err(ValidationError::Missing { field: "bot_task_changes" })
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(MemberUpdate {
            lookup: lookup(key)?,
            patch: MemberPatch {
                // Empty removes it, so `Some("")` parses to `Some(None)`.
                org_user_id: org_user_id.map(|o| OrgUserId::parse(Some(o))).transpose()?,
                given_name: given_name.map(|n| Profile::parse_name("given_name", Some(n))).transpose()?,
                surname: surname.map(|n| Profile::parse_name("surname", Some(n))).transpose()?,
                details,
                remove_groups: remove_groups.into_iter().map(GroupId::parse).collect::<Result<_, _>>()?,
                add_groups: GroupId::parse_all(add_groups)?,
                remove_roles: remove_roles
                    .into_iter()
                    .map(|pb::RoleBinding { role_id, bot_id }| RoleBinding::parse(role_id, bot_id))
                    .collect::<Result<_, _>>()?,
                add_roles: roles_from_pb(add_roles)?,
                bot_tasks,
                can_create_bot,
                is_developer,
            },
        })
    }
}

pub fn role_kind(kind: i32) -> Result<RoleKind, RegistryError> {
    match pb::RoleKind::try_from(kind) {
        Ok(pb::RoleKind::Admin) => Ok(RoleKind::Admin),
        Ok(pb::RoleKind::Bot) => Ok(RoleKind::Bot),
        Ok(pb::RoleKind::Unspecified) => Err(ValidationError::Missing { field: "kind" }.into()),
        Err(_) => Err(ValidationError::Invalid { field: "kind", reason: "unknown role kind" }.into()),
    }
}

impl From<GroupPage> for pb::ListMemberGroupsResponse {
    fn from(page: GroupPage) -> Self {
        let GroupPage { total, groups } = page;
        let groups = groups
            .into_iter()
            .map(|MemberGroup { id, members }| pb::MemberGroup {
                group_id: id.as_str().to_owned(),
                members: members.into_iter().map(group_member_to_pb).collect(),
            })
            .collect();
        Self { total, groups }
    }
}

fn group_member_to_pb(member: GroupMember) -> pb::GroupMember {
    let GroupMember { id, email_id, given_name, surname, is_active, activation } = member;
    pb::GroupMember {
        id: id.as_str().to_owned(),
        email_id: email_id.as_str().to_owned(),
        given_name,
        surname,
        is_active,
        activation: activation_to_pb(activation).into(),
    }
}
