//! Server certificates of the License Request: [MS-RDPBCGR 2.2.1.4.3.1] SERVER_CERTIFICATE, holding either a
//! proprietary certificate signed with the Terminal Services signing key (5.3.3.1) or an X.509 chain
//! ([MS-RDPELE 2.2.1.4.2]).

use md5::{Digest as _, Md5};
use openssl::bn::{BigNum, BigNumContext};

use crate::crypto::{CryptoError, RsaPublicKey};
use crate::pdu::DecodeError;

/// [MS-RDPBCGR 2.2.1.4.3.1] CERT_CHAIN_VERSION_1: a proprietary certificate.
pub const CERT_CHAIN_VERSION_1: u32 = 0x0000_0001;
/// [MS-RDPBCGR 2.2.1.4.3.1] CERT_CHAIN_VERSION_2: an X.509 certificate chain.
pub const CERT_CHAIN_VERSION_2: u32 = 0x0000_0002;
/// The `t` bit of dwVersion: the certificate was issued temporarily.
pub const CERT_TEMPORARILY_ISSUED: u32 = 0x8000_0000;
/// SIGNATURE_ALG_RSA
pub const SIGNATURE_ALG_RSA: u32 = 0x0000_0001;
/// KEY_EXCHANGE_ALG_RSA
pub const KEY_EXCHANGE_ALG_RSA: u32 = 0x0000_0001;
/// BB_RSA_KEY_BLOB
pub const BB_RSA_KEY_BLOB: u16 = 0x0006;
/// BB_RSA_SIGNATURE_BLOB
pub const BB_RSA_SIGNATURE_BLOB: u16 = 0x0008;
/// RSA_PUBLIC_KEY::magic, "RSA1"
pub const RSA1_MAGIC: u32 = 0x3141_5352;
/// [MS-RDPELE 2.2.1.4.2] NumCertBlobs limits.
pub const MIN_CERT_BLOBS: u32 = 2;
/// [MS-RDPELE 2.2.1.4.2] NumCertBlobs limits.
pub const MAX_CERT_BLOBS: u32 = 200;

/// [MS-RDPBCGR 5.3.3.1.1] Terminal Services signing key: modulus, little-endian.
const TS_SIGNING_MODULUS_LE: [u8; 64] = [
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1, 0x1e, 0x4a, 0xba, 0x5f, 0xcb, 0x3e, 0x88, 0x20,
    0x87, 0xef, 0xf5, 0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95, 0xce, 0x63, 0x65, 0x6b, 0x58, 0x3a,
    0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe, 0x3d, 0xf6, 0x5c, 0x7d, 0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61, 0xbb, 0x20,
    0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87,
];
/// [MS-RDPBCGR 5.3.3.1.1] Terminal Services signing key: private exponent, little-endian (published).
const TS_SIGNING_PRIVATE_EXPONENT_LE: [u8; 64] = [
    0x87, 0xa7, 0x19, 0x32, 0xda, 0x11, 0x87, 0x55, 0x58, 0x00, 0x16, 0x16, 0x25, 0x65, 0x68, 0xf8, 0x24, 0x3e, 0xe6,
    0xfa, 0xe9, 0x67, 0x49, 0x94, 0xcf, 0x92, 0xcc, 0x33, 0x99, 0xe8, 0x08, 0x60, 0x17, 0x9a, 0x12, 0x9f, 0x24, 0xdd,
    0xb1, 0x24, 0x99, 0xc7, 0x3a, 0xb8, 0x0a, 0x7b, 0x0d, 0xdd, 0x35, 0x07, 0x79, 0x17, 0x0b, 0x51, 0x9b, 0xb3, 0xc7,
    0x10, 0x01, 0x13, 0xe7, 0x3f, 0xf3, 0x5f,
];
/// [MS-RDPBCGR 5.3.3.1.1] Terminal Services signing key: public exponent, little-endian.
const TS_SIGNING_PUBLIC_EXPONENT_LE: [u8; 4] = [0x5b, 0x7b, 0x88, 0xc0];

/// [MS-RDPBCGR 2.2.1.4.3.1.1.1] RSA Public Key (RSA_PUBLIC_KEY)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKeyBlob {
    /// magic: MUST be 0x31415352 ("RSA1")
    pub magic: u32,
    /// keylen: size of `modulus`, MUST be bitlen/8 + 8
    pub keylen: u32,
    /// bitlen: modulus size in bits
    pub bitlen: u32,
    /// datalen: MUST be bitlen/8 - 1
    pub datalen: u32,
    /// pubExp: the public exponent
    pub pub_exp: u32,
    /// modulus: little-endian modulus followed by 8 zero bytes (keylen bytes)
    pub modulus: Vec<u8>,
}

impl RsaPublicKeyBlob {
    /// The blob describing `key`.
    pub fn from_key(key: &RsaPublicKey) -> Self {
        let bytes = u32::try_from(key.modulus_len()).unwrap_or(u32::MAX);
        let mut modulus = key.modulus_le.clone();
        modulus.extend_from_slice(&[0u8; 8]);
        Self {
            magic: RSA1_MAGIC,
            keylen: bytes + 8,
            bitlen: bytes * 8,
            datalen: bytes.saturating_sub(1),
            pub_exp: key.exponent,
            modulus,
        }
    }

    /// The public key it describes.
    pub fn to_key(&self) -> Result<RsaPublicKey, DecodeError> {
        if self.magic != RSA1_MAGIC {
            return Err(invalid("RSA_PUBLIC_KEY::magic", format!("0x{:08x} is not RSA1", self.magic)));
        }
        let bytes = usize::try_from(self.bitlen / 8).unwrap_or(usize::MAX);
        if bytes == 0 || bytes > self.modulus.len() {
            return Err(invalid("RSA_PUBLIC_KEY::bitlen", format!("{} bits for a {}-byte modulus", self.bitlen, self.modulus.len())));
        }
        let mut modulus_le = self.modulus[..bytes].to_vec();
        while modulus_le.last() == Some(&0) {
            modulus_le.pop();
        }
        Ok(RsaPublicKey { modulus_le, exponent: self.pub_exp })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for v in [self.magic, self.keylen, self.bitlen, self.datalen, self.pub_exp] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.modulus);
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Cursor { buf: bytes, pos: 0 };
        let magic = r.u32("RSA_PUBLIC_KEY::magic")?;
        let keylen = r.u32("RSA_PUBLIC_KEY::keylen")?;
        let bitlen = r.u32("RSA_PUBLIC_KEY::bitlen")?;
        let datalen = r.u32("RSA_PUBLIC_KEY::datalen")?;
        let pub_exp = r.u32("RSA_PUBLIC_KEY::pubExp")?;
        let keylen_usize = usize::try_from(keylen).unwrap_or(usize::MAX);
        let modulus = r.take(keylen_usize, "RSA_PUBLIC_KEY::modulus")?.to_vec();
        if r.pos != bytes.len() {
            return Err(invalid("RSA_PUBLIC_KEY", format!("{} bytes after the modulus", bytes.len() - r.pos)));
        }
        Ok(Self { magic, keylen, bitlen, datalen, pub_exp, modulus })
    }
}

/// [MS-RDPBCGR 2.2.1.4.3.1.1] Server Proprietary Certificate (PROPRIETARYSERVERCERTIFICATE)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProprietaryCertificate {
    /// dwSigAlgId: MUST be SIGNATURE_ALG_RSA
    pub sig_alg_id: u32,
    /// dwKeyAlgId: MUST be KEY_EXCHANGE_ALG_RSA
    pub key_alg_id: u32,
    /// wPublicKeyBlobType: MUST be BB_RSA_KEY_BLOB
    pub public_key_blob_type: u16,
    /// PublicKeyBlob
    pub public_key: RsaPublicKeyBlob,
    /// wSignatureBlobType: BB_RSA_SIGNATURE_BLOB
    pub signature_blob_type: u16,
    /// SignatureBlob: little-endian signature (64 bytes) followed by 8 zero bytes
    pub signature: Vec<u8>,
}

/// [MS-RDPBCGR 2.2.1.4.3.1] Server Certificate (SERVER_CERTIFICATE)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCertificate {
    /// CERT_CHAIN_VERSION_1
    Proprietary {
        /// the `t` bit: temporarily issued
        temporary: bool,
        /// the certificate
        certificate: ProprietaryCertificate,
    },
    /// CERT_CHAIN_VERSION_2 ([MS-RDPELE 2.2.1.4.2] X509_CERTIFICATE_CHAIN)
    X509Chain {
        /// the `t` bit: temporarily issued
        temporary: bool,
        /// DER certificates, root first; the last one holds the key for the premaster secret
        certificates: Vec<Vec<u8>>,
        /// Padding: 8 + 4 * NumCertBlobs bytes on the wire
        padding: Vec<u8>,
    },
}

fn invalid(what: &'static str, reason: String) -> DecodeError {
    DecodeError::Invalid { what, reason }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len() - self.pos;
        if available < n {
            return Err(DecodeError::Truncated { what, needed: n, available });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl ProprietaryCertificate {
    /// A proprietary certificate for `key`, signed with the Terminal Services signing key (5.3.3.1.2).
    pub fn sign(key: &RsaPublicKey) -> Result<Self, CryptoError> {
        let mut cert = Self {
            sig_alg_id: SIGNATURE_ALG_RSA,
            key_alg_id: KEY_EXCHANGE_ALG_RSA,
            public_key_blob_type: BB_RSA_KEY_BLOB,
            public_key: RsaPublicKeyBlob::from_key(key),
            signature_blob_type: BB_RSA_SIGNATURE_BLOB,
            signature: Vec::new(),
        };
        let block = signature_block(&cert.signed_fields());
        let signature = ts_key_op(&block, &TS_SIGNING_PRIVATE_EXPONENT_LE)?;
        cert.signature = signature;
        cert.signature.extend_from_slice(&[0u8; 8]);
        Ok(cert)
    }

    /// Checks the signature with the Terminal Services public signing key (5.3.3.1.3).
    pub fn verify(&self) -> bool {
        let significant = self.signature.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        if significant == 0 || significant > TS_SIGNING_MODULUS_LE.len() {
            return false;
        }
        let Ok(decrypted) = ts_key_op(&self.signature[..significant], &TS_SIGNING_PUBLIC_EXPONENT_LE) else {
            return false;
        };
        let expected = signature_block(&self.signed_fields());
        crate::crypto::constant_time_eq(&decrypted[..63], &expected)
            && decrypted[63..].iter().all(|&b| b == 0)
    }

    /// The licensing public key.
    pub fn public_key(&self) -> Result<RsaPublicKey, DecodeError> {
        self.public_key.to_key()
    }

    /// The first six fields, which the signature covers.
    fn signed_fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.public_key.modulus.len() + 20);
        out.extend_from_slice(&CERT_CHAIN_VERSION_1.to_le_bytes());
        out.extend_from_slice(&self.sig_alg_id.to_le_bytes());
        out.extend_from_slice(&self.key_alg_id.to_le_bytes());
        let mut blob = Vec::new();
        self.public_key.encode(&mut blob);
        out.extend_from_slice(&self.public_key_blob_type.to_le_bytes());
        out.extend_from_slice(&u16::try_from(blob.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&blob);
        out
    }
}

/// The 63-byte block: MD5 hash, 0x00, 0xFF..., 0x01 (5.3.3.1.2).
fn signature_block(signed_fields: &[u8]) -> [u8; 63] {
    let mut block = [0xFFu8; 63];
    let hash: [u8; 16] = Md5::digest(signed_fields).into();
    block[..16].copy_from_slice(&hash);
    block[16] = 0x00;
    block[62] = 0x01;
    block
}

/// m^exp mod n with the Terminal Services modulus, little-endian in and out (64 bytes out).
fn ts_key_op(value_le: &[u8], exponent_le: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let be = |le: &[u8]| le.iter().rev().copied().collect::<Vec<u8>>();
    let n = BigNum::from_slice(&be(&TS_SIGNING_MODULUS_LE))?;
    let e = BigNum::from_slice(&be(exponent_le))?;
    let m = BigNum::from_slice(&be(value_le))?;
    if m >= n {
        return Err(CryptoError::CiphertextTooLarge);
    }
    let mut out = BigNum::new()?;
    let mut ctx = BigNumContext::new()?;
    out.mod_exp(&m, &e, &n, &mut ctx)?;
    Ok(out.to_vec_padded(64)?.into_iter().rev().collect())
}

impl ServerCertificate {
    /// Encodes the SERVER_CERTIFICATE (the data of the BB_CERTIFICATE_BLOB).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Proprietary { temporary, certificate } => {
                let version = CERT_CHAIN_VERSION_1 | if *temporary { CERT_TEMPORARILY_ISSUED } else { 0 };
                out.extend_from_slice(&version.to_le_bytes());
                out.extend_from_slice(&certificate.sig_alg_id.to_le_bytes());
                out.extend_from_slice(&certificate.key_alg_id.to_le_bytes());
                let mut blob = Vec::new();
                certificate.public_key.encode(&mut blob);
                out.extend_from_slice(&certificate.public_key_blob_type.to_le_bytes());
                out.extend_from_slice(&u16::try_from(blob.len()).unwrap_or(u16::MAX).to_le_bytes());
                out.extend_from_slice(&blob);
                out.extend_from_slice(&certificate.signature_blob_type.to_le_bytes());
                out.extend_from_slice(&u16::try_from(certificate.signature.len()).unwrap_or(u16::MAX).to_le_bytes());
                out.extend_from_slice(&certificate.signature);
            }
            Self::X509Chain { temporary, certificates, padding } => {
                let version = CERT_CHAIN_VERSION_2 | if *temporary { CERT_TEMPORARILY_ISSUED } else { 0 };
                out.extend_from_slice(&version.to_le_bytes());
                out.extend_from_slice(&u32::try_from(certificates.len()).unwrap_or(u32::MAX).to_le_bytes());
                for cert in certificates {
                    out.extend_from_slice(&u32::try_from(cert.len()).unwrap_or(u32::MAX).to_le_bytes());
                    out.extend_from_slice(cert);
                }
                out.extend_from_slice(padding);
            }
        }
        out
    }

    /// An X.509 chain with the padding the specification asks for (8 + 4 * NumCertBlobs zero bytes).
    pub fn x509_chain(certificates: Vec<Vec<u8>>) -> Self {
        let padding = vec![0u8; 8 + 4 * certificates.len()];
        Self::X509Chain { temporary: false, certificates, padding }
    }

    /// Decodes a SERVER_CERTIFICATE.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Cursor { buf: bytes, pos: 0 };
        let version = r.u32("SERVER_CERTIFICATE::dwVersion")?;
        let temporary = version & CERT_TEMPORARILY_ISSUED != 0;
        match version & !CERT_TEMPORARILY_ISSUED {
            CERT_CHAIN_VERSION_1 => {
                let sig_alg_id = r.u32("dwSigAlgId")?;
                let key_alg_id = r.u32("dwKeyAlgId")?;
                let public_key_blob_type = r.u16("wPublicKeyBlobType")?;
                let len = r.u16("wPublicKeyBlobLen")?;
                let public_key = RsaPublicKeyBlob::decode(r.take(usize::from(len), "PublicKeyBlob")?)?;
                let signature_blob_type = r.u16("wSignatureBlobType")?;
                let len = r.u16("wSignatureBlobLen")?;
                let signature = r.take(usize::from(len), "SignatureBlob")?.to_vec();
                if sig_alg_id != SIGNATURE_ALG_RSA || key_alg_id != KEY_EXCHANGE_ALG_RSA {
                    return Err(invalid("PROPRIETARYSERVERCERTIFICATE", "algorithm is not RSA".into()));
                }
                Ok(Self::Proprietary {
                    temporary,
                    certificate: ProprietaryCertificate {
                        sig_alg_id,
                        key_alg_id,
                        public_key_blob_type,
                        public_key,
                        signature_blob_type,
                        signature,
                    },
                })
            }
            CERT_CHAIN_VERSION_2 => {
                let count = r.u32("X509_CERTIFICATE_CHAIN::NumCertBlobs")?;
                if !(MIN_CERT_BLOBS..=MAX_CERT_BLOBS).contains(&count) {
                    return Err(invalid("NumCertBlobs", format!("{count} is outside 2..=200")));
                }
                let mut certificates = Vec::new();
                for _ in 0..count {
                    let len = r.u32("CERT_BLOB::cbCert")?;
                    certificates.push(r.take(usize::try_from(len).unwrap_or(usize::MAX), "CERT_BLOB::abCert")?.to_vec());
                }
                let padding = bytes[r.pos..].to_vec();
                Ok(Self::X509Chain { temporary, certificates, padding })
            }
            other => Err(invalid("SERVER_CERTIFICATE::dwVersion", format!("unknown certificate version {other}"))),
        }
    }

    /// The licensing public key: the proprietary certificate's, or the last X.509 certificate's.
    pub fn public_key(&self) -> Result<RsaPublicKey, DecodeError> {
        match self {
            Self::Proprietary { certificate, .. } => certificate.public_key(),
            Self::X509Chain { certificates, .. } => {
                let leaf = certificates.last().ok_or_else(|| invalid("X509_CERTIFICATE_CHAIN", "empty".into()))?;
                x509_rsa_public_key(leaf)
            }
        }
    }
}

/// The RSA key of an X.509 certificate, whatever its SubjectPublicKeyInfo algorithm OID says: Microsoft's
/// licensing certificates use 1.3.14.3.2.15 there, which OpenSSL refuses, while the key itself is a plain
/// PKCS#1 RSAPublicKey (read by [`crate::x509::rsa_public_from_certificate`]).
pub fn x509_rsa_public_key(certificate_der: &[u8]) -> Result<RsaPublicKey, DecodeError> {
    let key = crate::x509::rsa_public_from_certificate(certificate_der)
        .map_err(|e| invalid("X.509 certificate", e.to_string()))?;
    let exponent = key.exponent();
    if exponent.len() > 4 || key.modulus().is_empty() {
        return Err(invalid("X.509 RSA key", "exponent wider than 32 bits or empty modulus".into()));
    }
    let mut e4 = [0u8; 4];
    e4[4 - exponent.len()..].copy_from_slice(exponent);
    Ok(RsaPublicKey::from_be(key.modulus(), u32::from_be_bytes(e4)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::LicensingKeyPair;

    #[test]
    fn proprietary_certificate_signs_and_verifies_with_the_ts_key() {
        let key = LicensingKeyPair::generate(512).unwrap();
        let cert = ProprietaryCertificate::sign(key.public()).unwrap();
        assert!(cert.verify());
        assert_eq!(cert.signature.len(), 72);
        assert_eq!(cert.public_key().unwrap(), *key.public());

        let mut tampered = cert.clone();
        tampered.public_key.pub_exp ^= 2;
        assert!(!tampered.verify());

        let wire = ServerCertificate::Proprietary { temporary: false, certificate: cert };
        let decoded = ServerCertificate::decode(&wire.encode()).unwrap();
        assert_eq!(decoded, wire);
        assert_eq!(decoded.public_key().unwrap(), *key.public());
    }

    #[test]
    fn ts_signing_key_pair_is_consistent() {
        // Signing then verifying a block with the published pair gives the block back (5.3.3.1.1).
        let block = signature_block(b"anything");
        let s = ts_key_op(&block, &TS_SIGNING_PRIVATE_EXPONENT_LE).unwrap();
        let m = ts_key_op(&s, &TS_SIGNING_PUBLIC_EXPONENT_LE).unwrap();
        assert_eq!(&m[..63], &block[..]);
    }

    #[test]
    fn truncated_certificates_are_errors() {
        let key = LicensingKeyPair::generate(512).unwrap();
        let cert = ServerCertificate::Proprietary {
            temporary: false,
            certificate: ProprietaryCertificate::sign(key.public()).unwrap(),
        };
        let bytes = cert.encode();
        for n in 0..bytes.len() {
            assert!(ServerCertificate::decode(&bytes[..n]).is_err(), "prefix of {n} bytes decoded");
        }
    }
}
