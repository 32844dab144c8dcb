import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { dovecotConfig, dovecotPasswd } from './dovecot-config';

/**
 * The demo's mailbox server: a Dovecot of its own under `dir` (var/demo/dovecot), mail kept across
 * restarts, the config and passwd-file rewritten on every start so the demo inbox's current
 * password (derived from DEMO_KEY) logs in. `stop()` ends the daemon it started.
 */
export async function startDemoDovecot(opts: {
  dir: string;
  port: number;
  /** Where IMAP listens: loopback, or every address when the demo runs in its own container. */
  host?: string;
  users: Record<string, string>;
}): Promise<{ dir: string; stop(): void }> {
  if (spawnSync('which', ['dovecot']).status !== 0)
    throw new Error('dovecot is not installed (Debian: apt-get install dovecot-imapd; npm start installs it as root)');
  const root = process.getuid?.() === 0;
  const d = demoDovecotDir(opts.dir);
  mkdirSync(join(d, 'mail'), { recursive: true });
  if (root) {
    chmodSync(dirname(d), 0o755);
    chmodSync(d, 0o755);
  }
  // As root Dovecot reads mail as its own user: the maildir root must be that user's.
  if (root) spawnSync('chown', ['-R', 'dovecot:dovecot', join(d, 'mail')]);
  const conf = join(d, 'dovecot.conf');
  writeFileSync(
    conf,
    dovecotConfig({ dir: d, port: opts.port, host: opts.host, user: root ? null : userInfo().username }),
  );
  writeFileSync(`${d}/passwd.tmp`, dovecotPasswd(Object.entries(opts.users)), { mode: 0o600 });
  renameSync(`${d}/passwd.tmp`, `${d}/passwd`);
  if (root) spawnSync('chown', ['dovecot', `${d}/passwd`]);
  stopDovecot(d, conf); // one left by an earlier run that did not stop cleanly
  // The master daemonises; detached stdio so it holds none of our pipes.
  const master = spawnSync('dovecot', ['-c', conf], { stdio: 'ignore' });
  if (master.status !== 0) throw new Error(`dovecot exited with ${master.status}; see ${d}/dovecot.log`);
  const deadline = Date.now() + 10_000;
  while (!(await answers(opts.port))) {
    if (Date.now() > deadline)
      throw new Error(`dovecot did not answer on 127.0.0.1:${opts.port}; see ${d}/dovecot.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dir: d, stop: () => stopDovecot(d, conf) };
}

/**
 * Where the demo Dovecot of `dir` keeps its files. As root Dovecot reads mail as its `dovecot`
 * user, which cannot enter a clone under /root or a 0700 temp dir: they then live in a directory
 * of their own, one per clone.
 */
export function demoDovecotDir(dir: string): string {
  return process.getuid?.() === 0
    ? `/var/lib/onequeue-demo/dovecot-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12)}`
    : dir;
}

/** Stops the demo Dovecot of `dir` if one runs (a stack that was killed rather than stopped leaves it). */
export function stopDemoDovecot(dir: string): void {
  const d = demoDovecotDir(dir);
  stopDovecot(d, join(d, 'dovecot.conf'));
}

function stopDovecot(dir: string, conf: string) {
  let pid = 0;
  try {
    pid = Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim());
  } catch {
    return; // none running from this directory
  }
  spawnSync('doveadm', ['-c', conf, 'stop'], { stdio: 'ignore' });
  try {
    if (pid) process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
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
