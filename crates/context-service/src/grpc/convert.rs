//! The only place that names generated proto types.

use std::collections::HashMap;

use proto::context::v1 as pb;

use crate::{
    domain::{Context, ContextKey, ContextValues, Country, Language, ValidationError},
    error::ContextError,
};

pub fn key(key: Option<pb::ContextKey>) -> Result<ContextKey, ContextError> {
    let pb::ContextKey { app_id, user_id, agent_id } = key.ok_or(ValidationError::Missing { field: "key" })?;
    Ok(ContextKey::parse(app_id, user_id, agent_id)?)
}

pub fn fields(
    language: Option<String>,
    country: Option<String>,
    values: HashMap<String, String>,
) -> Result<(Option<Language>, Option<Country>, ContextValues), ContextError> {
    Ok((
        language.map(Language::parse).transpose()?,
        country.map(Country::parse).transpose()?,
        ContextValues::parse(values.into_iter().collect())?,
    ))
}

impl From<Context> for pb::Context {
    fn from(context: Context) -> Self {
        let Context { key, language, country, values, updated_at } = context;
        pb::Context {
            app_id: key.app_id.as_str().to_owned(),
            user_id: key.user_id,
            agent_id: key.agent_id,
            language: language.map(|l| l.as_str().to_owned()),
            country: country.map(|c| c.as_str().to_owned()),
            values: values.entries().clone().into_iter().collect(),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
        }
    }
}
