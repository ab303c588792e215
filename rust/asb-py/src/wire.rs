//! Binding of `asb-wire` and of the backup output: a partition scan runs with the GIL
//! released and writes straight into the output; Python gets counts and outcomes back.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asb_core::output::{FileStats, Job, Output, Target};
use asb_core::write::{encode_sindex, encode_udf};
use asb_core::Entity;
use asb_wire::backup::{scan_into, Checkpoint, CommitPolicy, PartitionState, ScanJob};
use asb_wire::scan::{DecodeOptions, PartitionCursor, ScanRequest, N_PARTITIONS};
use asb_wire::{ConnectOptions, Connection, Credentials};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{value, wire_exception, Result};
use crate::files::layers;
use crate::types::{entity_to_core, text_bytes};

/// TLS settings for the record streams (`--tls-*`), checked and read once.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct TlsConfig {
    config: Arc<rustls::ClientConfig>,
}

#[pymethods]
impl TlsConfig {
    #[new]
    #[pyo3(signature = (*, cafile=None, capath=None, certfile=None, keyfile=None, protocols=None, cipher_suites=None, crl_check=false, crl_check_all=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        cafile: Option<PathBuf>,
        capath: Option<PathBuf>,
        certfile: Option<PathBuf>,
        keyfile: Option<PathBuf>,
        protocols: Option<String>,
        cipher_suites: Option<String>,
        crl_check: bool,
        crl_check_all: bool,
    ) -> Result<TlsConfig> {
        let opts = asb_wire::tls::TlsOptions {
            cafile,
            capath,
            certfile,
            keyfile,
            protocols,
            cipher_suites,
            crl_check,
            crl_check_all,
        };
        Ok(TlsConfig {
            config: asb_wire::tls::client_config(&opts)?,
        })
    }
}

/// How to reach one node: timeouts, credentials and TLS, as every entry point takes them.
pub(crate) struct Peer<'a> {
    pub connect_timeout_ms: u64,
    pub socket_timeout_ms: u64,
    pub user: Option<String>,
    pub credential: Option<String>,
    pub clear_password: Option<String>,
    pub tls: Option<&'a TlsConfig>,
    pub tls_name: Option<String>,
}

pub(crate) fn connect_options(addr: &str, p: Peer<'_>) -> ConnectOptions {
    let Peer {
        connect_timeout_ms,
        socket_timeout_ms,
        user,
        credential,
        clear_password,
        tls,
        tls_name,
    } = p;
    ConnectOptions {
        tls: tls.map(|t| asb_wire::Tls::for_node(t.config.clone(), tls_name, addr)),
        connect_timeout: Duration::from_millis(connect_timeout_ms.max(1)),
        socket_timeout: Duration::from_millis(socket_timeout_ms),
        credentials: user.map(|user| Credentials {
            user,
            credential: credential.unwrap_or_default(),
            clear_password,
        }),
    }
}

/// Runs info commands on one node; the values, in order.
#[pyfunction]
#[pyo3(signature = (addr, commands, *, timeout_ms=10_000, user=None, credential=None, clear_password=None, tls=None, tls_name=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn info(
    py: Python<'_>,
    addr: String,
    commands: Vec<String>,
    timeout_ms: u64,
    user: Option<String>,
    credential: Option<String>,
    clear_password: Option<String>,
    tls: Option<PyRef<'_, TlsConfig>>,
    tls_name: Option<String>,
) -> Result<Vec<String>> {
    let peer = Peer {
        connect_timeout_ms: timeout_ms,
        socket_timeout_ms: timeout_ms,
        user,
        credential,
        clear_password,
        tls: tls.as_deref(),
        tls_name,
    };
    let opts = connect_options(&addr, peer);
    let answers = py.allow_threads(|| {
        let mut conn = Connection::open(&addr, &opts)?;
        let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
        conn.info(&refs)
    })?;
    Ok(answers)
}

/// The credential clients send for a password (bcrypt, the clients' fixed salt).
#[pyfunction]
pub(crate) fn hash_password(password: &str) -> String {
    asb_wire::admin::hash_password(password)
}

/// One backup file's account: where it is, its size, records, first and last digest
/// and, once complete, its SHA-256 (as a manifest and a saved state hold them).
#[pyclass(name = "FileStats", module = "asbkit._codec", frozen, get_all)]
pub struct PyFileStats {
    name: String,
    index: u64,
    bytes: u64,
    text_bytes: u64,
    records: u64,
    first_digest: Option<Py<PyBytes>>,
    last_digest: Option<Py<PyBytes>>,
    sha256: Option<Py<PyBytes>>,
    resume: Option<Py<PyBytes>>,
}

#[pymethods]
impl PyFileStats {
    #[new]
    #[pyo3(signature = (name, index, bytes, text_bytes, records, *, first_digest=None, last_digest=None, sha256=None, resume=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: String,
        index: u64,
        bytes: u64,
        text_bytes: u64,
        records: u64,
        first_digest: Option<Vec<u8>>,
        last_digest: Option<Vec<u8>>,
        sha256: Option<Vec<u8>>,
        resume: Option<Vec<u8>>,
    ) -> Result<PyFileStats> {
        let stats = FileStats {
            name,
            index,
            bytes,
            text_bytes,
            records,
            first_digest: digest_of(first_digest)?,
            last_digest: digest_of(last_digest)?,
            sha256: sha256
                .map(|s| s.try_into().map_err(|_| value("a SHA-256 is 32 bytes")))
                .transpose()?,
            resume,
        };
        Ok(PyFileStats::from_core(py, &stats))
    }
}

impl PyFileStats {
    fn from_core(py: Python<'_>, f: &FileStats) -> PyFileStats {
        let bytes = |b: &[u8]| PyBytes::new(py, b).unbind();
        PyFileStats {
            name: f.name.clone(),
            index: f.index,
            bytes: f.bytes,
            text_bytes: f.text_bytes,
            records: f.records,
            first_digest: f.first_digest.as_ref().map(|d| bytes(d)),
            last_digest: f.last_digest.as_ref().map(|d| bytes(d)),
            sha256: f.sha256.as_ref().map(|d| bytes(d)),
            resume: f.resume.as_ref().map(|d| bytes(d)),
        }
    }

    fn to_core(&self, py: Python<'_>) -> FileStats {
        let fixed = |b: &Option<Py<PyBytes>>| {
            b.as_ref()
                .map(|b| b.as_bytes(py).try_into().expect("checked when made"))
        };
        FileStats {
            name: self.name.clone(),
            index: self.index,
            bytes: self.bytes,
            text_bytes: self.text_bytes,
            records: self.records,
            first_digest: fixed(&self.first_digest),
            last_digest: fixed(&self.last_digest),
            sha256: self
                .sha256
                .as_ref()
                .map(|b| b.as_bytes(py).try_into().expect("checked when made")),
            resume: self.resume.as_ref().map(|b| b.as_bytes(py).to_vec()),
        }
    }
}

fn stats_list(py: Python<'_>, files: &[FileStats]) -> PyResult<Vec<Py<PyFileStats>>> {
    files
        .iter()
        .map(|f| Py::new(py, PyFileStats::from_core(py, f)))
        .collect()
}

/// Where one partition's scan is: the last record in a committed file, the records read,
/// whether it was read to its end.
#[pyclass(module = "asbkit._codec", frozen, get_all)]
pub struct PartitionProgress {
    pid: u16,
    last: Option<Py<PyBytes>>,
    records: u64,
    done: bool,
}

#[pymethods]
impl PartitionProgress {
    #[new]
    fn new(
        py: Python<'_>,
        pid: u16,
        last: Option<Vec<u8>>,
        records: u64,
        done: bool,
    ) -> Result<PartitionProgress> {
        if pid as usize >= N_PARTITIONS {
            return Err(value(format!("partition {pid} is past 4095")));
        }
        let last = digest_of(last)?.map(|d| PyBytes::new(py, &d).unbind());
        Ok(PartitionProgress {
            pid,
            last,
            records,
            done,
        })
    }
}

fn digest_of(v: Option<Vec<u8>>) -> Result<Option<[u8; 20]>> {
    v.map(|d| d.try_into().map_err(|_| value("a digest is 20 bytes")))
        .transpose()
}

/// Where a backup's files go; shared by every scan of the backup.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct BackupOutput {
    inner: Arc<Output>,
}

#[pymethods]
impl BackupOutput {
    /// `kind`: "directory" (with `prefix` and `file_limit` bytes), "file" or "stdout".
    /// `bytes_per_second`: written by all jobs together, at most (0: no limit).
    /// `resume`: the file entries of a saved state, to continue them.
    #[new]
    #[pyo3(signature = (kind, path, namespace, *, prefix=None, file_limit=0, first_file=true, bytes_per_second=0, zstd=false, level=0, cipher=None, key_material=None, resume=None, sync=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: &str,
        path: Option<PathBuf>,
        namespace: &Bound<'_, PyAny>,
        prefix: Option<String>,
        file_limit: u64,
        first_file: bool,
        bytes_per_second: u64,
        zstd: bool,
        level: i32,
        cipher: Option<&str>,
        key_material: Option<Vec<u8>>,
        resume: Option<Vec<PyRef<'_, PyFileStats>>>,
        sync: bool,
    ) -> Result<BackupOutput> {
        let ns = text_bytes(namespace)?;
        let target = match (kind, path) {
            ("directory", Some(dir)) => Target::Directory {
                dir,
                prefix: prefix.unwrap_or_else(|| String::from_utf8_lossy(&ns).into_owned()),
                file_limit,
            },
            ("file", Some(p)) => Target::File(p),
            ("stdout", _) => Target::Stdout,
            (k, _) => return Err(value(format!("unknown output {k:?} or no path"))),
        };
        let layers = layers(zstd, level, cipher, key_material.as_deref())?;
        let mut out = match resume {
            Some(files) => {
                let files: Vec<FileStats> = files.iter().map(|f| f.to_core(f.py())).collect();
                Output::resume(target, &ns, layers, &files, bytes_per_second)
            }
            None => Output::new(target, &ns, layers, first_file, bytes_per_second),
        }?;
        out.sync_commits = sync;
        Ok(BackupOutput {
            inner: Arc::new(out),
        })
    }

    /// A file to write into: new when `first_file`, else one a finished job left open.
    #[pyo3(signature = (first_file=false))]
    fn job(&self, first_file: bool) -> Result<BackupJob> {
        let job = self.inner.job(first_file)?;
        Ok(BackupJob {
            inner: Mutex::new(Some(job)),
        })
    }

    /// Every file's account (open ones as of their last commit).
    fn files(&self, py: Python<'_>) -> PyResult<Vec<Py<PyFileStats>>> {
        stats_list(py, &self.inner.files())
    }

    /// Closes every file; the accounts, complete with their SHA-256.
    /// Completes the remote objects sealed so far (call it once a saved state lists them).
    fn complete_sealed(&self, py: Python<'_>) -> Result<()> {
        let out = self.inner.clone();
        Ok(py.allow_threads(move || out.complete_sealed())?)
    }

    fn finish(&self, py: Python<'_>) -> Result<Vec<Py<PyFileStats>>> {
        let out = self.inner.clone();
        let files = py.allow_threads(move || out.finish())?;
        Ok(stats_list(py, &files)?)
    }
}

/// One producer's file.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct BackupJob {
    inner: Mutex<Option<Job>>,
}

impl BackupJob {
    fn take(&self) -> Result<Job> {
        self.inner
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| value("this job was released, or is scanning"))
    }

    fn put(&self, job: Job) {
        *self.inner.lock().unwrap() = Some(job);
    }
}

#[pymethods]
impl BackupJob {
    /// Writes a secondary index or UDF line (they go at the top of the first file).
    fn write(
        &self,
        py: Python<'_>,
        output: &BackupOutput,
        entity: &Bound<'_, PyAny>,
    ) -> Result<()> {
        let mut scratch = asb_core::Record::new();
        let mut text = Vec::new();
        match entity_to_core(py, entity, &mut scratch)? {
            Entity::SecondaryIndex(s) => encode_sindex(&mut text, &s)?,
            Entity::Udf(u) => encode_udf(&mut text, &u)?,
            Entity::Record(_) => return Err(value("records come from scans")),
        }
        let mut job = self.take()?;
        let r = output
            .inner
            .append(&mut job, &text, 0, None, None, &mut Vec::new());
        self.put(job);
        Ok(r?)
    }

    /// Hands the file back to the output (parked for the next job, or closed when full);
    /// what closing makes durable is counted in the checkpoint.
    fn release(
        &self,
        py: Python<'_>,
        output: &BackupOutput,
        checkpoint: &BackupCheckpoint,
    ) -> Result<()> {
        let job = self.take()?;
        let out = output.inner.clone();
        let ckpt = checkpoint.inner.clone();
        Ok(py.allow_threads(move || ckpt.release(&out, job))?)
    }
}

/// How far every partition got, tied to the files' committed lengths; live counters; the
/// stop flag every scan watches.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct BackupCheckpoint {
    inner: Arc<Checkpoint>,
}

#[pymethods]
impl BackupCheckpoint {
    /// `partitions`: (pid, last digest or None, records, done) to start from (a saved state).
    #[new]
    #[pyo3(signature = (partitions=None))]
    fn new(
        py: Python<'_>,
        partitions: Option<Vec<PyRef<'_, PartitionProgress>>>,
    ) -> Result<BackupCheckpoint> {
        let mut parts = vec![PartitionState::default(); N_PARTITIONS];
        for saved in partitions.unwrap_or_default() {
            parts[saved.pid as usize] = PartitionState {
                last: saved
                    .last
                    .as_ref()
                    .map(|b| b.as_bytes(py).try_into().expect("checked when made")),
                records: saved.records,
                done: saved.done,
            };
        }
        Ok(BackupCheckpoint {
            inner: Arc::new(Checkpoint::new(parts)),
        })
    }

    /// Records and text bytes handed to the output so far (live, for progress).
    fn counters(&self) -> (u64, u64) {
        (
            self.inner.records.load(Ordering::Relaxed),
            self.inner.text_bytes.load(Ordering::Relaxed),
        )
    }

    /// Asks every running scan to stop at its next message.
    fn cancel(&self) {
        self.inner.cancel.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.inner.cancel.load(Ordering::Relaxed)
    }

    fn partition(&self, py: Python<'_>, pid: u16) -> Result<PartitionProgress> {
        if pid as usize >= N_PARTITIONS {
            return Err(value(format!("partition {pid} is past 4095")));
        }
        Ok(progress_of(py, pid, &self.inner.partition(pid)))
    }

    /// One consistent moment: the partitions that have any progress, and the files'
    /// accounts.
    fn snapshot(&self, py: Python<'_>, output: &BackupOutput) -> PyResult<Snapshot> {
        let (parts, files) = self.inner.snapshot(&output.inner);
        let parts = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.last.is_some() || p.done)
            .map(|(i, p)| Py::new(py, progress_of(py, i as u16, p)))
            .collect::<PyResult<_>>()?;
        Ok((parts, stats_list(py, &files)?))
    }
}

/// The partitions that have any progress, and the files' accounts, at one moment.
type Snapshot = (Vec<Py<PartitionProgress>>, Vec<Py<PyFileStats>>);

fn progress_of(py: Python<'_>, pid: u16, p: &PartitionState) -> PartitionProgress {
    PartitionProgress {
        pid,
        last: p.last.map(|d| PyBytes::new(py, &d).unbind()),
        records: p.records,
        done: p.done,
    }
}

/// What one node's scan did: records and text written, partitions the node could not serve
/// (to read again where the map now says), and why it ended early, if it did: the exception
/// (not raised) for it: Interrupted, BackupOutputFailed, or AsbClusterError (with node,
/// result_code and retryable).
#[pyclass(module = "asbkit._codec", frozen, get_all)]
pub struct ScanResult {
    records: u64,
    text_bytes: u64,
    unavailable: Vec<u16>,
    error: Option<PyObject>,
}

/// Scans `partitions` of `namespace` on the node at `addr` into `job`'s file, resuming each
/// after its last committed digest. Records before an error stay written and counted.
#[pyfunction]
#[pyo3(signature = (output, job, checkpoint, addr, namespace, partitions, *, set=None, bins=None, no_bins=false, max_records=0, records_per_second=0, socket_timeout_ms=10_000, total_timeout_ms=0, connect_timeout_ms=10_000, filter_exp=None, compact=false, user=None, credential=None, clear_password=None, commit_seconds=2.0, commit_bytes=33554432, tls=None, tls_name=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_partitions<'py>(
    py: Python<'py>,
    output: &BackupOutput,
    job: &BackupJob,
    checkpoint: &BackupCheckpoint,
    addr: String,
    namespace: &Bound<'_, PyAny>,
    partitions: Vec<u16>,
    set: Option<&Bound<'_, PyAny>>,
    bins: Option<Vec<Bound<'_, PyAny>>>,
    no_bins: bool,
    max_records: u64,
    records_per_second: u32,
    socket_timeout_ms: u32,
    total_timeout_ms: u64,
    connect_timeout_ms: u64,
    filter_exp: Option<Vec<u8>>,
    compact: bool,
    user: Option<String>,
    credential: Option<String>,
    clear_password: Option<String>,
    commit_seconds: f64,
    commit_bytes: u64,
    tls: Option<PyRef<'_, TlsConfig>>,
    tls_name: Option<String>,
) -> Result<ScanResult> {
    if let Some(bad) = partitions.iter().find(|&&p| p as usize >= N_PARTITIONS) {
        return Err(value(format!("partition {bad} is past 4095")));
    }
    let request = ScanRequest {
        namespace: text_bytes(namespace)?,
        set: set.map(text_bytes).transpose()?,
        bins: bins
            .unwrap_or_default()
            .iter()
            .map(text_bytes)
            .collect::<PyResult<_>>()?,
        no_bins,
        partitions: partitions
            .iter()
            .map(|&pid| PartitionCursor { pid, after: None })
            .collect(),
        max_records,
        records_per_second,
        socket_timeout_ms,
        filter_exp,
        task_id: asb_wire::scan::random_task_id(),
    };
    let peer = Peer {
        connect_timeout_ms,
        socket_timeout_ms: socket_timeout_ms as u64,
        user,
        credential,
        clear_password,
        tls: tls.as_deref(),
        tls_name,
    };
    let connect = connect_options(&addr, peer);
    let scan = ScanJob {
        addr,
        connect,
        request,
        decode: DecodeOptions { compact },
        total_timeout: asb_wire::scan::millis(total_timeout_ms),
        commit: CommitPolicy {
            every: Duration::from_secs_f64(commit_seconds.max(0.01)),
            bytes: commit_bytes.max(1 << 16),
        },
    };
    let mut out_job = job.take()?;
    let out = output.inner.clone();
    let ckpt = checkpoint.inner.clone();
    let (outcome, out_job) = py.allow_threads(move || {
        let o = scan_into(&scan, &out, &mut out_job, &ckpt);
        (o, out_job)
    });
    job.put(out_job);
    Ok(ScanResult {
        records: outcome.records,
        text_bytes: outcome.text_bytes,
        unavailable: outcome.unavailable,
        error: outcome.error.map(|e| wire_exception(py, e)),
    })
}

/// Scans partitions on one node and only counts the records (each decoded into a record,
/// nothing written): the ceiling a backup over this wire layer can reach.
#[pyfunction]
#[pyo3(signature = (addr, namespace, partitions, *, socket_timeout_ms=10_000, tls=None, tls_name=None))]
pub(crate) fn count_scan(
    py: Python<'_>,
    addr: String,
    namespace: &Bound<'_, PyAny>,
    partitions: Vec<u16>,
    socket_timeout_ms: u32,
    tls: Option<PyRef<'_, TlsConfig>>,
    tls_name: Option<String>,
) -> Result<u64> {
    let request = ScanRequest {
        namespace: text_bytes(namespace)?,
        partitions: partitions
            .iter()
            .map(|&pid| PartitionCursor { pid, after: None })
            .collect(),
        socket_timeout_ms,
        task_id: asb_wire::scan::random_task_id(),
        ..ScanRequest::default()
    };
    let peer = Peer {
        connect_timeout_ms: 10_000,
        socket_timeout_ms: socket_timeout_ms as u64,
        user: None,
        credential: None,
        clear_password: None,
        tls: tls.as_deref(),
        tls_name,
    };
    let opts = connect_options(&addr, peer);
    let records = py.allow_threads(|| {
        let mut conn = Connection::open(&addr, &opts)?;
        let mut count = |_: &asb_core::Record| Ok(());
        let outcome = asb_wire::run_scan(
            &mut conn,
            &request,
            DecodeOptions::default(),
            asb_wire::ScanLimits::default(),
            &mut count,
        );
        match outcome.error {
            Some(e) => Err(e),
            None => Ok(outcome.records),
        }
    })?;
    Ok(records)
}
