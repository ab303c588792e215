//! Object storage for Python: sets up the `s3://` store of the process, and the small
//! operations the library does itself (listings, the state and manifest, removals).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use asb_core::remote::{install, remote_for};
use asb_store::{ChecksumMode, S3Config, S3Remote};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Result;

/// Makes every `s3://` URL of this process go to the store described here (the C tools'
/// `--s3-*` flags; credentials as the caller resolved them, else the store's own chain).
#[pyfunction]
#[pyo3(signature = (*, region="us-east-1", endpoint=None, access_key=None, secret_key=None, session_token=None, allow_proxy=false, connect_timeout_ms=1000, read_timeout_s=30.0, part_size=5242880, max_uploads=16, max_downloads=32, checksum="none", max_retries=10))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn s3_configure(
    region: &str,
    endpoint: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    session_token: Option<String>,
    allow_proxy: bool,
    connect_timeout_ms: u64,
    read_timeout_s: f64,
    part_size: usize,
    max_uploads: usize,
    max_downloads: usize,
    checksum: &str,
    max_retries: usize,
) -> Result<()> {
    let config = S3Config {
        region: region.to_string(),
        endpoint,
        access_key,
        secret_key,
        session_token,
        allow_proxy,
        connect_timeout: Duration::from_millis(connect_timeout_ms),
        read_timeout: Duration::from_secs_f64(read_timeout_s.max(0.1)),
        part_size,
        max_uploads,
        max_downloads,
        checksum: ChecksumMode::parse(checksum)?,
        max_retries,
        ..S3Config::default()
    };
    install("s3", Arc::new(S3Remote::new(config)?));
    Ok(())
}

/// The objects directly under a URL's prefix: (url, size), sorted.
#[pyfunction]
pub(crate) fn remote_list(py: Python<'_>, url: String) -> Result<Vec<(String, u64)>> {
    let r = remote_for(&url)?;
    let all = py.allow_threads(move || r.list(&url))?;
    Ok(all.into_iter().map(|e| (e.url, e.size)).collect())
}

#[pyfunction]
pub(crate) fn remote_size(py: Python<'_>, url: String) -> Result<Option<u64>> {
    let r = remote_for(&url)?;
    Ok(py.allow_threads(move || r.size(&url))?)
}

#[pyfunction]
pub(crate) fn remote_get(py: Python<'_>, url: String) -> Result<Option<Py<PyBytes>>> {
    let r = remote_for(&url)?;
    let got = py.allow_threads(move || r.get(&url))?;
    Ok(got.map(|b| PyBytes::new(py, &b).unbind()))
}

/// One PUT: the object is replaced whole or not at all.
#[pyfunction]
pub(crate) fn remote_put(py: Python<'_>, url: String, data: Vec<u8>) -> Result<()> {
    let r = remote_for(&url)?;
    Ok(py.allow_threads(move || r.put(&url, &data))?)
}

#[pyfunction]
pub(crate) fn remote_delete(py: Python<'_>, url: String) -> Result<()> {
    let r = remote_for(&url)?;
    Ok(py.allow_threads(move || r.delete(&url))?)
}

/// Aborts the unfinished upload a saved state holds for an object.
#[pyfunction]
pub(crate) fn remote_abort(py: Python<'_>, url: String, token: Vec<u8>) -> Result<()> {
    let r = remote_for(&url)?;
    Ok(py.allow_threads(move || r.abort(&url, &token))?)
}

/// The SHA-256 of a file or remote object, read in Rust (an object in ranged requests).
#[pyfunction]
pub(crate) fn file_sha256(py: Python<'_>, path: std::path::PathBuf) -> Result<Py<PyBytes>> {
    let digest = py.allow_threads(move || -> asb_core::Result<[u8; 32]> {
        use sha2::{Digest, Sha256};
        let (mut input, label) = asb_core::source::open_input(&path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| asb_core::Error::from(e).with_path(label.clone()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h.finalize().into())
    })?;
    Ok(PyBytes::new(py, &digest).unbind())
}
