import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ParseOptions, ParsedMail } from './parse-mail';

export class ParseTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`parsing took longer than ${ms} ms`);
    this.name = 'ParseTimeoutError';
  }
}

export class ParseFailedError extends Error {
  constructor(reason: string) {
    super(`mail could not be parsed: ${reason}`);
    this.name = 'ParseFailedError';
  }
}

interface Task {
  id: number;
  raw: Buffer;
  resolve: (r: ParsedMail) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its modules: the timeout measures parsing, not start-up. */
  ready: boolean;
  task?: Task;
  timer?: NodeJS.Timeout;
  /** Starts a spare thread if this parse is still running while mails wait. */
  spareTimer?: NodeJS.Timeout;
  /** Ends this thread if it stays idle (never the last one). */
  idleTimer?: NodeJS.Timeout;
}

/**
 * The time a mail may take: the base for every mail plus a share per MB, since decoding a 27 MB
 * mail (a 20 MB attachment) is linear work that no fixed budget fits without also letting a
 * small pathological mail run that long.
 */
export function parseTimeoutFor(bytes: number, baseMs: number, perMbMs: number): number {
  return Math.round(baseMs + (perMbMs * bytes) / (1024 * 1024));
}

/** An idle thread beyond the first is ended after this long. */
const SPARE_IDLE_MS = 30_000;

/**
 * Source of the worker bootstrap. In a build the worker is plain JS; under jest and run-ts the app
 * runs from .ts sources, so the worker registers the transform and aliases of
 * scripts/ts-register.cjs, as run-ts does.
 */
function bootstrap(entry: string): string {
  if (!entry.endsWith('.ts')) return `require(${JSON.stringify(entry)});`;
  let root = dirname(entry);
  while (!existsSync(join(root, 'scripts/ts-register.cjs')) && dirname(root) !== root) root = dirname(root);
  return `require(${JSON.stringify(join(root, 'scripts/ts-register.cjs'))}).register(${JSON.stringify(root)});
require(${JSON.stringify(entry)});`;
}

export interface ParserPoolTuning {
  /** Young-generation cap of each thread (worker_threads resourceLimits). */
  youngGenerationMb?: number;
  /**
   * Threads beyond the first start only when a parse has run this long while mails wait
   * (a slow mail), and end after SPARE_IDLE_MS idle. 0: all threads from the start.
   */
  spareAfterMs?: number;
  /** Extra parse time per MB of raw mail (parseTimeoutFor). */
  timeoutPerMbMs?: number;
}

/**
 * Parses mail in worker threads: the event loop (IMAP, queues, health) never
 * waits on a hostile MIME tree, and a parse running past the timeout is ended
 * by terminating its worker — the only way to stop a runaway synchronous parse.
 * Each thread is an isolate of its own (tens of MB), and one thread out-parses
 * what the rest of the import can take, so the extra threads are spares for
 * when a slow mail holds one up, not a standing cost.
 */
export class ParserPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly entry: string;

  constructor(
    private readonly size: number,
    private readonly timeoutMs: number,
    private readonly options: ParseOptions,
    private readonly tuning: ParserPoolTuning = {},
  ) {
    const ts = join(__dirname, 'parse-worker.ts');
    this.entry = __filename.endsWith('.ts') && existsSync(ts) ? ts : join(__dirname, 'parse-worker.js');
    const initial = tuning.spareAfterMs ? 1 : size;
    for (let i = 0; i < initial; i++) this.slots.push(this.spawn());
  }

  /** Threads running now (tests and /metrics). */
  get threads(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap(this.entry), {
      eval: true,
      resourceLimits: this.tuning.youngGenerationMb
        ? { maxYoungGenerationSizeMb: this.tuning.youngGenerationMb }
        : undefined,
    });
    const slot: Slot = { worker, ready: false };
    worker.on('message', (msg: { ready?: boolean; id: number; ok: boolean; result?: ParsedMail; error?: string }) => {
      if (msg.ready) {
        slot.ready = true;
        return this.pump();
      }
      const task = slot.task;
      if (!task || task.id !== msg.id) return;
      this.finish(slot);
      if (msg.ok) task.resolve(msg.result!);
      else task.reject(new ParseFailedError(msg.error ?? 'unknown error'));
      this.pump();
    });
    worker.on('error', (err) => this.replace(slot, new ParseFailedError(err.message)));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, new ParseFailedError('parser worker exited'));
    });
    worker.unref();
    return slot;
  }

  private finish(slot: Slot) {
    clearTimeout(slot.timer);
    clearTimeout(slot.spareTimer);
    slot.timer = slot.spareTimer = undefined;
    slot.task = undefined;
    if (this.tuning.spareAfterMs && !this.closed && this.slots.length > 1) {
      slot.idleTimer = setTimeout(() => this.retire(slot), SPARE_IDLE_MS);
      slot.idleTimer.unref();
    }
  }

  /** A parse is still running and mails wait: start one more thread, up to the size. */
  private grow() {
    if (this.closed || !this.waiting.length || this.slots.length >= this.size) return;
    if (this.slots.some((s) => !s.ready)) return; // one is starting already
    this.slots.push(this.spawn());
  }

  private retire(slot: Slot) {
    if (slot.task || this.slots.length <= 1 || !this.slots.includes(slot)) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    void slot.worker.terminate();
  }

  /** Drops a broken or timed-out worker, failing its task, and starts a fresh one. */
  private replace(slot: Slot, error: Error) {
    const idx = this.slots.indexOf(slot);
    if (idx < 0) return;
    const task = slot.task;
    this.finish(slot);
    this.slots.splice(idx, 1);
    void slot.worker.terminate();
    if (!this.closed) this.slots.push(this.spawn());
    task?.reject(error);
    this.pump();
  }

  parse(raw: Buffer): Promise<ParsedMail> {
    if (this.closed) return Promise.reject(new Error('parser pool is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, raw, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    for (const slot of this.slots) {
      if (slot.task || !slot.ready) continue;
      const task = this.waiting.shift();
      if (!task) return;
      slot.task = task;
      clearTimeout(slot.idleTimer);
      const ms = parseTimeoutFor(task.raw.byteLength, this.timeoutMs, this.tuning.timeoutPerMbMs ?? 0);
      slot.timer = setTimeout(() => this.replace(slot, new ParseTimeoutError(ms)), ms);
      if (this.tuning.spareAfterMs && this.slots.length < this.size) {
        slot.spareTimer = setTimeout(() => this.grow(), this.tuning.spareAfterMs);
        slot.spareTimer.unref();
      }
      slot.worker.postMessage({ id: task.id, raw: task.raw, options: this.options });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.reject(new Error('parser pool is closed'));
    await Promise.all(
      this.slots.map((s) => {
        s.task?.reject(new Error('parser pool is closed'));
        this.finish(s);
        clearTimeout(s.idleTimer);
        return s.worker.terminate();
      }),
    );
    this.slots.length = 0;
  }
}
