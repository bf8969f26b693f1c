//! Python glue for `Patch`, `Change`, `diff`, `apply`, `register_type`.

use std::sync::Arc;

use docsync_core::codec::{Limits, DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE};
use docsync_core::diff::tree;
use docsync_core::document::Change;
use docsync_core::event::Event;
use docsync_core::patch::Patch;
use docsync_core::{schema, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::codec::bytes_written_once;
use crate::document::PyDocument;
use crate::errors::IntoPyResult;

/// Python → engine value (the one conversion of `convert.rs`).
pub(crate) fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    crate::convert::py_to_value(obj)
}

/// Engine value → Python (typed arrays as read-only numpy views).
pub(crate) fn to_py(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    crate::convert::value_to_py(py, v).map(Bound::unbind)
}

/// Coalesced events, ready to encode once and apply atomically.
#[pyclass(frozen, weakref, module = "docsync._core", name = "Patch")]
pub struct PyPatch {
    pub inner: Arc<Patch>,
}

impl PyPatch {
    pub fn from_core(patch: Patch) -> PyPatch {
        PyPatch { inner: Arc::new(patch) }
    }
}

#[pymethods]
impl PyPatch {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The protocol event maps, as Python values.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<PyObject> = self.inner.events().iter().map(|e| to_py(py, &e.to_value())).collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }

    /// The payload `{"events": [...]}` (msgpack), encoded once.
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        if inner.is_large() {
            // Written once, straight into the bytes object, without the GIL.
            let n = py.allow_threads(|| inner.encoded_len()).py_err()?;
            return bytes_written_once(py, n, |buf| py.allow_threads(|| inner.encode_to_slice(buf)).py_err());
        }
        Ok(PyBytes::new(py, &inner.encode().py_err()?))
    }

    /// The full envelope `{"v":1,"t":"patch","seq":seq,"p":...}`.
    fn to_message<'py>(&self, py: Python<'py>, seq: i64) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        if inner.is_large() {
            let n = py.allow_threads(|| inner.message_len(seq)).py_err()?;
            return bytes_written_once(py, n, |buf| py.allow_threads(|| inner.message_to_slice(seq, buf)).py_err());
        }
        Ok(PyBytes::new(py, &inner.to_message(seq).py_err()?))
    }

    #[staticmethod]
    #[pyo3(signature = (data, max_size = DEFAULT_MAX_SIZE, max_depth = DEFAULT_MAX_DEPTH))]
    fn decode(py: Python<'_>, data: &Bound<'_, PyAny>, max_size: usize, max_depth: usize) -> PyResult<PyPatch> {
        let limits = Limits::new(max_size, max_depth);
        let buffer = crate::arrays::input_buffer(data)?;
        let patch = if buffer.len() > 64 * 1024 {
            py.allow_threads(|| Patch::decode_buffer(&buffer, limits))
        } else {
            Patch::decode_buffer(&buffer, limits)
        }
        .py_err()?;
        Ok(PyPatch::from_core(patch))
    }

    #[staticmethod]
    fn from_events(events: &Bound<'_, PyAny>) -> PyResult<PyPatch> {
        let mut out = Vec::new();
        for item in events.try_iter()? {
            let v = to_value(&item?)?;
            out.push(Event::from_value(&v).py_err()?);
        }
        Ok(PyPatch::from_core(Patch::from_events(out)))
    }

    /// RFC 6902 operations (tree patches only).
    fn to_json_patch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let ops = tree::to_json_patch(&self.inner).py_err()?;
        let items: Vec<PyObject> = ops.iter().map(|v| to_py(py, v)).collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }

    #[staticmethod]
    fn from_json_patch(ops: &Bound<'_, PyAny>) -> PyResult<PyPatch> {
        let mut values = Vec::new();
        for item in ops.try_iter()? {
            values.push(to_value(&item?)?);
        }
        Ok(PyPatch::from_core(tree::from_json_patch(&values).py_err()?))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.downcast::<PyPatch>() {
            Ok(o) => *self.inner == *o.get().inner,
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        let kinds: Vec<&str> = self.inner.events().iter().take(8).map(|e| e.kind()).collect();
        let more = if self.inner.len() > 8 { ", ..." } else { "" };
        format!("Patch({} events: {}{more})", self.inner.len(), kinds.join(", "))
    }
}

/// What apply() changed, so Python can fire on_change callbacks.
#[pyclass(frozen, get_all, module = "docsync._core", name = "Change")]
pub struct PyChange {
    kind: &'static str,
    id: Option<String>,
    prop: Option<String>,
    old: PyObject,
    new: PyObject,
    name: Option<String>,
}

impl PyChange {
    pub fn from_core(py: Python<'_>, c: &Change) -> PyResult<PyChange> {
        Ok(PyChange {
            kind: c.kind,
            id: c.id.as_ref().map(|s| s.to_string()),
            prop: c.prop.clone(),
            old: to_py(py, &c.old)?,
            new: to_py(py, &c.new)?,
            name: c.name.clone(),
        })
    }
}

#[pymethods]
impl PyChange {
    fn __repr__(&self) -> String {
        format!("Change(kind={:?}, id={:?}, prop={:?}, name={:?})", self.kind, self.id, self.prop, self.name)
    }
}

pub(crate) fn changes_to_py(py: Python<'_>, changes: &[Change]) -> PyResult<Vec<PyChange>> {
    changes.iter().map(|c| PyChange::from_core(py, c)).collect()
}

/// Register (or replace) a model type: (prop name, type spec, default, client_writable).
#[pyfunction]
pub fn register_type(name: &str, props: &Bound<'_, PyAny>) -> PyResult<()> {
    let mut specs = Vec::new();
    for item in props.try_iter()? {
        let item = item?;
        let (prop, spec, default, writable): (String, String, Bound<'_, PyAny>, bool) = item.extract()?;
        specs.push((prop, spec, to_value(&default)?, writable));
    }
    schema::register_type(name, specs).py_err()?;
    Ok(())
}

#[pyfunction]
pub fn registered_types() -> Vec<String> {
    schema::registered_types()
}

/// Documents: smallest patch with apply(a, patch) == b. Plain trees: a tree patch.
#[pyfunction]
pub fn diff(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyPatch> {
    if let (Ok(da), Ok(db)) = (a.downcast::<PyDocument>(), b.downcast::<PyDocument>()) {
        let (da, db) = (da.get(), db.get());
        if std::ptr::eq(da, db) {
            return Ok(PyPatch::from_core(Patch::default()));
        }
        let patch = PyDocument::with_both(py, da, db, docsync_core::diff::diff_documents);
        return Ok(PyPatch::from_core(patch));
    }
    let (va, vb) = (to_value(a)?, to_value(b)?);
    Ok(PyPatch::from_core(tree::diff_tree(&va, &vb)))
}

/// Documents: apply in place and return it. Plain trees: return the patched tree.
#[pyfunction]
pub fn apply(py: Python<'_>, target: &Bound<'_, PyAny>, patch: &Bound<'_, PyPatch>) -> PyResult<PyObject> {
    if let Ok(doc) = target.downcast::<PyDocument>() {
        doc.get().apply_core(py, &patch.get().inner, false)?;
        return Ok(target.clone().unbind());
    }
    let v = to_value(target)?;
    let out = tree::apply_tree(&v, &patch.get().inner).py_err()?;
    to_py(py, &out)
}
