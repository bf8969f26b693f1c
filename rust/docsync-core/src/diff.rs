//! Diff: the smallest patch between two documents, keyed by model id, and plain-tree
//! diff with RFC 6902 (JSON Patch) conversion.
//!
//! Document diff skips unchanged models without looking at their props: two documents
//! that share a model (after [`Document::copy`]) hold the same `Arc`, and every mutation
//! gives a model a fresh stamp, so `ptr_eq || stamp ==` means "unchanged". Only models
//! that changed cost more than a pointer comparison.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::columns::ColumnData;
use crate::document::{Document, Model};
use crate::event::{ColumnMap, Event};
use crate::patch::Patch;
use crate::value::{TypedArray, Value};

/// The smallest patch `p` with `apply(a, p) == b`: only changed props, only changed
/// columns, and columns that only grew at their end as one `stream`.
pub fn diff_documents(a: &Document, b: &Document) -> Patch {
    let mut events = Vec::new();
    let mut dels = Vec::new();
    // Copies keep their models in the same order, so look at the same position first:
    // no hashing for the (many) unchanged models.
    let mut aligned = a.models().len() == b.models().len();
    for (i, (id, mb)) in b.models().iter().enumerate() {
        let ma = match a.models().get_index(i) {
            Some((ida, ma)) if Arc::ptr_eq(ida, id) || ida == id => Some(ma),
            _ => {
                aligned = false;
                a.models().get(id)
            }
        };
        match ma {
            None => events.push(new_event(id, mb)),
            Some(ma) if Arc::ptr_eq(ma, mb) || ma.stamp == mb.stamp => {}
            Some(ma) if ma.schema.name != mb.schema.name => {
                // Same id, another type: drop the old model, then create the new one.
                events.push(Event::Del { id: id.clone() });
                events.push(new_event(id, mb));
            }
            Some(ma) => diff_model(id, ma, mb, b, &mut events),
        }
    }
    if !aligned {
        for id in a.models().keys() {
            if !b.models().contains_key(id) {
                dels.push(Event::Del { id: id.clone() });
            }
        }
    }
    if a.roots() != b.roots() {
        let common = a.roots().iter().zip(b.roots()).take_while(|(x, y)| x == y).count();
        for r in &a.roots()[common..] {
            if b.models().contains_key(r) {
                events.push(Event::RootRemoved { id: r.clone() });
            }
        }
        for r in &b.roots()[common..] {
            events.push(Event::RootAdded { id: r.clone() });
        }
    }
    if a.title() != b.title() {
        events.push(Event::Title { title: b.title().to_string() });
    }
    events.extend(dels);
    Patch::from_events(events)
}

fn new_event(id: &Arc<str>, m: &Model) -> Event {
    Event::New { id: id.clone(), type_name: m.schema.name.clone(), props: crate::document::wire_props(&m.props) }
}

fn diff_model(id: &Arc<str>, ma: &Model, mb: &Model, b: &Document, events: &mut Vec<Event>) {
    // Unchanged models usually keep their props in the same order: compare in step,
    // without hashing a single key.
    if ma.props.len() == mb.props.len() && ma.props.iter().zip(mb.props.iter()).all(|(x, y)| x == y) {
        return;
    }
    // Props set in b (changed or new), in b's order.
    for (prop, vb) in &mb.props {
        let va = ma.props.get(prop);
        if va == Some(vb) {
            continue;
        }
        if let (Some(Value::Columns(ca)), Value::Columns(cb)) = (va, vb) {
            events.push(diff_columns(id, prop, ca, cb));
            continue;
        }
        events.push(set_or_data(id, prop, vb.clone()));
    }
    // Props that went back to their default in b.
    for prop in ma.props.keys() {
        if !mb.props.contains_key(prop) {
            let default = mb
                .schema
                .props
                .get(prop)
                .map(|p| b.theme().get(&*mb.schema.name).and_then(|t| t.get(prop)).unwrap_or(&p.default).clone())
                .unwrap_or(Value::Null);
            events.push(set_or_data(id, prop, default));
        }
    }
}

fn set_or_data(id: &Arc<str>, prop: &str, value: Value) -> Event {
    match value {
        Value::Columns(c) => Event::Data { id: id.clone(), prop: prop.to_string(), columns: c.to_map(), replace: true },
        value => Event::Set { id: id.clone(), prop: prop.to_string(), value },
    }
}

/// `stream` when every column only grew at its end by the same number of rows; `data`
/// with only the changed columns when the names and length are the same; else the whole
/// data.
pub(crate) fn diff_columns(id: &Arc<str>, prop: &str, a: &ColumnData, b: &ColumnData) -> Event {
    let (an, bn) = (a.names(), b.names());
    let same_names = an.len() == bn.len() && bn.iter().all(|n| an.contains(n));
    if same_names {
        let (la, lb) = (a.len(), b.len());
        if lb > la {
            let mut rows = ColumnMap::with_capacity(bn.len());
            let mut grew = true;
            for name in &bn {
                match (a.get(name), b.get(name)) {
                    (Some(ca), Some(cb)) => match tail_if_prefix(&ca, &cb) {
                        Some(tail) => {
                            rows.insert(name.to_string(), tail);
                        }
                        None => {
                            grew = false;
                            break;
                        }
                    },
                    _ => {
                        grew = false;
                        break;
                    }
                }
            }
            if grew {
                return Event::Stream { id: id.clone(), prop: prop.to_string(), columns: rows, rollover: None };
            }
        } else if la == lb {
            let mut changed = ColumnMap::new();
            for name in &bn {
                let cb = b.get(name);
                if a.get(name) != cb {
                    changed.insert(name.to_string(), cb.unwrap_or(Value::Null));
                }
            }
            return Event::Data { id: id.clone(), prop: prop.to_string(), columns: changed, replace: false };
        }
    }
    Event::Data { id: id.clone(), prop: prop.to_string(), columns: b.to_map(), replace: true }
}

/// The rows of `b` after `a`, if `a` is a prefix of `b`.
fn tail_if_prefix(a: &Value, b: &Value) -> Option<Value> {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            if x.dtype != y.dtype || x.shape.get(1..) != y.shape.get(1..) || x.shape.is_empty() || y.len() < x.len() {
                return None;
            }
            let n = x.data.len();
            let same_memory = x.data.as_ptr() == y.data.as_ptr();
            if !same_memory && y.data.as_slice()[..n] != *x.data.as_slice() {
                return None;
            }
            let mut shape = y.shape.clone();
            shape[0] = y.len() - x.len();
            Some(Value::Array(TypedArray { dtype: y.dtype, shape, data: y.data.slice(n, y.data.len()) }))
        }
        (Value::List(x), Value::List(y)) => {
            if y.len() < x.len() || y[..x.len()] != x[..] {
                return None;
            }
            Some(Value::List(y[x.len()..].to_vec()))
        }
        _ => None,
    }
}

/// Diff of plain trees (maps, lists, scalars, arrays): see [`tree`].
pub use tree::{apply_tree, diff_tree};

pub mod tree {
    //! Plain-tree diff. A tree patch is a list of operations on paths, in RFC 6902's
    //! model (`add`, `remove`, `replace`), carried by `set` events whose `id` is the
    //! JSON Pointer of the target and whose `prop` is the operation.
    use super::*;
    use crate::error::{Error, Result};

    /// One tree operation (RFC 6902).
    #[derive(Clone, Debug, PartialEq)]
    pub enum Op {
        Add(Vec<String>, Value),
        Remove(Vec<String>),
        Replace(Vec<String>, Value),
        /// Move the value at `from` (second) to `path` (first).
        Move(Vec<String>, Vec<String>),
        /// Copy the value at `from` (second) to `path` (first).
        Copy(Vec<String>, Vec<String>),
        /// Fail unless the value at `path` equals this.
        Test(Vec<String>, Value),
    }

    impl Op {
        fn name(&self) -> &'static str {
            match self {
                Op::Add(..) => "add",
                Op::Remove(..) => "remove",
                Op::Replace(..) => "replace",
                Op::Move(..) => "move",
                Op::Copy(..) => "copy",
                Op::Test(..) => "test",
            }
        }

        fn path(&self) -> &[String] {
            match self {
                Op::Add(p, _) | Op::Remove(p) | Op::Replace(p, _) | Op::Move(p, _) | Op::Copy(p, _) | Op::Test(p, _) => p,
            }
        }

        /// The op's `value` (for add/replace/test) or `from` pointer (move/copy) as the
        /// value of its carrier event.
        fn payload(&self) -> Value {
            match self {
                Op::Add(_, v) | Op::Replace(_, v) | Op::Test(_, v) => v.clone(),
                Op::Move(_, from) | Op::Copy(_, from) => Value::str(&pointer(from)),
                Op::Remove(_) => Value::Null,
            }
        }

        fn from_parts(name: &str, path: Vec<String>, payload: Option<Value>) -> Result<Op> {
            let need = |v: Option<Value>| v.ok_or_else(|| Error::Patch(format!("{name:?} operation needs a \"value\"")));
            let from = |v: Option<Value>| match v {
                Some(Value::Str(s)) => parse_pointer(&s),
                _ => Err(Error::Patch(format!("{name:?} operation needs a str \"from\""))),
            };
            Ok(match name {
                "add" => Op::Add(path, need(payload)?),
                "remove" => Op::Remove(path),
                "replace" => Op::Replace(path, need(payload)?),
                "move" => Op::Move(path, from(payload)?),
                "copy" => Op::Copy(path, from(payload)?),
                "test" => Op::Test(path, need(payload)?),
                other => return Err(Error::Patch(format!("unknown JSON Patch operation {other:?}"))),
            })
        }
    }

    /// RFC 6901 pointer of a path.
    pub fn pointer(path: &[String]) -> String {
        let mut s = String::new();
        for p in path {
            s.push('/');
            s.push_str(&p.replace('~', "~0").replace('/', "~1"));
        }
        s
    }

    /// Path of an RFC 6901 pointer.
    ///
    /// # Errors
    /// [`Error::Patch`] for a pointer that does not start with `/` (or is not empty).
    pub fn parse_pointer(ptr: &str) -> Result<Vec<String>> {
        if ptr.is_empty() {
            return Ok(Vec::new());
        }
        let Some(rest) = ptr.strip_prefix('/') else {
            return Err(Error::Patch(format!("a JSON pointer must start with '/', got {ptr:?}")));
        };
        Ok(rest.split('/').map(|p| p.replace("~1", "/").replace("~0", "~")).collect())
    }

    /// Operations turning `a` into `b`.
    pub fn diff_ops(a: &Value, b: &Value) -> Vec<Op> {
        let mut ops = Vec::new();
        let mut path = Vec::new();
        walk(a, b, &mut path, &mut ops);
        ops
    }

    fn walk(a: &Value, b: &Value, path: &mut Vec<String>, ops: &mut Vec<Op>) {
        if a == b {
            return;
        }
        match (a, b) {
            (Value::Map(ma), Value::Map(mb)) => {
                for (k, va) in ma {
                    path.push(k.clone());
                    match mb.get(k) {
                        Some(vb) => walk(va, vb, path, ops),
                        None => ops.push(Op::Remove(path.clone())),
                    }
                    path.pop();
                }
                for (k, vb) in mb {
                    if !ma.contains_key(k) {
                        path.push(k.clone());
                        ops.push(Op::Add(path.clone(), vb.clone()));
                        path.pop();
                    }
                }
            }
            (Value::List(la), Value::List(lb)) => {
                let common = la.len().min(lb.len());
                for i in 0..common {
                    path.push(i.to_string());
                    walk(&la[i], &lb[i], path, ops);
                    path.pop();
                }
                // Remove from the end backwards so indices stay valid.
                for i in (common..la.len()).rev() {
                    path.push(i.to_string());
                    ops.push(Op::Remove(path.clone()));
                    path.pop();
                }
                for (i, v) in lb.iter().enumerate().skip(common) {
                    path.push(i.to_string());
                    ops.push(Op::Add(path.clone(), v.clone()));
                    path.pop();
                }
            }
            _ => ops.push(Op::Replace(path.clone(), b.clone())),
        }
    }

    fn index(seg: &str, len: usize, allow_end: bool) -> Result<usize> {
        if seg == "-" && allow_end {
            return Ok(len);
        }
        let ok = !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()) && (seg == "0" || !seg.starts_with('0'));
        let i: usize = if ok { seg.parse().map_err(|_| Error::Patch(format!("bad list index {seg:?}")))? } else {
            return Err(Error::Patch(format!("bad list index {seg:?}")));
        };
        if i > len || (i == len && !allow_end) {
            return Err(Error::Patch(format!("list index {i} out of range (length {len})")));
        }
        Ok(i)
    }

    fn get<'v>(root: &'v Value, path: &[String]) -> Result<&'v Value> {
        let mut cur = root;
        for seg in path {
            cur = match cur {
                Value::Map(m) => m.get(seg).ok_or_else(|| Error::Patch(format!("path {} does not exist", pointer(path))))?,
                Value::List(l) => &l[index(seg, l.len(), false)?],
                other => return Err(Error::Patch(format!("cannot descend into {} at {}", other.kind(), pointer(path)))),
            };
        }
        Ok(cur)
    }

    fn parent<'v>(root: &'v mut Value, path: &[String]) -> Result<&'v mut Value> {
        let mut cur = root;
        for seg in path {
            cur = match cur {
                Value::Map(m) => m.get_mut(seg).ok_or_else(|| Error::Patch(format!("path {} does not exist", pointer(path))))?,
                Value::List(l) => {
                    let n = l.len();
                    let i = index(seg, n, false)?;
                    &mut l[i]
                }
                other => return Err(Error::Patch(format!("cannot descend into {} at {}", other.kind(), pointer(path)))),
            };
        }
        Ok(cur)
    }

    /// Applies one operation in place.
    ///
    /// # Errors
    /// [`Error::Patch`] for a path that does not exist.
    pub fn apply_op(root: &mut Value, op: &Op) -> Result<()> {
        match op {
            Op::Move(path, from) => {
                if path.len() > from.len() && path[..from.len()] == from[..] {
                    return Err(Error::Patch(format!("cannot move {} into its own child {}", pointer(from), pointer(path))));
                }
                let v = get(root, from)?.clone();
                apply_op(root, &Op::Remove(from.clone()))?;
                return apply_op(root, &Op::Add(path.clone(), v));
            }
            Op::Copy(path, from) => {
                let v = get(root, from)?.clone();
                return apply_op(root, &Op::Add(path.clone(), v));
            }
            Op::Test(path, expected) => {
                let v = get(root, path)?;
                return if v == expected {
                    Ok(())
                } else {
                    Err(Error::Patch(format!("test failed at {}: the value differs", pointer(path))))
                };
            }
            _ => {}
        }
        let path = op.path();
        let value = match op {
            Op::Add(_, v) | Op::Replace(_, v) => Some(v),
            _ => None,
        };
        let Some((last, head)) = path.split_last() else {
            return match op {
                Op::Remove(_) => Err(Error::Patch("cannot remove the whole document".into())),
                _ => {
                    *root = value.cloned().unwrap_or(Value::Null);
                    Ok(())
                }
            };
        };
        let target = parent(root, head)?;
        match (target, op) {
            (Value::Map(m), Op::Add(_, v)) => {
                m.insert(last.clone(), v.clone());
            }
            (Value::Map(m), Op::Replace(_, v)) => {
                let slot = m.get_mut(last).ok_or_else(|| Error::Patch(format!("path {} does not exist", pointer(path))))?;
                *slot = v.clone();
            }
            (Value::Map(m), Op::Remove(_)) => {
                m.shift_remove(last).ok_or_else(|| Error::Patch(format!("path {} does not exist", pointer(path))))?;
            }
            (Value::List(l), Op::Add(_, v)) => {
                let i = index(last, l.len(), true)?;
                l.insert(i, v.clone());
            }
            (Value::List(l), Op::Replace(_, v)) => {
                let i = index(last, l.len(), false)?;
                l[i] = v.clone();
            }
            (Value::List(l), Op::Remove(_)) => {
                let i = index(last, l.len(), false)?;
                l.remove(i);
            }
            (other, _) => return Err(Error::Patch(format!("cannot change a {} at {}", other.kind(), pointer(head)))),
        }
        Ok(())
    }

    /// A tree patch is carried as `set` events: `id` = JSON pointer of the target,
    /// `prop` = operation, `value` = the value (add/replace/test) or the `from` pointer
    /// (move/copy).
    pub fn ops_to_patch(ops: Vec<Op>) -> Patch {
        Patch::from_events(
            ops.into_iter()
                .map(|op| Event::Set { id: Arc::from(pointer(op.path())), prop: op.name().to_string(), value: op.payload() })
                .collect(),
        )
    }

    /// The operations of a tree patch.
    ///
    /// # Errors
    /// [`Error::Patch`] if the patch holds document events.
    pub fn patch_to_ops(patch: &Patch) -> Result<Vec<Op>> {
        patch
            .events()
            .iter()
            .map(|e| match e {
                Event::Set { id, prop, value } => Op::from_parts(prop, parse_pointer(id)?, Some(value.clone())),
                other => Err(Error::Patch(format!("a {:?} event is not a tree operation (this is a document patch)", other.kind()))),
            })
            .collect()
    }

    /// RFC 6902 operations (`{"op", "path", "value" | "from"}` maps).
    ///
    /// # Errors
    /// [`Error::Patch`] if the patch holds document events.
    pub fn to_json_patch(patch: &Patch) -> Result<Vec<Value>> {
        Ok(patch_to_ops(patch)?
            .into_iter()
            .map(|op| {
                let mut m = IndexMap::new();
                m.insert("op".to_string(), Value::str(op.name()));
                m.insert("path".to_string(), Value::str(&pointer(op.path())));
                match &op {
                    Op::Add(..) | Op::Replace(..) | Op::Test(..) => {
                        m.insert("value".to_string(), op.payload());
                    }
                    Op::Move(..) | Op::Copy(..) => {
                        m.insert("from".to_string(), op.payload());
                    }
                    Op::Remove(_) => {}
                }
                Value::Map(m)
            })
            .collect())
    }

    /// A tree patch from RFC 6902 operations (all six: add, remove, replace, move, copy,
    /// test).
    ///
    /// # Errors
    /// [`Error::Patch`] for a malformed operation.
    pub fn from_json_patch(ops: &[Value]) -> Result<Patch> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let Value::Map(m) = op else {
                return Err(Error::Patch(format!("a JSON Patch operation must be a map, got {}", op.kind())));
            };
            let (Some(Value::Str(name)), Some(Value::Str(path))) = (m.get("op"), m.get("path")) else {
                return Err(Error::Patch("a JSON Patch operation needs str \"op\" and \"path\"".into()));
            };
            let payload = match &**name {
                "move" | "copy" => m.get("from").cloned(),
                _ => m.get("value").cloned(),
            };
            out.push(Op::from_parts(name, parse_pointer(path)?, payload)?);
        }
        Ok(ops_to_patch(out))
    }

    /// A tree patch turning `a` into `b`.
    pub fn diff_tree(a: &Value, b: &Value) -> Patch {
        ops_to_patch(diff_ops(a, b))
    }

    /// `a` with a tree patch applied (atomic: `a` itself is not changed).
    ///
    /// # Errors
    /// [`Error::Patch`] for an operation whose path does not exist.
    pub fn apply_tree(a: &Value, patch: &Patch) -> Result<Value> {
        let mut out = a.clone();
        for op in patch_to_ops(patch)? {
            apply_op(&mut out, &op)?;
        }
        Ok(out)
    }
}
