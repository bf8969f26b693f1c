//! Events: one change to a document, as recorded at mutation time and as sent in a
//! patch (`docs/protocol.md`, "Patch").

use std::sync::Arc;

use indexmap::IndexMap;

use crate::codec::{Encoder, Sink};
use crate::error::{Error, Result};
use crate::value::Value;

/// Column values inside an event: column name -> typed array or list.
pub type ColumnMap = IndexMap<String, Value>;

/// Index patches of a `patch` event: column name -> list of `[index, value]` lists (the
/// wire shape, which [`crate::columns::ColumnData::patch`] takes as it is).
pub type PatchMap = IndexMap<String, Value>;

/// One change. Field names follow the wire format.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A model joins the document (props: non-default values).
    New { id: Arc<str>, type_name: Arc<str>, props: IndexMap<String, Value> },
    /// ModelChanged.
    Set { id: Arc<str>, prop: String, value: Value },
    /// ColumnDataChanged: `replace` replaces the whole column map, else only these columns.
    Data { id: Arc<str>, prop: String, columns: ColumnMap, replace: bool },
    /// ColumnsStreamed: append rows, then keep the last `rollover`.
    Stream { id: Arc<str>, prop: String, columns: ColumnMap, rollover: Option<u64> },
    /// ColumnsPatched.
    Patch { id: Arc<str>, prop: String, patches: PatchMap },
    RootAdded { id: Arc<str> },
    RootRemoved { id: Arc<str> },
    Title { title: String },
    /// The model left the document.
    Del { id: Arc<str> },
    /// Custom message / UI event.
    Msg { id: Option<Arc<str>>, name: String, data: Value },
}

impl Event {
    /// The wire kind `k`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::New { .. } => "new",
            Event::Set { .. } => "set",
            Event::Data { .. } => "data",
            Event::Stream { .. } => "stream",
            Event::Patch { .. } => "patch",
            Event::RootAdded { .. } => "root+",
            Event::RootRemoved { .. } => "root-",
            Event::Title { .. } => "title",
            Event::Del { .. } => "del",
            Event::Msg { .. } => "msg",
        }
    }

    /// The model this event is about, if any.
    pub fn model_id(&self) -> Option<&Arc<str>> {
        match self {
            Event::New { id, .. }
            | Event::Set { id, .. }
            | Event::Data { id, .. }
            | Event::Stream { id, .. }
            | Event::Patch { id, .. }
            | Event::RootAdded { id }
            | Event::RootRemoved { id }
            | Event::Del { id } => Some(id),
            Event::Msg { id, .. } => id.as_ref(),
            Event::Title { .. } => None,
        }
    }

    /// The protocol event map (`{"k": ..., ...}`).
    pub fn to_value(&self) -> Value {
        let mut m: IndexMap<String, Value> = IndexMap::with_capacity(5);
        m.insert("k".into(), Value::str(self.kind()));
        let id_value = |id: &Arc<str>| Value::Str(id.clone());
        let columns_value = |c: &ColumnMap| Value::Map(c.clone());
        match self {
            Event::New { id, type_name, props } => {
                m.insert("id".into(), id_value(id));
                m.insert("type".into(), Value::Str(type_name.clone()));
                m.insert("props".into(), Value::Map(props.clone()));
            }
            Event::Set { id, prop, value } => {
                m.insert("id".into(), id_value(id));
                m.insert("prop".into(), Value::str(prop));
                m.insert("value".into(), value.clone());
            }
            Event::Data { id, prop, columns, replace } => {
                m.insert("id".into(), id_value(id));
                m.insert("prop".into(), Value::str(prop));
                m.insert("columns".into(), columns_value(columns));
                m.insert("replace".into(), Value::Bool(*replace));
            }
            Event::Stream { id, prop, columns, rollover } => {
                m.insert("id".into(), id_value(id));
                m.insert("prop".into(), Value::str(prop));
                m.insert("columns".into(), columns_value(columns));
                m.insert("rollover".into(), rollover.map_or(Value::Null, |r| Value::Int(r as i64)));
            }
            Event::Patch { id, prop, patches } => {
                m.insert("id".into(), id_value(id));
                m.insert("prop".into(), Value::str(prop));
                m.insert("patches".into(), Value::Map(patches.clone()));
            }
            Event::RootAdded { id } | Event::RootRemoved { id } | Event::Del { id } => {
                m.insert("id".into(), id_value(id));
            }
            Event::Title { title } => {
                m.insert("title".into(), Value::str(title));
            }
            Event::Msg { id, name, data } => {
                m.insert("id".into(), id.as_ref().map_or(Value::Null, id_value));
                m.insert("name".into(), Value::str(name));
                m.insert("data".into(), data.clone());
            }
        }
        Value::Map(m)
    }

    /// Writes the protocol event map straight into `enc` (no intermediate value tree).
    ///
    /// # Errors
    /// [`Error::Encode`] for values the wire format cannot hold.
    pub fn write<S: Sink>(&self, enc: &mut Encoder<S>) -> Result<()> {
        let fields = match self {
            Event::New { .. } | Event::Set { .. } | Event::Patch { .. } | Event::Msg { .. } => 4,
            Event::Data { .. } | Event::Stream { .. } => 5,
            Event::RootAdded { .. } | Event::RootRemoved { .. } | Event::Del { .. } | Event::Title { .. } => 2,
        };
        enc.write_map_header(fields)?;
        enc.write_str("k")?;
        enc.write_str(self.kind())?;
        let head = |enc: &mut Encoder<S>, id: &str, prop: &str| -> Result<()> {
            enc.write_str("id")?;
            enc.write_str(id)?;
            enc.write_str("prop")?;
            enc.write_str(prop)
        };
        let map = |enc: &mut Encoder<S>, m: &IndexMap<String, Value>| -> Result<()> {
            enc.write_map_header(m.len())?;
            for (k, v) in m {
                enc.write_str(k)?;
                enc.write_value(v)?;
            }
            Ok(())
        };
        match self {
            Event::New { id, type_name, props } => {
                enc.write_str("id")?;
                enc.write_str(id)?;
                enc.write_str("type")?;
                enc.write_str(type_name)?;
                enc.write_str("props")?;
                map(enc, props)?;
            }
            Event::Set { id, prop, value } => {
                head(enc, id, prop)?;
                enc.write_str("value")?;
                enc.write_value(value)?;
            }
            Event::Data { id, prop, columns, replace } => {
                head(enc, id, prop)?;
                enc.write_str("columns")?;
                map(enc, columns)?;
                enc.write_str("replace")?;
                enc.write_bool(*replace);
            }
            Event::Stream { id, prop, columns, rollover } => {
                head(enc, id, prop)?;
                enc.write_str("columns")?;
                map(enc, columns)?;
                enc.write_str("rollover")?;
                match rollover {
                    Some(r) => enc.write_int(*r as i64),
                    None => enc.write_nil(),
                }
            }
            Event::Patch { id, prop, patches } => {
                head(enc, id, prop)?;
                enc.write_str("patches")?;
                map(enc, patches)?;
            }
            Event::RootAdded { id } | Event::RootRemoved { id } | Event::Del { id } => {
                enc.write_str("id")?;
                enc.write_str(id)?;
            }
            Event::Title { title } => {
                enc.write_str("title")?;
                enc.write_str(title)?;
            }
            Event::Msg { id, name, data } => {
                enc.write_str("id")?;
                match id {
                    Some(id) => enc.write_str(id)?,
                    None => enc.write_nil(),
                }
                enc.write_str("name")?;
                enc.write_str(name)?;
                enc.write_str("data")?;
                enc.write_value(data)?;
            }
        }
        Ok(())
    }

    /// Reads a protocol event map.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a missing or mistyped field or an unknown kind.
    pub fn from_value(value: &Value) -> Result<Event> {
        let Value::Map(m) = value else {
            return Err(Error::Protocol(format!("an event must be a map, got {}", value.kind())));
        };
        let k = str_field(m, "k", "event")?;
        let ev = |field: &str| format!("{k:?} event field {field:?}");
        let id = || -> Result<Arc<str>> { Ok(Arc::from(str_field(m, "id", k)?)) };
        let prop = || -> Result<String> { Ok(str_field(m, "prop", k)?.to_string()) };
        let columns = || -> Result<ColumnMap> {
            match m.get("columns") {
                Some(Value::Map(c)) => Ok(c.clone()),
                Some(Value::Columns(c)) => Ok(c.to_map()),
                Some(other) => Err(Error::Protocol(format!("{} must be a map, got {}", ev("columns"), other.kind()))),
                None => Err(Error::Protocol(format!("{} is missing", ev("columns")))),
            }
        };
        Ok(match k {
            "new" => {
                let props = match m.get("props") {
                    Some(Value::Map(p)) => p.clone(),
                    None | Some(Value::Null) => IndexMap::new(),
                    Some(other) => return Err(Error::Protocol(format!("{} must be a map, got {}", ev("props"), other.kind()))),
                };
                Event::New { id: id()?, type_name: Arc::from(str_field(m, "type", k)?), props }
            }
            "set" => Event::Set {
                id: id()?,
                prop: prop()?,
                value: m.get("value").cloned().ok_or_else(|| Error::Protocol(format!("{} is missing", ev("value"))))?,
            },
            "data" => {
                let replace = match m.get("replace") {
                    Some(Value::Bool(b)) => *b,
                    None | Some(Value::Null) => true,
                    Some(other) => return Err(Error::Protocol(format!("{} must be a bool, got {}", ev("replace"), other.kind()))),
                };
                Event::Data { id: id()?, prop: prop()?, columns: columns()?, replace }
            }
            "stream" => {
                let rollover = match m.get("rollover") {
                    None | Some(Value::Null) => None,
                    Some(Value::Int(r)) if *r > 0 => Some(*r as u64),
                    Some(Value::Int(r)) => {
                        return Err(Error::Column(format!("rollover must be a positive number of rows, got {r}")))
                    }
                    Some(other) => return Err(Error::Protocol(format!("{} must be an int or nil, got {}", ev("rollover"), other.kind()))),
                };
                Event::Stream { id: id()?, prop: prop()?, columns: columns()?, rollover }
            }
            "patch" => {
                let Some(Value::Map(p)) = m.get("patches") else {
                    return Err(Error::Protocol(format!("{} must be a map", ev("patches"))));
                };
                let mut patches = PatchMap::with_capacity(p.len());
                for (name, list) in p {
                    let Value::List(items) = list else {
                        return Err(Error::Protocol(format!("patches of column {name:?} must be a list of [index, value] pairs")));
                    };
                    for item in items {
                        if !matches!(item, Value::List(pair) if pair.len() == 2) {
                            return Err(Error::Protocol(format!(
                                "patches of column {name:?} must be [index, value] pairs, got {}",
                                item.kind()
                            )));
                        }
                    }
                    patches.insert(name.clone(), list.clone());
                }
                Event::Patch { id: id()?, prop: prop()?, patches }
            }
            "root+" => Event::RootAdded { id: id()? },
            "root-" => Event::RootRemoved { id: id()? },
            "del" => Event::Del { id: id()? },
            "title" => Event::Title { title: str_field(m, "title", k)?.to_string() },
            "msg" => Event::Msg {
                id: match m.get("id") {
                    None | Some(Value::Null) => None,
                    Some(Value::Str(s)) => Some(s.clone()),
                    Some(other) => return Err(Error::Protocol(format!("{} must be a str or nil, got {}", ev("id"), other.kind()))),
                },
                name: str_field(m, "name", k)?.to_string(),
                data: m.get("data").cloned().unwrap_or(Value::Null),
            },
            other => return Err(Error::Protocol(format!("unknown event kind {other:?}"))),
        })
    }
}

fn str_field<'a>(m: &'a IndexMap<String, Value>, field: &str, what: &str) -> Result<&'a str> {
    match m.get(field) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(Error::Protocol(format!("{what:?} event field {field:?} must be a str, got {}", other.kind()))),
        None => Err(Error::Protocol(format!("{what:?} event field {field:?} is missing"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_map() {
        let id: Arc<str> = Arc::from("m1");
        let mut cols = ColumnMap::new();
        cols.insert("x".into(), Value::List(vec![Value::Int(1)]));
        let mut patches = PatchMap::new();
        patches.insert("x".into(), Value::List(vec![Value::List(vec![Value::Int(0), Value::Int(5)])]));
        let events = vec![
            Event::New { id: id.clone(), type_name: Arc::from("T"), props: IndexMap::new() },
            Event::Set { id: id.clone(), prop: "a".into(), value: Value::Float(1.5) },
            Event::Data { id: id.clone(), prop: "data".into(), columns: cols.clone(), replace: false },
            Event::Stream { id: id.clone(), prop: "data".into(), columns: cols, rollover: Some(3) },
            Event::Patch { id: id.clone(), prop: "data".into(), patches },
            Event::RootAdded { id: id.clone() },
            Event::RootRemoved { id: id.clone() },
            Event::Title { title: "t".into() },
            Event::Del { id: id.clone() },
            Event::Msg { id: None, name: "tap".into(), data: Value::Null },
        ];
        for e in events {
            assert_eq!(Event::from_value(&e.to_value()).unwrap(), e);
        }
    }

    #[test]
    fn rejects_malformed_events() {
        assert!(Event::from_value(&Value::Int(1)).is_err());
        let mut m = IndexMap::new();
        m.insert("k".to_string(), Value::str("bogus"));
        assert!(matches!(Event::from_value(&Value::Map(m.clone())), Err(Error::Protocol(_))));
        m.insert("k".to_string(), Value::str("set"));
        assert!(matches!(Event::from_value(&Value::Map(m)), Err(Error::Protocol(_))));
    }
}
