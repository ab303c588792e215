//! Core errors as Python exceptions: the `asbkit.errors` classes, and `OSError` for I/O.

use asb_core::ErrorKind;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

pyo3::import_exception!(asbkit.errors, AsbParseError);
pyo3::import_exception!(asbkit.errors, AsbLayerError);
pyo3::import_exception!(asbkit.errors, AsbKeyError);
pyo3::import_exception!(asbkit.errors, AsbWriteError);

pub(crate) fn to_py_err(e: asb_core::Error) -> PyErr {
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
