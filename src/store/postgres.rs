//! The PostgreSQL adapter of the store (issue 16): the records of a larger installation on a server that
//! replicates them (streaming replication with a synchronous standby), instead of the embedded sled store.
//!
//! What PostgreSQL holds is what sled holds: one table per [`Table`] (`dangan_<name>`), each a `bytea` key and a
//! `bytea` value. The keys are the store's opaque keys and the values are sealed by [`super::Store`] before they
//! get here, so nothing readable lands in PostgreSQL either (its dumps, WAL and standbys included). Only
//! standard SQL is used (plus one advisory lock), so the PostgreSQL-compatible databases that procurement asks
//! for (KingbaseES, openGauss, 瀚高) can serve the same adapter.
//!
//! - A batch ([`Kv::commit`]) is one transaction; it is durable when the commit returns (`synchronous_commit`
//!   as the server sets it; `on`, the default, or `remote_apply` with a synchronous standby), so
//!   [`Kv::flush`] has nothing left to do.
//! - Scans are key ranges on the primary key's B-tree: `bytea` compares byte by byte, the order sled keeps.
//! - One dangan process writes a database: the adapter takes a session advisory lock when it opens (released
//!   when its connection ends) and is refused, as sled refuses a second process on its folder, while another
//!   holds it. Each time a process takes the lock it counts a lease generation up (`dangan_lease`); a process
//!   that lost its lease (its connection broke) and finds, when it takes the lock again, that another process
//!   held it in between stops ([`KvError::Stopped`]): what it keeps in memory (the audit chain's head, counters)
//!   may be behind what the other wrote, and only a restart reads it afresh.
//! - A few connections serve concurrent readers; one whose connection broke (a restarted or failed-over
//!   server) is reconnected at its next use, and a read that met the broken connection is tried once more.

use super::kv::{Batch, Kv, KvError, Pair, Table};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Connections kept for reads and writes.
const CONNECTIONS: usize = 4;

/// The advisory lock that says which dangan process writes a database ("dangan" in ASCII).
const WRITER_LOCK: i64 = 0x6461_6e67_616e;

/// How `pg_locks` shows [`WRITER_LOCK`]: a bigint key's low 32 bits as `objid` (`objsubid` 1), its high bits as
/// `classid`.
const WRITER_LOCK_OBJID: u32 = (WRITER_LOCK & 0xFFFF_FFFF) as u32;

/// Whether a server process (`$1`) still holds the writer lock.
const FENCE: &str = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND objid = $2 \
    AND objsubid = 1 AND granted";

/// The PostgreSQL adapter.
pub struct PgKv {
    config: postgres::Config,
    /// Where the store is, without credentials (for messages).
    described: String,
    conns: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
    /// The connection that holds [`WRITER_LOCK`], and its server process: every commit checks, inside its
    /// transaction, that this process still holds the lock (a fence), so a dangan process whose lease ended (its
    /// connection broke, the server restarted) writes nothing once another has taken over.
    lease: Mutex<Option<(Client, i32)>>,
    /// The lease generation this adapter last took (`None` before its first).
    generation: Mutex<Option<i64>>,
    /// Set when another process wrote while this one had lost its lease: why it takes no more writes.
    stopped: std::sync::OnceLock<String>,
}

/// A connection with the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<(Table, Query), Statement>,
}

/// The statements the adapter runs, per table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Query {
    Get,
    Put,
    Delete,
    /// A scan: keys only or pairs; after a key (exclusive) or from the prefix (inclusive); bounded above by the
    /// prefix's successor or not (an empty prefix, or one of 0xFF bytes only).
    Scan {
        keys_only: bool,
        after: bool,
        bounded: bool,
    },
}

impl Query {
    fn sql(self, t: Table) -> String {
        let table = table_name(t);
        match self {
            Query::Get => format!("SELECT v FROM {table} WHERE k = $1"),
            Query::Put => {
                format!("INSERT INTO {table} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v")
            }
            Query::Delete => format!("DELETE FROM {table} WHERE k = $1"),
            Query::Scan { keys_only, after, bounded } => {
                let columns = if keys_only { "k" } else { "k, v" };
                let from = if after { "k > $1" } else { "k >= $1" };
                let to = if bounded { " AND k < $3" } else { "" };
                format!("SELECT {columns} FROM {table} WHERE {from}{to} ORDER BY k LIMIT $2")
            }
        }
    }
}

fn table_name(t: Table) -> String {
    format!("dangan_{}", t.name())
}

fn engine(e: postgres::Error) -> KvError {
    KvError::Engine(format!("postgresql: {e}"))
}

/// The smallest key greater than every key that starts with `prefix`, if there is one.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

impl PgKv {
    /// Connects to the database `url` names (`postgres://user:password@host:port/db`, or the key=value form),
    /// creates its tables where missing and takes the writer lock.
    pub fn open(url: &str) -> Result<Self, KvError> {
        let config: postgres::Config =
            url.parse().map_err(|e| KvError::Engine(format!("postgresql: not a connection string: {e}")))?;
        let kv = PgKv {
            described: describe(&config),
            config,
            conns: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            lease: Mutex::new(None),
            generation: Mutex::new(None),
            stopped: std::sync::OnceLock::new(),
        };
        // The tables are made once: a standby node probes every few seconds, and `ALTER TABLE` would lock each
        // table against the writer's reads and writes.
        let names: Vec<String> = Table::ALL.iter().map(|t| format!("'{}'", table_name(*t))).collect();
        let existing = format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('dangan_lease', {})",
            names.join(", ")
        );
        let found: i64 = kv.with_conn(|| true, |c| c.client.query_one(&existing, &[]))?.get(0);
        if found < (names.len() + 1) as i64 {
            // No notice for each table that exists already.
            let mut ddl = String::from(
                "SET client_min_messages = warning;\n\
                 CREATE TABLE IF NOT EXISTS dangan_lease (id int PRIMARY KEY, generation bigint NOT NULL, holder text);\n\
                 INSERT INTO dangan_lease (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;\n",
            );
            for t in Table::ALL {
                let name = table_name(t);
                // The values are ciphertext: compressing them is wasted work (EXTERNAL: out of line, uncompressed).
                ddl.push_str(&format!(
                    "CREATE TABLE IF NOT EXISTS {name} (k bytea PRIMARY KEY, v bytea NOT NULL);\n\
                     ALTER TABLE {name} ALTER COLUMN v SET STORAGE EXTERNAL;\n"
                ));
            }
            kv.with_conn(|| true, |c| c.client.batch_execute(&ddl))?;
        }
        kv.lease_pid()?;
        Ok(kv)
    }

    /// The server process that holds the writer lock for this adapter: taken again where the connection that
    /// held it is gone (and no other process took the lock meanwhile).
    fn lease_pid(&self) -> Result<i32, KvError> {
        let mut lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((client, pid)) = lease.as_ref()
            && !client.is_closed()
        {
            return Ok(*pid);
        }
        *lease = None;
        let mut client = self.connect()?;
        let held: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK]).map_err(engine)?.get(0);
        if !held {
            return Err(self.locked());
        }
        let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).map_err(engine)?.get(0);
        let generation: i64 = client
            .query_one("UPDATE dangan_lease SET generation = generation + 1 WHERE id = 1 RETURNING generation", &[])
            .map_err(engine)?
            .get(0);
        let mut last = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = *last
            && generation != previous + 1
        {
            // Another process held the lease since this one last did: the lock is let go with the connection.
            drop(client);
            let why = format!(
                "another dangan process wrote postgresql at {} while this one had lost its connection; restart this \
                 one to read what the other wrote",
                self.described
            );
            tracing::error!(store = %self.described, "{why}");
            let _ = self.stopped.set(why.clone());
            return Err(KvError::Stopped(why));
        }
        *last = Some(generation);
        *lease = Some((client, pid));
        Ok(pid)
    }

    fn locked(&self) -> KvError {
        KvError::Locked(format!("postgresql at {} (another dangan process writes it)", self.described))
    }

    fn connect(&self) -> Result<Client, KvError> {
        self.config.connect(NoTls).map_err(|e| KvError::Engine(format!("postgresql at {}: {e}", self.described)))
    }

    /// One transaction: the fence (this adapter's lease process still holds the writer lock), then the batch.
    /// `Ok(false)`: the fence failed and nothing was written.
    fn commit_fenced(&self, batch: &Batch, lease: i32) -> Result<bool, KvError> {
        // Retried on a fresh connection only if it broke before the commit was sent: after, the commit may or
        // may not have been made.
        let sent = std::cell::Cell::new(false);
        self.with_conn(
            || !sent.get(),
            |c| {
                let mut prepared = HashMap::new();
                for (t, _, v) in &batch.ops {
                    let q = if v.is_some() { Query::Put } else { Query::Delete };
                    if let std::collections::hash_map::Entry::Vacant(e) = prepared.entry((*t, q)) {
                        e.insert(c.statement(*t, q)?);
                    }
                }
                let mut tx = c.client.transaction()?;
                let held: i64 = tx.query_one(FENCE, &[&lease, &WRITER_LOCK_OBJID])?.get(0);
                if held == 0 {
                    tx.rollback()?;
                    return Ok(false);
                }
                for (t, k, v) in &batch.ops {
                    match v {
                        Some(v) => tx.execute(&prepared[&(*t, Query::Put)], &[k, v])?,
                        None => tx.execute(&prepared[&(*t, Query::Delete)], &[k])?,
                    };
                }
                sent.set(true);
                tx.commit()?;
                Ok(true)
            },
        )
    }

    /// Runs `f` on a free connection (connecting or reconnecting it first where needed). A connection that
    /// broke is dropped, to be made anew at its next use; where `retry` says so then, `f` runs once more on a
    /// fresh one (a connection left idle across a server's restart breaks at its first use).
    fn with_conn<T>(
        &self,
        retry: impl Fn() -> bool,
        mut f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, KvError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        let mut slot = (0..n)
            .find_map(|i| self.conns[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| self.conns[start % n].lock().unwrap_or_else(|p| p.into_inner()));
        let mut tries = 2;
        loop {
            tries -= 1;
            if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
                let client = self.connect()?;
                *slot = Some(Conn { client, statements: HashMap::new() });
            }
            let conn = slot.as_mut().expect("connected above");
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) if conn.client.is_closed() => {
                    *slot = None;
                    if tries == 0 || !retry() {
                        return Err(engine(e));
                    }
                    tracing::warn!(store = %self.described, "the connection to postgresql broke: reconnecting");
                }
                Err(e) => return Err(engine(e)),
            }
        }
    }

    fn scan_rows(
        &self,
        t: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        keys_only: bool,
    ) -> Result<Vec<postgres::Row>, KvError> {
        let upper = successor(prefix);
        // `after` may sort before the prefix (a caller's cursor): the range starts at the later of the two.
        let (from, after) = match after {
            Some(a) if a >= prefix => (a, true),
            _ => (prefix, false),
        };
        let q = Query::Scan { keys_only, after, bounded: upper.is_some() };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(
            || true,
            |c| {
                let stmt = c.statement(t, q)?;
                match &upper {
                    Some(u) => c.client.query(&stmt, &[&from, &limit, u]),
                    None => c.client.query(&stmt, &[&from, &limit]),
                }
            },
        )
    }
}

impl Conn {
    fn statement(&mut self, t: Table, q: Query) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(&(t, q)) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&q.sql(t))?;
        self.statements.insert((t, q), s.clone());
        Ok(s)
    }
}

/// `user@host:port/db`, never the password.
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("?");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

impl Kv for PgKv {
    fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        let row = self.with_conn(
            || true,
            |c| {
                let stmt = c.statement(t, Query::Get)?;
                c.client.query_opt(&stmt, &[&key])
            },
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn scan(&self, t: Table, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Pair>, KvError> {
        Ok(self.scan_rows(t, prefix, after, limit, false)?.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn scan_keys(&self, t: Table, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Vec<u8>>, KvError> {
        Ok(self.scan_rows(t, prefix, after, limit, true)?.into_iter().map(|r| r.get(0)).collect())
    }

    fn commit(&self, batch: Batch) -> Result<(), KvError> {
        if let Some(why) = self.stopped.get() {
            return Err(KvError::Stopped(why.clone()));
        }
        // The lease may have ended since the last commit (its connection broke): then it is taken again where it
        // is free, once, and the batch (not written: the fence stopped it) goes in under the new one.
        for _ in 0..2 {
            let lease = self.lease_pid()?;
            if self.commit_fenced(&batch, lease)? {
                return Ok(());
            }
            *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        Err(self.locked())
    }

    fn flush(&self) -> Result<(), KvError> {
        // Every commit was durable when it returned.
        Ok(())
    }

    fn stopped(&self) -> Option<String> {
        self.stopped.get().cloned()
    }

    fn lease_generation(&self) -> Option<i64> {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn announce_writer(&self, address: &str) -> Result<(), KvError> {
        let generation = self.lease_generation().ok_or_else(|| self.locked())?;
        self.with_conn(
            || true,
            |c| {
                c.client.execute(
                    "UPDATE dangan_lease SET holder = $1 WHERE id = 1 AND generation = $2",
                    &[&address, &generation],
                )
            },
        )?;
        Ok(())
    }
}

impl PgKv {
    /// The address the process that holds the writer lease of the database `url` names announced
    /// ([`Kv::announce_writer`]), without taking the lease: for a standby node, to forward requests to.
    pub fn writer_address(url: &str) -> Result<Option<String>, KvError> {
        let config: postgres::Config =
            url.parse().map_err(|e| KvError::Engine(format!("postgresql: not a connection string: {e}")))?;
        let mut client = config.connect(NoTls).map_err(engine)?;
        let exists: Option<String> =
            client.query_one("SELECT to_regclass('dangan_lease')::text", &[]).map_err(engine)?.get(0);
        if exists.is_none() {
            return Ok(None);
        }
        let row = client.query_opt("SELECT holder FROM dangan_lease WHERE id = 1", &[]).map_err(engine)?;
        Ok(row.and_then(|r| r.get::<_, Option<String>>(0)))
    }
}

/// A PostgreSQL server of its own in a temporary folder, on a Unix socket only, for tests: Debian's
/// `postgresql` package (`initdb` and `pg_ctl` on the PATH or under `/usr/lib/postgresql/<version>/bin`).
/// As root the server runs as the `postgres` user (it refuses to run as root). Missing tools fail the test that
/// asked, with the message to install them: nothing is skipped in silence. Compiled into the library (hidden)
/// so that the integration tests start servers too.
#[doc(hidden)]
pub mod testing {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub struct TestServer {
        dir: tempfile::TempDir,
        bin: PathBuf,
        port: u16,
    }

    fn bin_dir() -> PathBuf {
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").exists() {
                return dir;
            }
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .collect();
        found.sort();
        found.pop().expect("PostgreSQL's initdb is not installed: apt-get install -y postgresql")
    }

    fn is_root() -> bool {
        rustix::process::getuid().is_root()
    }

    impl TestServer {
        /// A server in a folder of its own (owned by `postgres` when run as root), not started.
        fn new() -> TestServer {
            let bin = bin_dir();
            let dir = tempfile::Builder::new().prefix("dangan-pg").tempdir().unwrap();
            if is_root() {
                let out = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).output().unwrap();
                assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
            }
            // Unix socket only, in the server's own folder: the port only names the socket file.
            TestServer { port: 5432, dir, bin }
        }

        pub fn start() -> TestServer {
            let s = TestServer::new();
            let data = s.data();
            s.run("initdb", &["-D", &data, "-A", "trust", "-U", "dangan", "--no-sync", "-E", "UTF8"]);
            s.pg_ctl("start");
            s
        }

        /// A streaming replica of `primary` (made with `pg_basebackup -R`), started; then `primary` waits for it
        /// at every commit (a synchronous standby: an acknowledged commit is on both).
        pub fn start_standby(primary: &TestServer) -> TestServer {
            let s = TestServer::new();
            let from = format!("host={} port={} user=dangan", primary.socket_dir().display(), primary.port);
            s.run("pg_basebackup", &["-D", &s.data(), "-R", "-d", &from, "-X", "stream", "--no-sync"]);
            s.pg_ctl("start");
            let mut c = postgres::Client::connect(&primary.url(), postgres::NoTls).unwrap();
            c.batch_execute("ALTER SYSTEM SET synchronous_standby_names = '*'").unwrap();
            c.batch_execute("SELECT pg_reload_conf()").unwrap();
            // Synchronous once the standby says so.
            let started = std::time::Instant::now();
            loop {
                let sync: i64 = c
                    .query_one("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'", &[])
                    .unwrap()
                    .get(0);
                if sync == 1 {
                    return s;
                }
                assert!(started.elapsed().as_secs() < 30, "the standby did not become synchronous");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }

        /// Makes a standby the primary.
        pub fn promote(&self) {
            self.run("pg_ctl", &["promote", "-D", &self.data(), "-w"]);
        }

        /// Stops the server at once (as a machine that fails).
        pub fn stop(&self) {
            self.pg_ctl("stop");
        }

        /// A connection string naming `servers` in turn, for the one that takes writes (libpq's
        /// `target_session_attrs=read-write`): a client finds the new primary after a failover by itself.
        pub fn url_of_any(servers: &[&TestServer]) -> String {
            let hosts: Vec<String> = servers.iter().map(|s| s.socket_dir().display().to_string()).collect();
            let ports: Vec<String> = servers.iter().map(|s| s.port.to_string()).collect();
            format!(
                "host={} port={} user=dangan dbname=postgres target_session_attrs=read-write",
                hosts.join(","),
                ports.join(",")
            )
        }

        fn data(&self) -> String {
            self.dir.path().join("data").display().to_string()
        }

        fn run(&self, tool: &str, args: &[&str]) {
            let path = self.bin.join(tool);
            let out = if is_root() {
                Command::new("runuser").args(["-u", "postgres", "--"]).arg(&path).args(args).output()
            } else {
                Command::new(&path).args(args).output()
            }
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                out.status.success(),
                "{tool} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        fn pg_ctl(&self, what: &str) {
            let options = format!(
                "-c listen_addresses='' -k {} -p {} -c fsync=off -c full_page_writes=off",
                self.dir.path().display(),
                self.port
            );
            let log = self.dir.path().join("log").display().to_string();
            match what {
                "stop" => self.run("pg_ctl", &["stop", "-D", &self.data(), "-m", "immediate", "-w"]),
                _ => self.run("pg_ctl", &[what, "-D", &self.data(), "-o", &options, "-l", &log, "-w"]),
            }
        }

        /// Stops and starts the server: every connection breaks.
        pub fn restart(&self) {
            self.pg_ctl("restart");
        }

        /// The connection string for the database `postgres`.
        pub fn url(&self) -> String {
            format!("host={} port={} user=dangan dbname=postgres", self.socket_dir().display(), self.port)
        }

        fn socket_dir(&self) -> &Path {
            self.dir.path()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            // A server stopped already (as a failed primary) has no PID file.
            if Path::new(&self.data()).join("postmaster.pid").exists() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.pg_ctl("stop")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestServer;
    use super::*;
    use crate::crypto::MasterKey;
    use crate::store::Store;
    use std::sync::Arc;

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF, 0xFF]), None);
        assert_eq!(successor(b""), None);
    }

    /// The shared suite on a real server; one writer per database, fenced; reads and writes go on after the
    /// server restarts; nothing readable in PostgreSQL.
    #[test]
    fn the_postgres_adapter_passes_the_suite_keeps_one_fenced_writer_and_reconnects() {
        let server = TestServer::start();
        let kv = PgKv::open(&server.url()).unwrap();
        crate::store::kv::tests::suite(&kv);
        let put = |kv: &PgKv, key: &[u8]| {
            let mut b = Batch::default();
            b.put(Table::Meta, key.to_vec(), b"x".to_vec());
            kv.commit(b)
        };

        // A second process (here a second adapter) is refused while the first writes, as sled refuses.
        assert!(matches!(PgKv::open(&server.url()), Err(KvError::Locked(m)) if m.contains("another dangan process")));

        // Every connection breaks: reads reconnect by themselves, and the writer takes its lease again.
        server.restart();
        assert_eq!(kv.get(Table::Meta, b"k").unwrap().unwrap(), b"v");
        put(&kv, b"after-restart").unwrap();
        assert!(matches!(PgKv::open(&server.url()), Err(KvError::Locked(_))));

        // Another process takes the lease first after a restart: the old writer's commits are fenced off (nothing
        // written), its reads go on; the new writer writes.
        server.restart();
        let other = PgKv::open(&server.url()).unwrap();
        assert!(matches!(put(&kv, b"fenced"), Err(KvError::Locked(_))));
        assert_eq!(other.get(Table::Meta, b"fenced").unwrap(), None);
        assert_eq!(kv.get(Table::Meta, b"after-restart").unwrap().unwrap(), b"x");
        put(&other, b"new-writer").unwrap();

        // The other lets the lock go: the old writer, which held no lease while the other wrote, does not take it
        // again (what it keeps in memory may be behind): it stops, and says so; a process started afresh writes.
        drop(other);
        assert!(matches!(put(&kv, b"stale"), Err(KvError::Stopped(m)) if m.contains("restart")));
        assert!(kv.stopped().is_some());
        assert!(matches!(put(&kv, b"stale"), Err(KvError::Stopped(_))));
        assert_eq!(kv.get(Table::Meta, b"new-writer").unwrap().unwrap(), b"x");
        let fresh = PgKv::open(&server.url()).unwrap();
        assert_eq!(fresh.get(Table::Meta, b"stale").unwrap(), None);
        put(&fresh, b"fresh").unwrap();
        // Each time the lock is taken counts: kv's first, its own again after the restart, the other's, kv's last
        // (it holds the lock when it finds the other held it since, and lets it go), fresh's.
        assert_eq!(fresh.lease_generation(), Some(5));
        drop(fresh);
        drop(kv);

        // The records reach PostgreSQL sealed: a name written through the store is nowhere in the table (a store
        // of its own: a database of its own, each with its writer lock).
        let mut raw = Client::connect(&server.url(), NoTls).unwrap();
        raw.batch_execute("CREATE DATABASE records").unwrap();
        let url = server.url().replace("dbname=postgres", "dbname=records");
        let master = MasterKey::generate().unwrap();
        let kv: Arc<dyn Kv> = Arc::new(PgKv::open(&url).unwrap());
        let store = Store::open(kv.clone(), &master).unwrap();
        let mut ws = store.write_set();
        ws.put(Table::Persons, b"person".to_vec(), &"张三 110101199003077777").unwrap();
        store.commit(ws).unwrap();
        assert_eq!(store.get::<String>(Table::Persons, b"person").unwrap().unwrap(), "张三 110101199003077777");
        let mut raw = Client::connect(&url, NoTls).unwrap();
        let all: Vec<u8> = raw
            .query("SELECT k || v FROM dangan_persons", &[])
            .unwrap()
            .into_iter()
            .flat_map(|r| r.get::<_, Vec<u8>>(0))
            .collect();
        let text = String::from_utf8_lossy(&all);
        assert!(!all.is_empty() && !text.contains("张三") && !text.contains("110101199003077777"));
    }
}
