import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

export const ConfigSchema = BaseConfigSchema.extend({
  /** sla-worker's HTTP port (health, metrics). */
  SLA_WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** How often the reconciler fires overdue clocks and re-arms missing timers. */
  SLA_RECONCILE_MS: z.coerce.number().int().min(200).default(30_000),
  /** The reconciler re-arms missing timers of clocks due within this horizon (later ones on a later pass). */
  SLA_REARM_HORIZON_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000),
  /** Concurrent jobs of the sla queue per replica (timer firings are short transactions). */
  SLA_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
