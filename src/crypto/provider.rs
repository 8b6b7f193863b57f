//! Where the master key comes from: the key-provider seam. Three providers today — a key file that lives
//! outside the data directory, a passphrase stretched with Argon2id, and a systemd credential — and room for a
//! KMS or a PKCS#11 HSM as one more implementation of [`KeyProvider`]. Whatever the provider, a copy of the
//! data directory alone (a stolen disk, a VM snapshot, a file-level backup) opens nothing.

use super::{Error, MasterKey, Result};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The fewest characters a passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// The name of the systemd credential that holds the master key (`LoadCredential=dangan-master-key:/secure/…`).
pub const CREDENTIAL_NAME: &str = "dangan-master-key";

/// A source of the master key.
pub trait KeyProvider {
    /// What the provider is, for messages (never the key).
    fn describe(&self) -> String;
    /// The master key. `create`: a provider that can make a new key may do so when there is none yet (a new
    /// installation); returns whether it did.
    fn master_key(&self, create: bool) -> Result<(MasterKey, bool)>;
}

/// Whether `path` is `dir` or lies under it (both resolved as far as they exist, so `..` and symbolic links
/// do not hide a key inside the data directory).
pub fn is_inside(path: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| -> PathBuf {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().map(|c| c.join(p)).unwrap_or_else(|_| p.to_path_buf())
        };
        // Resolve the longest existing ancestor; keep the rest as written.
        let mut existing = abs.as_path();
        let mut rest = Vec::new();
        loop {
            if let Ok(real) = existing.canonicalize() {
                let mut out = real;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return out;
            }
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return abs,
            }
        }
    };
    resolve(path).starts_with(resolve(dir))
}

/// A key file: 64 hex characters, readable by its owner only, owned by the user running dangan, outside the
/// data directory.
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// A key file for the store in `data`; refused when it lies inside `data`.
    pub fn new(path: &Path, data: &Path) -> Result<Self> {
        if is_inside(path, data) {
            return Err(Error::KeyInsideData { path: path.display().to_string(), data: data.display().to_string() });
        }
        Ok(KeyFile { path: path.to_path_buf() })
    }

    /// A key file anywhere, for the demo's throw-away key in its temporary directory only.
    pub fn demo(path: &Path) -> Self {
        KeyFile { path: path.to_path_buf() }
    }

    /// Refuses a key file that others may read or that another user owns.
    fn check_custody(&self) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(&self.path)
                .map_err(|source| Error::KeyFile { path: self.path.display().to_string(), source })?;
            if meta.mode() & 0o077 != 0 {
                return Err(Error::KeyCustody(format!(
                    "{} may be read by others (mode {:o}); chmod 600 it",
                    self.path.display(),
                    meta.mode() & 0o777
                )));
            }
            let me = rustix::process::getuid().as_raw();
            if meta.uid() != me {
                return Err(Error::KeyCustody(format!(
                    "{} belongs to user {} but dangan runs as user {me}",
                    self.path.display(),
                    meta.uid()
                )));
            }
        }
        Ok(())
    }
}

impl KeyProvider for KeyFile {
    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }

    fn master_key(&self, create: bool) -> Result<(MasterKey, bool)> {
        if !create && !self.path.exists() {
            return Err(Error::KeyFile {
                path: self.path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no key file"),
            });
        }
        let (key, created) = MasterKey::load_or_create(&self.path)?;
        self.check_custody()?;
        Ok((key, created))
    }
}

/// A passphrase of at least [`MIN_PASSPHRASE_CHARS`] characters, stretched with Argon2id; the salt lives in
/// the data directory (it is not secret).
pub struct Passphrase {
    passphrase: Zeroizing<String>,
    salt_path: PathBuf,
}

impl Passphrase {
    /// A passphrase for the store in `data`; refused when it is too short.
    pub fn new(passphrase: Zeroizing<String>, data: &Path) -> Result<Self> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::KeyCustody(format!(
                "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        Ok(Passphrase { passphrase, salt_path: data.join("kdf-salt") })
    }
}

impl KeyProvider for Passphrase {
    fn describe(&self) -> String {
        "passphrase (Argon2id)".into()
    }

    fn master_key(&self, create: bool) -> Result<(MasterKey, bool)> {
        let err = |source| Error::KeyFile { path: self.salt_path.display().to_string(), source };
        let (salt, created) = match std::fs::read(&self.salt_path) {
            Ok(s) => (s, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                if let Some(dir) = self.salt_path.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                let s = super::random_bytes::<16>()?.to_vec();
                super::write_private(&self.salt_path, &s).map_err(err)?;
                (s, true)
            }
            Err(e) => return Err(err(e)),
        };
        Ok((MasterKey::from_passphrase(self.passphrase.as_bytes(), &salt)?, created))
    }
}

/// A systemd credential (`LoadCredential=` / `SetCredentialEncrypted=`): the file
/// `$CREDENTIALS_DIRECTORY/dangan-master-key`, holding the key in hex. systemd keeps it off the data disk (and
/// can keep it sealed by the TPM).
pub struct SystemdCredential {
    path: PathBuf,
}

impl SystemdCredential {
    /// The credential in this credentials directory, if it is there.
    pub fn find(credentials_directory: &Path) -> Option<Self> {
        let path = credentials_directory.join(CREDENTIAL_NAME);
        path.is_file().then_some(SystemdCredential { path })
    }
}

impl KeyProvider for SystemdCredential {
    fn describe(&self) -> String {
        format!("systemd credential {CREDENTIAL_NAME}")
    }

    fn master_key(&self, _create: bool) -> Result<(MasterKey, bool)> {
        let text = Zeroizing::new(
            std::fs::read_to_string(&self.path)
                .map_err(|source| Error::KeyFile { path: self.path.display().to_string(), source })?,
        );
        let key = MasterKey::from_hex(text.trim()).ok_or_else(|| Error::KeyFormat(self.path.display().to_string()))?;
        Ok((key, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_inside_the_data_directory_is_refused_however_it_is_written() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("store")).unwrap();
        for inside in [data.join("master.key"), data.join("store/../k"), data.join("new/sub/k")] {
            assert!(matches!(KeyFile::new(&inside, &data), Err(Error::KeyInsideData { .. })), "{inside:?}");
        }
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(KeyFile::new(&link.join("k"), &data).is_err(), "through a symbolic link");
        }
        assert!(KeyFile::new(&root.path().join("master.key"), &data).is_ok());
    }

    #[test]
    fn key_files_readable_by_others_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let path = root.path().join("k");
        let kf = KeyFile::new(&path, &data).unwrap();
        assert!(kf.master_key(false).is_err(), "no key file, and not asked to create one");
        let (key, created) = kf.master_key(true).unwrap();
        assert!(created);
        assert_eq!(kf.master_key(false).unwrap().0.expose(), key.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(kf.master_key(false), Err(Error::KeyCustody(_))));
        }
    }

    #[test]
    fn short_passphrases_are_refused_and_long_ones_derive_one_key() {
        let root = tempfile::tempdir().unwrap();
        assert!(Passphrase::new(Zeroizing::new("short-one".into()), root.path()).is_err());
        let p = Passphrase::new(Zeroizing::new("a long enough passphrase".into()), root.path()).unwrap();
        let (a, created) = p.master_key(true).unwrap();
        assert!(created);
        let (b, _) = p.master_key(false).unwrap();
        assert_eq!(a.expose(), b.expose());
    }

    #[test]
    fn a_systemd_credential_holds_the_key_in_hex() {
        let root = tempfile::tempdir().unwrap();
        assert!(SystemdCredential::find(root.path()).is_none());
        let key = MasterKey::generate().unwrap();
        std::fs::write(root.path().join(CREDENTIAL_NAME), format!("{}\n", key.to_hex())).unwrap();
        let c = SystemdCredential::find(root.path()).unwrap();
        assert_eq!(c.master_key(false).unwrap().0.expose(), key.expose());
    }
}
