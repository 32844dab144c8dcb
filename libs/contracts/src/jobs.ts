import { z } from 'zod';
import { JobName } from './queues';
import {
  MAX_PAYLOAD_DEPTH,
  PayloadTooDeepError,
  encodeOriginals,
  makeStorable,
  valueDepthExceeds,
} from './storable-text';
import {
  DeadLetterJob,
  DeliveryReport,
  DeliveryRetry,
  DeliveryWatermark,
  InboundMessage,
  InboundMessageV1,
  OutboundMessage,
  SlaReconcile,
  SlaTimer,
  SocialRawEvent,
  TicketCommand,
  TicketEvent,
  VoiceCallEventJob,
} from './payloads';

/**
 * One zod schema per job payload, keyed by job name. `current` is the version
 * producers write; `previous` (when a schema moves on) is accepted and lifted by
 * `upgrade`, because jobs queued by the last deploy are still waiting.
 */
interface VersionedSchema<T> {
  current: number;
  schema: z.ZodType<T>;
  previous?: { schema: z.ZodType<unknown>; upgrade: (old: unknown) => unknown };
}

export const JOB_SCHEMAS = {
  [JobName.InboundMessage]: {
    current: 2,
    schema: InboundMessage,
    previous: { schema: InboundMessageV1, upgrade: (old) => ({ ...(old as object), v: 2 }) },
  },
  [JobName.DeliveryReport]: { current: 1, schema: DeliveryReport },
  [JobName.DeliveryWatermark]: { current: 1, schema: DeliveryWatermark },
  [JobName.DeliveryRetry]: { current: 1, schema: DeliveryRetry },
  [JobName.TicketCommand]: { current: 1, schema: TicketCommand },
  [JobName.TicketEvent]: { current: 1, schema: TicketEvent },
  [JobName.SlaTimer]: { current: 1, schema: SlaTimer },
  [JobName.SlaReconcile]: { current: 1, schema: SlaReconcile },
  [JobName.SocialRawEvent]: { current: 1, schema: SocialRawEvent },
  [JobName.VoiceCallEvent]: { current: 1, schema: VoiceCallEventJob },
  [JobName.OutboundMessage]: { current: 1, schema: OutboundMessage },
  [JobName.DeadLetter]: { current: 1, schema: DeadLetterJob },
} satisfies { [K in JobName]: VersionedSchema<unknown> };

export type JobPayload<N extends JobName> = z.infer<(typeof JOB_SCHEMAS)[N]['schema']>;
export type JobPayloadInput<N extends JobName> = z.input<(typeof JOB_SCHEMAS)[N]['schema']>;

/** A typed job: the union every queue module dispatches on. */
export type JobItem = { [N in JobName]: { name: N; data: JobPayload<N> } }[JobName];

export class InvalidPayloadError extends Error {
  constructor(
    readonly jobName: string,
    readonly reason: string,
  ) {
    super(`invalid ${jobName} payload: ${reason}`);
    this.name = 'InvalidPayloadError';
  }
}

export function isJobName(name: string): name is JobName {
  return Object.prototype.hasOwnProperty.call(JOB_SCHEMAS, name);
}

/** Formats zod issues as `path: message; path: message` for logs and dead letters. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Validates a job payload against its registered schema, accepting the current
 * and the previous schema version. Throws InvalidPayloadError with a readable reason.
 */
export function parseJob<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const entry: VersionedSchema<unknown> | undefined = (JOB_SCHEMAS as Record<string, VersionedSchema<unknown>>)[name];
  if (!entry) throw new InvalidPayloadError(name, `unknown job name "${name}"`);
  const version = typeof data === 'object' && data !== null ? (data as { v?: unknown }).v : undefined;
  if (version === entry.current - 1 && entry.previous) {
    const old = entry.previous.schema.safeParse(data);
    if (!old.success) throw new InvalidPayloadError(name, describeZodError(old.error));
    data = entry.previous.upgrade(old.data);
  } else if (version !== entry.current) {
    const accepted = entry.previous ? `${entry.current - 1} or ${entry.current}` : `${entry.current}`;
    throw new InvalidPayloadError(
      name,
      `v: unsupported schema version ${JSON.stringify(version)} (accepts ${accepted})`,
    );
  }
  const result = entry.schema.safeParse(data);
  if (!result.success) throw new InvalidPayloadError(name, describeZodError(result.error));
  return storable(name, result.data) as JobPayload<N>;
}

/** Payloads that carry a provider's raw body to the worker that turns it into messages. */
const RAW_PAYLOADS: ReadonlySet<JobName> = new Set([JobName.SocialRawEvent]);

/**
 * Every job payload leaves the contract storable in Postgres (storable-text.ts). An inbound
 * message says which of its fields changed and carries their originals, so nothing the customer
 * sent is lost; a payload parsed twice (producer, then consumer) keeps the first record.
 */
function storable(name: JobName, data: unknown): unknown {
  if (RAW_PAYLOADS.has(name)) {
    // Never stored as such: altering it here would lose the originals before the message is built.
    if (valueDepthExceeds(data, MAX_PAYLOAD_DEPTH))
      throw new InvalidPayloadError(name, new PayloadTooDeepError().message);
    return data;
  }
  let result;
  try {
    result = makeStorable(data);
  } catch (err) {
    if (err instanceof PayloadTooDeepError) throw new InvalidPayloadError(name, err.message);
    throw err;
  }
  if (!result.altered.length || name !== JobName.InboundMessage) return result.value;
  const msg = result.value as { metadata: Record<string, unknown> };
  const altered: TextAltered = { fields: result.altered, original: encodeOriginals(result.originals) };
  return { ...msg, metadata: { ...msg.metadata, textAltered: altered } };
}

/** `metadata.textAltered` of an inbound message: what changed, and the originals as escaped JSON. */
export interface TextAltered {
  fields: string[];
  /** JSON object path → original string; JSON escapes keep NUL and lone surrogates intact. */
  original: string;
}

/** Builds a payload for producers: fills defaults and fails before anything is enqueued. */
export function buildJob<N extends JobName>(name: N, input: JobPayloadInput<N>): JobPayload<N> {
  return parseJob(name, input);
}
