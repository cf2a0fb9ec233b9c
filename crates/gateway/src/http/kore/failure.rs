//! Why one user of a request failed, in Kore's reason shape: `{ "statusCode", "status",
//! "customCode", "errors": [ { "msg", "code" } ], "_headers", "message", "name" }`. A failure is
//! not an error of the request: it rides in a 200's `failedUserDetails`.

use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};

/// Why one user was refused: Kore's `message` (`INVALID_EMAIL`, `DUPLICATE_USER`...) and the
/// status it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    /// `INVALID_<FIELD>`, Kore's name for a bad value of `field`.
    pub fn invalid(field: &str) -> Self {
        Self { status: 400, message: format!("INVALID_{}", field.to_uppercase()) }
    }

    pub fn duplicate() -> Self {
        Self { status: 409, message: "DUPLICATE_USER".into() }
    }

    pub fn not_found() -> Self {
        Self { status: 404, message: "USER_NOT_FOUND".into() }
    }

    pub fn reason(&self) -> Reason {
        Reason {
            status_code: self.status,
            status: self.status,
            custom_code: self.status,
            errors: vec![ReasonError { msg: self.message.clone(), code: self.status }],
            headers: Map::new(),
            message: self.message.clone(),
            name: match self.status {
                404 => "NotFound",
                409 => "Conflict",
                500 => "InternalServerError",
                _ => "BadRequest",
            },
        }
    }

    /// The reason as a JSON value, for a `userInfo` echoed back with it.
    pub fn reason_value(&self) -> Value {
        serde_json::to_value(self.reason()).unwrap_or_default()
    }

    /// A registry refusal of one user in Kore's words.
    pub fn from_registry(error: &pb::ItemError) -> Self {
        let field = error.field.as_str();
        match error.code.as_str() {
            "already_exists" | "external_id_taken" | "user_id_taken" => Self::duplicate(),
            "user_not_found" => Self::not_found(),
            _ if matches!(field, "email" | "email_id") => Self::invalid("email"),
            "internal" | "unavailable" => Self { status: 500, message: "INTERNAL_ERROR".into() },
            _ => Self::invalid(kore_field(field)),
        }
    }
}

/// Kore's name of the registry's field.
fn kore_field(field: &str) -> &str {
    match field {
        "org_user_id" => "orgUserId",
        "given_name" => "firstName",
        "surname" => "lastName",
        "info.company_name" => "companyName",
        "info.dept" => "dept",
        "info.company_contact_phone" => "companyContactPhone",
        "info.work_number" => "worknumber",
        "info.street" => "street",
        "info.suite_no" => "suiteNo",
        "info.city" => "city",
        "info.zip" => "zip",
        "info.state" => "state",
        "info.country" => "country",
        "bot_tasks" | "bot_tasks.stream_id" | "bot_tasks.dialogs" | "bot_task_changes" => "assignBotTasks",
        "roles" | "roles.role_id" | "roles.bot_id" => "roles",
        "groups" => "groups",
        "lookup" => "userInfo",
        _ => "user",
    }
}

/// Kore's error object, as it describes one user's failure.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = kore::Reason)]
pub struct Reason {
    status_code: u16,
    status: u16,
    custom_code: u16,
    errors: Vec<ReasonError>,
    /// Always `{}`.
    #[serde(rename = "_headers")]
    #[schema(value_type = Object)]
    headers: Map<String, Value>,
    /// `INVALID_EMAIL`, `DUPLICATE_USER`, `USER_NOT_FOUND`...
    message: String,
    /// `BadRequest`, `NotFound`, `Conflict` or `InternalServerError`.
    name: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = kore::ReasonError)]
pub struct ReasonError {
    msg: String,
    code: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_refusals_in_kores_words() {
        let refusal = |code: &str, field: &str| {
            Failure::from_registry(&pb::ItemError { code: code.into(), message: "x".into(), field: field.into() })
        };
        assert_eq!(refusal("already_exists", "email_id"), Failure::duplicate());
        assert_eq!(refusal("already_exists", "org_user_id"), Failure::duplicate());
        assert_eq!(refusal("user_not_found", ""), Failure::not_found());
        assert_eq!(refusal("invalid_argument", "email_id").message, "INVALID_EMAIL");
        assert_eq!(refusal("value_too_long", "info.work_number").message, "INVALID_WORKNUMBER");
        assert_eq!(refusal("value_too_long", "given_name").message, "INVALID_FIRSTNAME");
        assert_eq!(refusal("invalid_argument", "bot_tasks.dialogs").message, "INVALID_ASSIGNBOTTASKS");
        assert_eq!(refusal("internal", "").status, 500);
        let reason = serde_json::to_value(Failure::duplicate().reason()).unwrap();
        assert_eq!(
            reason,
            serde_json::json!({ "statusCode": 409, "status": 409, "customCode": 409, "_headers": {},
                "errors": [ { "msg": "DUPLICATE_USER", "code": 409 } ], "message": "DUPLICATE_USER", "name": "Conflict" })
        );
    }
}
