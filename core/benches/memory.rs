//! Memory per buffered event: bytes allocated by the bus per 64-byte event held,
//! measured with a counting global allocator. Prints one JSON line.

use net_core::bus::Bus;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    const EVENTS: usize = 1_000_000;
    let event = [b'x'; 64];
    let bus = Bus::from_json(r#"{"num_shards":1,"ring_buffer_capacity":1000000}"#).expect("config");
    let before = LIVE.load(Ordering::Relaxed);
    let batch: Vec<&[u8]> = vec![&event[..]; 1000];
    for _ in 0..EVENTS / 1000 {
        bus.emit_raw_batch(&batch).expect("emit");
    }
    let after = LIVE.load(Ordering::Relaxed);
    assert_eq!(bus.stats().buffered, EVENTS as u64);
    let per_event = (after - before) as f64 / EVENTS as f64;
    println!(
        "{{\"lang\":\"rust\",\"bench\":\"bus_memory_per_buffered_event\",\"bytes_per_event\":{per_event:.1},\"payload_bytes\":64}}"
    );
}
