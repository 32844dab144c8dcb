import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server in its own process (smtp-server package) as the outbound
 * sink for tests and the benchmark. It records every accepted mail and can be
 * told to answer the next N transactions with a 4xx or 5xx.
 */

export interface SinkMail {
  from: string;
  to: string[];
  raw: Buffer;
  acceptedAt: number;
}

type ToChild = { type: 'fail'; count: number; code: number; message: string };
type FromChild =
  | { type: 'listening'; port: number }
  | { type: 'mail'; from: string; to: string[]; raw: string; acceptedAt: number }
  | { type: 'rejected'; code: number };

export class SmtpSink {
  readonly mails: SinkMail[] = [];
  rejected = 0;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.on('message', (m: FromChild) => {
      if (m.type === 'mail') {
        this.mails.push({ from: m.from, to: m.to, raw: Buffer.from(m.raw, 'base64'), acceptedAt: m.acceptedAt });
      } else if (m.type === 'rejected') this.rejected++;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async start(): Promise<SmtpSink> {
    const root = join(__dirname, '..', '..');
    const proc = spawn(process.execPath, [join(root, 'scripts', 'run-ts.cjs'), __filename], {
      cwd: root,
      env: { ...process.env, OQ_SMTP_SINK_CHILD: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('smtp sink did not start')), 20_000);
      proc.once('exit', (code) => reject(new Error(`smtp sink exited with ${code}`)));
      proc.on('message', (m: FromChild) => {
        if (m.type === 'listening') {
          clearTimeout(timer);
          resolve(m.port);
        }
      });
    });
    return new SmtpSink(proc, port);
  }

  /** The next `count` mail transactions are answered with `code message` (451 → retry, 550 → permanent). */
  failNext(
    count: number,
    code: number,
    message = code >= 500 ? 'Requested action not taken: mailbox unavailable' : 'Try again later',
  ) {
    this.proc.send({ type: 'fail', count, code, message } satisfies ToChild);
  }

  async waitFor(predicate: (mails: SinkMail[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.mails)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`smtp sink: condition not met within ${timeoutMs} ms (${this.mails.length} mails)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGTERM');
    });
  }
}

/** Child side: the SMTP server itself. */
function serve() {
  let failures: { count: number; code: number; message: string } = { count: 0, code: 0, message: '' };
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', (m: ToChild) => {
    if (m.type === 'fail') failures = { count: m.count, code: m.code, message: m.message };
  });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onAuth(_auth, _session, cb) {
      cb(null, { user: 'sink' });
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures.count > 0) {
          failures.count--;
          const err = Object.assign(new Error(failures.message), { responseCode: failures.code });
          send({ type: 'rejected', code: failures.code });
          return cb(err);
        }
        send({
          type: 'mail',
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('base64'),
          acceptedAt: Date.now(),
        });
        cb();
      });
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.server.address() as { port: number };
    send({ type: 'listening', port: addr.port });
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

// Started by SmtpSink.start() through scripts/run-ts.cjs with an IPC channel.
if (process.env.OQ_SMTP_SINK_CHILD === '1' && process.send) serve();
