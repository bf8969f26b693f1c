//! Model type schemas: property names, type specs, defaults, client-writable flags.
//!
//! Python's model layer registers every model class once with [`register_type`]; the
//! engine validates every change against it, from Python and from clients alike.
//!
//! Type specs are strings (grammar in `python/docsync/_core.pyi`):
//! `any | bool | int | float | str | bytes | color | ref | ref(TypeName) | columns | array
//! | list(T) | map(T) | nullable(T) | enum(a|b|c) | either(T|U) | tuple(T,U,...)`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use indexmap::IndexMap;

use crate::columns::ColumnData;
use crate::error::{Error, Result};
use crate::value::Value;

/// A parsed type spec.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeSpec {
    Any,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    Color,
    /// A model reference, optionally naming the expected type. The engine does not know
    /// the Python class hierarchy, so the type name is documentation: any model fits.
    Ref(Option<String>),
    Columns,
    Array,
    List(Box<TypeSpec>),
    Map(Box<TypeSpec>),
    Nullable(Box<TypeSpec>),
    Enum(Vec<String>),
    Either(Vec<TypeSpec>),
    Tuple(Vec<TypeSpec>),
}

impl TypeSpec {
    /// Parses a type spec string.
    ///
    /// # Errors
    /// [`Error::Schema`] naming the position and what was expected.
    pub fn parse(text: &str) -> Result<TypeSpec> {
        let mut p = Parser { s: text.as_bytes(), i: 0, text };
        let spec = p.spec()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("end of spec"));
        }
        Ok(spec)
    }

    /// Whether `value` fits this spec. `None` = fits; `Some(reason)` otherwise.
    pub fn check(&self, value: &Value) -> bool {
        match (self, value) {
            (TypeSpec::Any, _) => true,
            (TypeSpec::Bool, Value::Bool(_)) => true,
            (TypeSpec::Int, Value::Int(_)) => true,
            (TypeSpec::Float, Value::Float(_) | Value::Int(_)) => true,
            (TypeSpec::Str, Value::Str(_)) => true,
            (TypeSpec::Bytes, Value::Bytes(_)) => true,
            (TypeSpec::Color, Value::Str(_)) => true,
            (TypeSpec::Color, Value::List(items)) => {
                (3..=4).contains(&items.len()) && items.iter().all(|v| matches!(v, Value::Int(_) | Value::Float(_)))
            }
            (TypeSpec::Ref(_), Value::Ref(_)) => true,
            (TypeSpec::Columns, Value::Columns(_)) => true,
            (TypeSpec::Columns, Value::Map(m)) => ColumnData::from_map(m.clone()).is_ok(),
            (TypeSpec::Array, Value::Array(_) | Value::List(_)) => true,
            (TypeSpec::List(t), Value::List(items)) => items.iter().all(|v| t.check(v)),
            (TypeSpec::Map(t), Value::Map(m)) => m.values().all(|v| t.check(v)),
            (TypeSpec::Nullable(_), Value::Null) => true,
            (TypeSpec::Nullable(t), v) => t.check(v),
            (TypeSpec::Enum(names), Value::Str(s)) => names.iter().any(|n| n.as_str() == &**s),
            (TypeSpec::Either(ts), v) => ts.iter().any(|t| t.check(v)),
            (TypeSpec::Tuple(ts), Value::List(items)) => {
                ts.len() == items.len() && ts.iter().zip(items).all(|(t, v)| t.check(v))
            }
            _ => false,
        }
    }

    /// Whether this spec holds column data (the prop is a `columns` prop).
    pub fn is_columns(&self) -> bool {
        matches!(self, TypeSpec::Columns)
    }
}

impl std::fmt::Display for TypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn join(f: &mut std::fmt::Formatter<'_>, ts: &[TypeSpec], sep: &str) -> std::fmt::Result {
            for (i, t) in ts.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{t}")?;
            }
            Ok(())
        }
        match self {
            TypeSpec::Any => f.write_str("any"),
            TypeSpec::Bool => f.write_str("bool"),
            TypeSpec::Int => f.write_str("int"),
            TypeSpec::Float => f.write_str("float"),
            TypeSpec::Str => f.write_str("str"),
            TypeSpec::Bytes => f.write_str("bytes"),
            TypeSpec::Color => f.write_str("color"),
            TypeSpec::Ref(None) => f.write_str("ref"),
            TypeSpec::Ref(Some(t)) => write!(f, "ref({t})"),
            TypeSpec::Columns => f.write_str("columns"),
            TypeSpec::Array => f.write_str("array"),
            TypeSpec::List(t) => write!(f, "list({t})"),
            TypeSpec::Map(t) => write!(f, "map({t})"),
            TypeSpec::Nullable(t) => write!(f, "nullable({t})"),
            TypeSpec::Enum(names) => write!(f, "enum({})", names.join("|")),
            TypeSpec::Either(ts) => {
                f.write_str("either(")?;
                join(f, ts, "|")?;
                f.write_str(")")
            }
            TypeSpec::Tuple(ts) => {
                f.write_str("tuple(")?;
                join(f, ts, ",")?;
                f.write_str(")")
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn err(&self, expected: &str) -> Error {
        Error::Schema(format!("bad type spec {:?}: expected {expected} at position {}", self.text, self.i))
    }

    fn word(&mut self) -> &str {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || matches!(self.s[self.i], b'_' | b'.' | b'-')) {
            self.i += 1;
        }
        // Only ASCII bytes were consumed, so this is a char boundary.
        &self.text[start..self.i]
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.i < self.s.len() && self.s[self.i] == c {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("'{}'", c as char)))
        }
    }

    fn list(&mut self, sep: u8) -> Result<Vec<TypeSpec>> {
        let mut out = vec![self.spec()?];
        while self.eat(sep) {
            out.push(self.spec()?);
        }
        self.expect(b')')?;
        Ok(out)
    }

    fn spec(&mut self) -> Result<TypeSpec> {
        let start = self.i;
        let word = self.word().to_string();
        let spec = match word.as_str() {
            "any" => TypeSpec::Any,
            "bool" => TypeSpec::Bool,
            "int" => TypeSpec::Int,
            "float" => TypeSpec::Float,
            "str" => TypeSpec::Str,
            "bytes" => TypeSpec::Bytes,
            "color" => TypeSpec::Color,
            "columns" => TypeSpec::Columns,
            "array" => TypeSpec::Array,
            "ref" => {
                if self.eat(b'(') {
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.err("a type name"));
                    }
                    self.expect(b')')?;
                    TypeSpec::Ref(Some(name))
                } else {
                    TypeSpec::Ref(None)
                }
            }
            "list" | "map" | "nullable" => {
                self.expect(b'(')?;
                let inner = Box::new(self.spec()?);
                self.expect(b')')?;
                match word.as_str() {
                    "list" => TypeSpec::List(inner),
                    "map" => TypeSpec::Map(inner),
                    _ => TypeSpec::Nullable(inner),
                }
            }
            "enum" => {
                self.expect(b'(')?;
                let mut names = Vec::new();
                loop {
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.err("an enum value"));
                    }
                    names.push(name);
                    if !self.eat(b'|') {
                        break;
                    }
                }
                self.expect(b')')?;
                TypeSpec::Enum(names)
            }
            "either" => {
                self.expect(b'(')?;
                TypeSpec::Either(self.list(b'|')?)
            }
            "tuple" => {
                self.expect(b'(')?;
                TypeSpec::Tuple(self.list(b',')?)
            }
            _ => {
                self.i = start;
                self.ws();
                return Err(self.err(
                    "one of any, bool, int, float, str, bytes, color, ref, columns, array, list(T), map(T), nullable(T), enum(..), either(..), tuple(..)",
                ));
            }
        };
        Ok(spec)
    }
}

/// One property of a model type.
#[derive(Clone, Debug)]
pub struct PropSchema {
    pub name: String,
    pub spec: TypeSpec,
    pub default: Value,
    pub client_writable: bool,
}

/// A registered model type.
#[derive(Debug)]
pub struct TypeSchema {
    pub name: Arc<str>,
    pub props: IndexMap<String, PropSchema>,
}

/// A short, bounded rendering of a value for error messages (`str 'abc'`, `int 3`).
pub fn describe(value: &Value) -> String {
    let mut s = String::new();
    match value {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => s.push_str(if *b { "bool True" } else { "bool False" }),
        Value::Int(i) => {
            let _ = write!(s, "int {i}");
        }
        Value::Float(x) => {
            let _ = write!(s, "float {x}");
        }
        Value::Str(t) => {
            let shown: String = t.chars().take(40).collect();
            let ell = if t.chars().count() > 40 { "..." } else { "" };
            let _ = write!(s, "str '{shown}{ell}'");
        }
        Value::Bytes(b) => {
            let _ = write!(s, "bytes of length {}", b.len());
        }
        Value::List(items) => {
            let _ = write!(s, "list of length {}", items.len());
        }
        Value::Map(m) => {
            let keys: Vec<&str> = m.keys().take(5).map(|k| k.as_str()).collect();
            let _ = write!(s, "map with keys {keys:?}");
        }
        Value::Ref(id) => {
            let _ = write!(s, "ref {id:?}");
        }
        Value::Array(a) => {
            let _ = write!(s, "{} array of shape {:?}", a.dtype.numpy_name(), a.shape);
        }
        Value::Columns(c) => {
            let _ = write!(s, "columns {:?}", c.names());
        }
    }
    s
}

impl TypeSchema {
    /// The property's schema.
    ///
    /// # Errors
    /// [`Error::UnknownProperty`] listing the type's properties.
    pub fn prop(&self, prop: &str) -> Result<&PropSchema> {
        self.props.get(prop).ok_or_else(|| {
            let mut known: Vec<&str> = self.props.keys().map(|k| k.as_str()).collect();
            known.sort_unstable();
            Error::UnknownProperty(format!(
                "{} has no property {prop:?} (its properties: {})",
                self.name,
                known.join(", ")
            ))
        })
    }

    /// Validates `value` for `prop` and returns it in stored form (`columns` maps become
    /// [`Value::Columns`]).
    ///
    /// # Errors
    /// [`Error::UnknownProperty`], [`Error::Validation`] ("Slider.value expects float, got
    /// str 'abc'"), or [`Error::Column`] for column data of unequal lengths.
    pub fn validate(&self, prop: &str, value: Value) -> Result<Value> {
        let schema = self.prop(prop)?;
        validate_spec(&self.name, schema, value)
    }
}

/// As [`TypeSchema::validate`], for a prop already looked up.
///
/// # Errors
/// As [`TypeSchema::validate`].
pub fn validate_prop(type_name: &str, prop: &PropSchema, value: Value) -> Result<Value> {
    validate_spec(type_name, prop, value)
}

fn validate_spec(type_name: &str, schema: &PropSchema, value: Value) -> Result<Value> {
    if schema.spec.is_columns() {
        return match value {
            Value::Columns(_) => Ok(value),
            Value::Map(m) => ColumnData::from_map(m).map(Value::Columns).map_err(|e| match e {
                Error::Column(msg) => Error::Column(format!("{type_name}.{}: {msg}", schema.name)),
                other => other,
            }),
            other => Err(Error::Validation(format!(
                "{type_name}.{} expects columns (a map of column name to array or list), got {}",
                schema.name,
                describe(&other)
            ))),
        };
    }
    if schema.spec.check(&value) {
        Ok(value)
    } else {
        Err(Error::Validation(format!(
            "{type_name}.{} expects {}, got {}",
            schema.name,
            schema.spec,
            describe(&value)
        )))
    }
}

fn registry() -> &'static RwLock<HashMap<String, Arc<TypeSchema>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Arc<TypeSchema>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Registers (or replaces) a model type: `(prop name, type spec, default, client_writable)`.
/// Documents that already hold models of a replaced type keep the schema they had.
///
/// # Errors
/// [`Error::Schema`] for an empty name, a bad type spec, a duplicated property, or a
/// default that does not fit its spec.
pub fn register_type(name: &str, props: Vec<(String, String, Value, bool)>) -> Result<Arc<TypeSchema>> {
    if name.is_empty() {
        return Err(Error::Schema("a model type needs a non-empty name".into()));
    }
    let mut map = IndexMap::with_capacity(props.len());
    for (prop, spec_text, default, client_writable) in props {
        let spec = TypeSpec::parse(&spec_text).map_err(|e| Error::Schema(format!("{name}.{prop}: {}", e.message())))?;
        let mut schema = PropSchema { name: prop.clone(), spec, default: Value::Null, client_writable };
        schema.default = validate_spec(name, &schema, default)
            .map_err(|e| Error::Schema(format!("default of {}", e.message())))?;
        if map.insert(prop.clone(), schema).is_some() {
            return Err(Error::Schema(format!("{name}.{prop} is declared twice")));
        }
    }
    let schema = Arc::new(TypeSchema { name: Arc::from(name), props: map });
    registry().write().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), schema.clone());
    Ok(schema)
}

/// The registered schema of a type.
///
/// # Errors
/// [`Error::UnknownModel`] for a type that was never registered.
pub fn lookup(name: &str) -> Result<Arc<TypeSchema>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .cloned()
        .ok_or_else(|| Error::UnknownModel(format!("unknown model type {name:?} (register it with register_type first)")))
}

/// Names of every registered type, sorted.
pub fn registered_types() -> Vec<String> {
    let mut names: Vec<String> = registry().read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for text in [
            "any",
            "bool",
            "int",
            "float",
            "str",
            "bytes",
            "color",
            "ref",
            "ref(Plot)",
            "columns",
            "array",
            "list(int)",
            "map(list(float))",
            "nullable(ref(Range))",
            "enum(left|right|center)",
            "either(int|str|list(int))",
            "tuple(float,float,nullable(str))",
        ] {
            let spec = TypeSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(TypeSpec::parse(" list( int ) ").unwrap(), TypeSpec::List(Box::new(TypeSpec::Int)));
    }

    #[test]
    fn rejects_bad_specs() {
        for text in ["", "integer", "list(", "list(int", "list()", "enum()", "tuple(int,)", "int int", "ref()"] {
            let err = TypeSpec::parse(text).unwrap_err();
            assert!(matches!(err, Error::Schema(_)), "{text}: {err}");
        }
    }

    #[test]
    fn validates_with_precise_messages() {
        register_type(
            "SchemaTestSlider",
            vec![
                ("value".into(), "float".into(), Value::Float(0.0), true),
                ("title".into(), "str".into(), Value::str(""), false),
                ("color".into(), "color".into(), Value::str("red"), false),
                ("align".into(), "enum(start|end)".into(), Value::str("start"), false),
            ],
        )
        .unwrap();
        let s = lookup("SchemaTestSlider").unwrap();
        assert_eq!(s.validate("value", Value::Int(3)).unwrap(), Value::Int(3));
        let err = s.validate("value", Value::str("abc")).unwrap_err();
        assert_eq!(err, Error::Validation("SchemaTestSlider.value expects float, got str 'abc'".into()));
        assert!(matches!(s.validate("nope", Value::Null), Err(Error::UnknownProperty(_))));
        assert!(s.validate("color", Value::List(vec![Value::Int(1), Value::Int(2), Value::Float(3.0)])).is_ok());
        assert!(s.validate("color", Value::List(vec![Value::Int(1)])).is_err());
        assert!(s.validate("align", Value::str("end")).is_ok());
        assert!(s.validate("align", Value::str("middle")).is_err());
    }

    #[test]
    fn checks_defaults_at_registration() {
        let err = register_type("SchemaTestBad", vec![("n".into(), "int".into(), Value::str("x"), false)]).unwrap_err();
        assert!(matches!(err, Error::Schema(_)), "{err}");
        let err = register_type("SchemaTestBad", vec![("n".into(), "intt".into(), Value::Int(1), false)]).unwrap_err();
        assert!(matches!(err, Error::Schema(_)), "{err}");
        assert!(lookup("SchemaTestBad").is_err());
    }
}
