//! Python glue for `Document`.
//!
//! Locking rule: the mutex is never held while Python code can run (conversions happen
//! before locking or after unlocking), and work done without the GIL takes the lock
//! inside `allow_threads` and releases it before returning. So a thread waiting for the
//! lock never holds up a thread that waits for the GIL.

use std::sync::{Mutex, MutexGuard};

use docsync_core::codec::{Limits, DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE};
use docsync_core::document::{Document, Theme};
use docsync_core::event::ColumnMap;
use docsync_core::patch::Patch;
use docsync_core::Value;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::arrays::is_ready_column;
use crate::convert::Converter;
use crate::errors::IntoPyResult;
use crate::patch::{changes_to_py, to_py, to_value, PyChange, PyPatch};

/// Above this many bytes of input or models, work runs with the GIL released.
const BIG: usize = 64 * 1024;
/// Streams of numpy columns at least this large are copied with the GIL released (as
/// `arrays.rs` copies large arrays).
const DETACH_BORROWED: usize = 1 << 20;

/// Document state: models, properties, roots, title, version, pending events.
#[pyclass(frozen, weakref, module = "docsync._core", name = "Document")]
pub struct PyDocument {
    inner: Mutex<Document>,
}

impl PyDocument {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Document> {
        // A panic while holding the lock is a bug; the state is still consistent because
        // every mutation validates before changing anything.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A cheap copy (models shared) for work outside the lock.
    pub fn snapshot_copy(&self) -> Document {
        self.lock().copy()
    }

    pub fn apply_core(&self, py: Python<'_>, patch: &Patch, client: bool) -> PyResult<Vec<PyChange>> {
        let changes = if patch.is_large() {
            py.allow_threads(|| self.lock().apply(patch, client))
        } else {
            self.lock().apply(patch, client)
        }
        .py_err()?;
        changes_to_py(py, &changes)
    }

    /// Runs `f` on two documents with both locks held, taken in address order (so two
    /// threads doing this never deadlock) and without the GIL. `a` and `b` must differ.
    pub fn with_both<T: Send>(py: Python<'_>, a: &PyDocument, b: &PyDocument, f: impl FnOnce(&Document, &Document) -> T + Send) -> T {
        py.allow_threads(|| {
            let a_first = (a as *const PyDocument as usize) < (b as *const PyDocument as usize);
            let (first, second) = if a_first { (a, b) } else { (b, a) };
            let g1 = first.lock();
            let g2 = second.lock();
            if a_first {
                f(&g1, &g2)
            } else {
                f(&g2, &g1)
            }
        })
    }

    /// Encodes straight into a Python `bytes` object of the exact length, with the GIL
    /// released while counting and writing: one pass over the column data, no Vec to copy
    /// from. Works on a cheap copy (models shared), so the lock is never held across a
    /// GIL release (see the locking rule above) and writers are not held up meanwhile.
    fn write_bytes<'py>(
        &self,
        py: Python<'py>,
        len: impl FnOnce(&Document) -> docsync_core::error::Result<usize> + Send,
        write: impl FnOnce(&Document, &mut [std::mem::MaybeUninit<u8>]) -> docsync_core::error::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (doc, n) = py.allow_threads(|| {
            let doc = self.snapshot_copy();
            let n = len(&doc);
            (doc, n)
        });
        let out = crate::codec::bytes_written_once(py, n.py_err()?, |buf| py.allow_threads(|| write(&doc, buf)).py_err());
        drop(doc);
        out
    }

    pub fn from_core(doc: Document) -> PyDocument {
        PyDocument { inner: Mutex::new(doc) }
    }
}

fn map_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<ColumnMap> {
    match to_value(obj)? {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(ColumnMap::new()),
        other => Err(pyo3::exceptions::PyTypeError::new_err(format!("{what} must be a dict, got {}", other.kind()))),
    }
}

/// Stream inputs that view numpy memory must not outlive the call: typed columns copy
/// the rows (and the event views the column), but a list column would keep the values as
/// given, so their arrays are copied into engine memory first.
fn own_rows_of_list_columns(doc: &Document, id: &str, prop: &str, columns: &mut ColumnMap) {
    let copied;
    let data = match doc.columns_ref(id, prop) {
        Some(data) => data,
        None => match doc.columns(id, prop) {
            Ok(data) => {
                copied = data;
                &copied
            }
            Err(_) => return, // the stream reports the error
        },
    };
    for (name, v) in columns.iter_mut() {
        if !data.column(name).is_some_and(|c| c.is_typed()) {
            own_arrays(v);
        }
    }
}

fn own_arrays(v: &mut Value) {
    match v {
        Value::Array(a) => a.data = docsync_core::codec::aligned_copy(a.data.as_slice()),
        Value::List(items) => items.iter_mut().for_each(own_arrays),
        Value::Map(m) => m.values_mut().for_each(own_arrays),
        _ => {}
    }
}

#[pymethods]
impl PyDocument {
    #[new]
    fn new() -> PyDocument {
        PyDocument::from_core(Document::new())
    }

    #[getter]
    fn title(&self) -> String {
        self.lock().title().to_string()
    }

    fn set_title(&self, title: &str) {
        self.lock().set_title(title);
    }

    #[getter]
    fn version(&self) -> u64 {
        self.lock().version()
    }

    fn roots(&self) -> Vec<String> {
        self.lock().roots().iter().map(|r| r.to_string()).collect()
    }

    fn model_ids(&self) -> Vec<String> {
        self.lock().model_ids().map(|r| r.to_string()).collect()
    }

    fn has_model(&self, id: &str) -> bool {
        self.lock().has_model(id)
    }

    fn model_type(&self, id: &str) -> PyResult<String> {
        self.lock().model_type(id).map(|s| s.to_string()).py_err()
    }

    /// Insert a model (props validated; defaults not stored). Records `new`.
    fn add_model(&self, id: &str, r#type: &str, props: &Bound<'_, PyAny>) -> PyResult<()> {
        let props = map_of(props, "props")?;
        self.lock().add_model(id, r#type, props).py_err()
    }

    fn add_root(&self, id: &str) -> PyResult<()> {
        self.lock().add_root(id).py_err()
    }

    fn remove_root(&self, id: &str) -> PyResult<Vec<String>> {
        self.lock().remove_root(id).py_err()
    }

    /// Remove models not reachable from any root; returns their ids (records `del`).
    fn collect(&self) -> Vec<String> {
        self.lock().collect()
    }

    /// (type, non-default props) of a released or existing model, for detaching it.
    fn take_model<'py>(&self, py: Python<'py>, id: &str) -> PyResult<(String, Bound<'py, PyDict>)> {
        let (type_name, props) = self.lock().take_model(id).py_err()?;
        let d = PyDict::new(py);
        for (k, v) in &props {
            d.set_item(k, to_py(py, v)?)?;
        }
        Ok((type_name, d))
    }

    fn get(&self, py: Python<'_>, id: &str, prop: &str) -> PyResult<PyObject> {
        let v = self.lock().get(id, prop).py_err()?;
        to_py(py, &v)
    }

    fn props<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyDict>> {
        let props = self.lock().props(id).cloned().py_err()?;
        let d = PyDict::new(py);
        for (k, v) in &props {
            d.set_item(k, to_py(py, v)?)?;
        }
        Ok(d)
    }

    /// Set a property; returns the old value.
    fn set(&self, py: Python<'_>, id: &str, prop: &str, value: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let value = to_value(value)?;
        let old = self.lock().set(id, prop, value).py_err()?;
        to_py(py, &old)
    }

    fn set_theme(&self, defaults: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut theme = Theme::new();
        for (type_name, props) in map_of(defaults, "defaults")? {
            match props {
                Value::Map(m) => {
                    theme.insert(type_name, m);
                }
                other => {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "theme defaults of {type_name} must be a dict, got {}",
                        other.kind()
                    )))
                }
            }
        }
        self.lock().set_theme(theme).py_err()
    }

    fn get_column(&self, py: Python<'_>, id: &str, prop: &str, name: &str) -> PyResult<PyObject> {
        let v = self.lock().get_column(id, prop, name).py_err()?;
        to_py(py, &v)
    }

    fn column_names(&self, id: &str, prop: &str) -> PyResult<Vec<String>> {
        self.lock().column_names(id, prop).py_err()
    }

    fn column_len(&self, id: &str, prop: &str) -> PyResult<usize> {
        self.lock().column_len(id, prop).py_err()
    }

    fn set_column(&self, id: &str, prop: &str, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = to_value(value)?;
        self.lock().set_column(id, prop, name, value).py_err()
    }

    /// Appending copies exactly once: numpy columns are read in place (buffer protocol)
    /// and copied straight into the column store; the recorded event views the column.
    #[pyo3(signature = (id, prop, columns, rollover = None))]
    fn stream(&self, py: Python<'_>, id: &str, prop: &str, columns: &Bound<'_, PyAny>, rollover: Option<i64>) -> PyResult<()> {
        let mut conv = Converter { borrow_arrays: true, ..Converter::default() };
        let columns = match conv.convert(columns)? {
            Value::Map(m) => m,
            Value::Null => ColumnMap::new(),
            other => return Err(pyo3::exceptions::PyTypeError::new_err(format!("columns must be a dict, got {}", other.kind()))),
        };
        let stream = |mut columns: ColumnMap| {
            let mut doc = self.lock();
            if conv.borrowed {
                own_rows_of_list_columns(&doc, id, prop, &mut columns);
            }
            doc.stream(id, prop, columns, rollover)
        };
        // numpy memory is read with the GIL held below DETACH_BORROWED (no Python thread
        // can write it meanwhile); `conv.arrays` keeps the exports alive until we are back
        // under the GIL, where they are released (never while the lock is held detached).
        let detach = if conv.borrowed {
            conv.nbytes >= DETACH_BORROWED
        } else {
            columns.values().map(docsync_core::codec::estimate_size).sum::<usize>() > BIG
        };
        let result = if detach { py.allow_threads(|| stream(columns)) } else { stream(columns) };
        drop(conv);
        result.py_err()
    }

    /// `stream` when `columns` is a dict of str to ready columns (exact ndarrays of a
    /// numeric or bool dtype of native byte order: what the model layer would pass on
    /// unchanged), returning True; False, with nothing changed, for anything else (the
    /// caller then normalises the columns itself). The model layer's hot path.
    #[pyo3(signature = (id, prop, columns, rollover = None))]
    fn try_stream(&self, py: Python<'_>, id: &str, prop: &str, columns: &Bound<'_, PyAny>, rollover: Option<i64>) -> PyResult<bool> {
        let Ok(dict) = columns.downcast_exact::<PyDict>() else { return Ok(false) };
        for (k, v) in dict.iter() {
            if !k.is_exact_instance_of::<PyString>() || !is_ready_column(&v) {
                return Ok(false);
            }
        }
        self.stream(py, id, prop, columns, rollover)?;
        Ok(true)
    }

    fn patch_columns(&self, id: &str, prop: &str, patches: &Bound<'_, PyAny>) -> PyResult<()> {
        let patches = match crate::convert::py_to_patch_value(patches)? {
            Value::Map(m) => m,
            other => return Err(pyo3::exceptions::PyTypeError::new_err(format!("patches must be a dict, got {}", other.kind()))),
        };
        self.lock().patch_columns(id, prop, patches).py_err()
    }

    #[pyo3(signature = (id, name, data))]
    fn send_message(&self, id: Option<&str>, name: &str, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = to_value(data)?;
        self.lock().send_message(id, name, data).py_err()
    }

    fn has_pending(&self) -> bool {
        self.lock().has_pending()
    }

    /// Coalesced pending events (None if nothing).
    fn flush(&self) -> Option<PyPatch> {
        self.lock().flush().map(PyPatch::from_core)
    }

    fn discard_pending(&self) {
        self.lock().discard_pending();
    }

    /// Atomic. client=True also enforces client-writable properties. Applied events are
    /// not recorded as pending (no echo).
    #[pyo3(signature = (patch, client = false))]
    fn apply(&self, py: Python<'_>, patch: &Bound<'_, PyPatch>, client: bool) -> PyResult<Vec<PyChange>> {
        self.apply_core(py, &patch.get().inner, client)
    }

    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.write_bytes(py, Document::snapshot_len, Document::snapshot_to_slice)
    }

    fn snapshot_message<'py>(&self, py: Python<'py>, seq: i64) -> PyResult<Bound<'py, PyBytes>> {
        self.write_bytes(py, |d| d.snapshot_message_len(seq), |d, out| d.snapshot_message_to_slice(seq, out))
    }

    #[staticmethod]
    #[pyo3(signature = (data, max_size = DEFAULT_MAX_SIZE, max_depth = DEFAULT_MAX_DEPTH))]
    fn from_snapshot(py: Python<'_>, data: &Bound<'_, PyAny>, max_size: usize, max_depth: usize) -> PyResult<PyDocument> {
        let limits = Limits::new(max_size, max_depth);
        let buffer = crate::arrays::input_buffer(data)?;
        let doc = if buffer.len() > BIG {
            py.allow_threads(|| Document::from_snapshot_buffer(&buffer, limits))
        } else {
            Document::from_snapshot_buffer(&buffer, limits)
        }
        .py_err()?;
        Ok(PyDocument::from_core(doc))
    }

    /// Replace the whole state atomically (the result of a resync or a push).
    fn load_snapshot(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Vec<PyChange>> {
        let limits = Limits::default();
        let buffer = crate::arrays::input_buffer(data)?;
        let changes = if buffer.len() > BIG {
            py.allow_threads(|| self.lock().load_snapshot_buffer(&buffer, limits))
        } else {
            self.lock().load_snapshot_buffer(&buffer, limits)
        }
        .py_err()?;
        changes_to_py(py, &changes)
    }

    /// A cheap copy: models and columns shared copy-on-write.
    fn copy(&self) -> PyDocument {
        PyDocument::from_core(self.snapshot_copy())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        let py = other.py();
        let Ok(other) = other.downcast::<PyDocument>() else { return false };
        let other = other.get();
        if std::ptr::eq(self, other) {
            return true;
        }
        PyDocument::with_both(py, self, other, |a, b| a == b)
    }

    fn __repr__(&self) -> String {
        let d = self.lock();
        format!("Document(title={:?}, models={}, roots={}, version={})", d.title(), d.models().len(), d.roots().len(), d.version())
    }

    /// The events recorded since the last flush, not coalesced (for tests and debugging).
    fn _pending_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events: Vec<Value> = self.lock().pending().iter().map(|e| e.to_value()).collect();
        let items: Vec<PyObject> = events.iter().map(|v| to_py(py, v)).collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }
}
