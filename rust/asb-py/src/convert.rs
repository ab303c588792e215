//! Conversions between `.asb` and JSON Lines, and `.asb` through filters (filter, split),
//! with the selection Python passes.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use asb_core::convert::{self, Counts, Filter};
use asb_core::layers::LayeredWriter;
use asb_core::source::StagedFiles;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py_err;
use crate::files::{layers, open_dest, open_source, progress_tick, PyReader};
use crate::types::text_bytes;

/// Filter options as Python passes them (keys as (type letter, value) pairs).
#[derive(FromPyObject, Default)]
#[pyo3(from_item_all)]
pub(crate) struct Selection {
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

/// Text per piece when converting big plain files: small enough that the JSON of the pieces
/// in flight stays a few tens of MB.
const CONVERT_PIECE_SIZE: u64 = 4 << 20;

/// `.asb` sources (each with its header) to JSON Lines in `dest`.
#[pyfunction]
#[pyo3(signature = (sources, dest, *, zstd=false, cipher=None, key_material=None, selection=None, threads=None, piece_size=CONVERT_PIECE_SIZE, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn asb_to_jsonl<'py>(
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
pub(crate) fn jsonl_to_asb<'py>(
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
pub(crate) fn asb_to_asb<'py>(
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
