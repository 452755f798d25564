/** Test helpers the test files share (no tests here). */
import assert from 'node:assert/strict';

/** Polls `cond` every few milliseconds until it holds, failing after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
