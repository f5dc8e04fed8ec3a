//! Passwords stored only as a slow, salted hash (PBKDF2-HMAC-SHA256, OpenSSL): the admin password of the license
//! server's web page (in the license database) and the admin account of a session host (`host.toml`).
//!
//! Stored form: `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`.

/// Iterations of PBKDF2-HMAC-SHA256 for new hashes (OWASP 2023 recommendation).
pub const ITERATIONS: u32 = 600_000;
/// Longest accepted password, in bytes.
pub const MAX_PASSWORD: usize = 1024;
/// Shortest password `rdlic server init` accepts.
pub const MIN_PASSWORD: usize = 8;
const SCHEME: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// Why a password cannot be set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Too short or too long.
    #[error("the admin password must be {MIN_PASSWORD} to {MAX_PASSWORD} bytes long")]
    Length,
    /// OpenSSL failed (no randomness).
    #[error("cannot hash the password: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> Result<[u8; HASH_LEN], openssl::error::ErrorStack> {
    let mut out = [0u8; HASH_LEN];
    let iterations = usize::try_from(iterations).unwrap_or(usize::MAX);
    openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), salt, iterations, openssl::hash::MessageDigest::sha256(), &mut out)?;
    Ok(out)
}

/// Hashes a new password with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        return Err(PasswordError::Length);
    }
    let mut salt = [0u8; SALT_LEN];
    openssl::rand::rand_bytes(&mut salt)?;
    let h = derive(password, &salt, ITERATIONS)?;
    Ok(format!("{SCHEME}${ITERATIONS}${}${}", hex::encode(salt), hex::encode(h)))
}

/// Whether `password` matches the stored hash (constant-time comparison). A malformed stored value never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iter), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (iter.parse::<u32>(), hex::decode(salt), hex::decode(expected)) else {
        return false;
    };
    if iterations == 0 || expected.len() != HASH_LEN || password.len() > MAX_PASSWORD {
        return false;
    }
    match derive(password, &salt, iterations) {
        Ok(h) => openssl::memcmp::eq(&h, &expected),
        Err(_) => false,
    }
}

/// Like [`verify`], but with nothing stored spends the same work on a fixed hash that nothing matches, so that
/// "no password set" and "wrong password" take as long and answer the same.
pub fn verify_or_burn(password: &str, stored: Option<&str>) -> bool {
    // A fixed salt and a hash of all zeros: PBKDF2 output is never all zeros in practice.
    const BURN: &str = "pbkdf2-sha256$600000$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";
    match stored {
        Some(stored) => verify(password, stored),
        None => {
            let _ = verify(password, BURN);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_right_password_matches_and_salts_differ() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert_ne!(a, b, "a fresh salt each time");
        assert!(a.starts_with("pbkdf2-sha256$600000$"));
        assert!(verify("correct horse", &a) && verify("correct horse", &b));
        assert!(!verify("correct horsE", &a));
        assert!(!verify("", &a));
        assert!(verify_or_burn("correct horse", Some(&a)));
        assert!(!verify_or_burn("correct horse", None));
    }

    #[test]
    fn malformed_hashes_and_bad_lengths_are_refused() {
        for bad in ["", "pbkdf2-sha256$1$zz$00", "md5$1$00$00", "pbkdf2-sha256$0$00$00", "pbkdf2-sha256$1$00$00$00"] {
            assert!(!verify("password1", bad), "{bad}");
        }
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
    }
}
