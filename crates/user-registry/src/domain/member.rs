//! Kore.ai members: a user that also carries an email id (unique per application among members,
//! compared case-insensitively), an optional organisation user id (unique per application among
//! members), particulars, groups, role bindings, bot-task assignments, two flags and an
//! activation state.
//! Role, bot, stream and dialog ids are the caller's opaque ids, kept as given.

use super::{Details, ValidationError, bounded, profile::parse_email};

/// The member's login email (Kore's `emailId`), kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailId(String);

impl EmailId {
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Missing { field: "email_id" });
        }
        parse_email("email_id", value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The member's id in the customer's organisation (Kore's `orgUserId`), compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgUserId(String);

impl OrgUserId {
    pub const MAX_CHARS: usize = 256;

    /// Empty means none: Kore clients send `""` for a member without one.
    pub fn parse(value: Option<String>) -> Result<Option<Self>, ValidationError> {
        value.filter(|v| !v.is_empty()).map(|v| bounded("org_user_id", v, Self::MAX_CHARS).map(Self)).transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group of members, created the first time a member names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(String);

impl GroupId {
    pub const MAX_CHARS: usize = 128;
    pub const MAX_PER_MEMBER: usize = 100;

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Invalid { field: "groups", reason: "group ids must not be empty" });
        }
        bounded("groups", value, Self::MAX_CHARS).map(Self)
    }

    /// The member's groups in the order given, each once, at most `MAX_PER_MEMBER`.
    pub fn parse_all(values: Vec<String>) -> Result<Vec<Self>, ValidationError> {
        let mut groups: Vec<Self> = Vec::with_capacity(values.len());
        for value in values {
            let group = Self::parse(value)?;
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        if groups.len() > Self::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid { field: "groups", reason: "has more than 100 groups" });
        }
        Ok(groups)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest role, bot, stream or dialog id.
pub const MAX_OPAQUE_ID_CHARS: usize = 256;

fn opaque_id(field: &'static str, value: String) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Missing { field });
    }
    bounded(field, value, MAX_OPAQUE_ID_CHARS)
}

/// A role the member holds, everywhere or only in one bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBinding {
    role_id: String,
    bot_id: Option<String>,
}

impl RoleBinding {
    pub const MAX_PER_MEMBER: usize = 100;

    pub fn parse(role_id: String, bot_id: Option<String>) -> Result<Self, ValidationError> {
        Ok(Self {
            role_id: opaque_id("roles.role_id", role_id)?,
            bot_id: bot_id.map(|b| opaque_id("roles.bot_id", b)).transpose()?,
        })
    }

    /// Role bindings in the order given, at most `MAX_PER_MEMBER`.
    pub fn parse_all(values: Vec<(String, Option<String>)>) -> Result<Vec<Self>, ValidationError> {
        if values.len() > Self::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid { field: "roles", reason: "has more than 100 role bindings" });
        }
        values.into_iter().map(|(role, bot)| Self::parse(role, bot)).collect()
    }

    pub fn role_id(&self) -> &str {
        &self.role_id
    }

    pub fn bot_id(&self) -> Option<&str> {
        self.bot_id.as_deref()
    }
}

/// Dialogs of one bot (a Kore stream) the member may run; none means every dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotTask {
    stream_id: String,
    dialogs: Vec<String>,
}

impl BotTask {
    pub const MAX_PER_MEMBER: usize = 100;
    pub const MAX_DIALOGS: usize = 1000;

    pub fn parse(stream_id: String, dialogs: Vec<String>) -> Result<Self, ValidationError> {
        if dialogs.len() > Self::MAX_DIALOGS {
            return Err(ValidationError::Invalid { field: "bot_tasks.dialogs", reason: "has more than 1000 dialogs" });
        }
        Ok(Self {
            stream_id: opaque_id("bot_tasks.stream_id", stream_id)?,
            dialogs: dialogs.into_iter().map(|d| opaque_id("bot_tasks.dialogs", d)).collect::<Result<_, _>>()?,
        })
    }

    /// Assignments in the order given, at most `MAX_PER_MEMBER`.
    pub fn parse_all(values: Vec<(String, Vec<String>)>) -> Result<Vec<Self>, ValidationError> {
        if values.len() > Self::MAX_PER_MEMBER {
            return Err(ValidationError::Invalid { field: "bot_tasks", reason: "has more than 100 assignments" });
        }
        values.into_iter().map(|(stream, dialogs)| Self::parse(stream, dialogs)).collect()
    }

    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    pub fn dialogs(&self) -> &[String] {
        &self.dialogs
    }
}

/// Whether the member still has to activate the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// An activation was requested (Kore's `sendEmail`); recorded as an outbox event.
    Pending,
    #[default]
    Active,
}

impl Activation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            _ => None,
        }
    }
}

/// Every part is valid by construction, so the fields are open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub email_id: EmailId,
    pub org_user_id: Option<OrgUserId>,
    /// Company, department, phones and postal address.
    pub details: Details,
    pub groups: Vec<GroupId>,
    pub roles: Vec<RoleBinding>,
    pub bot_tasks: Vec<BotTask>,
    pub can_create_bot: bool,
    pub is_developer: bool,
    pub activation: Activation,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_ids_are_emails_compared_case_insensitively() {
        let a = EmailId::parse("Maria@Example.com".into()).expect("valid");
        assert_eq!(a.as_str(), "Maria@Example.com", "kept as given");
        assert_eq!(a.normalized(), EmailId::parse("maria@example.COM".into()).unwrap().normalized());
        assert_eq!(EmailId::parse(String::new()), Err(ValidationError::Missing { field: "email_id" }));
        let bad = EmailId::parse("not-an-email".into()).unwrap_err();
        assert_eq!(bad.field(), "email_id");
    }

    #[test]
    fn org_user_ids_are_optional_and_bounded() {
        assert_eq!(OrgUserId::parse(None), Ok(None));
        assert_eq!(OrgUserId::parse(Some(String::new())), Ok(None));
        assert!(OrgUserId::parse(Some("o".repeat(256))).unwrap().is_some());
        assert_eq!(
            OrgUserId::parse(Some("o".repeat(257))),
            Err(ValidationError::TooLong { field: "org_user_id", max: 256 })
        );
    }

    #[test]
    fn groups_collapse_in_order_and_are_bounded() {
        let groups = GroupId::parse_all(vec!["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(groups.iter().map(GroupId::as_str).collect::<Vec<_>>(), ["b", "a"]);
        assert!(GroupId::parse_all((0..100).map(|i| i.to_string()).collect()).is_ok());
        assert_eq!(GroupId::parse_all((0..101).map(|i| i.to_string()).collect()).unwrap_err().field(), "groups");
        assert_eq!(GroupId::parse("g".repeat(129)), Err(ValidationError::TooLong { field: "groups", max: 128 }));
        assert!(GroupId::parse(String::new()).is_err());
    }

    #[test]
    fn roles_and_tasks_name_the_offending_field() {
        assert_eq!(RoleBinding::parse(String::new(), None).unwrap_err().field(), "roles.role_id");
        assert_eq!(RoleBinding::parse("r".into(), Some(String::new())).unwrap_err().field(), "roles.bot_id");
        let too_many = (0..101).map(|i| (i.to_string(), None)).collect();
        assert_eq!(RoleBinding::parse_all(too_many).unwrap_err().field(), "roles");
        assert_eq!(BotTask::parse(String::new(), vec![]).unwrap_err().field(), "bot_tasks.stream_id");
        let dialogs = (0..1001).map(|i| i.to_string()).collect();
        assert_eq!(BotTask::parse("s".into(), dialogs).unwrap_err().field(), "bot_tasks.dialogs");
        assert!(BotTask::parse("s".into(), (0..1000).map(|i| i.to_string()).collect()).is_ok());
        let tasks = (0..101).map(|i| (i.to_string(), vec![])).collect();
        assert_eq!(BotTask::parse_all(tasks).unwrap_err().field(), "bot_tasks");
        let task = BotTask::parse("bot-1".into(), vec![]).unwrap();
        assert!(task.dialogs().is_empty(), "no dialogs: every dialog");
    }
}
