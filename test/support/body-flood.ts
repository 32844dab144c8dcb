/**
 * An attacker as its own process (test/e2e/body-limits.spec.ts): lanes that each post one huge
 * body after another to unauthenticated routes, with a Content-Length and chunked. Bodies are
 * streamed from one 64 KiB chunk, so 32 lanes of 29 MB cost this process next to nothing.
 *
 * Run: node scripts/run-ts.cjs test/support/body-flood.ts '<FloodPlan JSON>' with an IPC channel.
 * It starts paused. `"flood"` starts the lanes and is answered `{ flooding: true }` once every lane
 * has had an answer; `"pause"` lets each lane finish its body and is answered `{ paused: true }`;
 * `"stop"` is answered `{ answers }` (per status code, "reset" for a connection closed before one).
 */
import { request } from 'node:http';

export interface FloodPlan {
  targets: { url: string; contentType: string }[];
  lanes: number;
  bytes: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

function post(url: string, contentType: string, bytes: number, chunked: boolean): Promise<string> {
  return new Promise((answer) => {
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (!chunked) headers['content-length'] = bytes;
    const req = request(url, { method: 'POST', headers, agent: false });
    req.once('response', (res) => {
      answer(String(res.statusCode));
      res.resume();
      req.destroy();
    });
    req.once('error', () => answer('reset'));
    let sent = 0;
    const pump = () => {
      while (!req.destroyed) {
        if (sent >= bytes) return void req.end();
        const chunk = bytes - sent < CHUNK.length ? CHUNK.subarray(0, bytes - sent) : CHUNK;
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

async function main() {
  const plan = JSON.parse(process.argv[2]) as FloodPlan;
  const answers: Record<string, number> = {};
  let flooding = false;
  let resume: () => void = () => undefined;
  let resumed = new Promise<void>((r) => (resume = r));
  /** Lanes without an answer since "flood"; null once all have had one. */
  let unanswered: Set<number> | null = null;
  let idle = new Set<number>();
  const lane = async (n: number) => {
    const { url, contentType } = plan.targets[n % plan.targets.length];
    // Each target gets lanes of both kinds.
    const chunked = Math.floor(n / plan.targets.length) % 2 === 1;
    for (;;) {
      if (!flooding) {
        idle.add(n);
        if (idle.size === plan.lanes) process.send!({ paused: true });
        await resumed;
      }
      const status = await post(url, contentType, plan.bytes, chunked);
      answers[status] = (answers[status] ?? 0) + 1;
      if (unanswered?.delete(n) && !unanswered.size) {
        unanswered = null;
        process.send!({ flooding: true });
      }
    }
  };
  process.on('message', (command: 'flood' | 'pause' | 'stop') => {
    if (command === 'flood') {
      flooding = true;
      unanswered = new Set(Array.from({ length: plan.lanes }, (_, n) => n));
      idle = new Set();
      resume();
    } else if (command === 'pause') {
      flooding = false;
      resumed = new Promise<void>((r) => (resume = r));
    } else process.send!({ answers }, () => process.exit(0));
  });
  for (let n = 0; n < plan.lanes; n++) void lane(n);
}

void main();
