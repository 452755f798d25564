//! The engine's one async runtime: timers, deadlines and waits of every
//! object run here as tasks, instead of a thread (or a fixed tick) each.
//!
//! * **Lazy.** Nothing starts at import or at load: the runtime is created
//!   by the first object that needs it (the first mesh node, say), with a
//!   small number of worker threads (`net-runtime-N`, one per core up to
//!   two) that sleep while no timer is due.
//! * **Fork.** A child process after `fork()` has none of its parent's
//!   threads; the runtime notices the new process id and the child's first
//!   user starts a runtime of its own (the parent's is left untouched).
//! * **Blocking work stays off the workers.** Tasks only take short locks
//!   and send datagrams. What waits (a rekey's handshake, a file flush)
//!   goes to the runtime's blocking pool ([`spawn_blocking`]), and calls
//!   from languages block the caller's thread, never a worker.
//! * **Shutdown.** [`shutdown`] stops the workers (process teardown, so leak
//!   checkers report clean; the C ABI's `net_runtime_shutdown` calls it).
//!   Shut every node down first: timers of one still running stop with the
//!   runtime.

use parking_lot::Mutex;
use std::future::Future;
use std::time::Duration;

struct Running {
    runtime: tokio::runtime::Runtime,
    /// The process it was started in.
    pid: u32,
}

static RUNTIME: Mutex<Option<Running>> = Mutex::new(None);

/// How many worker threads the runtime runs: timers need little, and two
/// keep one slow task from stalling every other.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 2)
}

/// A handle to the runtime, starting it if it is not running (or was
/// started by a parent process before `fork()`). An I/O error if its
/// threads cannot be started (the caller reports it in its own area).
pub(crate) fn handle() -> std::io::Result<tokio::runtime::Handle> {
    let mut slot = RUNTIME.lock();
    if let Some(running) = slot.as_ref() {
        if running.pid == std::process::id() {
            return Ok(running.runtime.handle().clone());
        }
        // The parent's runtime: its threads do not exist here, and dropping
        // it would wait for them. Leave it be.
        if let Some(parent) = slot.take() {
            std::mem::forget(parent);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .max_blocking_threads(64)
        .thread_name_fn(|| {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            format!("net-runtime-{}", NEXT.fetch_add(1, Ordering::Relaxed))
        })
        .enable_time()
        .build()?;
    let handle = runtime.handle().clone();
    *slot = Some(Running {
        runtime,
        pid: std::process::id(),
    });
    Ok(handle)
}

/// Runs `future` on the runtime.
pub(crate) fn spawn<F>(future: F) -> std::io::Result<tokio::task::JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(handle()?.spawn(future))
}

/// Runs `work` (which may block) on the runtime's blocking pool.
pub(crate) fn spawn_blocking<F, R>(work: F) -> std::io::Result<tokio::task::JoinHandle<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Ok(handle()?.spawn_blocking(work))
}

/// Whether the runtime is running in this process (for tests and stats).
pub fn is_running() -> bool {
    RUNTIME
        .lock()
        .as_ref()
        .is_some_and(|running| running.pid == std::process::id())
}

/// Stops the runtime's threads, waiting up to a second for blocking work
/// still running. A later user starts it again. Called from a runtime
/// thread itself, it stops the runtime without waiting.
pub fn shutdown() {
    let Some(running) = RUNTIME.lock().take() else {
        return;
    };
    if running.pid != std::process::id() {
        std::mem::forget(running);
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        running.runtime.shutdown_background();
    } else {
        running.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_starts_on_first_use_and_runs_timers() {
        let handle = handle().unwrap();
        assert!(is_running());
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let name = std::thread::current().name().map(str::to_owned);
            let _ = tx.send(name);
        });
        let name = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert!(name.starts_with("net-runtime-"), "{name}");
        let blocking = spawn_blocking(|| 6 * 7).unwrap();
        let answer = handle.block_on(blocking).unwrap();
        assert_eq!(answer, 42);
    }
}
