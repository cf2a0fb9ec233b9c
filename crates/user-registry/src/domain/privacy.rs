//! Data-subject requests: erasing users (Sendbird's GDPR `delete`, Ada's `ERASURE`) or exporting
//! what the registry holds of them (Sendbird's GDPR `access`). A request is durable and carried
//! out by a worker; once done, it keeps no personal data: its subjects are cleared and only the
//! number of users it found stays.

use super::{Lookup, RosterId, ValidationError, profile::parse_email};

/// At most this many subjects per request (Sendbird's limit on `user_ids`).
pub const MAX_SUBJECTS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyAction {
    Erase,
    Export,
}

impl PrivacyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Erase => "erase",
            Self::Export => "export",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "erase" => Some(Self::Erase),
            "export" => Some(Self::Export),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyStatus {
    /// Registered; a worker carries it out (and takes it over from one that died).
    Processing,
    Done,
    /// Cancelled before a worker took it.
    Cancelled,
    /// Given up on after repeated failures (the log says why).
    Failed,
}

impl PrivacyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "processing" => Some(Self::Processing),
            "done" => Some(Self::Done),
            "cancelled" => Some(Self::Cancelled),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Whom a request is about: one user by any of its keys, or every user with an email address
/// (profile email or Kore member email, compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(Lookup),
    Email(String),
}

impl Subject {
    pub fn email(value: String) -> Result<Self, ValidationError> {
        Ok(Self::Email(parse_email("email", value)?))
    }
}

/// A request as registered.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyRequest {
    pub id: RosterId,
    pub app_id: super::AppId,
    pub action: PrivacyAction,
    pub status: PrivacyStatus,
    /// Empty once the request is done, cancelled or failed: no personal data stays.
    pub subjects: Vec<Subject>,
    /// Options a dialect passes through and shows back (Sendbird's `channel_delete_option`).
    pub options: std::collections::BTreeMap<String, String>,
    /// Users found (erased or exported); set when done.
    pub users: u32,
    pub created_at: i64,
    pub updated_at: i64,
    /// An export's download key (part of its URL) and its expiry, while it lasts.
    pub export: Option<ExportRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRef {
    pub key: String,
    pub expires_at: i64,
}

impl PrivacyRequest {
    /// A new request, checked: 1 to `MAX_SUBJECTS` subjects.
    pub fn new(
        app_id: super::AppId,
        action: PrivacyAction,
        subjects: Vec<Subject>,
        options: std::collections::BTreeMap<String, String>,
        now: i64,
    ) -> Result<Self, ValidationError> {
        if subjects.is_empty() {
            return Err(ValidationError::Missing { field: "subjects" });
        }
        if subjects.len() > MAX_SUBJECTS {
            return Err(ValidationError::Invalid { field: "subjects", reason: "at most 100 per request" });
        }
        Ok(Self {
            id: RosterId::generate(),
            app_id,
            action,
            status: PrivacyStatus::Processing,
            subjects,
            options,
            users: 0,
            created_at: now,
            updated_at: now,
            export: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_one_to_a_hundred_subjects() {
        let app = super::super::AppId::generate();
        let email = |n: usize| Subject::email(format!("u{n}@example.com")).unwrap();
        assert!(PrivacyRequest::new(app.clone(), PrivacyAction::Erase, vec![], Default::default(), 1).is_err());
        let full = (0..MAX_SUBJECTS).map(email).collect();
        assert!(PrivacyRequest::new(app.clone(), PrivacyAction::Erase, full, Default::default(), 1).is_ok());
        let over = (0..=MAX_SUBJECTS).map(email).collect();
        assert!(PrivacyRequest::new(app, PrivacyAction::Erase, over, Default::default(), 1).is_err());
        assert!(Subject::email("not an email".into()).is_err());
        for status in [PrivacyStatus::Processing, PrivacyStatus::Done, PrivacyStatus::Cancelled, PrivacyStatus::Failed]
        {
            assert_eq!(PrivacyStatus::parse(status.as_str()), Some(status));
        }
    }
}
