//! The compact session token: 119 characters, inside the 119 to 168 that Sendbird's Platform
//! API documents for its session tokens (apps that cache them may limit the length), and still
//! stateless and signed. Base64url (no padding) of 89 bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version, 1 |
//! | 4 | the signing key: the first 4 bytes of SHA-256 of its kid |
//! | 12 | application id (24 hex characters) |
//! | 12 | user id: the registry's Roster id (24 hex characters) |
//! | 8 | issued at, milliseconds since the epoch (big-endian) |
//! | 8 | expires at, seconds since the epoch (big-endian) |
//! | 12 | token id, random |
//! | 32 | HMAC-SHA256 of the 57 bytes above under the signing key's secret |
//!
//! The key is found by its fingerprint (with rotation there are a few; a fingerprint shared by
//! two keys is tried with each), the MAC compared in constant time. Expiry is exact: a token is
//! refused from its `exp` second on, with no leeway (it is Roster's own promise to the caller).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::{ISSUER, InvalidReason, SessionClaims};

const VERSION: u8 = 1;
const FINGERPRINT: usize = 4;
const ID: usize = 12;
const BODY: usize = 1 + FINGERPRINT + ID + ID + 8 + 8 + ID;
const MAC: usize = 32;
/// Every compact token has exactly this many characters.
pub const LENGTH: usize = ((BODY + MAC) * 4).div_ceil(3);

/// The fingerprint a token carries for the key `kid`.
pub fn fingerprint(kid: &str) -> [u8; FINGERPRINT] {
    let digest = Sha256::digest(kid.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Whether `token` has the compact form (as opposed to the JWTs issued before it).
pub fn is_compact(token: &str) -> bool {
    token.len() == LENGTH && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn id_bytes(field: &str, id: &str) -> anyhow::Result<[u8; ID]> {
    let mut bytes = [0u8; ID];
    if id.len() != 2 * ID || id.bytes().any(|b| b.is_ascii_uppercase()) {
        anyhow::bail!("a session token's {field} is a 24-character lowercase hex id");
    }
    hex::decode_to_slice(id, &mut bytes).map_err(|_| anyhow::anyhow!("a session token's {field} is not hex"))?;
    Ok(bytes)
}

/// HMAC-SHA256 of `body`; `None` only for a key HMAC cannot take (it takes any length).
fn mac(secret: &[u8], body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(mac)
}

/// Signs `claims` (whose `sub` and `app` are Roster ids and `jti` 24 hex characters) with the
/// key `kid`.
pub fn sign(kid: &str, secret: &[u8], claims: &SessionClaims) -> anyhow::Result<String> {
    let mut token = Vec::with_capacity(BODY + MAC);
    token.push(VERSION);
    token.extend_from_slice(&fingerprint(kid));
    token.extend_from_slice(&id_bytes("app", &claims.app)?);
    token.extend_from_slice(&id_bytes("user id", &claims.sub)?);
    token.extend_from_slice(&claims.iat_ms.to_be_bytes());
    token.extend_from_slice(&claims.exp.to_be_bytes());
    token.extend_from_slice(&id_bytes("token id", &claims.jti)?);
    let tag = mac(secret, &token).ok_or_else(|| anyhow::anyhow!("unusable signing key"))?.finalize().into_bytes();
    token.extend_from_slice(&tag);
    Ok(URL_SAFE_NO_PAD.encode(token))
}

/// The claims of a compact token signed by one of `keys` (`(fingerprint, secret)`), if its MAC
/// holds and it has not expired at `now_millis`.
pub fn verify<'a>(
    token: &str,
    keys: impl Iterator<Item = (&'a [u8; FINGERPRINT], &'a [u8])>,
    now_millis: i64,
) -> Result<SessionClaims, InvalidReason> {
    if !is_compact(token) {
        return Err(InvalidReason::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidReason::Malformed)?;
    let (body, tag) = bytes.split_at_checked(BODY).ok_or(InvalidReason::Malformed)?;
    if body[0] != VERSION || tag.len() != MAC {
        return Err(InvalidReason::Malformed);
    }
    let (mut known, mut signed) = (false, false);
    for (_, secret) in keys.filter(|(fingerprint, _)| fingerprint[..] == body[1..1 + FINGERPRINT]) {
        known = true;
        if mac(secret, body).is_some_and(|mac| mac.verify_slice(tag).is_ok()) {
            signed = true;
            break;
        }
    }
    if !known {
        return Err(InvalidReason::Unknown);
    }
    if !signed {
        return Err(InvalidReason::BadSignature);
    }
    let field = |at: usize, len: usize| &body[at..at + len];
    let int = |at: usize| i64::from_be_bytes(field(at, 8).try_into().unwrap_or([0; 8]));
    let at = 1 + FINGERPRINT;
    let (app, sub) = (hex::encode(field(at, ID)), hex::encode(field(at + ID, ID)));
    let (iat_ms, exp) = (int(at + 2 * ID), int(at + 2 * ID + 8));
    let jti = hex::encode(field(at + 2 * ID + 16, ID));
    if now_millis.div_euclid(1000) >= exp {
        return Err(InvalidReason::Expired);
    }
    Ok(SessionClaims { iss: ISSUER.to_owned(), sub, app, iat: iat_ms.div_euclid(1000), exp, iat_ms, jti })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW_MS: i64 = 1_800_000_000_000;

    fn claims(app: &str, sub: &str, exp: i64) -> SessionClaims {
        SessionClaims {
            iss: ISSUER.into(),
            sub: sub.into(),
            app: app.into(),
            iat: NOW_MS / 1000,
            exp,
            iat_ms: NOW_MS,
            jti: "0123456789abcdef01234567".into(),
        }
    }

    fn keys<'a>(set: &'a [(&'a str, &'a [u8])]) -> Vec<([u8; FINGERPRINT], &'a [u8])> {
        set.iter().map(|(kid, secret)| (fingerprint(kid), *secret)).collect()
    }

    fn check(token: &str, set: &[(&str, &[u8])], now: i64) -> Result<SessionClaims, InvalidReason> {
        let keys = keys(set);
        verify(token, keys.iter().map(|(f, s)| (f, *s)), now)
    }

    const SECRET: &[u8] = &[7; 32];

    #[test]
    fn a_token_round_trips_and_expires_exactly() {
        let claims = claims("6b116ca23abb983d14505766", "6b116bbe496ef78783ba449e", NOW_MS / 1000 + 60);
        let token = sign("k1", SECRET, &claims).unwrap();
        assert_eq!(token.len(), LENGTH);
        assert_eq!(LENGTH, 119);
        assert_eq!(check(&token, &[("k1", SECRET)], NOW_MS).unwrap(), claims);
        assert_eq!(check(&token, &[("k1", SECRET)], (NOW_MS / 1000 + 59) * 1000 + 999).unwrap(), claims);
        assert_eq!(check(&token, &[("k1", SECRET)], (NOW_MS / 1000 + 60) * 1000), Err(InvalidReason::Expired));
    }

    #[test]
    fn only_roster_ids_are_signed() {
        for (app, sub) in [
            ("6b116ca23abb983d14505766", "u1"),
            ("app", "6b116bbe496ef78783ba449e"),
            ("6B116CA23ABB983D14505766", "6b116bbe496ef78783ba449e"),
        ] {
            assert!(sign("k1", SECRET, &claims(app, sub, 1)).is_err(), "{app} {sub}");
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_and_refuses_forgeries() {
        let old = sign("old", &[1; 32], &claims("6b116ca23abb983d14505766", "6b116bbe496ef78783ba449e", i64::MAX / 2))
            .unwrap();
        let rotated: &[(&str, &[u8])] = &[("new", &[2; 32]), ("old", &[1; 32])];
        assert!(check(&old, rotated, NOW_MS).is_ok(), "the old key still verifies");
        assert_eq!(check(&old, &[("new", &[2; 32])], NOW_MS), Err(InvalidReason::Unknown), "its key dropped");
        // The same kid with another secret: re-keyed, so the signature no longer holds.
        assert_eq!(check(&old, &[("old", &[3; 32])], NOW_MS), Err(InvalidReason::BadSignature));
        assert_eq!(check(&old[..LENGTH - 1], rotated, NOW_MS), Err(InvalidReason::Malformed), "truncated");
        assert_eq!(check(&format!("{old}A"), rotated, NOW_MS), Err(InvalidReason::Malformed), "lengthened");
    }

    proptest! {
        /// Every id the registry and token-service hand out gives a token of exactly 119
        /// characters, which verifies to the same claims.
        #[test]
        fn every_token_is_119_characters(app in "[0-9a-f]{24}", sub in "[0-9a-f]{24}", jti in "[0-9a-f]{24}", iat_ms in 0i64..=i64::MAX / 2, ttl in 1i64..=100 * 365 * 86_400, kid in "[A-Za-z0-9_-]{1,64}") {
            let claims = SessionClaims { iss: ISSUER.into(), sub, app, iat: iat_ms / 1000, exp: iat_ms / 1000 + ttl, iat_ms, jti };
            let token = sign(&kid, SECRET, &claims).unwrap();
            prop_assert_eq!(token.len(), 119);
            prop_assert!((119..=168).contains(&token.len()));
            prop_assert_eq!(check(&token, &[(&kid, SECRET)], iat_ms).unwrap(), claims);
        }

        /// Any change to a token (one character anywhere) is refused, never read as other claims.
        #[test]
        fn a_changed_token_is_refused(at in 0usize..LENGTH, with in "[A-Za-z0-9_-]") {
            let token = sign("k1", SECRET, &claims("6b116ca23abb983d14505766", "6b116bbe496ef78783ba449e", NOW_MS / 1000 + 60)).unwrap();
            let mut changed = token.clone().into_bytes();
            changed[at] = with.as_bytes()[0];
            let changed = String::from_utf8(changed).unwrap();
            prop_assume!(changed != token);
            // The last character carries 2 padding bits: a change there may decode to the same bytes.
            if let Ok(claims) = check(&changed, &[("k1", SECRET)], NOW_MS) {
                prop_assert_eq!(at, LENGTH - 1);
                prop_assert_eq!(URL_SAFE_NO_PAD.decode(&changed).ok(), URL_SAFE_NO_PAD.decode(&token).ok());
                let _ = claims;
            }
        }

        /// Arbitrary text is refused: never a panic, never claims.
        #[test]
        fn arbitrary_text_is_refused(token in "\\PC{0,200}") {
            prop_assert!(check(&token, &[("k1", SECRET)], NOW_MS).is_err());
        }
    }
}
