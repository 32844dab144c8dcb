import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Db, SlaPolicyView, SlaRepository, SlaScheduleView } from '@oq/database';
import { BusinessCalendar, ScheduleError } from '@oq/sla';
import { DataSource } from 'typeorm';
import { SlaClockService } from './sla-clock.service';
import { PolicyBody, ScheduleBody } from './sla.dto';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pgCode(err: unknown): string | undefined {
  return (
    (err as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (err as { code?: string }).code
  );
}

/** Stores a validated schedule: the one INSERT the admin API and the demo seed share. */
export function insertSchedule(db: Db, body: ScheduleBody): Promise<SlaScheduleView> {
  return new SlaRepository(db).insertSchedule(body);
}

/**
 * Stores a validated policy (the admin API and the demo seed share it): at `body.position`, or after
 * the active ones. Concurrent writers are serialised on the position lock, so call it in a transaction.
 */
export function insertPolicy(db: Db, body: PolicyBody): Promise<SlaPolicyView> {
  return new SlaRepository(db).insertPolicy(body);
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
    private readonly sla: SlaRepository,
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

  listSchedules(): Promise<SlaScheduleView[]> {
    return this.sla.listSchedules();
  }

  async getSchedule(id: string): Promise<SlaScheduleView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('schedule not found');
    const row = await this.sla.findSchedule(id);
    if (!row) throw new NotFoundException('schedule not found');
    return row;
  }

  async createSchedule(body: ScheduleBody) {
    this.validateSchedule(body);
    this.clocks.invalidatePolicies();
    try {
      return await this.sla.insertSchedule(body);
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
      return await this.sla.updateSchedule(id, body);
    } catch (err) {
      if (pgCode(err) === '23505') throw new ConflictException(`a schedule named "${body.name}" already exists`);
      throw err;
    }
  }

  async deleteSchedule(id: string) {
    await this.getSchedule(id);
    const n = await this.sla.countPoliciesOnSchedule(id);
    if (n > 0) throw new ConflictException(`schedule is used by ${n} SLA polic${n === 1 ? 'y' : 'ies'}`);
    await this.sla.deleteSchedule(id);
  }

  listPolicies(): Promise<SlaPolicyView[]> {
    return this.sla.listPolicies();
  }

  async getPolicy(id: string): Promise<SlaPolicyView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('policy not found');
    const row = await this.sla.findPolicy(id);
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
        const sla = this.sla.with(m);
        if (!id) return sla.insertPolicy(body);
        // Serialise position assignment between concurrent admin edits.
        await sla.lockPolicyPositions();
        const position = body.position ?? (await sla.policyPosition(id));
        return sla.updatePolicy(id, body, position);
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
    if (await this.sla.policyInUse(id)) {
      await this.sla.deactivatePolicy(id);
      return { deleted: false, deactivated: true };
    }
    await this.sla.deletePolicy(id);
    return { deleted: true, deactivated: false };
  }

  /** A ticket's clocks, oldest first, each with its append-only trail. */
  async trail(ticketId: string) {
    const clocks = await this.sla.clocksOfTicket(ticketId);
    const events = clocks.length ? await this.sla.trailOf(clocks.map((c) => c.id)) : [];
    return {
      ticketId,
      clocks: clocks.map((c) => ({
        ...c,
        events: events.filter((e) => e.slaId === c.id).map(({ slaId: _, ...e }) => e),
      })),
    };
  }
}
