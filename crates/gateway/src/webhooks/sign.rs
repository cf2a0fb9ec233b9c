//! How each dialect proves a delivery came from the platform.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Sendbird's `x-sendbird-signature`: HMAC-SHA256 of the raw body, lowercase hex. Sendbird keys it
/// with the master API token; Roster keys it with the webhook's own secret (it never keeps API
/// tokens in clear).
pub fn sendbird(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac(secret.as_bytes(), &[body]))
}

/// Svix's (Ada's) `svix-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed
/// with the base64 bytes after `whsec_`.
pub fn svix(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key =
        b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).unwrap_or_else(|_| secret.as_bytes().to_vec());
    let signed = hmac(&key, &[id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
    format!("v1,{}", b64.encode(signed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svix_signature_matches_the_svix_documentation_example() {
        // From https://docs.svix.com/receiving/verifying-payloads/how-manual.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            svix(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn sendbird_signature_is_the_hex_hmac_of_the_body() {
        // `printf '{"a":1}' | openssl dgst -sha256 -hmac secret`
        assert_eq!(
            sendbird("secret", br#"{"a":1}"#),
            "aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
        );
    }
}
