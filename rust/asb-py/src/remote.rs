//! Object storage for Python: sets up the `s3://` store of the process, and the small
//! operations the library does itself (listings, the state and manifest, removals).

use std::sync::Arc;
use std::time::Duration;

use asb_core::remote::{install, remote_for};
use asb_store::{ChecksumMode, S3Config, S3Remote};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Result;

/// The store of `s3://` URLs: `asbkit.io.s3.StoreSettings` (the C tools' `--s3-*` flags,
/// credentials as the caller resolved them, else the store's own chain).
#[derive(FromPyObject)]
pub(crate) struct StoreSettings {
    region: String,
    endpoint: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    session_token: Option<String>,
    allow_proxy: bool,
    /// `datetime.timedelta`s.
    connect_timeout: Duration,
    read_timeout: Duration,
    part_size: usize,
    max_uploads: usize,
    max_downloads: usize,
    checksum: String,
    max_retries: usize,
}

/// Makes every `s3://` URL of this process go to the store described.
#[pyfunction]
pub(crate) fn s3_configure(settings: StoreSettings) -> Result<()> {
    let s = settings;
    let config = S3Config {
        region: s.region,
        endpoint: s.endpoint,
        access_key: s.access_key,
        secret_key: s.secret_key,
        session_token: s.session_token,
        allow_proxy: s.allow_proxy,
        connect_timeout: s.connect_timeout,
        read_timeout: s.read_timeout,
        part_size: s.part_size,
        max_uploads: s.max_uploads,
        max_downloads: s.max_downloads,
        checksum: ChecksumMode::parse(&s.checksum)?,
        max_retries: s.max_retries,
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

/// The SHA-256 of a file or remote object (`asb_core::source::sha256_of`).
#[pyfunction]
pub(crate) fn file_sha256(py: Python<'_>, path: std::path::PathBuf) -> Result<Py<PyBytes>> {
    let digest = py.allow_threads(move || asb_core::source::sha256_of(&path))?;
    Ok(PyBytes::new(py, &digest).unbind())
}
