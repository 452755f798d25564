/**
 * Typed errors: one class per stable error kind, all extending NetError,
 * generated from the engine's one table (errors_table.ts). The addon throws
 * Errors whose `code` is the kind ("bus:shutdown"); {@link classify} turns
 * them into these classes by that code.
 */
import * as native from '@netmesh/core';
import { NetError } from './error_base';
import { ERROR_CLASSES } from './errors_table';

export { NetError } from './error_base';
export * from './errors_table';

/** Every kind's class, keyed by kind string. */
export const ERRORS_BY_KIND: ReadonlyMap<string, typeof NetError> = new Map(
  ERROR_CLASSES.map((cls) => [new cls('').kind, cls] as [string, typeof NetError]),
);

/** The engine's own table (for checks). */
export function engineErrorKinds(): native.ErrorKindInfo[] {
  return native.errorKinds();
}

/** Turns an error thrown by the addon into its typed class (others pass through). */
export function classify(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof NetError) return err;
  const code = (err as { code?: unknown }).code;
  const cls = typeof code === 'string' ? ERRORS_BY_KIND.get(code) : undefined;
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
