/** Node identity: ed25519 keypairs from 32-byte seeds, node ids, signatures. */
import * as native from '@netmesh/core';
import { call } from './errors';

/** A node's keypair. `Identity.fromSeed(seed)` is deterministic. */
export class Identity {
  private constructor(private readonly native: native.Identity) {}

  /** The identity for a 32-byte seed (InvalidSeedError otherwise). */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(call(() => native.Identity.fromSeed(Buffer.from(seed))));
  }

  /** A fresh random identity. */
  static generate(): Identity {
    return new Identity(call(() => native.Identity.generate()));
  }

  /** The secret seed: treat it like a password. */
  get seed(): Buffer {
    return this.native.seed();
  }

  /** The 32-byte public key (the entity id). */
  get publicKey(): Buffer {
    return this.native.publicKey();
  }

  /** The 64-bit node id. */
  get nodeId(): bigint {
    return this.native.nodeId();
  }

  /** The 64-byte signature of `message`. */
  sign(message: Uint8Array): Buffer {
    return this.native.sign(Buffer.from(message));
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKey.toString('hex') };
  }
}

/** Throws BadSignatureError (or InvalidKeyError) unless the signature is valid. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  call(() => native.verify(Buffer.from(publicKey), Buffer.from(message), Buffer.from(signature)));
}

/** The node id and origin hash of a public key. */
export function publicKeyIds(publicKey: Uint8Array): { nodeId: bigint; originHash: number } {
  return call(() => native.publicKeyIds(Buffer.from(publicKey)));
}
