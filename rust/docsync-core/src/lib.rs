//! docsync-core: the patch engine.
pub fn version() -> &'static str { env!("CARGO_PKG_VERSION") }
