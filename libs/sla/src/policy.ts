/**
 * SLA policies: an ordered list, the first whose conditions all match a ticket
 * applies. An absent condition matches everything; a list condition matches if
 * the ticket's value is in the list.
 */
export const SLA_METRICS = ['first_reply', 'next_reply', 'resolution'] as const;
export type SlaMetricName = (typeof SLA_METRICS)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface PolicyConditions {
  priority?: string[];
  channel?: string[];
  inboxId?: string[];
  teamId?: string[];
  /** The ticket carries at least one of these tags. */
  tagsAny?: string[];
  /** The ticket carries all of these tags. */
  tagsAll?: string[];
  categoryId?: string[];
  type?: string[];
}

export interface Target {
  seconds: number;
  /** Measured in the policy schedule's business hours (else calendar time). */
  businessTime: boolean;
}

export type PolicyTargets = Partial<Record<SlaMetricName, Partial<Record<Priority, Target>>>>;

export interface PolicyLike {
  id: string;
  position: number;
  conditions: PolicyConditions;
  targets: PolicyTargets;
  scheduleId: string | null;
  warningPercent: number | null;
}

export interface TicketFacts {
  priority: string;
  channel: string;
  inboxId: string | null;
  teamId: string | null;
  tags: string[];
  categoryId: string | null;
  type: string;
}

function inList(list: string[] | undefined, value: string | null): boolean {
  return !list || list.length === 0 || (value !== null && list.includes(value));
}

export function policyMatches(c: PolicyConditions, t: TicketFacts): boolean {
  return (
    inList(c.priority, t.priority) &&
    inList(c.channel, t.channel) &&
    inList(c.inboxId, t.inboxId) &&
    inList(c.teamId, t.teamId) &&
    inList(c.categoryId, t.categoryId) &&
    inList(c.type, t.type) &&
    (!c.tagsAny?.length || c.tagsAny.some((tag) => t.tags.includes(tag))) &&
    (!c.tagsAll?.length || c.tagsAll.every((tag) => t.tags.includes(tag)))
  );
}

/** The first matching policy by position (inactive ones must already be filtered out). */
export function selectPolicy<P extends PolicyLike>(policies: P[], ticket: TicketFacts): P | null {
  const ordered = [...policies].sort((a, b) => a.position - b.position);
  return ordered.find((p) => policyMatches(p.conditions, ticket)) ?? null;
}

export function targetFor(policy: PolicyLike, metric: SlaMetricName, priority: string): Target | null {
  const t = policy.targets[metric]?.[priority as Priority];
  // Stored JSON may omit businessTime: calendar time is the default.
  return t ? { seconds: t.seconds, businessTime: t.businessTime === true } : null;
}
