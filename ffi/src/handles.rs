//! Generational handle tables: how C callers hold engine objects safely.
//!
//! A C handle is not a pointer to Rust memory but an opaque number (slot index
//! plus generation) dressed as a pointer. Looking it up checks the generation,
//! so a freed, stale or forged handle is reported as `ffi:invalid_handle`
//! instead of being dereferenced: use-after-free from C cannot reach freed memory.

use net_core::{Error, ErrorKind, Result};
use parking_lot::RwLock;
use std::sync::Arc;

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

/// A table of live objects of one type.
pub(crate) struct HandleTable<T> {
    inner: RwLock<TableInner<T>>,
    /// Distinguishes tables, so a handle of one type is rejected by another.
    tag: u64,
}

struct TableInner<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    /// Generation new slots start at; raised past every generation handed out
    /// when the table is drained, so handles from before stay invalid.
    first_generation: u32,
}

const INDEX_BITS: u32 = 24;
const TAG_SHIFT: u32 = 56;

impl<T> HandleTable<T> {
    pub(crate) const fn new(tag: u8) -> Self {
        HandleTable {
            inner: RwLock::new(TableInner {
                slots: Vec::new(),
                free: Vec::new(),
                first_generation: 1,
            }),
            tag: tag as u64,
        }
    }

    fn encode(&self, index: u32, generation: u32) -> usize {
        // Layout: tag (8 bits) | generation (32 bits) | index + 1 (24 bits).
        ((self.tag << TAG_SHIFT) | (u64::from(generation) << INDEX_BITS) | u64::from(index + 1))
            as usize
    }

    fn decode(&self, handle: usize) -> Option<(usize, u32)> {
        let raw = handle as u64;
        if raw >> TAG_SHIFT != self.tag {
            return None;
        }
        let index = (raw & ((1 << INDEX_BITS) - 1)).checked_sub(1)?;
        let generation = ((raw >> INDEX_BITS) & 0xFFFF_FFFF) as u32;
        Some((index as usize, generation))
    }

    /// Stores `value` and returns its handle.
    pub(crate) fn insert(&self, value: T) -> Result<usize> {
        let mut inner = self.inner.write();
        let value = Some(Arc::new(value));
        if let Some(index) = inner.free.pop() {
            let slot = &mut inner.slots[index as usize];
            slot.value = value;
            return Ok(self.encode(index, slot.generation));
        }
        let index = inner.slots.len() as u32;
        if index >= (1 << INDEX_BITS) - 1 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "too many live handles",
            ));
        }
        let generation = inner.first_generation;
        inner.slots.push(Slot { generation, value });
        Ok(self.encode(index, generation))
    }

    /// Looks a handle up.
    pub(crate) fn get(&self, handle: usize) -> Result<Arc<T>> {
        let (index, generation) = self.decode(handle).ok_or_else(invalid)?;
        let inner = self.inner.read();
        match inner.slots.get(index) {
            Some(slot) if slot.generation == generation => slot.value.clone().ok_or_else(invalid),
            _ => Err(invalid()),
        }
    }

    /// Removes a handle; returns the object if it was live.
    pub(crate) fn remove(&self, handle: usize) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        let mut inner = self.inner.write();
        let slot = inner.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1).max(1);
        inner.free.push(index as u32);
        Some(value)
    }

    /// Removes every live handle and releases the table's storage (process
    /// teardown). Handles issued before stay invalid.
    pub(crate) fn drain(&self) -> Vec<Arc<T>> {
        let mut inner = self.inner.write();
        let highest = inner.slots.iter().map(|s| s.generation).max().unwrap_or(0);
        inner.first_generation = inner.first_generation.max(highest.wrapping_add(1)).max(1);
        inner.free = Vec::new();
        std::mem::take(&mut inner.slots)
            .into_iter()
            .filter_map(|slot| slot.value)
            .collect()
    }
}

fn invalid() -> Error {
    Error::new(
        ErrorKind::InvalidHandle,
        "the handle was freed, closed or never valid",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_forged_and_foreign_handles_are_rejected() {
        let table = HandleTable::<u32>::new(1);
        let other = HandleTable::<u32>::new(2);
        let h = table.insert(7).unwrap();
        assert_eq!(*table.get(h).unwrap(), 7);
        assert!(other.get(h).is_err());
        assert!(table.remove(h).is_some());
        assert!(table.remove(h).is_none(), "double free is a no-op");
        assert_eq!(table.get(h).unwrap_err().kind(), ErrorKind::InvalidHandle);
        let h2 = table.insert(8).unwrap();
        assert_ne!(h, h2, "a reused slot gets a new generation");
        assert!(table.get(h).is_err());
        for forged in [0usize, 1, usize::MAX, 0xdead_beef] {
            assert!(table.get(forged).is_err());
        }
        assert_eq!(table.drain().len(), 1);
        assert!(table.get(h2).is_err(), "drained handles stay invalid");
        let h3 = table.insert(9).unwrap();
        assert_ne!(h3, h2);
        assert!(table.get(h2).is_err());
    }
}
