import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { isDoneStatus, pausesResolution } from '@oq/contracts';
import { SlaRepository, SlaTicketRow } from '@oq/database';
import {
  activate,
  cancel,
  Clock,
  clockFromRow,
  ClockRow,
  ClockEvent,
  fulfil,
  isOpen,
  isRunning,
  Measures,
  measuresFor,
  pause,
  PolicyLike,
  resume,
  retarget,
  Schedule,
  selectPolicy,
  SlaMetricName,
  targetFor,
  Transition,
} from '@oq/sla';
import { EntityManager } from 'typeorm';
import { OutboxEntry, OutboxService } from '../outbox/outbox.service';

/** What an ingested message changed (the subset of ingest's IngestChange the clocks need). */
export interface IngestedMessage {
  ticketId: string;
  ticketCreated: boolean;
  sourceTime: Date;
  direction: 'inbound' | 'outbound';
  awaitsReply: boolean;
  missedCall: boolean;
  statusFrom: string | null;
  statusTo: string;
}

const POLICY_CACHE_MS = 1000;

interface PolicyRow extends PolicyLike {
  schedule: Schedule | null;
}

interface Slot {
  id: string | null;
  clock: Clock;
  events: ClockEvent[];
  dirty: boolean;
}

/** One ticket's SLA state loaded inside the caller's transaction. */
class TicketClocks {
  readonly slots: Slot[];
  constructor(
    readonly ticket: SlaTicketRow,
    readonly policy: PolicyRow | null,
    rows: ClockRow[],
    /** Whether first_reply ever ran on this ticket (a fulfilled or cancelled one is not re-opened). */
    readonly firstReplyEver: boolean,
  ) {
    this.slots = rows.map((r) => ({ id: r.id, clock: clockFromRow(r), events: [], dirty: false }));
  }

  measures(c: Clock): Measures {
    return measuresFor(c.businessTime, this.policy?.schedule ?? null);
  }

  open(metric: SlaMetricName): Slot | undefined {
    return this.slots.find((s) => s.clock.metric === metric && isOpen(s.clock));
  }

  apply(slot: Slot, t: Transition) {
    if (!t.events.length) return;
    slot.clock = t.clock;
    slot.events.push(...t.events);
    slot.dirty = true;
  }

  start(metric: SlaMetricName, startedAt: number, now: number, paused = false): void {
    if (!this.policy || this.open(metric)) return;
    const target = targetFor(this.policy, metric, this.ticket.priority);
    if (!target) return;
    const m = measuresFor(target.businessTime, this.policy.schedule);
    const t = activate(
      { metric, policyId: this.policy.id, target, warningPercent: this.policy.warningPercent, startedAt, now, paused },
      m,
    );
    this.slots.push({ id: null, clock: t.clock, events: t.events, dirty: true });
  }
}

/**
 * Moves a ticket's SLA clocks inside the transaction of the change that moved
 * them (ingest, reply, status, priority, escalation), updates the ticket's
 * `next_due_at` and writes an `sla.changed` event so sla-worker re-arms timers.
 *
 * Rules (see libs/sla for the arithmetic):
 * - first_reply starts at the first customer message's source time (capped at
 *   ingest) and is fulfilled by the first public agent reply;
 * - next_reply starts at the oldest customer message left unanswered after an
 *   agent reply (a running one is never restarted by later messages);
 * - a missed call, voicemail or busy line counts as a customer message: it
 *   starts first_reply/next_reply (the call-back clock), and a logged outbound
 *   call counts as the agent's reply;
 * - resolution runs from ticket creation until solved, paused in pending/on_hold;
 *   reopening a solved ticket starts a new resolution instance;
 * - solving cancels reply clocks still running;
 * - which statuses pause resolution (pending, on_hold) and which stop every clock (solved,
 *   closed) is the lifecycle's: RESOLUTION_PAUSED_STATUSES and DONE_TICKET_STATUSES in
 *   @oq/contracts ticket-status (reply clocks never pause);
 * - at every event the policy is re-selected and running clocks re-targeted
 *   (priority change, policy edit) from their original start, never reset.
 */
@Injectable()
export class SlaClockService {
  constructor(private readonly outbox: OutboxService) {}

  /** A ticket was opened at `at` (its first message's source time, capped at ingest). */
  async onTicketCreated(manager: EntityManager, ticketId: string, at: Date, now = new Date()): Promise<void> {
    await this.run(manager, ticketId, now, (c) => this.ensureResolution(c, at.getTime(), now.getTime()));
  }

  /** A customer message (or missed call) that waits for an agent, with its source time. */
  async onCustomerMessage(manager: EntityManager, ticketId: string, sourceTime: Date, now = new Date()) {
    await this.run(manager, ticketId, now, (c) => this.customerMessage(c, sourceTime.getTime(), now.getTime()));
  }

  /** A public agent reply (not a note, not an automatic message). */
  async onAgentPublicReply(manager: EntityManager, ticketId: string, at: Date = new Date()) {
    await this.run(manager, ticketId, at, (c) => this.agentReply(c, at.getTime()));
  }

  async onStatusChange(manager: EntityManager, ticketId: string, from: string, to: string, at: Date = new Date()) {
    await this.run(manager, ticketId, at, (c) => this.statusChange(c, from, to, at.getTime()));
  }

  /** Priority (or team, tags, category, type) changed: running clocks are re-targeted by the refresh. */
  async onPriorityChange(manager: EntityManager, ticketId: string, at: Date = new Date()) {
    await this.run(manager, ticketId, at, () => undefined);
  }

  /**
   * onPriorityChange for many tickets, as set-based statements: escalation batches raise several
   * tickets' priority in one transaction. `tickets` are their facts as the caller just changed
   * them, under row locks it holds (so they are not read again); their clocks are locked here.
   * The sla.changed events are returned for the caller's outbox insert, in ticket order.
   */
  async onPriorityChanges(
    manager: EntityManager,
    tickets: SlaTicketRow[],
    at: Date = new Date(),
  ): Promise<OutboxEntry[]> {
    if (!tickets.length) return [];
    const now = at.getTime();
    const repo = sla(manager);
    const policies = await this.policies(manager);
    const rowsOf = new Map<string, ClockRow[]>();
    for (const r of await repo.lockOpenClocksOf(tickets.map((t) => t.id))) {
      const list = rowsOf.get(r.ticket_id);
      if (list) list.push(r);
      else rowsOf.set(r.ticket_id, [r]);
    }
    const dirty: TicketClocks[] = [];
    for (const t of tickets) {
      const c = this.clocksOf(t, policies, rowsOf.get(t.id) ?? [], true);
      this.refresh(c, now);
      if (c.slots.some((s) => s.dirty)) dirty.push(c);
    }
    if (!dirty.length) return [];
    await this.saveMany(repo, dirty);
    return dirty.map((c) => this.changedEvent(c));
  }

  /**
   * The ticket was merged into ticket #targetNumber: its running clocks are cancelled with that
   * reason in their trails (the work continues on the target, under the target's own clocks).
   */
  async onMerged(manager: EntityManager, ticketId: string, targetNumber: number | string, at: Date = new Date()) {
    await this.run(manager, ticketId, at, (c) => {
      for (const slot of c.slots)
        c.apply(slot, cancel(slot.clock, at.getTime(), c.measures(slot.clock), `merged into #${targetNumber}`));
    });
  }

  /** The ingest hook: everything one ingested message changed, returned as outbox entries of its transaction. */
  async onIngest(manager: EntityManager, change: IngestedMessage): Promise<OutboxEntry[]> {
    const now = Date.now();
    // A ticket this very message opened has no clocks yet: with no active policy none would start.
    if (change.ticketCreated && !(await this.policies(manager)).length) return [];
    return this.apply(manager, change.ticketId, now, change.ticketCreated, (c) => this.ingestOp(c, change, now));
  }

  /**
   * onIngest for the set-based batch's messages, in batch order: the same rules in six statements
   * for the whole batch instead of up to six per message. Its tickets are already row-locked by the
   * batch, so reading them in id order adds no wait; one sla.changed per ticket carries its final clocks.
   */
  async onIngestBatch(manager: EntityManager, changes: IngestedMessage[]): Promise<OutboxEntry[]> {
    if (!changes.length) return [];
    const now = Date.now();
    const opened = new Set(changes.filter((c) => c.ticketCreated).map((c) => c.ticketId));
    const ids = [...new Set(changes.map((c) => c.ticketId))];
    const existing = ids.filter((id) => !opened.has(id));
    const policies = await this.policies(manager);
    // Tickets these very messages opened have no clocks yet: with no active policy none would start.
    if (!existing.length && !policies.length) return [];
    const repo = sla(manager);
    const tickets = await repo.lockTickets(ids);
    const clockRows = existing.length ? await repo.lockOpenClocksOf(existing) : [];
    const rowsOf = new Map<string, ClockRow[]>();
    for (const r of clockRows) {
      const list = rowsOf.get(r.ticket_id);
      if (list) list.push(r);
      else rowsOf.set(r.ticket_id, [r]);
    }
    const loaded = new Map<string, TicketClocks>();
    for (const t of tickets) {
      const c = this.clocksOf(t, policies, opened.has(t.id) ? [] : (rowsOf.get(t.id) ?? []), !opened.has(t.id));
      this.refresh(c, now);
      loaded.set(t.id, c);
    }
    for (const change of changes) {
      const c = loaded.get(change.ticketId);
      if (c) this.ingestOp(c, change, now);
    }
    const dirty = [...loaded.values()].filter((c) => c.slots.some((s) => s.dirty));
    if (!dirty.length) return [];
    await this.saveMany(repo, dirty);
    return dirty.map((c) => this.changedEvent(c));
  }

  /** What one ingested message does to its ticket's clocks (both forms of the hook). */
  private ingestOp(c: TicketClocks, change: IngestedMessage, now: number) {
    const source = change.sourceTime.getTime();
    if (change.statusFrom && change.statusFrom !== change.statusTo)
      this.statusChange(c, change.statusFrom, change.statusTo, now);
    if (change.ticketCreated) this.ensureResolution(c, source, now);
    if (change.direction === 'inbound' && (change.awaitsReply || change.missedCall))
      this.customerMessage(c, source, now);
    // An outbound message or call logged through a channel (a call back) is the agent's reply.
    else if (change.direction === 'outbound') this.agentReply(c, source);
  }

  private ensureResolution(c: TicketClocks, startedAt: number, now: number) {
    const status = c.ticket.status;
    if (isDoneStatus(status)) return;
    c.start('resolution', startedAt, now, pausesResolution(status));
  }

  private customerMessage(c: TicketClocks, source: number, now: number) {
    this.ensureResolution(c, source, now);
    if (!c.firstReplyEver) c.start('first_reply', source, now);
    else if (!c.open('first_reply')) c.start('next_reply', source, now);
  }

  private agentReply(c: TicketClocks, at: number) {
    for (const metric of ['first_reply', 'next_reply'] as const) {
      const slot = c.open(metric);
      if (slot) c.apply(slot, fulfil(slot.clock, Math.max(at, slot.clock.startedAt), c.measures(slot.clock)));
    }
  }

  private statusChange(c: TicketClocks, from: string, to: string, at: number) {
    const res = c.open('resolution');
    if (isDoneStatus(to)) {
      if (res) c.apply(res, fulfil(res.clock, at, c.measures(res.clock)));
      for (const metric of ['first_reply', 'next_reply'] as const) {
        const slot = c.open(metric);
        if (slot) c.apply(slot, cancel(slot.clock, at, c.measures(slot.clock), `ticket ${to}`));
      }
      return;
    }
    if (res && pausesResolution(to)) c.apply(res, pause(res.clock, at, c.measures(res.clock)));
    else if (res && !pausesResolution(to)) c.apply(res, resume(res.clock, at, c.measures(res.clock)));
    else if (!res && isDoneStatus(from)) this.ensureResolution(c, at, at);
  }

  /** Re-select the policy and re-target running clocks; cancel those the policy no longer covers. */
  private refresh(c: TicketClocks, at: number) {
    for (const slot of c.slots) {
      if (!isRunning(slot.clock)) continue;
      const target = c.policy ? targetFor(c.policy, slot.clock.metric, c.ticket.priority) : null;
      if (!target) {
        c.apply(slot, cancel(slot.clock, at, c.measures(slot.clock), 'no SLA policy target'));
        continue;
      }
      const m = measuresFor(target.businessTime, c.policy!.schedule);
      c.apply(
        slot,
        retarget(slot.clock, { target, warningPercent: c.policy!.warningPercent, policyId: c.policy!.id }, at, m),
      );
    }
  }

  private async run(manager: EntityManager, ticketId: string, now: Date, op: (c: TicketClocks) => void) {
    const entries = await this.apply(manager, ticketId, now.getTime(), false, op);
    await this.outbox.write(manager, entries);
  }

  private async apply(
    manager: EntityManager,
    ticketId: string,
    now: number,
    /** The ticket was opened in this transaction (so it has no clock rows to read). */
    opened: boolean,
    op: (c: TicketClocks) => void,
  ): Promise<OutboxEntry[]> {
    const c = await this.load(manager, ticketId, opened);
    if (!c) return [];
    this.refresh(c, now);
    op(c);
    const dirty = c.slots.filter((s) => s.dirty);
    if (!dirty.length) return [];
    await this.save(manager, c, dirty);
    return [this.changedEvent(c)];
  }

  /** sla.changed with the ticket's running clocks: sla-worker re-arms its timers from it. */
  private changedEvent(c: TicketClocks): OutboxEntry {
    const running = c.slots.filter((s) => isOpen(s.clock));
    return this.outbox.ticketEvent(
      'sla.changed',
      { id: c.ticket.id, teamId: c.ticket.team_id, assigneeId: c.ticket.assignee_id },
      {
        clocks: running.map((s) => ({
          metric: s.clock.metric,
          state: s.clock.state,
          dueAt: s.clock.dueAt === null ? null : new Date(s.clock.dueAt).toISOString(),
          warnAt: s.clock.warnAt === null ? null : new Date(s.clock.warnAt).toISOString(),
        })),
      },
    );
  }

  /**
   * Active policies, cached for POLICY_CACHE_MS: this runs in every ingest
   * transaction, and policies change rarely. An edit through the admin API
   * invalidates this process's cache at once; other replicas follow within the TTL.
   */
  private policyCache?: { at: number; policies: Promise<PolicyRow[]> };

  invalidatePolicies(): void {
    this.policyCache = undefined;
  }

  private policies(manager: EntityManager): Promise<PolicyRow[]> {
    const now = Date.now();
    if (this.policyCache && now - this.policyCache.at < POLICY_CACHE_MS) return this.policyCache.policies;
    const policies = this.readPolicies(manager);
    this.policyCache = { at: now, policies };
    policies.catch(() => (this.policyCache = undefined));
    return policies;
  }

  private async readPolicies(manager: EntityManager): Promise<PolicyRow[]> {
    // Few active policies (an admin-curated list): read them all and match in memory.
    const rows = await sla(manager).activePolicies();
    return rows.map((p): PolicyRow => ({
      id: p.id,
      position: p.position,
      conditions: p.conditions,
      targets: p.targets,
      scheduleId: p.schedule_id,
      warningPercent: p.warning_percent,
      schedule: p.timezone ? { timezone: p.timezone, weekly: p.weekly ?? [], holidays: p.holidays ?? [] } : null,
    }));
  }

  private async load(manager: EntityManager, ticketId: string, opened: boolean): Promise<TicketClocks | null> {
    const repo = sla(manager);
    // Serialises clock changes per ticket (two first messages must not both start first_reply).
    const ticket = await repo.lockTicket(ticketId);
    if (!ticket) return null;
    const policies = await this.policies(manager);
    // Row locks: sla-worker takes the same locks before it warns or breaches, so the two never interleave.
    // A ticket opened in this transaction is invisible to everyone else: no clocks yet, nothing to lock.
    if (opened) return this.clocksOf(ticket, policies, [], false);
    return this.clocksOf(ticket, policies, await repo.lockOpenClocks(ticketId), true);
  }

  /** The ticket's clocks under the policy that now applies to it. */
  private clocksOf(ticket: SlaTicketRow, policies: PolicyRow[], rows: ClockRow[], loaded: boolean): TicketClocks {
    const policy = selectPolicy(policies, {
      priority: ticket.priority,
      channel: ticket.channel,
      inboxId: ticket.inbox_id,
      teamId: ticket.team_id,
      tags: ticket.tags ?? [],
      categoryId: ticket.category_id,
      type: ticket.type,
    });
    for (const r of rows) {
      if (r.policy_id === policy?.id) r.warning_percent = policy.warningPercent;
      else r.warning_percent = null;
    }
    // A ticket opened in this transaction never had first_reply running.
    return new TicketClocks(ticket, policy, rows, loaded && ticket.ever);
  }

  private async save(manager: EntityManager, c: TicketClocks, dirty: Slot[]) {
    const repo = sla(manager);
    for (const slot of dirty) {
      if (slot.id === null) slot.id = await repo.insertClock(c.ticket.id, slot.clock);
      else await repo.updateClock(slot.id, slot.clock);
      await repo.appendTrail(slot.id, slot.events);
      slot.events = [];
      slot.dirty = false;
    }
    // The queue orders by next_due_at: the earliest due of clocks still waiting (breached ones sort first).
    await repo.refreshNextDue(c.ticket.id);
  }

  /** save() for many tickets: one statement per kind of write, updates before inserts (a cancelled clock frees its slot). */
  private async saveMany(repo: SlaRepository, dirty: TicketClocks[]) {
    const inserts: { id: string; ticketId: string; clock: Clock }[] = [];
    const updates: { id: string; clock: Clock }[] = [];
    const trail: { clockId: string; event: ClockEvent }[] = [];
    for (const c of dirty)
      for (const slot of c.slots.filter((s) => s.dirty)) {
        if (slot.id === null) {
          slot.id = randomUUID();
          inserts.push({ id: slot.id, ticketId: c.ticket.id, clock: slot.clock });
        } else updates.push({ id: slot.id, clock: slot.clock });
        for (const event of slot.events) trail.push({ clockId: slot.id, event });
        slot.events = [];
        slot.dirty = false;
      }
    await repo.updateClocks(updates);
    await repo.insertClocks(inserts);
    await repo.appendTrails(trail);
    await repo.refreshNextDues(dirty.map((c) => c.ticket.id));
  }
}

/** The clock statements on the caller's transaction (constructed per call: the service takes no DataSource). */
const sla = (manager: EntityManager) => new SlaRepository(manager);
