//! pyo3 glue for docsync-core: builds `docsync._core`. Glue only; algorithms live in
//! docsync-core. One file per concern; this file is just the module list.

use pyo3::prelude::*;

pub mod arrays;
pub mod codec;
pub mod convert;
pub mod errors;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", docsync_core::version())?;
    m.add("PROTOCOL_VERSION", docsync_core::PROTOCOL_VERSION)?;
    // codec
    m.add_class::<codec::Ref>()?;
    m.add_class::<codec::Message>()?;
    m.add_class::<arrays::EngineBuffer>()?;
    m.add_function(wrap_pyfunction!(codec::encode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_message, m)?)?;
    Ok(())
}
