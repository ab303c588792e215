//! Backup streams: layers from Python's arguments, paths and Python file objects as the
//! core's readers and writers, the Reader and Writer pyclasses, and the file functions.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use asb_core::layers::LayeredWriter;
use asb_core::source::{
    backup_files, create_output, open_path, open_stream, remote_url, BoxedReader, StagedFiles,
};
use asb_core::{Cipher, EncryptionKey, Entity, Layers};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{value, Error, Result};
use crate::types::{entity_to_core, entity_to_py, header_from_core, header_to_core, Header};

/// A Python object with `readinto` (or `read`), seen from Rust.
pub(crate) struct PyReader(pub(crate) Py<PyAny>);

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::with_gil(|py| {
            let data = self
                .0
                .call_method1(py, "read", (buf.len(),))
                .map_err(io::Error::other)?;
            let data = data.bind(py);
            let bytes = data
                .downcast::<PyBytes>()
                .map_err(|_| io::Error::other("read() must return bytes"))?
                .as_bytes();
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        })
    }
}

/// A Python object with `write`, seen from Rust.
pub(crate) struct PyWriter(pub(crate) Py<PyAny>);

impl Write for PyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Python::with_gil(|py| {
            self.0
                .call_method1(py, "write", (PyBytes::new(py, buf),))
                .map_err(io::Error::other)?;
            Ok(buf.len())
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Python::with_gil(|py| {
            if self.0.bind(py).hasattr("flush")? {
                self.0.call_method0(py, "flush")?;
            }
            Ok::<_, PyErr>(())
        })
        .map_err(io::Error::other)
    }
}

/// A backup's layers as `Layers.codec_args()` gives them: `encryption` is (cipher name,
/// key material); `level` is zstd's when writing (0: its default).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct LayerArgs {
    zstd: bool,
    level: i32,
    encryption: Option<(String, Vec<u8>)>,
}

impl LayerArgs {
    pub(crate) fn into_layers(self) -> Result<Layers> {
        let encryption = self
            .encryption
            .map(|(name, material)| {
                let cipher = Cipher::from_name(&name)
                    .ok_or_else(|| value(format!("unknown cipher {name:?}")))?;
                Ok::<_, Error>(EncryptionKey::from_material(cipher, &material))
            })
            .transpose()?;
        Ok(Layers {
            zstd: self.zstd,
            zstd_level: self.level,
            encryption,
        })
    }
}

pub(crate) fn open_source(
    source: &Bound<'_, PyAny>,
    layers: &Layers,
    raw_count: Arc<AtomicU64>,
) -> Result<BoxedReader<'static>> {
    if let Ok(path) = source.extract::<PathBuf>() {
        return Ok(open_path(&path, layers, raw_count)?);
    }
    if source.hasattr("read")? {
        let label = source
            .getattr("name")
            .and_then(|n| n.extract::<String>())
            .unwrap_or_else(|_| "<stream>".to_string());
        let reader = PyReader(source.clone().unbind());
        return Ok(open_stream(reader, layers, &label, raw_count)?);
    }
    Err(PyTypeError::new_err("source must be a path, \"-\" or a binary file object").into())
}

/// A path or `-` as the core opens it, or a Python object with `read`: raw bytes and
/// their name.
pub(crate) fn open_input(source: &Bound<'_, PyAny>) -> Result<(Box<dyn Read + Send>, String)> {
    if let Ok(path) = source.extract::<PathBuf>() {
        return Ok(asb_core::source::open_input(&path)?);
    }
    if source.hasattr("read")? {
        return Ok((
            Box::new(PyReader(source.clone().unbind())),
            "<stream>".into(),
        ));
    }
    Err(PyTypeError::new_err("source must be a path, \"-\" or a binary file object").into())
}

/// As [`open_dest`]; an `s3://` URL is an upload that `StagedFiles::commit` completes once
/// the output is whole (dropped without it, the upload is aborted).
pub(crate) fn open_dest_staged(
    dest: &Bound<'_, PyAny>,
) -> Result<(Box<dyn Write + Send>, Option<StagedFiles>)> {
    if let Some(url) = dest
        .extract::<PathBuf>()
        .ok()
        .filter(|p| remote_url(p).is_some())
    {
        let mut staged = StagedFiles::default();
        let out = staged.replace(url)?;
        return Ok((out, Some(staged)));
    }
    Ok((open_dest(dest)?, None))
}

/// A path or `-` as the core opens it, or a Python object with `write`.
pub(crate) fn open_dest(dest: &Bound<'_, PyAny>) -> Result<Box<dyn Write + Send>> {
    if let Ok(path) = dest.extract::<PathBuf>() {
        return Ok(create_output(&path)?);
    }
    if dest.hasattr("write")? {
        return Ok(Box::new(PyWriter(dest.clone().unbind())));
    }
    Err(PyTypeError::new_err("dest must be a path, \"-\" or a binary file object").into())
}

/// Calls `progress(raw bytes read so far)`, if given, holding the GIL only for the call.
pub(crate) fn progress_tick<'a>(
    progress: &'a Option<PyObject>,
    raw: &'a AtomicU64,
) -> impl Fn() -> asb_core::Result<()> + 'a {
    move || {
        if let Some(cb) = progress {
            Python::with_gil(|py| cb.call1(py, (raw.load(Ordering::Relaxed),)))
                .map_err(|e| asb_core::Error::layer(format!("progress callback failed: {e}")))?;
        }
        Ok(())
    }
}

/// Iterates the entities of one backup stream.
#[pyclass(module = "asbkit._codec")]
pub(crate) struct Reader {
    // Mutex: pyclasses must be Sync; the stream is only ever used by one caller at a time.
    inner: Mutex<Option<BoxedReader<'static>>>,
    header: Py<Header>,
    raw_count: Arc<AtomicU64>,
}

#[pymethods]
impl Reader {
    #[new]
    #[pyo3(signature = (source, *, layers))]
    fn new(py: Python<'_>, source: &Bound<'_, PyAny>, layers: LayerArgs) -> Result<Reader> {
        let layers = layers.into_layers()?;
        let raw_count = Arc::new(AtomicU64::new(0));
        let inner = open_source(source, &layers, raw_count.clone())?;
        let header = Py::new(py, header_from_core(py, inner.header()))?;
        Ok(Reader {
            inner: Mutex::new(Some(inner)),
            header,
            raw_count,
        })
    }

    #[getter]
    fn header(&self, py: Python<'_>) -> Py<Header> {
        self.header.clone_ref(py)
    }

    /// Raw (still compressed/encrypted) bytes read so far.
    #[getter]
    fn raw_bytes(&self) -> u64 {
        self.raw_count.load(Ordering::Relaxed)
    }

    /// Decoded text bytes consumed so far.
    #[getter]
    fn text_bytes(&self) -> u64 {
        self.inner
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, |r| r.offset())
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> Result<Option<PyObject>> {
        let mut guard = self.inner.lock().unwrap();
        let Some(reader) = guard.as_mut() else {
            return Ok(None);
        };
        let entity = match reader.next_entity() {
            Ok(Some(e)) => e,
            Ok(None) => {
                *guard = None;
                return Ok(None);
            }
            Err(e) => {
                *guard = None;
                return Err(e.into());
            }
        };
        Ok(Some(entity_to_py(py, entity)?))
    }
}

/// Writes one backup stream; call `close()` to end the layers.
#[pyclass(module = "asbkit._codec")]
pub(crate) struct Writer {
    inner: Mutex<WriterState>,
}

struct WriterState {
    writer: Option<asb_core::Writer<LayeredWriter<Box<dyn Write + Send>>>>,
    /// An `s3://` destination: its upload, completed by `close()`.
    staged: Option<StagedFiles>,
    scratch: asb_core::Record,
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (dest, header, *, layers))]
    fn new(
        py: Python<'_>,
        dest: &Bound<'_, PyAny>,
        header: &Header,
        layers: LayerArgs,
    ) -> Result<Writer> {
        let layers = layers.into_layers()?;
        let (out, staged) = open_dest_staged(dest)?;
        let layered = LayeredWriter::new(out, &layers)?;
        let inner = asb_core::Writer::new(layered, &header_to_core(py, header)?)?;
        Ok(Writer {
            inner: Mutex::new(WriterState {
                writer: Some(inner),
                staged,
                scratch: asb_core::Record::new(),
            }),
        })
    }

    /// Writes a Record, SecondaryIndex or Udf.
    fn write(&self, py: Python<'_>, entity: &Bound<'_, PyAny>) -> Result<()> {
        let mut guard = self.inner.lock().unwrap();
        let state = &mut *guard;
        let w = state
            .writer
            .as_mut()
            .ok_or_else(|| value("the writer is closed"))?;
        match entity_to_core(py, entity, &mut state.scratch)? {
            Entity::Record(r) => w.write_record(r)?,
            Entity::SecondaryIndex(s) => w.write_sindex(&s)?,
            Entity::Udf(u) => w.write_udf(&u)?,
        }
        Ok(())
    }

    /// Text bytes written so far (before compression and encryption).
    #[getter]
    fn text_bytes(&self) -> u64 {
        self.inner
            .lock()
            .unwrap()
            .writer
            .as_ref()
            .map_or(0, |w| w.text_bytes())
    }

    /// Ends the layers; an `s3://` object appears, whole, only now.
    fn close(&self, py: Python<'_>) -> Result<()> {
        let (writer, staged) = {
            let mut state = self.inner.lock().unwrap();
            (state.writer.take(), state.staged.take())
        };
        py.allow_threads(|| {
            if let Some(w) = writer {
                drop(w.into_inner().and_then(|l| l.finish())?);
            }
            staged.map(|s| s.commit()).transpose()
        })?;
        Ok(())
    }

    /// Gives the output up: an `s3://` upload is aborted (a local file is the caller's).
    fn abort(&self) {
        let mut state = self.inner.lock().unwrap();
        state.writer.take();
        state.staged.take();
    }
}

/// The `*.asb` files of a directory (or under an `s3://` prefix), sorted by name; names as
/// text, since a URL is no path (a `pathlib.Path` would fold its `//`).
#[pyfunction]
pub(crate) fn list_backup_files(py: Python<'_>, dir: PathBuf) -> Result<Vec<String>> {
    let files = py.allow_threads(move || backup_files(&dir))?;
    Ok(files
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// Where a plain backup file can be cut for readers on other hosts: the proven record
/// boundaries about `piece_size` apart (empty: read it whole).
#[pyfunction]
#[pyo3(signature = (path, piece_size, *, threads))]
pub(crate) fn proven_cuts(
    py: Python<'_>,
    path: PathBuf,
    piece_size: u64,
    threads: usize,
) -> Result<Vec<u64>> {
    Ok(py.allow_threads(move || {
        asb_core::parallel::proven_cuts(&path, &asb_core::Layers::default(), piece_size, threads)
    })?)
}

/// Writes a synthetic backup of at least `target_bytes` of text; returns (records, bytes).
#[pyfunction]
#[pyo3(signature = (path, target_bytes, *, seed, layers))]
pub(crate) fn write_synthetic(
    py: Python<'_>,
    path: PathBuf,
    target_bytes: u64,
    seed: u64,
    layers: LayerArgs,
) -> Result<(u64, u64)> {
    let layers = layers.into_layers()?;
    let counts = py.allow_threads(|| {
        let mut out = LayeredWriter::new(create_output(&path)?, &layers)?;
        let counts = asb_core::synth::write_synthetic(&mut out, target_bytes, seed)?;
        out.finish()?;
        Ok::<_, asb_core::Error>(counts)
    })?;
    Ok(counts)
}

/// Where to write the output `dest` and the temporary name to rename onto it when complete
/// (`None`: written in place, as pipes and devices are). The rule of
/// `asb_core::source::Output`, for outputs that Python renames itself.
#[pyfunction]
pub(crate) fn stage_output(dest: PathBuf) -> Result<(PathBuf, Option<PathBuf>)> {
    match asb_core::source::stage_output(&dest)? {
        asb_core::source::Output::InPlace => Ok((dest, None)),
        asb_core::source::Output::Staged(_, tmp) => Ok((tmp.clone(), Some(tmp))),
    }
}
