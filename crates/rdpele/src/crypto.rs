//! MS-RDPELE 5.1 licensing crypto: key derivation, RC4, MAC, and raw little-endian RSA.
//!
//! RSA here is textbook RSA on little-endian integers, as MS-RDPBCGR 5.3.4 specifies: no padding scheme. The
//! private operation uses OpenSSL (CRT, blinding) because it is the fastest implementation on the machine and
//! licensing's cost is dominated by that one operation.

use md5::{Digest as _, Md5};
use openssl::bn::{BigNum, BigNumContext};
use openssl::pkey::{Private, Public};
use openssl::rsa::{Padding, Rsa};
use sha1::Sha1;

use crate::pdu::{MAC_SIZE, RANDOM_SIZE};

/// Size of the premaster secret (MS-RDPELE 5.1.1).
pub const PREMASTER_SECRET_SIZE: usize = 48;

/// A crypto failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The encrypted premaster secret does not fit the key
    #[error("encrypted premaster secret of {len} bytes does not fit a {modulus_len}-byte modulus")]
    BadCiphertextLength { len: usize, modulus_len: usize },
    /// The ciphertext is not smaller than the modulus
    #[error("ciphertext is not smaller than the modulus")]
    CiphertextTooLarge,
    /// The RSA key cannot be used
    #[error("rsa key: {0}")]
    Key(String),
    /// OpenSSL failed
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

// ---------------------------------------------------------------------------------------------------------------
// Key derivation (5.1.2)
// ---------------------------------------------------------------------------------------------------------------

/// The two keys of one licensing exchange (MS-RDPELE 5.1.2).
#[derive(Clone, PartialEq, Eq)]
pub struct LicensingKeys {
    /// MAC-salt-key: First128Bits(SessionKeyBlob)
    pub mac_salt_key: [u8; 16],
    /// LicensingEncryptionKey: MD5(Second128Bits(SessionKeyBlob) + ClientRandom + ServerRandom)
    pub encryption_key: [u8; 16],
}

impl std::fmt::Debug for LicensingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LicensingKeys { .. }")
    }
}

fn salted_hash(secret: &[u8], label: &[u8], first: &[u8; RANDOM_SIZE], second: &[u8; RANDOM_SIZE]) -> [u8; 16] {
    let mut sha = Sha1::new();
    sha.update(label);
    sha.update(secret);
    sha.update(first);
    sha.update(second);
    let inner = sha.finalize();
    let mut md5 = Md5::new();
    md5.update(secret);
    md5.update(inner);
    md5.finalize().into()
}

fn triple_salted_hash(
    secret: &[u8],
    first: &[u8; RANDOM_SIZE],
    second: &[u8; RANDOM_SIZE],
) -> [u8; PREMASTER_SECRET_SIZE] {
    let mut out = [0u8; PREMASTER_SECRET_SIZE];
    for (i, label) in [&b"A"[..], b"BB", b"CCC"].into_iter().enumerate() {
        out[16 * i..16 * (i + 1)].copy_from_slice(&salted_hash(secret, label, first, second));
    }
    out
}

impl LicensingKeys {
    /// Derives the MAC salt key and the licensing encryption key from the premaster secret and both randoms.
    pub fn derive(
        premaster_secret: &[u8; PREMASTER_SECRET_SIZE],
        client_random: &[u8; RANDOM_SIZE],
        server_random: &[u8; RANDOM_SIZE],
    ) -> Self {
        let master_secret = triple_salted_hash(premaster_secret, client_random, server_random);
        let session_key_blob = triple_salted_hash(&master_secret, server_random, client_random);
        let mut mac_salt_key = [0u8; 16];
        mac_salt_key.copy_from_slice(&session_key_blob[..16]);
        let mut md5 = Md5::new();
        md5.update(&session_key_blob[16..32]);
        md5.update(client_random);
        md5.update(server_random);
        Self { mac_salt_key, encryption_key: md5.finalize().into() }
    }

    /// RC4 with the licensing encryption key, restarted for every blob (5.1.3, 5.1.4).
    pub fn rc4(&self, data: &[u8]) -> Vec<u8> {
        rc4(&self.encryption_key, data)
    }

    /// The MAC of `data` (5.1.5).
    pub fn mac(&self, data: &[u8]) -> [u8; MAC_SIZE] {
        mac(&self.mac_salt_key, &[data])
    }

    /// The MAC of the concatenation of `parts` (5.1.5), without copying them together.
    pub fn mac_parts(&self, parts: &[&[u8]]) -> [u8; MAC_SIZE] {
        mac(&self.mac_salt_key, parts)
    }

    /// Whether `expected` is the MAC of the concatenated `parts`, compared in constant time.
    pub fn verify_mac(&self, parts: &[&[u8]], expected: &[u8; MAC_SIZE]) -> bool {
        constant_time_eq(&self.mac_parts(parts), expected)
    }
}

/// MACData = MD5(key + pad2 + SHA-1(key + pad1 + LE32(len) + data)) (MS-RDPELE 5.1.5).
pub fn mac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; MAC_SIZE] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update([0x36u8; 40]);
    sha.update(len.to_le_bytes());
    for part in parts {
        sha.update(part);
    }
    let inner = sha.finalize();
    let mut md5 = Md5::new();
    md5.update(key);
    md5.update([0x5Cu8; 48]);
    md5.update(inner);
    md5.finalize().into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the compiler from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

// ---------------------------------------------------------------------------------------------------------------
// RC4
// ---------------------------------------------------------------------------------------------------------------

/// RC4 keystream XOR (encryption and decryption are the same operation).
pub fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut state = [0u8; 256];
    for (i, s) in state.iter_mut().enumerate() {
        *s = u8::try_from(i).unwrap_or(0);
    }
    if !key.is_empty() {
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(state[i]).wrapping_add(key[i % key.len()]);
            state.swap(i, usize::from(j));
        }
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(state[usize::from(i)]);
            state.swap(usize::from(i), usize::from(j));
            let k = state[usize::from(state[usize::from(i)].wrapping_add(state[usize::from(j)]))];
            byte ^ k
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// RSA, little-endian and unpadded (MS-RDPBCGR 5.3.4)
// ---------------------------------------------------------------------------------------------------------------

/// An RSA public key as the licensing messages carry it: little-endian modulus and exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// Modulus, little-endian, without the 8 zero bytes of padding of RSA_PUBLIC_KEY
    pub modulus_le: Vec<u8>,
    /// Public exponent
    pub exponent: u32,
}

impl RsaPublicKey {
    /// The key from big-endian modulus bytes (as in X.509) and an exponent.
    pub fn from_be(modulus_be: &[u8], exponent: u32) -> Self {
        let trimmed: &[u8] = {
            let start = modulus_be.iter().position(|&b| b != 0).unwrap_or(modulus_be.len());
            &modulus_be[start..]
        };
        Self { modulus_le: trimmed.iter().rev().copied().collect(), exponent }
    }

    /// The modulus size in bytes.
    pub fn modulus_len(&self) -> usize {
        self.modulus_le.len()
    }

    /// Raw RSA encryption of a little-endian number (the client side of 5.1.1.1). The result is little-endian,
    /// `modulus_len() + 8` bytes long, zero-padded, as the EncryptedPreMasterSecret blob carries it.
    pub fn encrypt_raw_le(&self, plain_le: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let n = BigNum::from_slice(&self.modulus_le.iter().rev().copied().collect::<Vec<_>>())?;
        let e = BigNum::from_u32(self.exponent)?;
        let m_be: Vec<u8> = plain_le.iter().rev().copied().collect();
        let m = BigNum::from_slice(&m_be)?;
        if m >= n {
            return Err(CryptoError::CiphertextTooLarge);
        }
        let mut c = BigNum::new()?;
        let mut ctx = BigNumContext::new()?;
        c.mod_exp(&m, &e, &n, &mut ctx)?;
        let c_be = c.to_vec_padded(i32::try_from(self.modulus_len()).map_err(|_| CryptoError::Key("modulus too large".into()))?)?;
        let mut out: Vec<u8> = c_be.into_iter().rev().collect();
        out.extend_from_slice(&[0u8; 8]);
        Ok(out)
    }
}

/// The session host's licensing key pair (the key of the server certificate in the License Request).
#[derive(Clone)]
pub struct LicensingKeyPair {
    rsa: Rsa<Private>,
    public: RsaPublicKey,
}

impl std::fmt::Debug for LicensingKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LicensingKeyPair {{ bits: {} }}", self.public.modulus_len() * 8)
    }
}

impl LicensingKeyPair {
    /// Wraps an OpenSSL RSA private key.
    pub fn from_openssl(rsa: Rsa<Private>) -> Result<Self, CryptoError> {
        let exponent_be = rsa.e().to_vec();
        if exponent_be.len() > 4 {
            return Err(CryptoError::Key("public exponent wider than 32 bits".into()));
        }
        let mut e = [0u8; 4];
        e[4 - exponent_be.len()..].copy_from_slice(&exponent_be);
        let public = RsaPublicKey::from_be(&rsa.n().to_vec(), u32::from_be_bytes(e));
        Ok(Self { rsa, public })
    }

    /// Parses a PEM (PKCS#1 or PKCS#8) RSA private key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let rsa = match Rsa::private_key_from_pem(pem) {
            Ok(rsa) => rsa,
            Err(_) => openssl::pkey::PKey::private_key_from_pem(pem)?.rsa()?,
        };
        Self::from_openssl(rsa)
    }

    /// Generates a new key pair (randomness from OpenSSL; callers in the core tier pass keys in instead).
    pub fn generate(bits: u32) -> Result<Self, CryptoError> {
        Self::from_openssl(Rsa::generate(bits)?)
    }

    /// The PEM (PKCS#1) encoding of the private key.
    pub fn to_pem(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.rsa.private_key_to_pem()?)
    }

    /// The public half.
    pub fn public(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The OpenSSL key (for building X.509 certificates around it).
    pub fn openssl(&self) -> &Rsa<Private> {
        &self.rsa
    }

    /// The OpenSSL public key.
    pub fn openssl_public(&self) -> Result<Rsa<Public>, CryptoError> {
        Ok(Rsa::from_public_components(self.rsa.n().to_owned()?, self.rsa.e().to_owned()?)?)
    }

    /// Decrypts an EncryptedPreMasterSecret (5.1.1.2): raw RSA over a little-endian number.
    ///
    /// Tolerates the zero padding clients append, and rdesktop's all-zero "ciphertext" (which decrypts to an
    /// all-zero premaster secret, as it does for textbook RSA).
    pub fn decrypt_premaster(&self, encrypted_le: &[u8]) -> Result<[u8; PREMASTER_SECRET_SIZE], CryptoError> {
        let modulus_len = self.public.modulus_len();
        // Strip the little-endian high-order zero bytes (the padding) down to the modulus size.
        let significant = encrypted_le.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        if significant > modulus_len || encrypted_le.len() > modulus_len + 64 {
            return Err(CryptoError::BadCiphertextLength { len: encrypted_le.len(), modulus_len });
        }
        if significant == 0 {
            return Ok([0u8; PREMASTER_SECRET_SIZE]);
        }
        let mut c_be = vec![0u8; modulus_len];
        for (i, &b) in encrypted_le[..significant].iter().enumerate() {
            c_be[modulus_len - 1 - i] = b;
        }
        if c_be.as_slice() >= self.rsa.n().to_vec().as_slice() {
            return Err(CryptoError::CiphertextTooLarge);
        }
        let mut m_be = vec![0u8; modulus_len];
        let n = self.rsa.private_decrypt(&c_be, &mut m_be, Padding::NONE)?;
        if n != modulus_len {
            return Err(CryptoError::Key(format!("decrypted {n} bytes from a {modulus_len}-byte modulus")));
        }
        let mut premaster = [0u8; PREMASTER_SECRET_SIZE];
        for (i, p) in premaster.iter_mut().enumerate() {
            *p = m_be[modulus_len - 1 - i];
        }
        Ok(premaster)
    }

    /// Raw RSA private operation on a big-endian block of exactly the modulus size (for signatures).
    pub fn private_raw_be(&self, block_be: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![0u8; self.public.modulus_len()];
        let n = self.rsa.private_decrypt(block_be, &mut out, Padding::NONE)?;
        out.truncate(n);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rc4_matches_the_published_test_vector() {
        // RFC 6229 does not cover this key; the classic "Key"/"Plaintext" vector from the RC4 description does.
        let out = rc4(b"Key", b"Plaintext");
        assert_eq!(out, [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]);
        assert_eq!(rc4(b"Key", &out), b"Plaintext");
    }

    #[test]
    fn premaster_round_trips_through_raw_rsa() {
        let key = LicensingKeyPair::generate(1024).unwrap();
        let premaster: [u8; 48] = core::array::from_fn(|i| u8::try_from(i * 7 % 251).unwrap());
        let encrypted = key.public().encrypt_raw_le(&premaster).unwrap();
        assert_eq!(encrypted.len(), 128 + 8);
        assert_eq!(key.decrypt_premaster(&encrypted).unwrap(), premaster);
    }

    #[test]
    fn zero_premaster_from_rdesktop_decrypts_to_zero() {
        let key = LicensingKeyPair::generate(1024).unwrap();
        assert_eq!(key.decrypt_premaster(&[0u8; 72]).unwrap(), [0u8; 48]);
    }

    #[test]
    fn ciphertext_above_modulus_is_refused() {
        let key = LicensingKeyPair::generate(1024).unwrap();
        assert!(key.decrypt_premaster(&[0xFF; 128]).is_err());
        assert!(key.decrypt_premaster(&[0x01; 200]).is_err());
    }

    #[test]
    fn keys_depend_on_every_input_and_mac_detects_changes() {
        let pm = [1u8; 48];
        let a = LicensingKeys::derive(&pm, &[2; 32], &[3; 32]);
        let b = LicensingKeys::derive(&pm, &[3; 32], &[2; 32]);
        let c = LicensingKeys::derive(&[9u8; 48], &[2; 32], &[3; 32]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a.mac_salt_key, a.encryption_key);
        let m = a.mac(b"hello");
        assert!(a.verify_mac(&[b"hel", b"lo"], &m));
        assert!(!a.verify_mac(&[b"hellO"], &m));
        assert!(!b.verify_mac(&[b"hello"], &m));
    }
}
