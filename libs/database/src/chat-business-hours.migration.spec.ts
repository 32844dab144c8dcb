import { ChatInboxSettings } from '@oq/contracts';
import { BusinessCalendar, openingAt, ValidSchedule } from '@oq/sla';
import { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { ChatBusinessHours1764000015000 } from './migrations/1764000015000-ChatBusinessHours';
import { createTestDatabase, TestDatabase } from './testing/test-env';

/**
 * #17: 1764000015000-ChatBusinessHours against a real database — stored chat inboxes' old-shape
 * businessHours become the libs/sla schedule the settings schema reads them as (the same conversion),
 * and down gives the old reader the same hours back.
 */
describe('migration ChatBusinessHours1764000015000', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let teamId: string;
  const migration = new ChatBusinessHours1764000015000();

  const berlinOld = {
    allowedOrigins: ['https://app.example'],
    greeting: 'Hi',
    theme: 'dark',
    businessHours: {
      timezone: 'Europe/Berlin',
      weekly: [
        ...[1, 2, 3, 4, 5].map((day) => ({ day, open: '09:00', close: '17:00' })),
        { day: 6, open: '10:00', close: '24:00' },
      ],
      holidays: ['2026-12-24', '2026-12-25'],
    },
  };
  const noHolidaysOld = {
    businessHours: { timezone: 'Asia/Jakarta', weekly: [{ day: 1, open: '08:00', close: '20:00' }] },
  };
  const neverOpenOld = { expectedReplyMinutes: 5, businessHours: { timezone: 'Europe/Berlin' } };
  const schedule = {
    allowedOrigins: [],
    businessHours: {
      timezone: 'Asia/Jakarta',
      weekly: [
        { day: 5, start: '22:00', end: '06:00' },
        { day: 7, start: '20:00', end: '00:00' },
        { day: 2, start: '08:00', end: '20:00' },
      ],
      holidays: [
        { date: '2026-08-17', yearly: true, name: 'Independence Day' },
        { date: '2024-02-29', yearly: true },
        { date: '2026-11-28', yearly: false },
      ],
    },
  };

  const insert = async (channel: string, address: string, settings: object): Promise<string> => {
    const [row] = await ds.query(
      `INSERT INTO inboxes (channel, name, address, default_team_id, settings, updated_at)
       VALUES ($1, $2, $2, $3, $4::jsonb, '2026-01-01T00:00:00Z') RETURNING id`,
      [channel, address, teamId, JSON.stringify(settings)],
    );
    return row.id;
  };
  const stored = async (id: string): Promise<{ settings: any; updated_at: Date }> =>
    (await ds.query('SELECT settings, updated_at FROM inboxes WHERE id = $1', [id]))[0];
  const run = async (step: 'up' | 'down') => {
    const q = ds.createQueryRunner();
    try {
      await migration[step](q);
    } finally {
      await q.release();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Support') RETURNING id`);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('is not applied by the migration run yet: the previous release must be able to read every row', async () => {
    const rows = await ds.query(`SELECT name FROM migrations WHERE name = $1`, [migration.name]);
    expect(rows).toHaveLength(0);
  });

  it('rewrites old-shape rows as the schedule the settings schema reads them as, leaving the rest alone', async () => {
    const berlin = await insert('chat', 'berlin', berlinOld);
    const jakarta = await insert('chat', 'jakarta', noHolidaysOld);
    const never = await insert('chat', 'never', neverOpenOld);
    const already = await insert('chat', 'already', schedule);
    const none = await insert('chat', 'none', { allowedOrigins: ['*'] });
    const email = await insert('email', 'help@x.example', { businessHours: { weekly: [{ open: '09:00' }] } });
    const before = new Map<string, any>();
    for (const id of [already, none, email]) before.set(id, await stored(id));

    await run('up');

    // Converted exactly as the settings schema converts the old shape on read, other keys kept as stored.
    for (const [id, old] of [
      [berlin, berlinOld],
      [jakarta, noHolidaysOld],
    ] as const) {
      const row = await stored(id);
      expect(row.settings).toEqual({ ...old, businessHours: ChatInboxSettings.parse(old).businessHours });
      // …and now in the new shape as stored, no read-side conversion needed.
      expect(ValidSchedule.safeParse(row.settings.businessHours).success).toBe(true);
      expect(row.updated_at.getTime()).toBeGreaterThan(Date.parse('2026-01-02T00:00:00Z'));
    }
    expect((await stored(berlin)).settings.businessHours).toEqual({
      timezone: 'Europe/Berlin',
      weekly: [
        ...[1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
        { day: 6, start: '10:00', end: '24:00' },
      ],
      holidays: [
        { date: '2026-12-24', yearly: false },
        { date: '2026-12-25', yearly: false },
      ],
    });
    // Never open cannot be a schedule: no hours, as the schema reads it too.
    expect((await stored(never)).settings).toEqual({ expectedReplyMinutes: 5 });
    expect(ChatInboxSettings.parse(neverOpenOld).businessHours).toBeUndefined();
    // New-shape chat rows, chat rows without hours and other channels are untouched.
    for (const id of [already, none, email]) expect(await stored(id)).toEqual(before.get(id));

    // Running it again changes nothing.
    const after = await ds.query(`SELECT id, settings, updated_at FROM inboxes ORDER BY id`);
    await run('up');
    expect(await ds.query(`SELECT id, settings, updated_at FROM inboxes ORDER BY id`)).toEqual(after);
  });

  it('down gives the old reader the same hours: old rows as they were, overnight shifts split, yearly holidays as dates', async () => {
    await ds.query('DELETE FROM inboxes');
    const berlin = await insert('chat', 'berlin', berlinOld);
    const overnight = await insert('chat', 'overnight', schedule);
    await run('up');
    await run('down');

    expect((await stored(berlin)).settings).toEqual(berlinOld);

    const old = (await stored(overnight)).settings;
    const year = new Date().getUTCFullYear();
    const years = Array.from({ length: 12 }, (_, i) => year - 1 + i);
    expect(old).toEqual({
      allowedOrigins: [],
      businessHours: {
        timezone: 'Asia/Jakarta',
        weekly: [
          { day: 5, open: '22:00', close: '24:00' },
          { day: 6, open: '00:00', close: '06:00' },
          { day: 7, open: '20:00', close: '24:00' },
          { day: 2, open: '08:00', close: '20:00' },
        ],
        holidays: [
          '2026-11-28',
          ...years.map((y) => `${y}-08-17`),
          ...years.filter((y) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)).map((y) => `${y}-02-29`),
        ].sort(),
      },
    });
    // The old rules accept it (close later than open, real dates), and it is open exactly when the
    // schedule was, every quarter hour of this year and the next.
    const asOld = ChatInboxSettings.safeParse(old);
    expect(asOld.success).toBe(true);
    const was = new BusinessCalendar(ChatInboxSettings.parse(schedule).businessHours!);
    const now = new BusinessCalendar(asOld.data!.businessHours!);
    for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 2, 0, 1); t += 15 * 60_000)
      if (was.isBusinessInstant(t) !== now.isBusinessInstant(t))
        throw new Error(`differs at ${new Date(t).toISOString()}`);
    expect(openingAt(now, Date.UTC(year, 5, 1))).toEqual(openingAt(was, Date.UTC(year, 5, 1)));

    // And up again brings back the schedule (holiday names and yearly aside, which the old shape lacks).
    await run('up');
    expect(ValidSchedule.safeParse((await stored(overnight)).settings.businessHours).success).toBe(true);
    expect((await stored(berlin)).settings).toEqual({
      ...berlinOld,
      businessHours: ChatInboxSettings.parse(berlinOld).businessHours,
    });
  });
});
