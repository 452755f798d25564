//! `net._net`: the Python extension module, a thin PyO3 layer over the net-ffi
//! safe facade. It marshals only: behaviour lives in the engine. Error classes
//! are defined once in Python (`net/errors.py`) and registered here, so native
//! code raises the right class directly.

mod blocking;
mod bus;
mod cancel;
mod capability;
mod channel;
mod errors;
mod handler;
mod identity;
mod mesh;
mod netdb;
mod redex;
mod token;

use pyo3::prelude::*;

#[pymodule]
fn _net(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ABI_VERSION", net::facade::abi_version())?;
    m.add("NetError", m.py().get_type::<errors::NetError>())?;
    m.add_function(wrap_pyfunction!(errors::error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(blocking::at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(errors::register_error_classes, m)?)?;
    m.add_class::<cancel::CancelToken>()?;
    m.add_class::<bus::Bus>()?;
    m.add_class::<bus::Subscription>()?;
    m.add_class::<handler::Handler>()?;
    m.add_class::<identity::Identity>()?;
    m.add_class::<netdb::NetDb>()?;
    m.add_class::<netdb::Watch>()?;
    m.add_class::<mesh::Mesh>()?;
    m.add_class::<mesh::BusLink>()?;
    m.add_class::<redex::Redex>()?;
    m.add_class::<redex::Log>()?;
    m.add_class::<redex::Tail>()?;
    m.add_function(wrap_pyfunction!(redex::record_heap, m)?)?;
    m.add_function(wrap_pyfunction!(redex::record_inline, m)?)?;
    m.add_function(wrap_pyfunction!(redex::record_decode, m)?)?;
    m.add_function(wrap_pyfunction!(redex::event_frame, m)?)?;
    m.add_function(wrap_pyfunction!(redex::event_unframe, m)?)?;
    token::register(m)?;
    capability::register(m)?;
    channel::register(m)?;
    m.add_function(wrap_pyfunction!(identity::verify, m)?)?;
    m.add_function(wrap_pyfunction!(identity::public_key_ids, m)?)?;
    m.add_function(wrap_pyfunction!(identity::header_encode, m)?)?;
    m.add_function(wrap_pyfunction!(identity::header_decode, m)?)?;
    m.add_function(wrap_pyfunction!(identity::routing_encode, m)?)?;
    m.add_function(wrap_pyfunction!(identity::routing_decode, m)?)?;
    Ok(())
}
