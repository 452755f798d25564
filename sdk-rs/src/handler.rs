//! Push delivery: closures the engine calls for each event or message.
//!
//! [`Net::on_event`](crate::Net::on_event) and
//! [`Mesh::on_message`](crate::mesh::Mesh::on_message) take a closure and
//! return a [`Handler`]. The engine calls the closure on one of its callback
//! threads (`net-callback-N`), never twice at once for one handler, in order.
//! The closure may call back into Net (emit, send, subscribe, close its own
//! handler). A panic in it is caught, printed by the panic hook, and counted
//! in [`HandlerStats::failed`]; the handler keeps being called.
//!
//! Push or pull? A handler suits work that reacts to each item (forward it,
//! update a counter, answer it). [`Net::subscribe`](crate::Net::subscribe)
//! (a `Stream`) and [`Mesh::recv`](crate::mesh::Mesh::recv) suit a consumer
//! that wants to await items in its own task or thread. Both take items the
//! same way: an item goes to one reader.

use net_core::push::{self, Source};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A handler's counters.
pub use net_core::push::Stats as HandlerStats;

/// A closure the engine calls for each item. Dropping it closes it.
#[derive(Debug)]
pub struct Handler {
    handle: push::Handle,
}

impl Handler {
    /// Stops the calls. From outside the closure it waits for a call in
    /// progress to return, so none runs after `close` returns; from inside
    /// one (its own handler's or another's) it does not wait, and that call
    /// is the last. Items taken but not handed out go back to their source.
    /// Idempotent.
    pub fn close(&self) {
        self.handle.close();
    }

    /// Whether it has ended: closed (its last call returned), or its source
    /// ended (the bus shut down and drained, the mesh node shut down).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// How many items it handled, and how many it panicked on.
    pub fn stats(&self) -> HandlerStats {
        self.handle.stats()
    }
}

/// Runs `f` for every item of `source` on the engine's callback threads.
pub(crate) fn spawn<S: Source>(
    source: S,
    what: &'static str,
    mut f: impl FnMut(S::Item) + Send + 'static,
) -> Handler {
    let handle = push::spawn(
        source,
        move |item: S::Item| {
            catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the handler panicked".to_owned())
            })
        },
        what,
    );
    Handler { handle }
}
