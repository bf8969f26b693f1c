//! The msgpack wire format (see `docs/protocol.md`, the authoritative spec).
//!
//! * [`Encoder`] writes values into a `Vec<u8>`, incrementally if you like (the document
//!   module writes snapshots and patches with it without building a [`Value`] tree).
//!   Typed arrays are written as `ext 32` with a pad chosen so that their data starts at
//!   an offset of the whole message that is a multiple of 8.
//! * [`decode`] / [`decode_buffer`] validate untrusted bytes: size and depth limits are
//!   enforced while decoding, no allocation is sized by a length prefix larger than the
//!   bytes present, and nothing panics. [`decode_buffer`] returns typed arrays that share
//!   the input's memory (zero-copy) when their data is aligned.
//! * [`encode_message`] / [`decode_message`] handle the envelope
//!   `{"v": 1, "t": type, "seq": n, "ack": n, "p": payload}`.

use std::mem::MaybeUninit;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::columns::ColumnData;
use crate::error::{Error, Result};
use crate::value::{ArrayBuffer, Dtype, TypedArray, Value};
use crate::PROTOCOL_VERSION;

/// msgpack ext type of a model reference.
pub const EXT_REF: i8 = 1;
/// msgpack ext type of a typed array.
pub const EXT_ARRAY: i8 = 2;
/// Default limit on the size of one message (20 MiB).
pub const DEFAULT_MAX_SIZE: usize = 20 * 1024 * 1024;
/// Default limit on the nesting depth of one message.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Most dimensions a typed array may have on the wire.
pub const MAX_NDIM: usize = 8;
/// Hard cap on `Limits::max_depth`: the decoder recurses once per level, and this keeps
/// its stack use well under the smallest thread stacks (whatever limit a caller asks for).
pub const HARD_MAX_DEPTH: usize = 512;

/// Limits enforced while decoding untrusted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    pub max_size: usize,
    /// Deepest accepted nesting of lists, maps and ext values (the top level is depth 1);
    /// capped at [`HARD_MAX_DEPTH`].
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: DEFAULT_MAX_SIZE, max_depth: DEFAULT_MAX_DEPTH }
    }
}

impl Limits {
    pub fn new(max_size: usize, max_depth: usize) -> Limits {
        Limits { max_size, max_depth }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Where an [`Encoder`] writes: a growing `Vec<u8>` (the default), a [`CountingSink`]
/// (to learn the exact size of a message first) or a [`SliceSink`] (to write straight
/// into memory allocated elsewhere, e.g. a Python `bytes` object, saving a copy).
pub trait Sink {
    /// Bytes written so far.
    fn position(&self) -> usize;
    fn put(&mut self, bytes: &[u8]);
    fn put_byte(&mut self, b: u8) {
        self.put(&[b]);
    }
    fn put_zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.put_byte(0);
        }
    }
    fn reserve(&mut self, _additional: usize) {}
}

impl Sink for Vec<u8> {
    fn position(&self) -> usize {
        self.len()
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn put_byte(&mut self, b: u8) {
        self.push(b);
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }
}

/// Counts bytes without writing them.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink(pub usize);

impl Sink for CountingSink {
    fn position(&self) -> usize {
        self.0
    }
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    fn put_byte(&mut self, _b: u8) {
        self.0 += 1;
    }
    fn put_zeros(&mut self, n: usize) {
        self.0 += n;
    }
}

/// Writes into a fixed slice, possibly uninitialised memory (e.g. a fresh Python `bytes`
/// object: zeroing it first would be one more pass over a large message); writing past
/// its end is recorded (see [`SliceSink::finish`]) instead of panicking.
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    pos: usize,
    overflow: bool,
}

impl<'a> SliceSink<'a> {
    pub fn new(buf: &'a mut [u8]) -> SliceSink<'a> {
        // SAFETY: same layout; the sink only ever writes initialised bytes, so `buf` stays
        // initialised whatever happens.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        SliceSink { buf, pos: 0, overflow: false }
    }

    /// A sink over memory that need not be initialised; after [`SliceSink::finish`]
    /// returns `Ok`, every byte of `buf` has been written.
    pub fn uninit(buf: &'a mut [MaybeUninit<u8>]) -> SliceSink<'a> {
        SliceSink { buf, pos: 0, overflow: false }
    }

    /// # Errors
    /// [`Error::Encode`] unless exactly the whole slice was written.
    pub fn finish(self) -> Result<()> {
        if self.overflow || self.pos != self.buf.len() {
            return Err(Error::Encode(format!(
                "encoded size mismatch: wrote {} of {} bytes{}",
                self.pos,
                self.buf.len(),
                if self.overflow { " (overflow)" } else { "" }
            )));
        }
        Ok(())
    }
}

impl Sink for SliceSink<'_> {
    fn position(&self) -> usize {
        self.pos
    }
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            // SAFETY: `dst` is exactly `bytes.len()` writable bytes, disjoint from `bytes`
            // (a shared borrow cannot alias this exclusive one).
            Some(dst) => unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), bytes.len()) },
            None => self.overflow = true,
        }
        self.pos += bytes.len();
    }
    fn put_zeros(&mut self, n: usize) {
        match self.buf.get_mut(self.pos..self.pos + n) {
            Some(dst) => dst.fill(MaybeUninit::new(0)),
            None => self.overflow = true,
        }
        self.pos += n;
    }
}

/// Writes msgpack into a [`Sink`] (by default a growing `Vec<u8>`).
///
/// Alignment of typed arrays is computed from the current position, so the encoder must
/// write the whole message from its first byte (which is how every message is built).
/// Header methods (`write_map_header`, `write_list_header`) only write the header: the
/// caller then writes exactly that many entries.
///
/// Code that writes snapshots or patches can be generic over the sink
/// (`fn write<S: Sink>(&self, enc: &mut Encoder<S>)`) to allow the two-pass
/// [`encoded_len`] + [`SliceSink`] path that writes a large message exactly once.
#[derive(Debug, Default, Clone)]
pub struct Encoder<S: Sink = Vec<u8>> {
    buf: S,
}

impl Encoder<Vec<u8>> {
    pub fn new() -> Encoder {
        Encoder { buf: Vec::new() }
    }

    pub fn with_capacity(capacity: usize) -> Encoder {
        Encoder { buf: Vec::with_capacity(capacity) }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

impl<S: Sink> Encoder<S> {
    pub fn with_sink(sink: S) -> Encoder<S> {
        Encoder { buf: sink }
    }

    pub fn into_sink(self) -> S {
        self.buf
    }

    /// Bytes written so far (the offset of the next byte in the message).
    pub fn position(&self) -> usize {
        self.buf.position()
    }

    /// Reserves room for `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    pub fn write_nil(&mut self) {
        self.buf.put_byte(0xc0);
    }

    pub fn write_bool(&mut self, b: bool) {
        self.buf.put_byte(if b { 0xc3 } else { 0xc2 });
    }

    /// An integer in its smallest msgpack form.
    pub fn write_int(&mut self, v: i64) {
        let b = &mut self.buf;
        if v >= 0 {
            let u = v as u64;
            if u < 128 {
                b.put_byte(u as u8);
            } else if u <= u8::MAX as u64 {
                b.put(&[0xcc, u as u8]);
            } else if u <= u16::MAX as u64 {
                b.put_byte(0xcd);
                b.put(&(u as u16).to_be_bytes());
            } else if u <= u32::MAX as u64 {
                b.put_byte(0xce);
                b.put(&(u as u32).to_be_bytes());
            } else {
                b.put_byte(0xcf);
                b.put(&u.to_be_bytes());
            }
        } else if v >= -32 {
            b.put_byte(v as i8 as u8);
        } else if v >= i8::MIN as i64 {
            b.put(&[0xd0, v as i8 as u8]);
        } else if v >= i16::MIN as i64 {
            b.put_byte(0xd1);
            b.put(&(v as i16).to_be_bytes());
        } else if v >= i32::MIN as i64 {
            b.put_byte(0xd2);
            b.put(&(v as i32).to_be_bytes());
        } else {
            b.put_byte(0xd3);
            b.put(&v.to_be_bytes());
        }
    }

    /// A float, always as float 64 (so NaN payloads, ±inf and -0.0 survive).
    pub fn write_f64(&mut self, v: f64) {
        self.buf.put_byte(0xcb);
        self.buf.put(&v.to_bits().to_be_bytes());
    }

    /// # Errors
    /// [`Error::Encode`] for a string longer than 4 GiB.
    pub fn write_str(&mut self, s: &str) -> Result<()> {
        let n = s.len();
        if n < 32 {
            self.buf.put_byte(0xa0 | n as u8);
        } else if n <= u8::MAX as usize {
            self.buf.put(&[0xd9, n as u8]);
        } else if n <= u16::MAX as usize {
            self.buf.put_byte(0xda);
            self.buf.put(&(n as u16).to_be_bytes());
        } else {
            self.buf.put_byte(0xdb);
            self.buf.put(&len_u32(n, "string")?.to_be_bytes());
        }
        self.buf.put(s.as_bytes());
        Ok(())
    }

    /// # Errors
    /// [`Error::Encode`] for more than 4 GiB.
    pub fn write_bin(&mut self, bytes: &[u8]) -> Result<()> {
        let n = bytes.len();
        if n <= u8::MAX as usize {
            self.buf.put(&[0xc4, n as u8]);
        } else if n <= u16::MAX as usize {
            self.buf.put_byte(0xc5);
            self.buf.put(&(n as u16).to_be_bytes());
        } else {
            self.buf.put_byte(0xc6);
            self.buf.put(&len_u32(n, "bytes value")?.to_be_bytes());
        }
        self.buf.put(bytes);
        Ok(())
    }

    /// The header of a msgpack array (a docsync list) of `len` items.
    ///
    /// # Errors
    /// [`Error::Encode`] for more than `u32::MAX` items.
    pub fn write_list_header(&mut self, len: usize) -> Result<()> {
        if len < 16 {
            self.buf.put_byte(0x90 | len as u8);
        } else if len <= u16::MAX as usize {
            self.buf.put_byte(0xdc);
            self.buf.put(&(len as u16).to_be_bytes());
        } else {
            self.buf.put_byte(0xdd);
            self.buf.put(&len_u32(len, "list")?.to_be_bytes());
        }
        Ok(())
    }

    /// The header of a map of `len` entries; then write `len` (key, value) pairs.
    ///
    /// # Errors
    /// [`Error::Encode`] for more than `u32::MAX` entries.
    pub fn write_map_header(&mut self, len: usize) -> Result<()> {
        if len < 16 {
            self.buf.put_byte(0x80 | len as u8);
        } else if len <= u16::MAX as usize {
            self.buf.put_byte(0xde);
            self.buf.put(&(len as u16).to_be_bytes());
        } else {
            self.buf.put_byte(0xdf);
            self.buf.put(&len_u32(len, "map")?.to_be_bytes());
        }
        Ok(())
    }

    /// A model reference (ext 1, payload = the id as UTF-8).
    ///
    /// # Errors
    /// [`Error::Encode`] for an id longer than 4 GiB.
    pub fn write_ref(&mut self, id: &str) -> Result<()> {
        let n = id.len();
        match n {
            1 => self.buf.put_byte(0xd4),
            2 => self.buf.put_byte(0xd5),
            4 => self.buf.put_byte(0xd6),
            8 => self.buf.put_byte(0xd7),
            16 => self.buf.put_byte(0xd8),
            _ if n <= u8::MAX as usize => self.buf.put(&[0xc7, n as u8]),
            _ if n <= u16::MAX as usize => {
                self.buf.put_byte(0xc8);
                self.buf.put(&(n as u16).to_be_bytes());
            }
            _ => {
                self.buf.put_byte(0xc9);
                self.buf.put(&len_u32(n, "reference id")?.to_be_bytes());
            }
        }
        self.buf.put_byte(EXT_REF as u8);
        self.buf.put(id.as_bytes());
        Ok(())
    }

    /// A typed array from its parts: dtype, shape and little-endian C-order bytes.
    ///
    /// Written as `ext 32`; the pad makes the data start at a multiple of 8 of the whole
    /// message.
    ///
    /// # Errors
    /// [`Error::Encode`] for ndim outside 1..=8, a dimension above `u32::MAX`, or data
    /// whose length is not product(shape) × itemsize.
    pub fn write_array_parts(&mut self, dtype: Dtype, shape: &[usize], data: &[u8]) -> Result<()> {
        if shape.is_empty() || shape.len() > MAX_NDIM {
            return Err(Error::Encode(format!(
                "typed arrays need 1 to {MAX_NDIM} dimensions, got {}",
                shape.len()
            )));
        }
        let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let expected = numel.and_then(|n| n.checked_mul(dtype.itemsize()));
        if expected != Some(data.len()) {
            return Err(Error::Encode(format!(
                "typed array data is {} bytes but shape {:?} of {} needs {:?}",
                data.len(),
                shape,
                dtype.numpy_name(),
                expected
            )));
        }
        // header: 0xc9, u32 length, type (6 bytes), then dtype, ndim, shape, pad byte.
        let head = 6 + 2 + 4 * shape.len() + 1;
        let data_start_unpadded = self.buf.position() + head;
        let pad = (8 - data_start_unpadded % 8) % 8;
        let payload_len = 2 + 4 * shape.len() + 1 + pad + data.len();
        let payload_len = len_u32(payload_len, "typed array")?;
        self.buf.reserve(head + pad + data.len());
        self.buf.put_byte(0xc9);
        self.buf.put(&payload_len.to_be_bytes());
        self.buf.put_byte(EXT_ARRAY as u8);
        self.buf.put_byte(dtype.code());
        self.buf.put_byte(shape.len() as u8);
        for &d in shape {
            self.buf.put(&len_u32(d, "typed array dimension")?.to_le_bytes());
        }
        self.buf.put_byte(pad as u8);
        self.buf.put_zeros(pad);
        debug_assert_eq!(self.buf.position() % 8, 0);
        self.buf.put(data);
        Ok(())
    }

    /// A typed array (ext 2).
    ///
    /// # Errors
    /// As [`Encoder::write_array_parts`].
    pub fn write_array(&mut self, array: &TypedArray) -> Result<()> {
        self.write_array_parts(array.dtype, &array.shape, array.data.as_slice())
    }

    /// A column store, as a map of column name -> typed array or list.
    ///
    /// # Errors
    /// As [`Encoder::write_value`].
    pub fn write_columns(&mut self, columns: &ColumnData) -> Result<()> {
        let names = columns.names();
        self.write_map_header(names.len())?;
        for name in names {
            self.write_str(name)?;
            match columns.get(name) {
                Some(v) => self.write_value(&v)?,
                None => self.write_nil(),
            }
        }
        Ok(())
    }

    /// Any value. `Value::Columns` is written as a map (it decodes as `Value::Map`).
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold (lengths above 4 GiB,
    /// arrays with 0 or more than 8 dimensions).
    pub fn write_value(&mut self, value: &Value) -> Result<()> {
        match value {
            Value::Null => self.write_nil(),
            Value::Bool(b) => self.write_bool(*b),
            Value::Int(i) => self.write_int(*i),
            Value::Float(f) => self.write_f64(*f),
            Value::Str(s) => self.write_str(s)?,
            Value::Bytes(b) => self.write_bin(b)?,
            Value::List(items) => {
                self.write_list_header(items.len())?;
                for item in items {
                    self.write_value(item)?;
                }
            }
            Value::Map(map) => {
                self.write_map_header(map.len())?;
                for (k, v) in map {
                    self.write_str(k)?;
                    self.write_value(v)?;
                }
            }
            Value::Ref(id) => self.write_ref(id)?,
            Value::Array(a) => self.write_array(a)?,
            Value::Columns(c) => self.write_columns(c)?,
        }
        Ok(())
    }

    /// Writes the envelope up to and including the key `"p"`: the caller writes the
    /// payload next (with `has_payload = false` the message ends here, no `"p"` key).
    ///
    /// # Errors
    /// [`Error::Encode`] only for absurd lengths.
    pub fn write_envelope_head(
        &mut self,
        msg_type: &str,
        seq: Option<i64>,
        ack: Option<i64>,
        has_payload: bool,
    ) -> Result<()> {
        let n = 2 + seq.is_some() as usize + ack.is_some() as usize + has_payload as usize;
        self.write_map_header(n)?;
        self.write_str("v")?;
        self.write_int(PROTOCOL_VERSION);
        self.write_str("t")?;
        self.write_str(msg_type)?;
        if let Some(s) = seq {
            self.write_str("seq")?;
            self.write_int(s);
        }
        if let Some(a) = ack {
            self.write_str("ack")?;
            self.write_int(a);
        }
        if has_payload {
            self.write_str("p")?;
        }
        Ok(())
    }
}

fn len_u32(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Encode(format!("{what} too long for msgpack ({n} > 2^32 - 1)")))
}

/// Encodes one value into fresh bytes.
///
/// # Errors
/// As [`Encoder::write_value`].
pub fn encode(value: &Value) -> Result<Vec<u8>> {
    let mut enc = Encoder::with_capacity(estimate_size(value));
    enc.write_value(value)?;
    Ok(enc.into_bytes())
}

/// A quick upper-ish estimate of the encoded size (to size buffers once).
pub fn estimate_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 9,
        Value::Str(s) | Value::Ref(s) => s.len() + 6,
        Value::Bytes(b) => b.len() + 5,
        Value::List(items) => 5 + items.iter().map(estimate_size).sum::<usize>(),
        Value::Map(m) => 5 + m.iter().map(|(k, v)| k.len() + 5 + estimate_size(v)).sum::<usize>(),
        Value::Array(a) => 16 + 4 * a.shape.len() + a.data.len(),
        Value::Columns(c) => c.names().len() * 24 + c.nbytes() + 5,
    }
}

/// Encodes an envelope `{"v": 1, "t": msg_type, "seq"?, "ack"?, "p"?}`; the `p` key is
/// left out when `payload` is `None`.
///
/// # Errors
/// As [`Encoder::write_value`].
pub fn encode_message(msg_type: &str, seq: Option<i64>, ack: Option<i64>, payload: Option<&Value>) -> Result<Vec<u8>> {
    let mut enc = Encoder::with_capacity(32 + payload.map_or(0, estimate_size));
    enc.write_envelope_head(msg_type, seq, ack, payload.is_some())?;
    if let Some(p) = payload {
        enc.write_value(p)?;
    }
    Ok(enc.into_bytes())
}

/// The exact encoded size of a value.
///
/// # Errors
/// As [`Encoder::write_value`].
pub fn encoded_len(value: &Value) -> Result<usize> {
    let mut enc = Encoder::with_sink(CountingSink(0));
    enc.write_value(value)?;
    Ok(enc.into_sink().0)
}

/// Encodes a value into `out`, which must be exactly [`encoded_len`] bytes long.
///
/// # Errors
/// As [`Encoder::write_value`], or [`Error::Encode`] when `out` has the wrong length.
pub fn encode_to_slice(value: &Value, out: &mut [u8]) -> Result<()> {
    let mut enc = Encoder::with_sink(SliceSink::new(out));
    enc.write_value(value)?;
    enc.into_sink().finish()
}

fn write_message<S: Sink>(enc: &mut Encoder<S>, msg_type: &str, seq: Option<i64>, ack: Option<i64>, payload: Option<&Value>) -> Result<()> {
    enc.write_envelope_head(msg_type, seq, ack, payload.is_some())?;
    if let Some(p) = payload {
        enc.write_value(p)?;
    }
    Ok(())
}

/// The exact encoded size of an envelope (see [`encode_message`]).
///
/// # Errors
/// As [`Encoder::write_value`].
pub fn encoded_message_len(msg_type: &str, seq: Option<i64>, ack: Option<i64>, payload: Option<&Value>) -> Result<usize> {
    let mut enc = Encoder::with_sink(CountingSink(0));
    write_message(&mut enc, msg_type, seq, ack, payload)?;
    Ok(enc.into_sink().0)
}

/// Encodes an envelope into `out`, which must be exactly [`encoded_message_len`] long.
///
/// # Errors
/// As [`encode_to_slice`].
pub fn encode_message_to_slice(
    msg_type: &str,
    seq: Option<i64>,
    ack: Option<i64>,
    payload: Option<&Value>,
    out: &mut [u8],
) -> Result<()> {
    let mut enc = Encoder::with_sink(SliceSink::new(out));
    write_message(&mut enc, msg_type, seq, ack, payload)?;
    enc.into_sink().finish()
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// Decodes one value from untrusted bytes. Typed arrays are copied (into 8-aligned memory).
///
/// # Errors
/// [`Error::Limit`] when the input or its nesting exceeds `limits`; [`Error::Decode`] for
/// malformed, truncated or trailing bytes.
pub fn decode(bytes: &[u8], limits: Limits) -> Result<Value> {
    Decoder::new(bytes, None, limits)?.decode_all()
}

/// Decodes one value from bytes held in an [`ArrayBuffer`]: typed arrays whose data is
/// aligned to their item size share the buffer's memory (no copy); others are copied.
///
/// # Errors
/// As [`decode`].
pub fn decode_buffer(buffer: &ArrayBuffer, limits: Limits) -> Result<Value> {
    Decoder::new(buffer.as_slice(), Some(buffer), limits)?.decode_all()
}

/// A decoded envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `t`: the message type (`"patch"`, `"snapshot"`, `"hello"`, ...).
    pub msg_type: String,
    pub seq: Option<i64>,
    pub ack: Option<i64>,
    /// `p` (`Value::Null` when absent).
    pub payload: Value,
}

impl Message {
    /// Turns a decoded value into an envelope: a map with `v == 1`, `t` a string, `seq`
    /// and `ack` ints or nil when present. Unknown keys are ignored (forward compatible).
    ///
    /// # Errors
    /// [`Error::Protocol`] naming what is wrong.
    pub fn from_value(value: Value) -> Result<Message> {
        let Value::Map(mut map) = value else {
            return Err(Error::Protocol(format!("a message must be a map, got {}", value.kind())));
        };
        match map.get("v") {
            Some(Value::Int(v)) if *v == PROTOCOL_VERSION => {}
            Some(Value::Int(v)) => {
                return Err(Error::Protocol(format!(
                    "unsupported protocol version {v} (this side speaks {PROTOCOL_VERSION})"
                )))
            }
            Some(other) => return Err(Error::Protocol(format!("message field 'v' must be an int, got {}", other.kind()))),
            None => return Err(Error::Protocol("message has no protocol version 'v'".into())),
        }
        let msg_type = match map.get("t") {
            Some(Value::Str(s)) => s.to_string(),
            Some(other) => return Err(Error::Protocol(format!("message field 't' must be a str, got {}", other.kind()))),
            None => return Err(Error::Protocol("message has no type 't'".into())),
        };
        let int_field = |name: &str, v: Option<&Value>| -> Result<Option<i64>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Int(i)) => Ok(Some(*i)),
                Some(other) => Err(Error::Protocol(format!(
                    "message field '{name}' must be an int or nil, got {}",
                    other.kind()
                ))),
            }
        };
        let seq = int_field("seq", map.get("seq"))?;
        let ack = int_field("ack", map.get("ack"))?;
        let payload = map.swap_remove("p").unwrap_or(Value::Null);
        Ok(Message { msg_type, seq, ack, payload })
    }

    /// Encodes the envelope (the payload `Value::Null` is written as `"p": nil`).
    ///
    /// # Errors
    /// As [`Encoder::write_value`].
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode_message(&self.msg_type, self.seq, self.ack, Some(&self.payload))
    }
}

/// Decodes and validates an envelope.
///
/// # Errors
/// As [`decode`], then [`Error::Protocol`] for a value that is not a valid envelope.
pub fn decode_message(bytes: &[u8], limits: Limits) -> Result<Message> {
    Message::from_value(decode(bytes, limits)?)
}

/// Decodes and validates an envelope held in an [`ArrayBuffer`] (typed arrays zero-copy).
///
/// # Errors
/// As [`decode_message`].
pub fn decode_message_buffer(buffer: &ArrayBuffer, limits: Limits) -> Result<Message> {
    Message::from_value(decode_buffer(buffer, limits)?)
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    source: Option<&'a ArrayBuffer>,
    max_depth: usize,
}

fn truncated(what: &str) -> Error {
    Error::Decode(format!("truncated message: {what} runs past the end of the bytes"))
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8], source: Option<&'a ArrayBuffer>, limits: Limits) -> Result<Decoder<'a>> {
        if bytes.len() > limits.max_size {
            return Err(Error::Limit(format!(
                "message of {} bytes exceeds the limit of {} bytes",
                bytes.len(),
                limits.max_size
            )));
        }
        Ok(Decoder { bytes, pos: 0, source, max_depth: limits.max_depth.min(HARD_MAX_DEPTH) })
    }

    fn decode_all(mut self) -> Result<Value> {
        if self.bytes.is_empty() {
            return Err(Error::Decode("empty message".into()));
        }
        let v = self.value(1)?;
        if self.pos != self.bytes.len() {
            return Err(Error::Decode(format!(
                "{} trailing bytes after the value (at offset {})",
                self.bytes.len() - self.pos,
                self.pos
            )));
        }
        Ok(v)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(truncated(what));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn be<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len8(&mut self, what: &str) -> Result<usize> {
        Ok(self.u8(what)? as usize)
    }
    fn len16(&mut self, what: &str) -> Result<usize> {
        Ok(u16::from_be_bytes(self.be::<2>(what)?) as usize)
    }
    fn len32(&mut self, what: &str) -> Result<usize> {
        Ok(u32::from_be_bytes(self.be::<4>(what)?) as usize)
    }

    fn depth_check(&self, depth: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(Error::Limit(format!("nesting deeper than the limit of {} levels", self.max_depth)));
        }
        Ok(())
    }

    /// The recursive path (containers) is kept apart from the scalar decoding so that
    /// each nesting level costs little stack, even in debug builds.
    fn value(&mut self, depth: usize) -> Result<Value> {
        self.depth_check(depth)?;
        let b = self.u8("a value")?;
        match b {
            0x80..=0x8f => self.map((b & 0x0f) as usize, depth),
            0x90..=0x9f => self.list((b & 0x0f) as usize, depth),
            0xdc => {
                let n = self.len16("array length")?;
                self.list(n, depth)
            }
            0xdd => {
                let n = self.len32("array length")?;
                self.list(n, depth)
            }
            0xde => {
                let n = self.len16("map length")?;
                self.map(n, depth)
            }
            0xdf => {
                let n = self.len32("map length")?;
                self.map(n, depth)
            }
            _ => self.scalar(b, depth),
        }
    }

    /// Everything but lists and maps (`b` is the marker byte, already consumed).
    #[inline(never)]
    fn scalar(&mut self, b: u8, depth: usize) -> Result<Value> {
        let at = self.pos - 1;
        Ok(match b {
            0x00..=0x7f => Value::Int(b as i64),
            0xa0..=0xbf => self.str((b & 0x1f) as usize)?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.len8("bin length")?;
                self.bin(n)?
            }
            0xc5 => {
                let n = self.len16("bin length")?;
                self.bin(n)?
            }
            0xc6 => {
                let n = self.len32("bin length")?;
                self.bin(n)?
            }
            0xc7 => {
                let n = self.len8("ext length")?;
                self.ext(n, depth)?
            }
            0xc8 => {
                let n = self.len16("ext length")?;
                self.ext(n, depth)?
            }
            0xc9 => {
                let n = self.len32("ext length")?;
                self.ext(n, depth)?
            }
            0xca => Value::Float(f32::from_bits(u32::from_be_bytes(self.be::<4>("float 32")?)) as f64),
            0xcb => Value::Float(f64::from_bits(u64::from_be_bytes(self.be::<8>("float 64")?))),
            0xcc => Value::Int(self.u8("uint 8")? as i64),
            0xcd => Value::Int(u16::from_be_bytes(self.be::<2>("uint 16")?) as i64),
            0xce => Value::Int(u32::from_be_bytes(self.be::<4>("uint 32")?) as i64),
            0xcf => {
                let u = u64::from_be_bytes(self.be::<8>("uint 64")?);
                Value::Int(i64::try_from(u).map_err(|_| {
                    Error::Decode(format!("integer {u} at offset {at} does not fit a signed 64-bit int"))
                })?)
            }
            0xd0 => Value::Int(self.u8("int 8")? as i8 as i64),
            0xd1 => Value::Int(i16::from_be_bytes(self.be::<2>("int 16")?) as i64),
            0xd2 => Value::Int(i32::from_be_bytes(self.be::<4>("int 32")?) as i64),
            0xd3 => Value::Int(i64::from_be_bytes(self.be::<8>("int 64")?)),
            0xd4 => self.ext(1, depth)?,
            0xd5 => self.ext(2, depth)?,
            0xd6 => self.ext(4, depth)?,
            0xd7 => self.ext(8, depth)?,
            0xd8 => self.ext(16, depth)?,
            0xd9 => {
                let n = self.len8("str length")?;
                self.str(n)?
            }
            0xda => {
                let n = self.len16("str length")?;
                self.str(n)?
            }
            0xdb => {
                let n = self.len32("str length")?;
                self.str(n)?
            }
            0xe0..=0xff => Value::Int(b as i8 as i64),
            _ => return Err(Error::Decode(format!("invalid msgpack byte 0x{b:02x} at offset {at}"))),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value> {
        let at = self.pos;
        let s = self.take(n, "a string")?;
        let s = std::str::from_utf8(s).map_err(|_| Error::Decode(format!("string at offset {at} is not valid UTF-8")))?;
        Ok(Value::Str(Arc::from(s)))
    }

    fn bin(&mut self, n: usize) -> Result<Value> {
        let s = self.take(n, "a bin value")?;
        Ok(Value::Bytes(Arc::from(s)))
    }

    fn list(&mut self, n: usize, depth: usize) -> Result<Value> {
        // Every item takes at least one byte: refuse before allocating.
        if n > self.remaining() {
            return Err(truncated("an array"));
        }
        self.depth_check(depth + 1)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::List(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value> {
        // Every entry takes at least two bytes.
        if n > self.remaining() / 2 {
            return Err(truncated("a map"));
        }
        self.depth_check(depth + 1)?;
        let mut map = IndexMap::with_capacity(n);
        for _ in 0..n {
            let at = self.pos;
            let key = self.key(depth + 1)?;
            let value = self.value(depth + 1)?;
            if map.insert(key, value).is_some() {
                return Err(Error::Decode(format!("duplicate map key at offset {at}")));
            }
        }
        Ok(Value::Map(map))
    }

    /// A map key: a string, read straight into a `String`.
    fn key(&mut self, depth: usize) -> Result<String> {
        let at = self.pos;
        let b = self.u8("a map key")?;
        let n = match b {
            0xa0..=0xbf => (b & 0x1f) as usize,
            0xd9 => self.len8("str length")?,
            0xda => self.len16("str length")?,
            0xdb => self.len32("str length")?,
            _ => {
                self.pos = at;
                let kind = self.value(depth)?.kind();
                return Err(Error::Decode(format!(
                    "map key at offset {at} is a {kind}; docsync maps have string keys"
                )));
            }
        };
        let bytes = self.take(n, "a string")?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(Error::Decode(format!("string at offset {} is not valid UTF-8", self.pos - n))),
        }
    }

    fn ext(&mut self, n: usize, depth: usize) -> Result<Value> {
        let at = self.pos;
        let ty = self.u8("an ext type")? as i8;
        if n > self.remaining() {
            return Err(truncated("an ext value"));
        }
        match ty {
            EXT_REF => {
                let s = self.take(n, "a reference")?;
                let id = std::str::from_utf8(s)
                    .map_err(|_| Error::Decode(format!("reference id at offset {at} is not valid UTF-8")))?;
                Ok(Value::Ref(Arc::from(id)))
            }
            EXT_ARRAY => {
                self.depth_check(depth + 1)?;
                let start = self.pos;
                let payload = self.take(n, "a typed array")?;
                self.typed_array(payload, start).map(Value::Array)
            }
            other => Err(Error::Decode(format!("unknown msgpack ext type {other} at offset {at}"))),
        }
    }

    /// `payload` starts at offset `start` of the message.
    fn typed_array(&self, payload: &'a [u8], start: usize) -> Result<TypedArray> {
        let bad = |msg: String| Error::Decode(format!("typed array at offset {start}: {msg}"));
        if payload.len() < 2 {
            return Err(bad("payload shorter than its header".into()));
        }
        let dtype = Dtype::from_code(payload[0]).ok_or_else(|| bad(format!("unknown dtype code {}", payload[0])))?;
        let ndim = payload[1] as usize;
        if ndim == 0 || ndim > MAX_NDIM {
            return Err(bad(format!("ndim must be 1..={MAX_NDIM}, got {ndim}")));
        }
        let head = 2 + 4 * ndim;
        if payload.len() < head + 1 {
            return Err(bad("payload shorter than its header".into()));
        }
        let mut shape = Vec::with_capacity(ndim);
        for i in 0..ndim {
            let o = 2 + 4 * i;
            let d = u32::from_le_bytes([payload[o], payload[o + 1], payload[o + 2], payload[o + 3]]);
            shape.push(d as usize);
        }
        let pad = payload[head] as usize;
        if pad > 7 {
            return Err(bad(format!("pad must be at most 7, got {pad}")));
        }
        let data_off = head + 1 + pad;
        if payload.len() < data_off {
            return Err(bad("payload shorter than its pad".into()));
        }
        if payload[head + 1..data_off].iter().any(|&b| b != 0) {
            return Err(bad("pad bytes must be zero".into()));
        }
        let data = &payload[data_off..];
        let expected = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.itemsize()));
        if expected != Some(data.len()) {
            return Err(bad(format!(
                "{} data bytes, but shape {:?} of {} needs {}",
                data.len(),
                shape,
                dtype.numpy_name(),
                expected.map_or("more than fits in memory".to_string(), |e| e.to_string())
            )));
        }
        if dtype == Dtype::Bool {
            if let Some(b) = data.iter().find(|&&b| b > 1) {
                return Err(bad(format!("bool array holds byte {b}; only 0 and 1 are allowed")));
            }
        }
        let abs = start + data_off;
        let aligned = (data.as_ptr() as usize).is_multiple_of(dtype.itemsize());
        let buffer = match self.source {
            Some(src) if aligned => src.slice(abs, abs + data.len()),
            _ => aligned_copy(data),
        };
        Ok(TypedArray { dtype, shape, data: buffer })
    }
}

/// Copies bytes into fresh memory aligned to 8 bytes (so numpy and Rust may view it as
/// any dtype).
pub fn aligned_copy(bytes: &[u8]) -> ArrayBuffer {
    if bytes.is_empty() {
        return ArrayBuffer::from_vec(Vec::new());
    }
    let words = bytes.len().div_ceil(8);
    // Not `vec![0; words]`: zeroing first would touch the memory twice (a memset as long
    // as the copy, for every array that comes in).
    let mut store: Vec<u64> = Vec::with_capacity(words);
    let dst = store.as_mut_ptr() as *mut u8;
    // SAFETY: `store` has room for words * 8 >= bytes.len() bytes and the regions do not
    // overlap (fresh allocation). The copy and the zeroed tail initialise all words * 8
    // bytes, and u64 has no invalid bit patterns, so `set_len(words)` is sound.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        std::ptr::write_bytes(dst.add(bytes.len()), 0, words * 8 - bytes.len());
        store.set_len(words);
    }
    let store: Box<[u64]> = store.into_boxed_slice();
    let ptr = store.as_ptr() as *const u8;
    let len = bytes.len();
    // SAFETY: the boxed slice is owned by the Arc, never written again and freed only
    // when the last ArrayBuffer drops; moving the Box into the Arc does not move its heap
    // allocation.
    unsafe { ArrayBuffer::from_raw(ptr, len, Arc::new(store)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(v: &Value) -> Value {
        let bytes = encode(v).unwrap();
        decode(&bytes, Limits::default()).unwrap()
    }

    fn sample() -> Value {
        let mut m = IndexMap::new();
        m.insert("a".to_string(), Value::Int(1));
        m.insert("neg".to_string(), Value::Int(-100_000));
        m.insert("big".to_string(), Value::Int(i64::MAX));
        m.insert("small".to_string(), Value::Int(i64::MIN));
        m.insert("f".to_string(), Value::Float(f64::NAN));
        m.insert("inf".to_string(), Value::Float(f64::NEG_INFINITY));
        m.insert("z".to_string(), Value::Float(-0.0));
        m.insert("s".to_string(), Value::str("héllo"));
        m.insert("b".to_string(), Value::Bytes(Arc::from(&b"\x00\x01"[..])));
        m.insert("r".to_string(), Value::Ref(Arc::from("p1001")));
        m.insert("arr".to_string(), Value::Array(TypedArray::from_f64(&[1.0, 2.5, f64::NAN])));
        m.insert(
            "l".to_string(),
            Value::List(vec![Value::Null, Value::Bool(true), Value::Bool(false), Value::List(vec![])]),
        );
        Value::Map(m)
    }

    #[test]
    fn round_trip_sample() {
        let v = sample();
        assert_eq!(rt(&v), v);
    }

    #[test]
    fn ints_smallest_form() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (256, &[0xcd, 0x01, 0x00]),
            (-129, &[0xd1, 0xff, 0x7f]),
        ];
        for (v, bytes) in cases {
            assert_eq!(encode(&Value::Int(*v)).unwrap(), *bytes, "{v}");
            assert_eq!(rt(&Value::Int(*v)), Value::Int(*v));
        }
        for v in [65535, 65536, -32768, -32769, u32::MAX as i64, u32::MAX as i64 + 1, i32::MIN as i64 - 1] {
            assert_eq!(rt(&Value::Int(v)), Value::Int(v));
        }
    }

    #[test]
    fn arrays_are_aligned_to_the_whole_message() {
        for prefix in 0..16 {
            let mut enc = Encoder::new();
            enc.write_list_header(2).unwrap();
            enc.write_str(&"x".repeat(prefix)).unwrap();
            let a = TypedArray::from_f64(&[1.0, 2.0]);
            enc.write_array(&a).unwrap();
            let bytes = enc.into_bytes();
            let data_at = bytes.len() - 16;
            assert_eq!(data_at % 8, 0);
            let v = decode(&bytes, Limits::default()).unwrap();
            assert_eq!(v, Value::List(vec![Value::str(&"x".repeat(prefix)), Value::Array(a)]));
        }
    }

    #[test]
    fn decode_buffer_is_zero_copy() {
        let a = TypedArray::from_f64(&[1.0, 2.0, 3.0]);
        let bytes = encode(&Value::List(vec![Value::Array(a.clone())])).unwrap();
        let buf = aligned_copy(&bytes);
        let Value::List(items) = decode_buffer(&buf, Limits::default()).unwrap() else { panic!() };
        let Value::Array(got) = &items[0] else { panic!() };
        assert_eq!(got, &a);
        let base = buf.as_ptr() as usize;
        let p = got.data.as_ptr() as usize;
        assert!(p >= base && p < base + buf.len(), "shares the input's memory");
        assert_eq!(p % 8, 0);
    }

    #[test]
    fn every_dtype_and_nd() {
        for dt in Dtype::ALL {
            let n = 6;
            let data: Vec<u8> = (0..n * dt.itemsize()).map(|i| if dt == Dtype::Bool { (i % 2) as u8 } else { i as u8 }).collect();
            let a = TypedArray { dtype: dt, shape: vec![2, 3], data: ArrayBuffer::from_vec(data) };
            assert_eq!(rt(&Value::Array(a.clone())), Value::Array(a));
        }
    }

    #[test]
    fn limits() {
        let mut v = Value::Int(1);
        for _ in 0..70 {
            v = Value::List(vec![v]);
        }
        let bytes = encode(&v).unwrap();
        assert!(matches!(decode(&bytes, Limits::default()), Err(Error::Limit(_))));
        assert!(decode(&bytes, Limits::new(1 << 20, 100)).is_ok());
        assert!(matches!(decode(&bytes, Limits::new(10, 100)), Err(Error::Limit(_))));
        // a huge length prefix with nothing behind it
        for bad in [&[0xdd, 0xff, 0xff, 0xff, 0xff][..], &[0xdf, 0xff, 0xff, 0xff, 0xff], &[0xdb, 0xff, 0xff, 0xff, 0xff], &[0xc9, 0xff, 0xff, 0xff, 0xff, 2]] {
            assert!(matches!(decode(bad, Limits::default()), Err(Error::Decode(_))), "{bad:?}");
        }
        // nesting bomb of maps
        let mut bomb = [0x81u8, 0xa1, b'a'].repeat(10_000);
        bomb.push(0xc0);
        assert!(matches!(decode(&bomb, Limits::default()), Err(Error::Limit(_))));
    }

    #[test]
    fn bad_typed_arrays() {
        let a = TypedArray::from_f64(&[1.0]);
        let good = encode(&Value::Array(a)).unwrap();
        // layout: c9 len(4) 02 | dtype ndim shape(4) pad padbytes data
        let pad_at = 6 + 2 + 4;
        let mut bad_pad = good.clone();
        bad_pad[pad_at] = 8;
        assert!(decode(&bad_pad, Limits::default()).is_err());
        let pad = good[pad_at] as usize;
        if pad > 0 {
            let mut nonzero = good.clone();
            nonzero[pad_at + 1] = 1;
            assert!(decode(&nonzero, Limits::default()).is_err());
        }
        let mut bad_dtype = good.clone();
        bad_dtype[6] = 12;
        assert!(decode(&bad_dtype, Limits::default()).is_err());
        let mut bad_shape = good.clone();
        bad_shape[8] = 2;
        assert!(decode(&bad_shape, Limits::default()).is_err());
        let mut zero_ndim = good.clone();
        zero_ndim[7] = 0;
        assert!(decode(&zero_ndim, Limits::default()).is_err());
        let boolarr = TypedArray { dtype: Dtype::Bool, shape: vec![1], data: ArrayBuffer::from_vec(vec![2]) };
        let b = encode(&Value::Array(boolarr)).unwrap();
        assert!(decode(&b, Limits::default()).is_err());
    }

    #[test]
    fn truncations_never_panic() {
        let bytes = encode_message("patch", Some(3), None, Some(&sample())).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], Limits::default()).is_err());
        }
        // pseudo-random bytes
        let mut x: u64 = 0x9E3779B97F4A7C15;
        for _ in 0..20_000 {
            let len = (x % 64) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
            let _ = decode(&buf, Limits::default());
            // and mutations of a valid message
            let mut m = bytes.clone();
            let i = (x as usize) % m.len();
            m[i] = (x >> 8) as u8;
            let _ = decode(&m, Limits::default());
        }
    }

    #[test]
    fn envelope() {
        let bytes = encode_message("patch", Some(7), Some(2), Some(&Value::Int(5))).unwrap();
        let m = decode_message(&bytes, Limits::default()).unwrap();
        assert_eq!(m, Message { msg_type: "patch".into(), seq: Some(7), ack: Some(2), payload: Value::Int(5) });
        let bytes = encode_message("ping", Some(1), None, None).unwrap();
        let m = decode_message(&bytes, Limits::default()).unwrap();
        assert_eq!(m.payload, Value::Null);
        assert_eq!(m.ack, None);
        // unknown keys are ignored; bad versions and types are protocol errors
        let mut map = IndexMap::new();
        map.insert("v".to_string(), Value::Int(1));
        map.insert("t".to_string(), Value::str("ok"));
        map.insert("future".to_string(), Value::Int(1));
        assert!(decode_message(&encode(&Value::Map(map.clone())).unwrap(), Limits::default()).is_ok());
        map.insert("v".to_string(), Value::Int(2));
        assert!(matches!(decode_message(&encode(&Value::Map(map.clone())).unwrap(), Limits::default()), Err(Error::Protocol(_))));
        map.insert("v".to_string(), Value::Int(1));
        map.insert("t".to_string(), Value::Int(1));
        assert!(matches!(decode_message(&encode(&Value::Map(map)).unwrap(), Limits::default()), Err(Error::Protocol(_))));
        assert!(matches!(decode_message(&encode(&Value::Int(1)).unwrap(), Limits::default()), Err(Error::Protocol(_))));
    }

    #[test]
    fn rejects_non_string_keys_duplicates_and_trailing() {
        assert!(decode(&[0x81, 0x01, 0x02], Limits::default()).is_err());
        assert!(decode(&[0x82, 0xa1, b'a', 0x01, 0xa1, b'a', 0x02], Limits::default()).is_err());
        assert!(decode(&[0x01, 0x02], Limits::default()).is_err());
        assert!(decode(&[0xc1], Limits::default()).is_err());
        assert!(decode(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Limits::default()).is_err());
        assert!(decode(&[0xd4, 0x05, 0x00], Limits::default()).is_err());
        // float 32 widens
        assert_eq!(decode(&[0xca, 0x3f, 0x80, 0, 0], Limits::default()).unwrap(), Value::Float(1.0));
    }

    fn fixtures() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
    }

    fn golden(name: &str) -> Vec<u8> {
        std::fs::read(fixtures().join(format!("{name}.msgpack"))).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn golden_vectors_round_trip_byte_exact() {
        let mut n = 0;
        for entry in std::fs::read_dir(fixtures()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("msgpack") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let v = decode(&bytes, Limits::default()).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(encode(&v).unwrap(), bytes, "{path:?} re-encodes to the same bytes");
            // zero-copy decoding from an aligned buffer gives the same value
            assert_eq!(decode_buffer(&aligned_copy(&bytes), Limits::default()).unwrap(), v);
            n += 1;
        }
        assert!(n >= 20, "found only {n} golden vectors");
    }

    #[test]
    fn golden_values() {
        let Value::List(s) = decode(&golden("scalars"), Limits::default()).unwrap() else { panic!() };
        assert_eq!(&s[..4], &[Value::Null, Value::Bool(true), Value::Bool(false), Value::Int(0)]);
        assert!(s.contains(&Value::Int(i64::MIN)) && s.contains(&Value::Int(i64::MAX)));
        let Value::List(f) = decode(&golden("floats_special"), Limits::default()).unwrap() else { panic!() };
        assert!(matches!(f[0], Value::Float(x) if x.is_nan()));
        assert_eq!(f[1], Value::Float(f64::INFINITY));
        assert!(matches!(f[3], Value::Float(x) if x == 0.0 && x.is_sign_negative()));
        let Value::Map(m) = decode(&golden("dtype_datetime64_ms"), Limits::default()).unwrap() else { panic!() };
        let Some(Value::Array(a)) = m.get("array") else { panic!() };
        assert_eq!(a.dtype, Dtype::DatetimeMs);
        assert_eq!(&a.data.as_slice()[..8], &1i64.to_le_bytes());
        let Value::List(r) = decode(&golden("refs"), Limits::default()).unwrap() else { panic!() };
        assert_eq!(r[0], Value::Ref(Arc::from("p1001")));
        let msg = decode_message(&golden("patch_message"), Limits::default()).unwrap();
        assert_eq!((msg.msg_type.as_str(), msg.seq, msg.ack), ("patch", Some(1), None));
        let snap = decode_message(&golden("snapshot_message"), Limits::default()).unwrap();
        assert_eq!(snap.msg_type, "snapshot");
        let env = decode_message(&golden("envelope"), Limits::default()).unwrap();
        assert_eq!((env.msg_type.as_str(), env.seq, env.payload), ("ping", Some(5), Value::Null));
    }

    #[test]
    fn huge_requested_depth_is_capped() {
        let mut bomb = vec![0x91u8; 200_000];
        bomb.push(0xc0);
        assert!(matches!(decode(&bomb, Limits::new(usize::MAX, usize::MAX)), Err(Error::Limit(_))));
        let mut maps = [0x81u8, 0xa1, b'a'].repeat(100_000);
        maps.push(0xc0);
        assert!(matches!(decode(&maps, Limits::new(usize::MAX, usize::MAX)), Err(Error::Limit(_))));
        // just under the cap decodes (and drops) fine on a 2 MiB test thread
        let mut ok = vec![0x91u8; HARD_MAX_DEPTH - 1];
        ok.push(0xc0);
        assert!(decode(&ok, Limits::new(usize::MAX, usize::MAX)).is_ok());
        let mut okm = [0x81u8, 0xa1, b'a'].repeat(HARD_MAX_DEPTH - 1);
        okm.push(0xc0);
        assert!(decode(&okm, Limits::new(usize::MAX, usize::MAX)).is_ok());
    }

    #[test]
    fn counting_and_slice_sinks_match_the_vec_encoder() {
        for prefix in 0..9 {
            let v = Value::List(vec![Value::str(&"p".repeat(prefix)), sample(), Value::Array(TypedArray::from_f64(&[1.0, 2.0]))]);
            let bytes = encode(&v).unwrap();
            assert_eq!(encoded_len(&v).unwrap(), bytes.len());
            let mut out = vec![0xAAu8; bytes.len()];
            encode_to_slice(&v, &mut out).unwrap();
            assert_eq!(out, bytes);
            let mut short = vec![0u8; bytes.len() - 1];
            assert!(encode_to_slice(&v, &mut short).is_err());
            let m = encode_message("patch", Some(prefix as i64), None, Some(&v)).unwrap();
            assert_eq!(encoded_message_len("patch", Some(prefix as i64), None, Some(&v)).unwrap(), m.len());
            let mut out = vec![0u8; m.len()];
            encode_message_to_slice("patch", Some(prefix as i64), None, Some(&v), &mut out).unwrap();
            assert_eq!(out, m);
        }
    }

    #[test]
    fn value_size_for_the_record() {
        // Decoding amplifies memory by about size_of::<Value>() per item (a list of n
        // one-byte ints takes n * this many bytes); the size limit bounds n.
        assert!(std::mem::size_of::<Value>() <= 80, "{}", std::mem::size_of::<Value>());
    }
}
