//! Push delivery for Node: handlers run on the JavaScript event loop.
//!
//! A delivery's scheduler calls a thread-safe function; on the JS thread that call runs
//! the delivery, which takes a batch of items from its source, and hands the
//! batch to the SDK's `deliver(batch)` function. The SDK calls the user's
//! handler for each item and catches what it throws (the engine never sees a
//! JS exception); it reports failures with `Handler.failed(n)`. Calls for
//! one handler come one batch at a time, in order; the next batch is taken
//! only after `deliver` returned.
//!
//! A live handler keeps the process alive, as a listening server does, until
//! it is closed or its source ends (the thread-safe function is released
//! then); `unref()` opts out, `ref()` opts back in (Node's idiom for timers
//! and servers). An unref'd one would let `await`ing a handler's result end
//! the process with nothing left to run (exit code 13).

use crate::Result;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction};
use napi_derive::napi;
use net::push::{Control, Delivery, Source};
use parking_lot::Mutex;
use std::sync::Arc;

type Tsfn = ThreadsafeFunction<Arc<dyn Control>, ErrorStrategy::Fatal>;

/// Releases the thread-safe function when the delivery ends (the handler,
/// which owns this, is dropped exactly once then).
struct Release(Arc<Mutex<Option<Tsfn>>>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.lock().take();
    }
}

/// Registers `deliver` for every item of `source`: `convert` turns each
/// batch into the JS value `deliver` receives.
pub fn spawn<S, V>(
    source: S,
    deliver: JsFunction,
    what: &'static str,
    convert: fn(&[S::Item]) -> V,
) -> Result<Handler>
where
    S: Source,
    V: ToNapiValue + 'static,
{
    let batch: Arc<Mutex<Vec<S::Item>>> = Arc::new(Mutex::new(Vec::new()));
    let taken = Arc::clone(&batch);
    // The batch `deliver` is working through, for `close(rest)`.
    let last: Arc<Mutex<Vec<S::Item>>> = Arc::new(Mutex::new(Vec::new()));
    let handed = Arc::clone(&last);
    let tsfn: Tsfn = deliver
        .create_threadsafe_function(0, move |ctx: ThreadSafeCallContext<Arc<dyn Control>>| {
            // On the JS thread: take a batch, then hand it to `deliver`.
            ctx.value.run();
            let items = std::mem::take(&mut *taken.lock());
            let value = convert(&items);
            *handed.lock() = items;
            Ok(vec![value])
        })
        .map_err(crate::from_napi)?;
    let slot = Arc::new(Mutex::new(Some(tsfn)));
    let release = Release(Arc::clone(&slot));
    let handler = move |item: S::Item| -> std::result::Result<(), String> {
        let _owned = &release;
        batch.lock().push(item);
        Ok(())
    };
    let schedule_slot = Arc::clone(&slot);
    let delivery = Delivery::new(source, handler, what, move |me| {
        let Some(me) = me.upgrade() else { return };
        if let Some(tsfn) = schedule_slot.lock().as_ref() {
            let job: Arc<dyn Control> = me;
            // Never blocks (the queue is unbounded, and holds at most one
            // call per handler: a delivery is scheduled once until it runs).
            let _ = tsfn.call(job, ThreadsafeFunctionCallMode::NonBlocking);
        }
    });
    let owner = Arc::clone(&delivery);
    let give_back = move |rest: usize| {
        let items = {
            let mut last = last.lock();
            let at = last.len().saturating_sub(rest);
            last.split_off(at)
        };
        owner.give_back(items);
    };
    Ok(Handler {
        delivery,
        tsfn: slot,
        give_back: Box::new(give_back),
    })
}

/// A JS function the engine calls for each batch (see `Bus.onEvent`,
/// `Mesh.onMessage`).
#[napi]
pub struct Handler {
    delivery: Arc<dyn Control>,
    /// The thread-safe function, until the delivery ends.
    tsfn: Arc<Mutex<Option<Tsfn>>>,
    /// Gives the last `n` items of the current batch back to the source.
    give_back: Box<dyn Fn(usize) + Send + Sync>,
}

/// A handler's counters.
#[napi(object)]
pub struct NativeHandlerStats {
    pub delivered: BigInt,
    pub failed: BigInt,
    pub closed: bool,
}

#[napi]
impl Handler {
    /// Stops the calls: no batch is taken after this returns. `rest`: how
    /// many items of the batch in progress the SDK did not hand out (closed
    /// from inside the handler); they go back to the source first, so a bus
    /// subscription's next reader gets them. Idempotent.
    #[napi]
    pub fn close(&self, rest: Option<u32>) {
        if let Some(rest) = rest.filter(|&n| n > 0) {
            (self.give_back)(rest as usize);
        }
        self.delivery.close();
    }

    /// Lets the process exit while this handler is live.
    #[napi]
    pub fn unref(&self, env: Env) -> Result<()> {
        if let Some(tsfn) = self.tsfn.lock().as_mut() {
            tsfn.unref(&env).map_err(crate::from_napi)?;
        }
        Ok(())
    }

    /// Keeps the process alive while this handler is live (the default).
    #[napi(js_name = "ref")]
    pub fn ref_(&self, env: Env) -> Result<()> {
        if let Some(tsfn) = self.tsfn.lock().as_mut() {
            tsfn.refer(&env).map_err(crate::from_napi)?;
        }
        Ok(())
    }

    /// Whether it has ended (closed, or its source ended).
    #[napi]
    pub fn is_closed(&self) -> bool {
        self.delivery.is_closed()
    }

    /// Counts `n` items the JS handler threw on (the SDK calls this);
    /// true when the last is one to report (the engine's rule: the 1st,
    /// 2nd, 4th ... failure).
    #[napi]
    pub fn failed(&self, n: u32) -> bool {
        self.delivery.count_late_failures(u64::from(n))
    }

    /// Items handled, items the handler threw on, and whether it has ended.
    #[napi]
    pub fn stats(&self) -> NativeHandlerStats {
        let stats = self.delivery.stats();
        NativeHandlerStats {
            delivered: BigInt::from(stats.delivered),
            failed: BigInt::from(stats.failed),
            closed: self.delivery.is_closed(),
        }
    }
}
