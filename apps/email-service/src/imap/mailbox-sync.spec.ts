import { partsBySize } from './mailbox-sync';

describe('partsBySize (what one source fetch may buffer)', () => {
  const meta = (uid: number, size: number) => ({ uid, size });
  const uids = (parts: { uid: number }[][]) => parts.map((p) => p.map((m) => m.uid));

  it('cuts a window into parts of at most the byte budget, in UID order', () => {
    const metas = [meta(1, 400), meta(2, 400), meta(3, 300), meta(4, 500), meta(5, 100)];
    expect(uids(partsBySize(metas, 1000, 10_000))).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('gives a mail larger than the budget a part of its own', () => {
    const metas = [meta(1, 100), meta(2, 5000), meta(3, 100)];
    expect(uids(partsBySize(metas, 1000, 10_000))).toEqual([[1], [2], [3]]);
  });

  it('counts mails over the size limit as nothing: they stream to the blob store unbuffered', () => {
    const metas = [meta(1, 600), meta(2, 50_000), meta(3, 300)];
    expect(uids(partsBySize(metas, 1000, 10_000))).toEqual([[1, 2, 3]]);
  });

  it('returns no parts for an empty window', () => {
    expect(partsBySize([], 1000, 10_000)).toEqual([]);
  });
});
