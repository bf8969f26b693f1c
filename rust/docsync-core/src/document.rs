//! Document state: models (id, type, non-default props), roots, title, version, the
//! events recorded since the last flush, atomic apply, snapshots.
//!
//! Semantics worth knowing (the Python layers rely on them):
//! * Only values that differ from their default (the theme's, else the schema's) are
//!   stored; `get` falls back to the default; `set` returns the old effective value.
//! * Every local mutation records its event at once (`pending`); [`Document::flush`]
//!   coalesces them into one [`Patch`] (rules in `docs/protocol.md`). Setting a
//!   `columns` prop records `data` (or `stream` when the new data only appended rows,
//!   or `data` with `replace=false` for the changed columns only).
//! * Local mutations do not check that references resolve (the model layer adds a model
//!   before it refers to it, and cycles must be addable); [`Document::apply`] does, after
//!   all events of the patch.
//! * `remove_root` / `collect` release every model no root reaches; their state stays
//!   available to `take_model` until the next flush.
//! * `apply(patch, client=true)` refuses changes to properties that are not
//!   client-writable and every structural event (`new`, `del`, `root+`, `root-`,
//!   `title`): a browser may change widget values and send UI messages, never reshape a
//!   document the server owns. (A session whose document a client pushed is applied with
//!   `client=false`.)
//! * Models are shared `Arc`s with a stamp that changes on every mutation: `copy` is
//!   O(models) pointer copies, and `diff` skips shared or same-stamp models.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::mem::MaybeUninit;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::codec::{self, CountingSink, Encoder, Limits, SliceSink, Sink};
use crate::columns::ColumnData;
use crate::error::{Error, Result};
use crate::event::{ColumnMap, Event, PatchMap};
use crate::patch::{coalesce, FlushState, Patch};
use crate::schema::{self, describe, PropSchema, TypeSchema};
use crate::value::{ArrayBuffer, Value};

/// Every model mutation takes a fresh stamp from this counter, so two documents that
/// share a model (after [`Document::copy`]) know it is unchanged when the stamps match.
static STAMP: AtomicU64 = AtomicU64::new(1);

fn next_stamp() -> u64 {
    STAMP.fetch_add(1, Ordering::Relaxed)
}

/// One model of a document.
#[derive(Clone, Debug)]
pub struct Model {
    pub schema: Arc<TypeSchema>,
    /// Only properties that differ from their default.
    pub props: IndexMap<String, Value>,
    /// Changes on every mutation (see [`STAMP`]).
    pub stamp: u64,
}

impl Model {
    pub fn type_name(&self) -> &Arc<str> {
        &self.schema.name
    }
}

/// Theme overrides of defaults: type name -> prop -> default.
pub type Theme = HashMap<String, IndexMap<String, Value>>;

/// What one applied event changed (so Python can fire `on_change` callbacks).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The wire kind of the event (`"set"`, `"stream"`, ...).
    pub kind: &'static str,
    pub id: Option<Arc<str>>,
    pub prop: Option<String>,
    /// Previous value for `set` / `title` / `data` (Null otherwise).
    pub old: Value,
    /// New value for `set` / `title` / `data`; rows for `stream`; patches for `patch`;
    /// data for `msg`.
    pub new: Value,
    /// `msg` event name; type name for `new`.
    pub name: Option<String>,
}

/// Document state. Cloning is cheap: models are shared until one side changes them.
#[derive(Clone, Debug, Default)]
pub struct Document {
    models: IndexMap<Arc<str>, Arc<Model>>,
    roots: Vec<Arc<str>>,
    title: String,
    version: u64,
    theme: Arc<Theme>,
    pending: Vec<Event>,
    /// Models released by `remove_root` / `collect`, kept until `take_model` or the next
    /// flush.
    released: HashMap<Arc<str>, Model>,
}

impl PartialEq for Document {
    /// Same title, roots and models (ids, types, non-default props). The version and
    /// pending events are not compared.
    fn eq(&self, other: &Self) -> bool {
        self.title == other.title
            && self.roots == other.roots
            && self.models.len() == other.models.len()
            && self.models.iter().all(|(id, m)| match other.models.get(id) {
                Some(o) => Arc::ptr_eq(m, o) || (m.schema.name == o.schema.name && props_equal(&m.props, &o.props)),
                None => false,
            })
    }
}

/// Props as they travel in events: column data as plain maps of columns (what a receiver
/// decodes), so a patch equals its decoded self.
pub fn wire_props(props: &IndexMap<String, Value>) -> IndexMap<String, Value> {
    props
        .iter()
        .map(|(k, v)| match v {
            Value::Columns(c) => (k.clone(), Value::Map(c.to_map())),
            v => (k.clone(), v.clone()),
        })
        .collect()
}

pub(crate) fn props_equal(a: &IndexMap<String, Value>, b: &IndexMap<String, Value>) -> bool {
    // In step first (the usual case: same insertion order), then by key.
    a.len() == b.len() && (a.iter().zip(b.iter()).all(|(x, y)| x == y) || a.iter().all(|(k, v)| b.get(k) == Some(v)))
}

fn unknown_model(id: &str) -> Error {
    Error::UnknownModel(format!("no model with id {id:?} in the document"))
}

/// The effective default of a prop under a theme.
fn default_of<'a>(theme: &'a Theme, schema: &'a TypeSchema, prop: &'a PropSchema) -> &'a Value {
    theme.get(&*schema.name).and_then(|t| t.get(&prop.name)).unwrap_or(&prop.default)
}

/// Stores `value` for `prop` (removing it when it equals the default); returns the old
/// effective value.
fn store(theme: &Theme, model: &mut Model, prop: &PropSchema, value: Value) -> Value {
    let default = default_of(theme, &model.schema, prop);
    let old = if value == *default {
        model.props.shift_remove(&prop.name)
    } else {
        model.props.insert(prop.name.clone(), value)
    };
    old.unwrap_or_else(|| default.clone())
}

fn columns_of(theme: &Theme, model: &Model, prop: &PropSchema) -> Result<ColumnData> {
    check_columns_prop(model, prop)?;
    match model.props.get(&prop.name).unwrap_or_else(|| default_of(theme, &model.schema, prop)) {
        Value::Columns(c) => Ok(c.clone()),
        Value::Map(m) => ColumnData::from_map(m.clone()),
        _ => Ok(ColumnData::default()),
    }
}

fn check_columns_prop(model: &Model, prop: &PropSchema) -> Result<()> {
    if prop.spec.is_columns() {
        return Ok(());
    }
    Err(Error::Validation(format!(
        "{}.{} is not a columns property (its type is {})",
        model.schema.name, prop.name, prop.spec
    )))
}

/// The model's column data for `prop`, in place (the default copied in when unset).
fn columns_mut<'m>(theme: &Theme, model: &'m mut Model, prop: &PropSchema) -> Result<&'m mut ColumnData> {
    if !matches!(model.props.get(&prop.name), Some(Value::Columns(_))) {
        let current = columns_of(theme, model, prop)?;
        model.props.insert(prop.name.clone(), Value::Columns(current));
    }
    match model.props.get_mut(&prop.name) {
        Some(Value::Columns(c)) => Ok(c),
        _ => Err(Error::Patch(format!("{}.{} holds no column data", model.schema.name, prop.name))),
    }
}

/// The rows a stream event carries: for typed columns, the new rows as the column now
/// stores them (a view of the column's memory in its dtype, so later streams concatenate
/// and receivers need no conversion); list columns keep the given rows.
fn recorded_rows(c: &ColumnData, given: ColumnMap) -> ColumnMap {
    let total = c.len();
    given
        .into_iter()
        .map(|(name, v)| {
            let rows = match &v {
                Value::Array(a) => a.len(),
                Value::List(l) => l.len(),
                _ => 0,
            };
            let keep = rows.min(total);
            let typed = c.column(&name).is_some_and(|col| col.is_typed());
            let v = match (typed, c.get(&name)) {
                (true, Some(Value::Array(mut a))) if a.len() >= keep => {
                    let row_bytes = if a.is_empty() { 0 } else { a.data.len() / a.len() };
                    a.data = a.data.slice((a.len() - keep) * row_bytes, a.data.len());
                    a.shape[0] = keep;
                    Value::Array(a)
                }
                _ => v,
            };
            (name, v)
        })
        .collect()
}

/// Validates a prop change, checking writability for clients.
fn check_prop<'a>(schema: &'a TypeSchema, prop: &str, client: bool) -> Result<&'a PropSchema> {
    let p = schema.prop(prop)?;
    if client && !p.client_writable {
        return Err(Error::ReadOnlyProperty(format!(
            "{}.{} is not client-writable (mark it client_writable in its schema to let browsers change it)",
            schema.name, prop
        )));
    }
    Ok(p)
}

fn validate_props(schema: &TypeSchema, theme: &Theme, props: IndexMap<String, Value>, client: bool) -> Result<IndexMap<String, Value>> {
    let mut out = IndexMap::with_capacity(props.len());
    for (name, value) in props {
        let p = check_prop(schema, &name, client)?;
        let value = schema.validate(&name, value)?;
        if value != *default_of(theme, schema, p) {
            out.insert(name, value);
        }
    }
    Ok(out)
}

impl Document {
    pub fn new() -> Document {
        Document::default()
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn roots(&self) -> &[Arc<str>] {
        &self.roots
    }

    pub fn model_ids(&self) -> impl Iterator<Item = &Arc<str>> {
        self.models.keys()
    }

    pub fn models(&self) -> &IndexMap<Arc<str>, Arc<Model>> {
        &self.models
    }

    pub fn has_model(&self, id: &str) -> bool {
        self.models.contains_key(id)
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// The model of `id`.
    ///
    /// # Errors
    /// [`Error::UnknownModel`].
    pub fn model(&self, id: &str) -> Result<&Arc<Model>> {
        self.models.get(id).ok_or_else(|| unknown_model(id))
    }

    pub fn model_type(&self, id: &str) -> Result<&str> {
        Ok(self.model(id)?.type_name())
    }

    fn model_mut(&mut self, id: &str) -> Result<&mut Model> {
        let m = self.models.get_mut(id).ok_or_else(|| unknown_model(id))?;
        let m = Arc::make_mut(m);
        m.stamp = next_stamp();
        Ok(m)
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    pub fn set_title(&mut self, title: &str) {
        self.title = title.to_string();
        self.pending.push(Event::Title { title: title.to_string() });
        self.bump();
    }

    /// Inserts a model (props validated, defaults not stored) and records `new`.
    ///
    /// # Errors
    /// [`Error::UnknownModel`] for an unregistered type, [`Error::Patch`] for an id that
    /// is already taken, the validation errors of [`TypeSchema::validate`].
    pub fn add_model(&mut self, id: &str, type_name: &str, props: IndexMap<String, Value>) -> Result<()> {
        if self.models.contains_key(id) {
            return Err(Error::Patch(format!("a model with id {id:?} is already in the document")));
        }
        let schema = schema::lookup(type_name)?;
        let props = validate_props(&schema, &self.theme, props, false)?;
        let id: Arc<str> = Arc::from(id);
        self.released.remove(&id);
        self.pending.push(Event::New { id: id.clone(), type_name: schema.name.clone(), props: wire_props(&props) });
        self.models.insert(id, Arc::new(Model { schema, props, stamp: next_stamp() }));
        self.bump();
        Ok(())
    }

    /// Makes a model a root (no-op if it is one) and records `root+`.
    ///
    /// # Errors
    /// [`Error::UnknownModel`].
    pub fn add_root(&mut self, id: &str) -> Result<()> {
        let (id, _) = self.models.get_key_value(id).ok_or_else(|| unknown_model(id))?;
        if self.roots.iter().any(|r| r == id) {
            return Ok(());
        }
        let id = id.clone();
        self.roots.push(id.clone());
        self.pending.push(Event::RootAdded { id });
        self.bump();
        Ok(())
    }

    /// Removes a root, records `root-`, and releases every model no longer reachable from
    /// a root (recording `del` for each). Returns the released ids.
    ///
    /// # Errors
    /// [`Error::UnknownModel`] if `id` is not a root.
    pub fn remove_root(&mut self, id: &str) -> Result<Vec<String>> {
        let pos = self
            .roots
            .iter()
            .position(|r| &**r == id)
            .ok_or_else(|| Error::UnknownModel(format!("{id:?} is not a root of the document")))?;
        let id = self.roots.remove(pos);
        self.pending.push(Event::RootRemoved { id });
        self.bump();
        Ok(self.collect())
    }

    /// Ids of every model reachable from a root.
    pub fn reachable(&self) -> HashSet<Arc<str>> {
        let mut seen: HashSet<Arc<str>> = HashSet::with_capacity(self.models.len());
        let mut stack: Vec<Arc<str>> = self.roots.clone();
        while let Some(id) = stack.pop() {
            let Some((key, model)) = self.models.get_key_value(&*id) else { continue };
            if !seen.insert(key.clone()) {
                continue;
            }
            for v in model.props.values() {
                v.for_each_ref(&mut |r| {
                    if !seen.contains(r) {
                        stack.push(Arc::from(r));
                    }
                });
            }
        }
        seen
    }

    /// Removes the models not reachable from any root, records `del` for each and returns
    /// their ids. Their state stays available to [`Document::take_model`] until the next
    /// flush.
    pub fn collect(&mut self) -> Vec<String> {
        let reachable = self.reachable();
        if reachable.len() == self.models.len() {
            return Vec::new();
        }
        let mut released = Vec::new();
        let mut kept = IndexMap::with_capacity(reachable.len());
        for (id, model) in std::mem::take(&mut self.models) {
            if reachable.contains(&id) {
                kept.insert(id, model);
            } else {
                released.push(id.to_string());
                self.pending.push(Event::Del { id: id.clone() });
                self.released.insert(id, Arc::unwrap_or_clone(model));
            }
        }
        self.models = kept;
        self.bump();
        released
    }

    /// (type, non-default props) of a released model (which is then forgotten) or of a
    /// model still in the document.
    ///
    /// # Errors
    /// [`Error::UnknownModel`].
    pub fn take_model(&mut self, id: &str) -> Result<(String, IndexMap<String, Value>)> {
        if let Some(m) = self.released.remove(id) {
            return Ok((m.schema.name.to_string(), m.props));
        }
        let m = self.model(id)?;
        Ok((m.schema.name.to_string(), m.props.clone()))
    }

    /// The value of a property (its default when unset).
    ///
    /// # Errors
    /// [`Error::UnknownModel`], [`Error::UnknownProperty`].
    pub fn get(&self, id: &str, prop: &str) -> Result<Value> {
        let m = self.model(id)?;
        if let Some(v) = m.props.get(prop) {
            return Ok(v.clone());
        }
        let p = m.schema.prop(prop)?;
        Ok(default_of(&self.theme, &m.schema, p).clone())
    }

    /// Non-default props of a model.
    pub fn props(&self, id: &str) -> Result<&IndexMap<String, Value>> {
        Ok(&self.model(id)?.props)
    }

    /// Sets a property, records the change and returns the old value. A `columns` prop
    /// records a `data` event with `replace=true`.
    ///
    /// # Errors
    /// [`Error::UnknownModel`], [`Error::UnknownProperty`], [`Error::Validation`],
    /// [`Error::Column`].
    pub fn set(&mut self, id: &str, prop: &str, value: Value) -> Result<Value> {
        // One lookup of the model, one of the prop: this is the hottest path.
        let (_, key, slot) = self.models.get_full_mut(id).ok_or_else(|| unknown_model(id))?;
        let key = key.clone();
        let schema = slot.schema.clone();
        let p = schema.prop(prop)?;
        let value = schema::validate_prop(&schema.name, p, value)?;
        let event = if let Value::Columns(c) = &value {
            // `source.data = new`: send only what changed; rows appended at the end
            // travel as a stream (O(new rows) on the wire and in every browser).
            match slot.props.get(prop) {
                Some(Value::Columns(old)) if !old.is_empty() => match crate::diff::diff_columns(&key, prop, old, c) {
                    Event::Data { columns, replace: false, .. } if columns.is_empty() => None,
                    e => Some(e),
                },
                _ => Some(Event::Data { id: key, prop: prop.to_string(), columns: c.to_map(), replace: true }),
            }
        } else {
            Some(Event::Set { id: key, prop: prop.to_string(), value: value.clone() })
        };
        let model = Arc::make_mut(slot);
        model.stamp = next_stamp();
        let old = store(&self.theme, model, p, value);
        self.pending.extend(event);
        self.version += 1;
        Ok(old)
    }

    /// Replaces the theme's defaults: type name -> prop -> default (validated).
    ///
    /// # Errors
    /// [`Error::UnknownProperty`] / [`Error::Validation`] for a bad override. Types that
    /// are not registered are kept for later.
    pub fn set_theme(&mut self, theme: Theme) -> Result<()> {
        let mut checked = Theme::with_capacity(theme.len());
        for (type_name, props) in theme {
            let mut out = IndexMap::with_capacity(props.len());
            match schema::lookup(&type_name) {
                Ok(s) => {
                    for (name, v) in props {
                        let v = s.validate(&name, v)?;
                        out.insert(name, v);
                    }
                }
                Err(_) => out = props,
            }
            checked.insert(type_name, out);
        }
        self.theme = Arc::new(checked);
        Ok(())
    }

    // ---- columns ----

    fn columns_prop(&self, id: &str, prop: &str) -> Result<ColumnData> {
        let m = self.model(id)?;
        let p = m.schema.prop(prop)?;
        columns_of(&self.theme, m, p)
    }

    /// The column data of a `columns` prop (a cheap copy sharing the column memory).
    ///
    /// # Errors
    /// [`Error::UnknownModel`], [`Error::UnknownProperty`], [`Error::Validation`] for a
    /// prop that is not `columns`-typed.
    pub fn columns(&self, id: &str, prop: &str) -> Result<ColumnData> {
        self.columns_prop(id, prop)
    }

    /// The column data of `prop` in place, without copying it, when the model holds it
    /// as column data already (else None: use [`Document::columns`]).
    pub fn columns_ref(&self, id: &str, prop: &str) -> Option<&ColumnData> {
        match self.models.get(id)?.props.get(prop) {
            Some(Value::Columns(c)) => Some(c),
            _ => None,
        }
    }

    /// One column: a typed array sharing the column's memory, or a list.
    ///
    /// # Errors
    /// As [`Document::columns`], plus [`Error::Column`] for an unknown column.
    pub fn get_column(&self, id: &str, prop: &str, name: &str) -> Result<Value> {
        let m = self.model(id)?;
        let p = m.schema.prop(prop)?;
        let found = match m.props.get(prop) {
            Some(Value::Columns(c)) => c.get(name).map(Some),
            _ => None,
        };
        if let Some(v) = found {
            return v.ok_or_else(|| self.no_column(id, prop, name));
        }
        columns_of(&self.theme, m, p)?.get(name).ok_or_else(|| self.no_column(id, prop, name))
    }

    fn no_column(&self, id: &str, prop: &str, name: &str) -> Error {
        let names = self.columns_prop(id, prop).map(|c| c.names().iter().map(|s| s.to_string()).collect()).unwrap_or_else(|_| Vec::<String>::new());
        Error::Column(format!("{id}.{prop} has no column {name:?} (its columns: {names:?})"))
    }

    pub fn column_names(&self, id: &str, prop: &str) -> Result<Vec<String>> {
        Ok(self.columns_prop(id, prop)?.names().into_iter().map(|s| s.to_string()).collect())
    }

    pub fn column_len(&self, id: &str, prop: &str) -> Result<usize> {
        match self.columns_ref(id, prop) {
            Some(c) => Ok(c.len()),
            None => Ok(self.columns_prop(id, prop)?.len()),
        }
    }

    /// Runs `f` on the model's column data in place (so appends stay O(new rows) and
    /// patches write in place when nobody else sees the memory), then records `event`.
    fn with_columns<T>(&mut self, id: &str, prop: &str, f: impl FnOnce(&mut ColumnData, Arc<str>) -> Result<(T, Event)>) -> Result<T> {
        let theme = self.theme.clone();
        let (key, model) = self.models.get_key_value(id).ok_or_else(|| unknown_model(id))?;
        let key = key.clone();
        let schema = model.schema.clone();
        let p = schema.prop(prop)?;
        // Validate before touching the model (no stamp change on error); without copying
        // the column data when it is already in place (a stream costs O(new rows)).
        if matches!(model.props.get(&p.name), Some(Value::Columns(_))) {
            check_columns_prop(model, p)?;
        } else {
            columns_of(&theme, model, p)?;
        }
        let model = self.model_mut(id)?;
        let columns = columns_mut(&theme, model, p)?;
        let (out, event) = f(columns, key)?;
        self.pending.push(event);
        self.bump();
        Ok(out)
    }

    /// Replaces (or adds) one column; records `data` with `replace=false`. Lengths may
    /// disagree for a while (as in Bokeh); `stream` refuses until they agree again.
    ///
    /// # Errors
    /// As [`Document::columns`], plus [`Error::Column`] for a value that is not a column.
    pub fn set_column(&mut self, id: &str, prop: &str, name: &str, value: Value) -> Result<()> {
        let prop_s = prop.to_string();
        self.with_columns(id, prop, |c, key| {
            c.set_column(name, value)?;
            let mut columns = ColumnMap::new();
            columns.insert(name.to_string(), c.get(name).unwrap_or(Value::Null));
            Ok(((), Event::Data { id: key, prop: prop_s, columns, replace: false }))
        })
    }

    /// Appends rows (exactly the source's columns, equal lengths), then keeps the last
    /// `rollover` rows; records `stream`. O(new rows).
    ///
    /// # Errors
    /// As [`Document::columns`], plus [`Error::Column`] (see
    /// [`ColumnData::stream`]); nothing changes on error.
    pub fn stream(&mut self, id: &str, prop: &str, columns: ColumnMap, rollover: Option<i64>) -> Result<()> {
        let prop_s = prop.to_string();
        self.with_columns(id, prop, |c, key| {
            c.stream(&columns, rollover)?;
            let columns = recorded_rows(c, columns);
            Ok(((), Event::Stream { id: key, prop: prop_s, columns, rollover: rollover.map(|r| r as u64) }))
        })
    }

    /// Replaces values by index / slice / multi-index; records `patch`.
    ///
    /// # Errors
    /// As [`Document::columns`], plus [`Error::Column`] (see [`ColumnData::patch`]);
    /// nothing changes on error.
    pub fn patch_columns(&mut self, id: &str, prop: &str, patches: PatchMap) -> Result<()> {
        let prop_s = prop.to_string();
        self.with_columns(id, prop, |c, key| {
            c.patch(&patches)?;
            Ok(((), Event::Patch { id: key, prop: prop_s, patches }))
        })
    }

    /// Records a custom message (UI event) for a model or the document.
    pub fn send_message(&mut self, id: Option<&str>, name: &str, data: Value) -> Result<()> {
        let id = match id {
            Some(id) => Some(self.models.get_key_value(id).map(|(k, _)| k.clone()).ok_or_else(|| unknown_model(id))?),
            None => None,
        };
        self.pending.push(Event::Msg { id, name: name.to_string(), data });
        Ok(())
    }

    // ---- events ----

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The events recorded since the last flush, as recorded (not coalesced).
    pub fn pending(&self) -> &[Event] {
        &self.pending
    }

    pub fn discard_pending(&mut self) {
        self.pending.clear();
        self.released.clear();
    }

    /// The coalesced events recorded since the last flush, or None.
    pub fn flush(&mut self) -> Option<Patch> {
        self.released.clear();
        if self.pending.is_empty() {
            return None;
        }
        let events = std::mem::take(&mut self.pending);
        let events = coalesce(events, self);
        if events.is_empty() {
            return None;
        }
        let mut types: IndexMap<&str, &Arc<TypeSchema>> = IndexMap::new();
        for e in &events {
            if let Event::New { id, .. } = e {
                if let Some(m) = self.models.get(&**id) {
                    types.entry(&m.schema.name).or_insert(&m.schema);
                }
            }
        }
        let type_info = if types.is_empty() { IndexMap::new() } else { self.type_info(types.values().copied()) };
        Some(Patch::from_events(events).with_type_info(type_info))
    }

    /// Applies a patch atomically: every event is validated (against the schemas, against
    /// the state left by the events before it, and for `client` against the
    /// client-writable flags), references are resolved after all events, and only then
    /// does anything change. Applied events are not recorded as pending.
    ///
    /// Validation runs on a shadow that copies only the models the patch touches; the
    /// commit then replays the events in place, so a stream stays O(new rows) and a
    /// patch writes in place.
    ///
    /// # Errors
    /// The first problem found; the document is unchanged.
    pub fn apply(&mut self, patch: &Patch, client: bool) -> Result<Vec<Change>> {
        let events = patch.events();
        // The last event touching each (model, prop): a stream/patch that nothing later
        // reads is only checked on the shadow, not performed there.
        let mut last_touch: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            if let Event::Set { id, prop, .. } | Event::Data { id, prop, .. } | Event::Stream { id, prop, .. } | Event::Patch { id, prop, .. } = e {
                last_touch.insert((id, prop), i);
            }
        }
        {
            let mut shadow = Shadow { doc: self, models: HashMap::new(), roots: None, title: None };
            let mut refs = Vec::new();
            for (i, e) in events.iter().enumerate() {
                let check_only = match e {
                    Event::Stream { id, prop, .. } | Event::Patch { id, prop, .. } => last_touch.get(&(&**id, prop.as_str())) == Some(&i),
                    _ => false,
                };
                apply_event(&mut shadow, e, client, check_only, Some(&mut refs))?;
            }
            for (r, from) in &refs {
                if !shadow.exists(r) {
                    return Err(Error::Patch(format!(
                        "unresolved reference: {from} refers to model {r:?}, which is neither in the document nor created by the patch"
                    )));
                }
            }
        }
        let mut changes = Vec::with_capacity(events.len());
        for e in events {
            let change = apply_event(self, e, client, false, None).map_err(|err| {
                Error::Patch(format!("internal error: a validated event failed to apply ({err}); please report this"))
            })?;
            changes.push(change);
        }
        self.version += 1;
        Ok(changes)
    }

    // ---- snapshots ----

    /// The `defaults` (type → prop → default, theme applied) and `writable` (type →
    /// client-writable props) maps for `types`, as snapshots and patches carry them.
    fn type_info<'a>(&self, types: impl Iterator<Item = &'a Arc<TypeSchema>>) -> IndexMap<String, Value> {
        let mut defaults = IndexMap::new();
        let mut writable = IndexMap::new();
        for s in types {
            let d = s.props.values().map(|p| (p.name.clone(), default_of(&self.theme, s, p).clone())).collect();
            defaults.insert(s.name.to_string(), Value::Map(d));
            let w = s.props.values().filter(|p| p.client_writable).map(|p| Value::str(&p.name)).collect();
            writable.insert(s.name.to_string(), Value::List(w));
        }
        let mut info = IndexMap::with_capacity(2);
        info.insert("defaults".to_string(), Value::Map(defaults));
        info.insert("writable".to_string(), Value::Map(writable));
        info
    }

    /// The snapshot payload as a value (see `docs/protocol.md`, "Snapshot").
    pub fn snapshot_value(&self) -> Value {
        let mut types: IndexMap<Arc<str>, Arc<TypeSchema>> = IndexMap::new();
        let models = self
            .models
            .iter()
            .map(|(id, m)| {
                types.entry(m.schema.name.clone()).or_insert_with(|| m.schema.clone());
                let mut e = IndexMap::with_capacity(3);
                e.insert("id".to_string(), Value::Str(id.clone()));
                e.insert("type".to_string(), Value::Str(m.schema.name.clone()));
                e.insert("props".to_string(), Value::Map(m.props.clone()));
                Value::Map(e)
            })
            .collect();
        let info = self.type_info(types.values());
        let mut m = IndexMap::with_capacity(6);
        m.insert("title".to_string(), Value::str(&self.title));
        m.insert("version".to_string(), Value::Int(self.version as i64));
        m.insert("roots".to_string(), Value::List(self.roots.iter().map(|r| Value::Str(r.clone())).collect()));
        m.insert("models".to_string(), Value::List(models));
        m.extend(info);
        Value::Map(m)
    }

    /// Writes the snapshot payload straight into `enc` (no intermediate value tree).
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn write_snapshot<S: Sink>(&self, enc: &mut Encoder<S>) -> Result<()> {
        enc.write_map_header(6)?;
        enc.write_str("title")?;
        enc.write_str(&self.title)?;
        enc.write_str("version")?;
        enc.write_int(self.version as i64);
        enc.write_str("roots")?;
        enc.write_list_header(self.roots.len())?;
        for r in &self.roots {
            enc.write_str(r)?;
        }
        enc.write_str("models")?;
        enc.write_list_header(self.models.len())?;
        let mut types: IndexMap<&str, &Arc<TypeSchema>> = IndexMap::new();
        for (id, m) in &self.models {
            types.entry(&m.schema.name).or_insert(&m.schema);
            enc.write_map_header(3)?;
            enc.write_str("id")?;
            enc.write_str(id)?;
            enc.write_str("type")?;
            enc.write_str(&m.schema.name)?;
            enc.write_str("props")?;
            enc.write_map_header(m.props.len())?;
            for (k, v) in &m.props {
                enc.write_str(k)?;
                enc.write_value(v)?;
            }
        }
        enc.write_str("defaults")?;
        enc.write_map_header(types.len())?;
        for s in types.values() {
            enc.write_str(&s.name)?;
            enc.write_map_header(s.props.len())?;
            for p in s.props.values() {
                enc.write_str(&p.name)?;
                enc.write_value(default_of(&self.theme, s, p))?;
            }
        }
        enc.write_str("writable")?;
        enc.write_map_header(types.len())?;
        for s in types.values() {
            enc.write_str(&s.name)?;
            let writable: Vec<&str> = s.props.values().filter(|p| p.client_writable).map(|p| &*p.name).collect();
            enc.write_list_header(writable.len())?;
            for name in writable {
                enc.write_str(name)?;
            }
        }
        Ok(())
    }

    fn snapshot_size_hint(&self) -> usize {
        256 + self
            .models
            .values()
            .map(|m| 64 + m.props.iter().map(|(k, v)| k.len() + 2 + codec::estimate_size(v)).sum::<usize>())
            .sum::<usize>()
    }

    /// The snapshot payload (msgpack).
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut enc = Encoder::with_capacity(self.snapshot_size_hint());
        self.write_snapshot(&mut enc)?;
        Ok(enc.into_bytes())
    }

    /// `{"v":1,"t":"snapshot","seq":seq,"p":snapshot}`.
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn snapshot_message(&self, seq: i64) -> Result<Vec<u8>> {
        let mut enc = Encoder::with_capacity(32 + self.snapshot_size_hint());
        enc.write_envelope_head("snapshot", Some(seq), None, true)?;
        self.write_snapshot(&mut enc)?;
        Ok(enc.into_bytes())
    }

    /// The exact size of [`Document::snapshot`]'s bytes (counted, not written: column
    /// data costs nothing here).
    ///
    /// # Errors
    /// As [`Document::snapshot`].
    pub fn snapshot_len(&self) -> Result<usize> {
        let mut enc = Encoder::with_sink(CountingSink(0));
        self.write_snapshot(&mut enc)?;
        Ok(enc.into_sink().0)
    }

    /// Writes [`Document::snapshot`]'s bytes into `out`, exactly
    /// [`Document::snapshot_len`] long (e.g. a Python `bytes` object's memory, so a
    /// large snapshot is written once, with no intermediate buffer).
    ///
    /// # Errors
    /// As [`Document::snapshot`], or [`Error::Encode`] when `out` has the wrong length.
    pub fn snapshot_to_slice(&self, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        let mut enc = Encoder::with_sink(SliceSink::uninit(out));
        self.write_snapshot(&mut enc)?;
        enc.into_sink().finish()
    }

    /// The exact size of [`Document::snapshot_message`]'s bytes.
    ///
    /// # Errors
    /// As [`Document::snapshot`].
    pub fn snapshot_message_len(&self, seq: i64) -> Result<usize> {
        let mut enc = Encoder::with_sink(CountingSink(0));
        enc.write_envelope_head("snapshot", Some(seq), None, true)?;
        self.write_snapshot(&mut enc)?;
        Ok(enc.into_sink().0)
    }

    /// Writes [`Document::snapshot_message`]'s bytes into `out`, exactly
    /// [`Document::snapshot_message_len`] long.
    ///
    /// # Errors
    /// As [`Document::snapshot_to_slice`].
    pub fn snapshot_message_to_slice(&self, seq: i64, out: &mut [MaybeUninit<u8>]) -> Result<()> {
        let mut enc = Encoder::with_sink(SliceSink::uninit(out));
        enc.write_envelope_head("snapshot", Some(seq), None, true)?;
        self.write_snapshot(&mut enc)?;
        enc.into_sink().finish()
    }

    /// A document from a snapshot payload value. Every type must be registered; a
    /// snapshot default that differs from the registered one becomes a theme override.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a malformed snapshot, [`Error::UnknownModel`] for unknown
    /// types, validation errors for bad props, [`Error::Patch`] for unresolved references.
    pub fn from_snapshot_value(value: &Value) -> Result<Document> {
        let Value::Map(m) = value else {
            return Err(Error::Protocol(format!("a snapshot must be a map, got {}", value.kind())));
        };
        let field = |name: &str| m.get(name).ok_or_else(|| Error::Protocol(format!("snapshot has no {name:?} field")));
        let mut doc = Document::new();
        doc.title = match field("title")? {
            Value::Str(s) => s.to_string(),
            other => return Err(Error::Protocol(format!("snapshot title must be a str, got {}", describe(other)))),
        };
        doc.version = match m.get("version") {
            Some(Value::Int(v)) if *v >= 0 => *v as u64,
            None | Some(Value::Null) => 0,
            Some(other) => return Err(Error::Protocol(format!("snapshot version must be an int, got {}", describe(other)))),
        };
        // Theme overrides from the snapshot's defaults.
        let mut theme = Theme::new();
        if let Some(Value::Map(defaults)) = m.get("defaults") {
            for (type_name, d) in defaults {
                let (Ok(s), Value::Map(d)) = (schema::lookup(type_name), d) else { continue };
                for (name, v) in d {
                    if let Some(p) = s.props.get(name) {
                        if *v != p.default {
                            if let Ok(v) = s.validate(name, v.clone()) {
                                theme.entry(type_name.clone()).or_default().insert(name.clone(), v);
                            }
                        }
                    }
                }
            }
        }
        doc.theme = Arc::new(theme);
        let Value::List(models) = field("models")? else {
            return Err(Error::Protocol("snapshot models must be a list".into()));
        };
        for entry in models {
            let Value::Map(e) = entry else {
                return Err(Error::Protocol(format!("a snapshot model must be a map, got {}", entry.kind())));
            };
            let (Some(Value::Str(id)), Some(Value::Str(type_name))) = (e.get("id"), e.get("type")) else {
                return Err(Error::Protocol("a snapshot model needs str \"id\" and \"type\"".into()));
            };
            let props = match e.get("props") {
                Some(Value::Map(p)) => p.clone(),
                None | Some(Value::Null) => IndexMap::new(),
                Some(other) => return Err(Error::Protocol(format!("snapshot model props must be a map, got {}", other.kind()))),
            };
            if doc.models.contains_key(&**id) {
                return Err(Error::Protocol(format!("snapshot holds model {id:?} twice")));
            }
            let schema = schema::lookup(type_name)?;
            let props = validate_props(&schema, &doc.theme, props, false)?;
            doc.models.insert(id.clone(), Arc::new(Model { schema, props, stamp: next_stamp() }));
        }
        let Value::List(roots) = field("roots")? else {
            return Err(Error::Protocol("snapshot roots must be a list".into()));
        };
        for r in roots {
            let Value::Str(r) = r else {
                return Err(Error::Protocol(format!("snapshot roots must be ids, got {}", r.kind())));
            };
            let (key, _) = doc.models.get_key_value(&**r).ok_or_else(|| Error::Patch(format!("snapshot root {r:?} is not among its models")))?;
            if !doc.roots.contains(key) {
                doc.roots.push(key.clone());
            }
        }
        for (id, model) in &doc.models {
            for v in model.props.values() {
                let mut missing = None;
                v.for_each_ref(&mut |r| {
                    if missing.is_none() && !doc.models.contains_key(r) {
                        missing = Some(r.to_string());
                    }
                });
                if let Some(r) = missing {
                    return Err(Error::Patch(format!("model {id:?} refers to {r:?}, which the snapshot does not hold")));
                }
            }
        }
        Ok(doc)
    }

    /// A document from snapshot bytes, with limits.
    ///
    /// # Errors
    /// As [`Document::from_snapshot_value`], plus decode errors.
    pub fn from_snapshot(data: &[u8], limits: Limits) -> Result<Document> {
        let value = codec::decode(data, limits)?;
        Document::from_snapshot_value(&value)
    }

    /// Replaces the whole state with a snapshot, atomically; returns what changed
    /// (the events of `diff(self, snapshot)`, as changes). Pending events are dropped.
    ///
    /// # Errors
    /// As [`Document::from_snapshot`]; on error nothing changes.
    pub fn load_snapshot(&mut self, data: &[u8], limits: Limits) -> Result<Vec<Change>> {
        let new = Document::from_snapshot(data, limits)?;
        Ok(self.replace_with(new))
    }

    /// As [`Document::load_snapshot`], with typed arrays sharing `buffer`'s memory.
    ///
    /// # Errors
    /// As [`Document::from_snapshot`]; on error nothing changes.
    pub fn load_snapshot_buffer(&mut self, buffer: &ArrayBuffer, limits: Limits) -> Result<Vec<Change>> {
        let new = Document::from_snapshot_buffer(buffer, limits)?;
        Ok(self.replace_with(new))
    }

    /// As [`Document::from_snapshot`], with typed arrays sharing `buffer`'s memory.
    ///
    /// # Errors
    /// As [`Document::from_snapshot`].
    pub fn from_snapshot_buffer(buffer: &ArrayBuffer, limits: Limits) -> Result<Document> {
        let value = codec::decode_buffer(buffer, limits)?;
        Document::from_snapshot_value(&value)
    }

    fn replace_with(&mut self, new: Document) -> Vec<Change> {
        let patch = crate::diff::diff_documents(self, &new);
        let mut scratch = self.clone();
        let changes = scratch.apply(&patch, false).unwrap_or_default();
        *self = new;
        changes
    }

    /// A copy sharing models (and their columns) until either side changes them.
    pub fn copy(&self) -> Document {
        // Field by field: cloning `pending` and `released` only to clear them would cost
        // O(pending events) under the caller's lock.
        Document {
            models: self.models.clone(),
            roots: self.roots.clone(),
            title: self.title.clone(),
            version: self.version,
            theme: self.theme.clone(),
            pending: Vec::new(),
            released: HashMap::new(),
        }
    }
}

impl FlushState for Document {
    fn current(&self, id: &str) -> Option<(Arc<str>, IndexMap<String, Value>)> {
        self.models.get(id).map(|m| (m.schema.name.clone(), wire_props(&m.props)))
    }
    fn current_exists(&self, id: &str) -> bool {
        self.models.contains_key(id)
    }
}

/// What applying an event needs of a document: the real one (commit) or a shadow
/// (validation).
trait State {
    fn theme(&self) -> &Arc<Theme>;
    fn model(&self, id: &str) -> Option<&Model>;
    fn model_mut(&mut self, id: &Arc<str>) -> Result<&mut Model>;
    fn insert(&mut self, id: Arc<str>, model: Model);
    fn remove(&mut self, id: &Arc<str>);
    fn roots_mut(&mut self) -> &mut Vec<Arc<str>>;
    fn title(&self) -> &str;
    fn set_title(&mut self, title: String);

    fn exists(&self, id: &str) -> bool {
        self.model(id).is_some()
    }
}

impl State for Document {
    fn theme(&self) -> &Arc<Theme> {
        &self.theme
    }
    fn model(&self, id: &str) -> Option<&Model> {
        self.models.get(id).map(|m| &**m)
    }
    fn model_mut(&mut self, id: &Arc<str>) -> Result<&mut Model> {
        Document::model_mut(self, id)
    }
    fn insert(&mut self, id: Arc<str>, mut model: Model) {
        model.stamp = next_stamp();
        self.models.insert(id, Arc::new(model));
    }
    fn remove(&mut self, id: &Arc<str>) {
        self.models.shift_remove(id);
    }
    fn roots_mut(&mut self) -> &mut Vec<Arc<str>> {
        &mut self.roots
    }
    fn title(&self) -> &str {
        &self.title
    }
    fn set_title(&mut self, title: String) {
        self.title = title;
    }
}

/// The state an `apply` validates against: copies of the models the patch changed
/// (None = deleted), roots and title if changed; everything else read from the document.
struct Shadow<'a> {
    doc: &'a Document,
    models: HashMap<Arc<str>, Option<Model>>,
    roots: Option<Vec<Arc<str>>>,
    title: Option<String>,
}

impl State for Shadow<'_> {
    fn theme(&self) -> &Arc<Theme> {
        &self.doc.theme
    }
    fn model(&self, id: &str) -> Option<&Model> {
        match self.models.get(id) {
            Some(m) => m.as_ref(),
            None => self.doc.models.get(id).map(|m| &**m),
        }
    }
    fn model_mut(&mut self, id: &Arc<str>) -> Result<&mut Model> {
        if !self.models.contains_key(id) {
            let m = self.doc.models.get(id).ok_or_else(|| unknown_model(id))?;
            self.models.insert(id.clone(), Some(Model::clone(m)));
        }
        self.models.get_mut(id).and_then(|m| m.as_mut()).ok_or_else(|| unknown_model(id))
    }
    fn insert(&mut self, id: Arc<str>, model: Model) {
        self.models.insert(id, Some(model));
    }
    fn remove(&mut self, id: &Arc<str>) {
        self.models.insert(id.clone(), None);
    }
    fn roots_mut(&mut self) -> &mut Vec<Arc<str>> {
        let doc = self.doc;
        self.roots.get_or_insert_with(|| doc.roots.clone())
    }
    fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.doc.title)
    }
    fn set_title(&mut self, title: String) {
        self.title = Some(title);
    }
}

type Refs = Vec<(Arc<str>, String)>;

fn note_refs(refs: &mut Option<&mut Refs>, from: &str, v: &Value) {
    if let Some(refs) = refs {
        v.for_each_ref(&mut |r| refs.push((Arc::from(r), format!("model {from:?}"))));
    }
}

/// Applies one event to `state`. With `check_only`, a stream or patch is only checked,
/// not performed (nothing later in the patch reads its result).
fn apply_event<S: State>(state: &mut S, event: &Event, client: bool, check_only: bool, mut refs: Option<&mut Refs>) -> Result<Change> {
    let theme = state.theme().clone();
    let change = |kind, id: &Arc<str>, prop: &str, old, new| Change { kind, id: Some(id.clone()), prop: Some(prop.to_string()), old, new, name: None };
    let bare = |kind, id: &Arc<str>| Change { kind, id: Some(id.clone()), prop: None, old: Value::Null, new: Value::Null, name: None };
    let prop_of = |state: &S, id: &Arc<str>, prop: &str| -> Result<(Arc<TypeSchema>, PropSchema)> {
        let model = state.model(id).ok_or_else(|| unknown_model(id))?;
        let p = check_prop(&model.schema, prop, client)?.clone();
        Ok((model.schema.clone(), p))
    };
    if client {
        let structural = match event {
            Event::New { .. } => Some("add models"),
            Event::Del { .. } => Some("remove models"),
            Event::RootAdded { .. } | Event::RootRemoved { .. } => Some("change the roots"),
            Event::Title { .. } => Some("change the title"),
            _ => None,
        };
        if let Some(what) = structural {
            return Err(Error::ReadOnlyProperty(format!(
                "a client may not {what} of a document the server owns (only client-writable properties and messages are accepted)"
            )));
        }
    }
    Ok(match event {
        Event::New { id, type_name, props } => {
            if state.exists(id) {
                return Err(Error::Patch(format!("a model with id {id:?} is already in the document")));
            }
            let schema = schema::lookup(type_name)?;
            // Only trusted patches get here (clients are refused above).
            let props = validate_props(&schema, &theme, props.clone(), false)?;
            for v in props.values() {
                note_refs(&mut refs, id, v);
            }
            state.insert(id.clone(), Model { schema, props, stamp: 0 });
            Change { kind: "new", id: Some(id.clone()), prop: None, old: Value::Null, new: Value::Null, name: Some(type_name.to_string()) }
        }
        Event::Set { id, prop, value } => {
            let (schema, p) = prop_of(state, id, prop)?;
            let value = schema.validate(prop, value.clone())?;
            note_refs(&mut refs, id, &value);
            let old = store(&theme, state.model_mut(id)?, &p, value.clone());
            change("set", id, prop, old, value)
        }
        Event::Data { id, prop, columns, replace } => {
            let (_, p) = prop_of(state, id, prop)?;
            let old = columns_of(&theme, state.model(id).ok_or_else(|| unknown_model(id))?, &p)?;
            let new = if *replace {
                ColumnData::from_map(columns.clone())?
            } else {
                let mut c = old.clone();
                for (name, v) in columns {
                    c.set_column(name, v.clone())?;
                }
                c
            };
            store(&theme, state.model_mut(id)?, &p, Value::Columns(new.clone()));
            change("data", id, prop, Value::Columns(old), Value::Columns(new))
        }
        Event::Stream { id, prop, columns, rollover } => {
            let (_, p) = prop_of(state, id, prop)?;
            let rollover = rollover.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
            if check_only {
                columns_of(&theme, state.model(id).ok_or_else(|| unknown_model(id))?, &p)?.check_stream(columns, rollover)?;
            } else {
                columns_mut(&theme, state.model_mut(id)?, &p)?.stream(columns, rollover)?;
            }
            change("stream", id, prop, Value::Null, Value::Map(columns.clone()))
        }
        Event::Patch { id, prop, patches } => {
            let (_, p) = prop_of(state, id, prop)?;
            if check_only {
                columns_of(&theme, state.model(id).ok_or_else(|| unknown_model(id))?, &p)?.check_patch(patches)?;
            } else {
                columns_mut(&theme, state.model_mut(id)?, &p)?.patch(patches)?;
            }
            change("patch", id, prop, Value::Null, Value::Map(patches.clone()))
        }
        Event::RootAdded { id } => {
            if let Some(refs) = refs.as_mut() {
                refs.push((id.clone(), "the roots".into()));
            }
            let roots = state.roots_mut();
            if !roots.contains(id) {
                roots.push(id.clone());
            }
            bare("root+", id)
        }
        Event::RootRemoved { id } => {
            let roots = state.roots_mut();
            let pos = roots
                .iter()
                .position(|r| r == id)
                .ok_or_else(|| Error::UnknownModel(format!("{id:?} is not a root of the document")))?;
            roots.remove(pos);
            bare("root-", id)
        }
        Event::Title { title } => {
            let old = state.title().to_string();
            state.set_title(title.clone());
            Change { kind: "title", id: None, prop: None, old: Value::str(&old), new: Value::str(title), name: None }
        }
        Event::Del { id } => {
            if !state.exists(id) {
                return Err(unknown_model(id));
            }
            state.remove(id);
            state.roots_mut().retain(|r| r != id);
            bare("del", id)
        }
        Event::Msg { id, name, data } => {
            // The model of a message is not checked: it may have left the document since
            // (the receiver ignores messages for models it does not know).
            Change { kind: "msg", id: id.clone(), prop: None, old: Value::Null, new: data.clone(), name: Some(name.clone()) }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use super::*;
    use crate::value::TypedArray;

    fn setup() {
        schema::register_type(
            "DocTestSlider",
            vec![
                ("value".into(), "float".into(), Value::Float(0.0), true),
                ("title".into(), "str".into(), Value::str(""), false),
            ],
        )
        .unwrap();
        schema::register_type("DocTestCol", vec![("children".into(), "list(ref)".into(), Value::List(vec![]), false)]).unwrap();
        schema::register_type("DocTestSource", vec![("data".into(), "columns".into(), Value::Map(IndexMap::new()), true)]).unwrap();
    }

    fn props(pairs: &[(&str, Value)]) -> IndexMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn cols(x: &[f64]) -> ColumnMap {
        props(&[("x", Value::Array(TypedArray::from_f64(x)))])
    }

    fn sample() -> Document {
        setup();
        let mut d = Document::new();
        d.add_model("s", "DocTestSlider", props(&[("value", Value::Float(1.0))])).unwrap();
        d.add_model("src", "DocTestSource", props(&[("data", Value::Map(cols(&[1.0, 2.0])))])).unwrap();
        d.add_model("c", "DocTestCol", props(&[("children", Value::List(vec![Value::Ref(Arc::from("s")), Value::Ref(Arc::from("src"))]))])).unwrap();
        d.add_root("c").unwrap();
        d
    }

    #[test]
    fn defaults_are_not_stored_and_get_returns_them() {
        let mut d = sample();
        assert_eq!(d.get("s", "title").unwrap(), Value::str(""));
        assert_eq!(d.set("s", "value", Value::Float(0.0)).unwrap(), Value::Float(1.0));
        assert!(d.props("s").unwrap().is_empty());
        assert!(matches!(d.get("s", "nope"), Err(Error::UnknownProperty(_))));
        assert!(matches!(d.get("zz", "value"), Err(Error::UnknownModel(_))));
    }

    #[test]
    fn flush_coalesces_sets_and_absorbs_into_new() {
        let mut d = sample();
        let p = d.flush().unwrap();
        // Everything was created in this flush: only `new`s and the root.
        assert!(p.events().iter().all(|e| matches!(e, Event::New { .. } | Event::RootAdded { .. })));
        d.set("s", "value", Value::Float(2.0)).unwrap();
        d.set("s", "value", Value::Float(3.0)).unwrap();
        d.set_title("a");
        d.set_title("b");
        let p = d.flush().unwrap();
        assert_eq!(
            p.events(),
            &[
                Event::Set { id: Arc::from("s"), prop: "value".into(), value: Value::Float(3.0) },
                Event::Title { title: "b".into() }
            ]
        );
        assert!(d.flush().is_none());
    }

    fn into_uninit(n: usize) -> Vec<MaybeUninit<u8>> {
        vec![MaybeUninit::new(0xAA); n]
    }

    fn init_bytes(v: &[MaybeUninit<u8>]) -> Vec<u8> {
        // SAFETY: test buffers are created initialised (`into_uninit`).
        v.iter().map(|b| unsafe { b.assume_init() }).collect()
    }

    #[test]
    fn snapshots_and_patches_written_into_slices_match_the_vec_encoders() {
        let mut d = sample();
        let p = d.flush().unwrap();
        d.stream("src", "data", cols(&[3.0, 4.0, 5.0]), None).unwrap();
        let s = d.flush().unwrap();
        let snap = d.snapshot().unwrap();
        assert_eq!(d.snapshot_len().unwrap(), snap.len());
        let mut out = into_uninit(snap.len());
        d.snapshot_to_slice(&mut out).unwrap();
        assert_eq!(init_bytes(&out), snap);
        let msg = d.snapshot_message(7).unwrap();
        assert_eq!(d.snapshot_message_len(7).unwrap(), msg.len());
        let mut out = into_uninit(msg.len());
        d.snapshot_message_to_slice(7, &mut out).unwrap();
        assert_eq!(init_bytes(&out), msg);
        assert!(d.snapshot_message_to_slice(7, &mut into_uninit(msg.len() - 1)).is_err());
        assert!(d.snapshot_to_slice(&mut into_uninit(snap.len() + 1)).is_err());
        for patch in [p, s] {
            let m = patch.to_message(3).unwrap();
            assert_eq!(patch.message_len(3).unwrap(), m.len());
            let mut out = into_uninit(m.len());
            patch.message_to_slice(3, &mut out).unwrap();
            assert_eq!(init_bytes(&out), m);
            // uncached, then cached payloads
            for _ in 0..2 {
                let n = patch.encoded_len().unwrap();
                let mut out = into_uninit(n);
                patch.encode_to_slice(&mut out).unwrap();
                assert_eq!(init_bytes(&out), &*patch.encode().unwrap());
                assert!(patch.encode_to_slice(&mut into_uninit(n + 1)).is_err());
            }
        }
    }

    #[test]
    fn consecutive_streams_merge_and_trim() {
        let mut d = sample();
        d.flush();
        d.stream("src", "data", cols(&[3.0]), None).unwrap();
        d.stream("src", "data", cols(&[4.0, 5.0]), Some(3)).unwrap();
        d.stream("src", "data", cols(&[6.0, 7.0]), Some(3)).unwrap();
        let p = d.flush().unwrap();
        assert_eq!(p.len(), 1);
        let Event::Stream { columns, rollover, .. } = &p.events()[0] else { panic!("{p:?}") };
        assert_eq!(*rollover, Some(3));
        assert_eq!(columns["x"], Value::Array(TypedArray::from_f64(&[5.0, 6.0, 7.0])));
        assert_eq!(d.get_column("src", "data", "x").unwrap(), Value::Array(TypedArray::from_f64(&[5.0, 6.0, 7.0])));
    }

    #[test]
    fn coalesced_patch_equals_events_one_by_one() {
        let base = sample();
        let mut a = base.copy();
        a.flush();
        let mut one_by_one = a.copy();
        let mut all_at_once = a.copy();
        let mut patches = Vec::new();
        let ops: Vec<Box<dyn Fn(&mut Document)>> = vec![
            Box::new(|d| {
                d.set("s", "value", Value::Float(5.0)).unwrap();
            }),
            Box::new(|d| d.stream("src", "data", cols(&[3.0]), None).unwrap()),
            Box::new(|d| d.stream("src", "data", cols(&[4.0]), Some(2)).unwrap()),
            Box::new(|d| {
                let mut p = IndexMap::new();
                p.insert("x".to_string(), Value::List(vec![Value::List(vec![Value::Int(0), Value::Float(9.0)])]));
                d.patch_columns("src", "data", p).unwrap()
            }),
            Box::new(|d| d.add_model("s2", "DocTestSlider", IndexMap::new()).unwrap()),
            Box::new(|d| {
                d.set("s2", "title", Value::str("t")).unwrap();
            }),
            Box::new(|d| d.add_root("s2").unwrap()),
            Box::new(|d| {
                d.set("c", "children", Value::List(vec![Value::Ref(Arc::from("src"))])).unwrap();
                d.collect();
            }),
            Box::new(|d| {
                d.remove_root("s2").unwrap();
            }),
        ];
        for op in &ops {
            op(&mut a);
            patches.push(a.flush());
        }
        for p in patches.into_iter().flatten() {
            one_by_one.apply(&p, false).unwrap();
        }
        let mut b = base.copy();
        b.flush();
        for op in &ops {
            op(&mut b);
        }
        let coalesced = b.flush().unwrap();
        all_at_once.apply(&coalesced, false).unwrap();
        assert_eq!(one_by_one, a);
        assert_eq!(all_at_once, b);
        assert_eq!(one_by_one, all_at_once);
        // decode(encode(p)) == p
        let bytes = coalesced.encode().unwrap();
        assert_eq!(Patch::decode(&bytes, Limits::default()).unwrap(), coalesced);
    }

    #[test]
    fn apply_is_atomic() {
        let mut d = sample();
        d.flush();
        let before = d.clone();
        let bad = [
            Event::Set { id: Arc::from("nope"), prop: "value".into(), value: Value::Float(1.0) },
            Event::Set { id: Arc::from("s"), prop: "nope".into(), value: Value::Float(1.0) },
            Event::Set { id: Arc::from("s"), prop: "value".into(), value: Value::str("x") },
            Event::Set { id: Arc::from("c"), prop: "children".into(), value: Value::List(vec![Value::Ref(Arc::from("ghost"))]) },
            Event::Stream { id: Arc::from("src"), prop: "data".into(), columns: props(&[("y", Value::List(vec![]))]), rollover: None },
        ];
        for e in bad {
            let p = Patch::from_events(vec![Event::Set { id: Arc::from("s"), prop: "value".into(), value: Value::Float(7.0) }, e]);
            assert!(d.apply(&p, false).is_err());
            assert_eq!(d, before);
            assert_eq!(d.get("s", "value").unwrap(), Value::Float(1.0));
        }
        let ro = Patch::from_events(vec![Event::Set { id: Arc::from("s"), prop: "title".into(), value: Value::str("x") }]);
        assert!(matches!(d.apply(&ro, true), Err(Error::ReadOnlyProperty(_))));
        assert!(d.apply(&ro, false).is_ok());
        assert!(!d.has_pending());
    }

    #[test]
    fn new_events_may_refer_to_each_other_in_any_order() {
        let mut d = sample();
        d.flush();
        let p = Patch::from_events(vec![
            Event::New { id: Arc::from("c2"), type_name: Arc::from("DocTestCol"), props: props(&[("children", Value::List(vec![Value::Ref(Arc::from("s3"))]))]) },
            Event::New { id: Arc::from("s3"), type_name: Arc::from("DocTestSlider"), props: IndexMap::new() },
            Event::RootAdded { id: Arc::from("c2") },
        ]);
        let changes = d.apply(&p, false).unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(d.roots().len(), 2);
    }

    #[test]
    fn remove_root_releases_and_snapshot_round_trips() {
        let mut d = sample();
        d.flush();
        let snap = d.snapshot().unwrap();
        let d2 = Document::from_snapshot(&snap, Limits::default()).unwrap();
        assert_eq!(d, d2);
        let mut released = d.remove_root("c").unwrap();
        released.sort();
        assert_eq!(released, vec!["c", "s", "src"]);
        assert_eq!(d.take_model("s").unwrap().0, "DocTestSlider");
        let p = d.flush().unwrap();
        assert_eq!(p.events().iter().filter(|e| matches!(e, Event::Del { .. })).count(), 3);
    }

    #[test]
    fn diff_finds_streams_and_single_sets() {
        let mut a = sample();
        a.flush();
        let mut b = a.copy();
        b.set("s", "value", Value::Float(9.0)).unwrap();
        b.stream("src", "data", cols(&[3.0, 4.0]), None).unwrap();
        let p = crate::diff::diff_documents(&a, &b);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.events().iter().any(|e| matches!(e, Event::Stream { .. })));
        let mut c = a.copy();
        c.apply(&p, false).unwrap();
        assert_eq!(c, b);
    }
}
