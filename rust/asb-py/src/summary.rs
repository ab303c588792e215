//! The Summarizer pyclass (validate, inspect, stats) and the summary it returns.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use asb_core::deep::DeepCheck;
use asb_core::summary::{month_label, Summary, BIN_LETTERS, KEY_LETTERS};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::Result;
use crate::files::{open_source, progress_tick, LayerArgs};
use crate::types::{py_text, sindex_from_core};

/// Reads backups for `validate`, `inspect` and `stats`: counts, and with `detail` statistics,
/// with `deep` digest and duplicate checks, over any number of streams.
#[pyclass(module = "asbkit._codec")]
pub(crate) struct Summarizer {
    summary: Summary,
    raw_bytes: u64,
    deep: Option<DeepCheck>,
    deep_done: bool,
}

/// `validate --deep`'s options (a dict).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct DeepArgs {
    check_digests: bool,
    continue_after_errors: bool,
    max_issues: usize,
    /// Digests held in memory before they spill to disk.
    memory_digests: usize,
}

#[pymethods]
impl Summarizer {
    /// `deep`: the deep checks' options, or None for counts only.
    #[new]
    #[pyo3(signature = (detail, deep))]
    fn new(detail: bool, deep: Option<DeepArgs>) -> Summarizer {
        let deep = deep.map(|a| {
            let mut d = DeepCheck::new(a.max_issues, a.memory_digests);
            d.check_digests = a.check_digests;
            d.continue_after_errors = a.continue_after_errors;
            d
        });
        Summarizer {
            summary: Summary::new(detail),
            raw_bytes: 0,
            deep,
            deep_done: false,
        }
    }

    /// Reads one stream to its end. `progress(raw_bytes_read)` is called now and then.
    #[pyo3(signature = (source, *, layers, progress=None))]
    fn read(
        &mut self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        layers: LayerArgs,
        progress: Option<PyObject>,
    ) -> Result<()> {
        let layers = layers.into_layers()?;
        let raw_count = Arc::new(AtomicU64::new(0));
        let mut reader = open_source(source, &layers, raw_count.clone())?;
        let summary = &mut self.summary;
        let deep = self.deep.as_mut();
        let result = py.allow_threads(|| {
            let tick = progress_tick(&progress, &raw_count);
            summary.read(&mut reader, deep, |_| tick())
        });
        self.raw_bytes += raw_count.load(Ordering::Relaxed);
        Ok(result?)
    }

    /// Reads files (paths) as `asb_core::summary::Summary::read_paths` does.
    #[pyo3(signature = (paths, *, threads, layers, piece_size, progress=None))]
    fn read_paths(
        &mut self,
        py: Python<'_>,
        paths: Vec<PathBuf>,
        threads: usize,
        layers: LayerArgs,
        piece_size: u64,
        progress: Option<PyObject>,
    ) -> Result<()> {
        let layers = layers.into_layers()?;
        let raw = Arc::new(AtomicU64::new(0));
        let progress_tick = progress_tick(&progress, &raw);
        let summary = &mut self.summary;
        let deep = self.deep.as_mut();
        let result = py.allow_threads(|| {
            summary.read_paths(&paths, &layers, threads, piece_size, &raw, deep, |_| {
                progress_tick()
            })
        });
        self.raw_bytes += raw.load(Ordering::Relaxed);
        Ok(result?)
    }

    /// The summary (ends the deep checks: call it last).
    fn result(&mut self, py: Python<'_>) -> Result<BackupSummary> {
        let mut summary = summary_of(py, &self.summary, self.raw_bytes)?;
        if let Some(deep) = self.deep.as_mut() {
            if !self.deep_done {
                self.deep_done = true;
                py.allow_threads(|| deep.finish())?;
            }
            let issues = deep
                .issues
                .iter()
                .map(|i| {
                    Py::new(
                        py,
                        DeepIssue {
                            kind: i.kind,
                            path: i.path.clone(),
                            line: i.position.map(|p| p.line),
                            column: i.position.map(|p| p.column),
                            offset: i.position.map(|p| p.offset),
                            message: i.message.clone(),
                        },
                    )
                })
                .collect::<PyResult<_>>()?;
            let deep = DeepSummary {
                keys_checked: deep.keys_checked,
                issue_counts: deep.issue_counts.iter().map(|(k, v)| (*k, *v)).collect(),
                issues,
            };
            summary.deep = Some(Py::new(py, deep)?);
        }
        Ok(summary)
    }
}

/// What a Summarizer read: counts per file, the indexes and UDFs, and with `detail` the
/// per-set, per-bin, TTL and size statistics (empty without it).
#[pyclass(frozen, module = "asbkit._codec")]
pub(crate) struct BackupSummary {
    #[pyo3(get)]
    records: u64,
    #[pyo3(get)]
    text_bytes: u64,
    #[pyo3(get)]
    raw_bytes: u64,
    #[pyo3(get)]
    files: Vec<Py<FileSummary>>,
    #[pyo3(get)]
    indexes: Vec<Py<crate::types::SecondaryIndex>>,
    /// (file name, content bytes)
    #[pyo3(get)]
    udfs: Vec<(PyObject, u64)>,
    #[pyo3(get)]
    sets: Vec<Py<SetSummary>>,
    /// (namespace, records) of the records' own namespaces.
    #[pyo3(get)]
    record_namespaces: Vec<(PyObject, u64)>,
    key_types: Vec<(char, u64)>,
    #[pyo3(get)]
    bins: Vec<Py<BinSummary>>,
    /// "YYYY-MM" → records expiring that month.
    #[pyo3(get)]
    expiry_months: BTreeMap<String, u64>,
    #[pyo3(get)]
    never_expire: u64,
    #[pyo3(get)]
    expired: u64,
    #[pyo3(get)]
    void_time: Option<Py<ValueRange>>,
    #[pyo3(get)]
    record_size: Option<Py<ValueRange>>,
    #[pyo3(get)]
    generation: Option<Py<ValueRange>>,
    #[pyo3(get)]
    deep: Option<Py<DeepSummary>>,
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct FileSummary {
    path: String,
    version: &'static str,
    namespace: Option<PyObject>,
    first_file: bool,
    records: u64,
    indexes: u64,
    udfs: u64,
    text_bytes: u64,
    first_digest: Option<Py<PyBytes>>,
    last_digest: Option<Py<PyBytes>>,
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct SetSummary {
    set: Option<PyObject>,
    records: u64,
    bytes: u64,
    with_key: u64,
}

#[pyclass(frozen, module = "asbkit._codec")]
pub(crate) struct BinSummary {
    #[pyo3(get)]
    name: PyObject,
    counts: Vec<(char, u64)>,
    #[pyo3(get)]
    min_size: u64,
    #[pyo3(get)]
    median_size: u64,
    #[pyo3(get)]
    max_size: u64,
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct ValueRange {
    min: u64,
    max: u64,
    count: u64,
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct DeepSummary {
    keys_checked: u64,
    /// Finding kind → how many (all of them, beyond the ones listed).
    issue_counts: BTreeMap<&'static str, u64>,
    issues: Vec<Py<DeepIssue>>,
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct DeepIssue {
    kind: &'static str,
    path: String,
    line: Option<u64>,
    column: Option<u64>,
    offset: Option<u64>,
    message: String,
}

fn range_of(py: Python<'_>, r: &asb_core::summary::Range64) -> PyResult<Option<Py<ValueRange>>> {
    if r.count == 0 {
        return Ok(None);
    }
    let range = ValueRange {
        min: r.min,
        max: r.max,
        count: r.count,
    };
    Py::new(py, range).map(Some)
}

/// Type letter → count, in the letters' order (as C lists them), the zero counts left out.
fn letter_counts(letters: &[u8], counts: &[u64]) -> Vec<(char, u64)> {
    letters
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| (*l as char, *n))
        .collect()
}

fn ordered_dict<'py>(py: Python<'py>, pairs: &[(char, u64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (letter, n) in pairs {
        d.set_item(letter, n)?;
    }
    Ok(d)
}

#[pymethods]
impl BackupSummary {
    /// Key type letter → records.
    #[getter]
    fn key_types<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        ordered_dict(py, &self.key_types)
    }
}

#[pymethods]
impl BinSummary {
    /// Bin type letter → values.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        ordered_dict(py, &self.counts)
    }
}

fn summary_of(py: Python<'_>, s: &Summary, raw_bytes: u64) -> PyResult<BackupSummary> {
    let text = |b: &[u8]| py_text(py, b).unbind();
    let digest = |d: &Option<[u8; 20]>| d.map(|d| PyBytes::new(py, &d).unbind());
    let files = s
        .files
        .iter()
        .map(|f| {
            let file = FileSummary {
                path: f.path.clone(),
                version: f.version.as_str(),
                namespace: f.namespace.as_deref().map(text),
                first_file: f.first_file,
                records: f.records,
                indexes: f.sindexes,
                udfs: f.udfs,
                text_bytes: f.text_bytes,
                first_digest: digest(&f.first_digest),
                last_digest: digest(&f.last_digest),
            };
            Py::new(py, file)
        })
        .collect::<PyResult<_>>()?;
    let indexes = s
        .sindexes
        .iter()
        .map(|i| Py::new(py, sindex_from_core(py, i)))
        .collect::<PyResult<_>>()?;
    let sets = s
        .sets
        .iter()
        .map(|(name, st)| {
            let set = SetSummary {
                set: name.as_deref().map(text),
                records: st.records,
                bytes: st.bytes,
                with_key: st.with_key,
            };
            Py::new(py, set)
        })
        .collect::<PyResult<_>>()?;
    let mut names: Vec<_> = s.bins.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let bins = names
        .into_iter()
        .map(|(name, stats)| {
            let bin = BinSummary {
                name: text(name),
                counts: letter_counts(BIN_LETTERS, &stats.counts),
                min_size: stats.min_size,
                median_size: stats.median_size(),
                max_size: stats.max_size,
            };
            Py::new(py, bin)
        })
        .collect::<PyResult<_>>()?;
    Ok(BackupSummary {
        records: s.records,
        text_bytes: s.text_bytes,
        raw_bytes,
        files,
        indexes,
        udfs: s.udfs.iter().map(|(n, size)| (text(n), *size)).collect(),
        sets,
        record_namespaces: s
            .record_namespaces
            .iter()
            .map(|(n, c)| (text(n), *c))
            .collect(),
        key_types: letter_counts(KEY_LETTERS, &s.key_types),
        bins,
        expiry_months: s
            .expiry_months
            .iter()
            .map(|(m, n)| (month_label(*m), *n))
            .collect(),
        never_expire: s.never_expire,
        expired: s.expired,
        void_time: range_of(py, &s.void_time)?,
        record_size: range_of(py, &s.record_size)?,
        generation: range_of(py, &s.generation)?,
        deep: None,
    })
}
