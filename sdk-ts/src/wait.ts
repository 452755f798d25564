/**
 * The SDK's one wait rule and its one JSON rule.
 *
 * Waits: a timeout is checked by the engine (`NaN` and negative values throw
 * the area's invalid-argument error; none, `Infinity` and huge values wait
 * without limit). The addon waits on the libuv pool for at most one slice at
 * a time (`waitSliceMs()`), and {@link sliced} calls it again until the
 * deadline, so no wait holds a pool thread for long.
 *
 * JSON: what goes to the engine keeps every value the caller gave, so the
 * engine's checks see it — `NaN` and `Infinity` travel as strings (which the
 * engine refuses) instead of turning into `null`, and a `bigint` travels as a
 * decimal string, exact.
 */
import * as native from '@netmesh/core';
import { call, classify } from './errors';

/** The area whose invalid-argument error a bad timeout reports. */
export type Area = 'bus' | 'mesh' | 'redex' | 'netdb';

/** When a wait of `timeoutMs` from now ends (`Infinity`: never). */
export function deadlineOf(timeoutMs: number | undefined | null, area: Area): number {
  const ms = call(() => native.checkTimeout(timeoutMs ?? null, area));
  return ms < 0 ? Infinity : Date.now() + ms;
}

/** What is left until `deadline`, for the addon (-1: no limit). */
export function remainingMs(deadline: number): number {
  return deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
}

/** Whether `deadline` has passed. */
export function expired(deadline: number): boolean {
  return deadline !== Infinity && Date.now() >= deadline;
}

/**
 * Runs one slice at a time until `slice` returns something other than
 * `undefined` (its result), or the deadline passes (then `onTimeout()`).
 * Addon errors come back as typed errors.
 */
export async function sliced<T>(
  deadline: number,
  slice: (remainingMs: number, cancel: native.CancelToken | null) => Promise<T | undefined>,
  onTimeout: () => T,
  signal?: AbortSignal,
): Promise<T> {
  // An AbortSignal cancels the engine's token: the slice in progress wakes at
  // once, takes nothing, and the wait rejects with the signal's reason.
  if (signal?.aborted) throw signal.reason;
  const token = signal ? new native.CancelToken() : null;
  const onAbort = (): void => token?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let out: T | undefined;
      try {
        out = await slice(remainingMs(deadline), token);
      } catch (err) {
        if (signal?.aborted && (err as { code?: unknown }).code === 'call:cancelled') throw signal.reason;
        throw classify(err);
      }
      if (out !== undefined) return out;
      if (expired(deadline)) return onTimeout();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** JSON for the engine (see the module docs). */
export function engineJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    return v;
  });
}
