//! Data-subject requests between their protocol messages and the registry's values.

use proto::registry::v1 as pb;

use super::convert::{app_id, lookup};
use crate::{
    domain::{AppId, PrivacyAction, PrivacyRequest, PrivacyStatus, RosterId, Subject, ValidationError},
    error::RegistryError,
};

pub fn new_request(request: pb::CreatePrivacyRequestRequest, now: i64) -> Result<PrivacyRequest, RegistryError> {
    let pb::CreatePrivacyRequestRequest { app_id: app, action, subjects, options } = request;
    let action = match pb::PrivacyAction::try_from(action) {
        Ok(pb::PrivacyAction::Erase) => PrivacyAction::Erase,
        Ok(pb::PrivacyAction::Export) => PrivacyAction::Export,
        _ => return Err(ValidationError::Invalid { field: "action", reason: "must be erase or export" }.into()),
    };
    let subjects = subjects
        .into_iter()
        .map(|subject| match subject.key {
            Some(pb::privacy_subject::Key::User(user)) => Ok(Subject::User(lookup(Some(user))?)),
            Some(pb::privacy_subject::Key::Email(email)) => Ok(Subject::email(email)?),
            None => Err(ValidationError::Missing { field: "subjects" }.into()),
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
    Ok(PrivacyRequest::new(app_id(app)?, action, subjects, options.into_iter().collect(), now)?)
}

pub fn ids(app: String, id: String) -> Result<(AppId, RosterId), RegistryError> {
    let id = RosterId::parse(id).map_err(|_| RegistryError::PrivacyRequestNotFound)?;
    Ok((app_id(app)?, id))
}

pub fn to_pb(request: PrivacyRequest) -> pb::PrivacyRequest {
    let PrivacyRequest { id, app_id, action, status, subjects, options, users, created_at, updated_at, export } =
        request;
    let subjects = subjects
        .into_iter()
        .map(|subject| pb::PrivacySubject {
            key: Some(match subject {
                Subject::User(lookup) => pb::privacy_subject::Key::User(super::convert::lookup_to_pb(lookup)),
                Subject::Email(email) => pb::privacy_subject::Key::Email(email),
            }),
        })
        .collect();
    pb::PrivacyRequest {
        id: id.as_str().to_owned(),
        app_id: app_id.as_str().to_owned(),
        action: match action {
            PrivacyAction::Erase => pb::PrivacyAction::Erase,
            PrivacyAction::Export => pb::PrivacyAction::Export,
        }
        .into(),
        status: match status {
            PrivacyStatus::Processing => pb::PrivacyStatus::Processing,
            PrivacyStatus::Done => pb::PrivacyStatus::Done,
            PrivacyStatus::Cancelled => pb::PrivacyStatus::Cancelled,
            PrivacyStatus::Failed => pb::PrivacyStatus::Failed,
        }
        .into(),
        subjects,
        options: options.into_iter().collect(),
        users,
        created_at: Some(proto::timestamp_from_millis(created_at)),
        updated_at: Some(proto::timestamp_from_millis(updated_at)),
        export_key: export.as_ref().map(|e| e.key.clone()),
        export_expires_at: export.map(|e| proto::timestamp_from_millis(e.expires_at)),
    }
}
