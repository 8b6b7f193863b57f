//! Blob chunks in an object store (issue 16): an S3-compatible bucket (Garage, Ceph RGW, MinIO, a cloud
//! bucket) through the `object_store` crate, behind the [`BlobStore`] seam. The chunks are ciphertext already
//! (sealed under each blob's data key, with its keyed address and number as associated data), so the bucket
//! holds nothing readable; what makes a chunk reachable stays in the records ([`super::Kv`]).
//!
//! One object per chunk, named `<prefix>/<address as 64 lowercase hex digits>/<number as 8 hex digits>`: the
//! names sort as the [`ChunkKey`]s do (hex keeps byte order, the fixed width keeps big-endian order), and an
//! S3 listing comes in that order (ListObjectsV2 returns keys in UTF-8 binary order), so paging by
//! `start-after` is exact. A put returns once the object store has acknowledged every object (S3's writes are
//! durable when acknowledged: Garage writes each block to its quorum of nodes), so [`BlobStore::flush`] has
//! nothing left to do.
//!
//! The [`BlobStore`] trait is synchronous (the store is used from blocking tasks and offline commands); the
//! object store's client is asynchronous, so an [`ObjectBlobStore`] runs it on a small runtime of its own and
//! waits for each call. It must not be called on an async worker thread (nothing in dangan does: the store is
//! used from blocking tasks).
//!
//! Settings for S3 come from the environment as the AWS tools name them ([`S3Settings::from_env`]); the secret
//! key is kept out of every `Debug` and log line.

use super::blob_store::{BlobStore, ChunkKey};
use super::blobs::BlobAddress;
use super::kv::KvError;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use std::time::Duration;

/// How many objects a put or delete sends at once.
const PARALLEL_REQUESTS: usize = 8;

/// Where an S3 bucket is and how to sign for it.
#[derive(Clone)]
pub struct S3Settings {
    /// The bucket.
    pub bucket: String,
    /// The folder inside the bucket the chunks go under (empty: the bucket's root).
    pub prefix: String,
    /// The S3 endpoint (`http://127.0.0.1:3900` for a local Garage); `None`: AWS itself.
    pub endpoint: Option<String>,
    /// The region the bucket is in (Garage's default is `garage`).
    pub region: String,
    /// The access key's id.
    pub access_key_id: String,
    /// The access key's secret.
    pub secret_access_key: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Settings {
    /// The settings of `url` (`s3://bucket` or `s3://bucket/folder`), with the endpoint, region and access key
    /// from the environment: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`), `AWS_REGION` (or `AWS_DEFAULT_REGION`;
    /// default `us-east-1`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env(url: &str) -> Result<S3Settings, KvError> {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let (bucket, prefix) = parse_url(url)?;
        let access_key_id = var(&["AWS_ACCESS_KEY_ID"])
            .ok_or_else(|| KvError::Engine(format!("{url}: AWS_ACCESS_KEY_ID is not set")))?;
        let secret_access_key = zeroize::Zeroizing::new(
            var(&["AWS_SECRET_ACCESS_KEY"])
                .ok_or_else(|| KvError::Engine(format!("{url}: AWS_SECRET_ACCESS_KEY is not set")))?,
        );
        Ok(S3Settings {
            bucket,
            prefix,
            endpoint: var(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]),
            region: var(&["AWS_REGION", "AWS_DEFAULT_REGION"]).unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
        })
    }
}

/// The bucket and folder of an `s3://bucket[/folder]` address.
fn parse_url(url: &str) -> Result<(String, String), KvError> {
    let bad = || KvError::Engine(format!("not an s3://bucket[/folder] address: {url}"));
    let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let prefix = prefix.trim_matches('/');
    let valid_prefix =
        prefix.split('/').all(|s| s.is_empty() || (s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_graphic())));
    if !valid_bucket || !valid_prefix || prefix.contains("//") {
        return Err(bad());
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// A folder of an object store and the runtime its client runs on: what the blob store and backups to a bucket
/// ([`crate::bootstrap::backups`]) share.
pub struct Bucket {
    objects: Arc<dyn ObjectStore>,
    /// The folder (empty: the bucket's root).
    base: ObjectPath,
    /// Runs the object store's client; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    /// Where it is, for messages (`s3://bucket/folder`, `memory`).
    name: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish_non_exhaustive()
    }
}

fn engine(e: impl std::fmt::Display) -> KvError {
    KvError::Engine(e.to_string())
}

impl Bucket {
    /// The S3 bucket and folder `settings` name (not yet contacted).
    pub fn s3(settings: &S3Settings) -> Result<Self, KvError> {
        use object_store::aws::AmazonS3Builder;
        // HTTPS with rustls on ring (the process's provider; set once, later calls find it set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(settings.secret_access_key.as_str())
            .with_retry(object_store::RetryConfig {
                max_retries: 6,
                retry_timeout: Duration::from_secs(60),
                ..Default::default()
            })
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let objects = builder.build().map_err(engine)?;
        let name = match settings.prefix.as_str() {
            "" => format!("s3://{}", settings.bucket),
            p => format!("s3://{}/{p}", settings.bucket),
        };
        Self::new(Arc::new(objects), &settings.prefix, name)
    }

    /// The folder `prefix` (empty: the root) of `objects`; `name` says where, in messages.
    pub fn new(objects: Arc<dyn ObjectStore>, prefix: &str, name: String) -> Result<Self, KvError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dangan-objects")
            .enable_all()
            .build()
            .map_err(engine)?;
        Ok(Bucket { objects, base: ObjectPath::from(prefix), runtime: Some(runtime), name })
    }

    /// Where it is (`s3://bucket/folder`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` with the object store on the bucket's runtime and waits for it (from a thread that is not an
    /// async worker).
    fn run<T: Send + 'static, F>(&self, f: impl FnOnce(Arc<dyn ObjectStore>) -> F) -> Result<T, KvError>
    where
        F: std::future::Future<Output = Result<T, KvError>> + Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or_else(|| engine("the object store is closing"))?;
        let future = f(self.objects.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().map_err(|_| engine("the object store's client stopped"))?
    }

    /// The object `name` of the folder.
    fn path(&self, name: &str) -> ObjectPath {
        self.base.clone().join(name)
    }

    /// The names and sizes of the folder's objects (directly in it, not in folders below), in name order.
    pub fn list_files(&self) -> Result<Vec<(String, u64)>, KvError> {
        let base = self.base.clone();
        let mut files = self.run(move |objects| async move {
            let listing = objects.list_with_delimiter(Some(&base)).await.map_err(engine)?;
            Ok(listing
                .objects
                .into_iter()
                .filter_map(|m| Some((m.location.filename()?.to_string(), m.size)))
                .collect::<Vec<_>>())
        })?;
        files.sort();
        Ok(files)
    }

    /// Uploads the local file `from` as the object `name` (in parts: memory stays bounded by a few parts). The
    /// object appears whole or not at all.
    pub fn upload(&self, from: &std::path::Path, name: &str) -> Result<(), KvError> {
        let path = self.path(name);
        let mut file = std::fs::File::open(from).map_err(engine)?;
        self.run(move |objects| async move {
            use std::io::Read;
            let upload = objects.put_multipart(&path).await.map_err(engine)?;
            let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
            let mut buf = vec![0u8; UPLOAD_PART];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(engine(e));
                    }
                };
                writer.wait_for_capacity(2).await.map_err(engine)?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(engine)?;
            Ok(())
        })
    }

    /// Downloads the object `name` into the local file `to` (created; streamed, not held in memory).
    pub fn download(&self, name: &str, to: &std::path::Path) -> Result<u64, KvError> {
        let path = self.path(name);
        let mut file = std::fs::File::create(to).map_err(engine)?;
        self.run(move |objects| async move {
            use std::io::Write;
            let mut stream = objects.get(&path).await.map_err(engine)?.into_stream();
            let mut written = 0u64;
            while let Some(bytes) = stream.try_next().await.map_err(engine)? {
                file.write_all(&bytes).map_err(engine)?;
                written += bytes.len() as u64;
            }
            file.sync_all().map_err(engine)?;
            Ok(written)
        })
    }

    /// Removes the object `name` (absent: no error).
    pub fn remove(&self, name: &str) -> Result<(), KvError> {
        let path = self.path(name);
        self.run(move |objects| async move {
            match objects.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(engine(e)),
            }
        })
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which is refused inside an async context; nothing of ours
        // is in flight once the last call returned.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The part size of an upload.
const UPLOAD_PART: usize = 8 * 1024 * 1024;

/// Blob chunks as objects of a [`Bucket`] (see the module's documentation).
#[derive(Debug)]
pub struct ObjectBlobStore {
    bucket: Bucket,
}

impl ObjectBlobStore {
    /// Chunks in the S3 bucket `settings` name. Checks that the bucket answers (a listing of one key), so a
    /// wrong address or key is refused at start, not at the first upload.
    pub fn s3(settings: &S3Settings) -> Result<Self, KvError> {
        let store = ObjectBlobStore { bucket: Bucket::s3(settings)? };
        store.list(None, None, 1).map_err(|e| KvError::Engine(format!("{}: {e}", store.bucket.name)))?;
        Ok(store)
    }

    /// Chunks in `bucket`.
    pub fn new(bucket: Bucket) -> Self {
        ObjectBlobStore { bucket }
    }

    /// Where the chunks are (`s3://bucket/folder`).
    pub fn name(&self) -> &str {
        self.bucket.name()
    }

    fn folder(&self, address: &BlobAddress) -> ObjectPath {
        self.bucket.path(&crate::crypto::encode_hex(address.as_bytes()))
    }

    fn path(&self, key: &ChunkKey) -> ObjectPath {
        self.folder(&key.address).join(format!("{:08x}", key.n))
    }
}

/// The chunk an object's name under `base` is, if it is one of ours (`<address hex>/<number hex>` exactly).
fn key_of(base: &ObjectPath, path: &ObjectPath) -> Option<ChunkKey> {
    let parts: Vec<_> = path.prefix_match(base)?.collect();
    let [address, n] = parts.as_slice() else { return None };
    let n = n.as_ref();
    if n.len() != 8 || unhex(n).is_none() {
        return None;
    }
    let address = BlobAddress::from_slice(&unhex(address.as_ref())?)?;
    Some(ChunkKey { address, n: u32::from_str_radix(n, 16).ok()? })
}

/// The bytes of `s` if it is lowercase hex exactly as [`crate::crypto::encode_hex`] writes them (so a name maps to
/// one key and back).
fn unhex(s: &str) -> Option<Vec<u8>> {
    crate::crypto::decode_hex(s).filter(|b| crate::crypto::encode_hex(b) == s)
}

impl BlobStore for ObjectBlobStore {
    fn put(&self, chunks: Vec<(ChunkKey, Vec<u8>)>) -> Result<(), KvError> {
        if chunks.is_empty() {
            return Ok(());
        }
        let puts: Vec<_> = chunks.into_iter().map(|(k, v)| (self.path(&k), PutPayload::from(v))).collect();
        self.bucket.run(move |objects| async move {
            futures_util::stream::iter(puts)
                .map(|(path, payload)| {
                    let objects = objects.clone();
                    async move { objects.put(&path, payload).await.map(|_| ()) }
                })
                .buffer_unordered(PARALLEL_REQUESTS)
                .try_collect::<Vec<()>>()
                .await
                .map(|_| ())
                .map_err(engine)
        })
    }

    fn get(&self, key: &ChunkKey) -> Result<Option<Vec<u8>>, KvError> {
        let path = self.path(key);
        self.bucket.run(move |objects| async move {
            match objects.get(&path).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(engine)?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(engine(e)),
            }
        })
    }

    fn delete(&self, keys: &[ChunkKey]) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        let paths: Vec<_> = keys.iter().map(|k| Ok(self.path(k))).collect();
        self.bucket.run(move |objects| async move {
            let mut results = objects.delete_stream(futures_util::stream::iter(paths).boxed());
            while let Some(r) = results.next().await {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(engine(e)),
                }
            }
            Ok(())
        })
    }

    fn list(
        &self,
        address: Option<&BlobAddress>,
        after: Option<&ChunkKey>,
        limit: usize,
    ) -> Result<Vec<ChunkKey>, KvError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let prefix = match address {
            Some(a) => self.folder(a),
            None => self.bucket.base.clone(),
        };
        let base = self.bucket.base.clone();
        let after = after.map(|k| self.path(k));
        self.bucket.run(move |objects| async move {
            let mut listing = match &after {
                Some(after) => objects.list_with_offset(Some(&prefix), after),
                None => objects.list(Some(&prefix)),
            };
            // In key order (see the module's documentation), so the first `limit` chunks are the page; objects of
            // other shapes in the folder are skipped, not counted. The rest of the listing is not fetched.
            let mut keys = Vec::with_capacity(limit.min(1024));
            while keys.len() < limit {
                match listing.try_next().await.map_err(engine)? {
                    Some(meta) => keys.extend(key_of(&base, &meta.location)),
                    None => break,
                }
            }
            Ok(keys)
        })
    }

    fn flush(&self) -> Result<(), KvError> {
        // Every put and delete was acknowledged by the object store before it returned.
        Ok(())
    }

    fn location(&self) -> String {
        self.bucket.name.clone()
    }
}

/// A Garage cluster of its own on localhost, for tests: `garage` (built with `cargo install garage`; `.ci/run`
/// installs it) runs one process per node, each with its folders in a temporary directory, its RPC and S3
/// ports on loopback, every node in one zone of the layout with replication factor 3 (each block on every
/// node). A missing binary fails the test that asked, with the command that installs it: nothing is skipped in
/// silence. Compiled into the library (hidden) so that the integration tests start clusters too.
#[doc(hidden)]
pub mod testing {
    use super::S3Settings;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// The command that builds the binary the tests use.
    pub const INSTALL: &str =
        "cargo install garage --version 2.5.0 --locked --no-default-features --features bundled-libs,sqlite";
    const KEY_ID: &str = "GK0123456789abcdef01234567";
    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    pub const BUCKET: &str = "dangan-test";

    pub struct Garage {
        dir: tempfile::TempDir,
        bin: PathBuf,
        nodes: Vec<Node>,
    }

    struct Node {
        config: PathBuf,
        s3_port: u16,
        child: std::sync::Mutex<Option<Child>>,
    }

    fn binary() -> PathBuf {
        let candidates = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).map(|d| d.join("garage")).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/garage")));
        for c in candidates {
            if c.is_file() {
                return c;
            }
        }
        panic!("Garage is needed by this test and is missing ({INSTALL}); `.ci/run` installs it")
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    impl Garage {
        /// Starts `n` nodes, joins them, lays them out, and makes the bucket [`BUCKET`] with a key allowed on it.
        pub fn start(n: usize) -> Garage {
            let bin = binary();
            let dir = tempfile::Builder::new().prefix("dangan-garage").tempdir().unwrap();
            let mut garage = Garage { dir, bin, nodes: Vec::new() };
            for i in 0..n {
                let (rpc, s3) = (free_port(), free_port());
                let root = garage.dir.path().join(format!("node{i}"));
                std::fs::create_dir_all(&root).unwrap();
                let config = root.join("garage.toml");
                std::fs::write(
                    &config,
                    format!(
                        "metadata_dir = \"{root}/meta\"\ndata_dir = \"{root}/data\"\ndb_engine = \"sqlite\"\n\
                         replication_factor = {n}\nmetadata_fsync = false\ndata_fsync = false\n\
                         rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
                         rpc_secret = \"{SECRET}\"\n\n[s3_api]\ns3_region = \"garage\"\n\
                         api_bind_addr = \"127.0.0.1:{s3}\"\nroot_domain = \".s3.garage.localhost\"\n",
                        root = root.display(),
                    ),
                )
                .unwrap();
                garage.nodes.push(Node { config, s3_port: s3, child: Default::default() });
                garage.start_node(i);
            }
            let ids: Vec<String> = (0..n).map(|i| garage.cli(i, &["node", "id", "-q"]).trim().to_string()).collect();
            for id in &ids[1..] {
                garage.cli(0, &["node", "connect", id]);
            }
            for id in &ids {
                let short = id.split('@').next().unwrap();
                garage.cli(0, &["layout", "assign", "-z", "dc1", "-c", "1G", short]);
            }
            garage.cli(0, &["layout", "apply", "--version", "1"]);
            garage.cli(0, &["bucket", "create", BUCKET]);
            garage.cli(0, &["key", "import", "--yes", "-n", "dangan", KEY_ID, SECRET]);
            garage.cli(0, &["bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "dangan"]);
            garage
        }

        fn start_node(&mut self, i: usize) {
            let node = &mut self.nodes[i];
            let log = std::fs::File::create(node.config.with_file_name("log")).unwrap();
            let child = Command::new(&self.bin)
                .arg("-c")
                .arg(&node.config)
                .arg("server")
                .env("RUST_LOG", "garage=warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            *node.child.lock().unwrap() = Some(child);
            // Ready when the CLI reaches it.
            let started = Instant::now();
            while self.try_cli(i, &["status"]).is_err() {
                assert!(started.elapsed() < Duration::from_secs(30), "garage node {i} did not start: {}", self.log(i));
                std::thread::sleep(Duration::from_millis(200));
            }
        }

        fn log(&self, i: usize) -> String {
            std::fs::read_to_string(self.nodes[i].config.with_file_name("log")).unwrap_or_default()
        }

        fn try_cli(&self, i: usize, args: &[&str]) -> Result<String, String> {
            let out = Command::new(&self.bin)
                .arg("-c")
                .arg(&self.nodes[i].config)
                .args(args)
                .env("RUST_LOG", "error")
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() { Ok(text) } else { Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr))) }
        }

        /// Runs the CLI against node `i`, retried for a while (the cluster settles after a layout change).
        fn cli(&self, i: usize, args: &[&str]) -> String {
            let started = Instant::now();
            loop {
                match self.try_cli(i, args) {
                    Ok(out) => return out,
                    Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("garage {args:?}: {e}"),
                    Err(_) => std::thread::sleep(Duration::from_millis(300)),
                }
            }
        }

        /// The settings of the bucket through node `i`'s S3 endpoint.
        pub fn settings(&self, i: usize, prefix: &str) -> S3Settings {
            S3Settings {
                bucket: BUCKET.into(),
                prefix: prefix.into(),
                endpoint: Some(format!("http://127.0.0.1:{}", self.nodes[i].s3_port)),
                region: "garage".into(),
                access_key_id: KEY_ID.into(),
                secret_access_key: zeroize::Zeroizing::new(SECRET.into()),
            }
        }

        /// Kills node `i` (as a machine that fails).
        pub fn kill(&self, i: usize) {
            let child = self.nodes[i].child.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(mut c) = child {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    impl Drop for Garage {
        fn drop(&mut self) {
            for i in 0..self.nodes.len() {
                self.kill(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::blob_store::tests::suite;

    #[test]
    fn s3_addresses_are_parsed_and_bad_ones_refused() {
        assert_eq!(parse_url("s3://dangan-blobs").unwrap(), ("dangan-blobs".into(), "".into()));
        assert_eq!(
            parse_url("s3://dangan-blobs/site-a/chunks/").unwrap(),
            ("dangan-blobs".into(), "site-a/chunks".into())
        );
        for bad in ["dangan", "s3://", "s3://AB", "s3://a b", "s3://bucket/../x", "s3://bucket/a//b", "http://bucket"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_names_sort_as_chunk_keys_and_foreign_names_are_skipped() {
        let store = memory_store("p/q");
        let a = BlobAddress::from_slice(&[0xAB; 32]).unwrap();
        let keys =
            [ChunkKey { address: a, n: 1 }, ChunkKey { address: a, n: 0x100 }, ChunkKey { address: a, n: u32::MAX }];
        let names: Vec<String> = keys.iter().map(|k| store.path(k).to_string()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert_eq!(names[0], format!("p/q/{}/00000001", "ab".repeat(32)));
        for k in keys {
            assert_eq!(key_of(&store.bucket.base, &store.path(&k)), Some(k));
        }
        for foreign in [
            "p/q/readme",
            "p/q/zz/00000001",
            &format!("p/q/{}/1", "ab".repeat(32)),
            &format!("p/q/{}/0000000G", "ab".repeat(32)),
        ] {
            assert_eq!(key_of(&store.bucket.base, &ObjectPath::from(foreign)), None, "{foreign}");
        }
    }

    fn memory_store(prefix: &str) -> ObjectBlobStore {
        let objects = Arc::new(object_store::memory::InMemory::new());
        ObjectBlobStore::new(Bucket::new(objects, prefix, "memory".into()).unwrap())
    }

    #[test]
    fn the_object_blob_store_over_memory_passes_the_suite() {
        let store = memory_store("chunks");
        // Something else in the bucket, beside and inside the folder, is neither listed nor touched.
        let (other, stray) = (ObjectPath::from("readme.txt"), ObjectPath::from("chunks/not-a-chunk"));
        let put = |path: ObjectPath| {
            store.bucket.run(move |objects| async move {
                objects.put(&path, PutPayload::from_static(b"x")).await.map(|_| ()).map_err(engine)
            })
        };
        put(other.clone()).unwrap();
        put(stray.clone()).unwrap();
        suite(&store);
        let still = store.bucket.run(move |objects| async move {
            Ok(objects.get(&other).await.is_ok() && objects.get(&stray).await.is_ok())
        });
        assert!(still.unwrap());
    }

    /// The suite on a real three-node Garage cluster through one node's S3 endpoint; then a node other than
    /// that one is killed and every chunk still reads back whole (each block is on every node), and new chunks
    /// are still written (a quorum of two).
    #[test]
    fn the_object_blob_store_on_a_three_node_garage_passes_the_suite_and_survives_a_node_failing() {
        let garage = testing::Garage::start(3);
        let store = ObjectBlobStore::s3(&garage.settings(0, "site-a")).unwrap();
        assert_eq!(store.name(), "s3://dangan-test/site-a");
        suite(&store);
        let a = BlobAddress::from_slice(&[7; 32]).unwrap();
        let chunks: Vec<(ChunkKey, Vec<u8>)> =
            (0..5).map(|n| (ChunkKey { address: a, n }, vec![n as u8; 300_000 + n as usize])).collect();
        store.put(chunks.clone()).unwrap();

        garage.kill(2);
        for (k, v) in &chunks {
            assert_eq!(store.get(k).unwrap().as_ref(), Some(v));
        }
        let b = BlobAddress::from_slice(&[8; 32]).unwrap();
        store.put(vec![(ChunkKey { address: b, n: 0 }, b"after".to_vec())]).unwrap();
        assert_eq!(store.list(Some(&b), None, 10).unwrap(), vec![ChunkKey { address: b, n: 0 }]);

        // A wrong secret is refused when the store opens, not at the first upload.
        let mut wrong = garage.settings(0, "");
        wrong.secret_access_key = zeroize::Zeroizing::new("f".repeat(64));
        let err = ObjectBlobStore::s3(&wrong).unwrap_err().to_string();
        assert!(err.contains("s3://dangan-test"), "{err}");
        assert!(!format!("{wrong:?}").contains(&"f".repeat(64)));
    }
}
