//! `asb-store`: S3-compatible object storage for backups, behind `asb-core`'s
//! [`Remote`] trait, on Apache Arrow's `object_store` crate.
//!
//! - Writing: an object is a multipart upload whose parts are cut only at the codec's
//!   commit points, so what the store holds is always a point a backup continues from
//!   (see [`writer`]). Parts go up while the scan goes on, at most `max_uploads` at once.
//! - Reading: ranged GETs of `part_size` bytes, a few ahead of the parser ([`reader`]).
//! - Requests are retried with backoff by `object_store`; a body that stalls is cut by the
//!   HTTP client's read timeout and read again from its offset.
//! - Proxies in `HTTP(S)_PROXY` are ignored unless asked for, as the C tools do.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asb_core::error::{Error, Result};
use asb_core::remote::{DurableWrite, Entry, Remote, StreamHash};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as KeyPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

pub mod reader;
pub mod writer;

/// Payload checksums sent with each request beside the signed SHA-256 of the payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChecksumMode {
    /// The signed payload hash only (`x-amz-content-sha256`), as C asbackup: Ceph, MinIO.
    #[default]
    None,
    Sha256,
    Crc64,
}

impl ChecksumMode {
    pub fn parse(s: &str) -> Result<ChecksumMode> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "" => Ok(ChecksumMode::None),
            "sha256" | "sha-256" => Ok(ChecksumMode::Sha256),
            "crc" | "crc64" | "crc64nvme" => Ok(ChecksumMode::Crc64),
            other => Err(Error::value(format!(
                "unknown checksum mode {other:?}: none, sha256 or crc64"
            ))),
        }
    }
}

/// How to reach the store; the C tools' `--s3-*` flags, credentials resolved by the caller.
#[derive(Clone, Debug)]
pub struct S3Config {
    pub region: String,
    /// `--s3-endpoint-override` (`http://127.0.0.1:9000`); None: AWS.
    pub endpoint: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
    /// `--s3-allow-system-proxy`.
    pub allow_proxy: bool,
    pub connect_timeout: Duration,
    /// A response that sends nothing for this long is cut and retried.
    pub read_timeout: Duration,
    /// Smallest part of an upload, and the size of each ranged read.
    pub part_size: usize,
    pub max_uploads: usize,
    pub max_downloads: usize,
    pub checksum: ChecksumMode,
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

impl Default for S3Config {
    fn default() -> S3Config {
        S3Config {
            region: "us-east-1".into(),
            endpoint: None,
            access_key: None,
            secret_key: None,
            session_token: None,
            allow_proxy: false,
            connect_timeout: Duration::from_millis(1000),
            read_timeout: Duration::from_secs(30),
            part_size: 5 << 20,
            max_uploads: 16,
            max_downloads: 32,
            checksum: ChecksumMode::None,
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
        }
    }
}

/// The HTTP client: reqwest on rustls (ring), without system proxies unless allowed.
#[derive(Debug)]
struct Connector {
    allow_proxy: bool,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl HttpConnector for Connector {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<HttpClient> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = reqwest::ClientBuilder::new()
            .user_agent(concat!("asbkit/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .pool_idle_timeout(Duration::from_secs(20));
        if !self.allow_proxy {
            b = b.no_proxy();
        }
        let client = b.build().map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        })?;
        Ok(HttpClient::new(client))
    }
}

/// `s3://bucket/key` as (bucket, key); the key may be empty.
pub fn split_url(url: &str) -> Result<(&str, &str)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| Error::value(format!("{url} is not an s3:// URL")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(
            Error::value(format!("{url} names no bucket: write s3://BUCKET/PREFIX"))
                .with_path(url.to_string()),
        );
    }
    Ok((bucket, key.trim_start_matches('/')))
}

/// The S3 side of every `s3://` URL of a process.
pub struct S3Remote {
    config: S3Config,
    rt: Arc<Runtime>,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
    uploads: Arc<Semaphore>,
    downloads: Arc<Semaphore>,
}

impl fmt::Debug for S3Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Remote")
            .field("endpoint", &self.config.endpoint)
            .field("region", &self.config.region)
            .finish()
    }
}

/// An `object_store` error in words, naming bucket and key.
pub(crate) fn store_error(url: &str, what: &str, e: object_store::Error) -> Error {
    let text = e.to_string();
    let hint = if text.contains("SignatureDoesNotMatch") {
        " (the secret key is wrong)"
    } else if text.contains("InvalidAccessKeyId") {
        " (the access key is unknown to the store)"
    } else if text.contains("NoSuchBucket") {
        " (there is no such bucket)"
    } else if text.contains("AccessDenied") || text.contains("403") {
        " (permission denied: check the credentials and the bucket's policy)"
    } else if text.contains("BadDigest") || text.contains("Mismatch") {
        " (the store found the data damaged on the way: checksum mismatch)"
    } else if text.contains("error sending request") || text.contains("connect") {
        " (the store cannot be reached: check --s3-endpoint-override and the network)"
    } else {
        ""
    };
    Error::from(std::io::Error::other(format!("{what} {url}: {text}{hint}")))
        .with_path(url.to_string())
}

impl S3Remote {
    pub fn new(config: S3Config) -> Result<S3Remote> {
        if config.part_size < 5 << 20 {
            return Err(Error::value(
                "the S3 part size must be at least 5 MiB (S3's smallest multipart part)",
            ));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("asb-store")
            .enable_all()
            .build()
            .map_err(Error::from)?;
        Ok(S3Remote {
            uploads: Arc::new(Semaphore::new(config.max_uploads.max(1))),
            downloads: Arc::new(Semaphore::new(config.max_downloads.max(1))),
            config,
            rt: Arc::new(rt),
            stores: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>> {
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = stores.get(bucket) {
            return Ok(s.clone());
        }
        let c = &self.config;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&c.region)
            .with_http_connector(Connector {
                allow_proxy: c.allow_proxy,
                connect_timeout: c.connect_timeout,
                read_timeout: c.read_timeout,
            })
            .with_retry(RetryConfig {
                max_retries: c.max_retries,
                retry_timeout: c.retry_timeout,
                ..RetryConfig::default()
            });
        if let Some(e) = &c.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        match &c.access_key {
            Some(k) => b = b.with_access_key_id(k),
            // The caller's chain (botocore's: environment, profiles, container and
            // instance roles) found nothing: unsigned requests (a public bucket), never a
            // second look-up of our own.
            None => b = b.with_skip_signature(true),
        }
        if let Some(k) = &c.secret_key {
            b = b.with_secret_access_key(k);
        }
        if let Some(t) = &c.session_token {
            b = b.with_token(t);
        }
        b = match c.checksum {
            ChecksumMode::None => b,
            ChecksumMode::Sha256 => b.with_checksum_algorithm(Checksum::SHA256),
            ChecksumMode::Crc64 => b.with_checksum_algorithm(Checksum::CRC64NVME),
        };
        let store = Arc::new(b.build().map_err(|e| {
            store_error(&format!("s3://{bucket}"), "cannot set up the store for", e)
        })?);
        stores.insert(bucket.to_string(), store.clone());
        Ok(store)
    }

    fn locate(&self, url: &str) -> Result<(Arc<AmazonS3>, KeyPath)> {
        let (bucket, key) = split_url(url)?;
        Ok((self.store(bucket)?, KeyPath::from(key)))
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Remote for S3Remote {
    fn open(&self, url: &str) -> Result<Box<dyn Read + Send>> {
        let (store, key) = self.locate(url)?;
        let size = self.size(url)?.ok_or_else(|| missing(url))?;
        Ok(Box::new(reader::RangeReader::new(
            store,
            key,
            url.to_string(),
            size,
            self.config.part_size as u64,
            self.rt.clone(),
            self.downloads.clone(),
        )))
    }

    fn size(&self, url: &str) -> Result<Option<u64>> {
        let (store, key) = self.locate(url)?;
        match self.block_on(store.head(&key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(url, "cannot look at", e)),
        }
    }

    fn list(&self, url: &str) -> Result<Vec<Entry>> {
        let (bucket, key) = split_url(url)?;
        let store = self.store(bucket)?;
        let prefix = KeyPath::from(key);
        let listing = self
            .block_on(store.list_with_delimiter((!key.is_empty()).then_some(&prefix)))
            .map_err(|e| store_error(url, "cannot list", e))?;
        let mut all: Vec<Entry> = listing
            .objects
            .into_iter()
            .map(|m| Entry {
                url: format!("s3://{bucket}/{}", m.location),
                size: m.size,
            })
            .collect();
        all.sort_by(|a, b| a.url.cmp(&b.url));
        Ok(all)
    }

    fn get(&self, url: &str) -> Result<Option<Vec<u8>>> {
        let (store, key) = self.locate(url)?;
        let got = self.block_on(async {
            match store.get(&key).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        got.map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| store_error(url, "cannot read", e))
    }

    fn put(&self, url: &str, bytes: &[u8]) -> Result<()> {
        let (store, key) = self.locate(url)?;
        self.block_on(store.put(&key, PutPayload::from(bytes.to_vec())))
            .map(|_| ())
            .map_err(|e| store_error(url, "cannot write", e))
    }

    fn delete(&self, url: &str) -> Result<()> {
        let (store, key) = self.locate(url)?;
        match self.block_on(store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(url, "cannot remove", e)),
        }
    }

    fn create(&self, url: &str) -> Result<Box<dyn DurableWrite>> {
        let (store, key) = self.locate(url)?;
        Ok(Box::new(writer::PartWriter::new(
            store,
            key,
            url.to_string(),
            self.config.part_size,
            self.rt.clone(),
            self.uploads.clone(),
        )))
    }

    fn resume(
        &self,
        url: &str,
        token: &[u8],
    ) -> Result<(Box<dyn DurableWrite>, [u8; 16], StreamHash)> {
        let (store, key) = self.locate(url)?;
        let (w, head, hash) = writer::PartWriter::resume(
            store,
            key,
            url.to_string(),
            self.config.part_size,
            self.rt.clone(),
            self.uploads.clone(),
            token,
        )?;
        Ok((Box::new(w), head, hash))
    }

    fn abort(&self, url: &str, token: &[u8]) -> Result<()> {
        let (store, key) = self.locate(url)?;
        writer::abort(&store, &key, url, &self.rt, token)
    }

    fn complete(&self, url: &str, token: &[u8]) -> Result<()> {
        let (store, key) = self.locate(url)?;
        writer::complete(&store, &key, url, &self.rt, token)
    }
}

pub(crate) fn missing(url: &str) -> Error {
    Error::from(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{url}: no such object"),
    ))
    .with_path(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_bucket_and_key() {
        assert_eq!(split_url("s3://b/p/x.asb").unwrap(), ("b", "p/x.asb"));
        assert_eq!(split_url("s3://b").unwrap(), ("b", ""));
        assert_eq!(split_url("s3://b/").unwrap(), ("b", ""));
        assert!(split_url("s3:///k")
            .unwrap_err()
            .to_string()
            .contains("names no bucket"));
        assert!(split_url("/tmp/x").is_err());
    }

    #[test]
    fn checksum_modes_and_part_sizes() {
        assert_eq!(ChecksumMode::parse("SHA256").unwrap(), ChecksumMode::Sha256);
        assert_eq!(ChecksumMode::parse("crc").unwrap(), ChecksumMode::Crc64);
        assert!(ChecksumMode::parse("md5").is_err());
        let small = S3Config {
            part_size: 1 << 20,
            ..S3Config::default()
        };
        assert!(S3Remote::new(small).is_err());
    }
}
