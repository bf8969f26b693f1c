//! Patches: the events of one flush, coalesced (`docs/protocol.md`, "Coalescing rules"),
//! encoded once and applied atomically by [`crate::document::Document::apply`].

use std::collections::{HashMap, HashSet};
use std::mem::MaybeUninit;
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;

use crate::codec::{self, CountingSink, Encoder, Limits, SliceSink, Sink};
use crate::error::{Error, Result};
use crate::event::{ColumnMap, Event};
use crate::value::{ArrayBuffer, TypedArray, Value};

/// Coalesced events, ready to encode once and apply atomically.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    events: Vec<Event>,
    /// What a receiver needs to know of the types that `new` events introduce:
    /// `"defaults"` (type → prop → default) and `"writable"` (type → client-writable
    /// props), the same maps a snapshot carries. Derived from the schemas, so not part
    /// of equality.
    type_info: IndexMap<String, Value>,
    /// The encoded payload, computed at most once.
    encoded: OnceLock<Arc<[u8]>>,
}

impl PartialEq for Patch {
    fn eq(&self, other: &Self) -> bool {
        self.events == other.events
    }
}

impl Patch {
    /// A patch holding exactly these events (no coalescing).
    pub fn from_events(events: Vec<Event>) -> Patch {
        Patch { events, type_info: IndexMap::new(), encoded: OnceLock::new() }
    }

    /// Attaches the `defaults` / `writable` maps of the types this patch introduces.
    pub fn with_type_info(mut self, type_info: IndexMap<String, Value>) -> Patch {
        self.type_info = type_info;
        self.encoded = OnceLock::new();
        self
    }

    /// The `defaults` / `writable` maps sent with the events (empty when no `new`
    /// event introduces a type).
    pub fn type_info(&self) -> &IndexMap<String, Value> {
        &self.type_info
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn into_events(self) -> Vec<Event> {
        self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The payload `{"events": [...]}` as a value.
    pub fn to_value(&self) -> Value {
        let mut m = IndexMap::with_capacity(1 + self.type_info.len());
        m.insert("events".to_string(), Value::List(self.events.iter().map(Event::to_value).collect()));
        for (k, v) in &self.type_info {
            m.insert(k.clone(), v.clone());
        }
        Value::Map(m)
    }

    /// Reads a payload value `{"events": [...]}`.
    ///
    /// # Errors
    /// [`Error::Protocol`] for anything that is not a patch payload.
    pub fn from_value(value: &Value) -> Result<Patch> {
        let Value::Map(m) = value else {
            return Err(Error::Protocol(format!("a patch payload must be a map, got {}", value.kind())));
        };
        let type_info: IndexMap<String, Value> = ["defaults", "writable"]
            .into_iter()
            .filter_map(|k| match m.get(k) {
                Some(v @ Value::Map(_)) => Some((k.to_string(), v.clone())),
                _ => None,
            })
            .collect();
        match m.get("events") {
            Some(Value::List(items)) => Ok(Patch::from_events(items.iter().map(Event::from_value).collect::<Result<Vec<_>>>()?)
                .with_type_info(type_info)),
            Some(other) => Err(Error::Protocol(format!("patch field \"events\" must be a list, got {}", other.kind()))),
            None => Err(Error::Protocol("patch payload has no \"events\" field".into())),
        }
    }

    /// Writes the payload `{"events": [...]}` into `enc`.
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn write_payload<S: Sink>(&self, enc: &mut Encoder<S>) -> Result<()> {
        enc.write_map_header(1 + self.type_info.len())?;
        enc.write_str("events")?;
        enc.write_list_header(self.events.len())?;
        for e in &self.events {
            e.write(enc)?;
        }
        for (k, v) in &self.type_info {
            enc.write_str(k)?;
            enc.write_value(v)?;
        }
        Ok(())
    }

    /// The msgpack payload `{"events": [...]}`, encoded once and shared afterwards.
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn encode(&self) -> Result<Arc<[u8]>> {
        if let Some(bytes) = self.encoded.get() {
            return Ok(bytes.clone());
        }
        let mut enc = Encoder::with_capacity(self.size_hint());
        self.write_payload(&mut enc)?;
        Ok(self.encoded.get_or_init(|| Arc::from(enc.into_bytes())).clone())
    }

    /// Whether encoding or applying this patch is worth releasing the GIL for (many
    /// events, or column payloads above 64 KiB).
    pub fn is_large(&self) -> bool {
        self.events.len() > 256 || self.size_hint() > 64 * 1024
    }

    fn size_hint(&self) -> usize {
        16 + self
            .events
            .iter()
            .map(|e| match e {
                Event::Stream { columns, .. } | Event::Data { columns, .. } => {
                    64 + columns.values().map(codec::estimate_size).sum::<usize>()
                }
                Event::Set { value, .. } => 48 + codec::estimate_size(value),
                _ => 64,
            })
            .sum::<usize>()
    }

    /// The full envelope `{"v": 1, "t": "patch", "seq": seq, "p": payload}`: one buffer to
    /// write to every connection of a session.
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn to_message(&self, seq: i64) -> Result<Vec<u8>> {
        let mut enc = Encoder::with_capacity(32 + self.size_hint());
        enc.write_envelope_head("patch", Some(seq), None, true)?;
        self.write_payload(&mut enc)?;
        Ok(enc.into_bytes())
    }

    /// The exact size of [`Patch::encode`]'s bytes (counted, not written).
    ///
    /// # Errors
    /// As [`Patch::encode`].
    pub fn encoded_len(&self) -> Result<usize> {
        let mut enc = Encoder::with_sink(CountingSink(0));
        self.write_payload(&mut enc)?;
        Ok(enc.into_sink().0)
    }

    /// Writes the payload into `out`, exactly [`Patch::encoded_len`] bytes (e.g. the
    /// memory of a Python `bytes` object: large payloads are then written once).
    ///
    /// # Errors
    /// As [`Patch::encode`], or [`Error::Encode`] when `out` has the wrong length.
    pub fn encode_to_slice(&self, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        if let Some(bytes) = self.encoded.get() {
            let mut sink = SliceSink::uninit(out);
            sink.put(bytes);
            return sink.finish();
        }
        let mut enc = Encoder::with_sink(SliceSink::uninit(out));
        self.write_payload(&mut enc)?;
        enc.into_sink().finish()
    }

    /// The exact size of [`Patch::to_message`]'s bytes.
    ///
    /// # Errors
    /// As [`Patch::to_message`].
    pub fn message_len(&self, seq: i64) -> Result<usize> {
        let mut enc = Encoder::with_sink(CountingSink(0));
        enc.write_envelope_head("patch", Some(seq), None, true)?;
        self.write_payload(&mut enc)?;
        Ok(enc.into_sink().0)
    }

    /// Writes [`Patch::to_message`]'s bytes into `out`, exactly
    /// [`Patch::message_len`] bytes long.
    ///
    /// # Errors
    /// As [`Patch::to_message`], or [`Error::Encode`] when `out` has the wrong length.
    pub fn message_to_slice(&self, seq: i64, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        let mut enc = Encoder::with_sink(SliceSink::uninit(out));
        enc.write_envelope_head("patch", Some(seq), None, true)?;
        self.write_payload(&mut enc)?;
        enc.into_sink().finish()
    }

    /// Decodes a payload written by [`Patch::encode`], with limits.
    ///
    /// # Errors
    /// [`Error::Decode`] / [`Error::Limit`] for bad bytes, [`Error::Protocol`] for a value
    /// that is not a patch.
    pub fn decode(data: &[u8], limits: Limits) -> Result<Patch> {
        let value = codec::decode(data, limits)?;
        Patch::from_value(&value)
    }

    /// As [`Patch::decode`], with typed arrays sharing `buffer`'s memory when aligned.
    ///
    /// # Errors
    /// As [`Patch::decode`].
    pub fn decode_buffer(buffer: &ArrayBuffer, limits: Limits) -> Result<Patch> {
        let value = codec::decode_buffer(buffer, limits)?;
        Patch::from_value(&value)
    }
}

/// What the document knows at flush time, for coalescing.
pub trait FlushState {
    /// The model's type and current non-default props, if it is in the document.
    fn current(&self, id: &str) -> Option<(Arc<str>, IndexMap<String, Value>)>;
    /// Whether the model is in the document.
    fn current_exists(&self, id: &str) -> bool;
}

type Slot = usize;

/// A model's type and non-default props.
type ModelState = (Arc<str>, IndexMap<String, Value>);

/// Coalesces the events recorded since the last flush into the events of one patch.
///
/// Rules (numbered as in `docs/protocol.md`):
/// 1. a later `set` of a (model, prop) drops the earlier `set`/`data`/`stream`/`patch`
///    of it; 2. a model created in this flush becomes one `new` with its final props and
///    absorbs its other events (a model created and gone again leaves nothing);
///    3. consecutive `stream`s merge when the later rollover ≤ the earlier (or the earlier
///    has none), and rows the rollover drops anyway are trimmed; 4. `data` with
///    `replace=true` drops earlier `data`/`stream`/`patch`; 5. consecutive `patch`es
///    concatenate; 6. `root+` then `root-` cancel, the last `title` wins; 7. `msg` is
///    kept as is; 8. `del` of models gone at the end goes last.
pub fn coalesce(mut events: Vec<Event>, state: &dyn FlushState) -> Vec<Event> {
    // The hot case: one change in a tick. Same rules, no bookkeeping.
    if events.len() == 1 {
        let keep = match &mut events[0] {
            Event::New { id, props, type_name } => match state.current(id) {
                Some((t, p)) => {
                    *type_name = t;
                    *props = p;
                    true
                }
                None => false,
            },
            Event::Set { id, .. } | Event::Data { id, .. } | Event::Patch { id, .. } => state.current_exists(id),
            Event::Stream { id, columns, rollover, .. } => {
                if let Some(r) = rollover {
                    trim_rows(columns, *r as usize);
                }
                state.current_exists(id)
            }
            _ => true,
        };
        if !keep {
            events.clear();
        }
        return events;
    }
    // Lifecycle facts per model id.
    let mut created: HashSet<Arc<str>> = HashSet::new();
    let mut first_lifecycle_is_new: HashMap<Arc<str>, bool> = HashMap::new();
    let mut last_new: HashMap<Arc<str>, usize> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::New { id, .. } => {
                created.insert(id.clone());
                first_lifecycle_is_new.entry(id.clone()).or_insert(true);
                last_new.insert(id.clone(), i);
            }
            Event::Del { id } => {
                first_lifecycle_is_new.entry(id.clone()).or_insert(false);
            }
            _ => {}
        }
    }
    let mut exists_at_end: HashMap<Arc<str>, Option<ModelState>> = HashMap::new();
    let current = |id: &Arc<str>| -> bool { state.current_exists(id) };

    let mut out: Vec<Option<Event>> = Vec::with_capacity(events.len());
    // Stream chunks gathered for a merged stream slot, concatenated once at the end.
    let mut stream_chunks: HashMap<Slot, Vec<ColumnMap>> = HashMap::new();
    // Last slot per (model, prop) for data/stream/patch/set.
    let mut last_prop_slot: HashMap<(Arc<str>, String), Slot> = HashMap::new();
    let mut prop_slots: HashMap<(Arc<str>, String), Vec<Slot>> = HashMap::new();
    let mut root_added_slot: HashMap<Arc<str>, Slot> = HashMap::new();
    let mut title_slot: Option<Slot> = None;
    let mut dels_at_end: Vec<Arc<str>> = Vec::new();
    let mut del_emitted: HashSet<Arc<str>> = HashSet::new();

    for (i, e) in events.into_iter().enumerate() {
        match e {
            Event::New { ref id, .. } => {
                if last_new.get(id) != Some(&i) {
                    continue;
                }
                let Some((type_name, props)) = exists_at_end.entry(id.clone()).or_insert_with(|| state.current(id)).clone() else {
                    continue;
                };
                out.push(Some(Event::New { id: id.clone(), type_name, props }));
            }
            Event::Del { id } => {
                let existed_before = !first_lifecycle_is_new.get(&id).copied().unwrap_or(false);
                if !existed_before || del_emitted.contains(&id) {
                    continue;
                }
                if current(&id) {
                    // Deleted, then created again: the receiver drops the old one first.
                    del_emitted.insert(id.clone());
                    out.push(Some(Event::Del { id }));
                } else {
                    del_emitted.insert(id.clone());
                    dels_at_end.push(id);
                }
            }
            Event::Set { ref id, ref prop, .. }
            | Event::Data { ref id, ref prop, .. }
            | Event::Stream { ref id, ref prop, .. }
            | Event::Patch { ref id, ref prop, .. } => {
                if created.contains(id) || !current(id) {
                    // Absorbed by the `new` (rule 2) or by the `del` (rule 8).
                    continue;
                }
                let key = (id.clone(), prop.clone());
                let drops_earlier = matches!(e, Event::Set { .. } | Event::Data { replace: true, .. });
                if drops_earlier {
                    if let Some(slots) = prop_slots.remove(&key) {
                        for s in slots {
                            out[s] = None;
                            stream_chunks.remove(&s);
                        }
                    }
                } else if let Some(&last) = last_prop_slot.get(&key) {
                    if let Some(prev) = out[last].as_mut() {
                        if merge_into(prev, &e, last, &mut stream_chunks) {
                            continue;
                        }
                    }
                }
                let slot = out.len();
                out.push(Some(e));
                last_prop_slot.insert(key.clone(), slot);
                prop_slots.entry(key).or_default().push(slot);
            }
            Event::RootAdded { id } => {
                root_added_slot.insert(id.clone(), out.len());
                out.push(Some(Event::RootAdded { id }));
            }
            Event::RootRemoved { id } => {
                if let Some(slot) = root_added_slot.remove(&id) {
                    out[slot] = None;
                    continue;
                }
                out.push(Some(Event::RootRemoved { id }));
            }
            Event::Title { title } => {
                if let Some(slot) = title_slot {
                    out[slot] = None;
                }
                title_slot = Some(out.len());
                out.push(Some(Event::Title { title }));
            }
            msg @ Event::Msg { .. } => out.push(Some(msg)),
        }
    }

    // Concatenate merged streams once.
    for (slot, chunks) in stream_chunks {
        if let Some(Event::Stream { columns, .. }) = out[slot].as_mut() {
            *columns = concat_chunks(&chunks);
        }
    }
    let mut result: Vec<Event> = out.into_iter().flatten().collect();
    for e in &mut result {
        if let Event::Stream { columns, rollover: Some(r), .. } = e {
            trim_rows(columns, *r as usize);
        }
    }
    result.extend(dels_at_end.into_iter().map(|id| Event::Del { id }));
    result
}

/// Merges `next` into `prev` (both about the same model and prop), if the rules allow.
fn merge_into(prev: &mut Event, next: &Event, prev_slot: Slot, chunks: &mut HashMap<Slot, Vec<ColumnMap>>) -> bool {
    match (prev, next) {
        (
            Event::Stream { columns: pc, rollover: pr, .. },
            Event::Stream { columns: nc, rollover: nr, .. },
        ) => {
            let rollover_ok = match (*pr, *nr) {
                (None, _) => true,
                (Some(p), Some(n)) => n <= p,
                (Some(_), None) => false,
            };
            if !rollover_ok || !concatenable(pc, nc, chunks.get(&prev_slot)) {
                return false;
            }
            chunks.entry(prev_slot).or_insert_with(|| vec![pc.clone()]).push(nc.clone());
            *pr = *nr;
            true
        }
        (Event::Patch { patches: pp, .. }, Event::Patch { patches: np, .. }) => {
            let all_lists = np.values().all(|v| matches!(v, Value::List(_)))
                && np.keys().all(|k| matches!(pp.get(k), None | Some(Value::List(_))));
            if !all_lists {
                return false;
            }
            for (name, pairs) in np {
                if let (Value::List(new), Value::List(old)) =
                    (pairs, pp.entry(name.clone()).or_insert_with(|| Value::List(Vec::new())))
                {
                    old.extend(new.iter().cloned());
                }
            }
            true
        }
        (Event::Data { columns: pc, .. }, Event::Data { columns: nc, replace: false, .. }) => {
            for (name, col) in nc {
                pc.insert(name.clone(), col.clone());
            }
            true
        }
        _ => false,
    }
}

/// Whether two streams' columns can be concatenated: same names, same kinds.
fn concatenable(a: &ColumnMap, b: &ColumnMap, _gathered: Option<&Vec<ColumnMap>>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, av)| match (av, b.get(name)) {
            (Value::Array(x), Some(Value::Array(y))) => {
                x.dtype == y.dtype && !x.shape.is_empty() && !y.shape.is_empty() && x.shape[1..] == y.shape[1..]
            }
            (Value::List(_), Some(Value::List(_))) => true,
            _ => false,
        })
}

fn concat_chunks(chunks: &[ColumnMap]) -> ColumnMap {
    let first = &chunks[0];
    let mut out = ColumnMap::with_capacity(first.len());
    for (name, v0) in first {
        let parts: Vec<&Value> = chunks.iter().filter_map(|c| c.get(name)).collect();
        let merged = match v0 {
            Value::Array(a0) => {
                let total: usize = parts.iter().map(|v| if let Value::Array(a) = v { a.data.len() } else { 0 }).sum();
                let mut bytes = Vec::with_capacity(total);
                let mut rows = 0;
                for v in &parts {
                    if let Value::Array(a) = v {
                        bytes.extend_from_slice(a.data.as_slice());
                        rows += a.len();
                    }
                }
                let mut shape = a0.shape.clone();
                shape[0] = rows;
                Value::Array(TypedArray { dtype: a0.dtype, shape, data: ArrayBuffer::from_vec(bytes) })
            }
            _ => Value::List(
                parts.iter().flat_map(|v| if let Value::List(l) = v { l.clone() } else { Vec::new() }).collect(),
            ),
        };
        out.insert(name.clone(), merged);
    }
    out
}

/// Keeps only the last `keep` rows of every column (they would be dropped anyway).
pub(crate) fn trim_rows(columns: &mut ColumnMap, keep: usize) {
    for v in columns.values_mut() {
        match v {
            Value::Array(a) if a.len() > keep => {
                let row_bytes = if a.is_empty() { 0 } else { a.data.len() / a.len() };
                let start = (a.len() - keep) * row_bytes;
                a.data = a.data.slice(start, a.data.len());
                a.shape[0] = keep;
            }
            Value::List(l) if l.len() > keep => {
                l.drain(..l.len() - keep);
            }
            _ => {}
        }
    }
}
