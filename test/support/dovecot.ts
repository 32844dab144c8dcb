import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { dovecotConfig, dovecotPasswd } from '../../demo/mail/dovecot-config';
import { freePort } from './redis-server';

const run = promisify(execFile);

/**
 * A throwaway Dovecot IMAP server for tests (Debian package dovecot-imapd):
 * its own config, state and maildir in a temp dir, plaintext auth on a free
 * port. Mail arrives the way it does in production — over IMAP (APPEND).
 */
export class DovecotServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'oq-dovecot-'));
  private readonly users = new Map<string, string>();
  private constructor(readonly port: number) {}

  get conf(): string {
    return join(this.dir, 'dovecot.conf');
  }

  static async start(users: Record<string, string> = {}): Promise<DovecotServer> {
    if (spawnSync('which', ['dovecot']).status !== 0) {
      throw new Error('dovecot is not installed: apt-get install -y dovecot-imapd');
    }
    const server = new DovecotServer(await freePort());
    for (const [u, p] of Object.entries(users)) server.users.set(u, p);
    server.writeConfig();
    // dovecot daemonizes; its forked master keeps inherited pipes open, so detach stdio.
    const master = spawnSync('dovecot', ['-c', server.conf], { stdio: 'ignore' });
    if (master.status !== 0) throw new Error(`dovecot exited with ${master.status}; see ${server.dir}/dovecot.log`);
    const deadline = Date.now() + 10_000;
    while (!(await server.answers())) {
      if (Date.now() > deadline) throw new Error(`dovecot on ${server.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  }

  private writeConfig() {
    const d = this.dir;
    chmodSync(d, 0o755);
    // Dovecot drops to the dovecot user for mail access: the maildir root must be its own.
    mkdirSync(join(d, 'mail'));
    spawnSync('chown', ['dovecot:dovecot', join(d, 'mail')]);
    writeFileSync(join(d, 'passwd'), dovecotPasswd(this.users));
    writeFileSync(this.conf, dovecotConfig({ dir: d, port: this.port, user: null }));
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      s.setTimeout(500);
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
  }

  /**
   * Adds a user. Dovecot stats its passwd-file at most once a second, so a login right after
   * the write can still fail: this returns once the new user can log in.
   */
  async addUser(user: string, password: string): Promise<void> {
    this.users.set(user, password);
    // Written aside and renamed: Dovecot must never read it half-written.
    const file = join(this.dir, 'passwd');
    writeFileSync(`${file}.tmp`, dovecotPasswd(this.users));
    renameSync(`${file}.tmp`, file);
    const deadline = Date.now() + 8000;
    for (;;) {
      try {
        await (await this.client(user)).logout();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async client(user: string): Promise<ImapFlow> {
    const password = this.users.get(user);
    if (password === undefined) throw new Error(`unknown dovecot user ${user}`);
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: this.port,
      secure: false,
      auth: { user, pass: password },
      logger: false,
    });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** IMAP APPEND of raw messages; returns their UIDs. */
  async append(
    user: string,
    messages: (string | Buffer)[],
    options: { folder?: string; internalDate?: Date } = {},
  ): Promise<number[]> {
    const client = await this.client(user);
    try {
      const uids: number[] = [];
      for (const raw of messages) {
        const res = await client.append(options.folder ?? 'INBOX', raw, [], options.internalDate);
        uids.push(res && typeof res === 'object' && 'uid' in res ? Number(res.uid) : 0);
      }
      return uids;
    } finally {
      await client.logout().catch(() => undefined);
    }
  }

  /** Gives a mailbox a new UIDVALIDITY, as a server does after a rebuild or migration. */
  async changeUidValidity(user: string, folder = 'INBOX', uidValidity?: number): Promise<number> {
    const value = uidValidity ?? Math.floor(Date.now() / 1000) + Math.floor(Math.random() * 100000);
    await run('doveadm', ['-c', this.conf, 'mailbox', 'update', '-u', user, '--uid-validity', String(value), folder]);
    return value;
  }

  async stop(): Promise<void> {
    await run('doveadm', ['-c', this.conf, 'stop']).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while ((await this.answers()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
