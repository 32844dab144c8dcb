import { contractStore, formatViolation } from '@oq/platform/http/openapi-contract-store';

/**
 * Fails a test file whose requests got a response that breaks the service's OpenAPI document
 * (the check itself: libs/platform/src/http/openapi-contract.ts). The response was already
 * replaced by a 500; this names the method, route, status and schema error in the file's result.
 * Services run as child processes are reported by global-teardown.ts.
 */
afterAll(() => {
  const found = contractStore().violations.splice(0);
  if (!found.length) return;
  const lines = [...new Set(found.map(formatViolation))];
  throw new Error(
    `${lines.length} response(s) broke their service's OpenAPI document:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
  );
});
