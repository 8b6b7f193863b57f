//! Keys and sealing. Small, boring and frozen: everything the archive encrypts goes through this module.
//!
//! * The **master key** (32 random bytes in a key file, or Argon2id of a passphrase) never encrypts data
//!   itself; purpose keys are derived from it with BLAKE3's key derivation ([`Keys`]).
//! * **Records** (persons, materials, users, …) are sealed with the record key, with the table and record key as
//!   associated data, so a ciphertext cannot be moved to another place unnoticed.
//! * **Blobs** get a fresh random data key each, wrapped by the wrapping key (envelope encryption); chunks are
//!   sealed with the blob's address and chunk number as associated data.
//! * **Addresses** are keyed BLAKE3 hashes, so a stolen store cannot be probed with the plain hash of a known file.
//!
//! Sealed format (DO NOT CHANGE: stores on disk depend on it): `[version = 1][24-byte nonce][ciphertext + tag]`,
//! XChaCha20-Poly1305 with a fresh random nonce per seal.

pub mod backup;
pub mod provider;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// DO NOT CHANGE: the first byte of every sealed value.
const SEAL_VERSION: u8 = 1;
/// DO NOT CHANGE: nonce length of XChaCha20-Poly1305.
const NONCE_LEN: usize = 24;
/// DO NOT CHANGE: key-derivation contexts.
const CTX_RECORDS: &str = "dangan 2026-11 record sealing key v1";
const CTX_WRAP: &str = "dangan 2026-11 data key wrapping key v1";
const CTX_ADDRESS: &str = "dangan 2026-11 blob address key v1";
const CTX_TOKENS: &str = "dangan 2026-11 session token key v1";
const CTX_SIGNING: &str = "dangan 2026-11 package signing key v1";
const CTX_INDEX: &str = "dangan 2026-11 search index file key v1";

/// Errors of this layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Authentication failed: wrong key, or the ciphertext or its associated data was altered.
    #[error("decryption failed: wrong key or altered data")]
    Open,
    /// The sealed value is too short or has an unknown version byte.
    #[error("malformed sealed value")]
    Malformed,
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file does not hold a 32-byte key (64 hex characters).
    #[error("key file {0} does not hold a 32-byte key in hex")]
    KeyFormat(String),
    /// Deriving a key from a passphrase failed.
    #[error("passphrase key derivation failed: {0}")]
    Kdf(String),
    /// The key file lies inside the data directory, so a copy of the data would carry its own key.
    #[error(
        "the master key {path} lies inside the data directory {data}: a copy of the data would carry its key. Move \
         it out (dangan keys move --data {data} --to /secure/dangan.key) and start with --key-file"
    )]
    KeyInsideData {
        /// The key file.
        path: String,
        /// The data directory.
        data: String,
    },
    /// The key's custody is unsafe: a key file others may read or another user owns, a passphrase too short.
    #[error("{0}")]
    KeyCustody(String),
}

/// This layer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b)
}

/// 32 secret bytes, wiped from memory on drop and never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Ok(SecretKey(Zeroizing::new(random_bytes::<32>()?)))
    }
    /// Wraps raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        SecretKey(Zeroizing::new(b))
    }
    /// The raw bytes (for wrapping and for key files only).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// The master key of an installation.
pub type MasterKey = SecretKey;

impl SecretKey {
    /// Loads the master key from a key file (64 hex characters), or creates one (mode 0600) when it does not exist.
    /// Returns whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool)> {
        let err = |source| Error::KeyFile { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Ok((Self::from_hex(text.trim()).ok_or_else(|| Error::KeyFormat(path.display().to_string()))?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                let mut hex = Zeroizing::new(key.to_hex());
                hex.push('\n');
                write_private(path, hex.as_bytes()).map_err(err)?;
                Ok((key, true))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Derives a key from a passphrase with Argon2id (64 MiB, 3 passes).
    pub fn from_passphrase(passphrase: &[u8], salt: &[u8]) -> Result<Self> {
        let params = argon2::Params::new(64 * 1024, 3, 1, Some(32)).map_err(|e| Error::Kdf(e.to_string()))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        a.hash_password_into(passphrase, salt, out.as_mut()).map_err(|e| Error::Kdf(e.to_string()))?;
        Ok(SecretKey(out))
    }

    /// Lower-case hex of the key (for key files; the result should be zeroized by the caller).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = decode_hex(s)?;
        let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
        let mut bytes = bytes;
        bytes.zeroize();
        Some(Self::from_bytes(arr))
    }
}

/// Writes a file readable by its owner only (0600 on Unix).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Decodes lower- or upper-case hex.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Hex of bytes.
pub fn encode_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key that seals and opens with XChaCha20-Poly1305.
#[derive(Clone)]
pub struct SealKey(XChaCha20Poly1305);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// DO NOT CHANGE: what sealing adds to a plaintext (version byte, nonce, tag).
    pub const OVERHEAD: usize = 1 + NONCE_LEN + 16;

    /// A sealing key from 32 secret bytes.
    pub fn new(key: &SecretKey) -> Self {
        SealKey(XChaCha20Poly1305::new(key.expose().into()))
    }

    /// Seals `plaintext` bound to `aad`, with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let ct = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .map_err(|_| Error::Malformed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value; fails if the key, the value or `aad` differ from sealing time.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEAL_VERSION {
            return Err(Error::Malformed);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad }).map(Zeroizing::new).map_err(|_| Error::Open)
    }
}

/// The purpose keys derived from the master key.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Seals records.
    pub records: SealKey,
    /// Wraps per-blob data keys.
    pub wrap: SealKey,
    address: SecretKey,
    tokens: SecretKey,
    signing: SecretKey,
    index: SecretKey,
}

/// The keys that outlive a change of master key (`dangan keys rotate`): blob addresses, the digests of tokens,
/// usernames and ID numbers, the installation's signing identity and the index files are keyed by them, so they
/// stay what they were; a store whose master key was rotated keeps them sealed under the new one. Hex, wiped on
/// drop, never printed.
#[derive(Clone, serde::Serialize, serde::Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Keyring {
    address: String,
    tokens: String,
    signing: String,
    index: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(…)")
    }
}

impl Keys {
    /// The keys that must survive a rotation of the master key.
    pub fn keyring(&self) -> Keyring {
        Keyring {
            address: self.address.to_hex(),
            tokens: self.tokens.to_hex(),
            signing: self.signing.to_hex(),
            index: self.index.to_hex(),
        }
    }

    /// The keys of a store whose master key was rotated: records and wrapping from the (new) master key, the
    /// rest from the keyring. `None` if the keyring is malformed.
    pub fn with_keyring(master: &MasterKey, ring: &Keyring) -> Option<Self> {
        let mut k = Self::derive(master);
        k.address = SecretKey::from_hex(&ring.address)?;
        k.tokens = SecretKey::from_hex(&ring.tokens)?;
        k.signing = SecretKey::from_hex(&ring.signing)?;
        k.index = SecretKey::from_hex(&ring.index)?;
        Some(k)
    }

    /// Derives all purpose keys from the master key.
    pub fn derive(master: &MasterKey) -> Self {
        let d = |ctx| SecretKey::from_bytes(blake3::derive_key(ctx, master.expose()));
        Keys {
            records: SealKey::new(&d(CTX_RECORDS)),
            wrap: SealKey::new(&d(CTX_WRAP)),
            address: d(CTX_ADDRESS),
            tokens: d(CTX_TOKENS),
            signing: d(CTX_SIGNING),
            index: d(CTX_INDEX),
        }
    }

    /// The key that seals one file of the search index: derived from the index key and the file's name, so each
    /// file has its own.
    pub fn index_file_key(&self, file: &str) -> SealKey {
        SealKey::new(&SecretKey::from_bytes(*blake3::keyed_hash(self.index.expose(), file.as_bytes()).as_bytes()))
    }

    fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.signing.expose())
    }

    /// The installation's Ed25519 public key (hex): what receivers of its transfer packages trust.
    pub fn signing_public_hex(&self) -> String {
        encode_hex(self.signing_key().verifying_key().as_bytes())
    }

    /// Signs `message` with the installation's Ed25519 key; the signature in hex.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        use ed25519_dalek::Signer;
        encode_hex(&self.signing_key().sign(message).to_bytes())
    }

    /// A keyed hasher for blob addresses.
    pub fn address_hasher(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(self.address.expose())
    }

    /// The stored form of a session token: a keyed hash, so a stolen store yields no usable token.
    pub fn token_digest(&self, token: &str) -> [u8; 32] {
        *blake3::keyed_hash(self.tokens.expose(), token.as_bytes()).as_bytes()
    }
}

/// Whether `signature_hex` is `public_hex`'s Ed25519 signature of `message`.
pub fn verify_signature_hex(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let (Some(public), Some(signature)) = (decode_hex(public_hex.trim()), decode_hex(signature_hex.trim())) else {
        return false;
    };
    let (Ok(public), Ok(signature)) =
        (<[u8; 32]>::try_from(public.as_slice()), <[u8; 64]>::try_from(signature.as_slice()))
    else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else { return false };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature)).is_ok()
}

/// Constant-time comparison of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_signatures_verify_and_tampering_fails() {
        let keys = Keys::derive(&MasterKey::generate().unwrap());
        let public = keys.signing_public_hex();
        let sig = keys.sign_hex(b"manifest");
        assert!(verify_signature_hex(&public, b"manifest", &sig));
        assert!(!verify_signature_hex(&public, b"manifesT", &sig));
        let other = Keys::derive(&MasterKey::generate().unwrap()).signing_public_hex();
        assert!(!verify_signature_hex(&other, b"manifest", &sig));
        assert!(!verify_signature_hex("zz", b"manifest", &sig));
        // Derived from the master key: the same key after a restart or a restore.
        let a = Keys::derive(&MasterKey::from_bytes([7u8; 32])).signing_public_hex();
        assert_eq!(a, Keys::derive(&MasterKey::from_bytes([7u8; 32])).signing_public_hex());
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let k = SealKey::new(&SecretKey::generate().unwrap());
        let s = k.seal("干部履历表".as_bytes(), b"persons/1").unwrap();
        assert_eq!(&k.open(&s, b"persons/1").unwrap()[..], "干部履历表".as_bytes());
        assert!(matches!(k.open(&s, b"persons/2"), Err(Error::Open)), "other aad refused");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(matches!(k.open(&t, b"persons/1"), Err(Error::Open)), "tampered refused");
        let other = SealKey::new(&SecretKey::generate().unwrap());
        assert!(matches!(other.open(&s, b"persons/1"), Err(Error::Open)), "other key refused");
        assert!(matches!(k.open(&s[..10], b""), Err(Error::Malformed)));
        assert_ne!(k.seal(b"x", b"").unwrap(), k.seal(b"x", b"").unwrap(), "fresh nonce each time");
    }

    #[test]
    fn key_file_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (k1, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(created);
        let (k2, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(k1.expose(), k2.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("bad.key"), "nothex").unwrap();
        assert!(matches!(SecretKey::load_or_create(&dir.path().join("bad.key")), Err(Error::KeyFormat(_))));
    }

    #[test]
    fn debug_hides_keys() {
        let k = SecretKey::generate().unwrap();
        assert!(!format!("{k:?}").contains(&k.to_hex()[..8]));
        assert_eq!(SecretKey::from_hex(&k.to_hex()).unwrap().expose(), k.expose());
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
