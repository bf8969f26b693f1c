//! docsync-core: the patch engine behind docsync.
//!
//! * [`value`]: values, typed arrays and the shared memory under them.
//! * [`codec`]: the msgpack wire format (values, envelopes, limits).
//! * [`columns`]: the column store of a ColumnDataSource (O(new rows) streaming).
//! * [`schema`]: per-type property schemas and value validation.
//! * [`document`]: document state, recorded events, apply, snapshot.
//! * [`event`] / [`patch`]: events and their coalescing into one patch per flush.
//! * [`diff`]: document diff and plain-tree diff (RFC 6902).
//!
//! No pyo3 here: `cargo test` and the criterion benches run without Python.

pub mod codec;
pub mod columns;
pub mod diff;
pub mod document;
pub mod error;
pub mod event;
pub mod patch;
pub mod schema;
pub mod value;

pub use error::{Error, Result};
pub use value::{ArrayBuffer, Dtype, TypedArray, Value};

/// The engine's version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The wire protocol version (`v` of every envelope).
pub const PROTOCOL_VERSION: i64 = 1;
