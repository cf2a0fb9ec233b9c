//! What an application's members add up to: the groups they named, with who is in each, and the
//! role ids they hold. Roster knows ids only: no group descriptions, role names or permissions.

use super::{Activation, EmailId, GroupId, RosterId};

/// A member as a group lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub id: RosterId,
    pub email_id: EmailId,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub is_active: bool,
    pub activation: Activation,
}

/// A group with every member in it, ordered by email id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberGroup {
    pub id: GroupId,
    pub members: Vec<GroupMember>,
}

/// A page of groups, ordered by id, and how many groups the application has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    pub total: u64,
    pub groups: Vec<MemberGroup>,
}

/// A role held without a bot is an admin role; with a bot, a bot role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    Admin,
    Bot,
}

/// A page of distinct role ids, ordered, and how many there are of the kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePage {
    pub total: u64,
    pub role_ids: Vec<String>,
}
