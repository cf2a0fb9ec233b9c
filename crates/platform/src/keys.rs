//! Key lists as operators write them in configuration: `kid:hex,kid:hex`. The first key signs
//! (or seals); every key verifies (or opens), so rotation puts the new key first.

/// `kid:hexsecret,kid:hexsecret` -> (kid, secret bytes), in order. Secrets are at least 32 bytes.
pub fn parse_signing_keys(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, secret) = entry.split_once(':').ok_or("each key is kid:hexsecret")?;
        if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a kid is 1 to 64 letters, digits, - or _".into());
        }
        let secret = hex::decode(secret).map_err(|_| format!("the secret of {kid} is not hex"))?;
        if secret.len() < 32 {
            return Err(format!("the secret of {kid} is shorter than 32 bytes"));
        }
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("kid {kid} appears twice"));
        }
        keys.push((kid.to_owned(), secret));
    }
    if keys.is_empty() {
        return Err("no keys given".into());
    }
    Ok(keys)
}
