//! Links wasmtime's C API (all its `#[no_mangle] extern "C"` functions) into one
//! static library, `libwasmtime.a`, for eryx's C code to link against.
pub use wasmtime_c_api::*;
