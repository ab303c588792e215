//! The entity pyclasses (Header, Key, Bin, Record, SecondaryIndex, Udf) and their
//! conversions to and from the core's types; names and string values as `str`.

use asb_core::{BlobType, Entity, Meta, Version};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

/// Names and string values are bytes in the format; Python sees `str` with undecodable
/// bytes kept as surrogates (PEP 383), so nothing is lost either way.
pub(crate) fn py_text<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyAny> {
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

/// A name given as `str` (its surrogate escapes kept as the bytes they stand for) or `bytes`.
pub(crate) struct Text(pub(crate) Vec<u8>);

impl<'py> FromPyObject<'py> for Text {
    fn extract_bound(obj: &Bound<'py, PyAny>) -> PyResult<Text> {
        text_bytes(obj).map(Text)
    }
}

pub(crate) fn text_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
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

pub(crate) fn opt_text<'py>(py: Python<'py>, b: Option<&[u8]>) -> Option<Bound<'py, PyAny>> {
    b.map(|b| py_text(py, b))
}

#[pyclass(frozen, module = "asbkit._codec")]
pub(crate) struct Header {
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
    /// `version`: None for the one C asbackup writes.
    #[new]
    #[pyo3(signature = (namespace, first_file=false, version=None))]
    fn new(namespace: Option<PyObject>, first_file: bool, version: Option<String>) -> Header {
        Header {
            version: version.unwrap_or_else(|| Version::default().as_str().to_string()),
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

pub(crate) fn header_to_core(py: Python<'_>, h: &Header) -> PyResult<asb_core::Header> {
    if let Some(read_as) = &h.read_as {
        return Ok(read_as.clone());
    }
    let version = Version::parse(h.version.as_bytes())
        .ok_or_else(|| PyValueError::new_err(format!("unknown version {:?}", h.version)))?;
    let mut meta = Vec::new();
    if let Some(ns) = &h.namespace {
        meta.push(Meta::Namespace(text_bytes(ns.bind(py))?));
    }
    if h.first_file {
        meta.push(Meta::FirstFile);
    }
    Ok(asb_core::Header { version, meta })
}

pub(crate) fn header_from_core(py: Python<'_>, h: &asb_core::Header) -> Header {
    Header {
        version: h.version.as_str().to_string(),
        namespace: opt_text(py, h.namespace()).map(Bound::unbind),
        first_file: h.first_file(),
        read_as: Some(h.clone()),
    }
}

#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct Key {
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
pub(crate) struct Bin {
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
pub(crate) struct Record {
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
pub(crate) struct SecondaryIndex {
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

pub(crate) fn sindex_from_core(py: Python<'_>, s: &asb_core::SecondaryIndex) -> SecondaryIndex {
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
pub(crate) struct Udf {
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

fn udf_from_core(py: Python<'_>, u: &asb_core::Udf) -> Udf {
    Udf {
        name: py_text(py, &u.name).unbind(),
        content: PyBytes::new(py, &u.content).unbind(),
        udf_type: (u.udf_type as char).to_string(),
    }
}

fn udf_to_core(py: Python<'_>, u: &Udf) -> PyResult<asb_core::Udf> {
    Ok(asb_core::Udf {
        udf_type: one_letter(&u.udf_type, "udf_type")?,
        name: text_bytes(u.name.bind(py))?,
        content: u.content.bind(py).as_bytes().to_vec(),
    })
}

/// An entity read by the core as the Python object it becomes.
pub(crate) fn entity_to_py(py: Python<'_>, entity: Entity<'_>) -> PyResult<PyObject> {
    Ok(match entity {
        Entity::Record(r) => Py::new(py, record_from_core(py, r)?)?.into_any(),
        Entity::SecondaryIndex(s) => Py::new(py, sindex_from_core(py, &s))?.into_any(),
        Entity::Udf(u) => Py::new(py, udf_from_core(py, &u))?.into_any(),
    })
}

/// A Python Record, SecondaryIndex or Udf as the core entity it stands for; a record is
/// converted into `scratch`, which the entity then borrows.
pub(crate) fn entity_to_core<'a>(
    py: Python<'_>,
    entity: &Bound<'_, PyAny>,
    scratch: &'a mut asb_core::Record,
) -> PyResult<Entity<'a>> {
    if let Ok(r) = entity.downcast::<Record>() {
        record_to_core(py, r.get(), scratch)?;
        Ok(Entity::Record(scratch))
    } else if let Ok(s) = entity.downcast::<SecondaryIndex>() {
        Ok(Entity::SecondaryIndex(sindex_to_core(py, s.get())?))
    } else if let Ok(u) = entity.downcast::<Udf>() {
        Ok(Entity::Udf(udf_to_core(py, u.get())?))
    } else {
        Err(PyTypeError::new_err(
            "expected a Record, SecondaryIndex or Udf",
        ))
    }
}

/// Record digest from set and user key (RIPEMD-160, as the C client computes it).
#[pyfunction]
#[pyo3(signature = (set, key))]
pub(crate) fn compute_digest<'py>(
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
