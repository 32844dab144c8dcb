import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #17 (one business-hours rule).
 *
 * A chat inbox's `settings.businessHours` becomes a libs/sla schedule, the shape SLA schedules have:
 * `{ timezone, weekly: [{ day, start, end }], holidays: [{ date, yearly }] }` (end at or before start is
 * an overnight shift). Chat's old shape `{ timezone, weekly: [{ day, open, close }], holidays: ['yyyy-mm-dd'] }`
 * had same-day intervals only, so each maps to one interval and each date to a single-date holiday:
 * the same hours. Old hours without any interval were never open, which a schedule cannot say: they
 * are removed (no business hours, always open). Other keys of `settings` are left as they are.
 *
 * Recognised as in libs/contracts inbox-settings.ts (which reads the old shape for one release): an
 * interval with open/close, a holiday that is a string, or no interval and no holiday at all.
 * Idempotent: rows already in the new shape are not touched.
 *
 * Not registered in migrations/index.ts yet, on purpose: this release reads both shapes and the admin
 * API stores what it is sent, so the previous release's replicas keep reading every row during a
 * rolling deploy. The release after registers it (and drops the old-shape reader). Tested now by
 * chat-business-hours.migration.spec.ts against a real database.
 *
 * Down writes the old shape back, as the hours the old reader can express: an overnight shift becomes
 * start–24:00 plus 00:00–end on the next weekday, a yearly holiday the dates from last year to ten years
 * ahead, holiday names are dropped; hours removed by up are not restored.
 */
export class ChatBusinessHours1764000015000 implements MigrationInterface {
  name = 'ChatBusinessHours1764000015000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH hours AS (
        SELECT id, settings, settings->'businessHours' AS bh,
               coalesce(settings->'businessHours'->'weekly', '[]'::jsonb) AS weekly,
               coalesce(settings->'businessHours'->'holidays', '[]'::jsonb) AS holidays
          FROM inboxes
         WHERE channel = 'chat' AND jsonb_typeof(settings->'businessHours') = 'object'
      ), legacy AS (
        SELECT * FROM hours
         WHERE jsonb_typeof(weekly) = 'array' AND jsonb_typeof(holidays) = 'array'
           AND (EXISTS (SELECT 1 FROM jsonb_array_elements(weekly) w
                         WHERE jsonb_typeof(w) = 'object' AND (w ? 'open' OR w ? 'close'))
                OR EXISTS (SELECT 1 FROM jsonb_array_elements(holidays) h WHERE jsonb_typeof(h) = 'string')
                OR (jsonb_array_length(weekly) = 0 AND jsonb_array_length(holidays) = 0))
      )
      UPDATE inboxes i
         SET settings = CASE
               WHEN jsonb_array_length(l.weekly) = 0 THEN l.settings - 'businessHours'
               ELSE jsonb_set(l.settings, '{businessHours}', jsonb_build_object(
                 'timezone', l.bh->'timezone',
                 'weekly', (
                   SELECT jsonb_agg(CASE
                            WHEN jsonb_typeof(w) = 'object' AND (w ? 'open' OR w ? 'close')
                              THEN jsonb_build_object('day', w->'day', 'start', w->'open', 'end', w->'close')
                            ELSE w END ORDER BY n)
                     FROM jsonb_array_elements(l.weekly) WITH ORDINALITY AS e(w, n)),
                 'holidays', coalesce((
                   SELECT jsonb_agg(CASE
                            WHEN jsonb_typeof(h) = 'string' THEN jsonb_build_object('date', h, 'yearly', false)
                            ELSE h END ORDER BY n)
                     FROM jsonb_array_elements(l.holidays) WITH ORDINALITY AS e(h, n)), '[]'::jsonb)))
             END,
             updated_at = now()
        FROM legacy l
       WHERE i.id = l.id
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH hours AS (
        SELECT id, settings, settings->'businessHours' AS bh,
               coalesce(settings->'businessHours'->'weekly', '[]'::jsonb) AS weekly,
               coalesce(settings->'businessHours'->'holidays', '[]'::jsonb) AS holidays
          FROM inboxes
         WHERE channel = 'chat' AND jsonb_typeof(settings->'businessHours') = 'object'
      ), schedules AS (
        SELECT * FROM hours
         WHERE jsonb_typeof(weekly) = 'array' AND jsonb_typeof(holidays) = 'array'
           AND (EXISTS (SELECT 1 FROM jsonb_array_elements(weekly) w
                         WHERE jsonb_typeof(w) = 'object' AND (w ? 'start' OR w ? 'end'))
                OR EXISTS (SELECT 1 FROM jsonb_array_elements(holidays) h WHERE jsonb_typeof(h) = 'object'))
      ), intervals AS (
        SELECT s.id, e.n, e.w,
               jsonb_typeof(e.w) = 'object' AND (e.w ? 'start' OR e.w ? 'end') AS new,
               (e.w->>'end') COLLATE "C" <= (e.w->>'start') COLLATE "C" AS overnight
          FROM schedules s, jsonb_array_elements(s.weekly) WITH ORDINALITY AS e(w, n)
      ), pieces AS (
        SELECT id, n, 1 AS k, CASE
                 WHEN NOT new THEN w
                 WHEN overnight THEN jsonb_build_object('day', w->'day', 'open', w->'start', 'close', '24:00')
                 ELSE jsonb_build_object('day', w->'day', 'open', w->'start', 'close', w->'end') END AS piece
          FROM intervals
        UNION ALL
        SELECT id, n, 2, jsonb_build_object('day', (w->>'day')::int % 7 + 1, 'open', '00:00', 'close', w->'end')
          FROM intervals
         WHERE new AND overnight AND (w->>'end') COLLATE "C" > '00:00' AND (w->>'day') ~ '^[1-7]$'
      ), dates AS (
        SELECT s.id, h #>> '{}' AS date
          FROM schedules s, jsonb_array_elements(s.holidays) h
         WHERE jsonb_typeof(h) = 'string'
        UNION
        SELECT s.id, h->>'date'
          FROM schedules s, jsonb_array_elements(s.holidays) h
         WHERE jsonb_typeof(h) = 'object' AND h->'yearly' IS DISTINCT FROM 'true'::jsonb
        UNION
        SELECT s.id, lpad(y::text, 4, '0') || substr(h->>'date', 5)
          FROM schedules s, jsonb_array_elements(s.holidays) h,
               generate_series(extract(year FROM now())::int - 1, extract(year FROM now())::int + 10) AS y
         WHERE jsonb_typeof(h) = 'object' AND h->'yearly' = 'true'::jsonb
           AND (substr(h->>'date', 6) <> '02-29' OR (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0)))
      )
      UPDATE inboxes i
         SET settings = jsonb_set(s.settings, '{businessHours}', jsonb_build_object(
               'timezone', s.bh->'timezone',
               'weekly', coalesce((SELECT jsonb_agg(p.piece ORDER BY p.n, p.k) FROM pieces p WHERE p.id = s.id), '[]'::jsonb),
               'holidays', coalesce((SELECT jsonb_agg(to_jsonb(d.date) ORDER BY d.date) FROM dates d WHERE d.id = s.id),
                                    '[]'::jsonb))),
             updated_at = now()
        FROM schedules s
       WHERE i.id = s.id
    `);
  }
}
