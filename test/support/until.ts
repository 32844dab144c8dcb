/**
 * Polls `check` every 25 ms until it holds; throws naming `what` after `timeoutMs`. The one
 * generic wait of the test kits (email-test-kit re-exports it): wait for the event or state that
 * proves what a test expects, never for a fixed time.
 */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
