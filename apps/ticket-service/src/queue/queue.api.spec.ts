import { ApiHarness } from '../tickets/api-test-harness';

describe('unified queue over HTTP', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  /** Tickets straight in SQL with chosen due times and priorities (ingest and SLA set these in production). */
  async function seed(
    rows: {
      due: string | null;
      priority: string;
      team?: string;
      channel?: string;
      tags?: string[];
      status?: string;
      ageSec: number;
    }[],
  ) {
    const [c] = await h.ds.query(`INSERT INTO contacts (name) VALUES ('Q') RETURNING id`);
    const ids: string[] = [];
    for (const r of rows) {
      const [t] = await h.ds.query(
        `INSERT INTO tickets (subject, status, priority, team_id, requester_id, channel, next_due_at, tags, created_at)
         VALUES ('q', $1, $2, $3, $4, $5, $6, $7, now() - make_interval(secs => $8)) RETURNING id`,
        [
          r.status ?? 'new',
          r.priority,
          r.team ?? h.ids.teamA,
          c.id,
          r.channel ?? 'email',
          r.due,
          r.tags ?? [],
          r.ageSec,
        ],
      );
      ids.push(t.id);
    }
    return ids;
  }

  it('orders by due time (none last), then priority, then age, and pages with a keyset cursor', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const ids = await seed([
      { due: null, priority: 'urgent', ageSec: 10 }, // 0
      { due: later, priority: 'low', ageSec: 10 }, // 1
      { due: soon, priority: 'normal', ageSec: 10 }, // 2
      { due: soon, priority: 'high', ageSec: 5 }, // 3
      { due: null, priority: 'urgent', ageSec: 20 }, // 4
      { due: null, priority: 'low', ageSec: 30 }, // 5
      { due: soon, priority: 'high', ageSec: 50 }, // 6
      { due: null, priority: 'normal', ageSec: 1, status: 'solved' }, // 7: not open work
      { due: soon, priority: 'urgent', ageSec: 1, team: h.ids.teamB }, // 8: other team
    ]);
    const expected = [6, 3, 2, 1, 4, 0, 5].map((i) => ids[i]);
    const all = await h.call('alice', 'GET', '/v1/queue?limit=100');
    expect(all.body.items.map((t: { id: string }) => t.id)).toEqual(expected);

    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await h.call(
          'alice',
          'GET',
          `/v1/queue?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.body.items.map((t) => t.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(expected);
    }
    // The admin sees every team; Bob only team B.
    const admin = await h.call('admin', 'GET', '/v1/queue?limit=100');
    expect(admin.body.items[0].id).toBe(ids[8]);
    expect((await h.call('bob', 'GET', '/v1/queue')).body.items.map((t: { id: string }) => t.id)).toEqual([ids[8]]);
    await h.ds.query(`UPDATE tickets SET status = 'solved' WHERE id = ANY($1)`, [ids]);
  });

  it('filters by team, channel, status, assignee (me, unassigned), tag and category', async () => {
    const [cat] = await h.ds.query(`SELECT id FROM categories WHERE name = 'refund'`);
    const ids = await seed([
      { due: null, priority: 'normal', channel: 'whatsapp', tags: ['vip'], ageSec: 3 },
      { due: null, priority: 'normal', channel: 'email', status: 'pending', ageSec: 2 },
      { due: null, priority: 'normal', channel: 'chat', ageSec: 1 },
    ]);
    await h.ds.query(`UPDATE tickets SET assignee_id = $2, category_id = $3 WHERE id = $1`, [
      ids[2],
      h.ids.alice,
      cat.id,
    ]);
    // Assigned to Alice in team B: visible to her through the assignment.
    const [other] = await seed([{ due: null, priority: 'low', team: h.ids.teamB, ageSec: 0 }]);
    await h.ds.query(`UPDATE tickets SET assignee_id = $2 WHERE id = $1`, [other, h.ids.alice]);
    const q = async (qs: string) =>
      (await h.call('alice', 'GET', `/v1/queue?${qs}`)).body.items.map((t: { id: string }) => t.id);
    expect(await q('channel=whatsapp')).toEqual([ids[0]]);
    expect(await q('channel=whatsapp,chat')).toEqual([ids[0], ids[2]]);
    expect(await q('status=pending')).toEqual([ids[1]]);
    expect(await q('assignee=me')).toEqual([ids[2], other]);
    expect(await q('assignee=unassigned')).toEqual([ids[0], ids[1]]);
    expect(await q('tag=vip')).toEqual([ids[0]]);
    expect(await q(`categoryId=${cat.id}`)).toEqual([ids[2]]);
    expect(await q(`teamId=${h.ids.teamB}`)).toEqual([other]);
    expect(await q(`teamId=${h.ids.teamA}&assignee=me`)).toEqual([ids[2]]);
    const bad = await h.call('alice', 'GET', '/v1/queue?status=closed&limit=1000');
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(['limit', 'status.0']);
    await h.ds.query(`UPDATE tickets SET status = 'solved' WHERE id = ANY($1)`, [[...ids, other]]);
  });

  it('queue/next: 20 concurrent requests get 20 distinct tickets, most urgent first; 204 when none', async () => {
    const ids = await seed(
      Array.from({ length: 25 }, (_, i) => ({ due: null, priority: i < 20 ? 'urgent' : 'low', ageSec: 100 - i })),
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.call(['alice', 'carol'][Math.floor(Math.random() * 2)] as 'alice', 'POST', '/v1/queue/next'),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const taken = results.map((r) => r.body.id);
    expect(new Set(taken).size).toBe(20);
    expect(new Set(taken)).toEqual(new Set(ids.slice(0, 20)));
    for (const r of results) expect(r.body).toMatchObject({ status: 'open', version: 2 });
    const rows = await h.ds.query(
      `SELECT count(*)::int AS n FROM tickets WHERE id = ANY($1) AND assignee_id IS NOT NULL`,
      [ids],
    );
    expect(rows[0].n).toBe(20);
    const audits = await h.ds.query(`SELECT count(*)::int AS n FROM ticket_audit WHERE ticket_id = ANY($1)`, [ids]);
    expect(audits[0].n).toBe(20);

    // Bob (team B) cannot take team A's remaining tickets.
    expect((await h.call('bob', 'POST', '/v1/queue/next')).status).toBe(204);
    await h.ds.query(`UPDATE tickets SET status = 'solved' WHERE id = ANY($1)`, [ids.slice(20)]);
    const none = await h.call('alice', 'POST', '/v1/queue/next');
    expect(none.status).toBe(204);
    expect(none.body).toBeUndefined();
  });

  it('serves a team page from the team keyset index without sorting', async () => {
    const text = await h.ds.transaction(async (m) => {
      // Tiny test tables favour a seq scan; what matters is that the index can serve the order.
      await m.query('SET LOCAL enable_seqscan = off');
      const plan = await m.query(
        `EXPLAIN SELECT id FROM tickets t WHERE t.team_id = $1 AND t.status IN ('new','open','pending','on_hold')
            AND (coalesce(t.next_due_at, 'infinity'::timestamptz), (-t.priority_rank), t.created_at, t.id)
                > ('-infinity'::timestamptz, (-3)::smallint, '-infinity'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid)
          ORDER BY coalesce(t.next_due_at, 'infinity'::timestamptz), (-t.priority_rank), t.created_at, t.id LIMIT 26`,
        [h.ids.teamA],
      );
      return plan.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    });
    expect(text).toMatch(/Index Scan using tickets_queue_team_key_idx/);
    expect(text).not.toMatch(/Sort/);
  });
});
