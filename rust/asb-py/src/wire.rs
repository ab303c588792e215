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
use crate::files::LayerArgs;
use crate::types::{entity_to_core, Text};

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

/// How the record streams reach a node: `asbkit.cluster.client.WireAccess`, built by the
/// cluster layer (timeouts, credentials, TLS).
#[derive(FromPyObject)]
pub(crate) struct Access {
    connect_timeout_ms: u64,
    socket_timeout_ms: u64,
    user: Option<String>,
    credential: Option<String>,
    clear_password: Option<String>,
    tls: Option<Py<TlsConfig>>,
    tls_name: Option<String>,
}

impl Access {
    pub(crate) fn connect_options(self) -> ConnectOptions {
        ConnectOptions {
            tls: self.tls.map(|t| asb_wire::Tls {
                config: t.get().config.clone(),
                name: self.tls_name,
            }),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            socket_timeout: Duration::from_millis(self.socket_timeout_ms),
            credentials: self.user.map(|user| Credentials {
                user,
                credential: self.credential.unwrap_or_default(),
                clear_password: self.clear_password,
            }),
        }
    }
}

/// Runs info commands on one node; the values, in order.
#[pyfunction]
pub(crate) fn info(
    py: Python<'_>,
    addr: String,
    commands: Vec<String>,
    access: Access,
) -> Result<Vec<String>> {
    let opts = access.connect_options();
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

/// What every output shares: `asbkit.backing_up.run.OutputSettings`.
#[derive(FromPyObject)]
pub(crate) struct OutputSettings {
    namespace: Text,
    first_file: bool,
    /// Written by all jobs together, at most (0: no limit).
    bytes_per_second: u64,
    layers: LayerArgs,
    /// The file entries of a saved state, to continue them.
    resume: Option<Vec<Py<PyFileStats>>>,
}

impl BackupOutput {
    fn open(py: Python<'_>, target: Target, s: OutputSettings) -> Result<BackupOutput> {
        let layers = s.layers.into_layers()?;
        let ns = s.namespace.0;
        let out = match s.resume {
            Some(files) => {
                let files: Vec<FileStats> = files.iter().map(|f| f.get().to_core(py)).collect();
                Output::resume(target, &ns, layers, &files, s.bytes_per_second)
            }
            None => Output::new(target, &ns, layers, s.first_file, s.bytes_per_second),
        }?;
        Ok(BackupOutput {
            inner: Arc::new(out),
        })
    }
}

#[pymethods]
impl BackupOutput {
    /// Files `<prefix>_<n>.asb` in `dir`, a new one past `file_limit` bytes.
    #[staticmethod]
    fn directory(
        py: Python<'_>,
        dir: PathBuf,
        prefix: String,
        file_limit: u64,
        settings: OutputSettings,
    ) -> Result<BackupOutput> {
        let target = Target::Directory {
            dir,
            prefix,
            file_limit,
        };
        BackupOutput::open(py, target, settings)
    }

    /// One file.
    #[staticmethod]
    fn file(py: Python<'_>, path: PathBuf, settings: OutputSettings) -> Result<BackupOutput> {
        BackupOutput::open(py, Target::File(path), settings)
    }

    /// Standard output.
    #[staticmethod]
    fn stdout(py: Python<'_>, settings: OutputSettings) -> Result<BackupOutput> {
        BackupOutput::open(py, Target::Stdout, settings)
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

    /// Completes the remote objects sealed so far (call it once a saved state lists them).
    fn complete_sealed(&self, py: Python<'_>) -> Result<()> {
        let out = self.inner.clone();
        Ok(py.allow_threads(move || out.complete_sealed())?)
    }

    /// Closes every file; the accounts, complete with their SHA-256.
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

/// One node's scan: `asbkit.backing_up.jobs.ScanOrder` (where, which partitions, the
/// selection, limits and how often to commit).
#[derive(FromPyObject)]
pub(crate) struct ScanOrder {
    addr: String,
    partitions: Vec<u16>,
    namespace: Text,
    set: Option<Text>,
    bins: Vec<Text>,
    no_bins: bool,
    max_records: u64,
    records_per_second: u32,
    total_timeout_ms: u64,
    filter_exp: Option<Vec<u8>>,
    compact: bool,
    /// A `datetime.timedelta`.
    commit_every: Duration,
    commit_bytes: u64,
}

/// Scans the order's partitions on its node into `job`'s file, resuming each after its
/// last committed digest. Records before an error stay written and counted.
#[pyfunction]
pub(crate) fn scan_partitions(
    py: Python<'_>,
    output: &BackupOutput,
    job: &BackupJob,
    checkpoint: &BackupCheckpoint,
    order: ScanOrder,
    access: Access,
) -> Result<ScanResult> {
    if let Some(bad) = order
        .partitions
        .iter()
        .find(|&&p| p as usize >= N_PARTITIONS)
    {
        return Err(value(format!("partition {bad} is past 4095")));
    }
    let connect = access.connect_options();
    let request = ScanRequest {
        namespace: order.namespace.0,
        set: order.set.map(|s| s.0),
        bins: order.bins.into_iter().map(|b| b.0).collect(),
        no_bins: order.no_bins,
        partitions: order
            .partitions
            .iter()
            .map(|&pid| PartitionCursor { pid, after: None })
            .collect(),
        max_records: order.max_records,
        records_per_second: order.records_per_second,
        socket_timeout_ms: connect.socket_timeout.as_millis().min(u32::MAX as u128) as u32,
        filter_exp: order.filter_exp,
        task_id: asb_wire::scan::random_task_id(),
    };
    let scan = ScanJob {
        addr: order.addr,
        connect,
        request,
        decode: DecodeOptions {
            compact: order.compact,
        },
        total_timeout: asb_wire::scan::millis(order.total_timeout_ms),
        commit: CommitPolicy::new(order.commit_every, order.commit_bytes),
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
