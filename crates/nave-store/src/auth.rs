//! Secrets: password hashes (argon2id) and random bearer secrets (API tokens,
//! session ids).
//!
//! Passwords are low-entropy, so they are hashed with argon2id (PHC strings).
//! Tokens and session ids are 256 random bits, so a plain SHA-256 is enough to
//! store them safely and lets a request be authenticated with one indexed
//! lookup. A token reads `nave_<tenant>_<secret>`: the tenant number routes the
//! lookup to one tenant (and one Citus shard).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so that a login
/// attempt for an unknown e-mail takes as long as one for a known e-mail.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password anyone has"))
}

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password's strength; the message is for the user.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters long"));
    }
    if password.len() > 1024 {
        return Err("must be at most 1024 bytes long".into());
    }
    Ok(())
}

/// A new random secret: 32 bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The full bearer text of a token: `nave_<tenant>_<secret>`.
pub fn bearer_text(tenant_id: i64, secret: &str) -> String {
    format!("nave_{tenant_id}_{secret}")
}

/// Splits a bearer text into tenant and secret.
pub fn parse_bearer(text: &str) -> Option<(i64, &str)> {
    let rest = text.strip_prefix("nave_")?;
    let (tenant, secret) = rest.split_once('_')?;
    let tenant: i64 = tenant.parse().ok()?;
    (secret.len() >= 32 && tenant > 0).then_some((tenant, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn bearer_texts_round_trip() {
        let s = random_secret();
        let t = bearer_text(3, &s);
        assert_eq!(parse_bearer(&t), Some((3, s.as_str())));
        assert_eq!(parse_bearer("nave_x_abc"), None);
        assert_eq!(parse_bearer("Bearer nave_1_short"), None);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
    }
}
