import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { BusinessCalendar, ScheduleError } from '@oq/sla';
import { DataSource, EntityManager } from 'typeorm';
import { SlaClockService } from './sla-clock.service';
import { PolicyBody, ScheduleBody } from './sla.dto';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pgCode(err: unknown): string | undefined {
  return (
    (err as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (err as { code?: string }).code
  );
}

const SCHEDULE_VIEW = `id, name, timezone, weekly, holidays, created_at AS "createdAt", updated_at AS "updatedAt"`;
const POLICY_VIEW = `id, name, position, conditions, targets, schedule_id AS "scheduleId", warning_percent AS "warningPercent",
  escalation, active, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Stores a validated schedule: the one INSERT the admin API and the demo seed share. */
export async function insertSchedule(m: EntityManager, body: ScheduleBody): Promise<{ id: string }> {
  const [row] = await m.query(
    `INSERT INTO sla_schedules (name, timezone, weekly, holidays) VALUES ($1, $2, $3::jsonb, $4::jsonb)
     RETURNING ${SCHEDULE_VIEW}`,
    [body.name, body.timezone, JSON.stringify(body.weekly), JSON.stringify(body.holidays)],
  );
  return row;
}

const policyValues = (body: PolicyBody) => [
  body.name,
  JSON.stringify(body.conditions),
  JSON.stringify(body.targets),
  body.scheduleId,
  body.warningPercent,
  JSON.stringify(body.escalation),
  body.active,
];

/**
 * Stores a validated policy (the admin API and the demo seed share it): at `body.position`, or after
 * the active ones. Concurrent writers are serialised on the position lock, so call it in a transaction.
 */
export async function insertPolicy(m: EntityManager, body: PolicyBody): Promise<{ id: string }> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtext('sla_policies_position'))`);
  const position = body.position ?? (await nextPosition(m));
  const [row] = await m.query(
    `INSERT INTO sla_policies (name, conditions, targets, schedule_id, warning_percent, escalation, active, position)
     VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6::jsonb, $7, $8) RETURNING ${POLICY_VIEW}`,
    [...policyValues(body), position],
  );
  return row;
}

async function nextPosition(m: EntityManager): Promise<number> {
  const [{ position }] = await m.query(
    `SELECT coalesce(max(position) + 1, 0) AS position FROM sla_policies WHERE active`,
  );
  return position;
}

/**
 * Admin CRUD of SLA schedules and policies. Edits take effect on each ticket's
 * next SLA event (the clock service re-selects the policy then); a policy in use
 * by clocks is deactivated rather than deleted, so trails keep their reference.
 */
@Injectable()
export class SlaAdminService {
  constructor(
    private readonly ds: DataSource,
    private readonly clocks: SlaClockService,
  ) {}

  private validateSchedule(body: ScheduleBody) {
    try {
      new BusinessCalendar(body);
    } catch (err) {
      if (err instanceof ScheduleError) throw new BadRequestException(err.message);
      throw err;
    }
  }

  listSchedules() {
    return this.ds.query(`SELECT ${SCHEDULE_VIEW} FROM sla_schedules ORDER BY name`);
  }

  async getSchedule(id: string) {
    if (!UUID_RE.test(id)) throw new NotFoundException('schedule not found');
    const [row] = await this.ds.query(`SELECT ${SCHEDULE_VIEW} FROM sla_schedules WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException('schedule not found');
    return row;
  }

  async createSchedule(body: ScheduleBody) {
    this.validateSchedule(body);
    this.clocks.invalidatePolicies();
    try {
      return await insertSchedule(this.ds.manager, body);
    } catch (err) {
      if (pgCode(err) === '23505') throw new ConflictException(`a schedule named "${body.name}" already exists`);
      throw err;
    }
  }

  async updateSchedule(id: string, body: ScheduleBody) {
    await this.getSchedule(id);
    this.validateSchedule(body);
    this.clocks.invalidatePolicies();
    try {
      const [rows] = await this.ds.query(
        `UPDATE sla_schedules SET name = $2, timezone = $3, weekly = $4::jsonb, holidays = $5::jsonb, updated_at = now()
          WHERE id = $1 RETURNING ${SCHEDULE_VIEW}`,
        [id, body.name, body.timezone, JSON.stringify(body.weekly), JSON.stringify(body.holidays)],
      );
      return rows[0];
    } catch (err) {
      if (pgCode(err) === '23505') throw new ConflictException(`a schedule named "${body.name}" already exists`);
      throw err;
    }
  }

  async deleteSchedule(id: string) {
    await this.getSchedule(id);
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM sla_policies WHERE schedule_id = $1`, [id]);
    if (n > 0) throw new ConflictException(`schedule is used by ${n} SLA polic${n === 1 ? 'y' : 'ies'}`);
    await this.ds.query(`DELETE FROM sla_schedules WHERE id = $1`, [id]);
  }

  listPolicies() {
    return this.ds.query(`SELECT ${POLICY_VIEW} FROM sla_policies ORDER BY active DESC, position, created_at`);
  }

  async getPolicy(id: string) {
    if (!UUID_RE.test(id)) throw new NotFoundException('policy not found');
    const [row] = await this.ds.query(`SELECT ${POLICY_VIEW} FROM sla_policies WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException('policy not found');
    return row;
  }

  private async checkPolicy(body: PolicyBody) {
    if (body.scheduleId)
      await this.getSchedule(body.scheduleId).catch(() => {
        throw new BadRequestException(`scheduleId ${body.scheduleId} does not exist`);
      });
    const business = Object.entries(body.targets).flatMap(([metric, perPriority]) =>
      Object.entries(perPriority ?? {})
        .filter(([, t]) => t?.businessTime)
        .map(([priority]) => `${metric}.${priority}`),
    );
    if (business.length && !body.scheduleId)
      throw new BadRequestException(
        `targets ${business.join(', ')} are in business time but the policy has no scheduleId`,
      );
  }

  async createPolicy(body: PolicyBody) {
    await this.checkPolicy(body);
    return this.savePolicy(null, body);
  }

  async updatePolicy(id: string, body: PolicyBody) {
    await this.getPolicy(id);
    await this.checkPolicy(body);
    return this.savePolicy(id, body);
  }

  private async savePolicy(id: string | null, body: PolicyBody) {
    this.clocks.invalidatePolicies();
    try {
      const saved = await this.ds.transaction(async (m) => {
        if (!id) return insertPolicy(m, body);
        // Serialise position assignment between concurrent admin edits.
        await m.query(`SELECT pg_advisory_xact_lock(hashtext('sla_policies_position'))`);
        let position = body.position;
        if (position === undefined)
          [{ position }] = await m.query(`SELECT position FROM sla_policies WHERE id = $1`, [id]);
        const [row] = await m
          .query(
            `UPDATE sla_policies SET name = $2, conditions = $3::jsonb, targets = $4::jsonb, schedule_id = $5,
             warning_percent = $6, escalation = $7::jsonb, active = $8, position = $9, updated_at = now()
             WHERE id = $1 RETURNING ${POLICY_VIEW}`,
            [id, ...policyValues(body), position],
          )
          .then((r: unknown[][]) => r[0]);
        return row;
      });
      this.clocks.invalidatePolicies(); // again after commit: a read in between may have cached the old list
      return saved;
    } catch (err) {
      if (pgCode(err) === '23505')
        throw new ConflictException(`another active policy already has position ${body.position}`);
      throw err;
    }
  }

  /** Deletes an unused policy; one referenced by clocks is deactivated so their trails keep it. */
  async deletePolicy(id: string): Promise<{ deleted: boolean; deactivated: boolean }> {
    await this.getPolicy(id);
    this.clocks.invalidatePolicies();
    const [{ used }] = await this.ds.query(`SELECT EXISTS (SELECT 1 FROM ticket_sla WHERE policy_id = $1) AS used`, [
      id,
    ]);
    if (used) {
      await this.ds.query(`UPDATE sla_policies SET active = false, updated_at = now() WHERE id = $1`, [id]);
      return { deleted: false, deactivated: true };
    }
    await this.ds.query(`DELETE FROM sla_policies WHERE id = $1`, [id]);
    return { deleted: true, deactivated: false };
  }

  /** A ticket's clocks, oldest first, each with its append-only trail. */
  async trail(ticketId: string) {
    const clocks = await this.ds.query(
      `SELECT id, metric, policy_id AS "policyId", state, business_time AS "businessTime", target_seconds AS "targetSeconds",
              started_at AS "startedAt", due_at AS "dueAt", warn_at AS "warnAt", warned_at AS "warnedAt",
              paused_at AS "pausedAt", paused_seconds AS "pausedSeconds", fulfilled_at AS "fulfilledAt",
              breached_at AS "breachedAt"
         FROM ticket_sla WHERE ticket_id = $1 ORDER BY created_at, id`,
      [ticketId],
    );
    const events = clocks.length
      ? await this.ds.query(
          `SELECT ticket_sla_id AS "slaId", kind, at, business_seconds AS "businessSeconds",
                  calendar_seconds AS "calendarSeconds", data
             FROM ticket_sla_events WHERE ticket_sla_id = ANY($1::uuid[]) ORDER BY id`,
          [clocks.map((c: { id: string }) => c.id)],
        )
      : [];
    return {
      ticketId,
      clocks: clocks.map((c: { id: string }) => ({
        ...c,
        events: events
          .filter((e: { slaId: string }) => e.slaId === c.id)
          .map(({ slaId: _, ...e }: { slaId: string }) => e),
      })),
    };
  }
}
