//! Conversions between `.asb` and JSON Lines, and `.asb` through filters (filter, split),
//! with the selection Python passes.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use asb_core::convert::{self, Counts, Filter, Input};
use asb_core::source::remote_url;
use pyo3::prelude::*;

use crate::errors::{value, Result};
use crate::files::LayerArgs;
use crate::files::{open_dest_staged, open_input, open_source, progress_tick};
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

fn filter_from(py: Python<'_>, sel: Option<Selection>) -> Result<Filter> {
    let sel = sel.unwrap_or_default();
    let digests = sel
        .digests
        .map(|ds| {
            let mut v = ds
                .into_iter()
                .map(|d| {
                    <[u8; 20]>::try_from(d.as_slice()).map_err(|_| value("a digest is 20 bytes"))
                })
                .collect::<Result<Vec<_>>>()?;
            v.sort_unstable();
            Ok::<_, crate::errors::Error>(v)
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
                        _ => return Err(value(format!("key type {t:?}: I, S or B"))),
                    })
                })
                .collect::<Result<Vec<_>>>()
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

/// What a conversion or copy wrote: records (and those the filters skipped), indexes,
/// UDFs, and the files it made (a directory's, or a split's parts; empty for one stream).
#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct ConvertCounts {
    records: u64,
    skipped: u64,
    indexes: u64,
    udfs: u64,
    /// Names as text: an `s3://` URL is no path.
    files: Vec<String>,
}

impl ConvertCounts {
    fn new(c: &Counts, files: Vec<PathBuf>) -> ConvertCounts {
        ConvertCounts {
            records: c.records,
            skipped: c.skipped,
            indexes: c.indexes,
            udfs: c.udfs,
            files: files
                .into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

/// A split's files (`asbkit split`): `<prefix>_<NNNNN>.asb`, a new one after `records`
/// records, else after `text_bytes` of text.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Parts {
    prefix: Option<String>,
    records: Option<u64>,
    text_bytes: Option<u64>,
}

/// `.asb` sources (each with its header) to JSON Lines in `dest`.
#[pyfunction]
/// `pieces`: (threads, piece size) for big plain files read in pieces.
#[pyo3(signature = (sources, dest, *, layers, selection, pieces, progress=None))]
pub(crate) fn asb_to_jsonl<'py>(
    py: Python<'py>,
    sources: Vec<Bound<'py, PyAny>>,
    dest: &Bound<'py, PyAny>,
    layers: LayerArgs,
    selection: Option<Selection>,
    pieces: (usize, u64),
    progress: Option<PyObject>,
) -> Result<ConvertCounts> {
    let (threads, piece_size) = pieces;
    let layers = layers.into_layers()?;
    let raw = Arc::new(AtomicU64::new(0));
    let tick = progress_tick(&progress, &raw);
    let filter = filter_from(py, selection)?;
    let (mut out, staged) = open_dest_staged(dest)?;
    let inputs = sources
        .iter()
        .map(|s| match s.extract::<PathBuf>() {
            Ok(path) => Ok(Input::Path(path)),
            Err(_) => Ok(Input::Reader(Box::new(open_source(
                s,
                &layers,
                raw.clone(),
            )?))),
        })
        .collect::<Result<Vec<_>>>()?;
    let counts = py.allow_threads(|| {
        let counts = convert::inputs_to_jsonl(
            inputs, &layers, threads, piece_size, &raw, &mut out, &filter, &tick,
        )?;
        drop(out);
        staged.map(|s| s.commit()).transpose()?;
        Ok::<_, asb_core::Error>(counts)
    })?;
    Ok(ConvertCounts::new(&counts, Vec::new()))
}

/// JSON Lines to `.asb` with the given layers: one backup file into `dest`, or, when
/// `dest` is a directory, one file per header in it (its "files" said in the counts).
#[pyfunction]
#[pyo3(signature = (source, dest, *, layers, selection))]
pub(crate) fn jsonl_to_asb<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    dest: &Bound<'py, PyAny>,
    layers: LayerArgs,
    selection: Option<Selection>,
) -> Result<ConvertCounts> {
    let layers = layers.into_layers()?;
    let filter = filter_from(py, selection)?;
    let (input, label) = open_input(source)?;
    let input = io::BufReader::with_capacity(1 << 20, input);
    // A directory: one there, or a URL that ends with `/` (a prefix).
    if let Some(dir) = dest
        .extract::<PathBuf>()
        .ok()
        .filter(|p| p.is_dir() || remote_url(p).is_some_and(|u| u.ends_with('/')))
    {
        let (counts, files) =
            py.allow_threads(|| convert::jsonl_to_asb_dir(input, &label, &dir, &layers, &filter))?;
        return Ok(ConvertCounts::new(&counts, files));
    }
    let (out, staged) = open_dest_staged(dest)?;
    let counts = py.allow_threads(|| {
        let counts = convert::jsonl_to_asb_stream(input, &label, out, &layers, &filter)?;
        staged.map(|s| s.commit()).transpose()?;
        Ok::<_, asb_core::Error>(counts)
    })?;
    Ok(ConvertCounts::new(&counts, Vec::new()))
}

/// `.asb` sources through the filters into `.asb` again: one file (`dest`, or `-`), or with
/// a split, files `<prefix>_<NNNNN>.asb` in the directory `dest`. Parts are written under
/// temporary names and renamed only when all succeeded.
#[pyfunction]
#[pyo3(signature = (sources, dest, *, parts, layers, selection, progress=None))]
pub(crate) fn asb_to_asb<'py>(
    py: Python<'py>,
    sources: Vec<Bound<'py, PyAny>>,
    dest: PathBuf,
    parts: Option<Parts>,
    layers: LayerArgs,
    selection: Option<Selection>,
    progress: Option<PyObject>,
) -> Result<ConvertCounts> {
    let layers = layers.into_layers()?;
    let raw = Arc::new(AtomicU64::new(0));
    let tick = progress_tick(&progress, &raw);
    let filter = filter_from(py, selection)?;
    let (prefix, split) = match parts {
        Some(p) => (p.prefix, convert::Split::new(p.records, p.text_bytes)),
        None => (None, convert::Split::None),
    };
    let readers = sources
        .iter()
        .map(|s| open_source(s, &layers, raw.clone()))
        .collect::<Result<Vec<_>>>()?;
    let (counts, files) = py.allow_threads(|| {
        convert::copy_to(
            readers,
            &dest,
            prefix.as_deref(),
            split,
            &layers,
            &filter,
            &tick,
        )
    })?;
    Ok(ConvertCounts::new(&counts, files))
}
