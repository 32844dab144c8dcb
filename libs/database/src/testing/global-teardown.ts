import { rmSync } from 'node:fs';
import { formatViolation, readContractRecords } from '../../../platform/src/http/openapi-contract-store';
// (A relative import: jest loads this file outside its module map.)

export default async function globalTeardown() {
  // Each test file drops its own database and queue keys; what is shared is the run's OpenAPI contract record.
  const dir = process.env.OPENAPI_CONTRACT_DIR;
  if (!dir) return;
  const { violations, exercised, documented } = readContractRecords(dir);
  rmSync(dir, { recursive: true, force: true });
  const never = [...documented].filter((op) => !exercised.has(op)).sort();
  if (documented.size)
    process.stdout.write(
      `OpenAPI contract: ${documented.size - never.length} of ${documented.size} documented operations answered in this run` +
        (never.length ? `; never: ${never.slice(0, 10).join(', ')}${never.length > 10 ? ', …' : ''}` : '') +
        '\n',
    );
  if (violations.length) {
    const lines = [...new Set(violations.map(formatViolation))];
    throw new Error(
      `${lines.length} response(s) broke their service's OpenAPI document:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
    );
  }
}
