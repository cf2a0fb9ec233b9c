//! Each vendor's user, as its own API answers it, into Roster's export record (`cli::record`),
//! keeping the vendor's id: Sendbird's `user_id` as the `user_id`; Sunshine's `id` and Ada's
//! `end_user_id` as the Roster id when they are valid ones (24 lowercase hex characters, the form
//! both use), else as an identity of channel type `sunshine` or `ada`. A user without a Roster id
//! of its own gets one derived from the target application and its vendor id, so a second pull
//! finds it again. Instants the vendor does not give are the pull's.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::cli::record::{Identity, Profile, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// Sendbird Platform API v3: `GET /v3/users`, `Api-Token`.
    Sendbird,
    /// Sunshine Conversations v2: `GET /v2/apps/{app}/users/{id}` for each id in FILE, Basic
    /// (`KEY_ID:SECRET`) or Bearer.
    Sunshine,
    /// Ada API v2: `GET /api/v2/end-users/`, Bearer.
    Ada,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sendbird => "sendbird",
            Self::Sunshine => "sunshine",
            Self::Ada => "ada",
        }
    }
}

/// The Roster id a vendor user without one gets in `app_id`: the same on every pull.
pub fn derived_id(source: Source, app_id: &str, vendor_id: &str) -> String {
    let digest = Sha256::digest(format!("roster-pull\0{}\0{app_id}\0{vendor_id}", source.name()));
    hex::encode(&digest[..12])
}

fn is_roster_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn string(user: &Map<String, Value>, key: &str) -> Option<String> {
    user.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn strings(user: &Map<String, Value>, key: &str) -> Vec<String> {
    user.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn metadata(value: Option<&Value>) -> BTreeMap<String, Value> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn millis_instant(ms: i64) -> String {
    platform::time::iso8601_millis(ms)
}

/// An instant as the vendor wrote it (RFC 3339), re-written as Roster writes them.
fn iso_instant(user: &Map<String, Value>, key: &str) -> Option<String> {
    string(user, key).and_then(|s| platform::time::parse_rfc3339(&s)).map(millis_instant)
}

fn record(id: String, user_id: String, now_ms: i64) -> Record {
    Record {
        id,
        user_id,
        external_id: None,
        nickname: String::new(),
        profile_url: String::new(),
        profile_image: None,
        profile: Profile::default(),
        metadata: BTreeMap::new(),
        discovery_keys: Vec::new(),
        preferred_languages: Vec::new(),
        identities: Vec::new(),
        member: None,
        is_active: true,
        origin: "bulk".into(),
        authenticated: false,
        to_be_retained: false,
        expires_unassociated: false,
        created_at: millis_instant(now_ms),
        updated_at: millis_instant(now_ms),
        last_seen_at: None,
        associated_at: None,
        signed_up_at: None,
        sensitive_metadata: BTreeMap::new(),
    }
}

/// The vendor id, or why the user cannot be read.
fn object<'a>(user: &'a Value, id_key: &str) -> Result<(&'a Map<String, Value>, String), String> {
    let object = user.as_object().ok_or("not a JSON object")?;
    let id = string(object, id_key).ok_or_else(|| format!("no {id_key}"))?;
    Ok((object, id))
}

/// A user of Sendbird's `GET /v3/users` (`created_at` in seconds, `last_seen_at` in ms, 0 when
/// never; metadata strings).
pub fn sendbird(user: &Value, app_id: &str, now_ms: i64) -> Result<Record, String> {
    let (user, user_id) = object(user, "user_id")?;
    let mut out = record(derived_id(Source::Sendbird, app_id, &user_id), user_id, now_ms);
    out.nickname = string(user, "nickname").unwrap_or_default();
    out.profile_url = string(user, "profile_url").unwrap_or_default();
    out.metadata = metadata(user.get("metadata"));
    out.discovery_keys = strings(user, "discovery_keys");
    out.preferred_languages = strings(user, "preferred_languages");
    out.is_active = user.get("is_active").and_then(Value::as_bool).unwrap_or(true);
    if let Some(seconds) = user.get("created_at").and_then(Value::as_i64).filter(|s| *s > 0) {
        out.created_at = millis_instant(seconds * 1000);
        out.updated_at = out.created_at.clone();
    }
    out.last_seen_at = user.get("last_seen_at").and_then(Value::as_i64).filter(|ms| *ms > 0).map(millis_instant);
    Ok(out)
}

/// An end user of Ada's `GET /api/v2/end-users/`.
pub fn ada(user: &Value, app_id: &str, now_ms: i64) -> Result<Record, String> {
    let (user, end_user_id) = object(user, "end_user_id")?;
    let mut out = own_id(Source::Ada, app_id, &end_user_id, now_ms);
    out.external_id = string(user, "external_id");
    if let Some(profile) = user.get("profile").and_then(Value::as_object) {
        out.profile = Profile {
            given_name: string(profile, "first_name"),
            surname: string(profile, "last_name"),
            display_name: string(profile, "display_name"),
            email: string(profile, "email"),
            language: string(profile, "language"),
            avatar_url: string(profile, "avatar"),
        };
        out.nickname = out.profile.display_name.clone().unwrap_or_default();
        out.profile_url = out.profile.avatar_url.clone().unwrap_or_default();
        out.metadata = metadata(profile.get("metadata"));
    }
    if let Some(at) = iso_instant(user, "created_at") {
        out.created_at = at;
    }
    out.updated_at = iso_instant(user, "updated_at").unwrap_or_else(|| out.created_at.clone());
    Ok(out)
}

/// A user of Sunshine's `GET /v2/apps/{appId}/users/{id}` (the `user` of its envelope).
pub fn sunshine(user: &Value, app_id: &str, now_ms: i64) -> Result<Record, String> {
    let (user, id) = object(user, "id")?;
    let mut out = own_id(Source::Sunshine, app_id, &id, now_ms);
    out.external_id = string(user, "externalId");
    out.signed_up_at = iso_instant(user, "signedUpAt");
    out.to_be_retained = user.get("toBeRetained").and_then(Value::as_bool).unwrap_or(false);
    out.authenticated = user.get("authenticated").and_then(Value::as_bool).unwrap_or(false);
    if let Some(profile) = user.get("profile").and_then(Value::as_object) {
        out.profile = Profile {
            given_name: string(profile, "givenName"),
            surname: string(profile, "surname"),
            display_name: None,
            email: string(profile, "email"),
            language: string(profile, "locale"),
            avatar_url: string(profile, "avatarUrl"),
        };
        out.profile_url = out.profile.avatar_url.clone().unwrap_or_default();
    }
    out.metadata = metadata(user.get("metadata"));
    if let Some(identities) = user.get("identities").and_then(Value::as_array) {
        for identity in identities.iter().filter_map(Value::as_object) {
            if let (Some(kind), Some(value)) = (string(identity, "type"), string(identity, "value")) {
                out.identities.push(Identity { channel_type: kind, value });
            }
        }
    }
    Ok(out)
}

/// A record whose Roster id is the vendor's own when it is a valid one; else a derived id, the
/// vendor's kept as an identity.
fn own_id(source: Source, app_id: &str, vendor_id: &str, now_ms: i64) -> Record {
    if is_roster_id(vendor_id) {
        return record(vendor_id.to_owned(), vendor_id.to_owned(), now_ms);
    }
    let id = derived_id(source, app_id, vendor_id);
    let mut out = record(id.clone(), id, now_ms);
    out.identities.push(Identity { channel_type: source.name().into(), value: vendor_id.to_owned() });
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_sendbird_user_keeps_its_user_id_and_gets_the_same_roster_id_every_time() {
        let user = json!({ "user_id": "ana", "nickname": "Ana", "profile_url": "", "is_active": false,
            "created_at": 1_700_000_000, "last_seen_at": 0, "metadata": { "plan": "gold" },
            "discovery_keys": ["k"], "preferred_languages": ["pt"] });
        let a = sendbird(&user, "app1", 5).unwrap();
        assert_eq!((a.user_id.as_str(), a.nickname.as_str(), a.is_active), ("ana", "Ana", false));
        assert_eq!(a.created_at, "2023-11-14T22:13:20.000Z");
        assert_eq!(a.last_seen_at, None);
        assert_eq!(a.metadata["plan"], "gold");
        assert_eq!(a.id, sendbird(&user, "app1", 6).unwrap().id, "stable");
        assert_ne!(a.id, sendbird(&user, "app2", 5).unwrap().id, "per application");
        assert!(is_roster_id(&a.id));
        assert!(sendbird(&json!({ "nickname": "x" }), "app1", 5).unwrap_err().contains("user_id"));
    }

    #[test]
    fn ada_and_sunshine_ids_become_roster_ids_or_identities() {
        let valid = "0123456789abcdef01234567";
        let ada_user = json!({ "end_user_id": valid, "external_id": "crm-1",
            "profile": { "first_name": "Ana", "display_name": "Ana L", "metadata": { "n": 2 } },
            "created_at": "2020-09-20T00:00:00+00:00", "updated_at": "2020-09-21T00:00:00+00:00" });
        let a = ada(&ada_user, "app", 0).unwrap();
        assert_eq!((a.id.as_str(), a.user_id.as_str(), a.external_id.as_deref()), (valid, valid, Some("crm-1")));
        assert_eq!((a.nickname.as_str(), a.metadata["n"].clone()), ("Ana L", json!(2)));
        assert_eq!(a.created_at, "2020-09-20T00:00:00.000Z");
        let odd = ada(&json!({ "end_user_id": "EU-42" }), "app", 0).unwrap();
        assert_eq!(odd.identities, [Identity { channel_type: "ada".into(), value: "EU-42".into() }]);
        assert_ne!(odd.id, "EU-42");

        let s = sunshine(
            &json!({ "id": valid, "externalId": "ext", "signedUpAt": "2020-09-20T10:11:12.345Z",
                "profile": { "givenName": "Ana", "locale": "pt-BR" }, "metadata": { "vip": true },
                "identities": [{ "type": "email", "value": "ana@example.com" }] }),
            "app",
            0,
        )
        .unwrap();
        assert_eq!((s.id.as_str(), s.external_id.as_deref()), (valid, Some("ext")));
        assert_eq!(s.signed_up_at.as_deref(), Some("2020-09-20T10:11:12.345Z"));
        assert_eq!(s.profile.language.as_deref(), Some("pt-BR"));
        assert_eq!(s.identities[0].channel_type, "email");
    }
}
