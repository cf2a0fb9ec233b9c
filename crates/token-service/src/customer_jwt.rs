//! JWTs customers sign: `scope: app` tokens that authenticate API calls, and `scope: user`
//! login tokens naming an `external_id`. Every token names its key in `kid`; the key pins the
//! algorithm (app keys HS256, public keys RS256 or ES256), so `none`, an HMAC key used as an RSA
//! key and the reverse are all refused before any signature check. `exp` and `nbf` are checked
//! against the instant the caller passes (the service's clock), not by jsonwebtoken.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::{Deserialize, Deserializer, de};

use platform::ValidationError;

use crate::domain::{JwtRefusal, JwtTime, KeyAlgorithm, PublicKey};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// What Roster reads from a customer JWT (`exp` and `nbf` are checked when present).
#[derive(Debug, Deserialize)]
pub struct CustomerClaims {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: NumericDate,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: NumericDate,
}

impl CustomerClaims {
    /// `exp` and `nbf` at `now` as jsonwebtoken judges them: both must be numbers before either
    /// is compared.
    fn check_times(&self, now: JwtTime) -> Result<(), JwtRefusal> {
        let (exp, nbf) = (self.exp.seconds()?, self.nbf.seconds()?);
        if exp.is_some_and(|exp| now.is_past(exp)) {
            return Err(JwtRefusal::Expired);
        }
        if nbf.is_some_and(|nbf| now.is_before(nbf)) {
            return Err(JwtRefusal::NotYetValid);
        }
        Ok(())
    }
}

/// A JWT time claim: seconds since the epoch, absent, or something else.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum NumericDate {
    #[default]
    Absent,
    Seconds(u64),
    Invalid,
}

impl NumericDate {
    fn seconds(self) -> Result<Option<u64>, JwtRefusal> {
        match self {
            Self::Absent => Ok(None),
            Self::Seconds(secs) => Ok(Some(secs)),
            Self::Invalid => Err(JwtRefusal::Malformed),
        }
    }
}

/// What jsonwebtoken accepts as a time: a whole number, or a finite non-negative one rounded.
/// Anything else is `Invalid`, never a failure to read the claims.
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NumericDate, D::Error> {
    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = NumericDate;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("seconds since the epoch")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<NumericDate, E> {
            Ok(NumericDate::Seconds(value))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<NumericDate, E> {
            if value.is_finite() && value >= 0.0 && value < u64::MAX as f64 {
                Ok(NumericDate::Seconds(value.round() as u64))
            } else {
                Err(E::custom("not a time"))
            }
        }
    }

    Ok(deserializer.deserialize_any(Visitor).unwrap_or(NumericDate::Invalid))
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

/// A token's header, refused when it is malformed or names critical extensions: Roster
/// understands none, and RFC 7515 (4.1.11) says such a token must be refused, not read.
fn decode_header(token: &str) -> Result<jsonwebtoken::Header, JwtRefusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefusal::Malformed)?;
    if header.crit.is_some() {
        return Err(JwtRefusal::Malformed);
    }
    Ok(header)
}

/// Whether a token's header names a `kid` (app keys, public keys) or not (admin clients).
pub fn has_kid(token: &str) -> Result<bool, JwtRefusal> {
    let header = decode_header(token)?;
    Ok(header.kid.is_some_and(|k| !k.is_empty()))
}

/// The `kid` and algorithm a token's header names.
pub fn header(token: &str) -> Result<(String, Algorithm), JwtRefusal> {
    let header = decode_header(token)?;
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
/// A registered public key: one PEM public key (never a private one) of `algorithm` that parses.
pub fn public_key(algorithm: KeyAlgorithm, pem: String) -> Result<String, ValidationError> {
    PublicKey::check_pem(algorithm, &pem)?;
    let parses = match algorithm {
        KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem.as_bytes()).is_ok(),
        KeyAlgorithm::Es256 => DecodingKey::from_ec_pem(pem.as_bytes()).is_ok(),
        KeyAlgorithm::Hs256 => false,
    };
    if parses {
        Ok(pem)
    } else {
        Err(ValidationError::Invalid { field: "pem", reason: "is not a PEM public key of that algorithm" })
    }
}

pub fn decoding_key(algorithm: KeyAlgorithm, material: &[u8]) -> anyhow::Result<DecodingKey> {
    Ok(match algorithm {
        KeyAlgorithm::Hs256 => DecodingKey::from_secret(material),
        KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(material)?,
        KeyAlgorithm::Es256 => DecodingKey::from_ec_pem(material)?,
    })
}

/// Verifies `token` with `key`, whose algorithm is `algorithm`; the header must name exactly it.
/// `exp` and `nbf` are judged at `now_millis`.
pub fn verify(
    token: &str,
    algorithm: KeyAlgorithm,
    key: &DecodingKey,
    now_millis: i64,
) -> Result<CustomerClaims, JwtRefusal> {
    let (_, alg) = header(token)?;
    checked(token, alg, algorithm, key, now_millis)
}

/// Verifies an HS256 token whose header names no `kid` (an admin client's: the client is named in
/// the claims).
pub fn verify_unkeyed(token: &str, key: &DecodingKey, now_millis: i64) -> Result<CustomerClaims, JwtRefusal> {
    let header = decode_header(token)?;
    checked(token, header.alg, KeyAlgorithm::Hs256, key, now_millis)
}

/// `alg` is the algorithm the header names, `algorithm` the key's.
fn checked(
    token: &str,
    alg: Algorithm,
    algorithm: KeyAlgorithm,
    key: &DecodingKey,
    now_millis: i64,
) -> Result<CustomerClaims, JwtRefusal> {
    let expected = pinned(algorithm);
    if alg != expected {
        return Err(JwtRefusal::WrongAlgorithm);
    }
    let mut validation = Validation::new(expected);
    // Checked below, against the caller's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<CustomerClaims>(token, key, &validation) {
        Ok(data) => data.claims,
        Err(err) => {
            return Err(match err.kind() {
                ErrorKind::InvalidSignature => JwtRefusal::BadSignature,
                ErrorKind::InvalidAlgorithm => JwtRefusal::WrongAlgorithm,
                _ => JwtRefusal::Malformed,
            });
        }
    };
    claims.check_times(JwtTime::at(now_millis, LEEWAY_SECS))?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// The instant every check below is made at.
    const NOW_MS: i64 = 1_800_000_000_000;

    fn hs(claims: serde_json::Value, kid: Option<&str>, secret: &[u8]) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn now() -> i64 {
        NOW_MS / 1000
    }

    #[test]
    fn hs256_tokens_are_checked_strictly() {
        let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
        let good = hs(json!({ "scope": "app" }), Some("app_1"), b"s3cret");
        assert_eq!(verify(&good, KeyAlgorithm::Hs256, &key, NOW_MS).unwrap().scope.as_deref(), Some("app"));
        let cases = [
            (hs(json!({ "scope": "app" }), Some("app_1"), b"other"), JwtRefusal::BadSignature),
            (hs(json!({ "scope": "app", "exp": now() - 120 }), Some("k"), b"s3cret"), JwtRefusal::Expired),
            (hs(json!({ "scope": "app", "nbf": now() + 120 }), Some("k"), b"s3cret"), JwtRefusal::NotYetValid),
            (hs(json!({ "scope": "app" }), None, b"s3cret"), JwtRefusal::MissingKid),
            ("garbage".to_owned(), JwtRefusal::Malformed),
            // A critical extension Roster does not understand (RFC 7515, 4.1.11).
            (
                {
                    let mut header = Header::new(Algorithm::HS256);
                    header.kid = Some("app_1".into());
                    header.crit = Some(vec!["exp".into()]);
                    jsonwebtoken::encode(&header, &json!({ "scope": "app" }), &EncodingKey::from_secret(b"s3cret"))
                        .unwrap()
                },
                JwtRefusal::Malformed,
            ),
        ];
        for (token, refusal) in cases {
            assert_eq!(verify(&token, KeyAlgorithm::Hs256, &key, NOW_MS).unwrap_err(), refusal);
        }
        // Within the leeway either side.
        let skewed = hs(json!({ "scope": "app", "exp": now() - 10, "nbf": now() + 10 }), Some("k"), b"s3cret");
        assert!(verify(&skewed, KeyAlgorithm::Hs256, &key, NOW_MS).is_ok());
        // `alg: none`, with or without a signature.
        let payload = good.split('.').nth(1).unwrap();
        // {"alg":"none","kid":"app_1"} and {"alg":"None","kid":"app_1","typ":"JWT"}
        for head in ["eyJhbGciOiJub25lIiwia2lkIjoiYXBwXzEifQ", "eyJhbGciOiJOb25lIiwia2lkIjoiYXBwXzEiLCJ0eXAiOiJKV1QifQ"]
        {
            assert!(verify(&format!("{head}.{payload}."), KeyAlgorithm::Hs256, &key, NOW_MS).is_err());
        }
    }

    #[test]
    fn times_are_judged_by_the_given_clock_with_thirty_seconds_of_leeway() {
        let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
        let exp = hs(json!({ "exp": now() }), Some("k"), b"s3cret");
        let nbf = hs(json!({ "nbf": now() }), Some("k"), b"s3cret");
        for (token, at, verdict) in [
            (&exp, NOW_MS + 30_999, Ok(())),
            (&exp, NOW_MS + 31_000, Err(JwtRefusal::Expired)),
            (&nbf, NOW_MS - 30_000, Ok(())),
            (&nbf, NOW_MS - 30_001, Err(JwtRefusal::NotYetValid)),
        ] {
            assert_eq!(verify(token, KeyAlgorithm::Hs256, &key, at).map(|_| ()), verdict, "at {at}");
        }
    }

    #[test]
    fn time_claims_read_as_jsonwebtoken_reads_them() {
        let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
        let cases = [
            (json!({ "exp": (now() + 60) as f64 + 0.4 }), Ok(())),
            (json!({ "exp": (now() - 60) as f64 }), Err(JwtRefusal::Expired)),
            (json!({ "exp": "soon" }), Err(JwtRefusal::Malformed)),
            (json!({ "exp": null }), Err(JwtRefusal::Malformed)),
            (json!({ "exp": -1 }), Err(JwtRefusal::Malformed)),
            (json!({ "exp": [1] }), Err(JwtRefusal::Malformed)),
            (json!({ "nbf": "now" }), Err(JwtRefusal::Malformed)),
            // Both must be numbers before either is compared; expiry is compared first.
            (json!({ "exp": now() - 60, "nbf": "now" }), Err(JwtRefusal::Malformed)),
            (json!({ "exp": now() - 60, "nbf": now() + 60 }), Err(JwtRefusal::Expired)),
        ];
        for (claims, verdict) in cases {
            let token = hs(claims.clone(), Some("k"), b"s3cret");
            assert_eq!(verify(&token, KeyAlgorithm::Hs256, &key, NOW_MS).map(|_| ()), verdict, "{claims}");
        }
    }

    /// A JSON value of any shape, for headers and claims.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
            prop::sample::select(vec![
                "HS256", "RS256", "ES256", "none", "None", "HS512", "PS256", "EdDSA", "app", "user"
            ])
            .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "alg",
                        "kid",
                        "typ",
                        "crit",
                        "jku",
                        "x5u",
                        "exp",
                        "nbf",
                        "scope",
                        "appId",
                        "external_id",
                        "sub"
                    ])
                    .prop_map(str::to_owned),
                    inner,
                    0..5
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn encode_part(value: &serde_json::Value) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// An HS256 signature over `header.claims` with `secret`, whatever the two parts say.
    fn signed(header: &serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
        let message = format!("{}.{}", encode_part(header), encode_part(claims));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret), Algorithm::HS256)
                .unwrap();
        format!("{message}.{signature}")
    }

    proptest! {
        /// Arbitrary text is refused by every reader of a customer JWT: never a panic, never claims.
        #[test]
        fn arbitrary_text_is_refused(token in "\\PC{0,300}") {
            let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
            prop_assert!(verify(&token, KeyAlgorithm::Hs256, &key, NOW_MS).is_err());
            prop_assert!(verify_unkeyed(&token, &key, NOW_MS).is_err());
            let _ = (header(&token), has_kid(&token), claimed_client(&token));
        }

        /// Any header and any claims, correctly signed with the key: accepted only when the header
        /// names HS256 and a kid, the claims are an object whose times are numbers in range, and
        /// every string claim read is a string.
        #[test]
        fn signed_headers_and_claims_of_any_shape_are_judged_never_panicking(
            head in json_value(), claims in json_value(), alg in prop::option::of(prop::sample::select(vec!["HS256", "none", "RS256"])),
            kid in prop::option::of("[a-z0-9_]{0,8}"),
        ) {
            let mut head = head;
            if let serde_json::Value::Object(map) = &mut head {
                if let Some(alg) = alg { map.insert("alg".into(), alg.into()); }
                if let Some(kid) = &kid { map.insert("kid".into(), kid.clone().into()); }
            }
            let token = signed(&head, &claims, b"s3cret");
            let key = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
            let _ = (claimed_client(&token), has_kid(&token));
            let _ = verify_unkeyed(&token, &key, NOW_MS);
            if let Ok(read) = verify(&token, KeyAlgorithm::Hs256, &key, NOW_MS) {
                prop_assert_eq!(head.get("alg").and_then(|a| a.as_str()), Some("HS256"));
                prop_assert!(head.get("kid").and_then(|k| k.as_str()).is_some_and(|k| !k.is_empty()));
                prop_assert!(head.get("crit").is_none(), "a critical extension is never ignored");
                prop_assert!(claims.is_object());
                for time in ["exp", "nbf"] {
                    if let Some(t) = claims.get(time) {
                        prop_assert!(t.as_f64().is_some_and(|t| t >= 0.0), "{} = {}", time, t);
                    }
                }
                if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_f64) {
                    prop_assert!(exp + LEEWAY_SECS as f64 + 1.0 >= now() as f64, "expired yet accepted");
                }
                prop_assert_eq!(read.scope.as_deref(), claims.get("scope").and_then(|s| s.as_str()));
                // The same token signed with another key is refused.
                let forged = signed(&head, &claims, b"other");
                prop_assert_eq!(verify(&forged, KeyAlgorithm::Hs256, &key, NOW_MS).unwrap_err(), JwtRefusal::BadSignature);
                // And no public-key algorithm accepts it.
                let pem = decoding_key(KeyAlgorithm::Hs256, b"s3cret").unwrap();
                prop_assert_eq!(verify(&token, KeyAlgorithm::Rs256, &pem, NOW_MS).unwrap_err(), JwtRefusal::WrongAlgorithm);
            }
        }
    }
}
