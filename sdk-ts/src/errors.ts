/**
 * Typed errors: one class per stable error kind, all extending NetError.
 * The addon throws plain Errors whose message starts with the kind
 * ("bus:shutdown: ..."); {@link classify} turns them into these classes.
 */
import * as native from '@netmesh/core';

/** Base class of every Net error. */
export class NetError extends Error {
  /** The stable "<area>:<kind>" string, the same in every language. */
  readonly kind: string;
  /** The C ABI's numeric code. */
  readonly code: number;

  constructor(message: string, kind = 'unknown', code = 0) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
  }
}

function kindClass(name: string, kind: string, code: number): typeof NetError {
  const cls = class extends NetError {
    constructor(message: string) {
      super(message, kind, code);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/* One class per kind. The table is checked against the engine's in tests. */
export class NullPointerError extends kindClass('NullPointerError', 'ffi:null_pointer', -1) {}
export class InvalidHandleError extends kindClass('InvalidHandleError', 'ffi:invalid_handle', -2) {}
export class InvalidUtf8Error extends kindClass('InvalidUtf8Error', 'ffi:invalid_utf8', -3) {}
export class PanicError extends kindClass('PanicError', 'ffi:panic', -4) {}
export class AbiMismatchError extends kindClass('AbiMismatchError', 'ffi:abi_mismatch', -5) {}
export class InvalidConfigError extends kindClass('InvalidConfigError', 'bus:invalid_config', -10) {}
export class BackpressureError extends kindClass('BackpressureError', 'bus:backpressure', -11) {}
export class ShutdownError extends kindClass('ShutdownError', 'bus:shutdown', -12) {}
export class EventTooLargeError extends kindClass('EventTooLargeError', 'bus:event_too_large', -13) {}
export class InvalidJsonError extends kindClass('InvalidJsonError', 'bus:invalid_json', -14) {}
export class InvalidCursorError extends kindClass('InvalidCursorError', 'bus:invalid_cursor', -15) {}
export class InvalidFilterError extends kindClass('InvalidFilterError', 'bus:invalid_filter', -16) {}
export class InvalidArgumentError extends kindClass('InvalidArgumentError', 'bus:invalid_argument', -17) {}
export class InvalidSeedError extends kindClass('InvalidSeedError', 'identity:invalid_seed', -30) {}
export class InvalidKeyError extends kindClass('InvalidKeyError', 'identity:invalid_key', -31) {}
export class BadSignatureError extends kindClass('BadSignatureError', 'identity:bad_signature', -32) {}
export class EntropyUnavailableError extends kindClass('EntropyUnavailableError', 'identity:entropy_unavailable', -33) {}
export class MalformedError extends kindClass('MalformedError', 'wire:malformed', -40) {}
export class LogClosedError extends kindClass('LogClosedError', 'redex:closed', -50) {}
export class PayloadTooLargeError extends kindClass('PayloadTooLargeError', 'redex:payload_too_large', -51) {}
export class SegmentFullError extends kindClass('SegmentFullError', 'redex:segment_full', -52) {}
export class IoError extends kindClass('IoError', 'redex:io', -53) {}
export class CorruptError extends kindClass('CorruptError', 'redex:corrupt', -54) {}
export class FoldStoppedError extends kindClass('FoldStoppedError', 'cortex:fold_stopped', -60) {}
export class TimeoutError extends kindClass('TimeoutError', 'cortex:timeout', -61) {}
export class DecodeError extends kindClass('DecodeError', 'cortex:decode', -62) {}
export class ModelMissingError extends kindClass('ModelMissingError', 'netdb:model_missing', -70) {}
export class InvalidSnapshotError extends kindClass('InvalidSnapshotError', 'netdb:invalid_snapshot', -71) {}
export class InvalidMeshConfigError extends kindClass('InvalidMeshConfigError', 'mesh:invalid_config', -80) {}
export class HandshakeFailedError extends kindClass('HandshakeFailedError', 'mesh:handshake_failed', -81) {}
export class MeshTimeoutError extends kindClass('MeshTimeoutError', 'mesh:timeout', -82) {}
export class UnknownPeerError extends kindClass('UnknownPeerError', 'mesh:unknown_peer', -83) {}
export class MessageTooLargeError extends kindClass('MessageTooLargeError', 'mesh:message_too_large', -84) {}
export class MeshShutdownError extends kindClass('MeshShutdownError', 'mesh:shutdown', -85) {}
export class MeshIoError extends kindClass('MeshIoError', 'mesh:io', -86) {}
/** A reliable stream's credit window is full; drop, retry or wait. */
export class StreamBackpressureError extends kindClass('StreamBackpressureError', 'mesh:backpressure', -87) {}
/** The trust policy refused the peer's key. */
export class UntrustedPeerError extends kindClass('UntrustedPeerError', 'mesh:untrusted_peer', -88) {}
/** The kind redex:locked: a persistent log is already open in another handle or process. */
export class LogLockedError extends kindClass('LogLockedError', 'redex:locked', -55) {}
/** The kind redex:invalid_config: a RedEX log configuration had an unknown key or an invalid value. */
export class InvalidLogConfigError extends kindClass('InvalidLogConfigError', 'redex:invalid_config', -56) {}
/** The kind redex:invalid_argument: a RedEX argument was invalid (a channel name, a limit, a timeout). */
export class InvalidLogArgumentError extends kindClass('InvalidLogArgumentError', 'redex:invalid_argument', -57) {}
/** The kind redex:sequence_exhausted: a log has handed out every sequence number. */
export class SequenceExhaustedError extends kindClass('SequenceExhaustedError', 'redex:sequence_exhausted', -58) {}
/** The kind netdb:invalid_argument: a NetDB argument was invalid (an id, a title, a limit, a timeout). */
export class InvalidDbArgumentError extends kindClass('InvalidDbArgumentError', 'netdb:invalid_argument', -72) {}
/** The kind mesh:invalid_argument: a mesh argument was invalid (an address, a limit, a timeout, a connect to the node itself). */
export class InvalidMeshArgumentError extends kindClass('InvalidMeshArgumentError', 'mesh:invalid_argument', -89) {}
/** The kind audit:io: an audit log could not be opened or written. */
export class AuditIoError extends kindClass('AuditIoError', 'audit:io', -90) {}

/** Every kind's class, keyed by kind string. */
export const ERRORS_BY_KIND: ReadonlyMap<string, typeof NetError> = new Map(
  [
    NullPointerError, InvalidHandleError, InvalidUtf8Error, PanicError, AbiMismatchError,
    InvalidConfigError, BackpressureError, ShutdownError, EventTooLargeError, InvalidJsonError,
    InvalidCursorError, InvalidFilterError, InvalidArgumentError, InvalidSeedError, InvalidKeyError,
    BadSignatureError, EntropyUnavailableError, MalformedError, LogClosedError, PayloadTooLargeError,
    SegmentFullError, IoError, CorruptError, FoldStoppedError, TimeoutError, DecodeError,
    ModelMissingError, InvalidSnapshotError, InvalidMeshConfigError, HandshakeFailedError,
    MeshTimeoutError, UnknownPeerError, MessageTooLargeError, MeshShutdownError, MeshIoError,
    StreamBackpressureError, UntrustedPeerError, LogLockedError, InvalidLogConfigError,
    InvalidLogArgumentError, SequenceExhaustedError, InvalidDbArgumentError,
    InvalidMeshArgumentError, AuditIoError,
  ].map((cls) => [new cls('').kind, cls] as [string, typeof NetError]),
);

/** The engine's own table (for checks). */
export function engineErrorKinds(): native.ErrorKindInfo[] {
  return native.errorKinds();
}

/** Turns an error thrown by the addon into its typed class (others pass through). */
export function classify(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof NetError) return err;
  const colon = err.message.indexOf(': ');
  const kind = colon > 0 ? err.message.slice(0, colon) : err.message;
  const cls = ERRORS_BY_KIND.get(kind);
  return cls ? new cls(err.message) : err;
}

/** Runs `fn`, rethrowing addon errors as typed classes. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw classify(err);
  }
}
