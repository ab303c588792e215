//! The Scanner pyclass (validate, inspect, stats) and its summary as plain Python data.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use asb_core::deep::DeepCheck;
use asb_core::source::open_path;
use asb_core::summary::{Summary, BIN_LETTERS, KEY_LETTERS};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::Result;
use crate::files::{layers, open_source, progress_tick};
use crate::types::{opt_text, py_text, sindex_from_core};

// Counts (and with `detail`, statistics; with `deep`, digest and duplicate checks) over
// any number of backup streams, in Rust.
#[pyclass(module = "asbkit._codec")]
pub(crate) struct Scanner {
    summary: Summary,
    raw_bytes: u64,
    deep: Option<DeepCheck>,
    deep_done: bool,
}

#[pymethods]
impl Scanner {
    #[new]
    #[pyo3(signature = (detail=false, *, deep=false, check_digests=true, continue_after_errors=false, max_issues=100, memory_digests=None))]
    fn new(
        detail: bool,
        deep: bool,
        check_digests: bool,
        continue_after_errors: bool,
        max_issues: usize,
        memory_digests: Option<usize>,
    ) -> Scanner {
        let deep = deep.then(|| {
            let mut d = DeepCheck::new(
                max_issues,
                memory_digests.unwrap_or(asb_core::deep::DEFAULT_MEMORY_DIGESTS),
            );
            d.check_digests = check_digests;
            d.continue_after_errors = continue_after_errors;
            d
        });
        Scanner {
            summary: Summary::new(detail),
            raw_bytes: 0,
            deep,
            deep_done: false,
        }
    }

    /// Reads one stream to its end. `progress(raw_bytes_read)` is called now and then.
    #[pyo3(signature = (source, *, zstd=false, cipher=None, key_material=None, progress=None))]
    fn scan(
        &mut self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        zstd: bool,
        cipher: Option<&str>,
        key_material: Option<&[u8]>,
        progress: Option<PyObject>,
    ) -> Result<()> {
        let layers = layers(zstd, 0, cipher, key_material)?;
        let raw_count = Arc::new(AtomicU64::new(0));
        let mut reader = open_source(source, &layers, raw_count.clone())?;
        let summary = &mut self.summary;
        let deep = self.deep.as_mut();
        let result = py.allow_threads(|| {
            let tick = progress_tick(&progress, &raw_count);
            summary.scan(&mut reader, deep, |_| tick())
        });
        self.raw_bytes += raw_count.load(Ordering::Relaxed);
        Ok(result?)
    }

    /// Reads files (paths) on `threads` threads, big plain files in pieces cut at proven
    /// record boundaries; the result is that of reading them one by one with `scan`.
    /// Stops at the first error.
    #[pyo3(signature = (paths, *, threads=2, zstd=false, cipher=None, key_material=None, progress=None, piece_size=asb_core::parallel::PIECE_SIZE))]
    #[allow(clippy::too_many_arguments)]
    fn scan_parallel(
        &mut self,
        py: Python<'_>,
        paths: Vec<PathBuf>,
        threads: usize,
        zstd: bool,
        cipher: Option<&str>,
        key_material: Option<&[u8]>,
        progress: Option<PyObject>,
        piece_size: u64,
    ) -> Result<()> {
        let layers = layers(zstd, 0, cipher, key_material)?;
        let raw = Arc::new(AtomicU64::new(0));
        let progress_tick = progress_tick(&progress, &raw);
        let tick = |_| progress_tick();
        let summary = &mut self.summary;
        let deep = self.deep.as_mut();
        let result = py.allow_threads(|| {
            if deep.as_ref().is_some_and(|d| d.continue_after_errors) {
                // Going on after errors resynchronises on the text: one file at a time.
                let mut deep = deep;
                for path in &paths {
                    let mut reader = open_path(path, &layers, raw.clone())?;
                    summary.scan(&mut reader, deep.as_deref_mut(), tick)?;
                }
                return Ok(());
            }
            let planned = asb_core::parallel::plan(&paths, &layers, piece_size)?;
            summary.scan_files(&planned, &layers, threads, &raw, deep, tick)
        });
        self.raw_bytes += raw.load(Ordering::Relaxed);
        Ok(result?)
    }

    /// The summary as plain Python data (ends the deep checks: call it last).
    fn result<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let d = summary_to_dict(py, &self.summary, self.raw_bytes)?;
        if let Some(deep) = self.deep.as_mut() {
            if !self.deep_done {
                self.deep_done = true;
                py.allow_threads(|| deep.finish())?;
            }
            let dd = PyDict::new(py);
            dd.set_item("keys_checked", deep.keys_checked)?;
            let counts = PyDict::new(py);
            for (k, v) in &deep.issue_counts {
                counts.set_item(*k, v)?;
            }
            dd.set_item("issue_counts", counts)?;
            let issues = PyList::empty(py);
            for i in &deep.issues {
                let id = PyDict::new(py);
                id.set_item("kind", i.kind)?;
                id.set_item("path", &i.path)?;
                id.set_item("line", i.position.map(|p| p.line))?;
                id.set_item("column", i.position.map(|p| p.column))?;
                id.set_item("offset", i.position.map(|p| p.offset))?;
                id.set_item("message", &i.message)?;
                issues.append(id)?;
            }
            dd.set_item("issues", issues)?;
            d.set_item("deep", dd)?;
        }
        Ok(d)
    }
}

fn range_dict<'py>(
    py: Python<'py>,
    r: &asb_core::summary::Range64,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    if r.count == 0 {
        return Ok(None);
    }
    let d = PyDict::new(py);
    d.set_item("min", r.min)?;
    d.set_item("max", r.max)?;
    d.set_item("count", r.count)?;
    Ok(Some(d))
}

fn summary_to_dict<'py>(
    py: Python<'py>,
    s: &Summary,
    raw_bytes: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("records", s.records)?;
    d.set_item("text_bytes", s.text_bytes)?;
    d.set_item("raw_bytes", raw_bytes)?;
    let files = PyList::empty(py);
    for f in &s.files {
        let fd = PyDict::new(py);
        fd.set_item("path", &f.path)?;
        fd.set_item("version", f.version.as_str())?;
        fd.set_item("namespace", opt_text(py, f.namespace.as_deref()))?;
        fd.set_item("first_file", f.first_file)?;
        fd.set_item("records", f.records)?;
        fd.set_item("indexes", f.sindexes)?;
        fd.set_item("udfs", f.udfs)?;
        fd.set_item("text_bytes", f.text_bytes)?;
        fd.set_item("first_digest", f.first_digest.map(|d| pyo3::types::PyBytes::new(py, &d)))?;
        fd.set_item("last_digest", f.last_digest.map(|d| pyo3::types::PyBytes::new(py, &d)))?;
        files.append(fd)?;
    }
    d.set_item("files", files)?;
    let idx = PyList::empty(py);
    for i in &s.sindexes {
        idx.append(Py::new(py, sindex_from_core(py, i))?)?;
    }
    d.set_item("indexes", idx)?;
    let udfs = PyList::empty(py);
    for (name, size) in &s.udfs {
        udfs.append((py_text(py, name), *size))?;
    }
    d.set_item("udfs", udfs)?;
    if !s.detail {
        return Ok(d);
    }
    let sets = PyList::empty(py);
    for (name, st) in &s.sets {
        let sd = PyDict::new(py);
        sd.set_item("set", opt_text(py, name.as_deref()))?;
        sd.set_item("records", st.records)?;
        sd.set_item("bytes", st.bytes)?;
        sd.set_item("with_key", st.with_key)?;
        sets.append(sd)?;
    }
    d.set_item("sets", sets)?;
    let nss = PyDict::new(py);
    for (ns, n) in &s.record_namespaces {
        nss.set_item(py_text(py, ns), n)?;
    }
    d.set_item("record_namespaces", nss)?;
    let keys = PyDict::new(py);
    for (i, l) in KEY_LETTERS.iter().enumerate() {
        if s.key_types[i] > 0 {
            keys.set_item((*l as char).to_string(), s.key_types[i])?;
        }
    }
    d.set_item("key_types", keys)?;
    let bins = PyDict::new(py);
    let mut names: Vec<_> = s.bins.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let sizes = PyDict::new(py);
    for (name, stats) in names {
        let cd = PyDict::new(py);
        for (i, l) in BIN_LETTERS.iter().enumerate() {
            if stats.counts[i] > 0 {
                cd.set_item((*l as char).to_string(), stats.counts[i])?;
            }
        }
        bins.set_item(py_text(py, name), cd)?;
        sizes.set_item(
            py_text(py, name),
            (stats.min_size, stats.median_size(), stats.max_size),
        )?;
    }
    d.set_item("bins", bins)?;
    d.set_item("bin_sizes", sizes)?;
    let months = PyDict::new(py);
    for (m, n) in &s.expiry_months {
        months.set_item(format!("{:04}-{:02}", 2010 + m / 12, m % 12 + 1), n)?;
    }
    d.set_item("expiry_months", months)?;
    d.set_item("never_expire", s.never_expire)?;
    d.set_item("expired", s.expired)?;
    d.set_item("void_time", range_dict(py, &s.void_time)?)?;
    d.set_item("record_size", range_dict(py, &s.record_size)?)?;
    d.set_item("generation", range_dict(py, &s.generation)?)?;
    Ok(d)
}
