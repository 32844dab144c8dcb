import { TicketCommandAction } from '@oq/contracts';
import { ApiDateTime, ApiUuid } from '@oq/platform';
import { PRIORITIES, SLA_METRICS, ScheduleShape } from '@oq/sla';
import { z } from 'zod';

/**
 * A schedule as the admin API takes it: a name and the schedule shape of libs/sla (schedule-schema.ts),
 * which chat inboxes' `businessHours` use too. The service builds a BusinessCalendar from it for the rest.
 */
export const ScheduleBody = z.object({
  name: z.string().trim().min(1).max(200),
  ...ScheduleShape.shape,
});
export type ScheduleBody = z.infer<typeof ScheduleBody>;

const Target = z.object({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600),
  businessTime: z.boolean().default(false),
});
const PerPriority = z.partialRecord(z.enum(PRIORITIES), Target);
const Ids = z.array(z.uuid()).max(100);
const Strings = z.array(z.string().min(1).max(100)).max(100);

export const PolicyBody = z.object({
  name: z.string().trim().min(1).max(200),
  /** Evaluation order (lower first); omitted → after the last active policy. */
  position: z.number().int().min(0).max(1_000_000).optional(),
  conditions: z
    .object({
      priority: z.array(z.enum(PRIORITIES)).max(4).optional(),
      channel: z
        .array(z.enum(['email', 'whatsapp', 'messenger', 'instagram', 'telegram', 'voice', 'chat']))
        .max(7)
        .optional(),
      inboxId: Ids.optional(),
      teamId: Ids.optional(),
      tagsAny: Strings.optional(),
      tagsAll: Strings.optional(),
      categoryId: Ids.optional(),
      type: z
        .array(z.enum(['question', 'problem', 'incident', 'task']))
        .max(4)
        .optional(),
    })
    .strict()
    .default({}),
  targets: z.partialRecord(z.enum(SLA_METRICS), PerPriority),
  scheduleId: z.uuid().nullable().default(null),
  warningPercent: z.number().int().min(1).max(99).nullable().default(null),
  /** Commands sent to ticket-service when a clock of this policy warns or breaches. */
  escalation: z
    .object({
      warning: z.array(TicketCommandAction).max(10).optional(),
      breach: z.array(TicketCommandAction).max(10).optional(),
    })
    .strict()
    .default({}),
  active: z.boolean().default(true),
});
export type PolicyBody = z.infer<typeof PolicyBody>;

// Responses: rows as stored (what a body above was parsed to, or what the demo seed wrote).

export const ScheduleView = z
  .object({
    id: ApiUuid,
    name: z.string(),
    timezone: z.string(),
    weekly: z.array(z.object({ day: z.number().int(), start: z.string(), end: z.string() })),
    holidays: z.array(z.object({ date: z.string(), yearly: z.boolean().optional(), name: z.string().optional() })),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'SlaSchedule' });

const TargetView = z.object({ seconds: z.number().int(), businessTime: z.boolean().optional() });

export const PolicyView = z
  .object({
    id: ApiUuid,
    name: z.string(),
    position: z.number().int(),
    conditions: PolicyBody.shape.conditions.unwrap(),
    targets: z.partialRecord(z.enum(SLA_METRICS), z.partialRecord(z.enum(PRIORITIES), TargetView)),
    scheduleId: ApiUuid.nullable(),
    warningPercent: z.number().int().nullable(),
    escalation: PolicyBody.shape.escalation.unwrap(),
    active: z.boolean(),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'SlaPolicy' });

export const PolicyDeleted = z.object({
  /** Deleted: no clock ever used it. */
  deleted: z.boolean(),
  /** Deactivated instead: clocks' trails keep referring to it. */
  deactivated: z.boolean(),
});

export const SlaTrail = z
  .object({
    ticketId: ApiUuid,
    /** The ticket's clocks, oldest first, each with its append-only trail. */
    clocks: z.array(
      z.object({
        id: ApiUuid,
        metric: z.enum(SLA_METRICS),
        policyId: ApiUuid.nullable(),
        state: z.enum(['active', 'paused', 'fulfilled', 'breached', 'cancelled']),
        businessTime: z.boolean(),
        targetSeconds: z.number().int(),
        startedAt: ApiDateTime,
        dueAt: ApiDateTime.nullable(),
        warnAt: ApiDateTime.nullable(),
        warnedAt: ApiDateTime.nullable(),
        pausedAt: ApiDateTime.nullable(),
        pausedSeconds: z.number().int(),
        fulfilledAt: ApiDateTime.nullable(),
        breachedAt: ApiDateTime.nullable(),
        events: z.array(
          z.object({
            kind: z.enum(['activate', 'pause', 'resume', 'fulfil', 'warn', 'breach', 'retarget', 'cancel']),
            at: ApiDateTime,
            businessSeconds: z.number().int().nullable(),
            calendarSeconds: z.number().int().nullable(),
            data: z.record(z.string(), z.unknown()),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'SlaTrail' });
