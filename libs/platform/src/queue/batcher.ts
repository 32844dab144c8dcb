/**
 * Gathers the calls that arrive while earlier work is in flight into one set-based call: job
 * handlers running side by side (a worker's concurrency) each submit their item and await their
 * own result, while the statements and round trips are paid once per batch instead of once per
 * job. An idle batcher runs a lone item on the next turn of the event loop, so a quiet queue pays
 * no added latency; under load the batch is whatever arrived meanwhile, up to `maxBatch`.
 *
 * A batch that throws is run again item by item (`runOne`), so one item that cannot succeed
 * (a deadlock victim, invalid data) fails only its own job, with its own error.
 */
export interface BatcherOptions<I, O> {
  /** The set-based form: one result per item, in item order. */
  runMany: (items: I[]) => Promise<O[]>;
  /** One item alone: used for a batch of one and when a batch failed. Defaults to runMany([item]). */
  runOne?: (item: I) => Promise<O>;
  /** Most items per batch (a worker's concurrency is the natural bound). */
  maxBatch: number;
  /** Batches running at once; 1 keeps items of one process in arrival order batch after batch. */
  maxInFlight?: number;
  /**
   * How long a batch that is not full waits for more items (ms; default 0: the next turn of the
   * event loop). Worth a millisecond or two where items arrive one by one from separate fetches —
   * a worker's jobs come back from Redis as its previous ones complete — and each batch costs round trips.
   */
  lingerMs?: number;
  /**
   * Items with the same key never share a batch: a later one waits for the next, so it sees what
   * the earlier one committed, as two jobs one after the other would (e.g. two commands for a ticket).
   */
  key?: (item: I) => string;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (err: unknown) => void;
}

export class Batcher<I, O> {
  private readonly pending: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private lingering?: NodeJS.Timeout;
  private readonly maxInFlight: number;
  private readonly runOne: (item: I) => Promise<O>;

  constructor(private readonly options: BatcherOptions<I, O>) {
    this.maxInFlight = options.maxInFlight ?? 1;
    this.runOne = options.runOne ?? (async (item) => (await options.runMany([item]))[0]);
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
      this.flushIfFull();
    });
  }

  /** Items waiting for a batch and batches running (for shutdown and tests). */
  get size(): { pending: number; inFlight: number } {
    return { pending: this.pending.length, inFlight: this.inFlight };
  }

  private schedule() {
    if (this.scheduled || this.inFlight >= this.maxInFlight || !this.pending.length) return;
    this.scheduled = true;
    const run = () => {
      clearTimeout(this.lingering);
      this.lingering = undefined;
      this.scheduled = false;
      this.flush();
    };
    // setImmediate: the handlers that started in this turn (one fetch burst) join the same batch.
    if (!this.options.lingerMs) setImmediate(run);
    else this.lingering = setTimeout(run, this.options.lingerMs);
  }

  /** A full batch does not linger. */
  private flushIfFull() {
    if (this.lingering && this.pending.length >= this.options.maxBatch) {
      clearTimeout(this.lingering);
      this.lingering = undefined;
      this.scheduled = false;
      this.flush();
    }
  }

  private flush() {
    while (this.inFlight < this.maxInFlight && this.pending.length) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** The next batch: pending items in order, up to maxBatch, one per key (the rest keep their place). */
  private take(): Pending<I, O>[] {
    const key = this.options.key;
    if (!key) return this.pending.splice(0, this.options.maxBatch);
    const keys = new Set<string>();
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    for (const p of this.pending) {
      const k = key(p.item);
      if (batch.length < this.options.maxBatch && !keys.has(k)) {
        keys.add(k);
        batch.push(p);
      } else rest.push(p);
    }
    this.pending.splice(0, this.pending.length, ...rest);
    return batch;
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    if (batch.length === 1) return this.settle(batch[0]);
    let results: O[];
    try {
      results = await this.options.runMany(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch of ${batch.length} gave ${results.length} results`);
    } catch {
      // Item by item, in order: each job gets its own outcome and error.
      for (const p of batch) await this.settle(p);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
  }

  private async settle(p: Pending<I, O>): Promise<void> {
    try {
      p.resolve(await this.runOne(p.item));
    } catch (err) {
      p.reject(err);
    }
  }
}
