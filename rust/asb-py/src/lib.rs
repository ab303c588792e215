//! Python binding of `asb-core`: converts types and errors, nothing else.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use asb_core::convert::{self, Counts, Filter};
use asb_core::deep::DeepCheck;
use asb_core::layers::LayeredWriter;
use asb_core::source::{backup_files, open_path, open_stream, BoxedReader, StagedFiles};
use asb_core::summary::{Summary, BIN_LETTERS, KEY_LETTERS};
use asb_core::{BlobType, Cipher, EncryptionKey, Entity, ErrorKind, Layers, Meta, Version};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

pyo3::import_exception!(asbkit.errors, AsbParseError);
pyo3::import_exception!(asbkit.errors, AsbLayerError);
pyo3::import_exception!(asbkit.errors, AsbKeyError);
pyo3::import_exception!(asbkit.errors, AsbWriteError);

fn to_py_err(e: asb_core::Error) -> PyErr {
    let pos = e.position;
    let args = (
        e.message.clone(),
        e.path.clone(),
        pos.map(|p| p.line),
        pos.map(|p| p.column),
        pos.map(|p| p.offset),
    );
    match e.kind {
        ErrorKind::Parse => AsbParseError::new_err(args),
        ErrorKind::Layer => AsbLayerError::new_err(args),
        ErrorKind::Key => AsbKeyError::new_err(args),
        ErrorKind::Value => AsbWriteError::new_err(args),
        ErrorKind::Io(io) => {
            let msg = match &e.path {
                Some(p) => format!("{p}: {io}"),
                None => io.to_string(),
            };
            PyOSError::new_err((io.raw_os_error().unwrap_or(0), msg))
        }
    }
}

/// Names and string values are bytes in the format; Python sees `str` with undecodable
/// bytes kept as surrogates (PEP 383), so nothing is lost either way.
fn py_text<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyAny> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return PyString::new(py, s).into_any();
    }
    let ptr = unsafe {
        pyo3::ffi::PyUnicode_DecodeUTF8(
            bytes.as_ptr().cast(),
            bytes.len() as pyo3::ffi::Py_ssize_t,
            c"surrogateescape".as_ptr(),
        )
    };
    unsafe { Bound::from_owned_ptr(py, ptr) }
}

fn text_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let s = obj
        .downcast::<PyString>()
        .map_err(|_| PyTypeError::new_err("expected str or bytes"))?;
    if let Ok(s) = s.to_str() {
        return Ok(s.as_bytes().to_vec());
    }
    let b = s.call_method1("encode", ("utf-8", "surrogateescape"))?;
    Ok(b.downcast::<PyBytes>()?.as_bytes().to_vec())
}

fn opt_text<'py>(py: Python<'py>, b: Option<&[u8]>) -> Option<Bound<'py, PyAny>> {
    b.map(|b| py_text(py, b))
}

/// A Python object with `readinto` (or `read`), seen from Rust.
struct PyReader(Py<PyAny>);

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
struct PyWriter(Py<PyAny>);

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

fn layers(
    zstd: bool,
    level: i32,
    cipher: Option<&str>,
    key_material: Option<&[u8]>,
) -> PyResult<Layers> {
    let encryption = match (cipher, key_material) {
        (None, None) => None,
        (Some(c), Some(m)) => {
            let cipher = match c {
                "aes128" => Cipher::Aes128,
                "aes256" => Cipher::Aes256,
                other => return Err(PyValueError::new_err(format!("unknown cipher {other:?}"))),
            };
            Some(EncryptionKey::from_material(cipher, m))
        }
        (Some(_), None) => {
            return Err(AsbKeyError::new_err(
                ("encryption needs a key".to_string(),),
            ))
        }
        (None, Some(_)) => return Err(PyValueError::new_err("a key was given without a cipher")),
    };
    Ok(Layers {
        zstd,
        zstd_level: level,
        encryption,
    })
}

fn open_source(
    source: &Bound<'_, PyAny>,
    layers: &Layers,
    raw_count: Arc<AtomicU64>,
) -> PyResult<BoxedReader<'static>> {
    if let Ok(path) = source.extract::<PathBuf>() {
        return open_path(&path, layers, raw_count).map_err(to_py_err);
    }
    if source.hasattr("read")? {
        let label = source
            .getattr("name")
            .and_then(|n| n.extract::<String>())
            .unwrap_or_else(|_| "<stream>".to_string());
        let reader = PyReader(source.clone().unbind());
        return open_stream(reader, layers, &label, raw_count).map_err(to_py_err);
    }
    Err(PyTypeError::new_err(
        "source must be a path, \"-\" or a binary file object",
    ))
}

#[pyclass(frozen, module = "asbkit._codec")]
pub struct Header {
    #[pyo3(get)]
    version: String,
    #[pyo3(get)]
    namespace: Option<PyObject>,
    #[pyo3(get)]
    first_file: bool,
    /// The header as read, so meta lines keep their file order when written back.
    read_as: Option<asb_core::Header>,
}

#[pymethods]
impl Header {
    #[new]
    #[pyo3(signature = (namespace, first_file=false, version="3.1".to_string()))]
    fn new(namespace: Option<PyObject>, first_file: bool, version: String) -> Header {
        Header {
            version,
            namespace,
            first_file,
            read_as: None,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Header(version={:?}, namespace={}, first_file={})",
            self.version,
            repr_opt(py, &self.namespace),
            py_bool(self.first_file)
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn repr_opt(py: Python<'_>, o: &Option<PyObject>) -> String {
    match o {
        Some(o) => o.bind(py).repr().map(|r| r.to_string()).unwrap_or_default(),
        None => "None".into(),
    }
}

fn header_to_core(py: Python<'_>, h: &Header) -> PyResult<asb_core::Header> {
    if let Some(read_as) = &h.read_as {
        return Ok(read_as.clone());
    }
    let version = match h.version.as_str() {
        "3.0" => Version::V3_0,
        "3.1" => Version::V3_1,
        "3.2" => Version::V3_2,
        "3.3" => Version::V3_3,
        v => return Err(PyValueError::new_err(format!("unknown version {v:?}"))),
    };
    let mut meta = Vec::new();
    if let Some(ns) = &h.namespace {
        meta.push(Meta::Namespace(text_bytes(ns.bind(py))?));
    }
    if h.first_file {
        meta.push(Meta::FirstFile);
    }
    Ok(asb_core::Header { version, meta })
}

fn header_from_core(py: Python<'_>, h: &asb_core::Header) -> Header {
    Header {
        version: h.version.as_str().to_string(),
        namespace: opt_text(py, h.namespace()).map(Bound::unbind),
        first_file: h.first_file(),
        read_as: Some(h.clone()),
    }
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub struct Key {
    /// `I`, `D`, `S` or `B`.
    r#type: String,
    value: PyObject,
    compact: bool,
}

#[pymethods]
impl Key {
    #[new]
    #[pyo3(signature = (r#type, value, compact=false))]
    fn new(r#type: String, value: PyObject, compact: bool) -> Key {
        Key {
            r#type,
            value,
            compact,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Key({:?}, {}, compact={})",
            self.r#type,
            repr_opt(py, &Some(self.value.clone_ref(py))),
            py_bool(self.compact)
        )
    }
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub struct Bin {
    name: PyObject,
    /// The bin letter: `N Z I D S G` or a blob letter `B J C P R H E Y M L`.
    r#type: String,
    value: PyObject,
    compact: bool,
}

#[pymethods]
impl Bin {
    #[new]
    #[pyo3(signature = (name, r#type, value, compact=false))]
    fn new(name: PyObject, r#type: String, value: PyObject, compact: bool) -> Bin {
        Bin {
            name,
            r#type,
            value,
            compact,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Bin({}, {:?}, {}{})",
            repr_opt(py, &Some(self.name.clone_ref(py))),
            self.r#type,
            repr_opt(py, &Some(self.value.clone_ref(py))),
            if self.compact { ", compact=True" } else { "" }
        )
    }
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub struct Record {
    namespace: PyObject,
    set: Option<PyObject>,
    key: Option<Py<Key>>,
    digest: Py<PyBytes>,
    generation: u16,
    void_time: u32,
    bins: Py<PyList>,
}

#[pymethods]
impl Record {
    #[new]
    #[pyo3(signature = (namespace, digest, bins, *, set=None, key=None, generation=1, void_time=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        namespace: PyObject,
        digest: Py<PyBytes>,
        bins: Py<PyList>,
        set: Option<PyObject>,
        key: Option<Py<Key>>,
        generation: u16,
        void_time: u32,
    ) -> Record {
        Record {
            namespace,
            set,
            key,
            digest,
            generation,
            void_time,
            bins,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Record(namespace={}, set={}, digest={}, key={}, generation={}, void_time={}, bins={})",
            repr_opt(py, &Some(self.namespace.clone_ref(py))),
            repr_opt(py, &self.set),
            repr_opt(py, &Some(self.digest.clone_ref(py).into_any())),
            repr_opt(py, &self.key.as_ref().map(|k| k.clone_ref(py).into_any())),
            self.generation,
            self.void_time,
            repr_opt(py, &Some(self.bins.clone_ref(py).into_any())),
        )
    }
}

fn record_from_core(py: Python<'_>, r: &asb_core::Record) -> PyResult<Record> {
    use asb_core::Value as V;
    let key = match r.key() {
        None => None,
        Some(k) => {
            let (t, value, compact) = match k {
                asb_core::Key::Int(v) => ("I", v.into_pyobject(py)?.into_any(), false),
                asb_core::Key::Double(v) => ("D", v.into_pyobject(py)?.into_any(), false),
                asb_core::Key::Str(s) => ("S", py_text(py, s), false),
                asb_core::Key::Bytes { bytes, compact } => {
                    ("B", PyBytes::new(py, bytes).into_any(), compact)
                }
            };
            Some(Py::new(
                py,
                Key {
                    r#type: t.to_string(),
                    value: value.unbind(),
                    compact,
                },
            )?)
        }
    };
    let bins = PyList::empty(py);
    for (name, value) in r.bins() {
        let (v, compact) = match value {
            V::Nil => (py.None().into_bound(py), false),
            V::Bool(b) => (pyo3::types::PyBool::new(py, b).to_owned().into_any(), false),
            V::Int(i) => (i.into_pyobject(py)?.into_any(), false),
            V::Double(d) => (d.into_pyobject(py)?.into_any(), false),
            V::Str(s) | V::GeoJson(s) => (py_text(py, s), false),
            V::Blob { bytes, compact, .. } => (PyBytes::new(py, bytes).into_any(), compact),
        };
        let letter = (value.letter() as char).to_string();
        bins.append(Bin {
            name: py_text(py, name).unbind(),
            r#type: letter,
            value: v.unbind(),
            compact,
        })?;
    }
    Ok(Record {
        namespace: py_text(py, r.namespace()).unbind(),
        set: opt_text(py, r.set()).map(Bound::unbind),
        key,
        digest: PyBytes::new(py, &r.digest).unbind(),
        generation: r.generation,
        void_time: r.void_time,
        bins: bins.unbind(),
    })
}

/// A Python `Key` as the core sees it; string and bytes values are copied into `bytes`.
fn key_to_core<'a>(py: Python<'_>, k: &Key, bytes: &'a mut Vec<u8>) -> PyResult<asb_core::Key<'a>> {
    let v = k.value.bind(py);
    Ok(match k.r#type.as_str() {
        "I" => asb_core::Key::Int(v.extract()?),
        "D" => asb_core::Key::Double(v.extract()?),
        "S" => {
            *bytes = text_bytes(v)?;
            asb_core::Key::Str(bytes)
        }
        "B" => {
            *bytes = v.downcast::<PyBytes>()?.as_bytes().to_vec();
            asb_core::Key::Bytes {
                bytes,
                compact: k.compact,
            }
        }
        t => return Err(PyValueError::new_err(format!("invalid key type {t:?}"))),
    })
}

fn record_to_core(py: Python<'_>, r: &Record, out: &mut asb_core::Record) -> PyResult<()> {
    use asb_core::Value as V;
    out.clear();
    out.set_namespace(&text_bytes(r.namespace.bind(py))?);
    let set = r.set.as_ref().map(|s| text_bytes(s.bind(py))).transpose()?;
    out.set_set(set.as_deref());
    let digest = r.digest.bind(py).as_bytes();
    out.digest = digest.try_into().map_err(|_| {
        PyValueError::new_err(format!("a digest is 20 bytes, not {}", digest.len()))
    })?;
    out.generation = r.generation;
    out.void_time = r.void_time;
    let mut key_bytes = Vec::new();
    match &r.key {
        None => out.set_key(None),
        Some(k) => out.set_key(Some(key_to_core(py, k.get(), &mut key_bytes)?)),
    }
    for bin in r.bins.bind(py).iter() {
        let bin = bin.downcast::<Bin>()?.get();
        let name = text_bytes(bin.name.bind(py))?;
        let v = bin.value.bind(py);
        let letter = bin.r#type.as_bytes();
        let letter = if letter.len() == 1 { letter[0] } else { 0 };
        let text;
        let value = match letter {
            b'N' => V::Nil,
            b'Z' => V::Bool(v.extract()?),
            b'I' => V::Int(v.extract()?),
            b'D' => V::Double(v.extract()?),
            b'S' | b'G' => {
                text = text_bytes(v)?;
                if letter == b'S' {
                    V::Str(&text)
                } else {
                    V::GeoJson(&text)
                }
            }
            _ => match BlobType::from_letter(letter) {
                Some(blob_type) => V::Blob {
                    blob_type,
                    bytes: v.downcast::<PyBytes>()?.as_bytes(),
                    compact: bin.compact,
                },
                None => {
                    return Err(PyValueError::new_err(format!(
                        "invalid bin type {:?}",
                        bin.r#type
                    )))
                }
            },
        };
        out.push_bin(&name, value);
    }
    Ok(())
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub struct SecondaryIndex {
    namespace: PyObject,
    set: PyObject,
    name: PyObject,
    index_type: String,
    /// (bin name, path type) pairs.
    paths: Vec<(PyObject, String)>,
    context: Option<PyObject>,
    expression: Option<PyObject>,
}

#[pymethods]
impl SecondaryIndex {
    #[new]
    #[pyo3(signature = (namespace, set, name, index_type, paths, context=None, expression=None))]
    fn new(
        namespace: PyObject,
        set: PyObject,
        name: PyObject,
        index_type: String,
        paths: Vec<(PyObject, String)>,
        context: Option<PyObject>,
        expression: Option<PyObject>,
    ) -> SecondaryIndex {
        SecondaryIndex {
            namespace,
            set,
            name,
            index_type,
            paths,
            context,
            expression,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SecondaryIndex(namespace={}, set={}, name={}, index_type={:?}, paths=[{}], context={})",
            repr_opt(py, &Some(self.namespace.clone_ref(py))),
            repr_opt(py, &Some(self.set.clone_ref(py))),
            repr_opt(py, &Some(self.name.clone_ref(py))),
            self.index_type,
            self.paths
                .iter()
                .map(|(p, t)| format!("({}, {t:?})", repr_opt(py, &Some(p.clone_ref(py)))))
                .collect::<Vec<_>>()
                .join(", "),
            repr_opt(py, &self.context),
        )
    }
}

fn one_letter(s: &str, what: &str) -> PyResult<u8> {
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(PyValueError::new_err(format!(
            "{what} must be one letter, not {s:?}"
        ))),
    }
}

fn sindex_from_core(py: Python<'_>, s: &asb_core::SecondaryIndex) -> SecondaryIndex {
    SecondaryIndex {
        namespace: py_text(py, &s.namespace).unbind(),
        set: py_text(py, &s.set).unbind(),
        name: py_text(py, &s.name).unbind(),
        index_type: (s.index_type as char).to_string(),
        paths: s
            .paths
            .iter()
            .map(|(p, t)| (py_text(py, p).unbind(), (*t as char).to_string()))
            .collect(),
        context: s.context.as_deref().map(|c| py_text(py, c).unbind()),
        expression: s.expression.as_deref().map(|c| py_text(py, c).unbind()),
    }
}

fn sindex_to_core(py: Python<'_>, s: &SecondaryIndex) -> PyResult<asb_core::SecondaryIndex> {
    let opt = |o: &Option<PyObject>| o.as_ref().map(|o| text_bytes(o.bind(py))).transpose();
    Ok(asb_core::SecondaryIndex {
        namespace: text_bytes(s.namespace.bind(py))?,
        set: text_bytes(s.set.bind(py))?,
        name: text_bytes(s.name.bind(py))?,
        index_type: one_letter(&s.index_type, "index_type")?,
        paths: s
            .paths
            .iter()
            .map(|(p, t)| Ok((text_bytes(p.bind(py))?, one_letter(t, "path type")?)))
            .collect::<PyResult<_>>()?,
        context: opt(&s.context)?,
        expression: opt(&s.expression)?,
    })
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub struct Udf {
    name: PyObject,
    content: Py<PyBytes>,
    udf_type: String,
}

#[pymethods]
impl Udf {
    #[new]
    #[pyo3(signature = (name, content, udf_type="L".to_string()))]
    fn new(name: PyObject, content: Py<PyBytes>, udf_type: String) -> Udf {
        Udf {
            name,
            content,
            udf_type,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Udf({}, <{} bytes>)",
            repr_opt(py, &Some(self.name.clone_ref(py))),
            self.content.bind(py).as_bytes().len()
        )
    }
}

/// Iterates the entities of one backup stream.
#[pyclass(module = "asbkit._codec")]
pub struct Reader {
    // Mutex: pyclasses must be Sync; the stream is only ever used by one caller at a time.
    inner: Mutex<Option<BoxedReader<'static>>>,
    header: Py<Header>,
    raw_count: Arc<AtomicU64>,
}

#[pymethods]
impl Reader {
    #[new]
    #[pyo3(signature = (source, *, zstd=false, cipher=None, key_material=None))]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        zstd: bool,
        cipher: Option<&str>,
        key_material: Option<&[u8]>,
    ) -> PyResult<Reader> {
        let layers = layers(zstd, 0, cipher, key_material)?;
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

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyObject>> {
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
                return Err(to_py_err(e));
            }
        };
        Ok(Some(match entity {
            Entity::Record(r) => Py::new(py, record_from_core(py, r)?)?.into_any(),
            Entity::SecondaryIndex(s) => Py::new(py, sindex_from_core(py, &s))?.into_any(),
            Entity::Udf(u) => Py::new(
                py,
                Udf {
                    name: py_text(py, &u.name).unbind(),
                    content: PyBytes::new(py, &u.content).unbind(),
                    udf_type: (u.udf_type as char).to_string(),
                },
            )?
            .into_any(),
        }))
    }
}

/// Writes one backup stream; call `close()` to end the layers.
#[pyclass(module = "asbkit._codec")]
pub struct Writer {
    inner: Mutex<WriterState>,
}

struct WriterState {
    writer: Option<asb_core::Writer<LayeredWriter<Box<dyn Write + Send>>>>,
    scratch: asb_core::Record,
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (dest, header, *, zstd=false, level=0, cipher=None, key_material=None))]
    fn new(
        py: Python<'_>,
        dest: &Bound<'_, PyAny>,
        header: &Header,
        zstd: bool,
        level: i32,
        cipher: Option<&str>,
        key_material: Option<&[u8]>,
    ) -> PyResult<Writer> {
        let layers = layers(zstd, level, cipher, key_material)?;
        let out: Box<dyn Write + Send> = if let Ok(path) = dest.extract::<PathBuf>() {
            if path.as_os_str() == "-" {
                Box::new(io::stdout())
            } else {
                let label = path.display().to_string();
                let file = std::fs::File::create(&path)
                    .map_err(|e| to_py_err(asb_core::Error::from(e).with_path(label)))?;
                Box::new(io::BufWriter::with_capacity(1 << 20, file))
            }
        } else if dest.hasattr("write")? {
            Box::new(PyWriter(dest.clone().unbind()))
        } else {
            return Err(PyTypeError::new_err(
                "dest must be a path, \"-\" or a binary file object",
            ));
        };
        let layered = LayeredWriter::new(out, &layers).map_err(to_py_err)?;
        let inner =
            asb_core::Writer::new(layered, &header_to_core(py, header)?).map_err(to_py_err)?;
        Ok(Writer {
            inner: Mutex::new(WriterState {
                writer: Some(inner),
                scratch: asb_core::Record::new(),
            }),
        })
    }

    /// Writes a Record, SecondaryIndex or Udf.
    fn write(&self, py: Python<'_>, entity: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut guard = self.inner.lock().unwrap();
        let state = &mut *guard;
        let w = state
            .writer
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("the writer is closed"))?;
        if let Ok(r) = entity.downcast::<Record>() {
            record_to_core(py, r.get(), &mut state.scratch)?;
            w.write_record(&state.scratch)
        } else if let Ok(s) = entity.downcast::<SecondaryIndex>() {
            w.write_sindex(&sindex_to_core(py, s.get())?)
        } else if let Ok(u) = entity.downcast::<Udf>() {
            let u = u.get();
            w.write_udf(&asb_core::Udf {
                udf_type: one_letter(&u.udf_type, "udf_type")?,
                name: text_bytes(u.name.bind(py))?,
                content: u.content.bind(py).as_bytes().to_vec(),
            })
        } else {
            return Err(PyTypeError::new_err(
                "expected a Record, SecondaryIndex or Udf",
            ));
        }
        .map_err(to_py_err)
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

    fn close(&self) -> PyResult<()> {
        let writer = self.inner.lock().unwrap().writer.take();
        if let Some(w) = writer {
            w.into_inner().and_then(|l| l.finish()).map_err(to_py_err)?;
        }
        Ok(())
    }
}

/// Counts (and with `detail`, statistics; with `deep`, digest and duplicate checks) over
/// any number of backup streams, in Rust.
/// Calls `progress(raw bytes read so far)`, if given, holding the GIL only for the call.
fn progress_tick<'a>(
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

#[pyclass(module = "asbkit._codec")]
pub struct Scanner {
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
    ) -> PyResult<()> {
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
        result.map_err(to_py_err)
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
    ) -> PyResult<()> {
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
        result.map_err(to_py_err)
    }

    /// The summary as plain Python data (ends the deep checks: call it last).
    fn result<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = summary_to_dict(py, &self.summary, self.raw_bytes)?;
        if let Some(deep) = self.deep.as_mut() {
            if !self.deep_done {
                self.deep_done = true;
                py.allow_threads(|| deep.finish()).map_err(to_py_err)?;
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

/// Filter options as Python passes them (keys as (type letter, value) pairs).
#[derive(FromPyObject, Default)]
#[pyo3(from_item_all)]
struct Selection {
    sets: Option<Vec<Vec<u8>>>,
    bins: Option<Vec<Vec<u8>>>,
    namespace: Option<(Vec<u8>, Vec<u8>)>,
    max_records: Option<u64>,
    no_metadata: bool,
    digests: Option<Vec<Vec<u8>>>,
    keys: Option<Vec<(String, PyObject)>>,
    double_text: bool,
}

fn filter_from(py: Python<'_>, sel: Option<Selection>) -> PyResult<Filter> {
    let sel = sel.unwrap_or_default();
    let digests = sel
        .digests
        .map(|ds| {
            let mut v = ds
                .into_iter()
                .map(|d| {
                    <[u8; 20]>::try_from(d.as_slice())
                        .map_err(|_| PyValueError::new_err("a digest is 20 bytes"))
                })
                .collect::<PyResult<Vec<_>>>()?;
            v.sort_unstable();
            Ok::<_, PyErr>(v)
        })
        .transpose()?;
    let keys = sel
        .keys
        .map(|ks| {
            ks.into_iter()
                .map(|(t, v)| {
                    let v = v.bind(py);
                    Ok(match t.as_str() {
                        "I" => convert::SelectKey::Int(v.extract()?),
                        "S" => convert::SelectKey::Str(text_bytes(v)?),
                        "B" => convert::SelectKey::Bytes(v.extract()?),
                        _ => {
                            return Err(PyValueError::new_err(format!("key type {t:?}: I, S or B")))
                        }
                    })
                })
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    Ok(Filter {
        sets: sel.sets,
        bins: sel.bins,
        namespace: sel.namespace,
        max_records: sel.max_records,
        no_metadata: sel.no_metadata,
        digests,
        keys,
        double_text: sel.double_text,
    })
}

fn counts_dict<'py>(py: Python<'py>, c: &Counts) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("records", c.records)?;
    d.set_item("skipped", c.skipped)?;
    d.set_item("indexes", c.indexes)?;
    d.set_item("udfs", c.udfs)?;
    Ok(d)
}

fn open_dest(dest: &Bound<'_, PyAny>) -> PyResult<Box<dyn Write + Send>> {
    if let Ok(path) = dest.extract::<PathBuf>() {
        if path.as_os_str() == "-" {
            return Ok(Box::new(io::BufWriter::with_capacity(
                1 << 20,
                io::stdout(),
            )));
        }
        let label = path.display().to_string();
        let file = std::fs::File::create(&path)
            .map_err(|e| to_py_err(asb_core::Error::from(e).with_path(label)))?;
        return Ok(Box::new(io::BufWriter::with_capacity(1 << 20, file)));
    }
    if dest.hasattr("write")? {
        return Ok(Box::new(PyWriter(dest.clone().unbind())));
    }
    Err(PyTypeError::new_err(
        "dest must be a path, \"-\" or a binary file object",
    ))
}

/// Text per piece when converting big plain files: small enough that the JSON of the pieces
/// in flight stays a few tens of MB.
const CONVERT_PIECE_SIZE: u64 = 4 << 20;

/// `.asb` sources (each with its header) to JSON Lines in `dest`.
#[pyfunction]
#[pyo3(signature = (sources, dest, *, zstd=false, cipher=None, key_material=None, selection=None, threads=None, piece_size=CONVERT_PIECE_SIZE, progress=None))]
#[allow(clippy::too_many_arguments)]
fn asb_to_jsonl<'py>(
    py: Python<'py>,
    sources: Vec<Bound<'py, PyAny>>,
    dest: &Bound<'py, PyAny>,
    zstd: bool,
    cipher: Option<&str>,
    key_material: Option<&[u8]>,
    selection: Option<Selection>,
    threads: Option<usize>,
    piece_size: u64,
    progress: Option<PyObject>,
) -> PyResult<Bound<'py, PyDict>> {
    let layers = layers(zstd, 0, cipher, key_material)?;
    let raw = Arc::new(AtomicU64::new(0));
    let tick = progress_tick(&progress, &raw);
    let filter = filter_from(py, selection)?;
    let mut out = open_dest(dest)?;
    let mut counts = Counts::default();
    let paths: Option<Vec<PathBuf>> = sources
        .iter()
        .map(|s| s.extract::<PathBuf>().ok().filter(|p| p.as_os_str() != "-"))
        .collect();
    let plain = layers.is_plain();
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Two threads (parse | encode) already keep two cores busy, with less memory traffic
    // than pieces whose JSON waits its turn: pieces pay off from three cores on.
    let in_pieces = plain && filter.max_records.is_none() && threads > 2;
    if let Some(paths) = paths.filter(|_| in_pieces) {
        // Plain files: files and pieces of big ones converted on every core.
        py.allow_threads(|| {
            let planned = asb_core::parallel::plan(&paths, &layers, piece_size)?;
            convert::asb_files_to_jsonl(
                &planned,
                &layers,
                threads,
                &raw,
                &mut out,
                &filter,
                &mut counts,
                &tick,
            )?;
            out.flush().map_err(asb_core::Error::from)
        })
        .map_err(to_py_err)?;
        return counts_dict(py, &counts);
    }
    for source in &sources {
        if filter.done(&counts) {
            break;
        }
        let mut reader = open_source(source, &layers, raw.clone())?;
        let file = reader.path().map(convert::file_name);
        py.allow_threads(|| {
            let (name, counts) = (file.as_deref(), &mut counts);
            convert::asb_to_jsonl(&mut reader, name, &mut out, &filter, counts, &tick)
        })
        .map_err(to_py_err)?;
    }
    out.flush().map_err(|e| to_py_err(e.into()))?;
    counts_dict(py, &counts)
}

/// JSON Lines (one backup file) to `.asb` in `dest`, with the given layers.
#[pyfunction]
#[pyo3(signature = (source, dest, *, zstd=false, level=0, cipher=None, key_material=None, selection=None))]
#[allow(clippy::too_many_arguments)]
fn jsonl_to_asb<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    dest: &Bound<'py, PyAny>,
    zstd: bool,
    level: i32,
    cipher: Option<&str>,
    key_material: Option<&[u8]>,
    selection: Option<Selection>,
) -> PyResult<Bound<'py, PyDict>> {
    let layers = layers(zstd, level, cipher, key_material)?;
    let filter = filter_from(py, selection)?;
    let (input, label): (Box<dyn Read + Send>, String) =
        if let Ok(path) = source.extract::<PathBuf>() {
            if path.as_os_str() == "-" {
                (Box::new(io::stdin()), "<stdin>".into())
            } else {
                let label = path.display().to_string();
                let file = std::fs::File::open(&path)
                    .map_err(|e| to_py_err(asb_core::Error::from(e).with_path(label.clone())))?;
                (Box::new(file), label)
            }
        } else if source.hasattr("read")? {
            (
                Box::new(PyReader(source.clone().unbind())),
                "<stream>".into(),
            )
        } else {
            return Err(PyTypeError::new_err(
                "source must be a path, \"-\" or a binary file object",
            ));
        };
    let mut counts = Counts::default();
    let input = io::BufReader::with_capacity(1 << 20, input);
    // A directory gets one file per header (named as the header says); a file gets one.
    let dir = dest.extract::<PathBuf>().ok().filter(|p| p.is_dir());
    if let Some(dir) = dir {
        let mut staged = StagedFiles::default();
        let result = py.allow_threads(|| {
            convert::jsonl_to_asb_files(
                input,
                &label,
                |n, header, file| {
                    let name = file
                        .and_then(|f| std::path::Path::new(f).file_name())
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_else(|| {
                            format!(
                                "{}_{n:05}.asb",
                                String::from_utf8_lossy(header.namespace().unwrap_or(b"backup"))
                            )
                        });
                    let file = staged.create(dir.join(&name))?;
                    LayeredWriter::new(io::BufWriter::with_capacity(1 << 20, file), &layers)
                },
                |w| w.finish().map(drop),
                &filter,
                &mut counts,
            )
        });
        result.map_err(to_py_err)?;
        let files = staged.commit().map_err(to_py_err)?;
        let d = counts_dict(py, &counts)?;
        d.set_item("files", files)?;
        return Ok(d);
    }
    let out = open_dest(dest)?;
    let layered = py
        .allow_threads(|| {
            convert::jsonl_to_asb(
                input,
                &label,
                move |_| LayeredWriter::new(out, &layers),
                &filter,
                &mut counts,
            )
        })
        .map_err(to_py_err)?;
    layered.finish().map_err(to_py_err)?;
    counts_dict(py, &counts)
}

/// `.asb` sources through the filters into `.asb` again: one file (`dest`, or `-`), or with
/// a split, files `<prefix>_<NNNNN>.asb` in the directory `dest`. Parts are written under
/// temporary names and renamed only when all succeeded.
#[pyfunction]
#[pyo3(signature = (sources, dest, *, prefix=None, split_records=None, split_bytes=None, zstd=false, level=0, cipher=None, key_material=None, selection=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn asb_to_asb<'py>(
    py: Python<'py>,
    sources: Vec<Bound<'py, PyAny>>,
    dest: PathBuf,
    prefix: Option<String>,
    split_records: Option<u64>,
    split_bytes: Option<u64>,
    zstd: bool,
    level: i32,
    cipher: Option<&str>,
    key_material: Option<&[u8]>,
    selection: Option<Selection>,
    progress: Option<PyObject>,
) -> PyResult<(Bound<'py, PyDict>, Vec<PathBuf>)> {
    let layers = layers(zstd, level, cipher, key_material)?;
    let raw = Arc::new(AtomicU64::new(0));
    let tick = progress_tick(&progress, &raw);
    let out_layers = layers.clone();
    // A copy keeps doubles as they were written.
    let filter = Filter {
        double_text: true,
        ..filter_from(py, selection)?
    };
    let split = match (split_records, split_bytes) {
        (Some(n), _) => convert::Split::Records(n.max(1)),
        (None, Some(b)) => convert::Split::TextBytes(b.max(1)),
        (None, None) => convert::Split::None,
    };
    let readers = sources
        .iter()
        .map(|s| open_source(s, &layers, raw.clone()))
        .collect::<PyResult<Vec<_>>>()?;
    let to_stdout = dest.as_os_str() == "-";
    if to_stdout && split != convert::Split::None {
        return Err(PyValueError::new_err(
            "a split writes several files: give a directory, not -",
        ));
    }
    let mut counts = Counts::default();
    let mut staged = StagedFiles::default();
    let result = py.allow_threads(|| {
        convert::asb_to_asb(
            readers.into_iter().map(Ok),
            |n, header| {
                let out: Box<dyn Write + Send> = if to_stdout {
                    Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout()))
                } else {
                    let file = if split == convert::Split::None {
                        staged.replace(dest.clone())?
                    } else {
                        let stem = prefix.clone().unwrap_or_else(|| {
                            String::from_utf8_lossy(header.namespace().unwrap_or(b"backup"))
                                .into_owned()
                        });
                        staged.create(dest.join(format!("{stem}_{n:05}.asb")))?
                    };
                    Box::new(io::BufWriter::with_capacity(1 << 20, file))
                };
                LayeredWriter::new(out, &out_layers)
            },
            |w| w.finish().map(drop),
            &filter,
            split,
            &mut counts,
            &tick,
        )
    });
    result.map_err(to_py_err)?;
    let files = staged.commit().map_err(to_py_err)?;
    Ok((counts_dict(py, &counts)?, files))
}

/// The `*.asb` files of a directory, sorted by name.
#[pyfunction]
fn list_backup_files(dir: PathBuf) -> PyResult<Vec<PathBuf>> {
    backup_files(&dir).map_err(to_py_err)
}

/// Writes a synthetic backup of at least `target_bytes` of text; returns (records, bytes).
#[pyfunction]
#[pyo3(signature = (path, target_bytes, *, seed=1, zstd=false, level=0, cipher=None, key_material=None))]
#[allow(clippy::too_many_arguments)]
fn write_synthetic(
    py: Python<'_>,
    path: PathBuf,
    target_bytes: u64,
    seed: u64,
    zstd: bool,
    level: i32,
    cipher: Option<&str>,
    key_material: Option<&[u8]>,
) -> PyResult<(u64, u64)> {
    let layers = layers(zstd, level, cipher, key_material)?;
    py.allow_threads(|| {
        let label = path.display().to_string();
        let file =
            std::fs::File::create(&path).map_err(|e| asb_core::Error::from(e).with_path(label))?;
        let mut out = LayeredWriter::new(io::BufWriter::with_capacity(1 << 20, file), &layers)?;
        let counts = asb_core::synth::write_synthetic(&mut out, target_bytes, seed)?;
        out.finish()?;
        Ok(counts)
    })
    .map_err(to_py_err)
}

/// Record digest from set and user key (RIPEMD-160, as the C client computes it).
#[pyfunction]
#[pyo3(signature = (set, key))]
fn compute_digest<'py>(
    py: Python<'py>,
    set: Option<&Bound<'py, PyAny>>,
    key: &Key,
) -> PyResult<Bound<'py, PyBytes>> {
    let set = set.map(text_bytes).transpose()?.unwrap_or_default();
    let mut bytes = Vec::new();
    let k = key_to_core(py, key, &mut bytes)?;
    Ok(PyBytes::new(
        py,
        &asb_core::digest::compute_digest(&set, &k),
    ))
}

/// Where to write the output `dest` and the temporary name to rename onto it when complete
/// (`None`: written in place, as pipes and devices are). The rule of
/// `asb_core::source::Output`, for outputs that Python renames itself.
#[pyfunction]
fn stage_output(dest: PathBuf) -> PyResult<(PathBuf, Option<PathBuf>)> {
    match asb_core::source::stage_output(&dest).map_err(to_py_err)? {
        asb_core::source::Output::InPlace => Ok((dest, None)),
        asb_core::source::Output::Staged(_, tmp) => Ok((tmp.clone(), Some(tmp))),
    }
}

#[pymodule]
fn _codec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The package's version (maturin takes it from this crate): no metadata lookup at import.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Header>()?;
    m.add_class::<Key>()?;
    m.add_class::<Bin>()?;
    m.add_class::<Record>()?;
    m.add_class::<SecondaryIndex>()?;
    m.add_class::<Udf>()?;
    m.add_class::<Reader>()?;
    m.add_class::<Writer>()?;
    m.add_class::<Scanner>()?;
    m.add_function(wrap_pyfunction!(list_backup_files, m)?)?;
    m.add_function(wrap_pyfunction!(stage_output, m)?)?;
    m.add_function(wrap_pyfunction!(write_synthetic, m)?)?;
    m.add_function(wrap_pyfunction!(compute_digest, m)?)?;
    m.add_function(wrap_pyfunction!(asb_to_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(jsonl_to_asb, m)?)?;
    m.add_function(wrap_pyfunction!(asb_to_asb, m)?)?;
    Ok(())
}
