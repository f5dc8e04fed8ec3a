//! The clearinghouse (`reference/rds-facts.md` §2.7): the vendor key that activates license servers and signs key
//! packs, and the verification a license server runs before it trusts either.
//!
//! Keys are Ed25519 (recommended: small, fast, deterministic) or RSA (PKCS#1 v1.5 with SHA-256), through OpenSSL.
//! Key generation is the caller's job (no RNG here): `openssl::pkey::PKey::generate_ed25519()` or a PEM file.

use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};

use crate::ids::ServerId;
use crate::keypack::{KeyPack, KeyPackError, SignedKeyPack, VerifiedKeyPack};
use crate::text::{read_armored, write_armored, TextError};

/// A clearinghouse key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClearinghouseError {
    /// Neither Ed25519 nor RSA.
    #[error("unsupported clearinghouse key type: use Ed25519 or RSA")]
    UnsupportedKey,
    /// OpenSSL refused the key or the operation.
    #[error("clearinghouse key error: {0}")]
    Crypto(String),
}

fn crypto(e: openssl::error::ErrorStack) -> ClearinghouseError {
    ClearinghouseError::Crypto(e.to_string())
}

fn key_id_of(spki_der: &[u8]) -> [u8; 16] {
    let d = openssl::sha::sha256(spki_der);
    let mut id = [0u8; 16];
    id.copy_from_slice(&d[..16]);
    id
}

fn supported(id: Id) -> bool {
    id == Id::ED25519 || id == Id::RSA
}

/// The vendor side: holds the clearinghouse private key.
pub struct Clearinghouse {
    key: PKey<Private>,
    public: ClearinghouseKey,
}

impl core::fmt::Debug for Clearinghouse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the private key.
        f.debug_struct("Clearinghouse")
            .field("key_id", &hex::encode(self.public.key_id))
            .finish_non_exhaustive()
    }
}

impl Clearinghouse {
    /// Wraps a private key made by the caller (Ed25519 or RSA).
    pub fn from_private_key(key: PKey<Private>) -> Result<Self, ClearinghouseError> {
        if !supported(key.id()) {
            return Err(ClearinghouseError::UnsupportedKey);
        }
        let spki = key.public_key_to_der().map_err(crypto)?;
        let public = ClearinghouseKey::from_public_key_der(&spki)?;
        Ok(Self { key, public })
    }

    /// Reads a PKCS#8 / traditional PEM private key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, ClearinghouseError> {
        Self::from_private_key(PKey::private_key_from_pem(pem).map_err(crypto)?)
    }

    /// The private key as PKCS#8 PEM (to write it to a 0600 file).
    pub fn private_key_pem(&self) -> Result<Vec<u8>, ClearinghouseError> {
        self.key.private_key_to_pem_pkcs8().map_err(crypto)
    }

    /// The public half that license servers trust.
    pub fn public_key(&self) -> &ClearinghouseKey {
        &self.public
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, ClearinghouseError> {
        if self.key.id() == Id::ED25519 {
            let mut s = Signer::new_without_digest(&self.key).map_err(crypto)?;
            s.sign_oneshot_to_vec(data).map_err(crypto)
        } else {
            let mut s = Signer::new(MessageDigest::sha256(), &self.key).map_err(crypto)?;
            s.update(data).map_err(crypto)?;
            s.sign_to_vec().map_err(crypto)
        }
    }

    /// Activates a license server: signs (server id, its public key, issued at). The server id is derived from the
    /// public key, so a request cannot name a key it does not hold.
    pub fn activate(
        &self,
        server_public_key_der: &[u8],
        issued_at: i64,
    ) -> Result<ActivationCertificate, ClearinghouseError> {
        // Reject garbage early so the vendor never signs a certificate no server could use.
        PKey::public_key_from_der(server_public_key_der).map_err(crypto)?;
        let mut cert = ActivationCertificate {
            server_id: ServerId::from_public_key_der(server_public_key_der),
            server_public_key_der: server_public_key_der.to_vec(),
            issued_at,
            signer: self.public.key_id,
            signature: Vec::new(),
        };
        cert.signature = self.sign(&cert.canonical_bytes())?;
        Ok(cert)
    }

    /// Signs a key pack for the server it names.
    pub fn issue_key_pack(&self, pack: KeyPack) -> Result<SignedKeyPack, ClearinghouseError> {
        let signature = self.sign(&pack.canonical_bytes())?;
        Ok(SignedKeyPack {
            pack,
            signer: self.public.key_id,
            signature,
        })
    }
}

/// The clearinghouse public key a license server trusts, with its key id (first 16 bytes of SHA-256 over the DER
/// SubjectPublicKeyInfo).
#[derive(Clone)]
pub struct ClearinghouseKey {
    key: PKey<Public>,
    key_id: [u8; 16],
}

impl core::fmt::Debug for ClearinghouseKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClearinghouseKey")
            .field("key_id", &hex::encode(self.key_id))
            .finish()
    }
}

impl ClearinghouseKey {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_public_key_der(der: &[u8]) -> Result<Self, ClearinghouseError> {
        let key = PKey::public_key_from_der(der).map_err(crypto)?;
        if !supported(key.id()) {
            return Err(ClearinghouseError::UnsupportedKey);
        }
        Ok(Self {
            key,
            key_id: key_id_of(der),
        })
    }

    /// From a PEM `PUBLIC KEY`.
    pub fn from_pem(pem: &[u8]) -> Result<Self, ClearinghouseError> {
        let key = PKey::public_key_from_pem(pem).map_err(crypto)?;
        Self::from_public_key_der(&key.public_key_to_der().map_err(crypto)?)
    }

    /// PEM `PUBLIC KEY`.
    pub fn to_pem(&self) -> Result<Vec<u8>, ClearinghouseError> {
        self.key.public_key_to_pem().map_err(crypto)
    }

    /// The key id packs and certificates name as `signer`.
    pub fn key_id(&self) -> [u8; 16] {
        self.key_id
    }

    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        let ok = if self.key.id() == Id::ED25519 {
            Verifier::new_without_digest(&self.key).and_then(|mut v| v.verify_oneshot(sig, data))
        } else {
            Verifier::new(MessageDigest::sha256(), &self.key).and_then(|mut v| {
                v.update(data)?;
                v.verify(sig)
            })
        };
        // A malformed signature is an OpenSSL error, not `false`; both mean "does not verify".
        ok.unwrap_or(false)
    }

    /// Checks a key pack before installation, in this order: signer is this clearinghouse (else forged), signature
    /// matches (else altered), issued to `ours`, not expired at `now`, not empty.
    pub fn verify_key_pack(
        &self,
        signed: &SignedKeyPack,
        ours: ServerId,
        now: i64,
    ) -> Result<VerifiedKeyPack, KeyPackError> {
        if signed.signer != self.key_id {
            return Err(KeyPackError::UnknownSigner {
                signer: hex::encode(signed.signer),
            });
        }
        if !self.verify(&signed.pack.canonical_bytes(), &signed.signature) {
            return Err(KeyPackError::SignatureMismatch);
        }
        if signed.pack.issued_to != ours {
            return Err(KeyPackError::IssuedToAnotherServer {
                issued_to: signed.pack.issued_to,
                ours,
            });
        }
        if let Some(expires_at) = signed.pack.expires_at {
            if now >= expires_at {
                return Err(KeyPackError::Expired { expires_at });
            }
        }
        if signed.pack.count == 0 {
            return Err(KeyPackError::Empty);
        }
        Ok(VerifiedKeyPack(signed.clone()))
    }

    /// Checks an activation certificate for the server whose public key is `our_public_key_der`.
    pub fn verify_activation(
        &self,
        cert: &ActivationCertificate,
        our_public_key_der: &[u8],
    ) -> Result<VerifiedActivation, ActivationError> {
        if cert.signer != self.key_id {
            return Err(ActivationError::UnknownSigner {
                signer: hex::encode(cert.signer),
            });
        }
        if !self.verify(&cert.canonical_bytes(), &cert.signature) {
            return Err(ActivationError::SignatureMismatch);
        }
        if cert.server_id != ServerId::from_public_key_der(&cert.server_public_key_der) {
            return Err(ActivationError::SignatureMismatch);
        }
        if cert.server_public_key_der != our_public_key_der {
            return Err(ActivationError::OtherServer {
                certified: cert.server_id,
                ours: ServerId::from_public_key_der(our_public_key_der),
            });
        }
        Ok(VerifiedActivation(cert.clone()))
    }
}

/// The clearinghouse's signature over (license server id, its public key, issued at): proof that this license
/// server is activated (KB 814593: "a digital certificate that validates server ownership and identity").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCertificate {
    /// Derived from `server_public_key_der`.
    pub server_id: ServerId,
    /// DER SubjectPublicKeyInfo of the license server identity key.
    pub server_public_key_der: Vec<u8>,
    /// Unix seconds.
    pub issued_at: i64,
    /// Clearinghouse key id.
    pub signer: [u8; 16],
    /// Signature over [`ActivationCertificate::canonical_bytes`].
    pub signature: Vec<u8>,
}

const ACT_DOMAIN: &[u8] = b"rdlic activation v1\0";
const ACT_LABEL: &str = "RDLIC ACTIVATION";
const ACT_FIELDS: [&str; 6] = [
    "format",
    "server-id",
    "public-key",
    "issued-at",
    "signer",
    "signature",
];

impl ActivationCertificate {
    /// Domain string, server id (16), key length (u32 BE), key DER, issued at (i64 BE).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(ACT_DOMAIN.len() + 32 + self.server_public_key_der.len());
        b.extend_from_slice(ACT_DOMAIN);
        b.extend_from_slice(&self.server_id.0);
        let len = u32::try_from(self.server_public_key_der.len()).unwrap_or(u32::MAX);
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&self.server_public_key_der);
        b.extend_from_slice(&self.issued_at.to_be_bytes());
        b
    }

    /// Armored text file.
    pub fn to_text(&self) -> String {
        write_armored(
            ACT_LABEL,
            &[
                ("format", "1".to_owned()),
                ("server-id", self.server_id.to_string()),
                ("public-key", hex::encode(&self.server_public_key_der)),
                ("issued-at", self.issued_at.to_string()),
                ("signer", hex::encode(self.signer)),
                ("signature", hex::encode(&self.signature)),
            ],
        )
    }

    /// Parses [`ActivationCertificate::to_text`] output.
    pub fn from_text(text: &str) -> Result<Self, ActivationError> {
        let bad = |e: TextError| ActivationError::Malformed(e.to_string());
        let f = read_armored(ACT_LABEL, text, &ACT_FIELDS).map_err(bad)?;
        if f.get("format").map_err(bad)? != "1" {
            return Err(ActivationError::Malformed(
                "unsupported activation format (expected 1)".to_owned(),
            ));
        }
        let hexf = |k: &'static str| -> Result<Vec<u8>, ActivationError> {
            hex::decode(f.get(k).map_err(bad)?)
                .map_err(|_| ActivationError::Malformed(format!("field {k:?} is not hexadecimal")))
        };
        let signer: [u8; 16] = hexf("signer")?
            .try_into()
            .map_err(|_| ActivationError::Malformed("field \"signer\" is not 16 bytes".to_owned()))?;
        Ok(Self {
            server_id: f
                .get("server-id")
                .map_err(bad)?
                .parse()
                .map_err(|e| ActivationError::Malformed(format!("{e}")))?,
            server_public_key_der: hexf("public-key")?,
            issued_at: f
                .get("issued-at")
                .map_err(bad)?
                .parse()
                .map_err(|_| ActivationError::Malformed("field \"issued-at\" is not a number".to_owned()))?,
            signer,
            signature: hexf("signature")?,
        })
    }
}

/// An activation certificate checked against the trusted clearinghouse key and this server's own public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedActivation(pub(crate) ActivationCertificate);

impl VerifiedActivation {
    /// The checked certificate.
    pub fn certificate(&self) -> &ActivationCertificate {
        &self.0
    }
}

/// Why an activation certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// Not an activation file.
    #[error("malformed activation certificate: {0}")]
    Malformed(String),
    /// Signed by another key.
    #[error("activation certificate signed by unknown key {signer}, not by the trusted clearinghouse")]
    UnknownSigner {
        /// Hex key id.
        signer: String,
    },
    /// Altered certificate.
    #[error("activation certificate signature does not match its content (the file was altered)")]
    SignatureMismatch,
    /// Certifies another server's key.
    #[error("activation certificate is for license server {certified}, this server is {ours}: activate this server id")]
    OtherServer {
        /// The certified server.
        certified: ServerId,
        /// This server.
        ours: ServerId,
    },
}
