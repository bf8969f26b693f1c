//! The one place where engine errors become Python exceptions.
//!
//! Each [`Error`] variant maps to the class of the same name in `docsync.errors` (plain
//! Python classes with builtin mix-ins, so `except ValueError` keeps working). The module
//! is imported lazily, on the first error.

use docsync_core::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyModule;

static ERRORS: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

/// An engine error on its way to Python (polars' `PyPolarsErr` pattern).
#[derive(Debug)]
pub struct PyDocsyncErr(pub Error);

impl From<Error> for PyDocsyncErr {
    fn from(e: Error) -> Self {
        PyDocsyncErr(e)
    }
}

impl From<PyDocsyncErr> for PyErr {
    fn from(e: PyDocsyncErr) -> PyErr {
        Python::with_gil(|py| to_pyerr(py, &e.0))
    }
}

/// The `docsync.errors` exception for an engine error.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    let class = ERRORS
        .get_or_try_init(py, || py.import("docsync.errors").map(|m| m.unbind()))
        .and_then(|m| m.bind(py).getattr(e.class_name()));
    match class.and_then(|cls| cls.call1((e.message(),))) {
        Ok(instance) => PyErr::from_value(instance),
        // docsync.errors itself failed to import: still raise something meaningful.
        Err(import_error) => {
            let err = PyValueError::new_err(format!("{}: {}", e.class_name(), e.message()));
            err.set_cause(py, Some(import_error));
            err
        }
    }
}

/// `docsync_core::Result<T>` → `PyResult<T>` with the mapped exception.
pub trait IntoPyResult<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for docsync_core::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| PyErr::from(PyDocsyncErr(e)))
    }
}

/// An `EncodeError` with this message.
pub fn encode_error(msg: impl Into<String>) -> PyErr {
    PyDocsyncErr(Error::Encode(msg.into())).into()
}
