//! The command line (docs/DESIGN.md §6): `demo`, `serve`, `users add`, `reindex`, `verify`, `keys backup|restore`, and
//! the hidden `extract-worker` the server runs to isolate text extraction. Errors are one line on stderr and a
//! non-zero exit status.

use crate::bootstrap::backups::BackupDir;
use crate::bootstrap::keys::{move_key, new_key, restore_key_backup, rotate_store, write_key_backup};
use crate::bootstrap::{DataDir, KeyUse, S3Settings, Suite, extractor, labelled_key, load_key, unlabelled_key};
use crate::model::AuditAction;
use crate::model::{PersonId, Role};
use crate::service::{Archive, Config, auth::NewUser, demo};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// dangan — an archive store for cadre personnel files.
#[derive(Parser, Debug)]
#[command(name = "dangan", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the product on a fresh demo dataset (temporary data directory unless --data is given).
    Demo(DemoArgs),
    /// Serve an installation over HTTP.
    Serve(ServeArgs),
    /// Create a new installation's store (under `--suite default|gm`) without serving it; `serve` creates one on
    /// first start too.
    Init(DataArgs),
    /// Manage accounts (offline: the server must be stopped).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Rebuild the search index from the store (offline).
    Reindex(DataArgs),
    /// Re-read, decrypt and re-hash every blob; report corrupt or missing ones (offline). Exit 1 if any.
    /// Orphans (chunks a crash left without a descriptor) are reported; `--repair` removes them.
    Verify {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// Remove orphan chunks (unreachable ciphertext), recording it in the audit trail.
        #[arg(long)]
        repair: bool,
    },
    /// Back up or restore the master key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail (offline).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a backup of the store to a file (offline; `GET /api/v1/backup` while serving).
    Backup {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// Output file (must not exist).
        #[arg(long, required_unless_present = "to", conflicts_with = "to")]
        out: Option<PathBuf>,
        /// A backup directory instead: the backup is written there as dangan-TIME.backup, TIME in UTC (complete or not
        /// at all), and only the newest --keep are kept.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Backups kept in --to.
        #[arg(long, default_value_t = 14, requires = "to", value_parser = clap::value_parser!(u64).range(1..=10000))]
        keep: u64,
    },
    /// Restore a backup into a new data directory; the master key must be the one it was made with.
    Restore {
        /// The backup file.
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        file: Option<PathBuf>,
        /// A backup directory instead: its newest backup is restored.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Data directory (must not hold a store).
        #[arg(long)]
        data: PathBuf,
        /// Master key file, outside the data directory (or DANGAN_PASSPHRASE, or the systemd credential).
        #[arg(long, env = "DANGAN_KEY_FILE")]
        key_file: Option<PathBuf>,
        /// Restore into this PostgreSQL database (empty) instead of the data directory's store.
        #[arg(long, env = "DANGAN_STORE", hide_env_values = true)]
        store: Option<String>,
        /// Put the blob chunks into this S3 bucket (`s3://bucket[/folder]`, as `serve --blobs`) instead of the
        /// records' store.
        #[arg(long, env = "DANGAN_BLOBS")]
        blobs: Option<String>,
    },
    /// Restore drill: restores the newest backup of a backup directory into a scratch directory, opens it (the
    /// index rebuilt), verifies every blob and the audit chain, and reports the RPO (the backup's age) and the RTO
    /// (restore and open); exits 1 when anything does not verify. The installation itself is not touched.
    RestoreDrill {
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// Master key file the backups were made with (or DANGAN_PASSPHRASE, or the systemd credential).
        #[arg(long, env = "DANGAN_KEY_FILE")]
        key_file: Option<PathBuf>,
        /// Where to restore (must not hold a store; default: a temporary directory, removed afterwards).
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a batch (offline): a directory or a zip of files with a catalogue.csv mapping each file to a person
    /// (id_number or person_id) and a catalogue entry (category, title, formed_on, pages, note), under readable
    /// names or the national codes (E01Z101 …). Re-running a batch stores nothing twice.
    Import {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// The batch: a directory or a .zip.
        batch: PathBuf,
        /// The account the materials are filed as (its permissions apply; audited under its name).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Write the full report (JSON) to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The classification scheme of the catalogue's 类别: 2018, or 2009 / 1991 mapped to 2018 (a `scheme`
        /// column overrides it per row).
        #[arg(long, default_value = "2018")]
        scheme: String,
    },
    /// Export a dossier as a signed transfer package (BagIt zip) (offline).
    Export {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// The person (id).
        #[arg(long)]
        person: String,
        /// The account that exports (needs the export capability; audited under its name).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Output file (must not exist; default `dangan-<person>.zip`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Receive a transfer package (offline): verify it whole, file the dossier, print the receipt (回执).
    ImportPackage {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// The package (zip).
        package: PathBuf,
        /// The receiving account (needs create-persons and upload).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Accept a package whose sender key is not in DANGAN_TRUSTED_SENDERS.
        #[arg(long)]
        accept_unknown_sender: bool,
        /// Write the receipt (JSON) to this file too.
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Internal: extract text from stdin in an isolated, sandboxed process (`--probe [PATH]`: report the
    /// sandbox as the worker sees it, for tests; it says only whether PATH could be read).
    #[command(hide = true)]
    ExtractWorker {
        /// Arguments passed by the server.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Where the data and key are.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Data directory.
    #[arg(long, env = "DANGAN_DATA")]
    pub data: PathBuf,
    /// Master key file, outside the data directory (or DANGAN_PASSPHRASE, or the systemd credential
    /// dangan-master-key).
    #[arg(long, env = "DANGAN_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Cipher suite: `default` (XChaCha20-Poly1305, BLAKE3, Ed25519) or `gm` (国密 SM4-GCM, SM3, SM2). A new
    /// store is created under it; a store of the other suite is refused. Without it a store opens under its own.
    #[arg(long, env = "DANGAN_SUITE")]
    pub suite: Option<Suite>,
    /// Where the records are: a PostgreSQL database (`postgres://user:password@host/db`, or `host=… user=…
    /// dbname=…`) instead of the data directory's embedded store. One dangan process writes it at a time. The
    /// data directory still holds the search index and the key check.
    #[arg(long, env = "DANGAN_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// Where the blob chunks are: an S3-compatible bucket (`s3://bucket` or `s3://bucket/folder`; endpoint and key
    /// from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) instead of the records' store.
    /// A store is always opened with the blob store it was made with.
    #[arg(long, env = "DANGAN_BLOBS")]
    pub blobs: Option<String>,
}

/// `demo` options.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory (must be empty or absent; default: a temporary one removed on exit).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Persons per department (8 departments).
    #[arg(long, default_value_t = 30)]
    pub persons_per_department: usize,
    /// Proxies in front of the server.
    #[command(flatten)]
    pub proxies: ProxyArgs,
    /// Cipher suite of the demo store: `default` or `gm` (国密 SM4-GCM, SM3, SM2).
    #[arg(long, env = "DANGAN_SUITE")]
    pub suite: Option<Suite>,
}

/// The reverse proxies in front of the server.
#[derive(Args, Debug, Clone, Default)]
pub struct ProxyArgs {
    /// A reverse proxy's address (repeat, or separate with commas): from it the client's address is taken from
    /// X-Forwarded-For (for the login throttle and the audit trail); from any other peer that header is ignored.
    #[arg(long = "trusted-proxy", env = "DANGAN_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_ip)]
    pub trusted_proxies: Vec<IpAddr>,
}

fn parse_ip(s: &str) -> std::result::Result<IpAddr, String> {
    s.trim().parse().map_err(|_| format!("{s:?} is not an IP address"))
}

/// `serve` options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data and key.
    #[command(flatten)]
    pub data: DataArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "DANGAN_LISTEN")]
    pub listen: SocketAddr,
    /// Largest request body in MiB (larger gives 413).
    #[arg(long, default_value_t = 256, env = "DANGAN_BODY_LIMIT_MIB")]
    pub body_limit_mib: usize,
    /// Proxies in front of the server.
    #[command(flatten)]
    pub proxies: ProxyArgs,
    /// The audit witness: an append-only file outside the data directory where every checkpoint, the head at
    /// start and at a clean stop are written, signed; at start a store behind it is held until the security
    /// administrator acknowledges (POST /api/v1/audit/acknowledge-rollback).
    #[arg(long, env = "DANGAN_AUDIT_WITNESS")]
    pub audit_witness: Option<PathBuf>,
    /// Scheduled online backups into this directory (a mount of another machine or disk), as `backup --to`.
    #[arg(long, env = "DANGAN_BACKUP_TO")]
    pub backup_to: Option<PathBuf>,
    /// Hours between scheduled backups (the first is taken at start when the newest is older).
    #[arg(long, default_value_t = 24, env = "DANGAN_BACKUP_EVERY_HOURS", value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub backup_every_hours: u64,
    /// Scheduled backups kept.
    #[arg(long, default_value_t = 14, env = "DANGAN_BACKUP_KEEP", value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub backup_keep: u64,
    /// The base URL other dangan nodes reach this one at (`http://10.0.0.1:8080`), on a PostgreSQL store: the
    /// writer announces it, and a standby forwards the requests it gets to it (list the other nodes with
    /// --trusted-proxy, so the audit trail keeps the users' addresses).
    #[arg(long, env = "DANGAN_ADVERTISE")]
    pub advertise: Option<String>,
}

/// `users` subcommands.
#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add an account. The password is read from DANGAN_NEW_PASSWORD or the first line of stdin.
    Add {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Role (repeat for several): hr, admin, finance, legal, it, secadmin, auditor, head, leader, scanner.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Display name (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Department code.
        #[arg(long)]
        department: Option<String>,
        /// The holder's own person record (a business account reads nothing until it is linked).
        #[arg(long, conflicts_with = "holder_name")]
        person_id: Option<PersonId>,
        /// Create the holder's person record with this name (in --department, default hr) and link it: for a
        /// fresh installation's first accounts; HR completes the record later through requests.
        #[arg(long)]
        holder_name: Option<String>,
        /// Approval level for leaders (1 分管领导, 2 主要领导).
        #[arg(long)]
        leader_level: Option<u8>,
    },
    /// Link an account to its holder's person record (the no-own-dossier rule needs it; a business account
    /// reads nothing until it is linked).
    Link {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// Login name.
        #[arg(long)]
        username: String,
        /// The holder's own person record.
        #[arg(long)]
        person_id: PersonId,
    },
    /// List accounts (and the hard rules any of them breaks).
    List {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `audit` subcommands.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify the hash chain, and with --witness against the witness; prints `{"ok": …}` and exits 1 naming the
    /// first bad entry, a witnessed checkpoint the trail ends before or differs from, or a witness line that
    /// does not verify.
    Verify(AuditVerifyArgs),
}

/// `audit verify` options.
#[derive(Args, Debug)]
pub struct AuditVerifyArgs {
    /// Data and key.
    #[command(flatten)]
    pub data: DataArgs,
    /// The audit witness file (the server's --audit-witness), or checkpoints downloaded from
    /// GET /api/v1/audit/checkpoints.
    #[arg(long)]
    pub witness: Option<PathBuf>,
}

/// `keys` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Write the master key sealed under a recovery passphrase (DANGAN_RECOVERY_PASSPHRASE or stdin).
    Backup {
        /// Data and key.
        #[command(flatten)]
        data: DataArgs,
        /// Output file (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the installation's public package-signing key (Ed25519, or SM2 under the 国密 suite): give it to the organisations that receive
    /// this installation's transfer packages (their DANGAN_TRUSTED_SENDERS).
    Show(DataArgs),
    /// Rotate the master key (offline): every record is re-sealed and every blob's data key re-wrapped under a
    /// new key written to --new-key-file (0600, outside the data directory). Cut short, it is finished by running it
    /// again with the same keys. Afterwards the store opens only with the new key; backups made before still need
    /// the old one.
    Rotate {
        /// Data directory and the current key.
        #[command(flatten)]
        data: DataArgs,
        /// The new key file (created; or, when resuming a rotation, the one it created).
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Move a key file out of the data directory (where older versions created it) to a new place.
    Move {
        /// Data directory.
        #[arg(long, env = "DANGAN_DATA")]
        data: PathBuf,
        /// The new key file (must not exist; outside the data directory, e.g. on another disk).
        #[arg(long)]
        to: PathBuf,
    },
    /// Recover the master key from a backup into a new key file.
    Restore {
        /// The backup file.
        #[arg(long = "in")]
        input: PathBuf,
        /// Key file to write (must not exist).
        #[arg(long)]
        key_file: PathBuf,
    },
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    // Everything this process creates (store, index, audit, imports, temporary files, key files) is readable by
    // its owner only: files 0600 in 0700 directories.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    match cli.command {
        Command::ExtractWorker { args } => Ok(crate::bootstrap::extract_worker_main(&args)),
        Command::Demo(a) => demo_cmd(a).map(|_| 0),
        Command::Serve(a) => serve_cmd(a).map(|_| 0),
        Command::Init(a) => init_cmd(a).map(|_| 0),
        Command::Users(UsersCommand::Add {
            data,
            username,
            roles,
            display_name,
            department,
            person_id,
            holder_name,
            leader_level,
        }) => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).with_context(|| format!("unknown role {r:?}")))
                .collect::<Result<Vec<_>>>()?;
            let password = secret_input("DANGAN_NEW_PASSWORD", "password")?;
            let archive = open_offline(&data)?;
            crate::service::auth::check_password(&username, &password)?;
            Role::check_separation(&roles).map_err(anyhow::Error::msg)?;
            if archive.accounts().user_by_name(&username)?.is_some() {
                bail!("user {username} exists");
            }
            let person_id = match holder_name {
                Some(name) => {
                    Some(archive.accounts().create_holder_record(&name, department.as_deref().unwrap_or("hr"))?)
                }
                None => person_id,
            };
            let user = archive.accounts().create_user(NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password,
                roles,
                department,
                person_id,
                leader_level,
            })?;
            println!("added user {} ({})", user.username, user.id);
            Ok(0)
        }
        Command::Users(UsersCommand::List { data }) => {
            let archive = open_offline(&data)?;
            for u in archive.accounts().users()? {
                let roles: Vec<String> = u.roles.iter().map(|r| format!("{r:?}").to_lowercase()).collect();
                println!("{}\t{}\t{}", u.username, roles.join(","), u.display_name);
                for v in u.violations() {
                    println!("\t! {v}");
                }
            }
            Ok(0)
        }
        Command::Users(UsersCommand::Link { data, username, person_id }) => {
            let archive = open_offline(&data)?;
            let user = archive.accounts().link_user_local(&username, person_id)?;
            println!("linked user {} to person {person_id}", user.username);
            Ok(0)
        }
        Command::Reindex(data) => {
            let archive = open_offline(&data)?;
            let started = std::time::Instant::now();
            let n = archive.indexing().reindex()?;
            println!("reindexed {n} materials in {:.1} s", started.elapsed().as_secs_f64());
            Ok(0)
        }
        Command::Verify { data, repair } => {
            let archive = open_offline(&data)?;
            let r = archive.indexing().verify()?;
            let collected = if repair && !r.orphans.is_empty() {
                let n = archive.indexing().collect_orphans()?;
                archive.audit_trail().record_local_event(
                    AuditAction::VerifyRepair,
                    "blobs",
                    Some(format!("{n} orphan blobs collected")),
                )?;
                n
            } else {
                0
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "ok": r.ok(), "blobs": r.blobs, "bytes": r.bytes, "materials": r.materials,
                    "corrupt": r.corrupt, "missing": r.missing, "orphans": r.orphans, "collected": collected,
                }))?
            );
            Ok(if r.ok() { 0 } else { 1 })
        }
        Command::Audit(AuditCommand::Verify(AuditVerifyArgs { data, witness })) => {
            let lines = match &witness {
                Some(path) => {
                    if !path.exists() {
                        bail!("no audit witness at {}", path.display());
                    }
                    Some(crate::service::witness::read_witness(path)?)
                }
                None => None,
            };
            let archive = open_offline(&data)?;
            let r = match &lines {
                Some(lines) => archive.audit_trail().verify_with_witness(lines)?,
                None => archive.audit_trail().verify()?,
            };
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(if r.ok { 0 } else { 1 })
        }
        Command::Import { data, batch, user, report, scheme } => {
            import(&data, &batch, &user, report.as_deref(), &scheme)
        }
        Command::Export { data, person, user, out } => {
            let archive = open_offline(&data)?;
            let principal = principal_named(&archive, &user)?;
            let person = person.parse().map_err(|_| anyhow::anyhow!("--person {person:?} is not a person id"))?;
            let package = archive.packages().export(&principal, person)?;
            let out = out.unwrap_or_else(|| PathBuf::from(&package.file_name));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
            std::io::Write::write_all(&mut file, &package.bytes)?;
            file.sync_all()?;
            println!("exported {} ({} bytes, sha256 {})", out.display(), package.bytes.len(), package.sha256);
            Ok(0)
        }
        Command::ImportPackage { data, package, user, accept_unknown_sender, receipt } => {
            let archive = open_offline(&data)?;
            let principal = principal_named(&archive, &user)?;
            let bytes = std::fs::read(&package).with_context(|| format!("cannot read {}", package.display()))?;
            let r = archive.packages().import(&principal, bytes, accept_unknown_sender)?;
            let json = serde_json::to_string_pretty(&r)?;
            if let Some(path) = receipt {
                std::fs::write(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{json}");
            archive.indexing().wait_queue_empty(Duration::from_secs(24 * 3600))?;
            Ok(0)
        }
        Command::Backup { data, out: None, to: Some(to), keep } => {
            let archive = open_offline(&data)?;
            let dir = BackupDir::at(&to)?;
            let (file, stats, removed) = crate::bootstrap::backups::backup_into(&archive, &dir, keep as usize)?;
            println!(
                "backed up {} records ({} bytes) to {} (blake3 {}); {} older backup(s) removed, {} kept",
                stats.records,
                stats.bytes,
                file.location,
                stats.hash,
                removed.len(),
                dir.list()?.len()
            );
            Ok(0)
        }
        Command::Backup { data, out, .. } => {
            let out = out.context("--out or --to")?;
            let archive = open_offline(&data)?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
            let stats = archive.operations().backup_to(std::io::BufWriter::new(file))?;
            println!(
                "backed up {} records ({} bytes) to {} (blake3 {})",
                stats.records,
                stats.bytes,
                out.display(),
                stats.hash
            );
            Ok(0)
        }
        Command::RestoreDrill { from, key_file, scratch, json } => {
            let dir = BackupDir::existing(&from)?;
            let tmp = tempfile::tempdir()?;
            let scratch = scratch.unwrap_or_else(|| tmp.path().join("data"));
            let key = load_key(&scratch, key_file.as_deref(), KeyUse::Offline)?;
            let r = crate::bootstrap::backups::drill(&dir, &scratch, &key, extractor(), Config::default())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let taken = r.taken.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                println!("restore drill of {} (taken {taken})", r.backup);
                println!("  RPO {} (the backup's age)", human(r.rpo_seconds as f64));
                println!(
                    "  RTO {} (restore of {} records {}, open with the index rebuilt {})",
                    human(r.rto_seconds),
                    r.records,
                    human(r.restore_seconds),
                    human(r.open_seconds)
                );
                println!(
                    "  verify {}: {} blobs re-hashed, {} materials, {} audit entries chained ({})",
                    if r.ok { "ok" } else { "FAILED" },
                    r.blobs,
                    r.materials,
                    r.audit_entries,
                    human(r.verify_seconds)
                );
                for p in &r.problems {
                    println!("  problem: {p}");
                }
            }
            Ok(if r.ok { 0 } else { 1 })
        }
        Command::Restore { file, from, data, key_file, store, blobs } => {
            // A backup downloaded from a bucket is removed when the restore is done (`_download` dropped).
            let (file, _download) = match (file, from) {
                (Some(f), _) => (f, None),
                (None, Some(dir)) => {
                    let dir = BackupDir::existing(&dir)?;
                    let local = dir.local(&dir.newest()?)?;
                    (local.path.clone(), Some(local))
                }
                (None, None) => bail!("name a backup file or --from a backup directory"),
            };
            if store.is_none() && DataDir(data.clone()).store().exists() {
                bail!("{} already holds a store; restore needs an empty directory", data.display());
            }
            let key = load_key(&data, key_file.as_deref(), KeyUse::Offline)?;
            let settings = blobs.as_deref().map(S3Settings::from_env).transpose()?;
            let stats = crate::bootstrap::restore(&data, &file, store.as_deref(), settings.as_ref())?;
            // The key must open what was restored; the index is rebuilt on opening.
            let archive = open_archive(
                &data,
                key_file.as_deref(),
                KeyUse::Offline,
                None,
                (store.as_deref(), blobs.as_deref()),
                &ProxyArgs::default(),
                None,
            )
            .map_err(|e| anyhow::anyhow!("{e}: was the backup made with another master key?"))?;
            let report = archive.indexing().verify()?;
            drop(key);
            println!(
                "restored {} records into {} (blake3 {}); verify: {}",
                stats.records,
                match store {
                    Some(_) => format!("PostgreSQL (its index in {})", data.display()),
                    None => data.display().to_string(),
                },
                stats.hash,
                if report.ok() { "ok" } else { "FAILED" }
            );
            Ok(if report.ok() { 0 } else { 1 })
        }
        Command::Keys(KeysCommand::Backup { data, out }) => {
            let key = load_key(&data.data, data.key_file.as_deref(), KeyUse::Offline)?;
            // Check the key opens the store before backing it up; the backup is sealed under its suite.
            let suite = open_offline(&data)?.suite();
            let pass = secret_input("DANGAN_RECOVERY_PASSPHRASE", "recovery passphrase")?;
            if pass.chars().count() < 12 {
                bail!("the recovery passphrase must have at least 12 characters");
            }
            let fingerprint = write_key_backup(&key, &pass, suite, &out)?;
            println!("master key backed up to {} (fingerprint {fingerprint})", out.display());
            Ok(0)
        }
        Command::Keys(KeysCommand::Rotate { data, new_key_file }) => {
            rotate_key(&data, &new_key_file)?;
            Ok(0)
        }
        Command::Keys(KeysCommand::Move { data, to }) => {
            move_key(&data, &to)?;
            println!("master key moved to {}; start with --key-file {}", to.display(), to.display());
            Ok(0)
        }
        Command::Keys(KeysCommand::Show(data)) => {
            let archive = open_offline(&data)?;
            println!("{}", labelled_key(&archive.packages().signing_key_hex()));
            Ok(0)
        }
        Command::Keys(KeysCommand::Restore { input, key_file }) => {
            let text = std::fs::read_to_string(&input).with_context(|| format!("cannot read {}", input.display()))?;
            let pass = secret_input("DANGAN_RECOVERY_PASSPHRASE", "recovery passphrase")?;
            let fingerprint = restore_key_backup(&text, &pass, &key_file)?;
            println!("master key restored to {} (fingerprint {fingerprint})", key_file.display());
            Ok(0)
        }
    }
}

fn secret_input(env: &str, what: &str) -> Result<String> {
    if let Ok(v) = std::env::var(env) {
        return Ok(v);
    }
    eprint!("{what}: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let v = line.trim_end_matches(['\r', '\n']).to_string();
    if v.is_empty() {
        bail!("no {what} given (set {env} or type it on stdin)");
    }
    Ok(v)
}

/// `dangan keys rotate`: the new key (created, or the one a cut-short run created), the rotation, the key-check
/// file, and an audit entry under the new key.
fn rotate_key(data: &DataArgs, new_key_file: &Path) -> Result<()> {
    if data.store.is_none() && !data.data.join("store").exists() {
        bail!("no dangan store in {}", data.data.display());
    }
    let (new, created) = new_key(&data.data, new_key_file)?;
    // The current key: on a resumed run whose switch already happened, the new key opens the store too.
    let old = match load_key(&data.data, data.key_file.as_deref(), KeyUse::Offline) {
        Ok(k) => k,
        Err(e) if created => return Err(e),
        Err(_) => new.clone(),
    };
    if old.expose() == new.expose() && created {
        bail!("the new key is the current key");
    }
    let r = rotate_store(&data.data, data.store.as_deref(), &old, &new)?;
    let archive = open_archive(
        &data.data,
        Some(new_key_file),
        KeyUse::Offline,
        None,
        (data.store.as_deref(), data.blobs.as_deref()),
        &ProxyArgs::default(),
        None,
    )?;
    archive.audit_trail().record_local_event(
        AuditAction::KeysRotate,
        "store",
        Some(format!("{} records re-sealed, {} data keys re-wrapped", r.resealed, r.rewrapped)),
    )?;
    println!(
        "master key rotated: {} records re-sealed, {} blob data keys re-wrapped{}. Start with --key-file {}; back the \
         new key up now (dangan keys backup); keep the old key only as long as backups made with it are kept.",
        r.resealed,
        r.rewrapped,
        if r.already > 0 { format!(" ({} were already)", r.already) } else { String::new() },
        new_key_file.display()
    );
    Ok(())
}

/// The principal of an account, for offline commands that act as it (whoever holds the data and key may).
fn principal_named(archive: &Archive, user: &str) -> Result<crate::service::Principal> {
    let account = archive.accounts().user_by_name(user)?.with_context(|| format!("no account {user:?}"))?;
    Ok(archive.accounts().principal_for(account, "cli")?)
}

fn import(data: &DataArgs, batch: &Path, user: &str, report_file: Option<&Path>, scheme: &str) -> Result<i32> {
    use crate::service::imports;
    let archive = open_offline(data)?;
    let principal = principal_named(&archive, user)?;
    let max = archive.config().max_file_size;
    let source: Box<dyn imports::ImportSource> = if batch.is_dir() {
        Box::new(imports::DirSource::open(batch, max).with_context(|| format!("cannot read {}", batch.display()))?)
    } else {
        Box::new(imports::zip_file_source(batch, max)?)
    };
    let name = batch.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prepared = archive.imports().prepare(&principal, &name, source, scheme)?;
    let bar = indicatif::ProgressBar::new(prepared.report().total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows · {per_sec} · eta {eta} · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // On a terminal a bar; otherwise (a log, a pipe) a line every 5 %.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let step = (prepared.report().total / 20).max(1);
    let started = std::time::Instant::now();
    let r = archive.imports().run(&principal, prepared, &|r| {
        let counts = format!("{} imported, {} skipped, {} rejected", r.imported, r.skipped, r.rejected);
        if tty {
            bar.set_position(r.processed as u64);
            bar.set_message(counts);
        } else if r.processed % step == 0 || r.processed == r.total {
            eprintln!("progress {}/{}: {counts}", r.processed, r.total);
        }
    })?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    for row in r.rows.iter().filter(|r| r.outcome == imports::RowOutcome::Rejected) {
        eprintln!("rejected line {} ({}): {}", row.line, row.file, row.reason.as_deref().unwrap_or(""));
    }
    for f in &r.unlisted {
        eprintln!("not in the catalogue, not imported: {f}");
    }
    println!(
        "import {}: {} imported, {} skipped (already stored), {} rejected, {} unlisted; {:.1} files/s, {:.1} MB/s",
        r.id,
        r.imported,
        r.skipped,
        r.rejected,
        r.unlisted.len(),
        r.imported as f64 / secs,
        r.imported_bytes as f64 / 1e6 / secs
    );
    if let Some(path) = report_file {
        std::fs::write(path, serde_json::to_vec_pretty(&r)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Text extraction and OCR continue in the index queue; finish them before the process ends.
    archive.indexing().wait_queue_empty(Duration::from_secs(24 * 3600))?;
    Ok(if r.rejected > 0 { 1 } else { 0 })
}

fn open_archive(
    data: &Path,
    key_file: Option<&Path>,
    usage: KeyUse,
    suite: Option<Suite>,
    (store, blobs): (Option<&str>, Option<&str>),
    proxies: &ProxyArgs,
    advertise: Option<String>,
) -> Result<Opened> {
    let key = load_key(data, key_file, usage)?;
    let config = Config {
        webhooks: std::env::var("DANGAN_WEBHOOKS")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        webhook_secret: std::env::var("DANGAN_WEBHOOK_SECRET").ok().filter(|s| !s.is_empty()),
        metrics_token: std::env::var("DANGAN_METRICS_TOKEN").ok().filter(|s| !s.is_empty()),
        trusted_senders: std::env::var("DANGAN_TRUSTED_SENDERS")
            .map(|v| v.split(',').map(|s| unlabelled_key(s).to_ascii_lowercase()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        audit_window: match std::env::var("DANGAN_AUDIT_WINDOW_MS") {
            Err(_) => Config::default().audit_window,
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(0) => None,
                Ok(ms) if ms <= 1000 => Some(Duration::from_millis(ms)),
                _ => bail!("DANGAN_AUDIT_WINDOW_MS must be 0 (strict) to 1000, not {v:?}"),
            },
        },
        trusted_proxies: proxies.trusted_proxies.clone(),
        suite,
        store: store.map(|s| crate::service::StoreUrl(s.to_string())),
        blobs: blobs.map(S3Settings::from_env).transpose()?,
        advertise,
        contract_notice_days: match std::env::var("DANGAN_CONTRACT_NOTICE_DAYS") {
            Err(_) => Config::default().contract_notice_days,
            Ok(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=366).contains(&n) => n,
                _ => bail!("DANGAN_CONTRACT_NOTICE_DAYS must be a number of days from 1 to 366, not {v:?}"),
            },
        },
        ocr_workers: match std::env::var("DANGAN_OCR_WORKERS") {
            Err(_) => Config::default().ocr_workers,
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => bail!("DANGAN_OCR_WORKERS must be a number of threads from 1 to 256, not {v:?}"),
            },
        },
        max_file_size: match std::env::var("DANGAN_MAX_FILE_MIB") {
            Err(_) => Config::default().max_file_size,
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=1024 * 1024).contains(&n) => n * 1024 * 1024,
                _ => bail!("DANGAN_MAX_FILE_MIB must be a size in MiB from 1 to 1048576, not {v:?}"),
            },
        },
        ..Config::default()
    };
    if let Some(bad) = config.webhooks.iter().find(|u| !u.starts_with("http://")) {
        bail!("webhook {bad:?} is not an http:// URL");
    }
    let archive = crate::bootstrap::open(data, &key, extractor(), config).map_err(|e| match e {
        // The store's own error, as it says it (and as `bootstrap::held_elsewhere` finds it).
        crate::service::Error::Store(s) => anyhow::Error::new(s),
        other => anyhow::anyhow!("{other}"),
    })?;
    Ok(Opened(Some(archive)))
}

/// An archive a command opened. When the command is done with it, it is closed before the process ends: the
/// background workers finish the work in hand, the trail is flushed, the index and the store are closed.
struct Opened(Option<Archive>);

impl std::ops::Deref for Opened {
    type Target = Archive;
    fn deref(&self) -> &Archive {
        self.0.as_ref().expect("an opened archive is held until it is closed")
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if let Some(archive) = self.0.take()
            && !archive.close(Duration::from_secs(120))
        {
            eprintln!("dangan: the background work did not finish within two minutes; stopping anyway");
        }
    }
}

/// Attaches the audit witness and compares the store with it; a store behind it is served held (sign-in and
/// the security administrator's acknowledgement only), which is said on stderr. The system log's socket is
/// `DANGAN_AUDIT_SYSLOG` (`off` sends nothing), default `/dev/log`.
fn attach_witness(archive: &Archive, path: &Path, data: &Path) -> Result<()> {
    let syslog = match std::env::var("DANGAN_AUDIT_SYSLOG") {
        Ok(v) if matches!(v.trim(), "off" | "0" | "false" | "") => None,
        Ok(v) => Some(PathBuf::from(v.trim())),
        Err(_) => Some(PathBuf::from("/dev/log")),
    };
    let config = crate::service::witness::WitnessConfig { path: path.to_path_buf(), syslog };
    match archive.audit_trail().attach_witness(&config, data).map_err(|e| anyhow::anyhow!("audit witness: {e}"))? {
        None => eprintln!("audit witness: {} (the trail agrees with it)", path.display()),
        Some(conflict) => eprintln!(
            "AUDIT TRAIL BEHIND ITS WITNESS {}: {conflict}. Nothing but sign-in and the acknowledgement is served \
             until the security administrator acknowledges it (POST /api/v1/audit/acknowledge-rollback, or the web \
             UI's /rollback page).",
            path.display()
        ),
    }
    Ok(())
}

fn open_offline(data: &DataArgs) -> Result<Opened> {
    if data.store.is_none() && !data.data.join("store").exists() {
        bail!("no dangan store in {}", data.data.display());
    }
    open_data(data, KeyUse::Offline, &ProxyArgs::default())
}

/// Opens the installation `data` names, for `usage`.
fn open_data(data: &DataArgs, usage: KeyUse, proxies: &ProxyArgs) -> Result<Opened> {
    let engines = (data.store.as_deref(), data.blobs.as_deref());
    open_archive(&data.data, data.key_file.as_deref(), usage, data.suite, engines, proxies, None)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Serves until a shutdown signal; then the archive is closed (see [`Opened`]) before the process ends.
fn serve(archive: Opened, listen: SocketAddr, body_limit: usize) -> Result<()> {
    runtime()?.block_on(serve_router(Archive::clone(&archive), listen, body_limit))
}

async fn serve_router(archive: Archive, listen: SocketAddr, body_limit: usize) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let app = crate::server::router(archive, body_limit);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Opens the installation to serve it, announcing `advertise` as the writer's address.
fn open_serving(data: &DataArgs, proxies: &ProxyArgs, advertise: Option<String>) -> Result<Opened> {
    let engines = (data.store.as_deref(), data.blobs.as_deref());
    open_archive(&data.data, data.key_file.as_deref(), KeyUse::Serve, data.suite, engines, proxies, advertise)
}

fn serve_cmd(a: ServeArgs) -> Result<()> {
    if let Some(address) = &a.advertise
        && !(address.starts_with("http://") || address.starts_with("https://"))
    {
        bail!("--advertise must be the base URL other nodes reach this one at (http://host:port), not {address:?}");
    }
    let archive = match open_serving(&a.data, &a.proxies, a.advertise.clone()) {
        Ok(archive) => archive,
        Err(e) if a.data.store.is_some() && crate::bootstrap::held_elsewhere(&e) => return serve_standby(&a),
        Err(e) => return Err(e),
    };
    if let Some(path) = &a.audit_witness {
        attach_witness(&archive, path, &a.data.data)?;
    }
    println!("dangan serving {} on http://{}", a.data.data.display(), a.listen);
    let schedule = backup_schedule(&a)?;
    runtime()?.block_on(async {
        start_backups(&archive, schedule);
        serve_router(Archive::clone(&archive), a.listen, a.body_limit_mib * 1024 * 1024).await
    })
}

/// The scheduled backups `serve` was asked for: where, how often, how many kept.
type BackupSchedule = Option<(Arc<BackupDir>, Duration, usize)>;

fn backup_schedule(a: &ServeArgs) -> Result<BackupSchedule> {
    Ok(match &a.backup_to {
        Some(dir) => Some((
            Arc::new(BackupDir::at(dir)?),
            Duration::from_secs(a.backup_every_hours * 3600),
            a.backup_keep as usize,
        )),
        None => None,
    })
}

fn start_backups(archive: &Archive, schedule: BackupSchedule) {
    if let Some((dir, every, keep)) = schedule {
        tokio::spawn(scheduled_backups(Archive::clone(archive), dir, every, keep));
    }
}

/// `serve` on a store another dangan process writes (a PostgreSQL database whose writer lease it holds): this
/// node waits as a standby. It listens at once, answering 503 with `Retry-After` (health says `standby`), tries
/// the lease every two seconds, and when the writer stops (or dies: its connection ends and PostgreSQL lets the
/// lease go) opens the store afresh — the audit chain's head and everything else read from it, the search index
/// rebuilt if the other wrote meanwhile — and serves.
fn serve_standby(a: &ServeArgs) -> Result<()> {
    let schedule = backup_schedule(a)?;
    // The key, to check the writer's announced address before forwarding to it.
    let key = Arc::new(load_key(&a.data.data, a.data.key_file.as_deref(), KeyUse::Serve)?);
    let switch = crate::server::Switch::default();
    let rt = runtime()?;
    let (server, archive) = rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
        let app = switch.router().into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).into_future());
        println!(
            "dangan on http://{}: standby (another dangan process writes the store); taking over when it stops",
            a.listen
        );
        loop {
            // Where the writer is, for forwarding (it changes when another node takes over).
            if let Some(store) = a.data.store.clone() {
                let key = key.clone();
                let writer =
                    tokio::task::spawn_blocking(move || crate::bootstrap::writer_address(&store, &key)).await?;
                switch.forward_to(writer);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            if server.is_finished() {
                return Ok::<_, anyhow::Error>((server, None));
            }
            let (data, proxies, advertise) = (a.data.clone(), a.proxies.clone(), a.advertise.clone());
            match tokio::task::spawn_blocking(move || open_serving(&data, &proxies, advertise)).await? {
                Ok(archive) => return Ok((server, Some(archive))),
                Err(e) if crate::bootstrap::held_elsewhere(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    })?;
    let Some(archive) = archive else {
        return Ok(rt.block_on(server)??);
    };
    if let Some(path) = &a.audit_witness {
        attach_witness(&archive, path, &a.data.data)?;
    }
    switch.set(crate::server::router(Archive::clone(&archive), a.body_limit_mib * 1024 * 1024));
    println!("dangan took over: serving {} on http://{}", a.data.data.display(), a.listen);
    rt.block_on(async {
        start_backups(&archive, schedule);
        server.await
    })??;
    Ok(())
}

/// Takes a backup whenever one is due (`every` after the newest in `dir`), for as long as the server runs.
async fn scheduled_backups(archive: Archive, dir: Arc<BackupDir>, every: Duration, keep: usize) {
    loop {
        // Listing a bucket blocks: not on the runtime's threads.
        let dir2 = dir.clone();
        let due = tokio::task::spawn_blocking(move || crate::bootstrap::backups::next_due(&dir2, every)).await;
        tokio::time::sleep(due.unwrap_or(every)).await;
        let (archive, dir2) = (archive.clone(), dir.clone());
        let done =
            tokio::task::spawn_blocking(move || crate::bootstrap::backups::backup_into(&archive, &dir2, keep)).await;
        match done {
            Ok(Ok((file, stats, removed))) => tracing::info!(
                file = %file.location, records = stats.records, bytes = stats.bytes, removed = removed.len(),
                "scheduled backup written"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "the scheduled backup failed; retried in an hour");
                tokio::time::sleep(Duration::from_secs(3600).min(every)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "the scheduled backup task failed; retried in an hour");
                tokio::time::sleep(Duration::from_secs(3600).min(every)).await;
            }
        }
    }
}

/// `90 ms`, `12.3 s`, `4 min 5 s`, `3 h 12 min`, `2 d 4 h`.
fn human(secs: f64) -> String {
    let s = secs.max(0.0);
    match s {
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64),
        s if s < 86400.0 => format!("{} h {} min", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64),
        s => format!("{} d {} h", (s / 86400.0) as u64, ((s % 86400.0) / 3600.0) as u64),
    }
}

/// `dangan init`: creates the store under the suite asked for, and says what was made.
fn init_cmd(a: DataArgs) -> Result<()> {
    if a.data.join("store").exists() {
        bail!("{} already holds a dangan store", a.data.display());
    }
    // A database that holds a store already is not made anew (nor opened as if it were new).
    crate::bootstrap::refuse_existing_records(&a.data, a.store.as_deref())?;
    let archive = open_data(&a, KeyUse::Serve, &ProxyArgs::default())?;
    println!(
        "created a dangan store in {} under the {} cipher suite ({}); its signing key is {}",
        match a.store {
            Some(_) => format!("PostgreSQL (its index in {})", a.data.display()),
            None => a.data.display().to_string(),
        },
        archive.suite(),
        archive.suite().algorithms(),
        labelled_key(&archive.packages().signing_key_hex())
    );
    println!(
        "next: back the key up (dangan keys backup), add the administrators (dangan users add --role it|secadmin|\
         auditor), then dangan serve"
    );
    Ok(())
}

fn demo_cmd(a: DemoArgs) -> Result<()> {
    let _tmp;
    let data = match a.data {
        Some(d) => {
            if d.join("store").exists() {
                bail!("{} already holds a store; the demo needs a fresh directory", d.display());
            }
            d
        }
        None => {
            let t = tempfile::Builder::new().prefix("dangan-demo-").tempdir()?;
            let p = t.path().to_path_buf();
            _tmp = t;
            p
        }
    };
    let archive = open_archive(&data, None, KeyUse::Demo, a.suite, (None, None), &a.proxies, None)?;
    // The demo's audit witness lives beside the data (never inside it), in a temporary directory of its own.
    let witness_dir = tempfile::Builder::new().prefix("dangan-demo-witness-").tempdir()?;
    attach_witness(&archive, &witness_dir.path().join("audit-witness.jsonl"), &data)?;
    let started = std::time::Instant::now();
    eprintln!("loading the demo dataset into {} …", data.display());
    let summary = demo::load(&archive, demo::DemoOptions { persons_per_department: a.persons_per_department.max(1) })?;
    // Text is indexed in the background; OCR of the scans may take a little longer than the rest.
    let done = archive.indexing().wait_queue_empty(Duration::from_secs(30))?;
    eprintln!(
        "loaded {} persons and {} materials in {:.1} s ({} searchable{})",
        summary.persons,
        summary.materials,
        started.elapsed().as_secs_f64(),
        archive.indexing().indexed_count(),
        if done { "" } else { "; the rest is being indexed in the background" }
    );
    println!("cipher suite: {} ({})", archive.suite(), archive.suite().algorithms());
    println!("dangan demo: the web UI is at http://{}/ and the API at http://{}/api/v1", a.listen, a.listen);
    println!("demo accounts (password for all: {}):", demo::DEMO_PASSWORD);
    for acc in &summary.accounts {
        println!("  {:<16} {}", acc.username, acc.description);
    }
    println!(
        "try: curl -s http://{}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"hr\",\"password\":\"{}\"}}'",
        a.listen,
        demo::DEMO_PASSWORD
    );
    std::io::stdout().flush().ok();
    serve(archive, a.listen, 256 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn trusted_proxies_are_repeated_or_comma_separated() {
        let cli = Cli::try_parse_from([
            "dangan",
            "serve",
            "--data",
            "/srv/dangan",
            "--trusted-proxy",
            "10.0.0.1",
            "--trusted-proxy",
            "10.0.0.2, ::1",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else { panic!("not serve") };
        let want: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "::1"].iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(a.proxies.trusted_proxies, want);
        let cli = Cli::try_parse_from(["dangan", "demo", "--trusted-proxy", "192.0.2.1"]).unwrap();
        let Command::Demo(a) = cli.command else { panic!("not demo") };
        assert_eq!(a.proxies.trusted_proxies, ["192.0.2.1".parse::<IpAddr>().unwrap()]);
        assert!(Cli::try_parse_from(["dangan", "demo", "--trusted-proxy", "proxy.example"]).is_err());
    }

    #[test]
    fn the_suite_is_named_on_demo_init_and_serve() {
        let cli = Cli::try_parse_from(["dangan", "demo", "--suite", "gm"]).unwrap();
        let Command::Demo(a) = cli.command else { panic!("not demo") };
        assert_eq!(a.suite, Some(Suite::Gm));
        let cli = Cli::try_parse_from(["dangan", "init", "--data", "/srv/d", "--suite", "default"]).unwrap();
        let Command::Init(a) = cli.command else { panic!("not init") };
        assert_eq!(a.suite, Some(Suite::Default));
        let cli = Cli::try_parse_from(["dangan", "serve", "--data", "/srv/d"]).unwrap();
        let Command::Serve(a) = cli.command else { panic!("not serve") };
        assert_eq!(a.data.suite, None, "an existing store opens under its own suite");
        let e = Cli::try_parse_from(["dangan", "demo", "--suite", "aes"]).unwrap_err().to_string();
        assert!(e.contains("default or gm"), "{e}");
    }
}
