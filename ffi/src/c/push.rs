//! Push delivery for C: handlers the engine calls, as `{context, call, drop}`
//! closures.
//!
//! `net_bus_on_event` and `net_mesh_on_message` take a closure and return a
//! `net_handler_t`. The engine calls `call(item, context)` for each event or
//! message, on one of its callback threads (named `net-callback-N`): never
//! two calls of one handler at once, always in order. The item is borrowed
//! for the call only. `call` returns 0, or non-zero to report a failure
//! (counted in `net_handler_stats`, written to stderr for the 1st, 2nd, 4th
//! ... failure; the handler keeps being called). No engine lock is held
//! during a call: a handler may emit, send, subscribe or close its own
//! handler from inside. `drop(context)` runs exactly once, after the last
//! call, on the thread that ends the handler: `net_handler_close`/`_free`,
//! the source ending (the bus shut down and drained, the node shut down),
//! or at once when registering fails. `drop` may be NULL.
//!
//! Every push API has a pull twin: `net_subscription_next` and
//! `net_mesh_recv` read the same items by waiting.

use super::bus::{net_bus_t, net_event_t};
use super::channel::{net_channel_message_t, net_channel_subscription_t, sub_arg};
use super::common::*;
use super::mesh::{mesh_arg, net_mesh_message_t, net_mesh_t};
use crate::handles::HandleTable;
use net_core::push::{self, Handle};
use net_core::Error;
use std::ffi::{c_char, c_void};

/// A registered handler. Opaque; create with `net_bus_on_event` or
/// `net_mesh_on_message`, stop with `net_handler_close`, release with
/// `net_handler_free`.
///
/// Threads: the engine calls `call(item, context)` on one of its callback
/// threads (`net-callback-N`), never two calls of one handler at once, in
/// order. The item is borrowed for the call only. No engine lock is held
/// during a call: a handler may emit, send, subscribe, or close its own
/// handler from inside. Failures: `call` returns 0, or non-zero for a
/// failure, which is counted (`net_handler_stats`) and written to stderr
/// (the 1st, 2nd, 4th, ... one); the handler keeps being called. Drop:
/// `drop(context)` runs exactly once, after the last call, on the thread
/// that ends the handler (`net_handler_close`/`_free`, the source ending:
/// the bus shut down and drained, the node shut down), or at once when
/// registering fails. Every push API has a pull twin
/// (`net_subscription_next`, `net_mesh_recv`).
pub struct net_handler_t {
    _opaque: (),
}

/// A handler for bus events: `call(event, context)` for each event (the
/// event and its bytes are borrowed for the call), returning 0 or non-zero
/// for a failure; `drop(context)` once at the end (may be NULL).
#[repr(C)]
pub struct net_event_closure_t {
    /// Passed to `call` and `drop` as is.
    pub context: *mut c_void,
    /// Called for each event. Required.
    pub call: Option<unsafe extern "C" fn(event: *const net_event_t, context: *mut c_void) -> i32>,
    /// Called once after the last call. Optional.
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// A handler for mesh messages: `call(message, context)` for each message
/// (borrowed for the call: do NOT free its payload), returning 0 or non-zero
/// for a failure; `drop(context)` once at the end (may be NULL).
#[repr(C)]
pub struct net_message_closure_t {
    /// Passed to `call` and `drop` as is.
    pub context: *mut c_void,
    /// Called for each message. Required.
    pub call: Option<
        unsafe extern "C" fn(message: *const net_mesh_message_t, context: *mut c_void) -> i32,
    >,
    /// Called once after the last call. Optional.
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// A handler for channel messages: `call(message, context)` for each
/// message of a subscription (borrowed for the call: do NOT pass it to
/// `net_channel_message_free`), returning 0 or non-zero for a failure;
/// `drop(context)` once at the end (may be NULL).
#[repr(C)]
pub struct net_channel_message_closure_t {
    /// Passed to `call` and `drop` as is.
    pub context: *mut c_void,
    /// Called for each message. Required.
    pub call: Option<
        unsafe extern "C" fn(message: *const net_channel_message_t, context: *mut c_void) -> i32,
    >,
    /// Called once after the last call. Optional.
    pub drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

/// A handler's counters.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct net_handler_stats_t {
    /// Items handed to the handler that it handled (`call` returned 0).
    pub delivered: u64,
    /// Items it failed on (`call` returned non-zero).
    pub failed: u64,
    /// Whether it has ended: closed, or its source ended.
    pub closed: bool,
}

static HANDLERS: HandleTable<Handle> = HandleTable::new(0x48);

/// A C closure owned by the engine: `drop` runs when this is dropped.
struct Closure<F: Copy> {
    context: *mut c_void,
    call: F,
    drop: Option<unsafe extern "C" fn(context: *mut c_void)>,
}

// SAFETY: the caller of `net_*_on_*` promises (documented in the header)
// that `context` may be used from the engine's callback threads; the engine
// never calls `call` twice at once for one closure, and `drop` runs once.
unsafe impl<F: Copy> Send for Closure<F> {}

impl<F: Copy> Drop for Closure<F> {
    fn drop(&mut self) {
        if let Some(drop) = self.drop {
            // SAFETY: the closure's own destructor with its own context, run
            // exactly once (this value is dropped once).
            unsafe { drop(self.context) };
        }
    }
}

type EventCall = unsafe extern "C" fn(*const net_event_t, *mut c_void) -> i32;
type MessageCall = unsafe extern "C" fn(*const net_mesh_message_t, *mut c_void) -> i32;
type ChannelCall = unsafe extern "C" fn(*const net_channel_message_t, *mut c_void) -> i32;

fn failure(code: i32) -> Result<(), String> {
    if code == 0 {
        Ok(())
    } else {
        Err(format!("the handler returned {code}"))
    }
}

/// Takes the closure over (its `drop` now runs once, whatever happens) and
/// checks it has a `call`.
fn own<F: Copy>(
    context: *mut c_void,
    call: Option<F>,
    drop: Option<unsafe extern "C" fn(*mut c_void)>,
) -> Result<Closure<F>, Error> {
    match call {
        Some(call) => Ok(Closure {
            context,
            call,
            drop,
        }),
        None => {
            // Still ours to drop: registering failed.
            drop_now(context, drop);
            Err(null_error("closure.call"))
        }
    }
}

fn drop_now(context: *mut c_void, drop: Option<unsafe extern "C" fn(*mut c_void)>) {
    if let Some(drop) = drop {
        // SAFETY: the closure's own destructor with its own context, once
        // (the closure never reached the engine).
        unsafe { drop(context) };
    }
}

/// Calls `closure` for every event of a new live subscription (`cursor`,
/// `filter_json` as for `net_subscribe`; empty means none) and stores the
/// handler in `*out`. See `net_handler_t` for threads, failures and `drop`;
/// `drop` also runs (at once) when this fails.
///
/// # Safety
/// `cursor` and `filter_json` valid for their lengths; `out` writable;
/// `closure.context` usable from any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_on_event(
    bus: *mut net_bus_t,
    cursor: *const c_char,
    cursor_len: usize,
    filter_json: *const c_char,
    filter_len: usize,
    closure: net_event_closure_t,
    out: *mut *mut net_handler_t,
) -> i32 {
    let net_event_closure_t {
        context,
        call,
        drop,
    } = closure;
    guard(|| {
        let closure = own::<EventCall>(context, call, drop)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let sub = unsafe {
            super::bus::subscription_arg(bus, cursor, cursor_len, filter_json, filter_len)?
        };
        let handle = push::spawn(
            sub,
            move |event: net_core::bus::Event| {
                let c_event = net_event_t {
                    raw: event.data.as_ptr().cast(),
                    raw_len: event.data.len(),
                    shard: event.shard,
                    seq: event.seq,
                    timestamp_ns: event.timestamp_ns,
                };
                // The whole closure moves in (not its fields: it is `Send`).
                let closure = &closure;
                // SAFETY: the caller's function with its own context; the
                // event outlives the call.
                failure(unsafe { (closure.call)(&c_event, closure.context) })
            },
            "bus event handler",
        );
        HANDLERS.store(out, handle)
    })
}

/// Calls `closure` for every message the node receives (each taken from the
/// inbox, as `net_mesh_recv` would take it) and stores the handler in
/// `*out`. See `net_handler_t` for threads, failures and `drop`; `drop`
/// also runs (at once) when this fails.
///
/// # Safety
/// `out` writable; `closure.context` usable from any thread.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_on_message(
    mesh: *mut net_mesh_t,
    closure: net_message_closure_t,
    out: *mut *mut net_handler_t,
) -> i32 {
    let net_message_closure_t {
        context,
        call,
        drop,
    } = closure;
    guard(|| {
        let closure = own::<MessageCall>(context, call, drop)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        let mesh = mesh_arg(mesh)?;
        let handle = push::spawn(
            mesh.message_source()?,
            move |message: net_core::mesh::Message| {
                let c_message = net_mesh_message_t {
                    from: message.from,
                    stream_id: message.stream_id,
                    // Borrowed for the call: the header says not to free it.
                    payload: if message.payload.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        message.payload.as_ptr().cast_mut()
                    },
                    len: message.payload.len(),
                };
                // The whole closure moves in (not its fields: it is `Send`).
                let closure = &closure;
                // SAFETY: the caller's function with its own context; the
                // message outlives the call.
                failure(unsafe { (closure.call)(&c_message, closure.context) })
            },
            "mesh message handler",
        );
        HANDLERS.store(out, handle)
    })
}

/// Calls `closure.call(message, context)` for each message of the channel
/// subscription `sub`, on the engine's callback threads, in order, until the
/// subscription is freed (`net_channel_subscription_free` unsubscribes; what
/// was queued is handed out first) or the handler is closed. The message is
/// borrowed for the call. A handler and `net_channel_subscription_next` on
/// one subscription share its messages. See `net_handler_t`.
///
/// # Safety
/// `closure.context` must be usable from the engine's callback threads;
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_subscription_on_message(
    sub: *mut net_channel_subscription_t,
    closure: net_channel_message_closure_t,
    out: *mut *mut net_handler_t,
) -> i32 {
    let net_channel_message_closure_t {
        context,
        call,
        drop,
    } = closure;
    guard(|| {
        let closure = own::<ChannelCall>(context, call, drop)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        let sub = sub_arg(sub)?;
        let handle = push::spawn(
            sub.source(),
            move |message: net_core::mesh::ChannelMessage| {
                // A channel name has no NUL (names are validated).
                let channel = std::ffi::CString::new(message.channel.as_bytes())
                    .map_err(|e| e.to_string())?;
                let c_message = net_channel_message_t {
                    publisher: message.publisher,
                    channel: channel.as_ptr().cast_mut(),
                    // Borrowed for the call: the header says not to free it.
                    payload: if message.payload.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        message.payload.as_ptr().cast_mut()
                    },
                    payload_len: message.payload.len(),
                };
                let closure = &closure;
                // SAFETY: the caller's function with its own context; the
                // message and its strings outlive the call.
                failure(unsafe { (closure.call)(&c_message, closure.context) })
            },
            "channel message handler",
        );
        HANDLERS.store(out, handle)
    })
}

/// Stops a handler: no call starts after this returns. From outside any
/// handler it waits for a call in progress to return; from inside a handler
/// (its own, or another's) it does not wait, and the call in progress is the
/// last. Events taken but not handed out go back to the bus (messages to the
/// front of the inbox). Idempotent; the handle stays valid until freed.
#[no_mangle]
pub extern "C" fn net_handler_close(handler: *mut net_handler_t) -> i32 {
    guard(|| {
        HANDLERS.arg(handler, "handler")?.close();
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a handler. NULL and already-freed handles
/// are ignored.
#[no_mangle]
pub extern "C" fn net_handler_free(handler: *mut net_handler_t) {
    guard(|| {
        if let Some(handle) = HANDLERS.remove(handler as usize) {
            handle.close();
        }
        Ok(NET_OK)
    });
}

/// A handler's counters and whether it has ended.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_handler_stats(
    handler: *mut net_handler_t,
    out: *mut net_handler_stats_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        let handle = HANDLERS.arg(handler, "handler")?;
        let stats = handle.stats();
        // SAFETY: checked non-null.
        unsafe {
            out.write(net_handler_stats_t {
                delivered: stats.delivered,
                failed: stats.failed,
                closed: handle.is_closed(),
            })
        };
        Ok(NET_OK)
    })
}

/// Closes every handler and stops the callback threads (process teardown).
pub(crate) fn drain_handlers() {
    for handle in HANDLERS.drain() {
        handle.close();
    }
    push::shutdown();
}
