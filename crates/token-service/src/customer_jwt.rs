//! JWTs customers sign: `scope: app` tokens that authenticate API calls, and `scope: user`
//! login tokens naming an `external_id`. Every token names its key in `kid`; the key pins the
//! algorithm (app keys HS256, public keys RS256 or ES256), so `none`, an HMAC key used as an RSA
//! key and the reverse are all refused before any signature check.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use crate::domain::{JwtRefusal, KeyAlgorithm};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// What Roster reads from a customer JWT (`exp` and `nbf` are checked when present).
#[derive(Debug, Deserialize)]
pub struct CustomerClaims {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The admin client a Kore-style admin JWT names in its `appId` claim, read BEFORE the
/// signature is checked, only to find the key to check it with.
pub fn claimed_client(token: &str) -> Result<String, JwtRefusal> {
    #[derive(Deserialize)]
    struct Claimed {
        #[serde(rename = "appId")]
        app_id: Option<String>,
    }
    let claimed: Claimed = jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| JwtRefusal::Malformed)?;
    claimed.app_id.filter(|id| !id.is_empty()).ok_or(JwtRefusal::NoKeyNamed)
}

/// Whether a token's header names a `kid` (app keys, public keys) or not (admin clients).
pub fn has_kid(token: &str) -> Result<bool, JwtRefusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefusal::Malformed)?;
    Ok(header.kid.is_some_and(|k| !k.is_empty()))
}

/// The `kid` and algorithm a token's header names.
pub fn header(token: &str) -> Result<(String, Algorithm), JwtRefusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefusal::Malformed)?;
    let kid = header.kid.filter(|k| !k.is_empty()).ok_or(JwtRefusal::MissingKid)?;
    Ok((kid, header.alg))
}

fn pinned(algorithm: KeyAlgorithm) -> Algorithm {
    match algorithm {
        KeyAlgorithm::Hs256 => Algorithm::HS256,
        KeyAlgorithm::Rs256 => Algorithm::RS256,
        KeyAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// The verifying key for a key's material: an app key's secret, or a public key's PEM.
pub fn decoding_key(algorithm: KeyAlgorithm, material: &[u8]) -> anyhow::Result<DecodingKey> {
    Ok(match algorithm {
        KeyAlgorithm::Hs256 => DecodingKey::from_secret(material),
        KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(material)?,
        KeyAlgorithm::Es256 => DecodingKey::from_ec_pem(material)?,
    })
}

/// Verifies `token` with `key`, whose algorithm is `algorithm`; the header must name exactly it.
pub fn verify(token: &str, algorithm: KeyAlgorithm, key: &DecodingKey) -> Result<CustomerClaims, JwtRefusal> {
    let (_, alg) = header(token)?;
    checked(token, alg, algorithm, key)
}

/// Verifies an HS256 token whose header names no `kid` (an admin client's: the client is named in
/// the claims).
pub fn verify_unkeyed(token: &str, key: &DecodingKey) -> Result<CustomerClaims, JwtRefusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefusal::Malformed)?;
    checked(token, header.alg, KeyAlgorithm::Hs256, key)
}

fn checked(
    token: &str,
    alg: Algorithm,
    algorithm: KeyAlgorithm,
    key: &DecodingKey,
) -> Result<CustomerClaims, JwtRefusal> {
    let expected = pinned(algorithm);
    if alg != expected {
        return Err(JwtRefusal::WrongAlgorithm);
    }
    let mut validation = Validation::new(expected);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    match jsonwebtoken::decode::<CustomerClaims>(token, key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(err) => Err(match err.kind() {
            ErrorKind::ExpiredSignature => JwtRefusal::Expired,
            ErrorKind::ImmatureSignature => JwtRefusal::NotYetValid,
            ErrorKind::InvalidSignature => JwtRefusal::BadSignature,
            ErrorKind::InvalidAlgorithm => JwtRefusal::WrongAlgorithm,
            _ => JwtRefusal::Malformed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    fn hs(claims: serde_json::Value, kid: Option<&str>, secret: &[u8]) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn now() -> i64 {
        platform::now_millis() / 1000
    }

    #[test]
    fn hs256_tokens_are_checked_strictly() {
        let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
        let good = hs(json!({ "scope": "app" }), Some("app_1"), b"s3cret");
        assert_eq!(verify(&good, KeyAlgorithm::Hs256, &key).unwrap().scope.as_deref(), Some("app"));
        let cases = [
            (hs(json!({ "scope": "app" }), Some("app_1"), b"other"), JwtRefusal::BadSignature),
            (hs(json!({ "scope": "app", "exp": now() - 120 }), Some("k"), b"s3cret"), JwtRefusal::Expired),
            (hs(json!({ "scope": "app", "nbf": now() + 120 }), Some("k"), b"s3cret"), JwtRefusal::NotYetValid),
            (hs(json!({ "scope": "app" }), None, b"s3cret"), JwtRefusal::MissingKid),
            ("garbage".to_owned(), JwtRefusal::Malformed),
        ];
        for (token, refusal) in cases {
            assert_eq!(verify(&token, KeyAlgorithm::Hs256, &key).unwrap_err(), refusal);
        }
        // Within the leeway either side.
        let skewed = hs(json!({ "scope": "app", "exp": now() - 10, "nbf": now() + 10 }), Some("k"), b"s3cret");
        assert!(verify(&skewed, KeyAlgorithm::Hs256, &key).is_ok());
        // `alg: none`, with or without a signature.
        let payload = good.split('.').nth(1).unwrap();
        // {"alg":"none","kid":"app_1"} and {"alg":"None","kid":"app_1","typ":"JWT"}
        for head in ["eyJhbGciOiJub25lIiwia2lkIjoiYXBwXzEifQ", "eyJhbGciOiJOb25lIiwia2lkIjoiYXBwXzEiLCJ0eXAiOiJKV1QifQ"]
        {
            assert!(verify(&format!("{head}.{payload}."), KeyAlgorithm::Hs256, &key).is_err());
        }
    }
}
