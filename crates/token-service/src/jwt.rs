//! Session-token signing: a key set with ids. The first key signs; every key verifies, so a
//! new key can be put in front while tokens signed by the old one keep working until they
//! expire. Tokens are signed in the compact form (`session_token`, 119 characters); the HS256
//! JWTs signed before it keep verifying until they expire. A JWT naming any algorithm but
//! HS256 is refused.
//!
//! Expiry is judged at the instant the caller passes (the service's injected clock), never by
//! the system clock. A compact token expires exactly at its `exp`; an old JWT with the 5 seconds
//! of leeway it was issued with (`JwtTime`).

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};

use crate::{
    app::SessionKeys,
    domain::{ISSUER, InvalidReason, JwtTime, SessionClaims},
    session_token,
};

/// Leeway for `exp` across replicas' clocks, in seconds.
const LEEWAY_SECS: u64 = 5;

pub struct KeySet {
    signing_kid: String,
    signing_secret: Vec<u8>,
    verifying: HashMap<String, DecodingKey>,
    /// Every key's fingerprint and secret, for compact tokens.
    compact: Vec<([u8; 4], Vec<u8>)>,
    validation: Validation,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.verifying.keys().collect();
        kids.sort();
        f.debug_struct("KeySet").field("signing_kid", &self.signing_kid).field("kids", &kids).finish()
    }
}

impl KeySet {
    /// `keys` in order of preference: the first signs. Never empty.
    pub fn new(keys: &[(String, Vec<u8>)]) -> anyhow::Result<Self> {
        let (signing_kid, signing_secret) = keys.first().ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Ok(Self {
            signing_kid: signing_kid.clone(),
            signing_secret: signing_secret.clone(),
            verifying: keys.iter().map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret))).collect(),
            compact: keys.iter().map(|(kid, secret)| (session_token::fingerprint(kid), secret.clone())).collect(),
            validation,
        })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }
}

impl SessionKeys for KeySet {
    fn sign(&self, claims: &SessionClaims) -> anyhow::Result<String> {
        session_token::sign(&self.signing_kid, &self.signing_secret, claims)
    }

    /// Signature, algorithm, issuer and expiry at `now_millis`; revocation is the caller's
    /// next step.
    fn verify(&self, token: &str, now_millis: i64) -> Result<SessionClaims, InvalidReason> {
        if session_token::is_compact(token) {
            let keys = self.compact.iter().map(|(fingerprint, secret)| (fingerprint, secret.as_slice()));
            return session_token::verify(token, keys, now_millis);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidReason::Malformed)?;
        // Roster understands no critical extension (RFC 7515, 4.1.11).
        if header.crit.is_some() {
            return Err(InvalidReason::Malformed);
        }
        if header.alg != Algorithm::HS256 {
            return Err(InvalidReason::BadSignature);
        }
        let key = header.kid.as_deref().and_then(|kid| self.verifying.get(kid)).ok_or(InvalidReason::Unknown)?;
        let now = JwtTime::at(now_millis, LEEWAY_SECS);
        match jsonwebtoken::decode::<SessionClaims>(token, key, &self.validation) {
            // A required `exp` that parsed is a whole number of seconds, never negative.
            Ok(data) if now.is_past(data.claims.exp as u64) => Err(InvalidReason::Expired),
            Ok(data) => Ok(data.claims),
            Err(err) => Err(match err.kind() {
                // Expiry is judged before the issuer and the audience: an expired token says so.
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience
                    if jsonwebtoken::dangerous::insecure_decode_claims::<SessionClaims>(token)
                        .is_ok_and(|claims| now.is_past(claims.exp as u64)) =>
                {
                    InvalidReason::Expired
                }
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => InvalidReason::BadSignature,
                _ => InvalidReason::Malformed,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant well after every `exp` below is issued.
    const NOW_MS: i64 = 1_800_000_000_000;
    const NOW: i64 = NOW_MS / 1000;

    fn claims(exp: i64) -> SessionClaims {
        SessionClaims {
            iss: ISSUER.into(),
            sub: "u1".into(),
            app: "a1".into(),
            iat: 1,
            exp,
            iat_ms: 1000,
            jti: "j".into(),
        }
    }

    fn far_future() -> i64 {
        NOW + 3600
    }

    /// A session token as Roster signed them before the compact form: an HS256 JWT.
    fn legacy(kid: &str, secret: &[u8], claims: &SessionClaims) -> String {
        use jsonwebtoken::{EncodingKey, Header};
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn tokens_are_signed_compact_and_jwts_of_before_still_verify() {
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let roster = SessionClaims {
            sub: "6b116bbe496ef78783ba449e".into(),
            app: "6b116ca23abb983d14505766".into(),
            jti: "0123456789abcdef01234567".into(),
            ..claims(far_future())
        };
        let compact = keys.sign(&roster).unwrap();
        assert_eq!(compact.len(), 119);
        assert_eq!(keys.verify(&compact, NOW_MS).unwrap(), roster);
        let before = legacy("k", &[1; 32], &claims(far_future()));
        assert!(before.len() > 168, "the JWT form was too long: {}", before.len());
        assert_eq!(keys.verify(&before, NOW_MS).unwrap(), claims(far_future()));
    }

    #[test]
    fn a_rotated_key_set_still_verifies_tokens_of_the_old_key() {
        let token = legacy("old", &[1; 32], &claims(far_future()));
        let rotated = KeySet::new(&[("new".into(), vec![2; 32]), ("old".into(), vec![1; 32])]).unwrap();
        assert_eq!(rotated.verify(&token, NOW_MS).unwrap().sub, "u1");
        assert_eq!(rotated.signing_kid(), "new");
        // Once the old key is dropped, its tokens are unknown.
        let retired = KeySet::new(&[("new".into(), vec![2; 32])]).unwrap();
        assert_eq!(retired.verify(&token, NOW_MS), Err(InvalidReason::Unknown));
    }

    #[test]
    fn refusals_say_why() {
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let expired = legacy("k", &[1; 32], &claims(NOW - 60));
        assert_eq!(keys.verify(&expired, NOW_MS), Err(InvalidReason::Expired));
        assert_eq!(keys.verify("not.a.jwt", NOW_MS), Err(InvalidReason::Malformed));
        let forged = legacy("k", &[9; 32], &claims(far_future()));
        assert_eq!(keys.verify(&forged, NOW_MS), Err(InvalidReason::BadSignature));
        // `alg: none` with the right kid.
        let header = "eyJhbGciOiJub25lIiwia2lkIjoiayJ9"; // {"alg":"none","kid":"k"}
        let payload = forged.split('.').nth(1).unwrap();
        assert!(keys.verify(&format!("{header}.{payload}."), NOW_MS).is_err());
    }

    #[test]
    fn a_jwt_of_before_expires_by_the_given_clock_with_five_seconds_of_leeway() {
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let token = legacy("k", &[1; 32], &claims(NOW));
        for (at, verdict) in [
            (NOW_MS - 3_600_000, Ok(())),
            (NOW_MS + 5_999, Ok(())),
            (NOW_MS + 6_000, Err(InvalidReason::Expired)),
            (NOW_MS + 3_600_000, Err(InvalidReason::Expired)),
        ] {
            assert_eq!(keys.verify(&token, at).map(|_| ()), verdict, "at {at}");
        }
    }

    #[test]
    fn an_expired_token_of_another_issuer_is_expired() {
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let foreign = |exp| legacy("k", &[1; 32], &SessionClaims { iss: "elsewhere".into(), ..claims(exp) });
        assert_eq!(keys.verify(&foreign(far_future()), NOW_MS), Err(InvalidReason::Malformed));
        assert_eq!(keys.verify(&foreign(NOW - 60), NOW_MS), Err(InvalidReason::Expired));
    }

    #[test]
    fn a_jwt_naming_a_critical_extension_is_refused() {
        use jsonwebtoken::{EncodingKey, Header};
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k".into());
        header.crit = Some(vec!["b64".into()]);
        let token = jsonwebtoken::encode(&header, &claims(far_future()), &EncodingKey::from_secret(&[1; 32])).unwrap();
        assert_eq!(keys.verify(&token, NOW_MS).unwrap_err(), InvalidReason::Malformed);
        assert!(keys.verify(&legacy("k", &[1; 32], &claims(far_future())), NOW_MS).is_ok(), "the same without crit");
    }
}
