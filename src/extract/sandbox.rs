//! The extraction worker's sandbox: what the parent withholds from it and what the worker takes away from
//! itself before it reads a byte of the file.
//!
//! The parent ([`Sandbox::prepare`]) starts the worker
//! - with a **cleared environment**: only `PATH` (to find `tesseract` and `pdftoppm`), `LANG=C.UTF-8`,
//!   `OMP_THREAD_LIMIT=1`, `TESSDATA_PREFIX` when the server has it, and the worker's two settings (its memory
//!   limit and time limit, numbers). No passphrase, webhook secret, key path or data path reaches it;
//! - in **its own process group**, so that at the time limit the parent kills the worker and every OCR helper
//!   under it at once (see `worker::run`).
//!
//! The worker ([`confine`], the first thing it does) then
//! - sets **resource limits**, inherited by the helpers it starts: address space (`RLIMIT_AS`, the memory
//!   limit, [`DEFAULT_MEMORY_LIMIT`] unless the [`super::Extractor`] says otherwise), CPU time (`RLIMIT_CPU`, the
//!   time limit rounded up plus [`CPU_SLACK_SECS`]), file size (`RLIMIT_FSIZE`, [`FILE_SIZE_LIMIT`]: it writes no
//!   file) and no core dumps (`RLIMIT_CORE` 0);
//! - asks to be killed if the server dies (`PR_SET_PDEATHSIG`);
//! - applies **Landlock** rules where the kernel has Landlock (best effort, never fatal): it may read and run
//!   only the system's programs, libraries and shared data (`/usr`, `/lib*`, `/bin`), the loader's and the
//!   fonts' configuration in `/etc`, the tesseract data directory and the helpers found on `PATH`; it may write
//!   only to `/dev/null`; it may open no TCP connection, signal no process outside its sandbox and reach no
//!   abstract socket outside it. The key file and the data directory are out of reach, and so is every other
//!   path. (The OCR helpers read and write pipes only, no file.)
//!
//! There is no cap on the number of processes: `RLIMIT_NPROC` counts every process and thread of the user (the
//! server's own threads included) and does not bind root, so no fixed number is both safe and binding. The CPU
//! limit, the time limit and the group kill bound what runaway children can do.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default cap on the worker's address space, inherited by its OCR helpers: 1 GiB. A file whose parsing needs
/// more (a decompression bomb, or a genuinely huge PDF) kills the worker, and the material is stored with
/// `text_status: "failed"`.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// Largest file the worker or a helper may write (`RLIMIT_FSIZE`): they write no file (the answer goes to a
/// pipe, which this does not limit).
pub const FILE_SIZE_LIMIT: u64 = 1 << 20;

/// CPU seconds the worker may use beyond its time limit (`RLIMIT_CPU`; each helper has the same allowance of
/// its own). The time limit itself is the parent's kill; this is the backstop if the parent is gone.
pub const CPU_SLACK_SECS: u64 = 2;

/// The time limit a worker started without settings (by hand) assumes.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);

/// `PATH` when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The worker's settings in its environment (numbers, nothing secret).
const ENV_MEMORY: &str = "DANGAN_WORKER_MEMORY_BYTES";
const ENV_TIME_LIMIT_MS: &str = "DANGAN_WORKER_TIME_LIMIT_MS";

/// What the OCR helpers get of the worker's environment.
const HELPER_ENV: [&str; 4] = ["PATH", "LANG", "OMP_THREAD_LIMIT", "TESSDATA_PREFIX"];

/// The helper programs the worker may run (looked up on `PATH`).
const HELPERS: [&str; 2] = ["tesseract", "pdftoppm"];

/// What the worker may read (and run) under Landlock: the system's programs, libraries and shared data (fonts,
/// poppler's and tesseract's data).
const READABLE: [&str; 15] = [
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/share",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/share",
    "/bin",
    "/lib",
    "/lib64",
    "/lib32",
    // The CPU count (glibc's and OpenMP's).
    "/sys/devices/system/cpu",
];

/// What the worker may read of `/etc`: the dynamic loader's cache and configuration, and fontconfig's (which
/// poppler reads). Not the rest (`/etc` may hold a key file or the server's configuration).
const READABLE_ETC: [&str; 5] =
    ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime"];

/// Devices the worker may read and write.
const DEVICES: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/urandom"];

/// How the parent starts a worker (the part of [`super::Extractor`] that concerns the sandbox).
#[derive(Clone, Debug)]
pub(super) struct Sandbox {
    /// The worker's address-space limit in bytes.
    pub(super) memory_limit: u64,
    /// The `PATH` the worker and its helpers search; the server's own when `None`.
    pub(super) path: Option<OsString>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox { memory_limit: DEFAULT_MEMORY_LIMIT, path: None }
    }
}

impl Sandbox {
    /// Sets up the worker's command: a cleared environment with only what extraction needs and the worker's
    /// settings, and its own process group (its id is the worker's pid).
    pub(super) fn prepare(&self, command: &mut Command, time_limit: Duration) {
        let path = self.path.clone().or_else(|| std::env::var_os("PATH")).unwrap_or_else(|| DEFAULT_PATH.into());
        command
            .env_clear()
            .env("PATH", path)
            .env("LANG", "C.UTF-8")
            .env("OMP_THREAD_LIMIT", "1")
            .env(ENV_MEMORY, self.memory_limit.to_string())
            .env(ENV_TIME_LIMIT_MS, time_limit.as_millis().to_string());
        if let Some(tessdata) = std::env::var_os("TESSDATA_PREFIX") {
            command.env("TESSDATA_PREFIX", tessdata);
        }
        std::os::unix::process::CommandExt::process_group(command, 0);
    }
}

/// Gives an OCR helper only the worker's harmless variables (in a worker, that is its whole environment; in
/// the server, running OCR in a thread or asking tesseract for its languages, it keeps secrets out).
pub(super) fn helper_env(command: &mut Command) {
    command.env_clear();
    for name in HELPER_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    if std::env::var_os("LANG").is_none() {
        command.env("LANG", "C.UTF-8");
    }
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        command.env("OMP_THREAD_LIMIT", "1");
    }
}

/// The limits in force in the worker, as it set (or found) them. `None` means unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// `RLIMIT_AS` in bytes.
    pub address_space: Option<u64>,
    /// `RLIMIT_CPU` in seconds (soft limit).
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_FSIZE` in bytes.
    pub file_size: Option<u64>,
    /// `RLIMIT_CORE` in bytes.
    pub core: Option<u64>,
}

/// What Landlock did in the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Landlock {
    /// Every rule is enforced.
    Enforced,
    /// Enforced as far as this kernel's Landlock ABI goes (e.g. files, but not network or signal scopes).
    Partial,
    /// This kernel has no Landlock (not built in, or not enabled at boot): the other measures only.
    Unsupported,
    /// Setting it up failed (`message` says how); the worker went on with the other measures.
    Failed {
        /// Why.
        message: String,
    },
}

impl Landlock {
    /// Whether the filesystem rules are in force.
    pub fn enforced(&self) -> bool {
        matches!(self, Landlock::Enforced | Landlock::Partial)
    }
}

/// What the worker's sandbox came to: reported by the probe (see [`super::Extractor::probe_sandbox`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    /// The resource limits in force.
    pub limits: Limits,
    /// What Landlock did.
    pub landlock: Landlock,
    /// How long each OCR helper may run at most (until shortly before the worker's own time limit).
    pub helper_time_limit_ms: u64,
}

/// Confines the worker (see the module documentation). Called first thing by the worker, before it reads its
/// input; never fails: what cannot be set is reported, and the worker goes on.
pub(super) fn confine() -> Confinement {
    let memory = env_number(ENV_MEMORY).unwrap_or(DEFAULT_MEMORY_LIMIT);
    let time_limit = env_number(ENV_TIME_LIMIT_MS).map(Duration::from_millis).unwrap_or(DEFAULT_TIME_LIMIT);
    let helper_time = helper_time_limit(time_limit);
    super::ocr::set_helper_time_limit(helper_time);
    // The parent (the server's thread that started us) waits for us; if it dies, so do we.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let limits = set_limits(memory, time_limit);
    let landlock = restrict_files();
    Confinement { limits, landlock, helper_time_limit_ms: u64::try_from(helper_time.as_millis()).unwrap_or(u64::MAX) }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// How long one helper may run: the worker's time limit less a tenth (at least 100 ms), so that the worker kills
/// a hung helper and still answers before the parent kills it.
fn helper_time_limit(time_limit: Duration) -> Duration {
    time_limit.saturating_sub((time_limit / 10).max(Duration::from_millis(100)))
}

/// Sets the worker's resource limits and reads back what is in force.
fn set_limits(memory: u64, time_limit: Duration) -> Limits {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let cpu = time_limit.as_secs() + u64::from(time_limit.subsec_nanos() > 0) + CPU_SLACK_SECS;
    // Soft and hard limits alike (the hard CPU limit a second later: SIGXCPU, then SIGKILL), so nothing under
    // the worker can raise them again. Errors (a hard limit already lower) leave the lower limit in force.
    let wanted = [
        (Resource::As, memory, memory),
        (Resource::Cpu, cpu, cpu + 1),
        (Resource::Fsize, FILE_SIZE_LIMIT, FILE_SIZE_LIMIT),
        (Resource::Core, 0, 0),
    ];
    for (resource, soft, hard) in wanted {
        let current = getrlimit(resource);
        let below = |limit: u64, now: Option<u64>| now.map_or(limit, |now| now.min(limit));
        let _ = setrlimit(
            resource,
            Rlimit { current: Some(below(soft, current.maximum)), maximum: Some(below(hard, current.maximum)) },
        );
    }
    Limits {
        address_space: getrlimit(Resource::As).current,
        cpu_seconds: getrlimit(Resource::Cpu).current,
        file_size: getrlimit(Resource::Fsize).current,
        core: getrlimit(Resource::Core).current,
    }
}

/// The helpers' programs as found on `PATH` (and where their symbolic links lead), which Landlock must let the
/// worker run even when they live outside the system directories.
fn helper_programs() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut found = Vec::new();
    for helper in HELPERS {
        if let Some(program) = std::env::split_paths(&path).map(|dir| dir.join(helper)).find(|p| p.is_file()) {
            if let Ok(real) = program.canonicalize() {
                found.push(real);
            }
            found.push(program);
        }
    }
    found
}

/// Applies the Landlock rules (see the module documentation) to the worker and everything it starts.
fn restrict_files() -> Landlock {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
    };
    // The newest ABI these rules were written and tested for; older kernels get what they support.
    let abi = ABI::V6;
    let mut readable: Vec<PathBuf> = READABLE.iter().chain(READABLE_ETC.iter()).map(PathBuf::from).collect();
    if let Some(tessdata) = std::env::var_os("TESSDATA_PREFIX") {
        readable.push(PathBuf::from(tessdata));
    }
    readable.extend(helper_programs());
    let restrict = || {
        landlock::Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .handle_access(AccessNet::from_all(abi))?
            .scope(Scope::from_all(abi))?
            .create()?
            .add_rules(path_beneath_rules(&readable, AccessFs::from_read(abi)))?
            .add_rules(path_beneath_rules(DEVICES, AccessFs::ReadFile | AccessFs::WriteFile))?
            .restrict_self()
    };
    match restrict() {
        Ok(status) => match status.ruleset {
            RulesetStatus::FullyEnforced => Landlock::Enforced,
            RulesetStatus::PartiallyEnforced => Landlock::Partial,
            RulesetStatus::NotEnforced => Landlock::Unsupported,
        },
        Err(e) => Landlock::Failed { message: e.to_string() },
    }
}

/// Whether `path` lies under one of the directories the worker may read (for the documentation's sake: the
/// tests check that the key file and the data directory do not).
#[cfg(test)]
pub(super) fn readable_under_rules(path: &std::path::Path) -> bool {
    READABLE.iter().chain(READABLE_ETC.iter()).chain(DEVICES.iter()).any(|dir| path.starts_with(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn helpers_stop_before_the_worker() {
        assert_eq!(helper_time_limit(Duration::from_secs(120)), Duration::from_secs(108));
        assert_eq!(helper_time_limit(Duration::from_millis(500)), Duration::from_millis(400));
        assert_eq!(helper_time_limit(Duration::from_millis(50)), Duration::ZERO);
    }

    #[test]
    fn the_rules_leave_out_keys_and_data() {
        for path in ["/etc/dangan/master.key", "/srv/dangan/store", "/tmp/x", "/root/.ssh/id_ed25519", "/etc/shadow"] {
            assert!(!readable_under_rules(Path::new(path)), "{path}");
        }
        assert!(readable_under_rules(Path::new("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata")));
    }

    #[test]
    fn the_worker_environment_is_cleared() {
        let mut command = Command::new("true");
        Sandbox { memory_limit: 5 << 20, path: Some("/opt/x:/usr/bin".into()) }
            .prepare(&mut command, Duration::from_millis(1500));
        let env: Vec<(String, Option<String>)> = command
            .get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned())))
            .collect();
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        for name in names.iter() {
            assert!(
                ["PATH", "LANG", "OMP_THREAD_LIMIT", "TESSDATA_PREFIX", ENV_MEMORY, ENV_TIME_LIMIT_MS].contains(name),
                "{name} reaches the worker"
            );
        }
        assert!(env.contains(&("PATH".to_owned(), Some("/opt/x:/usr/bin".to_owned()))));
        assert!(env.contains(&(ENV_MEMORY.to_owned(), Some((5u64 << 20).to_string()))));
        assert!(env.contains(&(ENV_TIME_LIMIT_MS.to_owned(), Some("1500".to_owned()))));
    }
}
