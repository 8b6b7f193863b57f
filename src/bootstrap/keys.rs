//! The master key: where it comes from (a key file, a passphrase, a systemd credential), moving a key file out of
//! the data directory, rotating it, and the recovery backup of it (docs/DESIGN.md §3, key custody). The command
//! line asks here; nothing else of the crate reads a key from outside.

use super::DataDir;
use crate::crypto::provider::KeyProvider;
use crate::crypto::{MasterKey, Suite, backup::KeyBackup};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// How a command uses the master key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// `serve`: a new installation may create its key file (outside the data directory).
    Serve,
    /// Offline commands: the key must exist.
    Offline,
    /// `demo`: a throw-away key in the demo's own temporary directory.
    Demo,
}

/// Picks the key provider: `--key-file` / `DANGAN_KEY_FILE`, else `DANGAN_PASSPHRASE` (at least 12
/// characters), else the systemd credential `dangan-master-key` in `$CREDENTIALS_DIRECTORY`. A key file must
/// live outside the data directory (only the demo keeps its throw-away key in its temporary directory); with no
/// provider, a key found inside the data directory is refused with how to move it.
pub fn key_provider(data: &Path, key_file: Option<&Path>, usage: KeyUse) -> Result<Box<dyn KeyProvider>> {
    use crate::crypto::provider::{KeyFile, Passphrase, SystemdCredential};
    let passphrase = std::env::var("DANGAN_PASSPHRASE").ok().filter(|p| !p.is_empty());
    if usage == KeyUse::Demo {
        return Ok(Box::new(KeyFile::demo(
            &key_file.map(Path::to_path_buf).unwrap_or_else(|| data.join("master.key")),
        )));
    }
    if let Some(path) = key_file {
        if passphrase.is_some() {
            bail!("give either a key file (--key-file, DANGAN_KEY_FILE) or DANGAN_PASSPHRASE, not both");
        }
        return Ok(Box::new(KeyFile::new(path, data)?));
    }
    if let Some(p) = passphrase {
        return Ok(Box::new(Passphrase::new(zeroize::Zeroizing::new(p), data)?));
    }
    if let Some(c) = std::env::var_os("CREDENTIALS_DIRECTORY").and_then(|d| SystemdCredential::find(Path::new(&d))) {
        return Ok(Box::new(c));
    }
    let inside = DataDir(data.to_path_buf()).key_file();
    if inside.exists() {
        return Err(crate::crypto::Error::KeyInsideData {
            path: inside.display().to_string(),
            data: data.display().to_string(),
        }
        .into());
    }
    bail!(
        "no master key: give --key-file PATH (outside {}; a new installation creates it there), DANGAN_PASSPHRASE \
         (at least 12 characters), or the systemd credential {}",
        data.display(),
        crate::crypto::provider::CREDENTIAL_NAME
    )
}

/// Loads the master key from the provider [`key_provider`] picks; `serve` may create a new installation's.
pub fn load_key(data: &Path, key_file: Option<&Path>, usage: KeyUse) -> Result<MasterKey> {
    let provider = key_provider(data, key_file, usage)?;
    let create = usage != KeyUse::Offline;
    let (key, created) =
        provider.master_key(create).with_context(|| format!("cannot load the master key ({})", provider.describe()))?;
    if created && usage == KeyUse::Serve {
        tracing::warn!(
            provider = %provider.describe(),
            "created a new master key; back it up now (`dangan keys backup`): losing it loses the archive"
        );
    }
    Ok(key)
}

/// Moves a key file out of the data directory (`dangan keys move`): checks that it opens the store, writes it
/// to its new place (which must not exist, outside the data directory), reads it back, then removes the old one.
pub fn move_key(data: &Path, to: &Path) -> Result<()> {
    let dir = DataDir(data.to_path_buf());
    let from = dir.key_file();
    let (key, _) = crate::crypto::provider::KeyFile::demo(&from)
        .master_key(false)
        .with_context(|| format!("no key file to move at {}", from.display()))?;
    if !crate::store::check_key_file(&dir.key_check(), &key, None)? {
        bail!("{} holds no store opened by that key", data.display());
    }
    let target = crate::crypto::provider::KeyFile::new(to, data)?;
    let mut hex = zeroize::Zeroizing::new(key.to_hex());
    hex.push('\n');
    crate::crypto::write_private(to, hex.as_bytes())
        .with_context(|| format!("cannot write {} (it must not exist yet)", to.display()))?;
    let (again, _) = target.master_key(false)?;
    if again.expose() != key.expose() {
        bail!("{} does not read back as the key written", to.display());
    }
    std::fs::remove_file(&from).with_context(|| format!("cannot remove {}", from.display()))?;
    Ok(())
}

/// What a key rotation did (`dangan keys rotate`).
pub use crate::store::Rotation;

/// Re-seals the store under `data` (or the PostgreSQL database `store` names) from the `old` master key to the `new` one (offline: the store must not be in
/// use), and rewrites the key-check file beside it. A rotation cut short can be run again.
pub fn rotate_store(data: &Path, store: Option<&str>, old: &MasterKey, new: &MasterKey) -> Result<Rotation> {
    let dir = DataDir(data.to_path_buf());
    let kv = super::open_records(data, store).context("the store is in use (stop the server first)")?;
    let r = crate::store::rotate_master_key(kv, old, new, None)?;
    let _ = std::fs::remove_file(dir.key_check());
    crate::store::write_key_file(&dir.key_check(), r.suite, new)?;
    Ok(r)
}

/// The new key of a rotation, from its key file (outside `data`): created, or read when a run cut short already
/// created it (then `true` is not returned).
pub fn new_key(data: &Path, new_key_file: &Path) -> Result<(MasterKey, bool)> {
    let file = crate::crypto::provider::KeyFile::new(new_key_file, data)?;
    Ok(file.master_key(true)?)
}

/// Writes a recovery backup of `key` sealed under `passphrase` (and the store's suite) to `out`, which must not
/// exist; returns the key's fingerprint.
pub fn write_key_backup(key: &MasterKey, passphrase: &str, suite: Suite, out: &Path) -> Result<String> {
    let backup = KeyBackup::create(key, passphrase.as_bytes(), suite)?;
    crate::crypto::write_private(out, serde_json::to_string_pretty(&backup)?.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(backup.fingerprint)
}

/// Opens a recovery backup (its text) with `passphrase` and writes the key to `key_file`, which must not exist;
/// returns the key's fingerprint.
pub fn restore_key_backup(text: &str, passphrase: &str, key_file: &Path) -> Result<String> {
    let backup: KeyBackup = serde_json::from_str(text).context("not a dangan key backup")?;
    let key = backup.open(passphrase.as_bytes()).context("the passphrase does not open this backup")?;
    let mut hex = zeroize::Zeroizing::new(key.to_hex());
    hex.push('\n');
    crate::crypto::write_private(key_file, hex.as_bytes())
        .with_context(|| format!("cannot write {} (it must not exist yet)", key_file.display()))?;
    Ok(backup.fingerprint)
}
