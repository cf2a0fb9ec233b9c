//! Reading Kore's users field by field, so a bad one is named in Kore's terms (`INVALID_GROUPS`,
//! `INVALID_COMPANYNAME`...) instead of failing the whole request.

use serde_json::{Map, Value};

use super::{
    failure::Failure,
    member::{KoreRole, UserInfo},
};

pub fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            items.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(|| Failure::invalid(field))).collect()
        }
        Some(_) => Err(Failure::invalid(field)),
    }
}

pub fn optional_string(object: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Failure::invalid(field)),
    }
}

pub fn flag(object: &Map<String, Value>, key: &str) -> Result<Option<bool>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Failure::invalid(key)),
    }
}

/// The item's `userInfo`: every field Kore documents, each a string; any other field is refused
/// (`INVALID_USERINFO`), so nothing sent is silently lost.
pub fn user_info(item: &Map<String, Value>) -> Result<UserInfo, Failure> {
    let info = item.get("userInfo").and_then(Value::as_object).ok_or_else(|| Failure::invalid("userInfo"))?;
    if info.keys().any(|key| !UserInfo::FIELDS.contains(&key.as_str())) {
        return Err(Failure::invalid("userInfo"));
    }
    let text = |key: &str| optional_string(info, key, key);
    Ok(UserInfo {
        email_id: optional_string(info, "emailId", "email")?,
        org_user_id: text("orgUserId")?,
        first_name: text("firstName")?,
        last_name: text("lastName")?,
        company_name: text("companyName")?,
        dept: text("dept")?,
        company_contact_phone: text("companyContactPhone")?,
        worknumber: text("worknumber")?,
        street: text("street")?,
        suite_no: text("suiteNo")?,
        city: text("city")?,
        zip: text("zip")?,
        state: text("state")?,
        country: text("country")?,
    })
}

/// `[ { "roleId", "botId"? } ]`; absent or null is none.
pub fn roles(value: Option<&Value>) -> Result<Vec<KoreRole>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(roles)) => roles
            .iter()
            .map(|role| {
                let role = role.as_object().ok_or_else(|| Failure::invalid("roles"))?;
                let role_id = optional_string(role, "roleId", "roles")?.ok_or_else(|| Failure::invalid("roles"))?;
                Ok(KoreRole { role_id, bot_id: optional_string(role, "botId", "roles")? })
            })
            .collect(),
        Some(_) => Err(Failure::invalid("roles")),
    }
}

/// `{ "addTo": [...], "removeFrom": [...] }` read with `read` (absent or null: none); any other
/// key is refused.
pub fn changes<T>(
    value: &Map<String, Value>,
    field: &str,
    read: impl Fn(Option<&Value>) -> Result<Vec<T>, Failure>,
) -> Result<(Vec<T>, Vec<T>), Failure> {
    if value.keys().any(|key| key != "addTo" && key != "removeFrom") {
        return Err(Failure::invalid(field));
    }
    Ok((read(value.get("addTo"))?, read(value.get("removeFrom"))?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn info(value: Value) -> Result<UserInfo, Failure> {
        user_info(json!({ "userInfo": value }).as_object().unwrap())
    }

    #[test]
    fn user_info_keeps_every_documented_field_and_refuses_others() {
        let every: Map<String, Value> = UserInfo::FIELDS.iter().map(|f| (f.to_string(), Value::from(*f))).collect();
        let read = info(Value::Object(every.clone())).unwrap();
        assert_eq!(read, serde_json::from_value::<UserInfo>(Value::Object(every)).unwrap(), "as serde reads it");
        assert_eq!((read.suite_no.as_deref(), read.worknumber.as_deref()), (Some("suiteNo"), Some("worknumber")));
        assert_eq!(info(json!({ "emailId": "a@b.co", "jTitle": "CTO" })).unwrap_err().message, "INVALID_USERINFO");
        assert_eq!(info(json!({ "emailId": "a@b.co", "city": 7 })).unwrap_err().message, "INVALID_CITY");
        assert_eq!(info(json!({ "emailId": 7 })).unwrap_err().message, "INVALID_EMAIL");
        assert_eq!(info(json!("nope")).unwrap_err().message, "INVALID_USERINFO");
        assert_eq!(info(json!({ "emailId": null, "city": null })).unwrap(), UserInfo::default());
    }

    #[test]
    fn changes_are_add_to_and_remove_from_only() {
        let value = json!({ "addTo": ["a"], "removeFrom": ["b"] });
        let read = changes(value.as_object().unwrap(), "groups", |v| strings(v, "groups")).unwrap();
        assert_eq!(read, (vec!["a".to_string()], vec!["b".to_string()]));
        let typo = json!({ "add": ["a"] });
        assert_eq!(
            changes(typo.as_object().unwrap(), "groups", |v| strings(v, "groups")).unwrap_err().message,
            "INVALID_GROUPS"
        );
        let roles_value = json!({ "addTo": [ { "roleId": "r", "botId": "st" } ], "removeFrom": [ {} ] });
        assert_eq!(changes(roles_value.as_object().unwrap(), "roles", roles).unwrap_err().message, "INVALID_ROLES");
    }
}
