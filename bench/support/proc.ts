/**
 * What a benchmark reads beside its own timings: CPU seconds of processes (/proc) and counters
 * and histograms of a service's /metrics, as Prometheus would scrape them.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * utime + stime in seconds of the processes whose /proc/<pid>/stat passes `match` (pid, comm),
 * plus their exited children's (cutime + cstime): Postgres backends that ended — a pool's idle
 * connections closing — would otherwise take their CPU time out of the sum.
 */
export function cpuSecondsOf(match: (pid: number, comm: string) => boolean): number {
  let ticks = 0;
  // Fields 14–17 of stat (utime, stime, cutime, cstime), counted from the state field (3) after the comm.
  for (const f of statsOf(match).values()) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** CPU ticks (own, not children's) per live process whose stat passes `match`: for per-process deltas. */
export function cpuTicksByPid(match: (pid: number, comm: string) => boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const [pid, f] of statsOf(match)) out.set(pid, Number(f[11]) + Number(f[12]));
  return out;
}

/** The /proc/<pid>/stat fields after the comm, per live process that passes `match`. */
function statsOf(match: (pid: number, comm: string) => boolean): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (match(pid, stat.slice(stat.indexOf('(') + 1, close))) out.set(pid, stat.slice(close + 2).split(' '));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export async function scrapeMetrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** The sum of a counter's (or a histogram's `_count`/`_sum`) samples over all label sets; 0 when absent. */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

/** A histogram's cumulative buckets (upper bound → count), summed over label sets. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const le = /le="([^"]+)"/.exec(m[1])![1];
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(m[2]));
  }
  return out;
}

/**
 * The upper bound (ms) of the bucket holding quantile `q` of what a histogram observed between two
 * scrapes (`before` may be empty): a histogram cannot say more than which bucket it is in.
 */
export function histogramQuantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const delta = bounds.map((b) => [b, (after.get(b) ?? 0) - (before.get(b) ?? 0)] as const);
  const total = delta.find(([b]) => b === Infinity)?.[1] ?? 0;
  if (!total) return NaN;
  const hit = delta.find(([, n]) => n >= total * q);
  return hit ? hit[0] * 1000 : Infinity;
}
