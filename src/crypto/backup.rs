//! Master-key backup: losing the key loses the archive. `dangan keys backup` writes the master key sealed under
//! a recovery passphrase (Argon2id, 64 MiB, 3 passes), as a small JSON document that can be printed or stored
//! offline; `dangan keys restore` brings it back. The key is sealed under the store's cipher suite
//! (XChaCha20-Poly1305, or SM4-GCM on the 国密 suite); the sealed value's version byte says which.

use super::{Error, Result, SealKey, SecretKey, Suite, decode_hex, encode_hex, random_bytes};
use serde::{Deserialize, Serialize};

/// DO NOT CHANGE: the format tag of a backup document.
const FORMAT: &str = "dangan-master-key-backup-v1";
const AAD: &[u8] = b"dangan master key backup v1";

/// A master key sealed under a recovery passphrase.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyBackup {
    /// Always `dangan-master-key-backup-v1`.
    pub format: String,
    /// Key derivation: `argon2id m=65536 t=3 p=1`.
    pub kdf: String,
    /// The cipher (for the reader; the sealed value's version byte decides): `xchacha20poly1305` or `sm4-gcm`.
    #[serde(default)]
    pub cipher: String,
    /// Salt (hex).
    pub salt: String,
    /// The sealed key (hex).
    pub sealed: String,
    /// A fingerprint of the key (first 8 bytes of a BLAKE3 derivation), to check a restore without showing the key.
    pub fingerprint: String,
}

/// A non-secret fingerprint of a key.
pub fn fingerprint(key: &SecretKey) -> String {
    encode_hex(&blake3::derive_key("dangan 2026-11 key fingerprint v1", key.expose())[..8])
}

impl KeyBackup {
    /// Seals `key` under `passphrase`, with the AEAD of `suite`.
    pub fn create(key: &SecretKey, passphrase: &[u8], suite: Suite) -> Result<Self> {
        let salt = random_bytes::<16>()?;
        let kek = SealKey::new(suite, &SecretKey::from_passphrase(passphrase, &salt)?);
        Ok(KeyBackup {
            format: FORMAT.into(),
            kdf: "argon2id m=65536 t=3 p=1".into(),
            cipher: match suite {
                Suite::Default => "xchacha20poly1305",
                Suite::Gm => "sm4-gcm",
            }
            .into(),
            salt: encode_hex(&salt),
            sealed: encode_hex(&kek.seal(key.expose(), AAD)?),
            fingerprint: fingerprint(key),
        })
    }

    /// Opens the backup with `passphrase`.
    pub fn open(&self, passphrase: &[u8]) -> Result<SecretKey> {
        if self.format != FORMAT {
            return Err(Error::Malformed);
        }
        let salt = decode_hex(&self.salt).ok_or(Error::Malformed)?;
        let sealed = decode_hex(&self.sealed).ok_or(Error::Malformed)?;
        let suite = Suite::of_sealed(&sealed).ok_or(Error::Malformed)?;
        let kek = SealKey::new(suite, &SecretKey::from_passphrase(passphrase, &salt)?);
        let raw = kek.open(&sealed, AAD)?;
        let arr: [u8; 32] = raw.as_slice().try_into().map_err(|_| Error::Malformed)?;
        Ok(SecretKey::from_bytes(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_round_trip_and_wrong_passphrase() {
        for suite in Suite::ALL {
            backup_round_trip_under(suite);
        }
    }

    fn backup_round_trip_under(suite: Suite) {
        let key = SecretKey::generate().unwrap();
        let b = KeyBackup::create(&key, b"correct horse battery staple", suite).unwrap();
        assert_eq!(Suite::of_sealed(&decode_hex(&b.sealed).unwrap()), Some(suite));
        let json = serde_json::to_string(&b).unwrap();
        assert!(!json.contains(&key.to_hex()));
        let b: KeyBackup = serde_json::from_str(&json).unwrap();
        assert_eq!(b.open(b"correct horse battery staple").unwrap().expose(), key.expose());
        assert!(matches!(b.open(b"wrong"), Err(Error::Open)));
        assert_eq!(b.fingerprint, fingerprint(&key));
    }
}
