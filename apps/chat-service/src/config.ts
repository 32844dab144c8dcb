import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

export const ConfigSchema = BaseConfigSchema.extend({
  CHAT_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
