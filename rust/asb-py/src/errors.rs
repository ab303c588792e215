//! The binding's one error type: core and wire errors (and Python's own) become the
//! `asbkit.errors` exceptions, so a binding function returns `Result<T>` and uses `?`.

use asb_core::ErrorKind;
use asb_wire::{WireError, WireErrorKind};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::import_exception!(asbkit.errors, AsbParseError);
pyo3::import_exception!(asbkit.errors, AsbLayerError);
pyo3::import_exception!(asbkit.errors, AsbKeyError);
pyo3::import_exception!(asbkit.errors, AsbWriteError);
pyo3::import_exception!(asbkit.errors, AsbClusterError);
pyo3::import_exception!(asbkit.errors, BackupOutputFailed);
pyo3::import_exception!(asbkit.errors, Interrupted);

pub(crate) enum Error {
    Core(asb_core::Error),
    Wire(WireError),
    /// An argument Python passed that the core cannot take (a wrong type or size).
    Value(String),
    Py(PyErr),
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<asb_core::Error> for Error {
    fn from(e: asb_core::Error) -> Error {
        Error::Core(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Core(e.into())
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Error {
        Error::Wire(e)
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Error {
        Error::Py(e)
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Core(e) => core_err(e),
            Error::Wire(e) => wire_err(e),
            Error::Value(m) => PyValueError::new_err(m),
            Error::Py(e) => e,
        }
    }
}

fn core_err(e: asb_core::Error) -> PyErr {
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

/// A wire error as the exception for its kind: a stop request is `Interrupted`, a failed
/// write of the backup `BackupOutputFailed`, the rest `AsbClusterError` (node, result
/// code, whether to retry; Python refines it by its result code).
fn wire_err(e: WireError) -> PyErr {
    match e.kind {
        WireErrorKind::Cancelled => Interrupted::new_err((e.to_string(),)),
        // The output's own words: the node whose records were being written is no cause.
        WireErrorKind::Output => BackupOutputFailed::new_err((e.message,)),
        _ => {
            let code = match e.kind {
                WireErrorKind::Server(c) => Some(c),
                _ => None,
            };
            let retryable = e.retryable();
            AsbClusterError::new_err((e.to_string(), e.node.clone(), code, retryable, e.partition))
        }
    }
}

/// The exception object for a wire error (handed back in a result, not raised).
pub(crate) fn wire_exception(py: Python<'_>, e: WireError) -> PyObject {
    wire_err(e).into_value(py).into_any()
}

/// An argument of the wrong size or shape.
pub(crate) fn value(message: impl Into<String>) -> Error {
    Error::Value(message.into())
}
