import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDataSource, ensureDatabaseExists } from '@oq/database';
import { TestDatabase } from '@oq/database/testing/test-env';
import { freePort } from './redis-server';

const run = promisify(execFile);

/** Debian's binaries (/usr/lib/postgresql/<version>/bin, newest first) unless PG_BIN names them. */
function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no PostgreSQL under /usr/lib/postgresql (set PG_BIN)');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * A throwaway PostgreSQL cluster for tests that stop Postgres: initdb on a free port under a temp
 * directory, so the shared server is never touched. Postgres refuses to run as root, so as root
 * (jest here) it runs as the `postgres` user through runuser. `stop` is an immediate shutdown, a
 * crash as far as clients can tell; the next `start` recovers from the WAL.
 */
export class PostgresServerProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'oq-pg-'));
  private readonly bin = binDir();
  private running = false;
  private constructor(readonly port: number) {}

  static async start(): Promise<PostgresServerProcess> {
    const server = new PostgresServerProcess(await freePort());
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(server.dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await server.pg('initdb', ['-D', server.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await server.start();
    return server;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** A database URL on this server. */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      // No fsync: only an OS crash could lose what was committed. synchronous_commit stays on: an
      // immediate shutdown would lose commits whose WAL was still in shared memory.
      '-c fsync=off',
    ].join(' ');
    await this.pg('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
    this.running = true;
  }

  /** Immediate shutdown: connections drop at once, as in an outage. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
    this.running = false;
  }

  /** A database created and migrated like `npm run migrate` does it. */
  async migratedDatabase(name: string): Promise<TestDatabase> {
    const url = this.url(name);
    await ensureDatabaseExists(url);
    const ds = createDataSource({ url, poolSize: 1, applicationName: 'test-migrate' });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
    // Dropped with the whole cluster by destroy().
    return { name, url, drop: async () => undefined };
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const path = join(this.bin, tool);
    const [cmd, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    await run(cmd as string, argv as string[], { cwd: this.dir });
  }
}
