//! numpy arrays in and out of the engine, without the numpy crate.
//!
//! * In: the array's bytes are copied once into 8-aligned engine memory (numpy memory is
//!   mutable by its owner, the engine's is not). Non-contiguous arrays are made
//!   contiguous first (one copy); other datetime64 units are converted to ms. Arrays the
//!   engine handed out (and contiguous slices of them) come back without a copy: their
//!   memory is engine memory already.
//! * Out: a read-only ndarray that shares the engine's memory. [`EngineBuffer`] exports
//!   the bytes through the buffer protocol (read-only) and keeps them alive;
//!   `docsync.core._engine_array` wraps it with `numpy.frombuffer` as a `ColumnArray`
//!   (an ndarray subclass whose in-place writes raise with a hint).

use std::os::raw::{c_int, c_void};
use std::sync::Arc;

use docsync_core::codec::aligned_copy;
use docsync_core::{ArrayBuffer, Dtype, TypedArray};
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyTuple};

use crate::errors::encode_error;

/// Arrays at least this large are copied with the GIL released.
const DETACH_BYTES: usize = 1 << 20;

/// Read-only bytes of engine memory, exported through the buffer protocol.
#[pyclass(frozen, module = "docsync._core", name = "_EngineBuffer")]
pub struct EngineBuffer {
    data: ArrayBuffer,
}

static EMPTY: [u8; 8] = [0; 8];
static FORMAT_B: &std::ffi::CStr = c"B";

#[pymethods]
impl EngineBuffer {
    /// # Safety
    /// Called by CPython with a valid `view`.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("view is null"));
        }
        if (flags & ffi::PyBUF_WRITABLE) == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err(
                "docsync engine memory is read-only; use stream, patch or assignment to change a column",
            ));
        }
        let bytes = slf.get().data.as_slice();
        let ptr = if bytes.is_empty() { EMPTY.as_ptr() } else { bytes.as_ptr() };
        // SAFETY: `view` is valid (checked non-null; CPython passes a Py_buffer to fill).
        // The exported memory stays alive and unwritten while `obj` (this object, holding
        // the ArrayBuffer) lives, and `view.obj` holds a strong reference to it.
        unsafe {
            (*view).obj = slf.clone().into_any().into_ptr();
            (*view).buf = ptr as *mut c_void;
            (*view).len = bytes.len() as ffi::Py_ssize_t;
            (*view).readonly = 1;
            (*view).itemsize = 1;
            (*view).format = if (flags & ffi::PyBUF_FORMAT) == ffi::PyBUF_FORMAT {
                FORMAT_B.as_ptr() as *mut _
            } else {
                std::ptr::null_mut()
            };
            (*view).ndim = 1;
            (*view).shape = if (flags & ffi::PyBUF_ND) == ffi::PyBUF_ND { &mut (*view).len } else { std::ptr::null_mut() };
            (*view).strides =
                if (flags & ffi::PyBUF_STRIDES) == ffi::PyBUF_STRIDES { &mut (*view).itemsize } else { std::ptr::null_mut() };
            (*view).suboffsets = std::ptr::null_mut();
            (*view).internal = std::ptr::null_mut();
        }
        Ok(())
    }

    fn __len__(&self) -> usize {
        self.data.len()
    }
}

static ENGINE_ARRAY: GILOnceCell<PyObject> = GILOnceCell::new();

/// A read-only ndarray (a `docsync.core.ColumnArray`) sharing the typed array's memory.
pub fn typed_array_to_py<'py>(py: Python<'py>, a: &TypedArray) -> PyResult<Bound<'py, PyAny>> {
    let wrap = ENGINE_ARRAY.get_or_try_init(py, || -> PyResult<PyObject> {
        Ok(py.import("docsync.core")?.getattr("_engine_array")?.unbind())
    })?;
    let buffer = Bound::new(py, EngineBuffer { data: a.data.clone() })?;
    let shape = PyTuple::new(py, a.shape.iter().copied())?;
    wrap.bind(py).call1((buffer, a.dtype.numpy_name(), shape))
}

struct NumpyTypes {
    ndarray: PyObject,
    generic: PyObject,
    numpy: PyObject,
}

static NUMPY: GILOnceCell<NumpyTypes> = GILOnceCell::new();

fn numpy(py: Python<'_>) -> PyResult<&NumpyTypes> {
    NUMPY.get_or_try_init(py, || {
        let np = py.import("numpy")?;
        Ok(NumpyTypes { ndarray: np.getattr("ndarray")?.unbind(), generic: np.getattr("generic")?.unbind(), numpy: np.into_any().unbind() })
    })
}

/// Whether `obj` is exactly a `numpy.ndarray` (not a subclass), with numpy already seen:
/// one pointer compare, so the common case skips the other type checks.
pub fn is_exact_ndarray(obj: &Bound<'_, PyAny>) -> bool {
    let py = obj.py();
    NUMPY.get(py).is_some_and(|np| obj.get_type().is(np.ndarray.bind(py)))
}

/// Whether numpy is loaded and `obj` is an ndarray (numpy is never imported just to ask).
pub fn is_ndarray(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    if NUMPY.get(py).is_none() && !py.import("sys")?.getattr("modules")?.contains("numpy")? {
        return Ok(false);
    }
    obj.is_instance(numpy(py)?.ndarray.bind(py))
}

/// Whether `obj` is a numpy scalar (`np.float32(1)`, `np.bool_(True)`, ...).
pub fn is_numpy_scalar(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    if NUMPY.get(py).is_none() && !py.import("sys")?.getattr("modules")?.contains("numpy")? {
        return Ok(false);
    }
    obj.is_instance(numpy(py)?.generic.bind(py))
}

/// Copies an ndarray into engine memory.
///
/// # Errors
/// `EncodeError` (with a hint) for dtypes the wire format cannot hold, non-native byte
/// order, datetime64 without a unit, or more than 8 dimensions.
pub fn ndarray_to_typed(arr: &Bound<'_, PyAny>) -> PyResult<TypedArray> {
    ndarray_impl(arr, false)
}

/// Like [`ndarray_to_typed`], but the result views the ndarray's own memory (no copy)
/// when it can. For one-shot encoding only: numpy memory is mutable, so the caller must
/// keep the GIL held while it reads the result, and drop it soon.
///
/// # Errors
/// As [`ndarray_to_typed`].
pub fn ndarray_to_typed_borrowed(arr: &Bound<'_, PyAny>) -> PyResult<TypedArray> {
    ndarray_impl(arr, true)
}

fn ndarray_impl(arr: &Bound<'_, PyAny>, borrow: bool) -> PyResult<TypedArray> {
    let py = arr.py();
    let np = numpy(py)?.numpy.bind(py);
    let mut arr = arr.clone();
    let dt = arr.getattr("dtype")?;
    let kind: String = dt.getattr("kind")?.extract()?;
    let itemsize: usize = dt.getattr("itemsize")?.extract()?;
    let byteorder: String = dt.getattr("byteorder")?.extract()?;
    let dtstr: String = dt.getattr("str")?.extract()?;
    let native_other = if cfg!(target_endian = "little") { ">" } else { "<" };
    if byteorder == native_other {
        return Err(encode_error(format!(
            "numpy array of non-native byte order ({dtstr}) cannot be encoded; \
             use arr.astype(arr.dtype.newbyteorder('=')) first"
        )));
    }
    let dtype = match (kind.as_str(), itemsize) {
        ("b", 1) => Dtype::Bool,
        ("i", 1) => Dtype::Int8,
        ("i", 2) => Dtype::Int16,
        ("i", 4) => Dtype::Int32,
        ("i", 8) => Dtype::Int64,
        ("u", 1) => Dtype::Uint8,
        ("u", 2) => Dtype::Uint16,
        ("u", 4) => Dtype::Uint32,
        ("u", 8) => Dtype::Uint64,
        ("f", 4) => Dtype::Float32,
        ("f", 8) => Dtype::Float64,
        ("f", _) => {
            return Err(encode_error(format!(
                "numpy array of dtype {} cannot be encoded; use arr.astype('float64') (or 'float32')",
                dt.str()?
            )))
        }
        ("M", _) => {
            let unit: String = np.call_method1("datetime_data", (&dt,))?.get_item(0)?.extract()?;
            match unit.as_str() {
                "ms" => {}
                "generic" => {
                    return Err(encode_error(
                        "numpy datetime64 array without a unit cannot be encoded; use arr.astype('datetime64[ms]')",
                    ))
                }
                _ => arr = arr.call_method1("astype", ("datetime64[ms]",))?,
            }
            Dtype::DatetimeMs
        }
        ("O", _) => {
            return Err(encode_error(
                "numpy arrays of dtype object cannot be encoded; convert to a numeric dtype \
                 (arr.astype('float64')) or to a list (arr.tolist())",
            ))
        }
        ("U" | "S", _) => {
            return Err(encode_error(format!(
                "numpy string arrays ({}) cannot be encoded as typed arrays; use a list (arr.tolist())",
                dt.str()?
            )))
        }
        _ => {
            return Err(encode_error(format!(
                "numpy arrays of dtype {} cannot be encoded; supported: bool, int8..int64, uint8..uint64, \
                 float32, float64, datetime64",
                dt.str()?
            )))
        }
    };
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    if shape.is_empty() || shape.len() > docsync_core::codec::MAX_NDIM {
        return Err(encode_error(format!(
            "numpy arrays of {} dimensions cannot be encoded (1 to {} are supported)",
            shape.len(),
            docsync_core::codec::MAX_NDIM
        )));
    }
    let contiguous: bool = arr.getattr("flags")?.getattr("c_contiguous")?.extract()?;
    if contiguous {
        if let Some(data) = engine_memory(&arr, shape.iter().product::<usize>() * dtype.itemsize())? {
            // A view the engine handed out: its memory is already immutable engine memory.
            return Ok(TypedArray { dtype, shape, data });
        }
    }
    if !contiguous {
        arr = np.call_method1("ascontiguousarray", (&arr,))?;
    }
    let mut data = if borrow { export_buffer(&arr)? } else { copy_buffer(&arr)? };
    if dtype == Dtype::Bool && data.as_slice().iter().any(|&b| b > 1) {
        // numpy bools made by views of other bytes may hold any non-zero byte: the wire
        // format (and every decoder) wants 0 or 1.
        let normalized: Vec<u8> = data.as_slice().iter().map(|&b| (b != 0) as u8).collect();
        data = aligned_copy(&normalized);
    }
    let expected = shape.iter().product::<usize>() * dtype.itemsize();
    if data.len() != expected {
        return Err(encode_error(format!(
            "numpy array exported {} bytes, expected {expected}",
            data.len()
        )));
    }
    Ok(TypedArray { dtype, shape, data })
}

/// The dtype of a buffer-protocol format string of native byte order, if the wire
/// format has one of that item size (`None` for anything else: the general path decides).
fn native_dtype(format: &[u8], itemsize: usize) -> Option<Dtype> {
    let code = match format {
        [c] => *c,
        [b'@' | b'=', c] => *c,
        [b'<', c] if cfg!(target_endian = "little") => *c,
        _ => return None,
    };
    let dtype = match (code, itemsize) {
        (b'?', 1) => Dtype::Bool,
        (b'b', 1) => Dtype::Int8,
        (b'B', 1) => Dtype::Uint8,
        (b'h' | b'i' | b'l' | b'q', 2) => Dtype::Int16,
        (b'h' | b'i' | b'l' | b'q', 4) => Dtype::Int32,
        (b'h' | b'i' | b'l' | b'q', 8) => Dtype::Int64,
        (b'H' | b'I' | b'L' | b'Q', 2) => Dtype::Uint16,
        (b'H' | b'I' | b'L' | b'Q', 4) => Dtype::Uint32,
        (b'H' | b'I' | b'L' | b'Q', 8) => Dtype::Uint64,
        (b'f', 4) => Dtype::Float32,
        (b'd', 8) => Dtype::Float64,
        _ => return None,
    };
    Some(dtype)
}

/// What keeps a viewed array's memory alive: a buffer export, or the array itself.
enum Keep {
    Export(BufferExport),
    Array(#[allow(dead_code)] Py<PyAny>), // (held, never read)
}

/// A C-contiguous array of a native numeric or bool dtype, as the fast path reads it.
struct RawArray {
    ptr: *const u8,
    len: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    keep: Keep,
}

/// C order: each axis of more than one element steps over everything after it.
fn c_contiguous(shape: &[usize], strides: &[isize], itemsize: usize) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = itemsize as isize;
    for (&d, &st) in shape.iter().zip(strides).rev() {
        if d > 1 && st != expected {
            return false;
        }
        expected *= d as isize;
    }
    true
}

/// The head of numpy's `PyArrayObject_fields` (the same in numpy 1.x and 2.x).
#[repr(C)]
struct NdArrayHead {
    ob_base: ffi::PyObject,
    data: *mut u8,
    nd: c_int,
    dimensions: *const isize,
    strides: *const isize,
    base: *mut ffi::PyObject,
    descr: *const DescrHead,
    flags: c_int,
}

/// The head of numpy's `PyArray_Descr` (`kind`, `type`, `byteorder` sit at the same
/// offsets in numpy 1.x and 2.x; what follows differs, so nothing after is read).
#[repr(C)]
struct DescrHead {
    ob_base: ffi::PyObject,
    typeobj: *mut ffi::PyTypeObject,
    kind: u8,
    type_char: u8,
    byteorder: u8,
}

impl DescrHead {
    /// The item size of a numeric or bool dtype of native byte order (None for any other).
    fn native_item_size(&self) -> Option<usize> {
        let native = matches!(self.byteorder, b'=' | b'|') || (self.byteorder == b'<' && cfg!(target_endian = "little"));
        type_char_size(self.type_char).filter(|_| native)
    }
}

const NPY_ARRAY_C_CONTIGUOUS: c_int = 0x0001;
const NPY_ARRAY_WRITEABLE: c_int = 0x0400;

/// The item size of a numeric or bool type character (None for any other type).
fn type_char_size(c: u8) -> Option<usize> {
    Some(match c {
        b'?' | b'b' | b'B' => 1,
        b'h' | b'H' => 2,
        b'i' | b'I' | b'f' => 4,
        b'l' | b'L' => std::mem::size_of::<std::os::raw::c_long>(),
        b'q' | b'Q' | b'd' => 8,
        _ => return None,
    })
}

/// An exact `numpy.ndarray` read from numpy's own struct (no buffer export: about a
/// third of a small stream call, and most of its cost when caches are cold). Outer
/// `None`: not an exact ndarray, or numpy's layout did not pass the check in
/// [`numpy_layout_ok`]: use the buffer protocol. `Some(None)`: not for the fast path.
fn raw_from_fields(arr: &Bound<'_, PyAny>) -> Option<Option<RawArray>> {
    if !is_exact_ndarray(arr) || !numpy_layout_ok(arr.py()) {
        return None;
    }
    // SAFETY: `arr` is exactly a numpy.ndarray (type checked above), whose object starts
    // with these fields; `numpy_layout_ok` checked them against numpy's own view of
    // test arrays. `dimensions` and `strides` hold `nd` items; `descr` is never null.
    let raw = unsafe {
        let a = &*(arr.as_ptr() as *const NdArrayHead);
        let nd = a.nd.max(0) as usize;
        let flags = a.flags;
        if nd == 0 || nd > docsync_core::codec::MAX_NDIM || flags & NPY_ARRAY_WRITEABLE == 0 {
            return Some(None);
        }
        let d = &*a.descr;
        let Some(itemsize) = d.native_item_size() else { return Some(None) };
        let Some(dtype) = native_dtype(&[d.type_char], itemsize) else { return Some(None) };
        let shape: Vec<usize> = std::slice::from_raw_parts(a.dimensions, nd).iter().map(|&x| x.max(0) as usize).collect();
        if !c_contiguous(&shape, std::slice::from_raw_parts(a.strides, nd), itemsize) {
            return Some(None);
        }
        let len = shape.iter().product::<usize>() * itemsize;
        RawArray { ptr: a.data, len, dtype, shape, keep: Keep::Array(arr.clone().unbind()) }
    };
    Some(Some(raw))
}

/// Whether `obj` is an exact ndarray of a numeric or bool dtype of native byte order:
/// a column the model layer would pass on unchanged (read from numpy's own struct, so a
/// hot stream call pays no Python attribute lookups for the check).
pub fn is_ready_column(obj: &Bound<'_, PyAny>) -> bool {
    if !is_exact_ndarray(obj) || !numpy_layout_ok(obj.py()) {
        return false;
    }
    // SAFETY: as in raw_from_fields: an exact ndarray, whose layout numpy_layout_ok checked.
    let d = unsafe { &*(*(obj.as_ptr() as *const NdArrayHead)).descr };
    d.native_item_size().is_some()
}

static NUMPY_LAYOUT_OK: GILOnceCell<bool> = GILOnceCell::new();

/// Whether numpy's array and dtype structs hold what [`raw_from_fields`] reads, checked
/// once against numpy's own answers for a few arrays (any surprise: the buffer protocol).
fn numpy_layout_ok(py: Python<'_>) -> bool {
    *NUMPY_LAYOUT_OK.get_or_init(py, || check_numpy_layout(py).unwrap_or(false))
}

fn check_numpy_layout(py: Python<'_>) -> PyResult<bool> {
    let np = py.import("numpy")?;
    let f8 = np.call_method1("arange", (6,))?.call_method1("astype", ("<f8",))?.call_method1("reshape", (2, 3))?;
    let i2 = np.call_method1("zeros", (6, ">i2"))?.get_item(pyo3::types::PySlice::new(py, 0, 6, 2))?;
    i2.getattr("flags")?.setattr("writeable", false)?;
    let both = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_WRITEABLE;
    Ok(fields_read_as(&f8, &[2, 3], &[24, 8], both, b'd', b"=<")? && fields_read_as(&i2, &[3], &[4], 0, b'h', b">")?)
}

/// Whether `arr`'s struct, read as [`raw_from_fields`] reads it, holds what numpy says.
fn fields_read_as(arr: &Bound<'_, PyAny>, dims: &[isize], strides: &[isize], flags: c_int, type_char: u8, orders: &[u8]) -> PyResult<bool> {
    if !is_exact_ndarray(arr) {
        return Ok(false);
    }
    let addr: usize = arr.getattr("__array_interface__")?.get_item("data")?.get_item(0)?.extract()?;
    // SAFETY: `arr` is an exact ndarray (checked above); see raw_from_fields. The plain
    // fields (data, nd) are compared before any pointer in the struct is followed.
    Ok(unsafe {
        let a = &*(arr.as_ptr() as *const NdArrayHead);
        a.data as usize == addr
            && a.nd as usize == dims.len()
            && std::slice::from_raw_parts(a.dimensions, dims.len()) == dims
            && std::slice::from_raw_parts(a.strides, dims.len()) == strides
            && a.flags & (NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_WRITEABLE) == flags
            && (*a.descr).type_char == type_char
            && orders.contains(&(*a.descr).byteorder)
    })
}

/// The same, through the buffer protocol (any exporter, e.g. an ndarray subclass).
fn raw_from_buffer(arr: &Bound<'_, PyAny>) -> Option<RawArray> {
    let py = arr.py();
    // SAFETY: a zeroed Py_buffer is valid storage for PyObject_GetBuffer to fill.
    let mut view: Box<ffi::Py_buffer> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: `view` is writable storage; on success it is released by BufferExport::drop.
    let rc = unsafe { ffi::PyObject_GetBuffer(arr.as_ptr(), &mut *view, ffi::PyBUF_RECORDS_RO) };
    if rc != 0 {
        // Not exportable (datetime64, object, ...): the general path explains.
        drop(PyErr::take(py));
        return None;
    }
    let export = BufferExport(view);
    let v = &*export.0;
    let ndim = v.ndim.max(0) as usize;
    if v.readonly != 0 || ndim == 0 || ndim > docsync_core::codec::MAX_NDIM || v.format.is_null() || v.shape.is_null() {
        return None;
    }
    // SAFETY: a successful PyBUF_RECORDS_RO export sets `format` to a NUL-terminated
    // string and `shape` (and `strides`, when not null) to `ndim` items, valid until release.
    let (format, shape, strides) = unsafe {
        (
            std::ffi::CStr::from_ptr(v.format).to_bytes(),
            std::slice::from_raw_parts(v.shape, ndim),
            if v.strides.is_null() { None } else { Some(std::slice::from_raw_parts(v.strides, ndim)) },
        )
    };
    let itemsize = v.itemsize.max(0) as usize;
    let dtype = native_dtype(format, itemsize)?;
    let shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if strides.is_some_and(|st| !c_contiguous(&shape, st, itemsize)) {
        return None;
    }
    let len = v.len.max(0) as usize;
    if len != shape.iter().product::<usize>() * itemsize {
        return None;
    }
    let ptr = v.buf as *const u8;
    Some(RawArray { ptr, len, dtype, shape, keep: Keep::Export(export) })
}

/// The common case, with no Python attribute lookups: a writable, C-contiguous,
/// 1..=8-d array of a native numeric or bool dtype is read (or viewed, with `borrow`) in
/// one `copy_from_slice` — from numpy's struct for an exact ndarray, else through the
/// buffer protocol. `None` sends everything else to the general path: datetime64 (which
/// numpy does not export), other byte orders, strided or 0-d arrays, read-only arrays
/// (possibly engine memory, passed back without a copy), and every error with its hint.
pub fn ndarray_fast(arr: &Bound<'_, PyAny>, borrow: bool) -> PyResult<Option<TypedArray>> {
    let py = arr.py();
    let raw = match raw_from_fields(arr) {
        Some(raw) => raw,
        None => raw_from_buffer(arr),
    };
    let Some(RawArray { ptr, len, dtype, shape, keep }) = raw else { return Ok(None) };
    let bytes: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: `len` C-contiguous bytes at `ptr`, kept alive by `keep` (the export, or
        // a reference to the array) for as long as it lives.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    };
    let needs_normalizing = dtype == Dtype::Bool && bytes.iter().any(|&b| b > 1);
    let data = if needs_normalizing {
        // numpy bools made by views of other bytes may hold any non-zero byte: the wire
        // format (and every decoder) wants 0 or 1.
        let normalized: Vec<u8> = bytes.iter().map(|&b| (b != 0) as u8).collect();
        aligned_copy(&normalized)
    } else if borrow {
        if len == 0 {
            return Ok(Some(TypedArray { dtype, shape, data: aligned_copy(&[]) }));
        }
        let owner: Arc<dyn Send + Sync> = match keep {
            Keep::Export(export) => Arc::new(export),
            Keep::Array(array) => Arc::new(array),
        };
        // SAFETY: [ptr, ptr + len) stays valid while `owner` lives (a buffer export, or a
        // reference to the array: numpy moves or frees an array's data only on resize,
        // which it refuses while other references exist). The memory is mutable by its
        // Python owner, which is why callers read it only while the GIL is held or the
        // caller keeps the owner alive (see `ndarray_to_typed_borrowed`).
        unsafe { ArrayBuffer::from_raw(ptr, len, owner) }
    } else if len >= DETACH_BYTES {
        struct Raw<'a>(&'a [u8]);
        // SAFETY: only read; `keep` holds the memory alive during the copy.
        unsafe impl Send for Raw<'_> {}
        let raw = Raw(bytes);
        py.allow_threads(move || {
            let raw = raw;
            aligned_copy(raw.0)
        })
    } else {
        aligned_copy(bytes)
    }; // (`keep`, unless moved into the owner, is released here: after the copy)
    Ok(Some(TypedArray { dtype, shape, data }))
}

/// The engine memory under an ndarray that views an [`EngineBuffer`] (an array the
/// engine handed out, or a slice of one), so that passing it back costs no copy.
fn engine_memory(arr: &Bound<'_, PyAny>, nbytes: usize) -> PyResult<Option<ArrayBuffer>> {
    let mut base = arr.getattr("base")?;
    // ndarray -> (ndarray views ...) -> EngineBuffer; memoryviews are not expected here.
    for _ in 0..8 {
        if base.is_none() {
            return Ok(None);
        }
        if let Ok(engine) = base.downcast::<EngineBuffer>() {
            let buf = &engine.get().data;
            let addr: usize = arr.getattr("__array_interface__")?.get_item("data")?.get_item(0)?.extract()?;
            let start = buf.as_ptr() as usize;
            return Ok(match addr.checked_sub(start) {
                Some(offset) if offset.checked_add(nbytes).is_some_and(|end| end <= buf.len()) => {
                    Some(buf.slice(offset, offset + nbytes))
                }
                _ => None,
            });
        }
        base = match base.getattr("base") {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
    }
    Ok(None)
}

/// Copies the bytes of a C-contiguous buffer into 8-aligned engine memory.
fn copy_buffer(obj: &Bound<'_, PyAny>) -> PyResult<ArrayBuffer> {
    let py = obj.py();
    let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::zeroed();
    // SAFETY: `view` is writable storage for a Py_buffer; on success it is released below.
    let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) };
    if rc != 0 {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: initialised by a successful PyObject_GetBuffer.
    let mut view = unsafe { view.assume_init() };
    struct Raw(*const u8, usize);
    // SAFETY: the exporter keeps the buffer alive until PyBuffer_Release below; only read.
    unsafe impl Send for Raw {}
    let raw = Raw(view.buf as *const u8, view.len.max(0) as usize);
    let copy = move || {
        let raw = raw;
        if raw.1 == 0 {
            return aligned_copy(&[]);
        }
        // SAFETY: the exported buffer is valid for `len` bytes until released.
        aligned_copy(unsafe { std::slice::from_raw_parts(raw.0, raw.1) })
    };
    let data = if view.len as usize >= DETACH_BYTES { py.allow_threads(copy) } else { copy() };
    // SAFETY: releases the buffer obtained above, exactly once.
    unsafe { ffi::PyBuffer_Release(&mut view) };
    Ok(data)
}

/// A buffer export of a Python object, released (with the GIL) when dropped.
struct BufferExport(Box<ffi::Py_buffer>);

// SAFETY: the export is only read; it is released under the GIL (`Python::with_gil`).
unsafe impl Send for BufferExport {}
// SAFETY: as above.
unsafe impl Sync for BufferExport {}

impl Drop for BufferExport {
    fn drop(&mut self) {
        // SAFETY: obtained by a successful PyObject_GetBuffer, released exactly once here.
        Python::with_gil(|_| unsafe { ffi::PyBuffer_Release(&mut *self.0) });
    }
}

/// An [`ArrayBuffer`] viewing a C-contiguous buffer's memory without copying.
fn export_buffer(obj: &Bound<'_, PyAny>) -> PyResult<ArrayBuffer> {
    let py = obj.py();
    // SAFETY: a zeroed Py_buffer is valid storage for PyObject_GetBuffer to fill.
    let mut view: Box<ffi::Py_buffer> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: `view` is writable storage; on success it is released by BufferExport::drop.
    let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), &mut *view, ffi::PyBUF_SIMPLE) };
    if rc != 0 {
        return Err(PyErr::fetch(py));
    }
    let (ptr, len) = (view.buf as *const u8, view.len.max(0) as usize);
    let owner: Arc<dyn Send + Sync> = Arc::new(BufferExport(view));
    if len == 0 {
        return Ok(aligned_copy(&[]));
    }
    // SAFETY: the exporter keeps [ptr, ptr + len) valid until the export is released
    // (when `owner` drops). The memory is mutable by its Python owner, which is why
    // callers read it only with the GIL held (see `ndarray_to_typed_borrowed`).
    Ok(unsafe { ArrayBuffer::from_raw(ptr, len, owner) })
}

/// Python `bytes` kept alive as the owner of engine memory (zero-copy decoding).
struct BytesOwner(#[allow(dead_code)] Py<PyBytes>);

/// An [`ArrayBuffer`] over a `bytes` object's contents, without copying.
pub fn bytes_buffer(b: &Bound<'_, PyBytes>) -> ArrayBuffer {
    let s = b.as_bytes();
    let (ptr, len) = (s.as_ptr(), s.len());
    let owner: Arc<dyn Send + Sync> = Arc::new(BytesOwner(b.clone().unbind()));
    // SAFETY: bytes objects are immutable and `owner` keeps this one alive.
    unsafe { ArrayBuffer::from_raw(ptr, len, owner) }
}

/// Bytes of any bytes-like object: zero-copy for `bytes`, one copy otherwise.
pub fn input_buffer(data: &Bound<'_, PyAny>) -> PyResult<ArrayBuffer> {
    if let Ok(b) = data.downcast::<PyBytes>() {
        return Ok(bytes_buffer(b));
    }
    copy_buffer(data).map_err(|e| {
        let py = data.py();
        if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "expected bytes (or another bytes-like object), got {}",
                data.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        } else {
            e
        }
    })
}
