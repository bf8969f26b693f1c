//! Codec glue: `encode`, `decode`, `encode_message`, `decode_message`, `Ref`, `Message`.

use std::mem::MaybeUninit;
use std::sync::{Arc, OnceLock};

use docsync_core::codec::{self, Encoder, Limits, SliceSink, DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE};

// The literal defaults in the signatures below must match these (they are literals so
// that `__text_signature__` shows them, as `_core.pyi` does).
const _: () = assert!(DEFAULT_MAX_SIZE == 20971520 && DEFAULT_MAX_DEPTH == 64);
use docsync_core::Value;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays::input_buffer;
use crate::convert::{value_to_py, Converter};
use crate::errors::IntoPyResult;

/// Work on at least this many bytes runs with the GIL released.
pub const DETACH_BYTES: usize = 64 * 1024;

/// A reference to a model, by id.
#[pyclass(frozen, module = "docsync._core")]
pub struct Ref {
    pub id: Arc<str>,
}

#[pymethods]
impl Ref {
    #[new]
    fn py_new(id: &str) -> Ref {
        Ref { id: Arc::from(id) }
    }

    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Ref>().is_ok_and(|o| o.get().id == self.id)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        "docsync.Ref".hash(&mut h);
        self.id.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!("Ref({:?})", &*self.id)
    }

    fn __getnewargs__(&self) -> (String,) {
        (self.id.to_string(),)
    }
}

/// Python value → msgpack bytes: numpy arrays are read in place (one copy in all, with the
/// GIL held); other large values are encoded with the GIL released.
pub fn encode_py<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut conv = Converter { borrow_arrays: true, ..Converter::default() };
    let v = conv.convert(value)?;
    if conv.nbytes >= DETACH_BYTES {
        // Large: learn the exact size, then write once, straight into the bytes object.
        let len = codec::encoded_len(&v).py_err()?;
        let write = |buf: &mut [MaybeUninit<u8>]| {
            let mut enc = Encoder::with_sink(SliceSink::uninit(buf));
            enc.write_value(&v)?;
            enc.into_sink().finish()
        };
        return converted_written_once(py, len, conv.borrowed, write);
    }
    Ok(PyBytes::new(py, &codec::encode(&v).py_err()?))
}

/// A new `bytes` object of exactly `len` bytes, filled by `write` (which must write every
/// byte, as the engine's `*_to_slice` functions check). Unlike `PyBytes::new_with`, the
/// memory is not zeroed first: for a large message that is one pass less over memory.
///
/// # Errors
/// Allocation failure, or what `write` returns (the object is then freed unread).
pub fn bytes_written_once<'py>(
    py: Python<'py>,
    len: usize,
    write: impl FnOnce(&mut [std::mem::MaybeUninit<u8>]) -> PyResult<()>,
) -> PyResult<Bound<'py, PyBytes>> {
    let n = pyo3::ffi::Py_ssize_t::try_from(len).map_err(|_| pyo3::exceptions::PyMemoryError::new_err("message too large"))?;
    // SAFETY: PyBytes_FromStringAndSize(NULL, n) returns a new reference to a bytes object
    // with n uninitialised bytes (or NULL with an exception set, handled by
    // assume_owned_or_err); PyBytes_AsString points at those n bytes. Nobody else sees
    // the object until we return it, after `write` succeeded and so wrote every byte.
    unsafe {
        let ptr = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), n);
        let bytes = pyo3::Bound::from_owned_ptr_or_err(py, ptr)?.downcast_into_unchecked::<PyBytes>();
        let buf = pyo3::ffi::PyBytes_AsString(ptr).cast::<std::mem::MaybeUninit<u8>>();
        write(std::slice::from_raw_parts_mut(buf, len))?;
        Ok(bytes)
    }
}

/// [`bytes_written_once`] for values made by a [`Converter`]: the GIL is released while
/// writing unless the values borrow numpy memory (read directly, one copy in all), which
/// no Python thread may write into meanwhile.
fn converted_written_once<'py>(
    py: Python<'py>,
    len: usize,
    borrowed: bool,
    write: impl Fn(&mut [MaybeUninit<u8>]) -> docsync_core::Result<()> + Send + Sync,
) -> PyResult<Bound<'py, PyBytes>> {
    bytes_written_once(py, len, |buf| {
        if borrowed {
            write(buf).py_err()
        } else {
            py.allow_threads(|| write(buf)).py_err()
        }
    })
}

/// Decodes bytes-like input (zero-copy typed arrays when given `bytes`).
pub fn decode_value(py: Python<'_>, data: &Bound<'_, PyAny>, limits: Limits) -> PyResult<Value> {
    let buffer = input_buffer(data)?;
    if buffer.len() >= DETACH_BYTES {
        py.allow_threads(|| codec::decode_buffer(&buffer, limits)).py_err()
    } else {
        codec::decode_buffer(&buffer, limits).py_err()
    }
}

/// Encodes any docsync value to msgpack bytes.
#[pyfunction]
pub fn encode<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    encode_py(py, value)
}

/// Decodes msgpack bytes into a Python value (typed arrays as read-only ndarrays sharing
/// the input's memory).
#[pyfunction]
#[pyo3(signature = (data, max_size = 20971520, max_depth = 64))]
pub fn decode<'py>(py: Python<'py>, data: &Bound<'py, PyAny>, max_size: usize, max_depth: usize) -> PyResult<Bound<'py, PyAny>> {
    let v = decode_value(py, data, Limits::new(max_size, max_depth))?;
    value_to_py(py, &v)
}

/// Encodes an envelope `{"v": 1, "t": type, "seq"?, "ack"?, "p"?}` (`p` left out when
/// `payload` is None).
#[pyfunction]
#[pyo3(signature = (r#type, seq = None, ack = None, payload = None))]
pub fn encode_message<'py>(
    py: Python<'py>,
    r#type: &str,
    seq: Option<i64>,
    ack: Option<i64>,
    payload: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut conv = Converter { borrow_arrays: true, ..Converter::default() };
    let p = match payload {
        Some(p) if !p.is_none() => Some(conv.convert(p)?),
        _ => None,
    };
    if conv.nbytes >= DETACH_BYTES {
        let len = codec::encoded_message_len(r#type, seq, ack, p.as_ref()).py_err()?;
        let write = |buf: &mut [MaybeUninit<u8>]| {
            let mut enc = Encoder::with_sink(SliceSink::uninit(buf));
            enc.write_envelope_head(r#type, seq, ack, p.is_some())?;
            if let Some(p) = &p {
                enc.write_value(p)?;
            }
            enc.into_sink().finish()
        };
        return converted_written_once(py, len, conv.borrowed, write);
    }
    Ok(PyBytes::new(py, &codec::encode_message(r#type, seq, ack, p.as_ref()).py_err()?))
}

/// Decodes and validates an envelope.
#[pyfunction]
#[pyo3(signature = (data, max_size = 20971520, max_depth = 64))]
pub fn decode_message(py: Python<'_>, data: &Bound<'_, PyAny>, max_size: usize, max_depth: usize) -> PyResult<Message> {
    let v = decode_value(py, data, Limits::new(max_size, max_depth))?;
    let m = codec::Message::from_value(v).py_err()?;
    Ok(Message::from_core(m))
}

/// A decoded envelope (any message type).
#[pyclass(frozen, module = "docsync._core")]
pub struct Message {
    msg: codec::Message,
    payload_py: OnceLock<PyObject>,
}

impl Message {
    pub fn from_core(msg: codec::Message) -> Message {
        Message { msg, payload_py: OnceLock::new() }
    }

    /// The decoded envelope.
    pub fn core(&self) -> &codec::Message {
        &self.msg
    }
}

#[pymethods]
impl Message {
    #[getter]
    fn r#type(&self) -> &str {
        &self.msg.msg_type
    }

    #[getter]
    fn seq(&self) -> Option<i64> {
        self.msg.seq
    }

    #[getter]
    fn ack(&self) -> Option<i64> {
        self.msg.ack
    }

    /// The Python value of `p` (None when absent).
    #[getter]
    fn payload(&self, py: Python<'_>) -> PyResult<PyObject> {
        if let Some(p) = self.payload_py.get() {
            return Ok(p.clone_ref(py));
        }
        let p = value_to_py(py, &self.msg.payload)?.unbind();
        let _ = self.payload_py.set(p.clone_ref(py));
        Ok(p)
    }

    /// The `Patch` of a `patch` message (None for other types).
    #[getter]
    fn patch(&self) -> PyResult<Option<crate::patch::PyPatch>> {
        if self.msg.msg_type != "patch" {
            return Ok(None);
        }
        let patch = docsync_core::patch::Patch::from_value(&self.msg.payload).py_err()?;
        Ok(Some(crate::patch::PyPatch::from_core(patch)))
    }

    /// The raw snapshot payload (msgpack) of a `snapshot` message, or of the `push` of a
    /// `hello` message (None otherwise).
    #[getter]
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let snap = match self.msg.msg_type.as_str() {
            "snapshot" => Some(&self.msg.payload),
            "hello" => match &self.msg.payload {
                Value::Map(m) => m.get("push").filter(|v| !matches!(v, Value::Null)),
                _ => None,
            },
            _ => None,
        };
        match snap {
            Some(v) => Ok(Some(PyBytes::new(py, &codec::encode(v).py_err()?))),
            None => Ok(None),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Message(type={:?}, seq={}, ack={}, payload={})",
            self.msg.msg_type,
            self.msg.seq.map_or("None".to_string(), |s| s.to_string()),
            self.msg.ack.map_or("None".to_string(), |s| s.to_string()),
            self.msg.payload.kind()
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Message>().is_ok_and(|o| o.get().msg == self.msg)
    }

    #[classattr]
    fn __hash__(py: Python<'_>) -> PyObject {
        py.None()
    }
}
