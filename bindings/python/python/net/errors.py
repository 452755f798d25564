"""Net's error classes: one per stable error kind, all deriving from NetError.

The native module raises these classes directly (they are registered with it at
import). The table mirrors the engine's; a test checks that every kind the
engine reports has its class here.
"""

from __future__ import annotations

from . import _net


class NetError(_net.NetError):
    """Base class of every Net error. ``kind`` is the stable "<area>:<kind>"
    string, ``code`` the C ABI's numeric code."""

    kind: str = "unknown"
    code: int = 0

    def __init__(self, message: str, kind: str | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        if code is not None:
            self.code = code


class NullPointerError(NetError):
    """The error kind ``ffi:null_pointer``."""

    kind = "ffi:null_pointer"
    code = -1


class InvalidHandleError(NetError):
    """The error kind ``ffi:invalid_handle``."""

    kind = "ffi:invalid_handle"
    code = -2


class InvalidUtf8Error(NetError):
    """The error kind ``ffi:invalid_utf8``."""

    kind = "ffi:invalid_utf8"
    code = -3


class PanicError(NetError):
    """The error kind ``ffi:panic``."""

    kind = "ffi:panic"
    code = -4


class AbiMismatchError(NetError):
    """The error kind ``ffi:abi_mismatch``."""

    kind = "ffi:abi_mismatch"
    code = -5


class InvalidConfigError(NetError, ValueError):
    """The error kind ``bus:invalid_config``."""

    kind = "bus:invalid_config"
    code = -10


class BackpressureError(NetError):
    """The error kind ``bus:backpressure``."""

    kind = "bus:backpressure"
    code = -11


class ShutdownError(NetError):
    """The error kind ``bus:shutdown``."""

    kind = "bus:shutdown"
    code = -12


class EventTooLargeError(NetError):
    """The error kind ``bus:event_too_large``."""

    kind = "bus:event_too_large"
    code = -13


class InvalidJsonError(NetError):
    """The error kind ``bus:invalid_json``."""

    kind = "bus:invalid_json"
    code = -14


class InvalidCursorError(NetError):
    """The error kind ``bus:invalid_cursor``."""

    kind = "bus:invalid_cursor"
    code = -15


class InvalidFilterError(NetError):
    """The error kind ``bus:invalid_filter``."""

    kind = "bus:invalid_filter"
    code = -16


class InvalidArgumentError(NetError, ValueError):
    """The error kind ``bus:invalid_argument``."""

    kind = "bus:invalid_argument"
    code = -17


class InvalidSeedError(NetError):
    """The error kind ``identity:invalid_seed``."""

    kind = "identity:invalid_seed"
    code = -30


class InvalidKeyError(NetError):
    """The error kind ``identity:invalid_key``."""

    kind = "identity:invalid_key"
    code = -31


class BadSignatureError(NetError):
    """The error kind ``identity:bad_signature``."""

    kind = "identity:bad_signature"
    code = -32


class EntropyUnavailableError(NetError):
    """The error kind ``identity:entropy_unavailable``."""

    kind = "identity:entropy_unavailable"
    code = -33


class MalformedError(NetError):
    """The error kind ``wire:malformed``."""

    kind = "wire:malformed"
    code = -40


class LogClosedError(NetError):
    """The error kind ``redex:closed``."""

    kind = "redex:closed"
    code = -50


class PayloadTooLargeError(NetError):
    """The error kind ``redex:payload_too_large``."""

    kind = "redex:payload_too_large"
    code = -51


class SegmentFullError(NetError):
    """The error kind ``redex:segment_full``."""

    kind = "redex:segment_full"
    code = -52


class IoError(NetError):
    """The error kind ``redex:io``."""

    kind = "redex:io"
    code = -53


class CorruptError(NetError):
    """The error kind ``redex:corrupt``."""

    kind = "redex:corrupt"
    code = -54


class FoldStoppedError(NetError):
    """The error kind ``cortex:fold_stopped``."""

    kind = "cortex:fold_stopped"
    code = -60


class TimeoutError(NetError):
    """The error kind ``cortex:timeout``."""

    kind = "cortex:timeout"
    code = -61


class DecodeError(NetError):
    """The error kind ``cortex:decode``."""

    kind = "cortex:decode"
    code = -62


class ModelMissingError(NetError):
    """The error kind ``netdb:model_missing``."""

    kind = "netdb:model_missing"
    code = -70


class InvalidSnapshotError(NetError):
    """The error kind ``netdb:invalid_snapshot``."""

    kind = "netdb:invalid_snapshot"
    code = -71


class InvalidMeshConfigError(NetError, ValueError):
    """The error kind ``mesh:invalid_config``."""

    kind = "mesh:invalid_config"
    code = -80


class HandshakeFailedError(NetError):
    """The error kind ``mesh:handshake_failed``."""

    kind = "mesh:handshake_failed"
    code = -81


class MeshTimeoutError(NetError):
    """The error kind ``mesh:timeout``."""

    kind = "mesh:timeout"
    code = -82


class UnknownPeerError(NetError):
    """The error kind ``mesh:unknown_peer``."""

    kind = "mesh:unknown_peer"
    code = -83


class MessageTooLargeError(NetError):
    """The error kind ``mesh:message_too_large``."""

    kind = "mesh:message_too_large"
    code = -84


class MeshShutdownError(NetError):
    """The error kind ``mesh:shutdown``."""

    kind = "mesh:shutdown"
    code = -85


class MeshIoError(NetError):
    """The error kind ``mesh:io``."""

    kind = "mesh:io"
    code = -86


class StreamBackpressureError(NetError):
    """The error kind ``mesh:backpressure``: a reliable stream's window is full."""

    kind = "mesh:backpressure"
    code = -87


class UntrustedPeerError(NetError):
    """The error kind ``mesh:untrusted_peer``: the trust policy refused the peer's key."""

    kind = "mesh:untrusted_peer"
    code = -88


class LogLockedError(NetError):
    """The error kind ``redex:locked``: a persistent log is already open in another handle or process."""

    kind = "redex:locked"
    code = -55


class InvalidLogConfigError(NetError, ValueError):
    """The error kind ``redex:invalid_config``: a RedEX log configuration had an unknown
    key or an invalid value."""

    kind = "redex:invalid_config"
    code = -56


class InvalidLogArgumentError(NetError, ValueError):
    """The error kind ``redex:invalid_argument``: a RedEX argument was invalid (a channel
    name, a limit, a timeout)."""

    kind = "redex:invalid_argument"
    code = -57


class SequenceExhaustedError(NetError):
    """The error kind ``redex:sequence_exhausted``: a log has handed out every sequence number."""

    kind = "redex:sequence_exhausted"
    code = -58


class InvalidDbArgumentError(NetError, ValueError):
    """The error kind ``netdb:invalid_argument``: a NetDB argument was invalid (an id, a limit, a timeout)."""

    kind = "netdb:invalid_argument"
    code = -72


class InvalidMeshArgumentError(NetError, ValueError):
    """The error kind ``mesh:invalid_argument``: a mesh argument was invalid (an address,
    a limit, a timeout, a connect to the node itself)."""

    kind = "mesh:invalid_argument"
    code = -89


class AuditIoError(NetError):
    """The error kind ``audit:io``: an audit log could not be opened or written."""

    kind = "audit:io"
    code = -90


#: kind string -> exception class.
ERRORS_BY_KIND: dict[str, type[NetError]] = {
    "ffi:null_pointer": NullPointerError,
    "ffi:invalid_handle": InvalidHandleError,
    "ffi:invalid_utf8": InvalidUtf8Error,
    "ffi:panic": PanicError,
    "ffi:abi_mismatch": AbiMismatchError,
    "bus:invalid_config": InvalidConfigError,
    "bus:backpressure": BackpressureError,
    "bus:shutdown": ShutdownError,
    "bus:event_too_large": EventTooLargeError,
    "bus:invalid_json": InvalidJsonError,
    "bus:invalid_cursor": InvalidCursorError,
    "bus:invalid_filter": InvalidFilterError,
    "bus:invalid_argument": InvalidArgumentError,
    "identity:invalid_seed": InvalidSeedError,
    "identity:invalid_key": InvalidKeyError,
    "identity:bad_signature": BadSignatureError,
    "identity:entropy_unavailable": EntropyUnavailableError,
    "wire:malformed": MalformedError,
    "redex:closed": LogClosedError,
    "redex:payload_too_large": PayloadTooLargeError,
    "redex:segment_full": SegmentFullError,
    "redex:io": IoError,
    "redex:corrupt": CorruptError,
    "cortex:fold_stopped": FoldStoppedError,
    "cortex:timeout": TimeoutError,
    "cortex:decode": DecodeError,
    "netdb:model_missing": ModelMissingError,
    "netdb:invalid_snapshot": InvalidSnapshotError,
    "mesh:invalid_config": InvalidMeshConfigError,
    "mesh:handshake_failed": HandshakeFailedError,
    "mesh:timeout": MeshTimeoutError,
    "mesh:unknown_peer": UnknownPeerError,
    "mesh:message_too_large": MessageTooLargeError,
    "mesh:shutdown": MeshShutdownError,
    "mesh:io": MeshIoError,
    "mesh:backpressure": StreamBackpressureError,
    "mesh:untrusted_peer": UntrustedPeerError,
    "redex:locked": LogLockedError,
    "redex:invalid_config": InvalidLogConfigError,
    "redex:invalid_argument": InvalidLogArgumentError,
    "redex:sequence_exhausted": SequenceExhaustedError,
    "netdb:invalid_argument": InvalidDbArgumentError,
    "mesh:invalid_argument": InvalidMeshArgumentError,
    "audit:io": AuditIoError,
}

_net.register_error_classes(ERRORS_BY_KIND)

__all__ = [
    "ERRORS_BY_KIND",
    "AbiMismatchError",
    "AuditIoError",
    "BackpressureError",
    "BadSignatureError",
    "CorruptError",
    "DecodeError",
    "EntropyUnavailableError",
    "EventTooLargeError",
    "FoldStoppedError",
    "HandshakeFailedError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "InvalidCursorError",
    "InvalidDbArgumentError",
    "InvalidFilterError",
    "InvalidHandleError",
    "InvalidJsonError",
    "InvalidKeyError",
    "InvalidLogArgumentError",
    "InvalidLogConfigError",
    "InvalidMeshArgumentError",
    "InvalidMeshConfigError",
    "InvalidSeedError",
    "InvalidSnapshotError",
    "InvalidUtf8Error",
    "IoError",
    "LogClosedError",
    "LogLockedError",
    "MalformedError",
    "MeshIoError",
    "MeshShutdownError",
    "MeshTimeoutError",
    "MessageTooLargeError",
    "ModelMissingError",
    "NetError",
    "NullPointerError",
    "PanicError",
    "PayloadTooLargeError",
    "SegmentFullError",
    "SequenceExhaustedError",
    "ShutdownError",
    "StreamBackpressureError",
    "TimeoutError",
    "UnknownPeerError",
    "UntrustedPeerError",
]
