//! The column store of a ColumnDataSource.
//!
//! A source's data is a set of named columns. A column is either *typed* (a numeric,
//! bool or datetime array, possibly n-d: one image per row) or a *list* of values.
//!
//! # Streaming in O(new rows)
//!
//! A typed column lives in a [`SharedBuf`]: a fixed-capacity, append-only allocation with
//! an atomically committed length. The column is the byte range `[start, start + len)`.
//! * Appending claims the bytes right after the column's end (a compare-and-swap on the
//!   committed length), writes the new rows there and extends the range. Bytes under an
//!   existing view are never touched, so views stay valid and unchanged.
//! * Rollover only moves `start` forward: O(1).
//! * When the buffer is full, or another clone of the column has already claimed the tail
//!   (copy-on-write after `Document::copy`), the surviving rows are copied once into a new
//!   buffer twice their size — or, for a rolling column past huge-page size, into one
//!   buffer of `ROLL_WINDOWS` windows reserved ahead (see `grown_capacity`), where a
//!   full buffer nobody else sees slides its rows back to the start once per
//!   `ROLL_WINDOWS - 1` windows. Each row is therefore copied O(1) times amortised,
//!   whatever the column length or rollover, and a rolling column holds at most
//!   `ROLL_WINDOWS` windows of memory (plus what live views keep).
//!
//! Columns taken from outside (a numpy array, a decoded message) are kept as the
//! immutable [`ArrayBuffer`] they came in, without a copy, until the first append or patch.
//!
//! # Views never move
//!
//! [`ColumnData::get`] hands out [`ArrayBuffer`]s pointing into the column's memory (no
//! copy). That memory is never written or freed while a view lives: appends only write
//! past every view, and a patch writes in place only when nobody else holds the buffer
//! (`Arc::get_mut`); otherwise it copies the column first (O(len), once per patch that
//! races a live view).
//!
//! # Lengths
//!
//! [`ColumnData::from_map`], [`ColumnData::stream`] and [`ColumnData::patch`] check
//! lengths. [`ColumnData::set_column`] replaces one column and may leave columns of
//! different lengths for a while (as in Bokeh, where `source.data["x"] = ...` then
//! `source.data["y"] = ...` passes through such a state); streaming into a source whose
//! columns disagree is an error.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::value::{ArrayBuffer, Dtype, TypedArray, Value};

// ---------------------------------------------------------------------------------------
// Shared append-only buffer
// ---------------------------------------------------------------------------------------

/// A fixed-capacity allocation (8-byte aligned) whose bytes below `committed` have been
/// claimed by some column; claimed bytes are written once by their claimer and then only
/// ever written again through exclusive access (`Arc::get_mut`).
struct SharedBuf {
    ptr: *mut u8,
    words: usize,
    committed: AtomicUsize,
}

// SAFETY: the raw allocation is owned by this struct. Concurrent writers only write bytes
// they claimed through the atomic `committed` (disjoint ranges nobody reads yet); other
// writes need `&mut SharedBuf`.
unsafe impl Send for SharedBuf {}
// SAFETY: as above.
unsafe impl Sync for SharedBuf {}

impl SharedBuf {
    /// An allocation of at least `cap_bytes` (and at least 8) bytes, left uninitialised:
    /// bytes are only read below `committed`, after their claimer wrote them, so zeroing
    /// would only add a pass over memory as large as the column's room to grow.
    fn new(cap_bytes: usize) -> SharedBuf {
        let words = cap_bytes.div_ceil(8).max(1);
        let layout = Self::layout(words);
        // SAFETY: the layout has a non-zero size (words >= 1).
        let ptr = unsafe { std::alloc::alloc(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        if layout.align() == HUGE_ALIGN {
            advise_huge_pages(ptr, layout.size());
        }
        SharedBuf { ptr, words, committed: AtomicUsize::new(0) }
    }

    /// 8-byte aligned; large buffers are aligned to huge pages (see `advise_huge_pages`).
    fn layout(words: usize) -> std::alloc::Layout {
        let align = if words * 8 >= HUGE_FROM { HUGE_ALIGN } else { 8 };
        std::alloc::Layout::from_size_align(words.checked_mul(8).expect("column buffer size overflows"), align)
            .expect("column buffer size overflows")
    }

    fn capacity(&self) -> usize {
        self.words * 8
    }

    /// Claims `[end, end + n)` if `end` is the committed length and there is room.
    fn try_claim(&self, end: usize, n: usize) -> bool {
        match end.checked_add(n) {
            Some(new_end) if new_end <= self.capacity() => self
                .committed
                .compare_exchange(end, new_end, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            _ => false,
        }
    }
}

/// A rolling column's buffer, once it is large, holds this many windows (rollover × row
/// bytes): its rows slide back to the start of the buffer once per `ROLL_WINDOWS - 1`
/// windows appended, so each appended byte costs `1 / (ROLL_WINDOWS - 1)` bytes of sliding
/// (with 2 windows, as plain doubling gives, every byte was moved once more). Memory of a
/// rolling column is bounded by this many windows (see `grown_capacity`). Measured on a
/// 2-core VM, 10k rows × 2 float64 per append at rollover 1M, steady state: 2 windows
/// 56 µs, 3 windows 40–56 µs, 4 windows 35–39 µs, 8 windows 39–51 µs per append (more
/// windows: a larger, colder working set).
const ROLL_WINDOWS: usize = 4;

/// A rolling column grows by doubling until its buffer would reach this size, then
/// reserves its windows: below it a few reallocations of small buffers cost little; above
/// it each doubling copied the column into fresh 4 KiB pages (filling a source from empty
/// to a 1M-row rollover with 10k rows × 2 float64 per append: 2.1–2.3× numpy filling
/// fresh arrays with reservation from 2 MiB, 1.65–1.9× from 256 KiB).
const RESERVE_FROM: usize = 256 << 10;

/// A rolling buffer is reserved ahead (address space; pages are only touched as rows are
/// written) only up to this size; larger windows grow by doubling and slide once per window.
const RESERVE_MAX: usize = 256 << 20;

/// The capacity of a new buffer for `live` bytes: twice that (amortised O(1) per byte),
/// and for a rolling column (`window`: rollover × row bytes) that has reached
/// `RESERVE_FROM` or its rollover, `ROLL_WINDOWS` windows at once (address space: the
/// pages are touched as rows arrive), so that it neither copies itself
/// while it grows to the rollover (each reallocation copied the whole column into fresh
/// memory, ~5–15 ms per 8 MB column on that VM) nor slides often once it rolls (with 2
/// windows a small column rolling by whole windows slides on every append; for 10k rows
/// × 2 float64 at rollover 10k, where the slide stays in cache, 2 and 4 windows measured
/// the same within run-to-run noise, 7–11 µs per append). A small column with a large
/// rollover (a cap it may never reach) reserves nothing ahead.
fn grown_capacity(live: usize, window: Option<usize>) -> usize {
    let cap = (2 * live).max(256);
    match window {
        Some(w) if cap >= RESERVE_FROM || live >= w => {
            let rolling = w.saturating_mul(ROLL_WINDOWS);
            if rolling <= RESERVE_MAX { cap.max(rolling) } else { cap }
        }
        _ => cap,
    }
}

/// Buffers at least this large are backed by huge pages where the OS offers them.
const HUGE_FROM: usize = 2 << 20;
const HUGE_ALIGN: usize = 2 << 20;

/// Asks Linux to back `[ptr, ptr + len)` with transparent huge pages (as numpy does for
/// its large arrays). Appends write into fresh memory of the buffer, and with 4 KiB pages
/// the first touch of each page costs a fault: measured on a 2-core VM, appending
/// 160 KB took 140 µs into fresh 4 KiB pages against 21 µs with huge pages. Only a hint:
/// failure (or another OS) changes nothing but speed.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const MADV_HUGEPAGE: std::os::raw::c_int = 14;
    extern "C" {
        fn madvise(addr: *mut std::os::raw::c_void, len: usize, advice: std::os::raw::c_int) -> std::os::raw::c_int;
    }
    // SAFETY: `ptr` is page-aligned (HUGE_ALIGN) and `[ptr, ptr + len)` is our own fresh
    // allocation; MADV_HUGEPAGE changes no contents and its result is ignored on purpose.
    let _ = unsafe { madvise(ptr.cast(), len, MADV_HUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

impl Drop for SharedBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc` with this very layout (see `SharedBuf::new`).
        unsafe { std::alloc::dealloc(self.ptr, Self::layout(self.words)) }
    }
}

#[derive(Clone)]
enum Store {
    /// Immutable bytes from outside: exactly the column's bytes.
    Frozen(ArrayBuffer),
    /// The column is `buf[start .. start + nbytes]`.
    Growable { buf: Arc<SharedBuf>, start: usize },
}

// ---------------------------------------------------------------------------------------
// Typed columns
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct TypedColumn {
    dtype: Dtype,
    /// Shape of one row (empty for a 1-d column).
    row_shape: Vec<usize>,
    /// Elements per row.
    row_elems: usize,
    rows: usize,
    store: Store,
}

impl TypedColumn {
    fn from_array(a: TypedArray) -> TypedColumn {
        let row_shape = a.shape.get(1..).map(|s| s.to_vec()).unwrap_or_default();
        let row_elems = row_shape.iter().product();
        TypedColumn { dtype: a.dtype, row_shape, row_elems, rows: a.len(), store: Store::Frozen(a.data) }
    }

    fn row_bytes(&self) -> usize {
        self.row_elems * self.dtype.itemsize()
    }

    fn nbytes(&self) -> usize {
        self.rows * self.row_bytes()
    }

    fn shape(&self) -> Vec<usize> {
        let mut s = Vec::with_capacity(1 + self.row_shape.len());
        s.push(self.rows);
        s.extend_from_slice(&self.row_shape);
        s
    }

    fn bytes(&self) -> &[u8] {
        match &self.store {
            Store::Frozen(b) => b.as_slice(),
            Store::Growable { buf, start } => {
                let n = self.nbytes();
                if n == 0 {
                    return &[];
                }
                // SAFETY: [start, start + n) lies below `committed` and inside the
                // allocation; those bytes were written by this column's lineage before
                // now and are only rewritten through exclusive access (`&mut self`).
                unsafe { std::slice::from_raw_parts(buf.ptr.add(*start), n) }
            }
        }
    }

    /// A view sharing the column's memory.
    fn view(&self) -> TypedArray {
        let data = match &self.store {
            Store::Frozen(b) => b.clone(),
            Store::Growable { buf, start } => {
                let owner: Arc<dyn Send + Sync> = buf.clone();
                // SAFETY: the range is valid (see `bytes`) and stays unwritten while this
                // view's Arc lives: appends only write past the committed length, and
                // in-place writes need `Arc::get_mut`, which fails while the view exists.
                unsafe { ArrayBuffer::from_raw(buf.ptr.add(*start), self.nbytes(), owner) }
            }
        };
        TypedArray { dtype: self.dtype, shape: self.shape(), data }
    }

    /// Appends `new_rows` rows (`bytes` already in this dtype), then keeps the last
    /// `rollover` rows when given. O(new rows) amortised.
    fn append(&mut self, bytes: &[u8], new_rows: usize, rollover: Option<usize>) {
        let rb = self.row_bytes();
        let total = self.rows + new_rows;
        let keep = rollover.map_or(total, |k| k.min(total));
        let drop_rows = total - keep;
        if drop_rows >= self.rows && self.rows > 0 {
            // Every old row goes (a stream of at least `rollover` rows): when nobody else
            // sees the buffer, write the kept rows at its start instead of past the old
            // ones, so the column never slides and its memory stays one window (in cache
            // for small windows). A view or a pending event holding the buffer makes
            // `get_mut` fail, and the general path below leaves their bytes untouched.
            if let Store::Growable { buf, start } = &mut self.store {
                let keep_bytes = keep * rb;
                let cap = buf.capacity();
                if let Some(b) = Arc::get_mut(buf) {
                    if keep_bytes <= cap {
                        let new_part = &bytes[(drop_rows - self.rows) * rb..];
                        // SAFETY: exclusive access (`Arc::get_mut`); [0, keep_bytes) lies
                        // inside the allocation; `bytes` cannot alias this buffer (a view
                        // of it would hold the Arc and make `get_mut` fail).
                        unsafe { std::ptr::copy_nonoverlapping(new_part.as_ptr(), b.ptr, keep_bytes) };
                        *b.committed.get_mut() = keep_bytes;
                        *start = 0;
                        self.rows = keep;
                        return;
                    }
                }
            }
        }
        if let Store::Growable { buf, start } = &mut self.store {
            let end = *start + self.rows * rb;
            if buf.try_claim(end, bytes.len()) {
                if !bytes.is_empty() {
                    // SAFETY: we just claimed [end, end + len) atomically: it is inside
                    // the allocation, no view covers it and no other column may claim it.
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.ptr.add(end), bytes.len()) };
                }
                *start += drop_rows * rb;
                self.rows = keep;
                return;
            }
        }
        let drop_old = drop_rows.min(self.rows);
        let drop_new = drop_rows - drop_old;
        if let Store::Growable { buf, start } = &mut self.store {
            let cap = buf.capacity();
            if let Some(b) = Arc::get_mut(buf) {
                // Full, but nobody else can see this buffer (no view, no clone: a pending
                // event's view would hold it): slide the surviving rows back to its start
                // rather than moving them to fresh memory, whose pages would all fault
                // again. Only when that frees at least half of it, so each row still moves
                // O(1) times amortised (a rolling column settles here for good).
                let old_at = *start + drop_old * rb;
                let old_len = (self.rows - drop_old) * rb;
                let new_part = &bytes[drop_new * rb..];
                let live = old_len + new_part.len();
                if 2 * live <= cap {
                    // SAFETY: exclusive access (`Arc::get_mut`); [old_at, old_at + old_len)
                    // was written (below `committed`), the destination [0, live) lies
                    // inside the allocation (live <= cap / 2), `ptr::copy` allows the
                    // overlap, and `bytes` cannot alias this buffer (a view of it would
                    // hold the Arc and make `get_mut` fail).
                    unsafe {
                        std::ptr::copy(b.ptr.add(old_at), b.ptr, old_len);
                        std::ptr::copy_nonoverlapping(new_part.as_ptr(), b.ptr.add(old_len), new_part.len());
                    }
                    *b.committed.get_mut() = live;
                    *start = 0;
                    self.rows = keep;
                    return;
                }
            }
        }
        // Copy the surviving rows once into a buffer with room to grow.
        let old = self.bytes();
        let old_part = &old[drop_old * rb..];
        let new_part = &bytes[drop_new * rb..];
        let live = old_part.len() + new_part.len();
        let nb = SharedBuf::new(grown_capacity(live, rollover.map(|w| w.saturating_mul(rb))));
        // SAFETY: fresh allocation of at least `live` bytes, not shared yet.
        unsafe {
            std::ptr::copy_nonoverlapping(old_part.as_ptr(), nb.ptr, old_part.len());
            std::ptr::copy_nonoverlapping(new_part.as_ptr(), nb.ptr.add(old_part.len()), new_part.len());
        }
        nb.committed.store(live, Ordering::Release);
        self.store = Store::Growable { buf: Arc::new(nb), start: 0 };
        self.rows = keep;
    }

    /// The column's bytes for writing in place, copying them first if anyone else (a view,
    /// a clone) can see them.
    fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.nbytes();
        let exclusive = match &mut self.store {
            Store::Growable { buf, .. } => Arc::get_mut(buf).is_some(),
            Store::Frozen(_) => false,
        };
        if !exclusive {
            let nb = SharedBuf::new(n.max(8));
            // SAFETY: fresh allocation of at least n bytes.
            unsafe { std::ptr::copy_nonoverlapping(self.bytes().as_ptr(), nb.ptr, n) };
            nb.committed.store(n, Ordering::Release);
            self.store = Store::Growable { buf: Arc::new(nb), start: 0 };
        }
        match &mut self.store {
            Store::Growable { buf, start } => {
                let buf = Arc::get_mut(buf).expect("exclusive after copy");
                if n == 0 {
                    return &mut [];
                }
                // SAFETY: exclusive access to the buffer; the range is inside it.
                unsafe { std::slice::from_raw_parts_mut(buf.ptr.add(*start), n) }
            }
            Store::Frozen(_) => unreachable!("replaced above"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
enum Repr {
    Typed(TypedColumn),
    List(Arc<VecDeque<Value>>),
}

/// One column: a typed array (cheap to clone: memory is shared copy-on-write) or a list
/// of values.
#[derive(Clone)]
pub struct Column {
    repr: Repr,
}

impl Column {
    /// A column from a value: `Value::Array` (at least 1-d) → typed, `Value::List` → list.
    ///
    /// # Errors
    /// [`Error::Column`] for any other value.
    pub fn from_value(name: &str, value: Value) -> Result<Column> {
        match value {
            Value::Array(a) => {
                check_array(name, &a)?;
                Ok(Column { repr: Repr::Typed(TypedColumn::from_array(a)) })
            }
            Value::List(items) => Ok(Column { repr: Repr::List(Arc::new(VecDeque::from(items))) }),
            other => Err(Error::Column(format!(
                "column {name:?} must be an array or a list, got {}",
                other.kind()
            ))),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Typed(t) => t.rows,
            Repr::List(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype of a typed column (`None` for a list column).
    pub fn dtype(&self) -> Option<Dtype> {
        match &self.repr {
            Repr::Typed(t) => Some(t.dtype),
            Repr::List(_) => None,
        }
    }

    pub fn is_typed(&self) -> bool {
        matches!(self.repr, Repr::Typed(_))
    }

    /// The column as a value: a typed array sharing the column's memory (no copy), or a
    /// list (copied).
    pub fn to_value(&self) -> Value {
        match &self.repr {
            Repr::Typed(t) => Value::Array(t.view()),
            Repr::List(l) => Value::List(l.iter().cloned().collect()),
        }
    }

    /// Bytes held by a typed column (0 for a list column).
    pub fn nbytes(&self) -> usize {
        match &self.repr {
            Repr::Typed(t) => t.nbytes(),
            Repr::List(_) => 0,
        }
    }
}

impl PartialEq for Column {
    fn eq(&self, other: &Self) -> bool {
        match (&self.repr, &other.repr) {
            (Repr::Typed(a), Repr::Typed(b)) => {
                a.dtype == b.dtype && a.rows == b.rows && a.row_shape == b.row_shape && a.bytes() == b.bytes()
            }
            (Repr::List(a), Repr::List(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.repr {
            Repr::Typed(t) => write!(f, "Column({} {:?})", t.dtype.numpy_name(), t.shape()),
            Repr::List(l) => write!(f, "Column(list {:?})", l),
        }
    }
}

/// A source's data: named columns (insertion order kept) of equal length.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ColumnData {
    pub(crate) columns: IndexMap<String, Column>,
}

/// A validated stream, ready to apply.
struct StreamPlan<'a> {
    new_rows: usize,
    columns: Vec<(usize, NewRows<'a>)>,
}

enum NewRows<'a> {
    Typed(Cow<'a, [u8]>),
    List(Vec<Value>),
}

/// A validated patch: (column index, its writes in order) per patched column.
type PatchPlan = Vec<(usize, Vec<PatchWrite>)>;

/// One validated write of a patch, ready to apply.
enum PatchWrite {
    /// Element indices (into the flattened column) and their bytes in the column's dtype.
    Typed { elems: Vec<usize>, bytes: Vec<u8> },
    /// Row replacements of a list column.
    List { rows: Vec<usize>, values: Vec<Value> },
}

impl ColumnData {
    pub fn new() -> ColumnData {
        ColumnData::default()
    }

    /// Columns from a map: `Value::Array` → typed column (no copy), `Value::List` → list.
    ///
    /// # Errors
    /// [`Error::Column`] for a value that is neither, or for columns of unequal lengths
    /// (the message names the columns and their lengths).
    pub fn from_map(map: IndexMap<String, Value>) -> Result<ColumnData> {
        let mut columns = IndexMap::with_capacity(map.len());
        for (name, value) in map {
            let col = Column::from_value(&name, value)?;
            columns.insert(name, col);
        }
        let data = ColumnData { columns };
        data.check_equal_lengths()?;
        Ok(data)
    }

    /// # Errors
    /// [`Error::Column`] naming the columns and their lengths when they differ.
    pub fn check_equal_lengths(&self) -> Result<()> {
        if let Some(c0) = self.columns.values().next() {
            let n = c0.len();
            if self.columns.values().any(|c| c.len() != n) {
                let lens: Vec<String> = self.columns.iter().map(|(k, c)| format!("{k:?}: {}", c.len())).collect();
                return Err(Error::Column(format!(
                    "columns must all have the same length, got {}",
                    lens.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Rows: the length of the first column (0 without columns).
    pub fn len(&self) -> usize {
        self.columns.values().next().map_or(0, Column::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column names in insertion order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.keys().map(String::as_str).collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.columns.iter().map(|(k, c)| (k.as_str(), c))
    }

    /// Total bytes of the typed columns.
    pub fn nbytes(&self) -> usize {
        self.columns.values().map(Column::nbytes).sum()
    }

    /// A column as a value: typed columns as `Value::Array` sharing memory (never a copy of
    /// the column), list columns as `Value::List`.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.columns.get(name).map(Column::to_value)
    }

    /// Every column as a value (see [`ColumnData::get`]).
    pub fn to_map(&self) -> IndexMap<String, Value> {
        self.columns.iter().map(|(k, c)| (k.clone(), c.to_value())).collect()
    }

    /// Replaces (or adds, at the end) one column. Lengths are not checked against the
    /// other columns: they may differ transiently, as in Bokeh; `stream` refuses to run
    /// until they agree again.
    ///
    /// # Errors
    /// [`Error::Column`] for a value that is neither an array nor a list.
    pub fn set_column(&mut self, name: &str, value: Value) -> Result<()> {
        let col = Column::from_value(name, value)?;
        match self.columns.get_mut(name) {
            Some(slot) => *slot = col,
            None => {
                self.columns.insert(name.to_string(), col);
            }
        }
        Ok(())
    }

    /// Removes a column; returns whether it existed.
    pub fn remove_column(&mut self, name: &str) -> bool {
        self.columns.shift_remove(name).is_some()
    }

    // -------------------------------------------------------------------- stream

    /// Checks that `new` can be streamed (see [`ColumnData::stream`]) without changing
    /// anything.
    ///
    /// # Errors
    /// As [`ColumnData::stream`].
    pub fn check_stream(&self, new: &IndexMap<String, Value>, rollover: Option<i64>) -> Result<()> {
        check_rollover(rollover)?;
        self.plan_stream(new).map(|_| ())
    }

    /// Appends rows to every column, then keeps only the last `rollover` rows when given.
    /// `new` must hold exactly this source's columns, all of the same length, with
    /// compatible values (ints into float columns are fine, floats into int columns are
    /// not; ints must fit the column's dtype). Costs O(new rows), whatever the length.
    /// Nothing changes on error.
    ///
    /// # Errors
    /// [`Error::Column`] for missing or unknown columns, unequal lengths, incompatible
    /// dtypes or shapes, or a rollover ≤ 0.
    pub fn stream(&mut self, new: &IndexMap<String, Value>, rollover: Option<i64>) -> Result<()> {
        let keep = check_rollover(rollover)?;
        let plan = self.plan_stream(new)?;
        let StreamPlan { new_rows, columns } = plan;
        // `plan` borrows `new` only, so we may now mutate self.
        for (idx, rows) in columns {
            let (_, col) = self.columns.get_index_mut(idx).expect("planned index");
            match (&mut col.repr, rows) {
                (Repr::Typed(t), NewRows::Typed(bytes)) => t.append(&bytes, new_rows, keep),
                (Repr::List(l), NewRows::List(values)) => {
                    let l = Arc::make_mut(l);
                    l.extend(values);
                    if let Some(k) = keep {
                        if l.len() > k {
                            let d = l.len() - k;
                            l.drain(..d);
                        }
                    }
                }
                _ => unreachable!("plan matches column kinds"),
            }
        }
        Ok(())
    }

    fn plan_stream<'a>(&self, new: &'a IndexMap<String, Value>) -> Result<StreamPlan<'a>> {
        if new.len() != self.columns.len() || new.keys().any(|k| !self.columns.contains_key(k)) {
            let unknown: Vec<&str> = new.keys().filter(|k| !self.columns.contains_key(*k)).map(String::as_str).collect();
            let missing: Vec<&str> = self.columns.keys().filter(|k| !new.contains_key(*k)).map(String::as_str).collect();
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing columns {missing:?}"));
            }
            if !unknown.is_empty() {
                parts.push(format!("unknown columns {unknown:?}"));
            }
            return Err(Error::Column(format!(
                "stream must hold exactly the source's columns {:?}: {}",
                self.names(),
                parts.join(", ")
            )));
        }
        self.check_equal_lengths().map_err(|e| {
            Error::Column(format!("cannot stream into a source whose {}", e.message().replacen("columns must", "columns do not", 1)))
        })?;
        // new rows: equal lengths
        let lens: Vec<(&str, usize)> = new
            .iter()
            .map(|(k, v)| {
                let n = match v {
                    Value::Array(a) => check_array(k, a).map(|_| a.len()),
                    Value::List(l) => Ok(l.len()),
                    other => Err(Error::Column(format!(
                        "streamed column {k:?} must be an array or a list, got {}",
                        other.kind()
                    ))),
                }?;
                Ok((k.as_str(), n))
            })
            .collect::<Result<_>>()?;
        let new_rows = lens.first().map_or(0, |x| x.1);
        if lens.iter().any(|x| x.1 != new_rows) {
            let s: Vec<String> = lens.iter().map(|(k, n)| format!("{k:?}: {n}")).collect();
            return Err(Error::Column(format!(
                "streamed columns must all have the same length, got {}",
                s.join(", ")
            )));
        }
        let mut columns = Vec::with_capacity(new.len());
        for (idx, (name, col)) in self.columns.iter().enumerate() {
            let v = &new[name.as_str()];
            let rows = match &col.repr {
                Repr::Typed(t) => NewRows::Typed(typed_rows(name, t, v)?),
                Repr::List(_) => NewRows::List(list_rows(v)),
            };
            columns.push((idx, rows));
        }
        Ok(StreamPlan { new_rows, columns })
    }

    // -------------------------------------------------------------------- patch

    /// Checks that `patches` can be applied (see [`ColumnData::patch`]) without changing
    /// anything.
    ///
    /// # Errors
    /// As [`ColumnData::patch`].
    pub fn check_patch(&self, patches: &IndexMap<String, Value>) -> Result<()> {
        self.plan_patch(patches).map(|_| ())
    }

    /// Replaces values in place. `patches` maps a column name to a list of `[index,
    /// value]` pairs, applied in order. An index is an int (a row), a slice map
    /// `{"start", "stop", "step"}` (nil = open) selecting rows, or for an n-d column a
    /// list `[row, i or slice, ...]` selecting elements inside one row. The value holds
    /// one element per selected element (a scalar, or a list / array of them). Everything
    /// is validated before anything changes.
    ///
    /// # Errors
    /// [`Error::Column`] for unknown columns, out-of-range indices (`i == len` is out of
    /// range), negative, reversed or zero-step slices, value counts that do not match, or
    /// incompatible values.
    pub fn patch(&mut self, patches: &IndexMap<String, Value>) -> Result<()> {
        let plan = self.plan_patch(patches)?;
        for (idx, writes) in plan {
            let (_, col) = self.columns.get_index_mut(idx).expect("planned index");
            match &mut col.repr {
                Repr::Typed(t) => {
                    let item = t.dtype.itemsize();
                    let data = t.bytes_mut();
                    for w in writes {
                        let PatchWrite::Typed { elems, bytes } = w else { unreachable!() };
                        for (k, e) in elems.iter().enumerate() {
                            data[e * item..(e + 1) * item].copy_from_slice(&bytes[k * item..(k + 1) * item]);
                        }
                    }
                }
                Repr::List(l) => {
                    let l = Arc::make_mut(l);
                    for w in writes {
                        let PatchWrite::List { rows, values } = w else { unreachable!() };
                        for (r, v) in rows.into_iter().zip(values) {
                            l[r] = v;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn plan_patch(&self, patches: &IndexMap<String, Value>) -> Result<PatchPlan> {
        let mut plan = Vec::with_capacity(patches.len());
        for (name, list) in patches {
            let Some((idx, _, col)) = self.columns.get_full(name) else {
                return Err(Error::Column(format!(
                    "patch of unknown column {name:?} (the source has {:?})",
                    self.names()
                )));
            };
            let Value::List(pairs) = list else {
                return Err(Error::Column(format!(
                    "patches of column {name:?} must be a list of [index, value] pairs, got {}",
                    list.kind()
                )));
            };
            let mut writes = Vec::with_capacity(pairs.len());
            // Rows of a list column already rewritten by earlier pairs of this patch (so
            // that several multi-index writes into one row's array all land).
            let mut overlay: HashMap<usize, Value> = HashMap::new();
            for pair in pairs {
                let (index, value) = match pair {
                    Value::List(p) if p.len() == 2 => (&p[0], &p[1]),
                    other => {
                        return Err(Error::Column(format!(
                            "patches of column {name:?} must be [index, value] pairs, got {}",
                            other.kind()
                        )))
                    }
                };
                writes.push(plan_one(name, col, index, value, &mut overlay)?);
            }
            plan.push((idx, writes));
        }
        Ok(plan)
    }
}

/// A typed array must be at least 1-d and hold exactly product(shape) × itemsize bytes.
fn check_array(name: &str, a: &TypedArray) -> Result<()> {
    if a.shape.is_empty() {
        return Err(Error::Column(format!("column {name:?} must be at least 1-d")));
    }
    let expected = a.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).and_then(|n| n.checked_mul(a.dtype.itemsize()));
    if expected != Some(a.data.len()) {
        return Err(Error::Column(format!(
            "column {name:?}: {} bytes of data do not match shape {:?} of {}",
            a.data.len(),
            a.shape,
            a.dtype.numpy_name()
        )));
    }
    Ok(())
}

fn check_rollover(rollover: Option<i64>) -> Result<Option<usize>> {
    match rollover {
        None => Ok(None),
        Some(r) if r > 0 => Ok(Some(usize::try_from(r).unwrap_or(usize::MAX))),
        Some(r) => Err(Error::Column(format!("rollover must be a positive number of rows, got {r}"))),
    }
}

/// New rows of a typed column, converted to its dtype (borrowed when already the same).
fn typed_rows<'a>(name: &str, col: &TypedColumn, v: &'a Value) -> Result<Cow<'a, [u8]>> {
    match v {
        Value::Array(a) => {
            if a.shape.get(1..).unwrap_or(&[]) != col.row_shape.as_slice() {
                return Err(Error::Column(format!(
                    "streamed column {name:?} has rows of shape {:?}, the column has rows of shape {:?}",
                    a.shape.get(1..).unwrap_or(&[]),
                    col.row_shape
                )));
            }
            if a.dtype == col.dtype {
                Ok(Cow::Borrowed(a.data.as_slice()))
            } else {
                convert_array(name, a, col.dtype).map(Cow::Owned)
            }
        }
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len() * col.row_bytes());
            for item in items {
                if col.row_shape.is_empty() {
                    write_scalar(name, col.dtype, item, &mut out)?;
                } else {
                    let before = out.len();
                    flatten_into(name, col.dtype, item, &mut out)?;
                    if out.len() - before != col.row_bytes() {
                        return Err(Error::Column(format!(
                            "streamed rows of column {name:?} must have shape {:?}",
                            col.row_shape
                        )));
                    }
                }
            }
            Ok(Cow::Owned(out))
        }
        _ => unreachable!("checked by plan_stream"),
    }
}

/// New rows of a list column: list items as they are; array rows as scalars (1-d) or
/// sub-arrays (n-d).
fn list_rows(v: &Value) -> Vec<Value> {
    match v {
        Value::List(items) => items.clone(),
        Value::Array(a) => array_rows(a),
        _ => Vec::new(),
    }
}

fn array_rows(a: &TypedArray) -> Vec<Value> {
    let n = a.len();
    if a.shape.len() == 1 {
        (0..n).map(|i| read_num(a.dtype, a.data.as_slice(), i).to_value()).collect()
    } else {
        let row_elems: usize = a.shape[1..].iter().product();
        let rb = row_elems * a.dtype.itemsize();
        (0..n)
            .map(|i| {
                Value::Array(TypedArray {
                    dtype: a.dtype,
                    shape: a.shape[1..].to_vec(),
                    data: a.data.slice(i * rb, (i + 1) * rb),
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Element conversions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Num {
    B(bool),
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    /// As a scalar value (uint64 above i64::MAX becomes a float).
    fn to_value(self) -> Value {
        match self {
            Num::B(b) => Value::Bool(b),
            Num::I(i) => Value::Int(i),
            Num::U(u) => i64::try_from(u).map(Value::Int).unwrap_or(Value::Float(u as f64)),
            Num::F(f) => Value::Float(f),
        }
    }
}

fn read_num(dtype: Dtype, bytes: &[u8], i: usize) -> Num {
    let s = dtype.itemsize();
    let b = &bytes[i * s..(i + 1) * s];
    let mut a8 = [0u8; 8];
    a8[..s].copy_from_slice(b);
    match dtype {
        Dtype::Bool => Num::B(b[0] != 0),
        Dtype::Int8 => Num::I(b[0] as i8 as i64),
        Dtype::Int16 => Num::I(i16::from_le_bytes([b[0], b[1]]) as i64),
        Dtype::Int32 => Num::I(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64),
        Dtype::Int64 | Dtype::DatetimeMs => Num::I(i64::from_le_bytes(a8)),
        Dtype::Uint8 => Num::U(b[0] as u64),
        Dtype::Uint16 => Num::U(u16::from_le_bytes([b[0], b[1]]) as u64),
        Dtype::Uint32 => Num::U(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64),
        Dtype::Uint64 => Num::U(u64::from_le_bytes(a8)),
        Dtype::Float32 => Num::F(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        Dtype::Float64 => Num::F(f64::from_le_bytes(a8)),
    }
}

fn is_float(d: Dtype) -> bool {
    matches!(d, Dtype::Float32 | Dtype::Float64)
}

/// Writes one element in `dtype`, or explains why it does not fit.
fn write_num(name: &str, dtype: Dtype, n: Num, out: &mut Vec<u8>) -> Result<()> {
    let incompatible = |what: &str| {
        Error::Column(format!(
            "column {name:?} holds {}; cannot store {what} in it{}",
            dtype.numpy_name(),
            if what.starts_with("float") && !is_float(dtype) {
                " (floats into int columns would lose data; convert the column to float first)"
            } else {
                ""
            }
        ))
    };
    let out_of_range = |v: String| Error::Column(format!("value {v} does not fit column {name:?} of {}", dtype.numpy_name()));
    match dtype {
        Dtype::Bool => match n {
            Num::B(b) => out.push(b as u8),
            Num::I(_) | Num::U(_) => return Err(incompatible("int values")),
            Num::F(_) => return Err(incompatible("float values")),
        },
        Dtype::Float32 | Dtype::Float64 => {
            let f = match n {
                Num::B(b) => b as u8 as f64,
                Num::I(i) => i as f64,
                Num::U(u) => u as f64,
                Num::F(f) => f,
            };
            if dtype == Dtype::Float32 {
                out.extend_from_slice(&(f as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
        _ => {
            let wide: i128 = match n {
                Num::B(b) if dtype != Dtype::DatetimeMs => b as i128,
                Num::B(_) => return Err(incompatible("bool values")),
                Num::I(i) => i as i128,
                Num::U(u) => u as i128,
                // Datetimes travel as float ms in Bokeh: round to the ms; NaN is NaT.
                Num::F(f) if dtype == Dtype::DatetimeMs && f.is_nan() => i64::MIN as i128,
                Num::F(f) if dtype == Dtype::DatetimeMs && f.is_finite() && f.abs() < 9.2e18 => f.round() as i128,
                Num::F(_) => return Err(incompatible("float values")),
            };
            let (lo, hi): (i128, i128) = match dtype {
                Dtype::Int8 => (i8::MIN as i128, i8::MAX as i128),
                Dtype::Int16 => (i16::MIN as i128, i16::MAX as i128),
                Dtype::Int32 => (i32::MIN as i128, i32::MAX as i128),
                Dtype::Int64 | Dtype::DatetimeMs => (i64::MIN as i128, i64::MAX as i128),
                Dtype::Uint8 => (0, u8::MAX as i128),
                Dtype::Uint16 => (0, u16::MAX as i128),
                Dtype::Uint32 => (0, u32::MAX as i128),
                _ => (0, u64::MAX as i128),
            };
            if wide < lo || wide > hi {
                return Err(out_of_range(wide.to_string()));
            }
            let bytes = (wide as u64).to_le_bytes();
            out.extend_from_slice(&bytes[..dtype.itemsize()]);
        }
    }
    Ok(())
}

/// One scalar value into `dtype` (None → NaN for floats, NaT for datetimes).
fn write_scalar(name: &str, dtype: Dtype, v: &Value, out: &mut Vec<u8>) -> Result<()> {
    let n = match v {
        Value::Bool(b) => Num::B(*b),
        Value::Int(i) => Num::I(*i),
        Value::Float(f) => Num::F(*f),
        Value::Null if is_float(dtype) => Num::F(f64::NAN),
        Value::Null if dtype == Dtype::DatetimeMs => Num::I(i64::MIN),
        Value::Array(a) if a.numel() == 1 => read_num(a.dtype, a.data.as_slice(), 0),
        other => {
            return Err(Error::Column(format!(
                "column {name:?} holds {}; cannot store a {} value in it",
                dtype.numpy_name(),
                other.kind()
            )))
        }
    };
    write_num(name, dtype, n, out)
}

/// A (nested) list or array of scalars, flattened in C order, into `dtype`.
fn flatten_into(name: &str, dtype: Dtype, v: &Value, out: &mut Vec<u8>) -> Result<()> {
    match v {
        Value::List(items) => items.iter().try_for_each(|i| flatten_into(name, dtype, i, out)),
        Value::Array(a) if a.dtype == dtype => {
            out.extend_from_slice(a.data.as_slice());
            Ok(())
        }
        Value::Array(a) => {
            let bytes = convert_array(name, a, dtype)?;
            out.extend_from_slice(&bytes);
            Ok(())
        }
        scalar => write_scalar(name, dtype, scalar, out),
    }
}

fn convert_array(name: &str, a: &TypedArray, dtype: Dtype) -> Result<Vec<u8>> {
    let n = a.numel();
    let mut out = Vec::with_capacity(n * dtype.itemsize());
    let src = a.data.as_slice();
    for i in 0..n {
        write_num(name, dtype, read_num(a.dtype, src, i), &mut out)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Patch indices
// ---------------------------------------------------------------------------------------

/// Positions selected along one axis of length `len`.
fn axis_positions(name: &str, what: &str, index: &Value, len: usize) -> Result<Vec<usize>> {
    match index {
        Value::Int(i) => {
            if *i < 0 {
                return Err(Error::Column(format!("patch of column {name:?}: negative {what} {i}")));
            }
            let i = *i as u64;
            if i >= len as u64 {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: {what} {i} out of range (length {len})"
                )));
            }
            Ok(vec![i as usize])
        }
        Value::Map(m) => {
            if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "start" | "stop" | "step")) {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: slice has an unknown key {k:?} (allowed: start, stop, step)"
                )));
            }
            let field = |k: &str| -> Result<Option<i64>> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Int(i)) => Ok(Some(*i)),
                    Some(other) => Err(Error::Column(format!(
                        "patch of column {name:?}: slice {k} must be an int or nil, got {}",
                        other.kind()
                    ))),
                }
            };
            let (start, stop, step) = (field("start")?, field("stop")?, field("step")?);
            for (k, v) in [("start", start), ("stop", stop)] {
                if let Some(v) = v {
                    if v < 0 {
                        return Err(Error::Column(format!(
                            "patch of column {name:?}: negative slice {k} {v} (negative slices are not supported)"
                        )));
                    }
                }
            }
            let step = step.unwrap_or(1);
            if step <= 0 {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: slice step must be positive, got {step}"
                )));
            }
            let start = start.unwrap_or(0) as u64;
            let stop = stop.map_or(len as u64, |s| s as u64);
            if start > stop {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: reversed slice (start {start} > stop {stop})"
                )));
            }
            if stop > len as u64 {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: slice stop {stop} out of range (length {len})"
                )));
            }
            Ok((start as usize..stop as usize).step_by(step as usize).collect())
        }
        other => Err(Error::Column(format!(
            "patch of column {name:?}: an index must be an int, a slice map or a list, got {}",
            other.kind()
        ))),
    }
}

/// Resolves one `[index, value]` pair into the writes it makes, checking everything.
fn plan_one(name: &str, col: &Column, index: &Value, value: &Value, overlay: &mut HashMap<usize, Value>) -> Result<PatchWrite> {
    match &col.repr {
        Repr::Typed(t) => {
            let elems: Vec<usize> = match index {
                Value::List(multi) => {
                    if t.row_shape.is_empty() {
                        return Err(Error::Column(format!(
                            "patch of column {name:?}: a multi-index needs a column of n-d rows; this column is 1-d"
                        )));
                    }
                    if multi.is_empty() || multi.len() > 1 + t.row_shape.len() {
                        return Err(Error::Column(format!(
                            "patch of column {name:?}: a multi-index has 1 to {} entries, got {}",
                            1 + t.row_shape.len(),
                            multi.len()
                        )));
                    }
                    if !matches!(multi[0], Value::Int(_)) {
                        return Err(Error::Column(format!(
                            "patch of column {name:?}: the first entry of a multi-index must be a row number"
                        )));
                    }
                    let mut axes = Vec::with_capacity(1 + t.row_shape.len());
                    axes.push(axis_positions(name, "row", &multi[0], t.rows)?);
                    for (d, &dim) in t.row_shape.iter().enumerate() {
                        match multi.get(d + 1) {
                            Some(ix) => axes.push(axis_positions(name, "index", ix, dim)?),
                            None => axes.push((0..dim).collect()),
                        }
                    }
                    let mut dims = vec![t.rows];
                    dims.extend_from_slice(&t.row_shape);
                    cartesian(&axes, &dims)
                }
                _ => {
                    let rows = axis_positions(name, "index", index, t.rows)?;
                    let re = t.row_elems;
                    rows.iter().flat_map(|&r| (r * re)..((r + 1) * re)).collect()
                }
            };
            let mut bytes = Vec::with_capacity(elems.len() * t.dtype.itemsize());
            flatten_into(name, t.dtype, value, &mut bytes)?;
            let got = bytes.len() / t.dtype.itemsize();
            if got != elems.len() {
                return Err(Error::Column(format!(
                    "patch of column {name:?}: the index selects {} element(s) but {} value(s) were given",
                    elems.len(),
                    got
                )));
            }
            Ok(PatchWrite::Typed { elems, bytes })
        }
        Repr::List(l) => {
            if let Value::List(multi) = index {
                return plan_list_multi(name, l, multi, value, overlay);
            }
            let rows = axis_positions(name, "index", index, l.len())?;
            let values = if let Value::Int(_) = index {
                vec![value.clone()]
            } else {
                let vals = match value {
                    Value::List(v) => v.clone(),
                    Value::Array(a) => array_rows(a),
                    other => {
                        return Err(Error::Column(format!(
                            "patch of column {name:?}: a slice needs a list of values, got {}",
                            other.kind()
                        )))
                    }
                };
                if vals.len() != rows.len() {
                    return Err(Error::Column(format!(
                        "patch of column {name:?}: the slice selects {} row(s) but {} value(s) were given",
                        rows.len(),
                        vals.len()
                    )));
                }
                vals
            };
            for (r, v) in rows.iter().zip(&values) {
                overlay.insert(*r, v.clone());
            }
            Ok(PatchWrite::List { rows, values })
        }
    }
}

/// A multi-index `[row, i or slice, ...]` into a list column whose items are arrays (an
/// image per row, as Bokeh's image glyphs keep them): the row's array is copied with the
/// selected elements replaced.
fn plan_list_multi(
    name: &str,
    l: &VecDeque<Value>,
    multi: &[Value],
    value: &Value,
    overlay: &mut HashMap<usize, Value>,
) -> Result<PatchWrite> {
    if multi.is_empty() || !matches!(multi[0], Value::Int(_)) {
        return Err(Error::Column(format!(
            "patch of column {name:?}: the first entry of a multi-index must be a row number"
        )));
    }
    let row = axis_positions(name, "row", &multi[0], l.len())?[0];
    let current = overlay.get(&row).unwrap_or(&l[row]);
    let Value::Array(a) = current else {
        return Err(Error::Column(format!(
            "patch of column {name:?}: a multi-index needs an array in row {row}, found a {}",
            current.kind()
        )));
    };
    if multi.len() > 1 + a.shape.len() {
        return Err(Error::Column(format!(
            "patch of column {name:?}: a multi-index has 1 to {} entries for row {row} of shape {:?}, got {}",
            1 + a.shape.len(),
            a.shape,
            multi.len()
        )));
    }
    let mut axes = Vec::with_capacity(a.shape.len());
    for (d, &dim) in a.shape.iter().enumerate() {
        match multi.get(d + 1) {
            Some(ix) => axes.push(axis_positions(name, "index", ix, dim)?),
            None => axes.push((0..dim).collect()),
        }
    }
    let elems = cartesian(&axes, &a.shape);
    let mut bytes = Vec::with_capacity(elems.len() * a.dtype.itemsize());
    flatten_into(name, a.dtype, value, &mut bytes)?;
    let item = a.dtype.itemsize();
    if bytes.len() / item != elems.len() {
        return Err(Error::Column(format!(
            "patch of column {name:?}: the index selects {} element(s) but {} value(s) were given",
            elems.len(),
            bytes.len() / item
        )));
    }
    let mut data = a.data.as_slice().to_vec();
    for (k, e) in elems.iter().enumerate() {
        data[e * item..(e + 1) * item].copy_from_slice(&bytes[k * item..(k + 1) * item]);
    }
    let new = Value::Array(TypedArray { dtype: a.dtype, shape: a.shape.clone(), data: crate::codec::aligned_copy(&data) });
    overlay.insert(row, new.clone());
    Ok(PatchWrite::List { rows: vec![row], values: vec![new] })
}

/// Flat C-order offsets of the cartesian product of per-axis positions.
fn cartesian(axes: &[Vec<usize>], dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize];
    for (positions, &dim) in axes.iter().zip(dims) {
        let mut next = Vec::with_capacity(out.len() * positions.len());
        for base in &out {
            for p in positions {
                next.push(base * dim + p);
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(v: &Value) -> Vec<f64> {
        let Value::Array(a) = v else { panic!("not an array: {v:?}") };
        a.data.as_slice().chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    fn arr(v: &[f64]) -> Value {
        Value::Array(TypedArray::from_f64(v))
    }

    fn i32arr(v: &[i32]) -> Value {
        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        Value::Array(TypedArray { dtype: Dtype::Int32, shape: vec![v.len()], data: ArrayBuffer::from_vec(bytes) })
    }

    fn map(items: Vec<(&str, Value)>) -> IndexMap<String, Value> {
        items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn slice(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Value {
        let f = |x: Option<i64>| x.map_or(Value::Null, Value::Int);
        Value::Map(map(vec![("start", f(start)), ("stop", f(stop)), ("step", f(step))]))
    }

    fn pair(i: Value, v: Value) -> Value {
        Value::List(vec![i, v])
    }

    #[test]
    fn from_map_checks_lengths() {
        let d = ColumnData::from_map(map(vec![("x", arr(&[1.0, 2.0])), ("s", Value::List(vec![Value::str("a"), Value::str("b")]))])).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.names(), vec!["x", "s"]);
        let e = ColumnData::from_map(map(vec![("x", arr(&[1.0, 2.0])), ("y", arr(&[1.0]))])).unwrap_err();
        let msg = e.message();
        assert!(msg.contains("\"x\": 2") && msg.contains("\"y\": 1"), "{msg}");
        assert!(ColumnData::from_map(map(vec![("x", Value::Int(1))])).is_err());
    }

    #[test]
    fn get_shares_memory() {
        let a = TypedArray::from_f64(&[1.0, 2.0, 3.0]);
        let ptr = a.data.as_ptr();
        let d = ColumnData::from_map(map(vec![("x", Value::Array(a))])).unwrap();
        let Some(Value::Array(got)) = d.get("x") else { panic!() };
        assert_eq!(got.data.as_ptr(), ptr);
    }

    #[test]
    fn stream_and_rollover() {
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[1.0, 2.0])), ("s", Value::List(vec![Value::Int(1), Value::Int(2)]))])).unwrap();
        d.stream(&map(vec![("x", arr(&[3.0])), ("s", Value::List(vec![Value::Int(3)]))]), None).unwrap();
        assert_eq!(f64s(&d.get("x").unwrap()), vec![1.0, 2.0, 3.0]);
        d.stream(&map(vec![("x", Value::List(vec![Value::Int(4), Value::Float(5.0)])), ("s", i32arr(&[4, 5]))]), Some(3)).unwrap();
        assert_eq!(f64s(&d.get("x").unwrap()), vec![3.0, 4.0, 5.0]);
        assert_eq!(d.get("s").unwrap(), Value::List(vec![Value::Int(3), Value::Int(4), Value::Int(5)]));
        // errors change nothing
        let before = d.clone();
        assert!(d.stream(&map(vec![("x", arr(&[1.0]))]), None).is_err());
        assert!(d.stream(&map(vec![("x", arr(&[1.0])), ("s", Value::List(vec![])), ]), None).is_err());
        assert!(d.stream(&map(vec![("x", arr(&[1.0])), ("s", Value::List(vec![Value::Int(1)])), ("z", arr(&[1.0]))]), None).is_err());
        assert!(d.stream(&map(vec![("x", arr(&[1.0])), ("s", Value::List(vec![Value::Int(1)]))]), Some(0)).is_err());
        assert_eq!(d, before);
    }

    #[test]
    fn streams_replacing_every_row_write_in_place_unless_seen() {
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[0.0, 0.5]))])).unwrap();
        let mut kept = Vec::new();
        for i in 0..50 {
            let rows: Vec<f64> = (0..4).map(|k| (i * 10 + k) as f64).collect();
            d.stream(&map(vec![("x", arr(&rows))]), Some(3)).unwrap(); // more rows than the rollover
            assert_eq!(f64s(&d.get("x").unwrap()), rows[1..].to_vec());
            if i % 7 == 0 {
                kept.push((d.get("x").unwrap(), rows[1..].to_vec())); // a view: no in-place write now
            }
            let exact: Vec<f64> = (0..3).map(|k| (i * 10 + 5 + k) as f64).collect();
            d.stream(&map(vec![("x", arr(&exact))]), Some(3)).unwrap(); // exactly the rollover
            assert_eq!(f64s(&d.get("x").unwrap()), exact);
        }
        for (view, values) in kept {
            assert_eq!(f64s(&view), values);
        }
        // exclusive and replacing: the buffer stays one allocation of a bounded size
        fn buf_at(d: &ColumnData) -> (usize, usize) {
            let Repr::Typed(t) = &d.columns[0].repr else { panic!() };
            match &t.store {
                Store::Growable { buf, start } => (buf.ptr as usize, *start),
                Store::Frozen(_) => (0, 0),
            }
        }
        let (before, _) = buf_at(&d);
        for _ in 0..100 {
            d.stream(&map(vec![("x", arr(&[1.0, 2.0, 3.0]))]), Some(3)).unwrap();
            assert_eq!(buf_at(&d), (before, 0), "written at the start of the same buffer");
        }
        assert_eq!(f64s(&d.get("x").unwrap()), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn dtype_rules() {
        let mut d = ColumnData::from_map(map(vec![("i", i32arr(&[1]))])).unwrap();
        let e = d.stream(&map(vec![("i", arr(&[1.5]))]), None).unwrap_err();
        assert!(e.message().contains("float"), "{e}");
        assert!(d.stream(&map(vec![("i", Value::List(vec![Value::Int(1 << 40)]))]), None).is_err());
        d.stream(&map(vec![("i", Value::List(vec![Value::Int(7)]))]), None).unwrap();
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn views_survive_appends_rollover_and_patches() {
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[0.0]))])).unwrap();
        let mut views = Vec::new();
        for i in 1..2000 {
            d.stream(&map(vec![("x", arr(&[i as f64]))]), Some(100)).unwrap();
            if i % 97 == 0 {
                views.push((d.get("x").unwrap(), f64s(&d.get("x").unwrap())));
            }
            if i % 131 == 0 {
                d.patch(&map(vec![("x", Value::List(vec![pair(Value::Int(0), Value::Float(-1.0))]))])).unwrap();
            }
        }
        drop(d);
        for (view, values) in views {
            assert_eq!(f64s(&view), values);
        }
    }

    #[test]
    fn clones_are_copy_on_write() {
        let mut a = ColumnData::from_map(map(vec![("x", arr(&[1.0]))])).unwrap();
        a.stream(&map(vec![("x", arr(&[2.0]))]), None).unwrap();
        let mut b = a.clone();
        a.stream(&map(vec![("x", arr(&[3.0]))]), None).unwrap();
        b.stream(&map(vec![("x", arr(&[4.0]))]), None).unwrap();
        assert_eq!(f64s(&a.get("x").unwrap()), vec![1.0, 2.0, 3.0]);
        assert_eq!(f64s(&b.get("x").unwrap()), vec![1.0, 2.0, 4.0]);
        b.patch(&map(vec![("x", Value::List(vec![pair(Value::Int(0), Value::Float(9.0))]))])).unwrap();
        assert_eq!(f64s(&a.get("x").unwrap()), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn patches() {
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[0.0, 1.0, 2.0, 3.0, 4.0]))])).unwrap();
        d.patch(&map(vec![(
            "x",
            Value::List(vec![
                pair(Value::Int(4), Value::Float(40.0)),
                pair(slice(Some(0), Some(4), Some(2)), Value::List(vec![Value::Int(10), Value::Int(12)])),
                pair(slice(None, None, None), arr(&[5.0, 6.0, 7.0, 8.0, 9.0])),
                pair(Value::Int(0), Value::Float(-1.0)),
            ]),
        )]))
        .unwrap();
        assert_eq!(f64s(&d.get("x").unwrap()), vec![-1.0, 6.0, 7.0, 8.0, 9.0]);
        let before = d.clone();
        for bad in [
            pair(Value::Int(5), Value::Float(1.0)),
            pair(Value::Int(-1), Value::Float(1.0)),
            pair(slice(Some(3), Some(1), None), Value::List(vec![])),
            pair(slice(Some(-1), None, None), Value::List(vec![])),
            pair(slice(None, Some(6), None), Value::List(vec![])),
            pair(slice(None, None, Some(0)), Value::List(vec![])),
            pair(slice(Some(0), Some(2), None), Value::List(vec![Value::Float(1.0)])),
            pair(Value::Int(0), Value::str("a")),
        ] {
            let p = map(vec![("x", Value::List(vec![pair(Value::Int(1), Value::Float(100.0)), bad.clone()]))]);
            assert!(d.patch(&p).is_err(), "{bad:?}");
            assert_eq!(d, before, "nothing changed after {bad:?}");
        }
        assert!(d.patch(&map(vec![("nope", Value::List(vec![]))])).is_err());
    }

    #[test]
    fn nd_multi_index() {
        // 2 rows of 2x3 images
        let vals: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let mut a = TypedArray::from_f64(&vals);
        a.shape = vec![2, 2, 3];
        let mut d = ColumnData::from_map(map(vec![("img", Value::Array(a))])).unwrap();
        d.patch(&map(vec![(
            "img",
            Value::List(vec![
                pair(Value::List(vec![Value::Int(1), Value::Int(0), slice(Some(1), None, None)]), Value::List(vec![Value::Float(-1.0), Value::Float(-2.0)])),
                pair(Value::List(vec![Value::Int(0), Value::Int(1), Value::Int(2)]), Value::Float(99.0)),
            ]),
        )]))
        .unwrap();
        let got = f64s(&d.get("img").unwrap());
        assert_eq!(got, vec![0.0, 1.0, 2.0, 3.0, 4.0, 99.0, 6.0, -1.0, -2.0, 9.0, 10.0, 11.0]);
        assert!(d.check_patch(&map(vec![("img", Value::List(vec![pair(Value::List(vec![Value::Int(0), Value::Int(2)]), Value::Float(0.0))]))])).is_err());
        // stream rows of the right shape only
        let mut row = TypedArray::from_f64(&[0.0; 6]);
        row.shape = vec![1, 2, 3];
        d.stream(&map(vec![("img", Value::Array(row))]), None).unwrap();
        assert_eq!(d.len(), 3);
        assert!(d.stream(&map(vec![("img", arr(&[1.0]))]), None).is_err());
    }

    #[test]
    fn set_column_allows_transient_mismatch() {
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[1.0])), ("y", arr(&[1.0]))])).unwrap();
        d.set_column("x", arr(&[1.0, 2.0])).unwrap();
        assert!(d.check_equal_lengths().is_err());
        assert!(d.stream(&map(vec![("x", arr(&[1.0])), ("y", arr(&[1.0]))]), None).is_err());
        d.set_column("y", arr(&[1.0, 2.0])).unwrap();
        d.stream(&map(vec![("x", arr(&[1.0])), ("y", arr(&[1.0]))]), None).unwrap();
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn streaming_long_columns_is_amortised_constant() {
        // Not a timing test: count the bytes copied through reallocations.
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[]))])).unwrap();
        let mut reallocs = 0;
        let mut last_ptr = std::ptr::null();
        for i in 0..100_000 {
            d.stream(&map(vec![("x", arr(&[i as f64]))]), Some(10_000)).unwrap();
            let Some(Value::Array(v)) = d.get("x") else { panic!() };
            let Repr::Typed(t) = &d.columns[0].repr else { panic!() };
            if let Store::Growable { buf, .. } = &t.store {
                if !std::ptr::eq(buf.ptr, last_ptr) {
                    reallocs += 1;
                    last_ptr = buf.ptr;
                }
            }
            drop(v);
        }
        assert!(reallocs < 30, "{reallocs} reallocations");
        assert_eq!(d.len(), 10_000);
        assert_eq!(f64s(&d.get("x").unwrap())[0], 90_000.0);
    }

    #[test]
    fn rolling_columns_reserve_their_windows_and_stay_bounded() {
        let capacity = |d: &ColumnData| {
            let Repr::Typed(t) = &d.columns[0].repr else { panic!() };
            match &t.store {
                Store::Growable { buf, .. } => (buf.capacity(), buf.ptr as usize),
                Store::Frozen(_) => (0, 0),
            }
        };
        let window = 1 << 17; // rows of 8 bytes: a 1 MiB window
        let chunk: Vec<f64> = (0..4096).map(f64::from).collect();
        let mut d = ColumnData::from_map(map(vec![("x", arr(&[]))])).unwrap();
        let mut buffers = std::collections::HashSet::new();
        for _ in 0..(20 * window / chunk.len()) {
            d.stream(&map(vec![("x", arr(&chunk))]), Some(window as i64)).unwrap();
            let (cap, ptr) = capacity(&d);
            assert!(cap <= ROLL_WINDOWS * window * 8 + HUGE_ALIGN, "capacity {cap} exceeds {ROLL_WINDOWS} windows");
            buffers.insert(ptr);
        }
        assert_eq!(d.len(), window);
        // doubling up to huge-page size, then one buffer of ROLL_WINDOWS windows for good
        assert!(buffers.len() <= 8, "{} buffers", buffers.len());
        assert_eq!(capacity(&d).0, ROLL_WINDOWS * window * 8);
        assert_eq!(f64s(&d.get("x").unwrap())[window - 1], 4095.0);
        // a huge rollover (as "unbounded") reserves nothing ahead: doubling as before
        let mut e = ColumnData::from_map(map(vec![("x", arr(&[]))])).unwrap();
        for _ in 0..200 {
            e.stream(&map(vec![("x", arr(&chunk))]), Some(i64::MAX)).unwrap();
        }
        assert!(capacity(&e).0 <= 4 * 200 * 4096 * 8, "{}", capacity(&e).0);
    }

    #[test]
    fn multi_index_into_a_list_of_arrays() {
        let mut img = TypedArray::from_f64(&[0.0, 1.0, 2.0, 3.0]);
        img.shape = vec![2, 2];
        let view = Value::Array(img.clone());
        let mut d = ColumnData::from_map(map(vec![("image", Value::List(vec![Value::Array(img)]))])).unwrap();
        d.patch(&map(vec![(
            "image",
            Value::List(vec![
                pair(Value::List(vec![Value::Int(0), Value::Int(1), Value::Int(0)]), Value::Float(-1.0)),
                pair(Value::List(vec![Value::Int(0), slice(None, None, None), Value::Int(1)]), Value::List(vec![Value::Float(8.0), Value::Float(9.0)])),
            ]),
        )]))
        .unwrap();
        let Some(Value::List(rows)) = d.get("image") else { panic!() };
        assert_eq!(f64s(&rows[0]), vec![0.0, 8.0, -1.0, 9.0]);
        assert_eq!(f64s(&view), vec![0.0, 1.0, 2.0, 3.0], "the original array is untouched");
        let before = d.clone();
        let bad = map(vec![("image", Value::List(vec![pair(Value::List(vec![Value::Int(0), Value::Int(2)]), Value::Float(0.0))]))]);
        assert!(d.patch(&bad).is_err());
        assert_eq!(d, before);
    }
}
