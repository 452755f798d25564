//! Status codes, the panic guard, per-thread last error, and string helpers.

use super::error_codes::NET_ERR_PANIC;
use crate::handles::HandleTable;
use net_core::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The ABI version this header describes. Compare with `net_abi_version()`.
pub const NET_ABI_VERSION: u32 = 1;
const _: () = assert!(NET_ABI_VERSION == net_core::ABI_VERSION);

/// Success.
pub const NET_OK: i32 = 0;
/// A stream ended cleanly (not an error): no more events will come.
pub const NET_DONE: i32 = 1;
/// A wait ended without a result (not an error; for example `net_mesh_recv`
/// timed out).
pub const NET_TIMED_OUT: i32 = 2;
// The NET_ERR_* codes are generated from the engine's table: error_codes.rs.

/// The calling thread's last error: its whole text and its detail alone.
struct LastError {
    message: CString,
    detail: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Forgets the calling thread's last error (process teardown).
pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = None);
}

pub(crate) fn set_last_error(err: &Error) {
    let c_text = |text: String| CString::new(text.replace('\0', " ")).unwrap_or_default();
    let last = LastError {
        message: c_text(err.to_string()),
        detail: c_text(err.detail().to_owned()),
    };
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(last));
}

/// Runs an FFI body: maps errors to codes (recording the message) and turns a
/// panic into `NET_ERR_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> Result<i32, Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            set_last_error(&err);
            err.kind().code()
        }
        Err(_) => {
            set_last_error(&Error::new(ErrorKind::Panic, "the engine panicked"));
            NET_ERR_PANIC
        }
    }
}

pub(crate) fn null_error(what: &str) -> Error {
    Error::new(ErrorKind::NullPointer, format!("{what} is NULL"))
}

/// Borrows `len` bytes at `ptr`; NULL is allowed only when `len` is 0.
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes for the returned lifetime.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Error> {
    // SAFETY: forwarded contract.
    unsafe { slice_arg(ptr, len, what) }
}

/// Borrows `len` elements at `ptr` (any pointer is fine when `len` is 0).
///
/// # Safety
/// When `len > 0`, `ptr` must be valid for `len` reads of `T` for `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    len: usize,
    what: &str,
) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_error(what));
    }
    // SAFETY: non-null, and the caller guarantees `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows a UTF-8 string given as pointer + length.
///
/// # Safety
/// As for [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a str, Error> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(ptr.cast(), len, what)? };
    std::str::from_utf8(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

/// Borrows an optional NUL-terminated UTF-8 string (NULL gives `None`).
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn cstr_arg<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(Some)
        .map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

/// Hands a Rust string to C; free it with `net_string_free`.
pub(crate) fn string_out(
    s: String,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    let len = s.len();
    let c =
        CString::new(s).map_err(|_| Error::new(ErrorKind::InvalidArgument, "string has NUL"))?;
    // SAFETY: `out` is non-null and points to writable storage per the contract.
    unsafe { *out = c.into_raw() };
    if !out_len.is_null() {
        // SAFETY: checked non-null; caller provides writable storage.
        unsafe { *out_len = len };
    }
    Ok(NET_OK)
}

/// Hands bytes to C; free them with `net_bytes_free(*out, *out_len)`.
pub(crate) fn bytes_out(
    bytes: Vec<u8>,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> Result<i32, Error> {
    if out.is_null() || out_len.is_null() {
        return Err(null_error("out"));
    }
    let bytes = bytes.into_boxed_slice();
    let len = bytes.len();
    // SAFETY: both checked non-null; ownership passes to the caller until net_bytes_free.
    unsafe {
        *out_len = len;
        *out = Box::into_raw(bytes).cast::<u8>();
    }
    Ok(NET_OK)
}

/// Copies a fixed-size result into a caller buffer of the documented size.
pub(crate) fn write_fixed(out: *mut u8, bytes: &[u8]) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    // SAFETY: the caller provides a buffer of the documented size at `out`.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
    Ok(NET_OK)
}

/// Writes `value` through a required out-parameter (NULL is
/// `NET_ERR_NULL_POINTER`).
pub(crate) fn value_out<T>(out: *mut T, value: T) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    write_opt(out, value);
    Ok(NET_OK)
}

/// Hands node ids to C; free them with `net_node_ids_free`.
pub(crate) fn ids_out(
    ids: Vec<u64>,
    out_ids: *mut *mut u64,
    out_count: *mut usize,
) -> Result<i32, Error> {
    if out_ids.is_null() || out_count.is_null() {
        return Err(null_error("out"));
    }
    let count = ids.len();
    let ptr = if ids.is_empty() {
        std::ptr::null_mut()
    } else {
        Box::into_raw(ids.into_boxed_slice()).cast::<u64>()
    };
    // SAFETY: both checked non-null; ownership passes to the caller until
    // net_node_ids_free.
    unsafe {
        *out_ids = ptr;
        *out_count = count;
    }
    Ok(NET_OK)
}

/// Writes `value` through an optional out-parameter (NULL is skipped).
pub(crate) fn write_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null; the caller provides writable storage of type T.
        unsafe { out.write(value) };
    }
}

/// Frees bytes returned by the library (with the length it returned). NULL is ignored.
///
/// # Safety
/// `bytes`/`len` must come from this library and not be freed yet.
#[no_mangle]
pub unsafe extern "C" fn net_bytes_free(bytes: *mut u8, len: usize) {
    if !bytes.is_null() {
        // SAFETY: created by Box::into_raw of a boxed slice of exactly `len` bytes.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(bytes, len)) });
    }
}

/// The ABI version of the loaded library. Compare with `NET_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn net_abi_version() -> u32 {
    NET_ABI_VERSION
}

/// The calling thread's last error message (`<area>:<kind>: <detail>`), or NULL
/// if there has been none. The pointer is owned by the library and stays valid
/// until the next failing call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn net_last_error_message() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(std::ptr::null(), |e| e.message.as_ptr())
    })
}

/// The calling thread's last error detail: the message without its
/// `<area>:<reason>: ` prefix (the kind comes from the status code, through
/// `net_error_kind`), or NULL if there has been none. Same lifetime as
/// `net_last_error_message()`; do not free it.
#[no_mangle]
pub extern "C" fn net_last_error_detail() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(std::ptr::null(), |e| e.detail.as_ptr())
    })
}

/// The stable kind string for a status code (`"bus:backpressure"` for
/// `NET_ERR_BACKPRESSURE`), `"ok"` for `NET_OK`, `"done"` for `NET_DONE`, or
/// NULL for an unknown code. Static storage: do not free.
#[no_mangle]
pub extern "C" fn net_error_kind(code: i32) -> *const c_char {
    let s: &'static CStr = match code {
        NET_OK => c"ok",
        NET_DONE => c"done",
        NET_TIMED_OUT => c"timed_out",
        _ => match ErrorKind::from_code(code) {
            Some(kind) => kind.as_c_str(),
            None => return std::ptr::null(),
        },
    };
    s.as_ptr()
}

/// All error kinds as a JSON array of `{"kind","code"}`; free with `net_string_free`.
///
/// # Safety
/// `out` must be writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_error_kinds_json(out: *mut *mut c_char, out_len: *mut usize) -> i32 {
    guard(|| string_out(crate::facade::error_kinds_json(), out, out_len))
}

/// Frees a string returned by the library. NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a string returned by this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn net_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in `string_out`.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// How every C function takes and returns handles: one null check, one
/// lookup, one write, the same for every handle type.
impl<T> HandleTable<T> {
    /// The object behind a handle passed in from C; `what` names the argument
    /// in the `ffi:null_pointer` error.
    pub(crate) fn arg<H>(&self, handle: *mut H, what: &str) -> Result<Arc<T>, Error> {
        if handle.is_null() {
            return Err(null_error(what));
        }
        self.get(handle as usize)
    }

    /// Registers `value` and writes its new handle to `out`.
    pub(crate) fn store<H>(&self, out: *mut *mut H, value: T) -> Result<i32, Error> {
        if out.is_null() {
            return Err(null_error("out"));
        }
        let id = self.insert(value)?;
        // SAFETY: checked non-null; the caller provides writable storage.
        unsafe { *out = id as *mut H };
        Ok(NET_OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_core_codes() {
        for &kind in ErrorKind::ALL {
            // SAFETY: net_error_kind returns static NUL-terminated strings.
            let s = unsafe { CStr::from_ptr(net_error_kind(kind.code())) };
            assert_eq!(s.to_str().unwrap(), kind.as_str());
        }
        // The constants are generated from the same table (scripts/gen-tables).
        assert_eq!(NET_ERR_PANIC, ErrorKind::Panic.code());
        assert_eq!(
            super::super::error_codes::NET_ERR_AUDIT_IO,
            ErrorKind::AuditIo.code()
        );
        assert!(net_error_kind(-999).is_null());
    }
}
