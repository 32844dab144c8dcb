/**
 * npm run bench:ab -- <before-commit> [after-commit] — is a refactoring free? The built stack
 * of two commits, measured in ONE run on this machine (machines here differ up to 3.5× in speed,
 * so only same-run numbers compare): BENCH_AB_ROUNDS (3) rounds, each running bench:ingest and
 * bench:queue once per commit, the order alternating per round (before/after, after/before, …)
 * so drift of the machine during the run falls on both sides.
 *
 * Each side runs its own checkout's benchmark against its own build (a detached worktree from
 * bench/support/baseline.ts; `after` defaults to this checkout as it is, built once here).
 * Compared: ingest_msgs_per_s (higher is better) and queue_p99_ms / queue_p50_ms (lower is
 * better), median of the rounds; `*_ratio` = after / before. The bar: within 10 %.
 * The benchmarks' own env passes through (e.g. BENCH_MESSAGES=50000 for a shorter ingest run, and
 * BENCH_VISIBLE_RATE below both sides' capacity: a fixed rate above it measures the backlog, not the code).
 */
import { execFileSync, spawn } from 'node:child_process';
import { buildBaseline } from '../support/baseline';
import { printResult, ROOT } from '../support/stack';

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 3);
const BENCHES = [
  { name: 'ingest', script: 'bench/ingest/run.ts', keys: ['ingest_msgs_per_s', 'visible_p99_ms', 'pg_ceiling'] },
  { name: 'queue', script: 'bench/queue/run.ts', keys: ['queue_p50_ms', 'queue_p99_ms'] },
] as const;
/** BENCH_AB_BENCHES=ingest (comma-separated) runs only those: a rerun of one number need not repeat the rest. */
const ONLY = process.env.BENCH_AB_BENCHES?.split(',').map((n) => n.trim());
const SELECTED = BENCHES.filter((b) => !ONLY || ONLY.includes(b.name));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs one benchmark in `dir` against that checkout's dist/, returning its RESULT fields. */
function runBench(dir: string, script: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.cjs', script], {
      cwd: dir,
      env: { ...process.env, BENCH_SKIP_BUILD: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${script} in ${dir} exited ${code} without a RESULT line`));
      const fields: Record<string, number> = {};
      for (const pair of line.slice('RESULT '.length).split(' ')) {
        const [k, v] = pair.split('=');
        if (v !== undefined && Number.isFinite(Number(v))) fields[k] = Number(v);
      }
      resolve(fields);
    });
  });
}

async function main() {
  const [beforeArg, afterArg] = process.argv.slice(2);
  if (!beforeArg) throw new Error('usage: npm run bench:ab -- <before-commit> [after-commit]');
  const before = buildBaseline(beforeArg);
  let after = ROOT;
  if (afterArg) after = buildBaseline(afterArg);
  else execFileSync('bash', ['scripts/build.sh'], { cwd: ROOT, stdio: 'inherit' });
  const rev = (dir: string) => execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir }).toString().trim();
  console.log(
    `A/B: before ${rev(before)} (${before}), after ${rev(after)}${afterArg ? '' : ' + working tree'} (${after})`,
  );

  const samples: Record<'before' | 'after', Record<string, number[]>> = { before: {}, after: {} };
  for (let round = 0; round < ROUNDS; round++)
    for (const bench of SELECTED) {
      const order: ('before' | 'after')[] = round % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) {
        console.log(`--- round ${round + 1}/${ROUNDS}: ${bench.name}, ${side}`);
        const fields = await runBench(side === 'before' ? before : after, bench.script);
        for (const key of bench.keys) (samples[side][key] ??= []).push(fields[key]);
      }
    }

  // Ratios as strings: printResult rounds numbers to one decimal.
  const result: Record<string, number | string> = { rounds: ROUNDS };
  for (const bench of SELECTED)
    for (const key of bench.keys) {
      const b = median(samples.before[key]);
      const a = median(samples.after[key]);
      result[`${key}_before`] = b;
      result[`${key}_after`] = a;
      result[`${key}_ratio`] = (a / b).toFixed(3);
    }
  console.log(`samples ${JSON.stringify(samples)}`);
  printResult(result);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
