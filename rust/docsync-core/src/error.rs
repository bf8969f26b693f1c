//! The engine's one error type. `docsync-py/src/errors.rs` maps each variant to the
//! Python class of the same name in `docsync.errors`.

use std::fmt;

/// Every failure of the engine. Messages say what was wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Malformed or truncated bytes.
    Decode(String),
    /// A size or nesting-depth limit was exceeded.
    Limit(String),
    /// A value that cannot be represented.
    Encode(String),
    /// A bad type registration.
    Schema(String),
    /// A value of the wrong type for its property.
    Validation(String),
    /// An unknown model id or type.
    UnknownModel(String),
    /// An unknown property name.
    UnknownProperty(String),
    /// A client change to a property that is not client-writable.
    ReadOnlyProperty(String),
    /// Column data that does not fit.
    Column(String),
    /// A patch that cannot be applied for another reason.
    Patch(String),
    /// A message that breaks the wire protocol.
    Protocol(String),
}

impl Error {
    /// The class name in `docsync.errors`.
    pub fn class_name(&self) -> &'static str {
        match self {
            Error::Decode(_) => "DecodeError",
            Error::Limit(_) => "LimitError",
            Error::Encode(_) => "EncodeError",
            Error::Schema(_) => "SchemaError",
            Error::Validation(_) => "ValidationError",
            Error::UnknownModel(_) => "UnknownModelError",
            Error::UnknownProperty(_) => "UnknownPropertyError",
            Error::ReadOnlyProperty(_) => "ReadOnlyPropertyError",
            Error::Column(_) => "ColumnError",
            Error::Patch(_) => "PatchError",
            Error::Protocol(_) => "ProtocolError",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Decode(m)
            | Error::Limit(m)
            | Error::Encode(m)
            | Error::Schema(m)
            | Error::Validation(m)
            | Error::UnknownModel(m)
            | Error::UnknownProperty(m)
            | Error::ReadOnlyProperty(m)
            | Error::Column(m)
            | Error::Patch(m)
            | Error::Protocol(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class_name(), self.message())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
