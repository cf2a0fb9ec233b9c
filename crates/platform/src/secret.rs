//! Secrets: generation and the hash under which they are stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new high-entropy secret of `bytes` random bytes, hex encoded.
pub fn new_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a high-entropy secret, hex encoded: what is stored and looked up.
/// (Only for random secrets; a secret a person may choose needs a slow password hash.)
pub fn hash_secret(secret: &str) -> String {
    hash_secret_bytes(secret.as_bytes())
}

/// SHA-256 of any bytes, hex encoded.
pub fn hash_secret_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_is_stable_and_not_the_secret() {
        let secret = new_secret(20);
        assert_eq!(secret.len(), 40);
        assert_eq!(hash_secret(&secret), hash_secret(&secret));
        assert_ne!(hash_secret(&secret), secret);
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
