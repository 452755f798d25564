package net

// Errors: every failure is an *Error with a stable kind; the sentinels below
// let callers match kinds with errors.Is. The table mirrors the engine's
// (tests/cross_lang/errors/kinds.json); a test checks they agree.

import "fmt"

// Error is a failure reported by the engine.
type Error struct {
	// Kind is the stable "<area>:<kind>" string, the same in every language.
	Kind string
	// Code is the stable numeric code of the C ABI (negative).
	Code int
	// Detail says what happened.
	Detail string
}

// Error formats as "<kind>: <detail>".
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind
	}
	return e.Kind + ": " + e.Detail
}

// Is reports whether target is an *Error of the same kind, so
// errors.Is(err, net.ErrBackpressure) works for any detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// Sentinels, one per kind.
var (
	// ErrNullPointer is the kind ffi:null_pointer.
	ErrNullPointer = &Error{Kind: "ffi:null_pointer", Code: -1}
	// ErrInvalidHandle is the kind ffi:invalid_handle.
	ErrInvalidHandle = &Error{Kind: "ffi:invalid_handle", Code: -2}
	// ErrInvalidUTF8 is the kind ffi:invalid_utf8.
	ErrInvalidUTF8 = &Error{Kind: "ffi:invalid_utf8", Code: -3}
	// ErrPanic is the kind ffi:panic.
	ErrPanic = &Error{Kind: "ffi:panic", Code: -4}
	// ErrABIMismatch is the kind ffi:abi_mismatch.
	ErrABIMismatch = &Error{Kind: "ffi:abi_mismatch", Code: -5}
	// ErrInvalidConfig is the kind bus:invalid_config.
	ErrInvalidConfig = &Error{Kind: "bus:invalid_config", Code: -10}
	// ErrBackpressure is the kind bus:backpressure.
	ErrBackpressure = &Error{Kind: "bus:backpressure", Code: -11}
	// ErrShutdown is the kind bus:shutdown.
	ErrShutdown = &Error{Kind: "bus:shutdown", Code: -12}
	// ErrEventTooLarge is the kind bus:event_too_large.
	ErrEventTooLarge = &Error{Kind: "bus:event_too_large", Code: -13}
	// ErrInvalidJSON is the kind bus:invalid_json.
	ErrInvalidJSON = &Error{Kind: "bus:invalid_json", Code: -14}
	// ErrInvalidCursor is the kind bus:invalid_cursor.
	ErrInvalidCursor = &Error{Kind: "bus:invalid_cursor", Code: -15}
	// ErrInvalidFilter is the kind bus:invalid_filter.
	ErrInvalidFilter = &Error{Kind: "bus:invalid_filter", Code: -16}
	// ErrInvalidArgument is the kind bus:invalid_argument.
	ErrInvalidArgument = &Error{Kind: "bus:invalid_argument", Code: -17}
	// ErrInvalidSeed is the kind identity:invalid_seed.
	ErrInvalidSeed = &Error{Kind: "identity:invalid_seed", Code: -30}
	// ErrInvalidKey is the kind identity:invalid_key.
	ErrInvalidKey = &Error{Kind: "identity:invalid_key", Code: -31}
	// ErrBadSignature is the kind identity:bad_signature.
	ErrBadSignature = &Error{Kind: "identity:bad_signature", Code: -32}
	// ErrEntropyUnavailable is the kind identity:entropy_unavailable.
	ErrEntropyUnavailable = &Error{Kind: "identity:entropy_unavailable", Code: -33}
	// ErrMalformed is the kind wire:malformed.
	ErrMalformed = &Error{Kind: "wire:malformed", Code: -40}
	// ErrLogClosed is the kind redex:closed.
	ErrLogClosed = &Error{Kind: "redex:closed", Code: -50}
	// ErrPayloadTooLarge is the kind redex:payload_too_large.
	ErrPayloadTooLarge = &Error{Kind: "redex:payload_too_large", Code: -51}
	// ErrSegmentFull is the kind redex:segment_full.
	ErrSegmentFull = &Error{Kind: "redex:segment_full", Code: -52}
	// ErrIO is the kind redex:io.
	ErrIO = &Error{Kind: "redex:io", Code: -53}
	// ErrCorrupt is the kind redex:corrupt.
	ErrCorrupt = &Error{Kind: "redex:corrupt", Code: -54}
	// ErrFoldStopped is the kind cortex:fold_stopped.
	ErrFoldStopped = &Error{Kind: "cortex:fold_stopped", Code: -60}
	// ErrTimeout is the kind cortex:timeout.
	ErrTimeout = &Error{Kind: "cortex:timeout", Code: -61}
	// ErrDecode is the kind cortex:decode.
	ErrDecode = &Error{Kind: "cortex:decode", Code: -62}
	// ErrModelMissing is the kind netdb:model_missing.
	ErrModelMissing = &Error{Kind: "netdb:model_missing", Code: -70}
	// ErrInvalidSnapshot is the kind netdb:invalid_snapshot.
	ErrInvalidSnapshot = &Error{Kind: "netdb:invalid_snapshot", Code: -71}
	// ErrInvalidMeshConfig is the kind mesh:invalid_config.
	ErrInvalidMeshConfig = &Error{Kind: "mesh:invalid_config", Code: -80}
	// ErrHandshakeFailed is the kind mesh:handshake_failed.
	ErrHandshakeFailed = &Error{Kind: "mesh:handshake_failed", Code: -81}
	// ErrMeshTimeout is the kind mesh:timeout.
	ErrMeshTimeout = &Error{Kind: "mesh:timeout", Code: -82}
	// ErrUnknownPeer is the kind mesh:unknown_peer.
	ErrUnknownPeer = &Error{Kind: "mesh:unknown_peer", Code: -83}
	// ErrMessageTooLarge is the kind mesh:message_too_large.
	ErrMessageTooLarge = &Error{Kind: "mesh:message_too_large", Code: -84}
	// ErrMeshShutdown is the kind mesh:shutdown.
	ErrMeshShutdown = &Error{Kind: "mesh:shutdown", Code: -85}
	// ErrMeshIO is the kind mesh:io.
	ErrMeshIO = &Error{Kind: "mesh:io", Code: -86}
	// ErrStreamBackpressure is the kind mesh:backpressure: a reliable
	// stream's credit window is full.
	ErrStreamBackpressure = &Error{Kind: "mesh:backpressure", Code: -87}
	// ErrUntrustedPeer is the kind mesh:untrusted_peer: the trust policy
	// refused the peer's key.
	ErrUntrustedPeer = &Error{Kind: "mesh:untrusted_peer", Code: -88}
	// ErrLogLocked is the kind redex:locked: a persistent log is already open in another handle or process.
	ErrLogLocked = &Error{Kind: "redex:locked", Code: -55}
	// ErrInvalidLogConfig is the kind redex:invalid_config: a RedEX log configuration had an unknown key or an invalid value.
	ErrInvalidLogConfig = &Error{Kind: "redex:invalid_config", Code: -56}
	// ErrInvalidLogArgument is the kind redex:invalid_argument: a RedEX argument was invalid (a channel name, a limit, a timeout).
	ErrInvalidLogArgument = &Error{Kind: "redex:invalid_argument", Code: -57}
	// ErrSequenceExhausted is the kind redex:sequence_exhausted: a log has handed out every sequence number.
	ErrSequenceExhausted = &Error{Kind: "redex:sequence_exhausted", Code: -58}
	// ErrInvalidDbArgument is the kind netdb:invalid_argument: a NetDB argument was invalid (an id, a title, a limit, a timeout).
	ErrInvalidDbArgument = &Error{Kind: "netdb:invalid_argument", Code: -72}
	// ErrInvalidMeshArgument is the kind mesh:invalid_argument: a mesh argument was invalid (an address, a limit, a timeout, a connect to the node itself).
	ErrInvalidMeshArgument = &Error{Kind: "mesh:invalid_argument", Code: -89}
	// ErrAuditIO is the kind audit:io: an audit log could not be opened or written.
	ErrAuditIO = &Error{Kind: "audit:io", Code: -90}
)

// Kinds lists every sentinel in code order.
func Kinds() []*Error {
	return []*Error{
		ErrNullPointer,
		ErrInvalidHandle,
		ErrInvalidUTF8,
		ErrPanic,
		ErrABIMismatch,
		ErrInvalidConfig,
		ErrBackpressure,
		ErrShutdown,
		ErrEventTooLarge,
		ErrInvalidJSON,
		ErrInvalidCursor,
		ErrInvalidFilter,
		ErrInvalidArgument,
		ErrInvalidSeed,
		ErrInvalidKey,
		ErrBadSignature,
		ErrEntropyUnavailable,
		ErrMalformed,
		ErrLogClosed,
		ErrPayloadTooLarge,
		ErrSegmentFull,
		ErrIO,
		ErrCorrupt,
		ErrLogLocked,
		ErrInvalidLogConfig,
		ErrInvalidLogArgument,
		ErrSequenceExhausted,
		ErrFoldStopped,
		ErrTimeout,
		ErrDecode,
		ErrModelMissing,
		ErrInvalidSnapshot,
		ErrInvalidDbArgument,
		ErrInvalidMeshConfig,
		ErrHandshakeFailed,
		ErrMeshTimeout,
		ErrUnknownPeer,
		ErrMessageTooLarge,
		ErrMeshShutdown,
		ErrMeshIO,
		ErrStreamBackpressure,
		ErrUntrustedPeer,
		ErrInvalidMeshArgument,
		ErrAuditIO,
	}
}

// errorFor builds an *Error for a status code and message from the library.
func errorFor(code int, message string) error {
	for _, k := range Kinds() {
		if k.Code == code {
			detail := message
			if len(message) > len(k.Kind)+2 && message[:len(k.Kind)+2] == k.Kind+": " {
				detail = message[len(k.Kind)+2:]
			}
			return &Error{Kind: k.Kind, Code: code, Detail: detail}
		}
	}
	return &Error{Kind: "unknown", Code: code, Detail: fmt.Sprintf("status %d: %s", code, message)}
}
