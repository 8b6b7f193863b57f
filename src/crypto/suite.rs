//! Cipher suites. A store is created under one suite and stays under it: the default (XChaCha20-Poly1305,
//! keyed BLAKE3, BLAKE3, Ed25519) or 国密 (SM4-GCM, HMAC-SM3, SM3, SM2), for installations that must pass the
//! commercial-cryptography assessment (密评) on the national algorithms.
//!
//! The suite is recorded in every sealed value's first byte (the seal version: 1 default, 2 国密), so the store
//! and its key-check file say which suite made them, and a store refuses to open under the other one.

use super::SecretKey;
use hmac::{Hmac, Mac};
use sm3::{Digest, Sm3};
use std::fmt;
use std::str::FromStr;

/// DO NOT CHANGE: the seal version byte of each suite.
pub(super) const SEAL_DEFAULT: u8 = 1;
pub(super) const SEAL_GM: u8 = 2;

/// A cipher suite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// XChaCha20-Poly1305, keyed BLAKE3 addresses, BLAKE3 content hashes, Ed25519 signatures.
    #[default]
    Default,
    /// 国密: SM4-GCM, HMAC-SM3 addresses, SM3 content hashes, SM2 signatures.
    Gm,
}

impl Suite {
    /// Both suites.
    pub const ALL: [Suite; 2] = [Suite::Default, Suite::Gm];

    /// The name used on the command line, in `DANGAN_SUITE` and in the API: `default` or `gm`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Default => "default",
            Suite::Gm => "gm",
        }
    }

    /// The algorithms, for messages and the health report.
    pub fn algorithms(self) -> &'static str {
        match self {
            Suite::Default => "XChaCha20-Poly1305, keyed BLAKE3, BLAKE3, Ed25519",
            Suite::Gm => "国密 SM4-GCM, HMAC-SM3, SM3, SM2",
        }
    }

    /// The content hash's name (`BLAKE3` or `SM3`).
    pub fn hash_name(self) -> &'static str {
        match self {
            Suite::Default => "BLAKE3",
            Suite::Gm => "SM3",
        }
    }

    /// The seal version byte of this suite.
    pub(super) fn seal_version(self) -> u8 {
        match self {
            Suite::Default => SEAL_DEFAULT,
            Suite::Gm => SEAL_GM,
        }
    }

    /// The suite that sealed `sealed` (from its version byte), if any.
    pub fn of_sealed(sealed: &[u8]) -> Option<Suite> {
        match sealed.first() {
            Some(&SEAL_DEFAULT) => Some(Suite::Default),
            Some(&SEAL_GM) => Some(Suite::Gm),
            _ => None,
        }
    }

    /// The nonce length of the suite's AEAD (XChaCha20-Poly1305: 24; SM4-GCM: 12).
    pub(super) fn nonce_len(self) -> usize {
        match self {
            Suite::Default => 24,
            Suite::Gm => 12,
        }
    }

    /// What sealing adds to a plaintext: version byte, nonce and 16-byte tag.
    pub fn overhead(self) -> usize {
        1 + self.nonce_len() + 16
    }

    /// The content hash of `bytes`.
    pub fn hash(self, bytes: &[u8]) -> [u8; 32] {
        let mut h = self.hasher();
        h.update(bytes);
        h.finalize()
    }

    /// The content hash of `bytes`, in hex.
    pub fn hash_hex(self, bytes: &[u8]) -> String {
        super::encode_hex(&self.hash(bytes))
    }

    /// A streaming content hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Suite::Default => Hasher(Inner::Blake3(Box::default())),
            Suite::Gm => Hasher(Inner::Sm3(Sm3::new())),
        }
    }

    /// A keyed hasher (a MAC): keyed BLAKE3 or HMAC-SM3.
    pub fn keyed_hasher(self, key: &SecretKey) -> Hasher {
        match self {
            Suite::Default => Hasher(Inner::Blake3(Box::new(blake3::Hasher::new_keyed(key.expose())))),
            // HMAC accepts a key of any length.
            Suite::Gm => Hasher(Inner::HmacSm3(
                Hmac::<Sm3>::new_from_slice(key.expose()).expect("HMAC takes keys of any length"),
            )),
        }
    }

    /// A keyed hash (a MAC) of `message`.
    pub fn keyed_hash(self, key: &SecretKey, message: &[u8]) -> [u8; 32] {
        let mut h = self.keyed_hasher(key);
        h.update(message);
        h.finalize()
    }

    /// DO NOT CHANGE: a purpose key derived from the master key: BLAKE3's key derivation, or HMAC-SM3 keyed
    /// with the master key over the context.
    pub(super) fn derive_key(self, context: &str, master: &SecretKey) -> SecretKey {
        match self {
            Suite::Default => SecretKey::from_bytes(blake3::derive_key(context, master.expose())),
            Suite::Gm => SecretKey::from_bytes(self.keyed_hash(master, context.as_bytes())),
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" | "standard" => Ok(Suite::Default),
            "gm" | "guomi" | "sm" | "国密" => Ok(Suite::Gm),
            other => Err(format!("unknown cipher suite {other:?}: use default or gm (国密 SM2/SM3/SM4)")),
        }
    }
}

/// A streaming hash or MAC of a suite, giving 32 bytes.
pub struct Hasher(Inner);

enum Inner {
    Blake3(Box<blake3::Hasher>),
    Sm3(Sm3),
    HmacSm3(Hmac<Sm3>),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        match &mut self.0 {
            Inner::Blake3(h) => {
                h.update(bytes);
            }
            Inner::Sm3(h) => Digest::update(h, bytes),
            Inner::HmacSm3(h) => Mac::update(h, bytes),
        }
        self
    }

    /// The 32-byte result.
    pub fn finalize(self) -> [u8; 32] {
        match self.0 {
            Inner::Blake3(h) => *h.finalize().as_bytes(),
            Inner::Sm3(h) => h.finalize().into(),
            Inner::HmacSm3(h) => h.finalize().into_bytes().into(),
        }
    }

    /// The result in hex.
    pub fn finalize_hex(self) -> String {
        super::encode_hex(&self.finalize())
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_and_hmac_sm3_match_the_standard_vectors() {
        // GB/T 32905-2016, example 1.
        assert_eq!(Suite::Gm.hash_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        assert_eq!(Suite::Default.hash_hex(b"abc"), blake3::hash(b"abc").to_hex().as_str());
        // Streaming equals one shot.
        let mut h = Suite::Gm.hasher();
        h.update(b"a").update(b"bc");
        assert_eq!(h.finalize(), Suite::Gm.hash(b"abc"));
        // A MAC differs from the plain hash and depends on its key.
        let k1 = SecretKey::from_bytes([1; 32]);
        let k2 = SecretKey::from_bytes([2; 32]);
        for s in Suite::ALL {
            assert_ne!(s.keyed_hash(&k1, b"abc"), s.hash(b"abc"));
            assert_ne!(s.keyed_hash(&k1, b"abc"), s.keyed_hash(&k2, b"abc"));
        }
        assert_ne!(Suite::Gm.keyed_hash(&k1, b"abc"), Suite::Default.keyed_hash(&k1, b"abc"));
    }

    #[test]
    fn names_parse_back() {
        for s in Suite::ALL {
            assert_eq!(s.name().parse::<Suite>().unwrap(), s);
        }
        assert_eq!("国密".parse::<Suite>().unwrap(), Suite::Gm);
        assert!("aes".parse::<Suite>().unwrap_err().contains("default or gm"));
    }
}
