//! Sealing of values that must be read back but never leak with the database: XChaCha20-Poly1305
//! under keys from configuration, each with a key id so keys rotate. The first key seals; every
//! key opens, so a value sealed under a retired key stays readable until the key is dropped.
//! Associated data binds a sealed value to its owner (a row's key): moved to another row, it
//! no longer opens.

use std::fmt;

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;

/// Length of a sealing key in bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// A value sealed under key `kid`: the random nonce followed by the ciphertext and its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kid: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed").field("kid", &self.kid).field("len", &self.bytes.len()).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("no sealing key has the id {0}")]
    UnknownKey(String),
    /// Wrong key, tampered bytes, or another owner's value.
    #[error("a sealed value under key {0} does not open")]
    Corrupt(String),
}

/// The keys of one service, the sealing one first.
#[derive(Clone)]
pub struct Sealer {
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("kids", &self.keys.iter().map(|(k, _)| k).collect::<Vec<_>>()).finish()
    }
}

impl Sealer {
    /// `keys` in order, the sealing key first; each exactly `KEY_LEN` bytes, kids unique.
    pub fn new(keys: Vec<(String, Vec<u8>)>) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("no sealing keys".into());
        }
        let mut built: Vec<(String, XChaCha20Poly1305)> = Vec::with_capacity(keys.len());
        for (kid, secret) in keys {
            if secret.len() != KEY_LEN {
                return Err(format!("the sealing key {kid} is not {KEY_LEN} bytes"));
            }
            if built.iter().any(|(k, _)| *k == kid) {
                return Err(format!("kid {kid} appears twice"));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&secret).map_err(|_| format!("bad key {kid}"))?;
            built.push((kid, cipher));
        }
        Ok(Self { keys: built })
    }

    /// A fresh random key, for a service that generates its own.
    pub fn generate_key() -> Vec<u8> {
        let mut key = vec![0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        key
    }

    /// The id of the key new values are sealed under.
    pub fn current_kid(&self) -> &str {
        &self.keys[0].0
    }

    pub fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Sealed {
        let (kid, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: owner })
            .expect("XChaCha20-Poly1305 encrypts any length a database holds");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed { kid: kid.clone(), bytes }
    }

    pub fn open(&self, sealed: &Sealed, owner: &[u8]) -> Result<Vec<u8>, SealError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(kid, _)| *kid == sealed.kid)
            .ok_or_else(|| SealError::UnknownKey(sealed.kid.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(SealError::Corrupt(sealed.kid.clone()));
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: owner })
            .map_err(|_| SealError::Corrupt(sealed.kid.clone()))
    }
}

/// `kid:hexkey,kid:hexkey` -> (kid, key bytes), in order; each key exactly 32 bytes.
pub fn parse_sealing_keys(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let keys = crate::keys::parse_signing_keys(value)?;
    if let Some((kid, _)) = keys.iter().find(|(_, key)| key.len() != KEY_LEN) {
        return Err(format!("the key of {kid} is not exactly 32 bytes (64 hex digits)"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(kids: &[&str]) -> Sealer {
        Sealer::new(kids.iter().map(|k| (k.to_string(), vec![k.len() as u8 + 1; KEY_LEN])).collect()).expect("keys")
    }

    #[test]
    fn a_sealed_value_opens_for_its_owner_only() {
        let s = sealer(&["k1"]);
        let sealed = s.seal(b"sess_abc123", b"user-1");
        assert_eq!(sealed.kid, "k1");
        assert!(!sealed.bytes.windows(11).any(|w| w == b"sess_abc123"), "plaintext visible");
        assert_eq!(s.open(&sealed, b"user-1").expect("opens"), b"sess_abc123");
        assert_eq!(s.open(&sealed, b"user-2"), Err(SealError::Corrupt("k1".into())));
        let mut tampered = sealed.clone();
        *tampered.bytes.last_mut().unwrap() ^= 1;
        assert!(s.open(&tampered, b"user-1").is_err());
        assert_ne!(s.seal(b"same", b"o").bytes, s.seal(b"same", b"o").bytes, "nonces repeat");
    }

    #[test]
    fn rotation_keeps_old_values_readable_until_their_key_is_dropped() {
        let old = sealer(&["old"]);
        let sealed = old.seal(b"v", b"o");
        let rotated = Sealer::new(vec![("new".into(), vec![9; KEY_LEN]), ("old".into(), vec![4; KEY_LEN])]).unwrap();
        assert_eq!(rotated.open(&sealed, b"o").unwrap(), b"v");
        assert_eq!(rotated.seal(b"v", b"o").kid, "new");
        let dropped = Sealer::new(vec![("new".into(), vec![9; KEY_LEN])]).unwrap();
        assert_eq!(dropped.open(&sealed, b"o"), Err(SealError::UnknownKey("old".into())));
    }

    #[test]
    fn keys_must_be_exact_and_unique() {
        assert!(Sealer::new(vec![]).is_err());
        assert!(Sealer::new(vec![("k".into(), vec![1; 16])]).is_err());
        assert!(Sealer::new(vec![("k".into(), vec![1; 32]), ("k".into(), vec![2; 32])]).is_err());
        let debug = format!("{:?}", sealer(&["k1"]));
        assert!(debug.contains("k1") && !debug.contains("[2, 2"), "{debug}");
    }
}
