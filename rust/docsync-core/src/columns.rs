//! The column store of a ColumnDataSource. (Being written: see issue 3.)

use indexmap::IndexMap;

use crate::value::{TypedArray, Value};

/// One column: a typed array or a list of values.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Typed(TypedArray),
    List(Vec<Value>),
}

/// A source's data: named columns of equal length.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ColumnData {
    pub(crate) columns: IndexMap<String, Column>,
}
