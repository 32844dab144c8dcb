/**
 * A CPU profile of one phase of a benchmark, taken from a service started with
 * `--inspect=127.0.0.1:<port>` (BENCH_NODE_ARGS) through the DevTools protocol: unlike
 * `--cpu-prof`, it covers only the phase and needs no clean exit (services end by SIGTERM).
 * The summary is self time per package (or app file) and the heaviest functions.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface PhaseProfiler {
  stop(): Promise<string>;
}

/** Starts profiling the process listening for the inspector on `port`; stop() returns the summary. */
export async function profilePhase(port: number, label: string, dir = '/tmp'): Promise<PhaseProfiler> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 500 });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = (await send('Profiler.stop')) as { profile: Profile };
      ws.close();
      writeFileSync(`${dir}/${label}.cpuprofile`, JSON.stringify(profile));
      return summarize(profile);
    },
  };
}

function where(url: string): string {
  if (!url) return '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const app = /dist\/((?:apps|libs)\/.+)$/.exec(url);
  if (app) return app[1].replace(/\.js$/, '');
  return url.startsWith('node:') ? 'node' : url;
}

/** Self time by package / file and the top functions, as a few lines. */
export function summarize(p: Profile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self]
    .filter(([n]) => byId.get(n)?.callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const byPlace = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [nid, t] of self) {
    const n = byId.get(nid)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const place = n.callFrame.url ? where(n.callFrame.url) : n.callFrame.functionName || '(native)';
    byPlace.set(place, (byPlace.get(place) ?? 0) + t);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, t]) => `${name} ${((t / busy) * 100).toFixed(1)}%`)
      .join(', ');
  return (
    `busy ${((busy / total) * 100).toFixed(0)}% of ${(total / 1e6).toFixed(1)} s; by place: ${top(byPlace, 14)}\n` +
    `   top functions: ${top(byFn, 14)}`
  );
}
