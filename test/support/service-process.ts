import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..', '..');

/**
 * A service as its own process, started from source through its main.ts (runService, as
 * `npm start` runs it): for what only a process shows — the address it binds, its own RSS, an
 * event loop no load generator shares. Needs LOG_LEVEL info or lower: the "listening on" line
 * says where it listens (a port of 0 picks a free one).
 */
export interface ServiceProcess {
  /** host:port from the "listening on" line. */
  address: string;
  url: string;
  pid: number;
  /** Resident set size in MiB, from /proc (Linux). */
  rssMb(): number;
  /** CPU time (user + system) used so far, in seconds, from /proc (Linux). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startServiceProcess(service: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'scripts/run-ts.cjs'), join(ROOT, 'apps', service, 'src/main.ts')],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  try {
    const address = await new Promise<string>((resolveAddress, reject) => {
      const timer = setTimeout(() => reject(new Error(`${service} did not start within 90 s:\n${stderr}`)), 90_000);
      lines.on('line', (line) => {
        let entry: { msg?: string; address?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          return;
        }
        if (entry.address && entry.msg === `${service} listening on ${entry.address}`) {
          clearTimeout(timer);
          // Drained from now on, not parsed: request logs would cost the test's own event loop.
          lines.close();
          child.stdout!.resume();
          resolveAddress(entry.address);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${service} exited with ${code} while starting:\n${stderr}`));
      });
    });
    return {
      address,
      url: `http://${address}`,
      pid: child.pid!,
      rssMb() {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return kb ? Number(kb[1]) / 1024 : NaN;
      },
      cpuSeconds: () => cpuSeconds(child.pid!),
      stop: () => stop(child),
    };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

export function cpuSeconds(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
