//! Session-token signing: a key set with ids. The first key signs; every key verifies, so a
//! new key can be put in front while tokens signed by the old one keep working until they
//! expire. The algorithm is pinned to HS256: a token naming any other is refused.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};

use crate::{
    app::SessionKeys,
    domain::{ISSUER, InvalidReason, SessionClaims},
};

/// Leeway for `exp` across replicas' clocks, in seconds.
const LEEWAY_SECS: u64 = 5;

pub struct KeySet {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
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
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        Ok(Self {
            signing_kid: signing_kid.clone(),
            signing: EncodingKey::from_secret(signing_secret),
            verifying: keys.iter().map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret))).collect(),
            validation,
        })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }
}

impl SessionKeys for KeySet {
    fn sign(&self, claims: &SessionClaims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.signing)?)
    }

    /// Signature, algorithm, issuer and expiry; revocation is the caller's next step.
    fn verify(&self, token: &str) -> Result<SessionClaims, InvalidReason> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidReason::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(InvalidReason::BadSignature);
        }
        let key = header.kid.as_deref().and_then(|kid| self.verifying.get(kid)).ok_or(InvalidReason::Unknown)?;
        match jsonwebtoken::decode::<SessionClaims>(token, key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(err) => Err(match err.kind() {
                ErrorKind::ExpiredSignature => InvalidReason::Expired,
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => InvalidReason::BadSignature,
                _ => InvalidReason::Malformed,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        platform::now_millis() / 1000 + 3600
    }

    #[test]
    fn a_rotated_key_set_still_verifies_tokens_of_the_old_key() {
        let old = KeySet::new(&[("old".into(), vec![1; 32])]).unwrap();
        let token = old.sign(&claims(far_future())).unwrap();
        let rotated = KeySet::new(&[("new".into(), vec![2; 32]), ("old".into(), vec![1; 32])]).unwrap();
        assert_eq!(rotated.verify(&token).unwrap().sub, "u1");
        assert_eq!(rotated.signing_kid(), "new");
        // Once the old key is dropped, its tokens are unknown.
        let retired = KeySet::new(&[("new".into(), vec![2; 32])]).unwrap();
        assert_eq!(retired.verify(&token), Err(InvalidReason::Unknown));
    }

    #[test]
    fn refusals_say_why() {
        let keys = KeySet::new(&[("k".into(), vec![1; 32])]).unwrap();
        let expired = keys.sign(&claims(platform::now_millis() / 1000 - 60)).unwrap();
        assert_eq!(keys.verify(&expired), Err(InvalidReason::Expired));
        assert_eq!(keys.verify("not.a.jwt"), Err(InvalidReason::Malformed));
        let forged = KeySet::new(&[("k".into(), vec![9; 32])]).unwrap().sign(&claims(far_future())).unwrap();
        assert_eq!(keys.verify(&forged), Err(InvalidReason::BadSignature));
        // `alg: none` with the right kid.
        let header = "eyJhbGciOiJub25lIiwia2lkIjoiayJ9"; // {"alg":"none","kid":"k"}
        let payload = forged.split('.').nth(1).unwrap();
        assert!(keys.verify(&format!("{header}.{payload}.")).is_err());
    }
}
