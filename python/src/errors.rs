//! [`accelrt::Error`] → the exception classes of `accelrt.errors`, and back for exceptions a
//! Python pipeline stage raises (they travel through the Rust pipeline inside an
//! `Error::Backend` and come out as themselves).

use std::sync::Arc;

use accelrt::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `accelrt.errors`, imported once.
fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    ERRORS
        .get_or_try_init(py, || Ok(py.import("accelrt.errors")?.unbind()))
        .map(|m| m.bind(py))
}

/// An instance of `accelrt.errors.<class>(message, **fields)` as a `PyErr`.
fn raise(py: Python<'_>, class: &str, message: String, fields: &[(&str, Py<PyAny>)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        for (k, v) in fields {
            kwargs.set_item(k, v)?;
        }
        let exc = module(py)?.getattr(class)?.call((message.clone(),), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| {
        // Only if accelrt.errors cannot be imported: say what failed, with the message.
        PyRuntimeError::new_err(format!("{message} (and accelrt.errors failed: {e})"))
    })
}

/// The Python exception for an accelrt error.
pub(crate) fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let msg = e.to_string();
    let none = || py.None();
    let opt = |s: &Option<String>| {
        s.as_ref().map_or_else(none, |s| {
            s.into_pyobject(py).map_or_else(|_| none(), |v| v.into_any().unbind())
        })
    };
    let obj = |v: Bound<'_, PyAny>| v.unbind();
    match e {
        Error::InvalidInput(ie) => {
            let (expected, got) = (numpy_words(&ie.expected), numpy_words(&ie.got));
            let msg = match &ie.input {
                Some(name) => format!("input \"{name}\": expected {expected}, got {got}"),
                None => format!("expected {expected}, got {got}"),
            };
            raise(
                py,
                "InvalidInputError",
                msg,
                &[
                    ("input", opt(&ie.input)),
                    ("expected", opt(&Some(expected))),
                    ("got", opt(&Some(got))),
                ],
            )
        }
        Error::QueueFull { capacity } => raise(
            py,
            "QueueFullError",
            msg,
            &[(
                "capacity",
                capacity
                    .into_pyobject(py)
                    .map_or_else(|_| none(), |v| obj(v.into_any())),
            )],
        ),
        Error::TimedOut(d) => raise(
            py,
            "TimedOutError",
            msg,
            &[(
                "timeout",
                d.as_secs_f64()
                    .into_pyobject(py)
                    .map_or_else(|_| none(), |v| obj(v.into_any())),
            )],
        ),
        Error::Cancelled => raise(py, "CancelledError", msg, &[]),
        Error::ShutDown => raise(py, "ShutDownError", msg, &[]),
        Error::Backend(inner) => match (&**inner as &(dyn std::error::Error + 'static)).downcast_ref::<PythonError>() {
            Some(p) => p.err.clone_ref(py),
            None => raise(py, "BackendError", msg, &[]),
        },
        Error::BackendPanic(_) => raise(py, "BackendPanicError", msg, &[]),
        Error::StagePanic(_) => raise(py, "BackendPanicError", msg, &[]),
        Error::Config(_) => raise(py, "ConfigError", msg, &[]),
        Error::DeviceUnavailable(_) => raise(py, "DeviceUnavailableError", msg, &[]),
        Error::Stage { stage, source } => {
            let cause = to_py(py, source);
            let message = format!("stage \"{stage}\": {}", cause.value(py));
            raise(
                py,
                "StageError",
                message,
                &[
                    (
                        "stage",
                        stage.into_pyobject(py).map_or_else(|_| none(), |v| obj(v.into_any())),
                    ),
                    ("error", cause.into_value(py).into_any()),
                ],
            )
        }
        Error::Internal(_) => raise(py, "InternalError", msg, &[]),
        _ => raise(py, "AccelrtError", msg, &[]),
    }
}

/// The engine's dtype names (`f32 [N, 4]`) in numpy's words (`float32 [N, 4]`), for
/// messages Python users read.
fn numpy_words(text: &str) -> String {
    const NAMES: [(&str, &str); 7] = [
        ("f16", "float16"),
        ("f32", "float32"),
        ("f64", "float64"),
        ("i8", "int8"),
        ("i32", "int32"),
        ("i64", "int64"),
        ("u8", "uint8"),
    ];
    text.split(' ')
        .map(|word| NAMES.iter().find(|(rust, _)| *rust == word).map_or(word, |(_, np)| *np))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An accelrt result as a Python result.
pub(crate) fn py_result<T>(py: Python<'_>, r: accelrt::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, &e))
}

/// A Python exception raised by a pipeline stage's function, carried as a backend error so the
/// Rust pipeline can tag it with the stage; [`to_py`] gives the original exception back.
#[derive(Debug)]
pub(crate) struct PythonError {
    err: PyErr,
    /// `ValueError: bad page`, made while attached (Display cannot attach).
    text: String,
}

impl std::fmt::Display for PythonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PythonError {}

/// A Python exception as an accelrt error (for the pipeline to carry).
pub(crate) fn from_py(py: Python<'_>, err: PyErr) -> Error {
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let text = format!("{kind}: {}", err.value(py));
    Error::Backend(Arc::new(PythonError { err, text }))
}
