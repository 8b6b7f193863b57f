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
//! * The **cipher suite** ([`Suite`]) is chosen when a store is created: the default, or 国密 (SM4-GCM, HMAC-SM3,
//!   SM3, SM2); every algorithm above is the suite's.
//!
//! Sealed format (DO NOT CHANGE: stores on disk depend on it): `[version][nonce][ciphertext + tag]` with a fresh
//! random nonce per seal: version 1 is XChaCha20-Poly1305 with a 24-byte nonce, version 2 SM4-GCM with a
//! 12-byte nonce (random 96-bit nonces stay far below GCM's 2^32 seals per key: records are re-sealed under a
//! new key by `dangan keys rotate`, blobs have a key each, index files a key per file).

pub mod backup;
pub mod provider;
mod suite;

pub use suite::{Hasher, Suite};

use aes_gcm::AesGcm;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// SM4 in Galois/counter mode with a 96-bit nonce and a 128-bit tag.
type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// DO NOT CHANGE: the SM2 distinguishing identifier (the default of GM/T 0009).
const SM2_ID: &str = "1234567812345678";
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

/// A key that seals and opens with its suite's AEAD.
#[derive(Clone)]
pub struct SealKey(Cipher);

#[derive(Clone)]
enum Cipher {
    XChaCha(XChaCha20Poly1305),
    Sm4Gcm(Sm4Gcm),
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// A sealing key of `suite` from 32 secret bytes (SM4 takes the first 16).
    pub fn new(suite: Suite, key: &SecretKey) -> Self {
        match suite {
            Suite::Default => SealKey(Cipher::XChaCha(XChaCha20Poly1305::new(key.expose().into()))),
            Suite::Gm => SealKey(Cipher::Sm4Gcm(Sm4Gcm::new(key.expose()[..16].into()))),
        }
    }

    /// The suite of this key.
    pub fn suite(&self) -> Suite {
        match self.0 {
            Cipher::XChaCha(_) => Suite::Default,
            Cipher::Sm4Gcm(_) => Suite::Gm,
        }
    }

    /// What sealing adds to a plaintext (version byte, nonce, tag).
    pub fn overhead(&self) -> usize {
        self.suite().overhead()
    }

    /// Seals `plaintext` bound to `aad`, with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let suite = self.suite();
        let mut out = Vec::with_capacity(plaintext.len() + suite.overhead());
        out.push(suite.seal_version());
        let msg = Payload { msg: plaintext, aad };
        let ct = match &self.0 {
            Cipher::XChaCha(c) => {
                let nonce = random_bytes::<24>()?;
                out.extend_from_slice(&nonce);
                c.encrypt(XNonce::from_slice(&nonce), msg)
            }
            Cipher::Sm4Gcm(c) => {
                let nonce = random_bytes::<12>()?;
                out.extend_from_slice(&nonce);
                c.encrypt((&nonce).into(), msg)
            }
        }
        .map_err(|_| Error::Malformed)?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value; fails if the key, the value or `aad` differ from sealing time. A value sealed under
    /// the other suite is malformed to this key.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let suite = self.suite();
        let nonce_len = suite.nonce_len();
        if sealed.len() < suite.overhead() || sealed[0] != suite.seal_version() {
            return Err(Error::Malformed);
        }
        let (nonce, ct) = sealed[1..].split_at(nonce_len);
        let msg = Payload { msg: ct, aad };
        match &self.0 {
            Cipher::XChaCha(c) => c.decrypt(XNonce::from_slice(nonce), msg),
            Cipher::Sm4Gcm(c) => c.decrypt(aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from_slice(nonce), msg),
        }
        .map(Zeroizing::new)
        .map_err(|_| Error::Open)
    }
}

/// The purpose keys derived from the master key, under the store's suite.
#[derive(Clone, Debug)]
pub struct Keys {
    suite: Suite,
    /// Seals records.
    pub records: SealKey,
    /// Wraps per-blob data keys.
    pub wrap: SealKey,
    address: SecretKey,
    tokens: SecretKey,
    signing: SecretKey,
    index: SecretKey,
    /// The signing key made from `signing` once (an SM2 key takes a scalar multiplication to make).
    signer: std::sync::Arc<Signer>,
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

/// The installation's signing key.
enum Signer {
    Ed25519(ed25519_dalek::SigningKey),
    Sm2(sm2::dsa::SigningKey),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(…)")
    }
}

impl Signer {
    /// The signing key of `suite` made from the secret `seed`.
    fn new(suite: Suite, seed: &SecretKey) -> Self {
        match suite {
            Suite::Default => Signer::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed.expose())),
            Suite::Gm => {
                // A scalar in [1, n): the seed, or (about once in 2^32 seeds) its keyed hash with a counter.
                let mut bytes = *seed.expose();
                let mut counter = 0u8;
                loop {
                    if let Ok(secret) = sm2::SecretKey::from_slice(&bytes)
                        && let Ok(key) = sm2::dsa::SigningKey::new(SM2_ID, &secret)
                    {
                        bytes.zeroize();
                        return Signer::Sm2(key);
                    }
                    counter = counter.wrapping_add(1);
                    bytes = Suite::Gm.keyed_hash(seed, &[b"sm2 scalar ", &[counter][..]].concat());
                }
            }
        }
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
    pub fn with_keyring(suite: Suite, master: &MasterKey, ring: &Keyring) -> Option<Self> {
        let mut k = Self::derive(suite, master);
        k.address = SecretKey::from_hex(&ring.address)?;
        k.tokens = SecretKey::from_hex(&ring.tokens)?;
        k.signing = SecretKey::from_hex(&ring.signing)?;
        k.index = SecretKey::from_hex(&ring.index)?;
        k.signer = std::sync::Arc::new(Signer::new(suite, &k.signing));
        Some(k)
    }

    /// Derives all purpose keys from the master key, under `suite`.
    pub fn derive(suite: Suite, master: &MasterKey) -> Self {
        let d = |ctx| suite.derive_key(ctx, master);
        let signing = d(CTX_SIGNING);
        Keys {
            suite,
            records: SealKey::new(suite, &d(CTX_RECORDS)),
            wrap: SealKey::new(suite, &d(CTX_WRAP)),
            address: d(CTX_ADDRESS),
            tokens: d(CTX_TOKENS),
            signer: std::sync::Arc::new(Signer::new(suite, &signing)),
            signing,
            index: d(CTX_INDEX),
        }
    }

    /// The suite these keys belong to.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// A sealing key of this suite for a blob's data key.
    pub fn data_key(&self, key: &SecretKey) -> SealKey {
        SealKey::new(self.suite, key)
    }

    /// The key that seals one file of the search index: derived from the index key and the file's name, so each
    /// file has its own.
    pub fn index_file_key(&self, file: &str) -> SealKey {
        SealKey::new(self.suite, &SecretKey::from_bytes(self.suite.keyed_hash(&self.index, file.as_bytes())))
    }

    /// The installation's public key in hex (Ed25519: 32 bytes; SM2: the 65-byte uncompressed point): what
    /// receivers of its transfer packages and readers of its witness trust.
    pub fn signing_public_hex(&self) -> String {
        match &*self.signer {
            Signer::Ed25519(k) => encode_hex(k.verifying_key().as_bytes()),
            Signer::Sm2(k) => encode_hex(&k.verifying_key().to_sec1_bytes()),
        }
    }

    /// The public key labelled with its algorithm: `ed25519:<hex>` or `sm2:<hex>`.
    pub fn signing_public(&self) -> String {
        labelled_key(&self.signing_public_hex())
    }

    /// Signs `message` with the installation's key (Ed25519, or SM2 with the default identifier); the signature
    /// in hex (64 bytes either way: SM2's is r ‖ s).
    pub fn sign_hex(&self, message: &[u8]) -> String {
        use ed25519_dalek::Signer as _;
        match &*self.signer {
            Signer::Ed25519(k) => encode_hex(&k.sign(message).to_bytes()),
            Signer::Sm2(k) => {
                let sig: sm2::dsa::Signature = k.sign(message);
                encode_hex(&sig.to_bytes())
            }
        }
    }

    /// A keyed hasher for blob addresses (keyed BLAKE3, or HMAC-SM3).
    pub fn address_hasher(&self) -> Hasher {
        self.suite.keyed_hasher(&self.address)
    }

    /// The stored form of a session token: a keyed hash, so a stolen store yields no usable token.
    pub fn token_digest(&self, token: &str) -> [u8; 32] {
        self.suite.keyed_hash(&self.tokens, token.as_bytes())
    }
}

/// A public key in hex labelled with its algorithm by its length: `ed25519:<hex>` (32 bytes) or `sm2:<hex>`.
pub fn labelled_key(public_hex: &str) -> String {
    let hex = unlabelled_key(public_hex);
    let label = if hex.len() == 64 { "ed25519" } else { "sm2" };
    format!("{label}:{hex}")
}

/// A public key without its algorithm label (`ed25519:` or `sm2:`), as trusted-sender lists hold it.
pub fn unlabelled_key(key: &str) -> &str {
    let key = key.trim();
    key.strip_prefix("ed25519:").or_else(|| key.strip_prefix("sm2:")).unwrap_or(key)
}

/// Whether `signature_hex` is `public_hex`'s signature of `message`. The algorithm follows from the key (an
/// optional `ed25519:`/`sm2:` label, else its length: 32 bytes Ed25519, 33 or 65 bytes an SM2 point), so an
/// installation of either suite verifies the other's packages.
pub fn verify_signature_hex(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let (Some(public), Some(signature)) = (decode_hex(unlabelled_key(public_hex)), decode_hex(signature_hex.trim()))
    else {
        return false;
    };
    let Ok(signature) = <[u8; 64]>::try_from(signature.as_slice()) else { return false };
    let labelled_sm2 = public_hex.trim().starts_with("sm2:");
    match public.len() {
        32 if !labelled_sm2 => {
            let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public.try_into().unwrap_or([0; 32])) else {
                return false;
            };
            key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature)).is_ok()
        }
        33 | 65 if !public_hex.trim().starts_with("ed25519:") => {
            use sm2::dsa::signature::Verifier;
            let (Ok(key), Ok(sig)) =
                (sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_ID, &public), sm2::dsa::Signature::from_slice(&signature))
            else {
                return false;
            };
            key.verify(message, &sig).is_ok()
        }
        _ => false,
    }
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
        for suite in Suite::ALL {
            let keys = Keys::derive(suite, &MasterKey::generate().unwrap());
            let public = keys.signing_public_hex();
            let sig = keys.sign_hex(b"manifest");
            assert!(verify_signature_hex(&public, b"manifest", &sig), "{suite}");
            assert!(verify_signature_hex(&keys.signing_public(), b"manifest", &sig), "{suite}: labelled");
            assert!(!verify_signature_hex(&public, b"manifesT", &sig));
            let other = Keys::derive(suite, &MasterKey::generate().unwrap()).signing_public_hex();
            assert!(!verify_signature_hex(&other, b"manifest", &sig));
            assert!(!verify_signature_hex("zz", b"manifest", &sig));
            // Derived from the master key: the same key after a restart or a restore.
            let a = Keys::derive(suite, &MasterKey::from_bytes([7u8; 32])).signing_public_hex();
            assert_eq!(a, Keys::derive(suite, &MasterKey::from_bytes([7u8; 32])).signing_public_hex());
            assert_eq!(a.len(), if suite == Suite::Gm { 130 } else { 64 });
        }
        let gm = Keys::derive(Suite::Gm, &MasterKey::from_bytes([7u8; 32]));
        assert!(gm.signing_public().starts_with("sm2:04"));
        // A label naming the other algorithm is refused.
        let sig = gm.sign_hex(b"m");
        assert!(!verify_signature_hex(&format!("ed25519:{}", gm.signing_public_hex()), b"m", &sig));
    }

    #[test]
    fn the_suites_derive_different_keys_and_refuse_each_others_seals() {
        let master = MasterKey::from_bytes([9u8; 32]);
        let std = Keys::derive(Suite::Default, &master);
        let gm = Keys::derive(Suite::Gm, &master);
        assert_ne!(std.token_digest("t"), gm.token_digest("t"));
        let sealed = gm.records.seal("组织部".as_bytes(), b"a").unwrap();
        assert_eq!(sealed.len(), "组织部".len() + Suite::Gm.overhead());
        assert_eq!(Suite::of_sealed(&sealed), Some(Suite::Gm));
        assert_eq!(&gm.records.open(&sealed, b"a").unwrap()[..], "组织部".as_bytes());
        assert!(matches!(std.records.open(&sealed, b"a"), Err(Error::Malformed)));
        let sealed = std.records.seal(b"x", b"a").unwrap();
        assert!(matches!(gm.records.open(&sealed, b"a"), Err(Error::Malformed)));
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        for suite in Suite::ALL {
            seal_open_round_trip_and_tamper_under(suite);
        }
    }

    fn seal_open_round_trip_and_tamper_under(suite: Suite) {
        let k = SealKey::new(suite, &SecretKey::generate().unwrap());
        let s = k.seal("干部履历表".as_bytes(), b"persons/1").unwrap();
        assert_eq!(&k.open(&s, b"persons/1").unwrap()[..], "干部履历表".as_bytes());
        assert!(matches!(k.open(&s, b"persons/2"), Err(Error::Open)), "other aad refused");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(matches!(k.open(&t, b"persons/1"), Err(Error::Open)), "tampered refused");
        let other = SealKey::new(suite, &SecretKey::generate().unwrap());
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
