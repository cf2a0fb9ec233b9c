//! What event-service knows without a database: the event types, the wire formats a subscription
//! may ask for, what a subscription must be, and when a failed delivery is tried again.

use std::time::Duration;

/// Every event type a service publishes.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
    "conversation.created",
    "conversation.ended",
    "participant.joined",
    "participant.left",
    "member.activation_requested",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{field} is not valid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ValidationError {
    ValidationError::Invalid { field, reason: reason.into() }
}

/// The wire format of a subscription's deliveries (each dialect's own webhook shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sendbird,
    Sunshine,
    Ada,
    /// Kore's activation emails: event-service's own subscription, one per application.
    Email,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sendbird => "sendbird",
            Format::Sunshine => "sunshine",
            Format::Ada => "ada",
            Format::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sendbird" => Some(Format::Sendbird),
            "sunshine" => Some(Format::Sunshine),
            "ada" => Some(Format::Ada),
            "email" => Some(Format::Email),
            _ => None,
        }
    }
}

/// A webhook target: an absolute http(s) URL of at most 2048 characters, without credentials
/// (they would be stored and shown back in clear). Where it may point is the dispatcher's
/// concern: it checks the address it connects to.
pub fn target(url: &str) -> Result<String, ValidationError> {
    if url.is_empty() {
        return Err(ValidationError::Missing("target"));
    }
    if url.len() > 2048 {
        return Err(invalid("target", "longer than 2048 characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("target", "must be an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid("target", "must name a host, without credentials"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("target", "must not contain spaces or control characters"));
    }
    Ok(url.to_owned())
}

/// Known event types, each once, in the order of `EVENT_TYPES`.
pub fn event_types(types: &[String]) -> Result<Vec<String>, ValidationError> {
    for t in types {
        if !EVENT_TYPES.contains(&t.as_str()) {
            return Err(invalid("event_types", format!("unknown event type {t:?}")));
        }
    }
    Ok(EVENT_TYPES.iter().filter(|t| types.iter().any(|g| g == *t)).map(|t| (*t).to_owned()).collect())
}

/// A JSON object (the dialect's own fields) of at most 16 KB.
pub fn attributes(json: &str) -> Result<String, ValidationError> {
    if json.is_empty() {
        return Ok("{}".into());
    }
    if json.len() > 16 * 1024 {
        return Err(invalid("attributes_json", "larger than 16 KB"));
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(json.to_owned()),
        _ => Err(invalid("attributes_json", "must be a JSON object")),
    }
}

/// A group id: "" or at most 64 characters of `[A-Za-z0-9_-]`.
pub fn group_id(id: &str) -> Result<String, ValidationError> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid("group_id", "at most 64 letters, digits, '-' or '_'"));
    }
    Ok(id.to_owned())
}

/// When a failed delivery is tried again: exponential backoff from `first_retry`, doubling up to
/// `max_backoff`, each delay drawn uniformly from its upper half (jitter, so a receiver that comes
/// back is not hit by every retry at once); after `max_age` since the event, dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_retry: Duration,
    pub max_backoff: Duration,
    pub max_age: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(i64),
    Dead,
}

impl RetryPolicy {
    /// After the `attempts`-th failed attempt (1 for the first) at `now` of a delivery created at
    /// `created_at`; `unit` in [0, 1) is the jitter draw.
    pub fn after_failure(&self, attempts: u32, created_at: i64, now: i64, unit: f64) -> AfterFailure {
        let max_age = i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX);
        if now.saturating_sub(created_at) >= max_age {
            return AfterFailure::Dead;
        }
        let first = self.first_retry.as_millis() as f64;
        let cap = self.max_backoff.as_millis() as f64;
        let exponent = attempts.saturating_sub(1).min(62) as i32;
        let ceiling = (first * 2f64.powi(exponent)).min(cap).max(1.0);
        let delay = ceiling * (0.5 + 0.5 * unit.clamp(0.0, 1.0));
        AfterFailure::RetryAt(now.saturating_add(delay as i64).min(created_at.saturating_add(max_age)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        first_retry: Duration::from_secs(5),
        max_backoff: Duration::from_secs(3600),
        max_age: Duration::from_secs(3 * 24 * 3600),
    };

    #[test]
    fn backoff_doubles_within_its_upper_half_and_stops_at_the_cap() {
        let now = 1_000_000;
        for (attempt, ceiling) in
            [(1, 5_000), (2, 10_000), (3, 20_000), (10, 2_560_000), (13, 3_600_000), (40, 3_600_000)]
        {
            let AfterFailure::RetryAt(low) = POLICY.after_failure(attempt, now, now, 0.0) else { panic!() };
            let AfterFailure::RetryAt(high) = POLICY.after_failure(attempt, now, now, 0.999_999) else { panic!() };
            assert_eq!(low - now, ceiling / 2, "attempt {attempt}");
            assert!(high - now <= ceiling && high - now >= ceiling - 10, "attempt {attempt}");
        }
    }

    #[test]
    fn a_delivery_older_than_the_age_limit_is_dead_and_no_retry_goes_past_it() {
        let created = 0;
        let max_age = 3 * 24 * 3600 * 1000;
        assert_eq!(POLICY.after_failure(3, created, max_age, 0.5), AfterFailure::Dead);
        let AfterFailure::RetryAt(at) = POLICY.after_failure(30, created, max_age - 10, 0.5) else { panic!() };
        assert_eq!(at, max_age);
    }

    #[test]
    fn targets_must_be_http_urls_with_a_host_and_no_credentials() {
        assert!(target("https://hooks.example.com/roster?x=1").is_ok());
        assert!(target("http://127.0.0.1:9000/").is_ok());
        for bad in ["", "ftp://x", "https://", "https://user:pw@example.com/", "https://a b", "hooks.example.com"] {
            assert!(target(bad).is_err(), "{bad}");
        }
        assert!(target(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn event_types_are_known_deduplicated_and_ordered() {
        let given = ["user.deleted", "user.created", "user.deleted"].map(String::from);
        assert_eq!(event_types(&given).unwrap(), ["user.created", "user.deleted"]);
        assert!(event_types(&["user.exploded".into()]).is_err());
        assert!(attributes("[1]").is_err());
        assert_eq!(attributes("").unwrap(), "{}");
        assert!(group_id("abc-1_2").is_ok() && group_id("a/b").is_err());
    }
}
