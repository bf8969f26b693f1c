//! Python values ↔ engine values.
//!
//! None, bool, int (i64), float, str, bytes, list/tuple (→ list), dict with str keys
//! (→ map, order kept), `Ref`, numpy arrays (→ typed arrays, one copy) and numpy scalars;
//! `datetime.datetime` / `datetime.date` become float ms since the epoch (naive = UTC), as
//! in Bokeh.
//! Typed arrays come back as read-only ndarrays sharing engine memory (see `arrays.rs`).
//!
//! Use [`py_to_value`] for values and [`py_to_patch_value`] for column patches, where
//! Python `slice` objects are allowed and become `{"start", "stop", "step"}` maps.

use std::sync::Arc;

use docsync_core::{ArrayBuffer, TypedArray, Value};
use indexmap::IndexMap;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::IntoPyDict;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PySlice, PyString, PyTuple};

use crate::arrays::{is_exact_ndarray, is_ndarray, is_numpy_scalar, ndarray_fast, ndarray_to_typed, ndarray_to_typed_borrowed, typed_array_to_py};
use crate::codec::Ref;
use crate::errors::encode_error;

/// Deepest nesting accepted from Python (a guard against self-referencing lists).
pub const MAX_PY_DEPTH: usize = 512;

/// Turns Python objects into engine values, counting the bytes of arrays (so callers can
/// decide to release the GIL for the O(n) work that follows).
#[derive(Default)]
pub struct Converter {
    /// Allow Python `slice` objects (→ slice maps), for column patches.
    pub allow_slices: bool,
    /// View numpy arrays' memory instead of copying it (one-shot encoding with the GIL
    /// held only: numpy memory is mutable).
    pub borrow_arrays: bool,
    /// Set when some array in the result views numpy memory (see `borrow_arrays`).
    pub borrowed: bool,
    /// Approximate payload bytes seen so far (typed array data, strings, bytes).
    pub nbytes: usize,
    /// The arrays of the result (with `borrow_arrays`), so the caller can drop the numpy
    /// buffer exports itself, with the GIL held, whatever the engine did with the values.
    pub arrays: Vec<ArrayBuffer>,
}

impl Converter {
    fn note_array(&mut self, a: &TypedArray) {
        self.nbytes += a.data.len();
        if self.borrow_arrays {
            self.borrowed = true;
            self.arrays.push(a.data.clone());
        }
    }

    pub fn convert(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
        self.value(obj, 0)
    }

    fn ndarray(&mut self, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
        if let Some(a) = ndarray_fast(obj, self.borrow_arrays)? {
            self.note_array(&a);
            return Ok(Value::Array(a));
        }
        let ndim: usize = obj.getattr("ndim")?.extract()?;
        if ndim == 0 {
            return self.value(&obj.call_method0("item")?, depth + 1);
        }
        let a = if self.borrow_arrays { ndarray_to_typed_borrowed(obj)? } else { ndarray_to_typed(obj)? };
        self.note_array(&a);
        Ok(Value::Array(a))
    }

    fn value(&mut self, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
        if depth > MAX_PY_DEPTH {
            return Err(encode_error(format!(
                "value nested deeper than {MAX_PY_DEPTH} levels (a list or dict that contains itself?)"
            )));
        }
        if is_exact_ndarray(obj) {
            return self.ndarray(obj, depth); // columns: the common case, checked first
        }
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.downcast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if let Ok(i) = obj.downcast::<PyInt>() {
            return i.extract::<i64>().map(Value::Int).map_err(|_| {
                encode_error(format!(
                    "int {} does not fit in 64 bits; docsync ints are signed 64-bit (use a float or a str)",
                    obj.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            });
        }
        if let Ok(f) = obj.downcast::<PyFloat>() {
            return Ok(Value::Float(f.value()));
        }
        if let Ok(s) = obj.downcast::<PyString>() {
            let s = s.to_str()?;
            self.nbytes += s.len();
            return Ok(Value::Str(Arc::from(s)));
        }
        if let Ok(list) = obj.downcast::<PyList>() {
            let mut items = Vec::with_capacity(list.len());
            for item in list.iter() {
                items.push(self.value(&item, depth + 1)?);
            }
            return Ok(Value::List(items));
        }
        if let Ok(dict) = obj.downcast::<PyDict>() {
            let mut map = IndexMap::with_capacity(dict.len());
            for (k, v) in dict.iter() {
                let Ok(key) = k.downcast::<PyString>() else {
                    return Err(encode_error(format!(
                        "dict keys must be str, got {} ({})",
                        type_name(&k),
                        k.repr().map(|r| r.to_string()).unwrap_or_default()
                    )));
                };
                let key = key.to_str()?.to_string();
                map.insert(key, self.value(&v, depth + 1)?);
            }
            return Ok(Value::Map(map));
        }
        if let Ok(t) = obj.downcast::<PyTuple>() {
            let mut items = Vec::with_capacity(t.len());
            for item in t.iter() {
                items.push(self.value(&item, depth + 1)?);
            }
            return Ok(Value::List(items));
        }
        if let Ok(r) = obj.downcast::<Ref>() {
            return Ok(Value::Ref(r.get().id.clone()));
        }
        if let Ok(b) = obj.downcast::<PyBytes>() {
            self.nbytes += b.as_bytes().len();
            return Ok(Value::Bytes(Arc::from(b.as_bytes())));
        }
        if let Ok(b) = obj.downcast::<PyByteArray>() {
            let v = b.to_vec();
            self.nbytes += v.len();
            return Ok(Value::Bytes(Arc::from(v)));
        }
        if is_ndarray(obj)? {
            return self.ndarray(obj, depth);
        }
        if is_numpy_scalar(obj)? {
            let kind: String = obj.getattr("dtype")?.getattr("kind")?.extract()?;
            if kind == "M" {
                // datetime64 scalar → ms since the epoch (NaT → i64::MIN, as in arrays).
                let ms = obj.call_method1("astype", ("datetime64[ms]",))?.call_method1("astype", ("int64",))?;
                return Ok(Value::Int(ms.extract()?));
            }
            return self.value(&obj.call_method0("item")?, depth + 1);
        }
        if let Some(ms) = datetime_ms(obj)? {
            return Ok(Value::Float(ms));
        }
        if self.allow_slices {
            if let Ok(s) = obj.downcast::<PySlice>() {
                let mut map = IndexMap::with_capacity(3);
                for key in ["start", "stop", "step"] {
                    map.insert(key.to_string(), self.value(&s.getattr(key)?, depth + 1)?);
                }
                return Ok(Value::Map(map));
            }
        }
        // pandas Series / Index and other array-likes with to_numpy()
        if obj.hasattr("to_numpy")? && obj.hasattr("dtype")? {
            let arr = obj.call_method0("to_numpy")?;
            if is_ndarray(&arr)? {
                return self.value(&arr, depth + 1);
            }
        }
        Err(encode_error(format!(
            "cannot encode a value of type {}; docsync values are None, bool, int, float, str, bytes, \
             list, tuple, dict (str keys), Ref, datetime and numpy arrays",
            type_name(obj)
        )))
    }
}

struct DatetimeTypes {
    datetime: PyObject,
    date: PyObject,
    epoch_naive: PyObject,
    epoch_date: PyObject,
    one_ms: PyObject,
}

static DATETIME: GILOnceCell<DatetimeTypes> = GILOnceCell::new();

/// `datetime.datetime` / `datetime.date` (and subclasses such as `pandas.Timestamp`) as
/// float milliseconds since the epoch, as Bokeh sends them; naive datetimes are taken as
/// UTC. `None` for anything else.
fn datetime_ms(obj: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    let py = obj.py();
    let t = DATETIME.get_or_try_init(py, || -> PyResult<DatetimeTypes> {
        let m = py.import("datetime")?;
        let datetime = m.getattr("datetime")?;
        let date = m.getattr("date")?;
        let timedelta = m.getattr("timedelta")?;
        Ok(DatetimeTypes {
            epoch_naive: datetime.call1((1970, 1, 1))?.unbind(),
            epoch_date: date.call1((1970, 1, 1))?.unbind(),
            one_ms: timedelta.call((), Some(&[("milliseconds", 1)].into_py_dict(py)?))?.unbind(),
            datetime: datetime.unbind(),
            date: date.unbind(),
        })
    })?;
    if obj.is_instance(t.datetime.bind(py))? {
        if obj.getattr("tzinfo")?.is_none() {
            let delta = obj.call_method1("__sub__", (t.epoch_naive.bind(py),))?;
            return Ok(Some(delta.call_method1("__truediv__", (t.one_ms.bind(py),))?.extract()?));
        }
        let seconds: f64 = obj.call_method0("timestamp")?.extract()?;
        return Ok(Some(seconds * 1000.0));
    }
    if obj.is_instance(t.date.bind(py))? {
        let days: i64 = obj.call_method1("__sub__", (t.epoch_date.bind(py),))?.getattr("days")?.extract()?;
        return Ok(Some(days as f64 * 86_400_000.0));
    }
    Ok(None)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// A Python object as an engine value.
///
/// # Errors
/// `EncodeError` (with a hint) for anything docsync cannot represent.
pub fn py_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    Converter::default().convert(obj)
}

/// Like [`py_to_value`], also accepting Python `slice` objects (→ `{"start", "stop",
/// "step"}` maps, as column patch indices are written on the wire).
pub fn py_to_patch_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    Converter { allow_slices: true, ..Converter::default() }.convert(obj)
}

/// An engine value as a Python object (typed arrays → read-only ndarrays sharing memory,
/// `Value::Columns` → dict of columns).
pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, value_to_py(py, v)?)?;
            }
            dict.into_any()
        }
        Value::Ref(id) => Bound::new(py, Ref { id: id.clone() })?.into_any(),
        Value::Array(a) => typed_array_to_py(py, a)?,
        Value::Columns(c) => {
            let dict = PyDict::new(py);
            for (name, col) in c.iter() {
                dict.set_item(name, value_to_py(py, &col.to_value())?)?;
            }
            dict.into_any()
        }
    })
}
