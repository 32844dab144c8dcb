import { Batcher } from './batcher';

/** A runMany that records its batches and answers each item doubled, when `release` is called. */
function recorder() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const runMany = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => gates.push(r));
    return items.map((i) => i * 2);
  };
  const releaseAll = () => gates.splice(0).forEach((g) => g());
  return { batches, runMany, releaseAll };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('runs what arrives in one turn as one batch, and what arrives meanwhile as the next', async () => {
    const r = recorder();
    const b = new Batcher({ runMany: r.runMany, maxBatch: 10 });
    const first = [1, 2, 3].map((i) => b.submit(i));
    await turn();
    expect(r.batches).toEqual([[1, 2, 3]]);
    const later = [4, 5].map((i) => b.submit(i));
    await turn();
    // One batch in flight (maxInFlight 1): the later items wait for it.
    expect(r.batches).toHaveLength(1);
    r.releaseAll();
    expect(await Promise.all(first)).toEqual([2, 4, 6]);
    await turn();
    expect(r.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    r.releaseAll();
    expect(await Promise.all(later)).toEqual([8, 10]);
  });

  it('caps a batch at maxBatch and runs up to maxInFlight batches at once', async () => {
    const r = recorder();
    const b = new Batcher({ runMany: r.runMany, maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5].map((i) => b.submit(i));
    await turn();
    expect(r.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    r.releaseAll();
    await Promise.all(all.slice(0, 4));
    await turn();
    expect(r.batches[2]).toEqual([5]);
    r.releaseAll();
    expect(await Promise.all(all)).toEqual([2, 4, 6, 8, 10]);
  });

  it('keeps items with the same key out of one batch, in order', async () => {
    const r = recorder();
    const b = new Batcher({ runMany: r.runMany, maxBatch: 10, key: (i: number) => String(i % 2) });
    const all = [1, 3, 2, 5, 4].map((i) => b.submit(i));
    await turn();
    expect(r.batches).toEqual([[1, 2]]);
    r.releaseAll();
    await Promise.all([all[0], all[2]]);
    await turn();
    expect(r.batches[1]).toEqual([3, 4]);
    r.releaseAll();
    await Promise.all([all[1], all[4]]);
    await turn();
    expect(r.batches[2]).toEqual([5]);
    r.releaseAll();
    expect(await Promise.all(all)).toEqual([2, 6, 4, 10, 8]);
  });

  it('runs a failed batch again item by item, so only the item that fails rejects', async () => {
    const seen: number[][] = [];
    const b = new Batcher({
      runMany: async (items: number[]) => {
        seen.push(items);
        if (items.includes(3)) throw new Error('batch with 3');
        return items;
      },
      runOne: async (i: number) => {
        seen.push([i]);
        if (i === 3) throw new Error('three');
        return -i;
      },
      maxBatch: 10,
    });
    const all = [1, 2, 3, 4].map((i) =>
      b.submit(i).then(
        (v) => ({ v }),
        (e: Error) => ({ e: e.message }),
      ),
    );
    expect(await Promise.all(all)).toEqual([{ v: -1 }, { v: -2 }, { e: 'three' }, { v: -4 }]);
    expect(seen).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });

  it('lingers for items arriving over separate turns, but not once the batch is full', async () => {
    const r = recorder();
    const b = new Batcher({ runMany: r.runMany, maxBatch: 3, lingerMs: 50 });
    const first = b.submit(1);
    await turn();
    const second = b.submit(2);
    await turn();
    expect(r.batches).toEqual([]);
    const third = b.submit(3);
    // Full: it goes at once, without waiting out the 50 ms.
    expect(r.batches).toEqual([[1, 2, 3]]);
    r.releaseAll();
    expect(await Promise.all([first, second, third])).toEqual([2, 4, 6]);
    const started = Date.now();
    const lone = b.submit(4);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(r.batches[1]).toEqual([4]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    r.releaseAll();
    expect(await lone).toBe(8);
  });

  it('runs a lone item through runOne', async () => {
    const many = jest.fn(async (items: number[]) => items);
    const b = new Batcher({ runMany: many, runOne: async (i: number) => i + 100, maxBatch: 10 });
    expect(await b.submit(1)).toBe(101);
    expect(many).not.toHaveBeenCalled();
  });
});
