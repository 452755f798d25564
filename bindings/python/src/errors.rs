//! Engine errors as Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyDict;

create_exception!(
    _net,
    NetError,
    PyException,
    "Base class of every Net error."
);

/// kind string -> exception class, registered by the Python package at import.
static CLASSES: GILOnceCell<Py<PyDict>> = GILOnceCell::new();

/// The engine's error table: a list of `(kind, code)` in code order.
#[pyfunction]
pub fn error_kinds() -> Vec<(&'static str, i32)> {
    net::ErrorKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.code()))
        .collect()
}

/// Registers the exception class for each kind (`{kind: class}`).
#[pyfunction]
pub fn register_error_classes(py: Python<'_>, classes: Bound<'_, PyDict>) -> PyResult<()> {
    let _ = CLASSES.set(py, classes.unbind());
    Ok(())
}

/// Converts an engine error into the registered exception class.
pub fn to_py(err: net::Error) -> PyErr {
    Python::with_gil(|py| {
        let args = (
            err.to_string(),
            err.kind().as_str(),
            err.kind().code(),
            err.detail().to_owned(),
        );
        if let Some(classes) = CLASSES.get(py) {
            if let Ok(Some(class)) = classes.bind(py).get_item(err.kind().as_str()) {
                return match class.call1(args) {
                    Ok(instance) => PyErr::from_value(instance),
                    Err(e) => e,
                };
            }
        }
        NetError::new_err(args)
    })
}
