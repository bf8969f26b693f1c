//! pyo3 glue for docsync-core: builds `docsync._core`. Glue only; algorithms live in
//! docsync-core. One file per concern; this file is just the module list.

use pyo3::prelude::*;

pub mod arrays;
pub mod codec;
pub mod convert;
mod document;
pub mod errors;
mod patch;
mod pool;
mod sink;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", docsync_core::version())?;
    m.add("PROTOCOL_VERSION", docsync_core::PROTOCOL_VERSION)?;
    // codec
    m.add_class::<codec::Ref>()?;
    m.add_class::<codec::Message>()?;
    m.add_function(wrap_pyfunction!(codec::encode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_message, m)?)?;
    // document engine
    m.add_class::<document::PyDocument>()?;
    m.add_class::<patch::PyPatch>()?;
    m.add_class::<patch::PyChange>()?;
    m.add_function(wrap_pyfunction!(patch::register_type, m)?)?;
    m.add_function(wrap_pyfunction!(patch::registered_types, m)?)?;
    m.add_function(wrap_pyfunction!(patch::diff, m)?)?;
    m.add_function(wrap_pyfunction!(patch::apply, m)?)?;
    // the server's session pool: scheduling state (threads stay in Python)
    m.add_class::<pool::PoolCore>()?;
    // the sending side of a server WebSocket
    m.add_class::<sink::FrameSink>()?;
    Ok(())
}
