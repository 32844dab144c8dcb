import { TicketCommandAction } from '@oq/contracts';
import { PRIORITIES, SLA_METRICS } from '@oq/sla';
import { z } from 'zod';

const Hm = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'time must be HH:mm');

export const ScheduleBody = z.object({
  name: z.string().trim().min(1).max(200),
  timezone: z.string().min(1).max(100),
  weekly: z
    .array(z.object({ day: z.number().int().min(1).max(7), start: Hm, end: Hm }))
    .min(1, 'a schedule needs at least one weekly interval')
    .max(100),
  holidays: z
    .array(
      z.object({
        date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'holiday date must be YYYY-MM-DD'),
        yearly: z.boolean().default(false),
        name: z.string().max(200).optional(),
      }),
    )
    .max(1000)
    .default([]),
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
