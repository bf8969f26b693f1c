//! Values: everything a model property, an event or a message can hold.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::columns::ColumnData;

/// Element type of a typed array, with its wire code (see `docs/protocol.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Dtype {
    Bool = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Uint8 = 5,
    Uint16 = 6,
    Uint32 = 7,
    Uint64 = 8,
    Float32 = 9,
    Float64 = 10,
    /// datetime64[ms]: i64 milliseconds since the epoch.
    DatetimeMs = 11,
}

impl Dtype {
    pub const ALL: [Dtype; 12] = [
        Dtype::Bool,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Uint8,
        Dtype::Uint16,
        Dtype::Uint32,
        Dtype::Uint64,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::DatetimeMs,
    ];

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            Dtype::Bool | Dtype::Int8 | Dtype::Uint8 => 1,
            Dtype::Int16 | Dtype::Uint16 => 2,
            Dtype::Int32 | Dtype::Uint32 | Dtype::Float32 => 4,
            Dtype::Int64 | Dtype::Uint64 | Dtype::Float64 | Dtype::DatetimeMs => 8,
        }
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The dtype of a wire code, if it is one.
    pub fn from_code(code: u8) -> Option<Dtype> {
        Dtype::ALL.get(code as usize).copied()
    }

    /// numpy's name for it (`"float64"`, `"datetime64[ms]"`, ...).
    pub fn numpy_name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::Int8 => "int8",
            Dtype::Int16 => "int16",
            Dtype::Int32 => "int32",
            Dtype::Int64 => "int64",
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Uint32 => "uint32",
            Dtype::Uint64 => "uint64",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
            Dtype::DatetimeMs => "datetime64[ms]",
        }
    }
}

/// Immutable bytes whose memory never moves or frees while any clone lives.
///
/// `owner` keeps the memory alive; the bytes in `[ptr, ptr + len)` are never written
/// again while an `ArrayBuffer` points at them. This is what lets numpy views and
/// encoded messages share column memory without copying.
#[derive(Clone)]
pub struct ArrayBuffer {
    ptr: *const u8,
    len: usize,
    owner: Arc<dyn Send + Sync>,
}

// SAFETY: the bytes are immutable for the lifetime of every ArrayBuffer pointing at them
// (an invariant of every constructor), and `owner` is Send + Sync.
unsafe impl Send for ArrayBuffer {}
// SAFETY: as above: shared read-only access to immutable bytes.
unsafe impl Sync for ArrayBuffer {}

impl ArrayBuffer {
    /// Takes ownership of `bytes`.
    pub fn from_vec(bytes: Vec<u8>) -> ArrayBuffer {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let ptr = boxed.as_ptr();
        let len = boxed.len();
        ArrayBuffer { ptr, len, owner: Arc::new(boxed) }
    }

    /// A view of memory kept alive by `owner`.
    ///
    /// # Safety
    /// `[ptr, ptr + len)` must stay valid and must not be written while `owner` lives.
    pub unsafe fn from_raw(ptr: *const u8, len: usize, owner: Arc<dyn Send + Sync>) -> ArrayBuffer {
        ArrayBuffer { ptr, len, owner }
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: constructor invariant: valid, immutable memory kept alive by `owner`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A sub-range sharing the same memory.
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn slice(&self, start: usize, end: usize) -> ArrayBuffer {
        assert!(start <= end && end <= self.len, "ArrayBuffer::slice out of bounds");
        ArrayBuffer {
            // SAFETY: start <= len, so the pointer stays inside (or one past) the allocation.
            ptr: unsafe { self.ptr.add(start) },
            len: end - start,
            owner: self.owner.clone(),
        }
    }

    /// The owner keeping this memory alive (handed to numpy as the array's base).
    pub fn owner(&self) -> Arc<dyn Send + Sync> {
        self.owner.clone()
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }
}

impl std::fmt::Debug for ArrayBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArrayBuffer({} bytes)", self.len)
    }
}

impl PartialEq for ArrayBuffer {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// A typed n-d array: dtype, shape, little-endian C-order bytes.
#[derive(Clone, Debug)]
pub struct TypedArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: ArrayBuffer,
}

impl TypedArray {
    /// Number of elements (product of the shape).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Length of the first axis.
    pub fn len(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A 1-d float64 array from values (convenience for tests and benches).
    pub fn from_f64(values: &[f64]) -> TypedArray {
        let mut bytes = Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        TypedArray { dtype: Dtype::Float64, shape: vec![values.len()], data: ArrayBuffer::from_vec(bytes) }
    }
}

impl PartialEq for TypedArray {
    /// Bitwise equality (so NaN == NaN with the same payload): "the same bytes arrived".
    fn eq(&self, other: &Self) -> bool {
        self.dtype == other.dtype && self.shape == other.shape && self.data == other.data
    }
}

/// A docsync value.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
    /// A reference to a model, by id.
    Ref(Arc<str>),
    Array(TypedArray),
    /// A ColumnDataSource's data (only in `columns`-typed properties).
    Columns(ColumnData),
}

impl PartialEq for Value {
    /// Structural equality; floats compare bitwise so NaN == NaN (what round trips need).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y),
            (Value::Ref(a), Value::Ref(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Columns(a), Value::Columns(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Ref(_) => "ref",
            Value::Array(_) => "array",
            Value::Columns(_) => "columns",
        }
    }

    /// Calls `f` with every model id referenced inside this value.
    pub fn for_each_ref(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Value::Ref(id) => f(id),
            Value::List(items) => items.iter().for_each(|v| v.for_each_ref(f)),
            Value::Map(map) => map.values().for_each(|v| v.for_each_ref(f)),
            _ => {}
        }
    }
}
