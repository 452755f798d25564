//! The compact binary encoding of model events (the payload after the event
//! meta): little-endian `u64`s and `u32`-length-prefixed UTF-8 strings, in a
//! fixed order per event kind. Decoding borrows from the payload and rejects
//! short, over-long or non-UTF-8 input with a reason (a fold error, never a panic).

/// Appends fields to an event payload.
pub(crate) struct Writer<'a>(pub(crate) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        // Payloads are bounded by the log's max payload (< 4 GiB), so a string
        // that does not fit in u32 cannot be appended anyway; saturate.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn strs(&mut self, list: &[&str]) -> &mut Self {
        let n = u32::try_from(list.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&n.to_le_bytes());
        for s in list {
            self.str(s);
        }
        self
    }
}

/// Reads fields from an event payload.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(payload: &'a [u8]) -> Self {
        Reader(payload)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "event payload is short: needs {n} more bytes, has {}",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, String> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| "event string is not UTF-8".to_owned())
    }

    pub(crate) fn strs(&mut self) -> Result<Vec<&'a str>, String> {
        let n = self.u32()? as usize;
        // Each string needs at least its 4-byte length: bound the allocation by the input.
        if n > self.0.len() / 4 {
            return Err(format!(
                "event claims {n} strings in {} bytes",
                self.0.len()
            ));
        }
        (0..n).map(|_| self.str()).collect()
    }

    /// Fails if bytes are left over (a payload of another shape).
    pub(crate) fn finish(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "event payload has {} unexpected trailing bytes",
                self.0.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_input() {
        let mut buf = Vec::new();
        Writer(&mut buf).u64(7).str("héllo").strs(&["a", "", "c"]);
        let mut r = Reader::new(&buf);
        assert_eq!(r.u64().unwrap(), 7);
        assert_eq!(r.str().unwrap(), "héllo");
        assert_eq!(r.strs().unwrap(), vec!["a", "", "c"]);
        r.finish().unwrap();
        for cut in 0..buf.len() {
            let mut r = Reader::new(&buf[..cut]);
            let ok = r.u64().is_ok() && r.str().is_ok() && r.strs().is_ok();
            assert!(!ok, "a payload cut at {cut} decoded");
        }
        let mut r = Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(r.strs().is_err());
        let mut r = Reader::new(&[1, 0, 0, 0, 0xFF]);
        assert!(r.str().is_err());
        let mut r = Reader::new(&[0u8; 9]);
        r.u64().unwrap();
        assert!(r.finish().is_err());
    }
}
