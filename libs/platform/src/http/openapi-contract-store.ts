import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the OpenAPI contract check (openapi-contract.ts) found, kept apart from the checker so the
 * jest hooks that read it load neither ajv nor Nest. In memory per test file (jest gives each
 * file its own global object), and, when OPENAPI_CONTRACT_DIR is set, appended to files there,
 * so a service run as a child process and every jest worker report into one place.
 */
export interface ContractViolation {
  service: string;
  method: string;
  /** The operation's path as documented, e.g. /v1/tickets/{id}. */
  path: string;
  status: number;
  problem: string;
}

export interface ContractStore {
  violations: ContractViolation[];
  /** `<service> <operation>` (`ticket-service GET /v1/tickets/{id}`) → statuses it answered. */
  exercised: Map<string, Set<number>>;
  /** `<service> <operation>` of every operation the services booted here document. */
  documented: Set<string>;
}

const STORE = Symbol.for('oq.openapi-contract.store');

export function contractStore(): ContractStore {
  const g = globalThis as { [STORE]?: ContractStore };
  return (g[STORE] ??= { violations: [], exercised: new Map(), documented: new Set() });
}

export const operationKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export function formatViolation(v: ContractViolation): string {
  return `${v.service}: ${v.method} ${v.path} answered ${v.status}: ${v.problem}`;
}

type Line =
  | ({ kind: 'violation' } & ContractViolation)
  | { kind: 'exercised'; service: string; operation: string; status: number }
  | { kind: 'documented'; service: string; operations: string[] };

export function appendContractRecord(dir: string, line: Line): void {
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
}

/** Everything every process recorded under `dir`. */
export function readContractRecords(dir: string): {
  violations: ContractViolation[];
  exercised: Set<string>;
  documented: Set<string>;
} {
  const violations: ContractViolation[] = [];
  const exercised = new Set<string>();
  const documented = new Set<string>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    /* nothing recorded */
  }
  for (const file of files)
    for (const text of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!text) continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue; // a line cut short by a killed process
      }
      if (line.kind === 'violation') {
        const { kind: _, ...v } = line;
        violations.push(v);
      } else if (line.kind === 'exercised') exercised.add(`${line.service} ${line.operation}`);
      else for (const op of line.operations) documented.add(`${line.service} ${op}`);
    }
  return { violations, exercised, documented };
}
