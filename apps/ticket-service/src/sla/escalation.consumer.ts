import { Inject, Injectable } from '@nestjs/common';
import { isImmutableStatus, JobName, statusAfterAssignment, TicketCommand } from '@oq/contracts';
import { ConversationRepository, EscalatedTicketRow, TicketRepository } from '@oq/database';
import { JobHandler, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxEntry, OutboxService, TicketRef } from '../outbox/outbox.service';
import { SlaClockService } from './sla-clock.service';

const RANK: Record<string, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

type Action = TicketCommand['actions'][number];

/**
 * Applies escalation commands from `ticket.commands` (sent by sla-worker), so
 * only ticket-service writes tickets. Idempotent by commandId: the id is
 * recorded in `applied_ticket_commands` in the same transaction as the changes,
 * so a redelivered or duplicated command changes nothing. Each applied command
 * leaves one audit row listing what it did and what it skipped (and why).
 */
@Injectable()
export class EscalationConsumer {
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
  async handle(cmd: TicketCommand): Promise<{ applied: boolean }> {
    return this.ds.transaction(async (m) => {
      const tickets = this.tickets.with(m);
      const t = await tickets.lockForCommand(cmd.ticketId);
      if (!t) {
        this.logger.warn({ commandId: cmd.commandId, ticketId: cmd.ticketId }, 'ticket command for unknown ticket');
        return { applied: false };
      }
      if (!(await tickets.recordCommand(cmd.commandId, t.id))) return { applied: false };

      const done: Record<string, unknown>[] = [];
      const events: OutboxEntry[] = [];
      const before = { ...t };
      for (const action of cmd.actions) {
        const result = isImmutableStatus(t.status)
          ? { skipped: 'ticket is closed' }
          : await this.apply(m, t, action, cmd, events);
        done.push({ kind: action.kind, ...result });
      }
      const changed = t.priority !== before.priority || t.team_id !== before.team_id;
      if (changed || t.assignee_id !== before.assignee_id) await tickets.applyEscalation(t.id, t);
      if (t.status !== before.status) {
        await tickets.setEscalatedStatus(t.id, t.status);
        await this.sla.onStatusChange(m, t.id, before.status, t.status);
      }
      // A raised priority re-targets the running clocks (the refresh re-selects the policy too).
      if (changed) await this.sla.onPriorityChange(m, t.id);
      await tickets.writeAudit(t.id, null, 'sla_escalation', {
        commandId: cmd.commandId,
        reason: cmd.reason,
        actions: done,
      });
      await tickets.recordCommandResult(cmd.commandId, done);
      const ref: TicketRef = { id: t.id, teamId: t.team_id, assigneeId: t.assignee_id };
      if (changed || t.assignee_id !== before.assignee_id)
        events.push(
          this.outbox.ticketEvent(t.assignee_id !== before.assignee_id ? 'ticket.assigned' : 'ticket.updated', ref, {
            source: 'sla_escalation',
            commandId: cmd.commandId,
            changes: diff(before, t),
          }),
        );
      await this.outbox.write(m, events);
      return { applied: true };
    });
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
