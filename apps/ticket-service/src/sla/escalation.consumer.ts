import { Inject, Injectable } from '@nestjs/common';
import { isImmutableStatus, JobName, statusAfterAssignment, TicketCommand } from '@oq/contracts';
import { ConversationRepository, EscalatedTicketRow, TicketRepository } from '@oq/database';
import { Batcher, JobHandler, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxEntry, OutboxService, TicketRef } from '../outbox/outbox.service';
import { SlaClockService } from './sla-clock.service';

const RANK: Record<string, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

/** ticket.commands' worker concurrency (app.module.ts): at most that many commands are in flight to batch. */
const MAX_BATCH = 10;

type Action = TicketCommand['actions'][number];

/** A command being applied in a batch: its ticket as locked, changed in place by the actions. */
interface Applying {
  cmd: TicketCommand;
  t: EscalatedTicketRow;
  before: EscalatedTicketRow;
  /** What SLA policies match on besides `t`, as locked. */
  facts: { tags: string[]; category_id: string | null; type: string; ever: boolean };
  done: Record<string, unknown>[];
  events: OutboxEntry[];
}

/**
 * Applies escalation commands from `ticket.commands` (sent by sla-worker), so
 * only ticket-service writes tickets. Idempotent by commandId: the id is
 * recorded in `applied_ticket_commands` in the same transaction as the changes,
 * so a redelivered or duplicated command changes nothing. Each applied command
 * leaves one audit row listing what it did and what it skipped (and why).
 *
 * Commands handled side by side (the queue's concurrency) are applied together in one
 * transaction — tickets locked and commands recorded in one statement, the clocks re-targeted
 * set-based, then the tickets' changes, audit rows, results and outbox jobs in one more — instead
 * of about ten round trips and a commit per command. A second command for a ticket already
 * in the batch waits for the next batch, so it sees the first one's changes as a later job would.
 */
@Injectable()
export class EscalationConsumer {
  private readonly batcher = new Batcher<TicketCommand, { applied: boolean }>({
    runMany: (cmds) => this.handleMany(cmds),
    maxBatch: MAX_BATCH,
    key: (cmd) => cmd.ticketId,
    // Each batch waits a moment for the jobs coming back from Redis as the last ones complete
    // (bigger batches, fewer round trips and commits); two at a time, so one commits while the
    // next locks — both lock tickets in id order.
    maxInFlight: 2,
    lingerMs: 2,
  });

  constructor(
    private readonly ds: DataSource,
    private readonly tickets: TicketRepository,
    private readonly conversations: ConversationRepository,
    private readonly outbox: OutboxService,
    private readonly sla: SlaClockService,
    private readonly automaticEmail: AutomaticEmailService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @JobHandler(JobName.TicketCommand)
  handle(cmd: TicketCommand): Promise<{ applied: boolean }> {
    return this.batcher.submit(cmd);
  }

  /** Commands for distinct tickets (the batcher's key), applied in one transaction. */
  handleMany(cmds: TicketCommand[]): Promise<{ applied: boolean }[]> {
    return this.ds.transaction((m) => this.applyAll(m, cmds));
  }

  /** Commands for distinct tickets, in the caller's transaction. */
  private async applyAll(m: EntityManager, cmds: TicketCommand[]): Promise<{ applied: boolean }[]> {
    if (new Set(cmds.map((c) => c.ticketId)).size < cmds.length) throw new Error('one command per ticket per batch');
    const tickets = this.tickets.with(m);
    const locked = new Map(
      (await tickets.lockAndRecordCommands(cmds.map((c) => ({ commandId: c.commandId, ticketId: c.ticketId })))).map(
        (row) => [row.id, row],
      ),
    );
    const work: Applying[] = [];
    const results = cmds.map((cmd) => {
      const row = locked.get(cmd.ticketId);
      if (!row) {
        this.logger.warn({ commandId: cmd.commandId, ticketId: cmd.ticketId }, 'ticket command for unknown ticket');
        return { applied: false };
      }
      if (!row.recorded.includes(cmd.commandId)) return { applied: false };
      const { id, number, subject, status, priority, team_id, assignee_id, channel, inbox_id } = row;
      const t: EscalatedTicketRow = { id, number, subject, status, priority, team_id, assignee_id, channel, inbox_id };
      const facts = { tags: row.tags, category_id: row.category_id, type: row.type, ever: row.ever };
      work.push({ cmd, t, before: { ...t }, facts, done: [], events: [] });
      return { applied: true };
    });
    if (!work.length) return results;

    for (const w of work)
      for (const action of w.cmd.actions) {
        const result = isImmutableStatus(w.t.status)
          ? { skipped: 'ticket is closed' }
          : await this.apply(m, w.t, action, w.cmd, w.events);
        w.done.push({ kind: action.kind, ...result });
      }
    const changed = (w: Applying) => w.t.priority !== w.before.priority || w.t.team_id !== w.before.team_id;
    const assigned = (w: Applying) => w.t.assignee_id !== w.before.assignee_id;
    // A status change (an assignment opening the ticket) moves the clocks from the ticket as stored:
    // its other changes are written first, as for a single command.
    const reopened = work.filter((w) => w.t.status !== w.before.status);
    await tickets.applyEscalations(reopened.filter((w) => changed(w) || assigned(w)).map((w) => w.t));
    for (const w of reopened) {
      await tickets.setEscalatedStatus(w.t.id, w.t.status);
      await this.sla.onStatusChange(m, w.t.id, w.before.status, w.t.status);
    }
    // A raised priority re-targets the running clocks (the refresh re-selects the policy too).
    const clockEvents = await this.sla.onPriorityChanges(
      m,
      work.filter(changed).map((w) => ({ ...w.facts, ...w.t })),
    );
    for (const w of work) {
      if (!changed(w) && !assigned(w)) continue;
      const ref: TicketRef = { id: w.t.id, teamId: w.t.team_id, assigneeId: w.t.assignee_id };
      w.events.push(
        this.outbox.ticketEvent(assigned(w) ? 'ticket.assigned' : 'ticket.updated', ref, {
          source: 'sla_escalation',
          commandId: w.cmd.commandId,
          changes: diff(w.before, w.t),
        }),
      );
    }
    await tickets.finishCommands(
      work.filter((w) => (changed(w) || assigned(w)) && !reopened.includes(w)).map((w) => w.t),
      work.map((w) => ({
        ticketId: w.t.id,
        commandId: w.cmd.commandId,
        audit: { commandId: w.cmd.commandId, reason: w.cmd.reason, actions: w.done },
        result: w.done,
      })),
      [...clockEvents, ...work.flatMap((w) => w.events)],
    );
    return results;
  }

  private async apply(
    m: EntityManager,
    t: EscalatedTicketRow,
    a: Action,
    cmd: TicketCommand,
    events: OutboxEntry[],
  ): Promise<Record<string, unknown>> {
    switch (a.kind) {
      case 'raise_priority':
        // Escalation only ever raises; a manual higher priority is kept.
        if (RANK[a.priority] <= RANK[t.priority]) return { skipped: `priority is already ${t.priority}` };
        t.priority = a.priority;
        return { priority: a.priority };
      case 'move_team': {
        if (!(await this.tickets.with(m).teamExists(a.teamId))) return { skipped: `team ${a.teamId} does not exist` };
        t.team_id = a.teamId;
        return { teamId: a.teamId };
      }
      case 'assign': {
        if (!(await this.tickets.with(m).activeAgentExists(a.agentId)))
          return { skipped: `agent ${a.agentId} does not exist or is inactive` };
        t.assignee_id = a.agentId;
        // Assignment opens a new ticket (the lifecycle: new → open on first reply or assignment).
        t.status = statusAfterAssignment(t.status);
        return { agentId: a.agentId };
      }
      case 'notify':
        // Reaches agents in realtime: the relay hands ticket events to the socket gateway.
        events.push(
          this.outbox.ticketEvent(
            'ticket.updated',
            { id: t.id, teamId: t.team_id, assigneeId: t.assignee_id },
            {
              notification: {
                kind: 'sla_escalation',
                message: a.message,
                reason: cmd.reason,
                commandId: cmd.commandId,
              },
            },
          ),
        );
        return { notified: true };
      case 'email_supervisor':
        return this.emailSupervisor(m, t, a, cmd, events);
    }
  }

  /**
   * An automatic email to a supervisor through the normal outbound flow (AutomaticEmailService):
   * stored as an internal system message of the ticket (so its delivery status is visible and
   * delivery reports find it) and sent from the ticket's email inbox, else an email inbox of its
   * team, else any enabled email inbox.
   */
  private async emailSupervisor(
    m: EntityManager,
    t: EscalatedTicketRow,
    a: Extract<Action, { kind: 'email_supervisor' }>,
    cmd: TicketCommand,
    events: OutboxEntry[],
  ): Promise<Record<string, unknown>> {
    const inboxId = await this.conversations.with(m).automaticEmailInbox(t.inbox_id, t.team_id);
    if (!inboxId) return { skipped: 'no enabled email inbox to send from' };
    const { messageId, outbox } = await this.automaticEmail.store(m, {
      ticket: { id: t.id, number: Number(t.number), teamId: t.team_id, assigneeId: t.assignee_id },
      inboxId,
      // The supervisor is an address, not a contact: the mail stays off the customer's thread.
      toIdentityId: null,
      toAddress: a.email,
      subject: `[SLA] Ticket #${t.number}: ${cmd.reason}`.slice(0, 998),
      text: `${a.message}\n\nTicket #${t.number}: ${t.subject}\nReason: ${cmd.reason}`,
      metadata: { commandId: cmd.commandId },
    });
    events.push(...outbox);
    return { emailedTo: a.email, messageId };
  }
}

function diff(a: EscalatedTicketRow, b: EscalatedTicketRow): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  for (const k of ['priority', 'team_id', 'assignee_id', 'status'] as const) if (a[k] !== b[k]) out[k] = [a[k], b[k]];
  return out;
}
