//! A change to a Kore.ai member: what Kore's Update User sends. What is absent stays; groups and
//! roles are left and joined by name; bot-task assignments are set bot by bot or all removed.
//! A change that would break a member's limits is refused whole.

use super::{BotTask, Detail, GroupId, Member, OrgUserId, Profile, RoleBinding, ValidationError};

/// One step of a change to the member's bot-task assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotTaskChange {
    /// The member's assignment for this bot becomes this one (or is added).
    Assign(BotTask),
    /// Every assignment goes, those of earlier steps too.
    UnassignAll,
}

/// Every value is valid by construction; `None` leaves a field as it is, `Some(None)` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberPatch {
    pub org_user_id: Option<Option<OrgUserId>>,
    /// The profile's given name and surname (Kore's `firstName`, `lastName`).
    pub given_name: Option<Option<String>>,
    pub surname: Option<Option<String>>,
    /// Values made by `Detail::parse_value`.
    pub details: Vec<(Detail, Option<String>)>,
    /// Left first, then joined.
    pub remove_groups: Vec<GroupId>,
    pub add_groups: Vec<GroupId>,
    /// Removed first (role and bot alike), then added unless held.
    pub remove_roles: Vec<RoleBinding>,
    pub add_roles: Vec<RoleBinding>,
    /// Applied in order.
    pub bot_tasks: Vec<BotTaskChange>,
    pub can_create_bot: Option<bool>,
    pub is_developer: Option<bool>,
}

impl MemberPatch {
    /// The member after this change, or why it would break a member's limits.
    pub fn apply(&self, member: &Member) -> Result<Member, ValidationError> {
        let mut next = member.clone();
        if let Some(org_user_id) = &self.org_user_id {
            next.org_user_id = org_user_id.clone();
        }
        for (detail, value) in &self.details {
            next.details.set(*detail, value.clone());
        }
        next.groups.retain(|g| !self.remove_groups.contains(g));
        for group in &self.add_groups {
            if !next.groups.contains(group) {
                next.groups.push(group.clone());
            }
        }
        if next.groups.len() > GroupId::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid { field: "groups", reason: "would have more than 100 groups" });
        }
        next.roles.retain(|r| !self.remove_roles.contains(r));
        for role in &self.add_roles {
            if !next.roles.contains(role) {
                next.roles.push(role.clone());
            }
        }
        if next.roles.len() > RoleBinding::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid { field: "roles", reason: "would have more than 100 role bindings" });
        }
        for change in &self.bot_tasks {
            match change {
                BotTaskChange::UnassignAll => next.bot_tasks.clear(),
                BotTaskChange::Assign(task) => {
                    match next.bot_tasks.iter_mut().find(|t| t.stream_id() == task.stream_id()) {
                        Some(held) => *held = task.clone(),
                        None => next.bot_tasks.push(task.clone()),
                    }
                }
            }
        }
        if next.bot_tasks.len() > BotTask::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid {
                field: "bot_tasks",
                reason: "would have more than 100 assignments",
            });
        }
        if let Some(can_create_bot) = self.can_create_bot {
            next.can_create_bot = can_create_bot;
        }
        if let Some(is_developer) = self.is_developer {
            next.is_developer = is_developer;
        }
        Ok(next)
    }

    /// The profile after this change: only the names move.
    pub fn apply_to_profile(&self, profile: &Profile) -> Profile {
        let mut next = profile.clone();
        if let Some(given_name) = &self.given_name {
            next.given_name = given_name.clone();
        }
        if let Some(surname) = &self.surname {
            next.surname = surname.clone();
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Activation, Details, EmailId};

    fn member() -> Member {
        Member {
            email_id: EmailId::parse("a@example.com".into()).unwrap(),
            org_user_id: OrgUserId::parse(Some("o-1".into())).unwrap(),
            details: Details::parse([(Detail::City, Some("Porto".into())), (Detail::Zip, Some("4000".into()))])
                .unwrap(),
            groups: GroupId::parse_all(vec!["a".into(), "b".into()]).unwrap(),
            roles: vec![RoleBinding::parse("r1".into(), Some("st-1".into())).unwrap()],
            bot_tasks: vec![BotTask::parse("st-1".into(), vec!["dg-1".into()]).unwrap()],
            can_create_bot: true,
            is_developer: true,
            activation: Activation::Active,
        }
    }

    fn group(id: &str) -> GroupId {
        GroupId::parse(id.into()).unwrap()
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        assert_eq!(MemberPatch::default().apply(&member()).unwrap(), member());
        let profile = Profile { given_name: Some("A".into()), ..Default::default() };
        assert_eq!(MemberPatch::default().apply_to_profile(&profile), profile);
    }

    #[test]
    fn groups_and_roles_are_left_then_joined_in_order() {
        let patch = MemberPatch {
            remove_groups: vec![group("a"), group("zzz")],
            add_groups: vec![group("c"), group("b"), group("a")],
            remove_roles: vec![RoleBinding::parse("r1".into(), None).unwrap()],
            add_roles: vec![
                RoleBinding::parse("r2".into(), None).unwrap(),
                RoleBinding::parse("r1".into(), Some("st-1".into())).unwrap(),
            ],
            ..Default::default()
        };
        let next = patch.apply(&member()).unwrap();
        assert_eq!(next.groups.iter().map(GroupId::as_str).collect::<Vec<_>>(), ["b", "c", "a"]);
        let roles: Vec<_> = next.roles.iter().map(|r| (r.role_id(), r.bot_id())).collect();
        assert_eq!(roles, [("r1", Some("st-1")), ("r2", None)], "a binding is removed only with its bot");
    }

    #[test]
    fn bot_tasks_are_set_bot_by_bot_or_all_removed() {
        let task = |bot: &str, dialogs: &[&str]| {
            BotTask::parse(bot.into(), dialogs.iter().map(|d| d.to_string()).collect()).unwrap()
        };
        let patch = MemberPatch {
            bot_tasks: vec![BotTaskChange::Assign(task("st-2", &[])), BotTaskChange::Assign(task("st-1", &["dg-9"]))],
            ..Default::default()
        };
        assert_eq!(patch.apply(&member()).unwrap().bot_tasks, [task("st-1", &["dg-9"]), task("st-2", &[])]);
        let patch = MemberPatch {
            bot_tasks: vec![BotTaskChange::Assign(task("st-2", &[])), BotTaskChange::UnassignAll],
            ..Default::default()
        };
        assert!(patch.apply(&member()).unwrap().bot_tasks.is_empty());
        let patch = MemberPatch {
            bot_tasks: vec![BotTaskChange::UnassignAll, BotTaskChange::Assign(task("st-3", &[]))],
            ..Default::default()
        };
        assert_eq!(patch.apply(&member()).unwrap().bot_tasks, [task("st-3", &[])]);
    }

    #[test]
    fn particulars_flags_and_names_are_set_or_removed() {
        let patch = MemberPatch {
            org_user_id: Some(None),
            given_name: Some(Some("Ana".into())),
            surname: Some(None),
            details: vec![(Detail::City, None), (Detail::Dept, Some("Ops".into()))],
            can_create_bot: Some(false),
            ..Default::default()
        };
        let next = patch.apply(&member()).unwrap();
        assert_eq!(next.org_user_id, None);
        assert_eq!(next.details.iter().collect::<Vec<_>>(), [(Detail::Dept, "Ops"), (Detail::Zip, "4000")]);
        assert!(!next.can_create_bot && next.is_developer);
        let profile = Profile { given_name: Some("A".into()), surname: Some("B".into()), ..Default::default() };
        let profile = patch.apply_to_profile(&profile);
        assert_eq!((profile.given_name.as_deref(), profile.surname), (Some("Ana"), None));
    }

    #[test]
    fn a_change_past_a_limit_is_refused() {
        let add_groups = (0..99).map(|i| group(&format!("g{i}"))).collect();
        let err = MemberPatch { add_groups, ..Default::default() }.apply(&member()).unwrap_err();
        assert_eq!(err.field(), "groups");
        let add_roles = (0..100).map(|i| RoleBinding::parse(format!("r{i}"), None).unwrap()).collect();
        assert_eq!(MemberPatch { add_roles, ..Default::default() }.apply(&member()).unwrap_err().field(), "roles");
        let bot_tasks =
            (0..100).map(|i| BotTaskChange::Assign(BotTask::parse(format!("b{i}"), vec![]).unwrap())).collect();
        let err = MemberPatch { bot_tasks, ..Default::default() }.apply(&member()).unwrap_err();
        assert_eq!(err.field(), "bot_tasks");
        // Leaving makes room first.
        let add_groups = (0..99).map(|i| group(&format!("g{i}"))).collect();
        let patch = MemberPatch { remove_groups: vec![group("a")], add_groups, ..Default::default() };
        assert_eq!(patch.apply(&member()).unwrap().groups.len(), 100);
    }
}
