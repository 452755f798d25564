/** Wire codecs of the mesh: the 64-byte Net header and the 18-byte routing header. */
import * as native from '@netmesh/core';
import { call } from './errors';

/** The header carried by every mesh packet. 64-bit fields are bigints. */
export interface NetHeader {
  version: number;
  flags: number;
  priority: number;
  hopTtl: number;
  hopCount: number;
  fragFlags: number;
  subprotocolId: number;
  channelHash: number;
  nonce: Buffer;
  sessionId: bigint;
  streamId: bigint;
  sequence: bigint;
  subnetId: number;
  originHash: number;
  fragmentId: number;
  fragmentOffset: number;
  payloadLen: number;
  eventCount: number;
}

/** The header that precedes a routed packet. */
export interface RoutingHeader {
  ttl: number;
  hopCount: number;
  flags: number;
  srcId: number;
  destId: bigint;
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const U64 = new Set(['sessionId', 'streamId', 'sequence', 'destId']);

function toEngine(h: object): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    out[snake(k)] = Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? v.toString() : v;
  }
  return JSON.stringify(out);
}

function fromEngine<T>(json: string): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(JSON.parse(json) as Record<string, unknown>)) {
    const key = camel(k);
    out[key] = key === 'nonce' ? Buffer.from(v as string, 'hex') : U64.has(key) ? BigInt(v as string) : v;
  }
  return out as T;
}

/** Encodes a Net header into its 64 bytes. */
export function encodeNetHeader(h: NetHeader): Buffer {
  return call(() => native.headerEncode(toEngine(h)));
}

/** Decodes the Net header at the start of `data` (MalformedError with the reason otherwise). */
export function decodeNetHeader(data: Uint8Array): NetHeader {
  return fromEngine<NetHeader>(call(() => native.headerDecode(Buffer.from(data))));
}

/** Encodes a routing header into its 18 bytes. */
export function encodeRoutingHeader(h: RoutingHeader): Buffer {
  return call(() => native.routingEncode(toEngine(h)));
}

/** Decodes the routing header at the start of `data`. */
export function decodeRoutingHeader(data: Uint8Array): RoutingHeader {
  return fromEngine<RoutingHeader>(call(() => native.routingDecode(Buffer.from(data))));
}
